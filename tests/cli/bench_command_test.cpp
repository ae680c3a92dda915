// `harmony bench` as a user runs it, on a small trace: every row in the table, valid JSON
// with figures (or a reason) per row, a well-formed SVG; bad input exits non-zero with
// what, which and why. Runs the kernel (BPF_PROG_TEST_RUN) and DPDK rows for real.
#include "tests/support/netns.hpp"
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using harmony::test::count;
using harmony::test::run_command;

namespace {

const std::string kHarmony = std::string(HARMONY_BINARY_DIR) + "/cli/harmony";
const std::string kTrace = std::string(HARMONY_SOURCE_DIR) + "/tests/data/basic.pcap";

std::string read_file(const std::filesystem::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("hx-bench-" + std::to_string(getpid()));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() { std::filesystem::remove_all(path); }
};

/// A .data file in the temporary directory.
std::string write_program(const TempDir &dir, const std::string &name, const std::string &text)
{
    auto path = dir.path / name;
    std::ofstream(path) << text;
    return path.string();
}

} // namespace

TEST_CASE("harmony bench prints every row, JSON and an SVG chart", "[cli][bench]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    TempDir dir;
    auto json_path = dir.path / "bench.json";
    auto svg_path = dir.path / "bench.svg";
    auto result = run_command(kHarmony + " bench --pcap " + kTrace + " --repeat 2 --kernel-sample 20 --json " +
                              json_path.string() + " --svg " + svg_path.string() + " 2>&1");
    INFO(result.output);
    REQUIRE(result.status == 0);
    for (std::string row : {"| baseline | xdp", "| native | native", "| xdp | xdp", "| dpdk | dpdk",
                            "| dpdk-interp | dpdk-interp", "| host | host", "| host-interp | host-interp"}) {
        CHECK(result.output.find(row) != std::string::npos);
    }
    CHECK(result.output.find("rte_bpf refused dpi.bpf.o") != std::string::npos); // the dpdk rows say their engine
    CHECK(result.output.find("incl. mbuf alloc, copy, ring tx/rx") != std::string::npos); // and what they time
    CHECK(result.output.find("Trace: " + kTrace + " (118 packets") != std::string::npos);

    auto report = nlohmann::json::parse(read_file(json_path));
    CHECK(report["packets"] == 118);
    CHECK(report["repeat"] == 2);
    REQUIRE(report["rows"].size() >= 7);
    for (const auto &row : report["rows"]) {
        INFO(row.dump());
        REQUIRE_FALSE(row.contains("skipped"));
        CHECK(row["ns_per_packet"]["runs"].size() == 2);
        CHECK(row["ns_per_packet"]["median"].get<double>() > 0);
        CHECK(row["ns_per_packet"]["min"].get<double>() <= row["ns_per_packet"]["max"].get<double>());
        CHECK(row["mpps"].get<double>() > 0);
        // Every row runs each frame the same number of times; the kernel rows on a sample of 20 frames.
        CHECK(row["inner"] == 64);
        CHECK(row["frames_timed"] == (row["target"] == "xdp" ? 20 : 118));
        CHECK(row["vs_baseline"].is_number());
        CHECK(row["vs_native"].is_number());
    }
    CHECK(report["rows"][0]["vs_baseline"].get<double>() == Approx(1.0));

    std::string svg = read_file(svg_path);
    CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(svg.ends_with("</svg>\n"));
    CHECK(count(svg, "<rect") == 3 + 2 * report["rows"].size()); // background, legend, two bars per row
    CHECK(count(svg, "<text") == count(svg, "</text>"));
}

TEST_CASE("harmony bench --json - prints JSON only; rows can be chosen", "[cli][bench]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    std::string bench = kHarmony + " bench --pcap " + kTrace + " --repeat 1 --rows native,host --json -";
    auto result = run_command("(" + bench + " 2>/dev/null)");
    REQUIRE(result.status == 0);
    auto report = nlohmann::json::parse(result.output);
    REQUIRE(report["rows"].size() == 2);
    CHECK(report["rows"][0]["label"] == "native");
    CHECK(report["rows"][1]["vs_native"].is_number());
    CHECK(report["rows"][1]["vs_baseline"].is_null()); // no baseline row was run
}

TEST_CASE("harmony bench refuses bad input with a clear error", "[cli][bench]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    auto missing = run_command(kHarmony + " bench --pcap /nonexistent.pcap 2>&1");
    CHECK(missing.status != 0);
    CHECK(missing.output.find("/nonexistent.pcap") != std::string::npos);
    auto zero = run_command(kHarmony + " bench --pcap " + kTrace + " --repeat 0 2>&1");
    CHECK(zero.status != 0);
    CHECK(zero.output.find("--repeat") != std::string::npos);
    auto row = run_command(kHarmony + " bench --pcap " + kTrace + " --rows nosuch 2>&1");
    CHECK(row.status != 0);
    CHECK(row.output.find("nosuch") != std::string::npos);
    auto blocklist = run_command(kHarmony + " bench --pcap " + kTrace + " --rows host --blocklist " + kTrace + " 2>&1");
    CHECK(blocklist.status == 0); // the row is kept, skipped with the reason
    CHECK(blocklist.output.find("skipped: ") != std::string::npos);
}

