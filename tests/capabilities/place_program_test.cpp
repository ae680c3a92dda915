// caps::place_program: one call from a BPF object to a placement, live on a veth pair in a
// private namespace and under the shipped NFP profile, and its errors on bad input.
#include "capabilities/capabilities.hpp"
#include "netns_fixture.hpp"
#include "placement_checks.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace harmony::caps;
using harmony::test::names;

namespace {

const std::string kProfiles = HARMONY_CAPABILITIES_PROFILES;
const std::string kBpfDir = HARMONY_BPF_DIR;
} // namespace

TEST_CASE("place_program on a live veth: dpi.bpf.o goes native, offload refused by the kernel",
          "[capabilities][netns][place_program]")
{
    probe_kernel();
    harmony::test::VethNetns netns;
    PlaceOptions options;
    options.interface = netns.kA;
    auto placement = place_program(kBpfDir + "/dpi.bpf.o", options);
    INFO((placement ? placement->text() : placement.error().message()));
    REQUIRE(placement);
    CHECK(placement->program.find("dpi.bpf.o") != std::string::npos);
    CHECK(placement->interface == netns.kA);
    CHECK(placement->capabilities_source.starts_with("probed on "));
    REQUIRE(placement->candidates.size() >= 3);
    CHECK(placement->candidates[0].target == Target::XdpNative);
    CHECK(placement->candidate(Target::Host));
    CHECK(placement->candidate(Target::XdpGeneric));
    CHECK(names(*placement, Target::XdpOffload, "kernel refused hardware offload on hpl0"));

    auto policy = Policy::parse("host,xdp-generic");
    REQUIRE(policy);
    options.policy.order = policy->order;
    auto host_first = place_program(kBpfDir + "/dpi.bpf.o", options);
    REQUIRE(host_first);
    CHECK(host_first->candidates.at(0).target == Target::Host);
    CHECK(names(*host_first, Target::XdpNative, "not in the policy"));
}

TEST_CASE("place_program under the NFP profile: the small filter is offloaded, dpi is not",
          "[capabilities][place_program]")
{
    PlaceOptions options;
    options.interface = "nfp0"; // described by the profile: it need not exist here
    options.profile = kProfiles + "/netronome-nfp.json";
    auto filter = place_program(kBpfDir + "/cap_small_filter.bpf.o", options);
    INFO((filter ? filter->text() : filter.error().message()));
    REQUIRE(filter);
    CHECK(filter->capabilities_source.find("netronome-nfp.json") != std::string::npos);
    REQUIRE_FALSE(filter->candidates.empty());
    CHECK(filter->candidates[0].target == Target::XdpOffload);
    CHECK(filter->candidates[0].engine == "nfp");

    auto dpi = place_program(kBpfDir + "/dpi.bpf.o", options);
    INFO((dpi ? dpi->text() : dpi.error().message()));
    REQUIRE(dpi);
    CHECK_FALSE(dpi->candidate(Target::XdpOffload));
    CHECK(names(*dpi, Target::XdpOffload, "has type lpm_trie, which nfp does not support"));
}

TEST_CASE("place_program: bad input is an error naming it", "[capabilities][place_program][bad-input]")
{
    PlaceOptions options;
    auto missing = place_program("/nonexistent/prog.bpf.o", options);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message().find("/nonexistent/prog.bpf.o") != std::string::npos);

    options.profile = "/nonexistent/profile.json";
    auto no_profile = place_program(kBpfDir + "/dpi.bpf.o", options);
    REQUIRE_FALSE(no_profile);
    CHECK(no_profile.error().message().find("/nonexistent/profile.json") != std::string::npos);

    PlaceOptions no_such_iface;
    no_such_iface.interface = "hnosuchif0";
    auto absent = place_program(kBpfDir + "/dpi.bpf.o", no_such_iface);
    REQUIRE_FALSE(absent);
    CHECK(absent.error().message().find("hnosuchif0") != std::string::npos);

    PlaceOptions wrong_prog;
    wrong_prog.section = "no_such_program";
    auto unknown = place_program(kBpfDir + "/dpi.bpf.o", wrong_prog);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().message().find("no_such_program") != std::string::npos);
}
