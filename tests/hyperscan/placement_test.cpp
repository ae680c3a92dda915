// Placement of dpi_regex.bpf.o on a live veth (native and generic XDP both work there): every
// XDP target is excluded naming the Hyperscan helpers; a Harmony VM target (dpdk or host) is chosen.
#include "capabilities/capabilities.hpp"
#include "helpers/hyperscan/hyperscan.hpp"
#include "tests/capabilities/netns_fixture.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using namespace harmony::caps;

namespace {

bool names(const Exclusion *exclusion, const std::string &text)
{
    if (!exclusion) {
        return false;
    }
    for (const auto &reason : exclusion->reasons) {
        if (reason.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("dpi_regex.bpf.o is kept off every XDP target, naming hs_match", "[hyperscan][placement][netns]")
{
    REQUIRE(hyperscan::register_helpers().has_value());
    auto req = read_requirements(HARMONY_BPF_DIR "/dpi_regex.bpf.o");
    INFO((req ? "" : req.error().message()));
    REQUIRE(req.has_value());
    harmony::test::VethNetns netns;
    ProbeOptions probe_options;
    probe_options.interfaces = {netns.kA};
    auto caps = probe(probe_options);
    INFO((caps ? "" : caps.error().message()));
    REQUIRE(caps.has_value());
    Placement placement = place(*req, *caps, PlaceOptions{netns.kA, {}});
    INFO(placement.text());
    REQUIRE_FALSE(placement.candidates.empty());
    Target first = placement.candidates[0].target;
    CHECK((first == Target::Dpdk || first == Target::Host));
    for (Target xdp : {Target::XdpNative, Target::XdpGeneric}) {
        CHECK_FALSE(placement.candidate(xdp));
        CHECK(names(placement.exclusion(xdp), "hs_match"));
    }
    CHECK(names(placement.exclusion(Target::XdpGeneric), "helper 0x10002 hs_match_stream"));
}
