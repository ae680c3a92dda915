// A program that rewrites frames has its rewrite carried out on every target: rewrite.bpf.o
// (echo with swapped addresses + XDP_TX, VLAN pop by adjust_head, trim by adjust_tail) gives
// the same actions and byte-identical frames on the kernel, the host VM (JIT, interpreter)
// and dpdk (JIT, interpreter), and those frames are what this test derives on its own from
// the input frames, and what the capture generator's scapy model wrote to rewrite.out.pcap.
#include <catch2/catch.hpp>

#include "cli/targets.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"
#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <filesystem>
#include <sstream>
#include <unistd.h>

using namespace harmony;

namespace {

const std::string kData = HARMONY_SOURCE_DIR "/tests/data/rewrite";
const std::string kRewrite = HARMONY_BPF_DIR "/rewrite.bpf.o";
constexpr size_t kEth = 14;
constexpr size_t kIp = 20;
constexpr size_t kUdp = 8;
constexpr size_t kKeptPayload = 64;

uint16_t be16(const Bytes &f, size_t at)
{
    return static_cast<uint16_t>(f.at(at) << 8 | f.at(at + 1));
}

Bytes slice(const Bytes &f, size_t from, size_t length)
{
    return Bytes(f.begin() + static_cast<long>(from), f.begin() + static_cast<long>(from + length));
}

/// The one's-complement sum of `data` folded to 16 bits (0xffff when the checksum inside is right).
uint16_t ones_sum(const Bytes &data, uint32_t sum = 0)
{
    for (size_t i = 0; i + 1 < data.size(); i += 2) {
        sum += be16(data, i);
    }
    if (data.size() % 2) {
        sum += data.back() << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(sum);
}

bool ipv4_udp(const Bytes &f)
{
    return f.size() >= kEth + kIp + kUdp && be16(f, 12) == 0x0800 && f[kEth] == 0x45 && f[kEth + 9] == 17;
}

void check_checksums(const Bytes &f)
{
    CHECK(ones_sum(slice(f, kEth, kIp)) == 0xffff);
    size_t udp_len = be16(f, kEth + kIp + 4);
    REQUIRE(kEth + kIp + udp_len <= f.size());
    if (be16(f, kEth + kIp + 6) != 0) { // 0: no UDP checksum
        Bytes pseudo = slice(f, kEth + 12, 8);
        pseudo.insert(pseudo.end(), {0, 17, static_cast<uint8_t>(udp_len >> 8), static_cast<uint8_t>(udp_len)});
        CHECK(ones_sum(slice(f, kEth + kIp, udp_len), ones_sum(pseudo)) == 0xffff);
    }
}

/// What the program must have made of `in`, checked field by field from `in` alone.
void check_rewrite(const Bytes &in, uint32_t action, const Bytes &out)
{
    if (in.size() >= kEth + 4 && be16(in, 12) == 0x8100) {
        INFO("802.1Q: the tag popped, nothing else changed");
        CHECK(action == XDP_PASS);
        Bytes untagged = slice(in, 0, 12);
        untagged.insert(untagged.end(), in.begin() + 16, in.end());
        CHECK(out == untagged);
        return;
    }
    bool plain_v4_udp = ipv4_udp(in) && (be16(in, kEth + 6) & 0x3fff) == 0;
    uint16_t port = plain_v4_udp ? be16(in, kEth + kIp + 2) : 0;
    size_t payload = plain_v4_udp ? be16(in, kEth + kIp + 4) - kUdp : 0;
    if (port == 7) {
        INFO("echo: MACs, addresses and ports swapped, TTL 64, checksums valid");
        CHECK(action == XDP_TX);
        REQUIRE(out.size() == in.size());
        CHECK(slice(out, 0, 6) == slice(in, 6, 6));
        CHECK(slice(out, 6, 6) == slice(in, 0, 6));
        CHECK(slice(out, kEth + 12, 4) == slice(in, kEth + 16, 4));
        CHECK(slice(out, kEth + 16, 4) == slice(in, kEth + 12, 4));
        CHECK(be16(out, kEth + kIp) == be16(in, kEth + kIp + 2));
        CHECK(be16(out, kEth + kIp + 2) == be16(in, kEth + kIp));
        CHECK(out[kEth + 8] == 64);
        CHECK(slice(out, kEth + kIp + kUdp, payload) == slice(in, kEth + kIp + kUdp, payload));
        check_checksums(out);
    } else if (port == 9 && payload > kKeptPayload) {
        INFO("discard: trimmed to 64 bytes of payload, lengths and checksums fixed");
        CHECK(action == XDP_PASS);
        REQUIRE(out.size() == kEth + kIp + kUdp + kKeptPayload);
        CHECK(be16(out, kEth + 2) == kIp + kUdp + kKeptPayload);
        CHECK(be16(out, kEth + kIp + 4) == kUdp + kKeptPayload);
        CHECK(slice(out, kEth + kIp + kUdp, kKeptPayload) == slice(in, kEth + kIp + kUdp, kKeptPayload));
        CHECK((be16(out, kEth + kIp + 6) == 0) == (be16(in, kEth + kIp + 6) == 0));
        check_checksums(out);
    } else {
        INFO("anything else: passed untouched");
        CHECK(action == XDP_PASS);
        CHECK(out == in);
    }
}

struct Rewritten {
    uint32_t action;
    Bytes frame;
};

std::vector<Rewritten> run_all(const std::string &target, const std::vector<Bytes> &frames)
{
    auto program = cli::load_on_target(target, kRewrite);
    INFO(target);
    REQUIRE(program.has_value());
    std::vector<Rewritten> all;
    for (const Bytes &frame : frames) {
        auto outcome = (*program)->run(frame);
        REQUIRE(outcome.has_value());
        all.push_back({outcome->action, std::move(outcome->frame)});
    }
    return all;
}

} // namespace

TEST_CASE("rewrite.bpf.o leaves the same frames on every target, as derived from the input", "[replay][rewrite]")
{
    auto frames = read_pcap(kData + "/rewrite.pcap");
    REQUIRE(frames.has_value());
    auto modelled = read_pcap(kData + "/rewrite.out.pcap");
    REQUIRE(modelled.has_value());
    REQUIRE(modelled->size() == frames->size());
    static std::vector<Rewritten> kernel = run_all("xdp", *frames);

    auto target = GENERATE(as<std::string>{}, "xdp", "host", "host-interp", "dpdk", "dpdk-interp");
    auto results = target == "xdp" ? kernel : run_all(target, *frames);
    REQUIRE(results.size() == frames->size());
    for (size_t i = 0; i < frames->size(); i++) {
        INFO(fmt::format("{} packet {}", target, i));
        check_rewrite((*frames)[i], results[i].action, results[i].frame);
        CHECK(results[i].frame == (*modelled)[i]);
        CHECK(results[i].action == kernel[i].action);
        CHECK(results[i].frame == kernel[i].frame);
    }
}

TEST_CASE("no target carries one run's adjust_head or adjust_tail into the next", "[replay][rewrite]")
{
    auto frames = read_pcap(kData + "/rewrite.pcap");
    REQUIRE(frames.has_value());
    auto target = GENERATE(as<std::string>{}, "xdp", "host", "dpdk");
    auto program = cli::load_on_target(target, kRewrite);
    REQUIRE(program.has_value());
    const Bytes &tagged = (*frames)[3];
    const Bytes &trimmed = (*frames)[7];
    const Bytes &untouched = (*frames)[16];
    for (int round = 0; round < 3; round++) {
        INFO(target << " round " << round);
        auto popped = (*program)->run(tagged);
        REQUIRE(popped.has_value());
        CHECK(popped->frame.size() == tagged.size() - 4);
        auto cut = (*program)->run(trimmed);
        REQUIRE(cut.has_value());
        CHECK(cut->frame.size() == kEth + kIp + kUdp + kKeptPayload);
        auto same = (*program)->run(untouched);
        REQUIRE(same.has_value());
        CHECK(same->frame == untouched);
    }
}

TEST_CASE("a frame grown into the headroom by adjust_head reads the same on every target", "[replay][rewrite]")
{
    // target_features.bpf.o: a frame whose first byte is 5 gets adjust_head(-16); the
    // kernel's test run zeroes its page, so the 16 new bytes are zeros there, and must be
    // everywhere. Byte 4 asks for adjust_tail(-4).
    const std::string object = HARMONY_BPF_DIR "/target_features.bpf.o";
    Bytes push(60, 0xab);
    push[0] = 5;
    Bytes shrink(60, 0xcd);
    shrink[0] = 4;
    Bytes grown(16, 0);
    grown.insert(grown.end(), push.begin(), push.end());
    auto target = GENERATE(as<std::string>{}, "xdp", "host", "host-interp", "dpdk", "dpdk-interp");
    INFO(target);
    auto program = cli::load_on_target(target, object);
    REQUIRE(program.has_value());
    for (int round = 0; round < 2; round++) {
        auto pushed = (*program)->run(push);
        REQUIRE(pushed.has_value());
        CHECK(pushed->action == XDP_PASS);
        CHECK(pushed->frame == grown);
        auto shrunk = (*program)->run(shrink);
        REQUIRE(shrunk.has_value());
        CHECK(shrunk->frame == Bytes(shrink.begin(), shrink.end() - 4));
    }
}

TEST_CASE("harmony replay --output-pcap writes each frame passed or transmitted, as the program left it",
          "[replay][rewrite][cli]")
{
    if (!test::harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    auto modelled = read_pcap(kData + "/rewrite.out.pcap");
    REQUIRE(modelled.has_value());
    auto target = GENERATE(as<std::string>{}, "xdp", "host");
    auto out = std::filesystem::temp_directory_path() / fmt::format("hfr-replay-{}-{}.pcap", getpid(), target);
    auto result = test::run_command(fmt::format("{} replay {} --pcap {}/rewrite.pcap --target {} --expect "
                                                "{}/rewrite.expect --output-pcap {}",
                                                test::kHarmony, kRewrite, kData, target, kData, out.string()));
    INFO(result.output);
    CHECK(result.status == 0);
    CHECK(test::contains(result.output, "0 mismatches"));
    auto written = read_pcap(out.string());
    std::filesystem::remove(out);
    REQUIRE(written.has_value());
    CHECK(*written == *modelled); // every frame of rewrite.pcap is passed or transmitted

    SECTION("a program that drops leaves the dropped frames out; the others go out unchanged")
    {
        auto dpi_out = std::filesystem::temp_directory_path() / fmt::format("hfr-dpi-{}-{}.pcap", getpid(), target);
        auto dpi = test::run_command(fmt::format("{} replay {} --pcap {}/tests/data/basic.pcap --target {} "
                                                 "--blocklist {} --output-pcap {}",
                                                 test::kHarmony, test::kDpi, HARMONY_SOURCE_DIR, target,
                                                 test::kBlocklist, dpi_out.string()));
        REQUIRE(dpi.status == 0);
        auto frames = read_pcap(HARMONY_SOURCE_DIR "/tests/data/basic.pcap");
        auto passed = read_pcap(dpi_out.string());
        std::filesystem::remove(dpi_out);
        REQUIRE(frames.has_value());
        REQUIRE(passed.has_value());
        std::vector<Bytes> expected;
        size_t index = 0;
        std::istringstream lines(dpi.output);
        for (std::string text; std::getline(lines, text); index++) {
            if (text.find("\tPASS\t") != std::string::npos) {
                expected.push_back((*frames)[index]);
            }
        }
        CHECK(index == frames->size());
        CHECK(passed->size() < frames->size()); // basic.pcap has blocked names
        CHECK(*passed == expected);
    }
}

TEST_CASE("harmony replay --output-pcap into a folder that does not exist fails naming the file",
          "[replay][rewrite][cli][bad-input]")
{
    if (!test::harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    auto result = test::run_command(fmt::format("{} replay {} --pcap {}/rewrite.pcap --target host --output-pcap "
                                                "/nonexistent-hfr/out.pcap",
                                                test::kHarmony, kRewrite, kData));
    INFO(result.output);
    CHECK(result.status != 0);
    CHECK(test::contains(result.output, "write capture /nonexistent-hfr/out.pcap"));
}
