// Everything probed in one call: `harmony probe`.
#include "capabilities.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace harmony::caps {

Result<Capabilities> probe(const ProbeOptions &options)
{
    Capabilities caps;
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    caps.source = fmt::format("probed on {}", host);
    caps.kernel = probe_kernel();
    for (const std::string &name : options.interfaces) {
        auto iface = probe_interface(name, options.attempt_hw_offload);
        if (!iface) {
            return std::unexpected(iface.error());
        }
        caps.interfaces.push_back(std::move(*iface));
    }
    caps.dpdk = probe_dpdk(options.dpdk_ports);
    caps.hyperscan = probe_hyperscan();
    caps.host = probe_host();
    return caps;
}

} // namespace harmony::caps
