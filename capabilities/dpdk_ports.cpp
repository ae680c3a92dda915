// rte_flow per DPDK port, probed live: the dpdk target's own port and flow code (offload/)
// opens each device and asks the PMD, through rte_flow_validate, whether it would take the
// rules the dpdk target installs — DPI steering and per-connection drops.
#include "capabilities.hpp"

#include "offload/eal.hpp"
#include "offload/flow_offload.hpp"
#include "offload/port.hpp"

#include <fmt/format.h>

#include <regex>

namespace harmony::caps {
namespace {

bool is_pci_address(const std::string &device)
{
    static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$)");
    return std::regex_match(device, pci);
}

/// Two queues so steering can split DPI traffic from the rest; one when the PMD has no more.
Result<std::unique_ptr<dpdk::Port>> open_port(const std::string &device)
{
    Result<std::unique_ptr<dpdk::Port>> port = std::unexpected(Error{});
    for (uint16_t queues : {2, 1}) {
        dpdk::PortOptions options{.rx_queues = queues, .tx_queues = queues};
        if (is_pci_address(device)) {
            port = dpdk::Port::open_pci(device, options);
        } else {
            size_t comma = device.find(',');
            port = dpdk::Port::open_vdev(device.substr(0, comma),
                                         comma == std::string::npos ? "" : device.substr(comma + 1), options);
        }
        if (port) {
            return port;
        }
    }
    return port;
}

Probe validated(const Result<void> &result, const std::string &rule)
{
    return result ? Probe::supported(rule + " validated") : Probe::missing(result.error().why);
}

Result<DpdkPortCaps> probe_port(const std::string &device)
{
    auto port = open_port(device);
    if (!port) {
        return std::unexpected(port.error());
    }
    DpdkPortCaps caps;
    caps.name = device;
    caps.driver = (*port)->driver();
    caps.rx_queues = (*port)->rx_queues();
    uint16_t id = (*port)->id();
    dpdk::SteeringPlan plan{.dpi_queues = {0}, .other_queues = {static_cast<uint16_t>(caps.rx_queues > 1 ? 1 : 0)}};
    caps.steering = validated(dpdk::validate_steering(id, plan), "TCP 80/443, UDP 53 to queue 0, the rest to queue " +
                                                                     std::to_string(plan.other_queues.front()));
    dpdk::FlowKey connection{0x0a000001, 0x0a000002, 40000, 80, 6};
    caps.drop = validated(dpdk::validate_drop_rule(id, connection), "DROP of one TCP connection");
    if (caps.steering.yes()) {
        caps.flow_actions.push_back("queue");
    }
    if (caps.drop.yes()) {
        caps.flow_actions.push_back("drop");
    }
    std::string summary = fmt::format("steering {} ({}), drop {} ({})", caps.steering.yes() ? "yes" : "no",
                                      caps.steering.detail, caps.drop.yes() ? "yes" : "no", caps.drop.detail);
    caps.rte_flow = caps.flow_actions.empty() ? Probe::missing(summary) : Probe::supported(summary);
    return caps;
}

} // namespace

DpdkPortProbe dpdk_port_probe(std::vector<std::string> devices)
{
    return [devices = std::move(devices)]() -> Result<std::vector<DpdkPortCaps>> {
        if (!dpdk::Eal::running()) {
            if (auto eal = dpdk::Eal::start(); !eal) {
                return std::unexpected(eal.error());
            }
        }
        std::vector<DpdkPortCaps> ports;
        for (const std::string &device : devices) {
            auto port = probe_port(device);
            if (!port) {
                return fail("probe dpdk port", device, port.error().message());
            }
            ports.push_back(std::move(*port));
        }
        return ports;
    };
}

} // namespace harmony::caps
