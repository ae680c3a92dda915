// Shared by the host and dpdk replays of the regex programs: install the pattern files,
// load on a target, replay a crafted capture, compare with its .expect file.
#pragma once

#include "cli/targets.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"
#include "helpers/hyperscan/hyperscan.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace harmony::test {

inline const std::string kRegexData = HARMONY_SOURCE_DIR "/tests/data/regex";

inline void install_dpi_regex_patterns()
{
    auto request = hyperscan::install_pattern_file(1, kRegexData + "/request.patterns");
    INFO((request ? "" : request.error().message()));
    REQUIRE(request.has_value());
    auto names = hyperscan::install_pattern_file(2, kRegexData + "/names.patterns");
    INFO((names ? "" : names.error().message()));
    REQUIRE(names.has_value());
}

inline std::unique_ptr<LoadedProgram> load(const std::string &target, const std::string &object)
{
    REQUIRE(hyperscan::register_helpers().has_value());
    auto program = cli::load_on_target(target, std::string(HARMONY_BPF_DIR) + "/" + object);
    INFO((program ? "" : program.error().message()));
    REQUIRE(program.has_value());
    CHECK((*program)->target() == target);
    return std::move(*program);
}

inline std::vector<ReplayLine> replay_capture(LoadedProgram &program, const std::string &pcap)
{
    auto frames = read_pcap(pcap);
    REQUIRE(frames.has_value());
    auto lines = replay(program, *frames);
    INFO((lines ? "" : lines.error().message()));
    REQUIRE(lines.has_value());
    return *lines;
}

inline void check_replay(const std::string &target, const std::string &capture)
{
    install_dpi_regex_patterns();
    hyperscan::close_all_streams();
    auto program = load(target, "dpi_regex.bpf.o");
    auto lines = replay_capture(*program, kRegexData + "/" + capture + ".pcap");
    auto expected = read_expect(kRegexData + "/" + capture + ".expect");
    REQUIRE(expected.has_value());
    auto differences = compare_replay(lines, *expected);
    for (const auto &d : differences) {
        UNSCOPED_INFO(d);
    }
    CHECK(differences.empty());
    hyperscan::close_all_streams();
}

inline void check_scan_twins(const std::string &target)
{
    REQUIRE(hyperscan::install_pattern_file(1, kRegexData + "/scan.patterns").has_value());
    auto hs = load(target, "scan_hs.bpf.o");
    auto loop = load(target, "scan_loop.bpf.o");
    auto expected = read_expect(kRegexData + "/scan.expect");
    REQUIRE(expected.has_value());
    auto hs_lines = replay_capture(*hs, kRegexData + "/scan.pcap");
    auto loop_lines = replay_capture(*loop, kRegexData + "/scan.pcap");
    for (const auto &d : compare_replay(hs_lines, *expected)) {
        UNSCOPED_INFO("scan_hs " << d);
    }
    for (const auto &d : compare_replay(loop_lines, *expected)) {
        UNSCOPED_INFO("scan_loop " << d);
    }
    CHECK(compare_replay(hs_lines, *expected).empty());
    CHECK(compare_replay(loop_lines, *expected).empty());
    // Database 1 is the request database of dpi_regex again for the other cases.
    install_dpi_regex_patterns();
}

} // namespace harmony::test
