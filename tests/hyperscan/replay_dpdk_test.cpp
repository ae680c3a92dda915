// dpi_regex.bpf.o on the dpdk target: rte_bpf refuses its map references, so it runs on
// Harmony's VM on the DPDK queue with the same Hyperscan helpers.
#include "regex_fixture.hpp"

#include <catch2/catch.hpp>

using namespace harmony;

TEST_CASE("dpi_regex.bpf.o replays its captures as expected on dpdk and dpdk-interp", "[hyperscan][dpdk]")
{
    auto target = GENERATE(as<std::string>{}, "dpdk", "dpdk-interp");
    auto capture = GENERATE(as<std::string>{}, "regex", "stream");
    DYNAMIC_SECTION(target << " " << capture)
    {
        test::check_replay(target, capture);
    }
}

TEST_CASE("scan_hs.bpf.o and scan_loop.bpf.o agree on dpdk", "[hyperscan][dpdk][scan]")
{
    test::check_scan_twins("dpdk");
}
