// The foundation's promise: dpi.bpf.o replays every corpus identically on every target,
// and the C++ oracle agrees. One table of corpora, one list of targets.
#include <catch2/catch.hpp>

#include "cli/targets.hpp"
#include "common/dpi_control.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"

#include <filesystem>

using namespace harmony;

namespace {

struct Corpus {
    std::string dir, name;
};

std::vector<Corpus> corpora()
{
    std::vector<Corpus> all;
    for (auto name : {"basic", "layers", "tricky"}) {
        all.push_back({HARMONY_SOURCE_DIR "/tests/data", name});
    }
    std::string shared = HARMONY_SHARED_DIR "/corpus";
    if (std::filesystem::exists(shared + "/seed.pcap")) {
        for (auto name : {"seed", "variants", "edge", "bench"}) {
            all.push_back({shared, name});
        }
    } else {
        WARN("../shared/corpus absent: replaying the project's own corpus only");
    }
    return all;
}

} // namespace

TEST_CASE("dpi.bpf.o replays every corpus as expected on every target", "[replay]")
{
    auto target = GENERATE(as<std::string>{}, "native", "xdp", "host", "host-interp");
    for (const auto &corpus : corpora()) {
        DYNAMIC_SECTION(target << " " << corpus.name)
        {
            auto program = cli::load_on_target(target, HARMONY_BPF_DIR "/dpi.bpf.o");
            REQUIRE(program.has_value());
            REQUIRE(dpi::apply_blocklist(**program, corpus.dir + "/blocklist.txt").has_value());
            auto frames = read_pcap(corpus.dir + "/" + corpus.name + ".pcap");
            REQUIRE(frames.has_value());
            auto lines = replay(**program, *frames);
            REQUIRE(lines.has_value());
            auto expected = read_expect(corpus.dir + "/" + corpus.name + ".expect");
            REQUIRE(expected.has_value());
            auto differences = compare_replay(*lines, *expected);
            for (size_t i = 0; i < std::min<size_t>(differences.size(), 10); i++) {
                UNSCOPED_INFO(differences[i]);
            }
            CHECK(differences.empty());
        }
    }
}

TEST_CASE("a blocklist change takes effect without reloading", "[replay]")
{
    auto target = GENERATE(as<std::string>{}, "native", "xdp", "host");
    auto program = cli::load_on_target(target, HARMONY_BPF_DIR "/dpi.bpf.o");
    REQUIRE(program.has_value());
    auto frames = read_pcap(HARMONY_SOURCE_DIR "/tests/data/basic.pcap");
    REQUIRE(frames.has_value());
    auto before = replay(**program, *frames);
    REQUIRE(before.has_value());
    // Nothing blocked yet: every packet passes, named ones still report their name.
    size_t named = 0;
    for (const auto &line : *before) {
        CHECK(line.verdict == "PASS");
        named += line.name != "-";
    }
    CHECK(named > 0);
    Map *blocklist = (*program)->map("blocklist");
    REQUIRE(blocklist != nullptr);
    REQUIRE(dpi::block(*blocklist, {"blocked.test"}).has_value());
    auto after = replay(**program, *frames);
    REQUIRE(after.has_value());
    bool dropped = false;
    for (const auto &line : *after) {
        dropped |= line.verdict == "DROP" && line.name.ends_with("blocked.test");
    }
    CHECK(dropped);
}
