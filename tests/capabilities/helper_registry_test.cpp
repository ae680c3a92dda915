// The Harmony VM's helper list is the helpers registry: a helper registered at run time is
// callable on host and dpdk at once, an unregistered Harmony id is not, and XDP excludes
// any Harmony helper by name.
#include "capabilities/capabilities.hpp"
#include "helpers/helper.hpp"
#include "netns_fixture.hpp"
#include "placement_checks.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using namespace harmony::caps;
using harmony::test::names;

namespace {

constexpr uint32_t kTestHelper = helpers::kHarmonyBase + 0x77;
constexpr uint32_t kNeverRegistered = helpers::kHarmonyBase + 0x78;

uint64_t always_one(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    return 1;
}

void register_test_helper()
{
    if (helpers::find_helper(kTestHelper)) {
        return;
    }
    helpers::Helper helper{kTestHelper, {"caps_test_helper", helpers::Ret::Integer, {helpers::Arg::Scalar}}, always_one};
    auto registered = helpers::register_helper(helper);
    INFO((registered ? "" : registered.error().message()));
    REQUIRE(registered);
}

Requirements calling(uint32_t id)
{
    Requirements req;
    req.object = "calls_" + helper_name(id);
    req.insn_count = 4;
    req.helpers = {{id, helper_name(id), 1, 1}};
    return req;
}
} // namespace

TEST_CASE("a registered Harmony helper shows up in the host and dpdk capabilities", "[capabilities][helpers]")
{
    CHECK_FALSE(probe_host().vm.helpers.contains(kTestHelper));
    register_test_helper();
    CHECK(helper_name(kTestHelper) == "caps_test_helper");
    HostCaps host = probe_host();
    CHECK(host.vm.helpers.contains(kTestHelper));
    CHECK(host.vm.helpers.contains(1)); // map_lookup_elem, from the registry's Linux helpers
    CHECK_FALSE(host.vm.helpers.contains(kNeverRegistered));
    CHECK(host.vm.helpers.size() == helpers::all_helpers().size());
    DpdkCaps dpdk = probe_dpdk({});
    CHECK(dpdk.rte_bpf.helpers.contains(kTestHelper));
}

TEST_CASE("placement: XDP excludes a registered Harmony helper by name, host takes it", "[capabilities][netns]")
{
    register_test_helper();
    probe_kernel();
    harmony::test::VethNetns netns;
    ProbeOptions probe_options;
    probe_options.interfaces = {netns.kA};
    auto caps = probe(probe_options);
    REQUIRE(caps);
    PlaceOptions options{netns.kA, {}};

    Placement registered = place(calling(kTestHelper), *caps, options);
    INFO(registered.text());
    CHECK(registered.candidate(Target::Host));
    CHECK(registered.candidate(Target::Dpdk));
    for (Target xdp : {Target::XdpOffload, Target::XdpNative, Target::XdpGeneric}) {
        CHECK(names(registered, xdp, "helper 0x10077 caps_test_helper"));
    }
    CHECK(names(registered, Target::XdpNative, "is a Harmony helper the kernel cannot call"));

    // Named even where the interface already rules XDP out.
    Placement no_iface = place(calling(kTestHelper), *caps, PlaceOptions{});
    CHECK(names(no_iface, Target::XdpNative, "no interface given"));
    CHECK(names(no_iface, Target::XdpNative, "helper 0x10077 caps_test_helper"));

    Placement unknown = place(calling(kNeverRegistered), *caps, options);
    INFO(unknown.text());
    CHECK(unknown.candidates.empty());
    CHECK(names(unknown, Target::Host, "is not available on harmony-vm"));
    CHECK(names(unknown, Target::XdpNative, "Harmony helper the kernel cannot call"));
}
