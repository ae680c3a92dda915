// Internal: who runs a service, so a later run can tell a live owner from a stale
// attachment left by a killed one. Kept in /run/harmony/xdp/<service>.json.
#pragma once

#include "xdp.hpp"

namespace harmony::xdp {

struct ServiceRecord {
    struct Entry {
        std::string interface;
        int ifindex = 0;
        std::vector<uint32_t> program_ids;
    };
};

/// Takes the service name for this process. A live owner is an error; what a dead owner
/// left (attached programs, pins) is detached and removed, one line per item in `replaced`.
Result<void> claim_service(const std::string &service, std::vector<std::string> &replaced);

/// Records what this process attached, for the next run to find if this one is killed.
Result<void> record_service(const std::string &service, const std::vector<ServiceRecord::Entry> &entries);

/// Forgets the record (clean exit).
void release_service(const std::string &service);

} // namespace harmony::xdp
