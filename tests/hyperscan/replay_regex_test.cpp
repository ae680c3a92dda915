// dpi_regex.bpf.o replays its crafted captures as expected on the host targets, and
// scan_hs.bpf.o (hs_match) gives the verdicts of scan_loop.bpf.o (a bounded loop).
#include "regex_fixture.hpp"

#include <catch2/catch.hpp>

using namespace harmony;

TEST_CASE("dpi_regex.bpf.o replays its captures as expected on host and host-interp", "[hyperscan][replay]")
{
    auto target = GENERATE(as<std::string>{}, "host", "host-interp");
    auto capture = GENERATE(as<std::string>{}, "regex", "stream");
    DYNAMIC_SECTION(target << " " << capture)
    {
        test::check_replay(target, capture);
    }
}

TEST_CASE("scan_hs.bpf.o (hs_match) and scan_loop.bpf.o (bounded loop) agree on every packet", "[hyperscan][scan]")
{
    auto target = GENERATE(as<std::string>{}, "host", "host-interp");
    DYNAMIC_SECTION(target)
    {
        test::check_scan_twins(target);
    }
}
