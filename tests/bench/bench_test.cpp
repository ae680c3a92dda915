// The benchmark driver as a library: traces, timing rows on real targets (native C++ and
// Harmony's JIT), statistics, ratios, skipped rows, and the three report formats.
#include "bench/bench.hpp"
#include "cli/targets.hpp"
#include "common/dpi_control.hpp"
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace harmony;
using harmony::test::count;

namespace {

const std::string kData = std::string(HARMONY_SOURCE_DIR) + "/tests/data/";
const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";

bench::BenchCase dpi_row(const std::string &target)
{
    std::string blocklist = kData + "blocklist.txt";
    return {target, target, kDpi, "test", [blocklist](LoadedProgram &p) { return dpi::apply_blocklist(p, blocklist); },
            {}, {}};
}

} // namespace

TEST_CASE("traces: one capture, several concatenated, errors name the file", "[bench]")
{
    auto basic = bench::read_trace(kData + "basic.pcap");
    REQUIRE(basic.has_value());
    CHECK(basic->frames.size() == 118);
    CHECK(basic->bytes == 9374);
    auto both = bench::concatenate_traces({kData + "basic.pcap", kData + "layers.pcap"});
    REQUIRE(both.has_value());
    CHECK(both->source == kData + "basic.pcap+" + kData + "layers.pcap");
    CHECK(both->frames.size() > basic->frames.size());
    auto missing = bench::concatenate_traces({kData + "basic.pcap", "/nonexistent.pcap"});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message().find("/nonexistent.pcap") != std::string::npos);
    auto fallback = bench::default_trace();
    REQUIRE(fallback.has_value());
    CHECK((fallback->source.ends_with("corpus/bench.pcap") || fallback->source.find("+") != std::string::npos));
}

TEST_CASE("run_bench times every row in turns, keeps a refused row with its reason, and computes the ratios",
          "[bench]")
{
    auto trace = bench::read_trace(kData + "basic.pcap");
    REQUIRE(trace.has_value());
    std::vector<bench::BenchCase> cases = {dpi_row("native"), dpi_row("host"),
                                           {"broken", "host", "/nonexistent.bpf.o", "test", {}, {}, {}}};
    size_t calls = 0;
    size_t last_done = 0;
    size_t last_total = 0;
    std::vector<std::string> passes; // the row of each progress call, in order
    bench::BenchOptions options{3, 1, 2, -1, [&](const std::string &label, size_t done, size_t total) {
                                    passes.push_back(label);
                                    calls++;
                                    last_done = done;
                                    last_total = total;
                                }};
    auto report = bench::run_bench(*trace, cases, cli::load_on_target, options);
    REQUIRE(report.has_value());
    CHECK(calls == 2 * 4 + 1); // 1 warm-up + 3 timed passes for each measured row, one call for the skipped one
    CHECK(last_done == 3 * 4);
    CHECK(last_total == 3 * 4);
    // The refused row is skipped as it is loaded; then pass k of every row before pass k+1 of any.
    CHECK(passes == std::vector<std::string>{"broken", "native", "host", "native", "host", "native", "host", "native",
                                             "host"});
    CHECK(report->packets == 118);
    REQUIRE(report->rows.size() == 3);
    for (size_t i = 0; i < 2; i++) {
        const auto &row = report->rows[i];
        INFO(row.what.label);
        REQUIRE_FALSE(row.skipped.has_value());
        REQUIRE(row.ns_per_packet.size() == 3);
        CHECK(row.spread.min <= row.spread.median);
        CHECK(row.spread.median <= row.spread.max);
        CHECK(row.spread.median > 0);
        CHECK(row.mpps == Approx(1e3 / row.spread.median));
        CHECK(row.gbps == Approx(9374.0 * 8 / (row.spread.median * 118)));
        CHECK_FALSE(row.vs_baseline.has_value()); // no baseline row
    }
    CHECK(*report->rows[0].vs_native == Approx(1.0));
    CHECK(*report->rows[1].vs_native == Approx(report->rows[1].spread.median / report->rows[0].spread.median));
    REQUIRE(report->rows[2].skipped.has_value());
    CHECK(report->rows[2].skipped->find("/nonexistent.bpf.o") != std::string::npos);

    std::string table = bench::markdown(*report);
    CHECK(count(table, "\n| ") == 5); // header, separator, one line per row
    CHECK(table.find("| broken | host | test | | skipped: ") != std::string::npos);
    CHECK(table.find("| native | native | test | 118 × 2 |") != std::string::npos); // frames per pass × runs
    auto json = bench::to_json(*report);
    CHECK(json["rows"][2]["skipped"].is_string());
    CHECK(json["rows"][1]["ns_per_packet"]["runs"].size() == 3);
    std::string svg = bench::svg(*report);
    CHECK(count(svg, "<rect") == 3 + 2 * 2); // background, legend, two bars per measured row
    CHECK(svg.find(">skipped</text>") != std::string::npos);
}

TEST_CASE("a sampled row times evenly spaced frames, the same number every pass", "[bench]")
{
    auto trace = bench::read_trace(kData + "basic.pcap");
    REQUIRE(trace.has_value());
    bench::BenchCase sampled = dpi_row("host");
    sampled.sample = 10;
    bench::BenchCase oversampled = dpi_row("native");
    oversampled.sample = 1000; // more than the trace: the whole trace
    bench::BenchOptions options{2, 0, 4, -1, {}};
    auto report = bench::run_bench(*trace, {sampled, oversampled}, cli::load_on_target, options);
    REQUIRE(report.has_value());
    CHECK(report->rows[0].frames_timed == 10);
    CHECK(report->rows[0].inner == 4);
    CHECK(report->rows[1].frames_timed == 118);
    CHECK(report->rows[0].spread.median > 0);
    auto json = bench::to_json(*report);
    CHECK(json["rows"][0]["frames_timed"] == 10);
    CHECK(json["rows"][0]["inner"] == 4);
}

TEST_CASE("native times the same judgement run() makes, without building an outcome", "[bench]")
{
    auto trace = bench::read_trace(kData + "basic.pcap");
    REQUIRE(trace.has_value());
    auto native = cli::load_on_target("native", kDpi);
    REQUIRE(native.has_value());
    REQUIRE(dpi::apply_blocklist(**native, kData + "blocklist.txt").has_value());
    for (const auto &frame : trace->frames) {
        auto ns = (*native)->time_per_run(frame, 3);
        REQUIRE(ns.has_value());
        CHECK(*ns > 0);
    }
    CHECK_FALSE((*native)->time_per_run(trace->frames[0], 0).has_value());
}

TEST_CASE("run_bench refuses zero repeats", "[bench]")
{
    auto trace = bench::read_trace(kData + "basic.pcap");
    REQUIRE(trace.has_value());
    bench::BenchOptions options;
    options.repeat = 0;
    auto report = bench::run_bench(*trace, {dpi_row("native")}, cli::load_on_target, options);
    REQUIRE_FALSE(report.has_value());
    CHECK(report.error().why.find("at least 1") != std::string::npos);
}
