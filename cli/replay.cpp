#include "commands.hpp"
#include "targets.hpp"

#include "common/dpi_control.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"

#include <fmt/format.h>

namespace harmony::cli {

namespace {

struct ReplayOptions {
    std::string program;
    std::string pcap;
    std::string blocklist;
    std::string target = "xdp";
    std::string expect;
};

void run_replay(const ReplayOptions &o)
{
    auto frames = read_pcap(o.pcap);
    if (!frames) {
        fail_command(frames.error().message());
    }
    auto program = load_on_target(o.target, o.program);
    if (!program) {
        fail_command(program.error().message());
    }
    if (!o.blocklist.empty()) {
        if (auto ok = dpi::apply_blocklist(**program, o.blocklist); !ok) {
            fail_command(ok.error().message());
        }
    }
    auto lines = replay(**program, *frames);
    if (!lines) {
        fail_command(lines.error().message());
    }
    std::string out;
    for (const auto &line : *lines) {
        out += line.text() + "\n";
    }
    fmt::print("{}", out);
    if (o.expect.empty()) {
        return;
    }
    auto expected = read_expect(o.expect);
    if (!expected) {
        fail_command(expected.error().message());
    }
    auto differences = compare_replay(*lines, *expected);
    for (const auto &d : differences) {
        fmt::print(stderr, "mismatch: {}\n", d);
    }
    fmt::print(stderr, "{}: {} packets on {}, {} mismatches against {}\n", o.pcap, lines->size(), o.target,
               differences.size(), o.expect);
    if (!differences.empty()) {
        throw CLI::RuntimeError(1);
    }
}

} // namespace

void add_replay_command(CLI::App &app)
{
    auto options = std::make_shared<ReplayOptions>();
    auto *cmd = app.add_subcommand("replay", "Run every packet of a capture through a program on one target");
    cmd->add_option("program", options->program, "BPF object (e.g. build/bpf/dpi.bpf.o)")->required();
    cmd->add_option("--pcap", options->pcap, "capture to replay")->required();
    cmd->add_option("--blocklist", options->blocklist, "domains to block, one a line");
    cmd->add_option("--target", options->target, "where to run it")
        ->check(CLI::IsMember(offline_targets()))
        ->capture_default_str();
    cmd->add_option("--expect", options->expect, "expectation file: report mismatches, exit 1 on any");
    cmd->footer("Prints one line per packet: index TAB verdict TAB proto TAB name.\n"
                "Example: harmony replay build/bpf/dpi.bpf.o --pcap tests/data/basic.pcap \\\n"
                "           --blocklist tests/data/blocklist.txt --target xdp --expect tests/data/basic.expect");
    cmd->callback([options] { run_replay(*options); });
}

} // namespace harmony::cli
