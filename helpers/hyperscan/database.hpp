// Inside the hyperscan helper library: compiled databases, the installed set, and the
// per-thread scratch every scan needs.
#pragma once

#include "hyperscan.hpp"

#include <hs.h>

#include <memory>

namespace harmony::hyperscan {

/// One pattern file compiled twice: block mode for hs_match, stream mode for hs_match_stream.
struct Database {
    hs_database_t *block = nullptr;
    hs_database_t *stream = nullptr;
    uint64_t serial = 0; ///< unique per compile: which databases a thread's scratch was grown for

    Database() = default;
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;
    ~Database();
};

/// Compiles the patterns (`source` names the file in errors).
Result<std::shared_ptr<const Database>> compile(const std::vector<Pattern> &patterns, const std::string &source);

/// The database installed as `db_id`, or null. The caller's reference keeps it alive
/// while it scans, even if it is replaced meanwhile.
std::shared_ptr<const Database> installed(uint32_t db_id);

/// This thread's scratch, grown to fit `db` (allocates only the first time a thread
/// meets a database); null when Hyperscan cannot allocate it.
hs_scratch_t *scratch_for(const Database &db);

/// Hyperscan match callback: stores the pattern id in the int64_t at `context`, stops the scan.
int on_first_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *context);

} // namespace harmony::hyperscan
