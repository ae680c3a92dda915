// The dpdk service sends each mbuf as the program left it: rewrite.bpf.o (run by Harmony's
// VM on the queues: rte_bpf has no xdp_md context and no adjust_head/tail) between two veth
// pairs through net_af_packet reflects an echo datagram with swapped addresses (XDP_TX),
// pops a VLAN tag (adjust_head) and trims a datagram (adjust_tail) on the wire. Its own
// executable: the EAL starts once per process.
#include "host-runtime/target/host_target.hpp"
#include "offload/dpdk.hpp"
#include "offload/live_service.hpp"
#include "tests/host-runtime/service/live_rewrite.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

using namespace harmony;
using namespace harmony::test;

TEST_CASE("the dpdk service sends mbufs as rewrite.bpf.o left them", "[dpdk][service][rewrite]")
{
    if (!live_rewrite_runs()) {
        return;
    }
    REQUIRE(dpdk::Eal::start(dpdk::EalOptions{.memory_mb = 256}).has_value());
    bool jit = GENERATE(true, false);
    RewriteBench bench("hfr-dpdk");
    InNamespace inside(bench.dut); // net_af_packet binds in the calling thread's namespace
    auto service = dpdk::start_service(ServiceSpec{.program = kRewriteProgram, .ingress = "in0", .egress = "out0"},
                                       jit, host::load_vm);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service);
    check_live_rewrites();
    REQUIRE((*service)->stop());
}

TEST_CASE("a UDP datagram to port 7 comes back to the client's socket through the dpdk service",
          "[dpdk][service][rewrite]")
{
    if (!live_rewrite_runs()) {
        return;
    }
    REQUIRE(dpdk::Eal::start(dpdk::EalOptions{.memory_mb = 256}).has_value());
    Lab lab({.tag = "hfr-decho", .subnet = "10.92.0"});
    // net_af_packet carries no offload header: a checksum left to offload would stay unfilled.
    lab.set_endpoint_offloads("tx off tso off gso off");
    InNamespace inside(lab.dut);
    auto service = dpdk::start_service(
        ServiceSpec{.program = kRewriteProgram, .ingress = "d0", .egress = "d1", .both_directions = true}, true,
        host::load_vm);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service);
    check_udp_echo(lab);
    REQUIRE((*service)->stop());
}
