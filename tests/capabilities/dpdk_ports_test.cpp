// rte_flow per DPDK port, probed live with the EAL up: net_tap validates the steering and
// drop rules, net_null and net_ring have no rte_flow at all, and a device that cannot be
// opened is an error naming it. Its own executable: the EAL starts once per process.
#include "capabilities/capabilities.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

using namespace harmony::caps;

TEST_CASE("rte_flow per port: net_tap validates steering and drop, net_null and net_ring do not",
          "[capabilities][dpdk][rte_flow]")
{
    if (geteuid() != 0) {
        WARN("skipped: net_tap needs root");
        return;
    }
    std::string tap = fmt::format("net_tap_hc{},iface=hct{}", getpid(), getpid());
    std::string null = fmt::format("net_null_hc{}", getpid());
    std::string ring = fmt::format("net_ring_hc{}", getpid() % 100000);
    ProbeOptions options;
    options.dpdk_ports = dpdk_port_probe({tap, null, ring});
    auto caps = probe(options);
    REQUIRE(caps);
    INFO(fmt::format("{}", fmt::join(caps->dpdk.rte_bpf.notes, "; ")));
    REQUIRE(caps->dpdk.ports.size() == 3);

    const DpdkPortCaps &t = caps->dpdk.ports[0];
    CHECK(t.name == tap);
    CHECK(t.driver == "net_tap");
    INFO(t.rte_flow.detail);
    CHECK(t.steering.yes());
    CHECK(t.drop.yes());
    CHECK(t.rte_flow.yes());
    CHECK(t.rte_flow.detail.find("steering yes") != std::string::npos);
    CHECK(t.flow_actions == std::vector<std::string>{"queue", "drop"});

    for (const DpdkPortCaps &p : {caps->dpdk.ports[1], caps->dpdk.ports[2]}) {
        INFO(p.name << ": " << p.rte_flow.detail);
        CHECK(p.steering.no());
        CHECK(p.drop.no());
        CHECK(p.rte_flow.no());
        CHECK(p.drop.detail.find("ENOSYS") != std::string::npos);
        CHECK(p.flow_actions.empty());
    }
    CHECK(caps->dpdk.ports[1].driver == "net_null");
    CHECK(caps->dpdk.ports[2].driver == "net_ring");

    // The probe's figures survive a profile round trip.
    auto reloaded = from_json(to_json(*caps), "round trip");
    REQUIRE(reloaded);
    REQUIRE(reloaded->dpdk.ports.size() == 3);
    CHECK(reloaded->dpdk.ports[0].steering.yes());
    CHECK(reloaded->dpdk.ports[1].drop.detail == caps->dpdk.ports[1].drop.detail);
}

TEST_CASE("rte_flow per port: a device that cannot be opened is an error naming it", "[capabilities][dpdk][bad-input]")
{
    auto ports = dpdk_port_probe({"net_nosuchdriver_hc0"})();
    REQUIRE_FALSE(ports);
    CHECK(ports.error().message().find("net_nosuchdriver_hc0") != std::string::npos);
    auto pci = dpdk_port_probe({"0000:7f:1f.7"})();
    REQUIRE_FALSE(pci);
    CHECK(pci.error().message().find("0000:7f:1f.7") != std::string::npos);
}
