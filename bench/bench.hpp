// The benchmark driver (issue 9): one trace through one program per row, every row on the
// same pinned CPU, warmed up and repeated, reported as ns/packet, Mpps and Gbps per core
// with the spread over the repeats and the ratios to the baseline and native rows — as a
// Markdown table, JSON and an SVG chart. Targets are loaded by a function the caller
// supplies (the CLI's load_on_target), so this library depends on none of them.
#pragma once

#include "common/target.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harmony::bench {

/// The frames every row runs, and where they came from (said in every output).
struct Trace {
    std::string source; ///< the capture path, or "a+b+c" when concatenated
    std::vector<Bytes> frames;
    uint64_t bytes = 0;
};

/// Reads one capture.
Result<Trace> read_trace(const std::string &path);
/// Reads several captures, one after the other, as one trace.
Result<Trace> concatenate_traces(const std::vector<std::string> &paths);
/// ../shared/corpus/bench.pcap when present, else the project's tests/data captures concatenated.
Result<Trace> default_trace();
/// ../shared/corpus/blocklist.txt when present, else tests/data/blocklist.txt.
std::string default_blocklist();
/// A file of the source tree this binary was built from (tests/data/...).
std::string project_file(const std::string &relative);

/// One row of the table: a program on a target, prepared (blocklist, patterns) before timing.
struct BenchCase {
    std::string label;   ///< "baseline", "native", "xdp", ...
    std::string target;  ///< as load_on_target names it
    std::string program; ///< BPF object path
    std::string engine;  ///< what actually executes it ("kernel JIT", "Harmony VM JIT (rte_bpf refused)", ...)
    std::function<Result<void>(LoadedProgram &)> prepare; ///< optional
    /// Runs per frame per timing call when it must differ from BenchOptions::inner.
    std::optional<uint32_t> inner;
    /// Time only this many frames, evenly spaced over the trace (every Nth). The kernel rows
    /// need it: a BPF_PROG_TEST_RUN call with repeat > 1 costs 10-40 ms of wall time here,
    /// and with repeat 1 the kernel's own clock reads (~30 ns) dominate a pass-through program.
    std::optional<size_t> sample;
};

using Loader = std::function<Result<std::unique_ptr<LoadedProgram>>(const std::string &target,
                                                                    const std::string &program)>;

struct BenchOptions {
    uint32_t repeat = 5;     ///< timed passes over the trace per row
    uint32_t warmup = 1;     ///< untimed passes first (caches, JIT pages, the DPI flow map)
    uint32_t inner = 64;     ///< runs of each frame per timed call, to amortise the clock
    int cpu = -1;            ///< the CPU every row is pinned to; -1: the one this thread is on
    /// Called with (row label, passes done over all rows, passes in all) after every pass.
    std::function<void(const std::string &, size_t, size_t)> progress;
};

/// The median and spread of one row's ns/packet over the repeats.
struct Spread {
    double median = 0, min = 0, max = 0, stddev = 0;
};

/// The median, extremes and standard deviation of one row's figures.
Spread spread_of(std::vector<double> values);
/// Pins this thread to `cpu` (-1: the one it runs on); returns the CPU.
Result<int> pin_to_cpu(int cpu);

struct BenchRow {
    BenchCase what;
    std::optional<std::string> skipped; ///< why the row has no figures (load refused, ...)
    std::vector<double> ns_per_packet;  ///< one per repeat
    size_t frames_timed = 0;            ///< per pass: the whole trace, or the sample
    uint32_t inner = 0;                 ///< runs of each frame per timing call
    Spread spread;
    double mpps = 0;             ///< at the median
    double gbps = 0;             ///< trace bytes at the median rate
    std::optional<double> vs_baseline; ///< median / baseline median
    std::optional<double> vs_native;   ///< median / native median
};

struct BenchReport {
    std::string trace;
    size_t packets = 0;
    uint64_t bytes = 0;
    int cpu = -1;
    BenchOptions options;
    std::vector<BenchRow> rows;
};

/// Runs every case on the trace, every row loaded first and the rows' passes taken in
/// turns. A row whose program fails to load or prepare is kept, skipped with the reason; a
/// failure while timing ends the run with that error.
Result<BenchReport> run_bench(const Trace &trace, const std::vector<BenchCase> &cases, const Loader &load,
                              const BenchOptions &options);

std::string markdown(const BenchReport &report);
nlohmann::json to_json(const BenchReport &report);
/// A grouped horizontal bar chart (ns/packet and Mpps per row), self-contained SVG.
std::string svg(const BenchReport &report);

} // namespace harmony::bench
