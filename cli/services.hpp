// A live service on any target by name: the one entry point `harmony run`, the demo and
// the live benchmark use, so every target is started, described and stopped the same way.
#pragma once

#include "common/service.hpp"

#include <memory>
#include <string>
#include <vector>

namespace harmony::cli {

/// The targets a live service can run on: xdp (offload > native > generic), the forced
/// XDP modes, dpdk (rte_bpf JIT, else Harmony's VM), dpdk-interp, host (JIT), host-interp.
std::vector<std::string> live_targets();

/// Starts `spec` on `target` (one of live_targets()); the error names the target and why
/// it refused, and nothing is left attached or running then.
Result<std::unique_ptr<Service>> start_service(const std::string &target, const ServiceSpec &spec);

} // namespace harmony::cli
