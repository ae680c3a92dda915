// The probes, run for real against this kernel, a veth pair, rte_bpf, Hyperscan and the host.
#include "capabilities/capabilities.hpp"
#include "helpers/hyperscan/hyperscan.hpp"
#include "netns_fixture.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

using namespace harmony::caps;

TEST_CASE("kernel probe: bpf(), BTF, XDP helpers, map types and instruction set, probed live", "[capabilities][kernel]")
{
    KernelCaps kernel = probe_kernel();
    REQUIRE(kernel.bpf_syscall.yes());
    CHECK(kernel.btf.yes());
    CHECK(kernel.jit.yes());
    CHECK(kernel.large_programs.yes());
    CHECK(kernel.xdp.max_insns == 1'000'000);
    CHECK(kernel.xdp.helpers.contains(BPF_FUNC_map_lookup_elem));
    CHECK(kernel.xdp.helpers.contains(BPF_FUNC_ringbuf_output));
    CHECK(kernel.xdp.helpers.contains(BPF_FUNC_xdp_adjust_head));
    // Helpers of other program types are not callable from XDP.
    CHECK_FALSE(kernel.xdp.helpers.contains(BPF_FUNC_skb_store_bytes));
    CHECK(kernel.xdp.map_types.contains(BPF_MAP_TYPE_LPM_TRIE));
    CHECK(kernel.xdp.map_types.contains(BPF_MAP_TYPE_RINGBUF));
    CHECK(kernel.xdp.insns.at(InsnClass::Jmp32).yes());
    CHECK(kernel.xdp.insns.at(InsnClass::BpfCall).yes());
    CHECK(kernel.xdp.insns.at(InsnClass::Loop).yes());
    CHECK(kernel.xdp.insns.at(InsnClass::AtomicFetch).yes());
    // The kernel refuses these for XDP, and the refusal carries its errno.
    CHECK(kernel.xdp.insns.at(InsnClass::LegacyPacket).no());
    CHECK_THAT(kernel.xdp.insns.at(InsnClass::LegacyPacket).detail, Catch::Contains("-EINVAL"));
    CHECK(kernel.xdp.insns.at(InsnClass::CallReg).no());
    // Cached: the same answer without probing again.
    CHECK(probe_kernel().xdp.helpers == kernel.xdp.helpers);
}

TEST_CASE("interface probe on veth: driver, xdp-features, queues, and the kernel's refusal of offload",
          "[capabilities][netns]")
{
    probe_kernel(); // from the initial namespace, where the JIT sysctls are visible
    harmony::test::VethNetns netns;
    auto iface = probe_interface(netns.kA, true);
    REQUIRE(iface);
    CHECK(iface->driver.detail == "veth");
    CHECK(iface->xdp_features.yes());
    CHECK((iface->xdp_feature_bits & kXdpBasic) != 0);
    CHECK((iface->xdp_feature_bits & kXdpHwOffload) == 0);
    CHECK(iface->native_xdp.yes());
    CHECK(iface->rx_queues >= 1);
    CHECK(iface->attached.driver_prog == 0);
    REQUIRE(iface->hw_offload.no());
    CHECK_THAT(iface->hw_offload.detail, Catch::Contains("kernel refused hardware offload on hpl0"));

    auto missing = probe_interface("hpl-nonesuch", true);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().which == "hpl-nonesuch");
}

TEST_CASE("dpdk probe: rte_bpf loaded without EAL shows its JIT and what its validator refuses",
          "[capabilities][dpdk]")
{
    DpdkCaps dpdk = probe_dpdk({});
    CHECK(dpdk.pmd_dir.yes());
    CHECK(dpdk.eal_possible.yes());
    CHECK(dpdk.rte_bpf_jit.yes());
    CHECK(dpdk.rte_bpf_jit.detail == "x86-64");
    CHECK(dpdk.rte_bpf.insns.at(InsnClass::Alu32).yes());
    CHECK(dpdk.rte_bpf.insns.at(InsnClass::AtomicAdd).yes());
    for (InsnClass refused : {InsnClass::Jmp32, InsnClass::BpfCall, InsnClass::MapReference, InsnClass::Loop}) {
        INFO(insn_class_name(refused));
        CHECK(dpdk.rte_bpf.insns.at(refused).no());
    }
    CHECK_THAT(dpdk.rte_bpf.insns.at(InsnClass::Jmp32).detail, Catch::Contains("invalid opcode"));
}

TEST_CASE("dpdk probe: the dpdk target's port hook supplies rte_flow per port", "[capabilities][dpdk]")
{
    DpdkPortProbe hook = [] {
        return harmony::Result<std::vector<DpdkPortCaps>>(
            std::vector<DpdkPortCaps>{{"net_tap0", "net_tap", 1, Probe::supported("validated"), {"drop"}}});
    };
    DpdkCaps dpdk = probe_dpdk(hook);
    REQUIRE(dpdk.ports.size() == 1);
    CHECK(dpdk.ports[0].rte_flow.yes());
}

TEST_CASE("hyperscan and host runtime probes", "[capabilities]")
{
    CHECK(probe_hyperscan().valid_platform.yes());
    HostCaps host = probe_host();
    CHECK(host.jit.yes());
    CHECK(host.jit.detail == "x86-64");
    CHECK_FALSE(host.vm.helpers.empty());
    // hs_match is callable once registered (the helpers registry is the list).
    REQUIRE(harmony::hyperscan::register_helpers());
    CHECK(probe_host().vm.helpers.contains(0x10001));
}
