// The host service sends each frame as the program left it: rewrite.bpf.o on Harmony's VM
// between two veth pairs reflects an echo datagram with swapped addresses (XDP_TX), pops a
// VLAN tag (adjust_head) and trims a datagram (adjust_tail) on the wire, as XDP does.
#include "host-runtime/service/service.hpp"
#include "live_rewrite.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

using namespace harmony;
using namespace harmony::test;

TEST_CASE("the host service sends frames as rewrite.bpf.o left them", "[host][service][rewrite]")
{
    if (!live_rewrite_runs()) {
        return;
    }
    auto mode = GENERATE(host::ExecMode::Jit, host::ExecMode::Interpreter);
    RewriteBench bench("hfr-host");
    InNamespace inside(bench.dut);
    auto service = host::start_service(ServiceSpec{.program = kRewriteProgram, .ingress = "in0", .egress = "out0"},
                                       mode);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service);
    check_live_rewrites();
    REQUIRE((*service)->stop());
}

TEST_CASE("a UDP datagram to port 7 comes back to the client's socket through the host service",
          "[host][service][rewrite]")
{
    if (!live_rewrite_runs()) {
        return;
    }
    // Checksum offload stays on: the echo keeps the frame's pending UDP checksum (the swap
    // does not change the pseudo-header sum) and its offload header.
    Lab lab({.tag = "hfr-hecho", .subnet = "10.91.0"});
    InNamespace inside(lab.dut);
    auto service = host::start_service(
        ServiceSpec{.program = kRewriteProgram, .ingress = "d0", .egress = "d1", .both_directions = true},
        host::ExecMode::Jit);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service);
    check_udp_echo(lab);
    REQUIRE((*service)->stop());
}
