#include "commands.hpp"
#include "progress.hpp"
#include "targets.hpp"

#include "common/dpi_control.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace harmony::cli {

namespace {

struct ReplayOptions {
    std::string program;
    std::string pcap;
    std::string blocklist;
    std::vector<std::string> patterns; ///< ID=FILE: Hyperscan databases for hs_match
    std::string target = "xdp";
    std::string expect;
    std::string output_pcap;
    bool json = false;
    bool progress = false;
};

void run_replay(const ReplayOptions &o)
{
    auto frames = read_pcap(o.pcap);
    if (!frames) {
        fail_command(frames.error().message());
    }
    if (auto ok = install_patterns(o.patterns); !ok) {
        fail_command(ok.error().message());
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
    ProgressBar bar(o.progress);
    auto run = replay_sent_frames(**program, *frames,
                                  [&bar](size_t done, size_t total) { bar.update("replay", done, total); });
    bar.finish();
    if (!run) {
        fail_command(run.error().message());
    }
    if (!o.output_pcap.empty()) {
        if (auto written = write_pcap(o.output_pcap, run->sent); !written) {
            fail_command(written.error().message());
        }
    }
    const std::vector<ReplayLine> &lines = run->lines;
    std::string out;
    for (const auto &line : lines) {
        out += o.json ? nlohmann::json{{"index", line.index}, {"verdict", line.verdict}, {"proto", line.proto},
                                       {"name", line.name}}.dump() + "\n"
                      : line.text() + "\n";
    }
    fmt::print("{}", out);
    if (o.expect.empty()) {
        return;
    }
    auto expected = read_expect(o.expect);
    if (!expected) {
        fail_command(expected.error().message());
    }
    auto differences = compare_replay(lines, *expected);
    for (const auto &d : differences) {
        fmt::print(stderr, "mismatch: {}\n", d);
    }
    fmt::print(stderr, "{}: {} packets on {}, {} mismatches against {}\n", o.pcap, lines.size(), o.target,
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
    cmd->add_option("--patterns", options->patterns,
                    "ID=FILE: compile a pattern file (one ID:/regex/flags a line) as Hyperscan database ID for "
                    "hs_match; repeatable; a bare FILE is database 1");
    cmd->add_option("--target", options->target, "where to run it")
        ->check(CLI::IsMember(offline_targets()))
        ->capture_default_str();
    cmd->add_flag("--json", options->json, "one JSON object a line instead of tab-separated text");
    cmd->add_flag("--progress", options->progress, "draw the progress bar even when stderr is not a terminal");
    cmd->add_option("--expect", options->expect, "expectation file: report mismatches, exit 1 on any");
    cmd->add_option("--output-pcap", options->output_pcap,
                    "write each frame the program passed, transmitted or redirected, as it left the program "
                    "(its stores, adjust_head/tail), to this pcap file");
    cmd->footer("Prints one line per packet: index TAB verdict TAB proto TAB name.\n"
                "Example: harmony replay build/bpf/dpi.bpf.o --pcap tests/data/basic.pcap \\\n"
                "           --blocklist tests/data/blocklist.txt --target xdp --expect tests/data/basic.expect");
    cmd->callback([options] { run_replay(*options); });
}

} // namespace harmony::cli
