#include "services.hpp"

#include "host-runtime/service/service.hpp"
#include "offload/live_service.hpp"
#include "xdp/live_service.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace harmony::cli {

std::vector<std::string> live_targets()
{
    return {"xdp", "xdp-offload", "xdp-native", "xdp-generic", "dpdk", "dpdk-interp", "host", "host-interp"};
}

Result<std::unique_ptr<Service>> start_service(const std::string &target, const ServiceSpec &spec)
{
    if (target.starts_with("xdp")) {
        return xdp::start_service(spec, target);
    }
    if (target == "dpdk" || target == "dpdk-interp") {
        // rte_bpf when its validator accepts the program; Harmony's VM on the same queues otherwise.
        return dpdk::start_service(spec, target == "dpdk", host::load_vm);
    }
    if (target == "host" || target == "host-interp") {
        return host::start_service(spec, target == "host" ? host::ExecMode::Jit : host::ExecMode::Interpreter);
    }
    auto names = live_targets();
    return fail("start service", "target '" + target + "'",
                fmt::format("not a live target (one of {})", fmt::join(names, ", ")));
}

} // namespace harmony::cli
