// One interface's capabilities: its driver (ethtool), its XDP features (netdev netlink), its
// queues, what is attached now, and whether the kernel lets a program onto the NIC itself —
// found out by trying, since only the driver knows.
#include "capabilities.hpp"
#include "netlink.hpp"
#include "probe_programs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace harmony::caps {
namespace {

void probe_driver(InterfaceCaps &iface)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        iface.driver = Probe::missing(fmt::format("socket: {}", errno_text(errno)));
        return;
    }
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    ifreq req{};
    std::strncpy(req.ifr_name, iface.name.c_str(), IFNAMSIZ - 1);
    req.ifr_data = reinterpret_cast<char *>(&info);
    if (ioctl(sock, SIOCETHTOOL, &req) < 0) {
        iface.driver = Probe::missing(fmt::format("ETHTOOL_GDRVINFO: {}", errno_text(errno)));
    } else {
        iface.driver = Probe::supported(info.driver);
        iface.driver_version = info.version;
        iface.bus_info = info.bus_info;
    }
    close(sock);
}

void probe_xdp_features(InterfaceCaps &iface)
{
    auto bits = netlink::xdp_features(iface.ifindex);
    if (!bits) {
        iface.xdp_features = Probe::missing(bits.error().message());
        return;
    }
    iface.xdp_feature_bits = *bits;
    iface.xdp_features = Probe::supported(fmt::format("{:#x}", *bits));
    iface.native_xdp = (*bits & kXdpBasic) ? Probe::supported("xdp-features: basic")
                                            : Probe::missing(fmt::format("{} (driver {}) does not report xdp-features basic",
                                                         iface.name, iface.driver.yes() ? iface.driver.detail : "unknown"));
}

void probe_queues(InterfaceCaps &iface)
{
    if (auto counts = netlink::queue_counts(iface.ifindex)) {
        iface.rx_queues = counts->rx;
        iface.tx_queues = counts->tx;
    }
}

void probe_attachment(InterfaceCaps &iface)
{
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(static_cast<int>(iface.ifindex), 0, &query) == 0) {
        iface.attached = XdpAttachment{query.attach_mode, query.drv_prog_id, query.skb_prog_id, query.hw_prog_id};
    }
}

/// Loads a trivial program bound to the device and attaches it in hardware mode, then
/// detaches it. The kernel's refusal at either step is the answer.
Probe attempt_hw_offload(const InterfaceCaps &iface)
{
    if (iface.attached.hw_prog != 0) {
        return Probe::supported(fmt::format("program {} is offloaded on {} now", iface.attached.hw_prog, iface.name));
    }
    std::vector<bpf_insn> insns = {probe_programs::mov_imm(0, 2), probe_programs::exit_insn()};
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_ifindex = iface.ifindex);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_offload", "GPL", insns.data(), insns.size(), &opts);
    if (fd < 0) {
        return Probe::missing(fmt::format("kernel refused hardware offload on {}: {} (loading a program bound to the device)",
                                          iface.name, errno_text(-errno)));
    }
    int err = bpf_xdp_attach(static_cast<int>(iface.ifindex), fd, XDP_FLAGS_HW_MODE, nullptr);
    close(fd);
    if (err < 0) {
        return Probe::missing(fmt::format("kernel refused hardware offload on {}: {} (attaching in XDP_FLAGS_HW_MODE)",
                                          iface.name, errno_text(err)));
    }
    bpf_xdp_detach(static_cast<int>(iface.ifindex), XDP_FLAGS_HW_MODE, nullptr);
    return Probe::supported(fmt::format("a program was offloaded to {} and removed", iface.name));
}

} // namespace

Result<InterfaceCaps> probe_interface(const std::string &name, bool attempt_hw)
{
    InterfaceCaps iface;
    iface.name = name;
    iface.ifindex = if_nametoindex(name.c_str());
    if (iface.ifindex == 0) {
        return fail("probe interface", name, errno_text(errno));
    }
    probe_driver(iface);
    probe_xdp_features(iface);
    probe_queues(iface);
    probe_attachment(iface);
    if (attempt_hw) {
        iface.hw_offload = attempt_hw_offload(iface);
    } else {
        iface.hw_offload = {Support::Unknown, "not attempted"};
    }
    return iface;
}

} // namespace harmony::caps
