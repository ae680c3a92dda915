// What host-runtime/service offers: the host target as a live common/service.hpp Service.
// Harmony's VM (JIT or interpreter; host::load verifies first) judges every frame that
// arrives on the ingress interface through an AF_PACKET socket:
//   PASS              -> sent out of the egress interface (forwarding mode); ingress-only
//                        mode observes: the kernel stack gets every frame anyway, since
//                        AF_PACKET copies, so PASS does nothing more and DROP drops the copy
//   DROP, ABORTED     -> not forwarded
//   TX                -> back out of the ingress interface
//   REDIRECT          -> out of the interface bpf_redirect(_map) named, when it is one of
//                        the service's; otherwise not forwarded
// One thread per direction; frames go out as the program left them (its stores and
// adjust_head/tail), with the VLAN tag the receive path had taken out of them put back
// before the program runs, as XDP sees it.
#pragma once

#include "common/service.hpp"
#include "host-runtime/target/host_target.hpp"

#include <cstdint>
#include <memory>

namespace harmony::host {

/// Frames of one direction, by what became of them.
struct DirectionCounters {
    uint64_t received = 0;
    uint64_t passed = 0;     ///< PASS, sent out of the other interface (or left to the kernel)
    uint64_t dropped = 0;    ///< DROP and ABORTED
    uint64_t bounced = 0;    ///< TX, sent back out of the receiving interface
    uint64_t redirected = 0; ///< REDIRECT to one of the service's interfaces
    uint64_t failed = 0;     ///< runs that faulted, truncated frames, sends the kernel refused
};

/// Starts the service; on error nothing is left open or running.
Result<std::unique_ptr<Service>> start_service(const ServiceSpec &spec, ExecMode mode);

} // namespace harmony::host
