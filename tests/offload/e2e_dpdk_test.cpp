// End to end with the DUT on dpdk, as tests/xdp/e2e_test.cpp does it on XDP: client -> DUT
// -> server over veth, the DUT forwarding both ways through a DpdkService whose ports are
// DPDK's own drivers on the DUT's two veths (net_af_packet, then net_af_xdp), running
// dpi.bpf.o on Harmony's VM engine on the queues (rte_bpf cannot take it). Blocked sites time out,
// the others answer with their own page; a ClientHello naming a blocked site is dropped;
// a name added to the blocklist through the service's map is blocked from the next
// connection on. The EAL starts once per process, hence this test's own executable.
#include "tests/support/lab.hpp"

#include "common/dpi_control.hpp"
#include "host-runtime/target/host_target.hpp"
#include "offload/dpdk.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <unistd.h>

using namespace harmony;
using namespace harmony::dpdk;
using namespace harmony::test;
namespace fs = std::filesystem;

namespace {

// Starts the DPI service in the DUT namespace: DPDK's AF_PACKET / AF_XDP drivers bind
// to the interfaces of the namespace the probing thread is in.
Result<std::unique_ptr<DpdkService>> start_dut(const Lab &lab, const std::string &driver)
{
    static int next = 0;
    std::string tag = fmt::format("e2e{}x{}", getpid() % 100000, next++);
    DpdkServiceOptions options;
    options.ingress = fmt::format("{}_{}a,iface=d0", driver, tag);
    options.egress = fmt::format("{}_{}b,iface=d1", driver, tag);
    options.both_directions = true;
    options.program.host_vm = host::load_vm;
    InNamespace inside(lab.dut);
    return DpdkService::start(std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o", options);
}

} // namespace

TEST_CASE("the DPI service on dpdk blocks live connections between two namespaces", "[dpdk][netns][e2e]")
{
    if (geteuid() != 0) {
        WARN("skipped: namespaces and AF_PACKET need root");
        return;
    }
    if (!fs::exists(std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o")) {
        WARN("skipped: dpi.bpf.o is not built");
        return;
    }
    auto eal = Eal::start(EalOptions{.memory_mb = 256});
    REQUIRE(eal.has_value());
    std::string driver = GENERATE(as<std::string>{}, "net_af_packet", "net_af_xdp");
    INFO("driver " << driver);
    Lab lab({.tag = "dpdk-e2e", .subnet = "10.78.0"});
    // The DUT's ports copy frames as bytes: a checksum left to offload would stay
    // unfilled, and a TSO super-frame would not fit an mbuf, so the endpoints do both in
    // software.
    lab.set_endpoint_offloads("tx off tso off gso off");
    VhostServer server(lab);
    CHECK(lab.fetch("http", "vmware.com") == "curl exit 28"); // no forwarding yet: no path to the server
    lab.net.exec("client", "ip neigh flush dev c0");          // forget the failed ARP

    auto service = start_dut(lab, driver);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service.has_value());
    CHECK(((*service)->engine().engine == Engine::HarmonyJit));
    CHECK((*service)->engine().reason.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
    Map *blocklist = (*service)->map("blocklist");
    REQUIRE(blocklist != nullptr);
    REQUIRE(dpi::block(*blocklist, kBlockedSites).has_value());

    check_allowed(lab, "http", kAllowedSites);
    check_blocked(lab, "http", kBlockedSites);
    check_blocked(lab, "https", {"youtube.com"}); // ClientHello dropped: no handshake
    check_allowed(lab, "https", {"vmware.com"});

    // Blocked from the next connection on, while the service runs.
    REQUIRE(dpi::block(*blocklist, {"google.com"}).has_value());
    check_blocked(lab, "http", {"google.com"});
    check_blocked(lab, "https", {"google.com"});
    check_allowed(lab, "http", {"slashdot.org"});

    auto counters = dpi::read_counters(*(*service)->map("counters"));
    REQUIRE(counters.has_value());
    CHECK((*counters)[DPI_CNT_DROP] > 0);
    CHECK((*counters)[DPI_CNT_PASS] > 0);
    (*service)->stop();
    const QueueCounters forward = (*service)->forwarder().total();
    const QueueCounters back = (*service)->reverse_forwarder()->total();
    INFO(fmt::format("client->server received {} passed {} dropped {}; server->client received {} passed {}",
                     forward.received, forward.passed, forward.dropped, back.received, back.passed));
    CHECK(forward.dropped > 0);
    CHECK(forward.passed > 0);
    CHECK(back.passed > 0);
}
