// `--target auto`: the first candidate that accepts runs the program; each refusal is logged.
#include "capabilities/capabilities.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using namespace harmony::caps;

namespace {

Placement three_candidates()
{
    Placement p;
    p.program = "dpi.bpf.o";
    p.candidates = {{Target::XdpNative, "linux", {}}, {Target::Dpdk, "harmony-vm", {}}, {Target::Host, "harmony-vm", {}}};
    return p;
}

} // namespace

TEST_CASE("run_auto: a refusal by the first candidate moves the service to the next, logged", "[capabilities]")
{
    std::vector<std::string> tried, logged;
    std::function<Result<std::string>(const Candidate &)> attach = [&](const Candidate &c) -> Result<std::string> {
        tried.emplace_back(target_name(c.target));
        if (c.target == Target::XdpNative) {
            return fail("attach", "veth0", "-EBUSY (Device or resource busy)");
        }
        return std::string("service on ") + std::string(target_name(c.target));
    };
    auto run = run_auto<std::string>(three_candidates(), attach,
                                     [&](const Refusal &r) { logged.push_back(fmt_refusal(r)); });
    REQUIRE(run);
    CHECK(run->target == Target::Dpdk);
    CHECK(run->service == "service on dpdk");
    CHECK(tried == std::vector<std::string>{"xdp-native", "dpdk"});
    REQUIRE(run->refusals.size() == 1);
    CHECK(run->refusals[0].target == Target::XdpNative);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == " xdp-native (attach veth0: -EBUSY (Device or resource busy))");
}

TEST_CASE("run_auto: when every candidate refuses, the error lists each refusal", "[capabilities]")
{
    std::function<Result<int>(const Candidate &)> attach = [](const Candidate &c) -> Result<int> {
        return fail("load", std::string(target_name(c.target)), "refused");
    };
    auto run = run_auto<int>(three_candidates(), attach);
    REQUIRE_FALSE(run);
    CHECK_THAT(run.error().why, Catch::Contains("xdp-native (load xdp-native: refused)"));
    CHECK_THAT(run.error().why, Catch::Contains("host (load host: refused)"));

    auto none = run_auto<int>(Placement{}, attach);
    REQUIRE_FALSE(none);
    CHECK_THAT(none.error().why, Catch::Contains("no target can run it"));
}

#include "netns_fixture.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

TEST_CASE("run_auto on veth: the kernel refuses offload for real, the service lands on xdp-native",
          "[capabilities][netns]")
{
    harmony::test::VethNetns netns;
    int ifindex = static_cast<int>(if_nametoindex(netns.kA));
    REQUIRE(ifindex > 0);
    bpf_object *obj = bpf_object__open_file((std::string(HARMONY_BPF_DIR) + "/pass.bpf.o").c_str(), nullptr);
    REQUIRE(obj);
    REQUIRE(bpf_object__load(obj) == 0);
    int prog_fd = bpf_program__fd(bpf_object__next_program(obj, nullptr));

    // As if a profile had promised offload on this interface: the kernel has the last word.
    Placement placement;
    placement.program = "pass.bpf.o";
    placement.candidates = {{Target::XdpOffload, "nic", {}}, {Target::XdpNative, "linux", {}}};
    std::function<Result<uint32_t>(const Candidate &)> attach = [&](const Candidate &c) -> Result<uint32_t> {
        uint32_t flags = c.target == Target::XdpOffload ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE;
        if (int err = bpf_xdp_attach(ifindex, prog_fd, flags, nullptr); err < 0) {
            return fail("attach", netns.kA, errno_text(err));
        }
        return flags;
    };
    std::vector<Refusal> logged;
    auto run = run_auto<uint32_t>(placement, attach, [&](const Refusal &r) { logged.push_back(r); });
    REQUIRE(run);
    CHECK(run->target == Target::XdpNative);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].target == Target::XdpOffload);
    CHECK(logged[0].error.why.starts_with("-E"));

    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    REQUIRE(bpf_xdp_query(ifindex, 0, &query) == 0);
    CHECK(query.drv_prog_id != 0);
    CHECK(query.hw_prog_id == 0);
    bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr);
    bpf_object__close(obj);
}