TEST_CASE("harmony bench --program times one program on the interpreter and the JIT", "[cli][bench]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    TempDir dir;
    // Sums the 8 bytes of memory in a bounded loop: 2+3+...+9 = 44.
    auto program = write_program(dir, "sum.data",
                                 "-- asm\nmov %r0, 0\nmov %r2, 0\njge %r2, 8, +6\nmov %r3, %r1\nadd %r3, %r2\n"
                                 "ldxb %r4, [%r3]\nadd %r0, %r4\nadd %r2, 1\nja -7\nexit\n"
                                 "-- mem\n02 03 04 05 06 07 08 09\n-- result\n0x2c\n");
    auto result = run_command("(" + kHarmony + " bench --program " + program + " --repeat 2 --inner 1 --json -)");
    INFO(result.output);
    REQUIRE(result.status == 0);
    auto report = nlohmann::json::parse(result.output);
    CHECK(report["r0"] == 44);
    CHECK(report["instructions"] == 10);
    CHECK(report["runs_per_pass"] == 1000);
    REQUIRE(report["rows"].size() == 2);
    CHECK(report["rows"][0]["target"] == "host-interp");
    CHECK(report["rows"][1]["target"] == "host");
    for (const auto &row : report["rows"]) {
        CHECK(row["ns_per_run"]["runs"].size() == 2);
        CHECK(row["ns_per_run"]["min"].get<double>() > 0);
        CHECK(row["ns_per_run"]["min"].get<double>() <= row["ns_per_run"]["max"].get<double>());
    }
    CHECK(report["rows"][1]["vs_jit"].get<double>() == Approx(1.0));
    CHECK(report["rows"][0]["vs_jit"].get<double>() ==
          Approx(report["rows"][0]["ns_per_run"]["median"].get<double>() /
                 report["rows"][1]["ns_per_run"]["median"].get<double>()));

    // The run-loop programs the README cites stay valid: verified, and equal on both engines.
    for (const auto &entry : std::filesystem::directory_iterator(std::string(HARMONY_SOURCE_DIR) + "/bench/programs")) {
        auto table = run_command(kHarmony + " bench --program " + entry.path().string() + " --repeat 1 --inner 1 2>&1");
        INFO(entry.path() << "\n" << table.output);
        CHECK(table.status == 0);
        CHECK(table.output.find("| host-interp | Harmony interpreter |") != std::string::npos);
    }
}

TEST_CASE("harmony bench --program refuses unsafe programs, wrong results and other modes", "[cli][bench]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    TempDir dir;
    auto bench = [](const std::string &arguments) { return run_command(kHarmony + " bench " + arguments + " 2>&1"); };
    auto past_memory = bench("--program " + write_program(dir, "past.data", "-- asm\nldxw %r0, [%r1+6]\nexit\n"
                                                                             "-- mem\n00 01 02 03 04 05 06 07\n"));
    CHECK(past_memory.status != 0);
    CHECK(past_memory.output.find("verify") != std::string::npos);
    CHECK(past_memory.output.find("insn 0") != std::string::npos);
    auto wrong = bench("--program " + write_program(dir, "wrong.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x2a\n"));
    CHECK(wrong.status != 0);
    CHECK(wrong.output.find("returned 0x1, the file expects 0x2a") != std::string::npos);
    auto helper = bench("--program " + write_program(dir, "helper.data", "-- asm\ncall 7\nexit\n"));
    CHECK(helper.status != 0);
    CHECK(helper.output.find("helper 7") != std::string::npos);
    auto missing = bench("--program /nonexistent.data");
    CHECK(missing.status != 0);
    CHECK(missing.output.find("/nonexistent.data") != std::string::npos);
    auto live = bench("--program " + write_program(dir, "ok.data", "-- asm\nmov %r0, 0\nexit\n") + " --live");
    CHECK(live.status != 0);
    CHECK(live.output.find("excludes") != std::string::npos);
}

TEST_CASE("harmony bench --live forwards the trace through the DUT on each target", "[cli][bench][live]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    auto errors = std::filesystem::temp_directory_path() / ("hx-live-" + std::to_string(getpid()) + ".err");
    auto result = run_command("(" + kHarmony + " bench --live --seconds 0.5 --live-targets xdp,host --pcap " + kTrace +
                              " --json - 2>" + errors.string() + ")");
    INFO(result.output + read_file(errors));
    std::filesystem::remove(errors);
    REQUIRE(result.status == 0);
    auto report = nlohmann::json::parse(result.output);
    REQUIRE(report["live"].size() == 2);
    for (const auto &row : report["live"]) {
        INFO(row.dump());
        REQUIRE_FALSE(row.contains("skipped"));
        CHECK(row["sent"].get<uint64_t>() > 0);
        CHECK(row["judged"].get<uint64_t>() > 0);
        CHECK(row["received"].get<uint64_t>() > 0);
        CHECK(row["received"].get<uint64_t>() <= row["judged"].get<uint64_t>());
        CHECK(row["passed"].get<uint64_t>() <= row["judged"].get<uint64_t>());
        CHECK(row["received"].get<uint64_t>() == row["passed"].get<uint64_t>()); // dropped by the DPI, never lost
        CHECK(row["judged_pps"].get<double>() > 0);
    }
    CHECK(report["live"][0]["target"] == "xdp");
}
