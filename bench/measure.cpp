#include "bench.hpp"

#include "common/pcap.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sched.h>

namespace harmony::bench {

Result<Trace> read_trace(const std::string &path)
{
    auto frames = read_pcap(path);
    if (!frames) {
        return std::unexpected(frames.error());
    }
    if (frames->empty()) {
        return fail("read trace", path, "the capture holds no packets");
    }
    Trace trace{path, std::move(*frames), 0};
    for (const auto &frame : trace.frames) {
        trace.bytes += frame.size();
    }
    return trace;
}

Result<Trace> concatenate_traces(const std::vector<std::string> &paths)
{
    Trace all;
    for (const auto &path : paths) {
        auto one = read_trace(path);
        if (!one) {
            return std::unexpected(one.error());
        }
        all.source += (all.source.empty() ? "" : "+") + path;
        all.bytes += one->bytes;
        std::move(one->frames.begin(), one->frames.end(), std::back_inserter(all.frames));
    }
    if (all.frames.empty()) {
        return fail("read trace", "(none)", "no capture given");
    }
    return all;
}

Result<int> pin_to_cpu(int cpu)
{
    if (cpu < 0) {
        cpu = sched_getcpu();
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // Every row on one CPU: the DPDK EAL re-pins the thread when it starts, so this is
    // done again once every row is loaded.
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        return fail("pin", fmt::format("cpu {}", cpu), std::strerror(errno));
    }
    return cpu;
}

Spread spread_of(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    Spread s;
    size_t n = values.size();
    s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    s.min = values.front();
    s.max = values.back();
    double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(n);
    double squares = 0;
    for (double v : values) {
        squares += (v - mean) * (v - mean);
    }
    s.stddev = std::sqrt(squares / static_cast<double>(n));
    return s;
}

namespace {

/// The frames a row times: all, or `sample` of them evenly spaced, so the mix of the trace is kept.
std::vector<size_t> frames_to_time(size_t frames, std::optional<size_t> sample)
{
    size_t count = sample ? std::clamp<size_t>(*sample, 1, frames) : frames;
    std::vector<size_t> indices(count);
    for (size_t i = 0; i < count; i++) {
        indices[i] = i * frames / count;
    }
    return indices;
}

/// One pass over the frames; the sum of each frame's mean time, divided by the frames.
Result<double> time_pass(LoadedProgram &program, const Trace &trace, const std::vector<size_t> &frames,
                         uint32_t inner)
{
    double total = 0;
    for (size_t index : frames) {
        auto ns = program.time_per_run(trace.frames[index], inner);
        if (!ns) {
            return std::unexpected(ns.error());
        }
        total += *ns;
    }
    return total / static_cast<double>(frames.size());
}

Result<std::unique_ptr<LoadedProgram>> load_and_prepare(const BenchCase &c, const Loader &load)
{
    auto program = load(c.target, c.program);
    if (!program) {
        return std::unexpected(program.error());
    }
    if (c.prepare) {
        if (auto ok = c.prepare(**program); !ok) {
            return std::unexpected(ok.error());
        }
    }
    return program;
}

/// Overall progress: every row counts warm-up + repeat passes, skipped rows included.
class PassCounter {
public:
    PassCounter(const BenchOptions &options, size_t rows)
        : options_(options), per_row_(options.warmup + options.repeat), all_(rows * per_row_)
    {
    }
    void pass_done(const std::string &label) { advance(label, 1); }
    void row_skipped(const std::string &label) { advance(label, per_row_); }

private:
    void advance(const std::string &label, size_t passes)
    {
        done_ += passes;
        if (options_.progress) {
            options_.progress(label, done_, all_);
        }
    }
    const BenchOptions &options_;
    size_t per_row_;
    size_t all_;
    size_t done_ = 0;
};

/// A row being measured: its program, loaded once, and the frames it times.
struct RowInProgress {
    BenchRow row;
    std::unique_ptr<LoadedProgram> program;
    std::vector<size_t> frames;
};

/// One pass of one row (a warm-up pass runs each frame once and is not kept).
Result<void> run_pass(RowInProgress &r, const Trace &trace, bool warmup, PassCounter &counter)
{
    auto ns = time_pass(*r.program, trace, r.frames, warmup ? 1 : r.row.inner);
    if (!ns) {
        return std::unexpected(ns.error());
    }
    if (!warmup) {
        r.row.ns_per_packet.push_back(*ns);
    }
    counter.pass_done(r.row.what.label);
    return {};
}

void summarise(BenchRow &row, const Trace &trace)
{
    row.spread = spread_of(row.ns_per_packet);
    double packets = static_cast<double>(trace.frames.size());
    row.mpps = row.spread.median > 0 ? 1e3 / row.spread.median : 0;
    row.gbps = row.spread.median > 0 ? static_cast<double>(trace.bytes) * 8 / (row.spread.median * packets) : 0;
}

/// Every row's passes, interleaved: pass k of every row runs before pass k+1 of any, so a
/// change in the machine's speed during the run (a VM's neighbours, the clock) falls on
/// every row alike and the ratios between rows hold even where the absolute figures drift.
Result<void> measure_rows(std::vector<RowInProgress> &rows, const Trace &trace, const BenchOptions &options,
                          int cpu, PassCounter &counter)
{
    if (auto pinned = pin_to_cpu(cpu); !pinned) {
        return std::unexpected(pinned.error());
    }
    for (size_t pass = 0; pass < options.warmup + options.repeat; pass++) {
        for (auto &r : rows) {
            if (r.program) {
                if (auto ran = run_pass(r, trace, pass < options.warmup, counter); !ran) {
                    return ran;
                }
            }
        }
    }
    for (auto &r : rows) {
        if (r.program) {
            summarise(r.row, trace);
        }
    }
    return {};
}

std::optional<double> median_of(const std::vector<BenchRow> &rows, const std::string &label)
{
    for (const auto &row : rows) {
        if (row.what.label == label && !row.skipped && row.spread.median > 0) {
            return row.spread.median;
        }
    }
    return std::nullopt;
}

void add_ratios(std::vector<BenchRow> &rows)
{
    auto baseline = median_of(rows, "baseline");
    auto native = median_of(rows, "native");
    for (auto &row : rows) {
        if (row.skipped) {
            continue;
        }
        if (baseline) {
            row.vs_baseline = row.spread.median / *baseline;
        }
        if (native) {
            row.vs_native = row.spread.median / *native;
        }
    }
}

} // namespace

Result<BenchReport> run_bench(const Trace &trace, const std::vector<BenchCase> &cases, const Loader &load,
                              const BenchOptions &options)
{
    if (options.repeat == 0 || options.inner == 0) {
        return fail("bench", "options", "--repeat and the inner run count must be at least 1");
    }
    auto cpu = pin_to_cpu(options.cpu);
    if (!cpu) {
        return std::unexpected(cpu.error());
    }
    BenchReport report{trace.source, trace.frames.size(), trace.bytes, *cpu, options, {}};
    PassCounter counter(options, cases.size());
    std::vector<RowInProgress> rows;
    for (const auto &c : cases) {
        RowInProgress r{BenchRow{c, std::nullopt, {}, 0, 0, {}, 0, 0, std::nullopt, std::nullopt}, nullptr, {}};
        if (auto program = load_and_prepare(c, load); !program) {
            r.row.skipped = program.error().message();
            counter.row_skipped(c.label);
        } else {
            r.program = std::move(*program);
            r.frames = frames_to_time(trace.frames.size(), c.sample);
            r.row.frames_timed = r.frames.size();
            r.row.inner = c.inner.value_or(options.inner);
        }
        rows.push_back(std::move(r));
    }
    if (auto measured = measure_rows(rows, trace, options, *cpu, counter); !measured) {
        return std::unexpected(measured.error());
    }
    for (auto &r : rows) {
        report.rows.push_back(std::move(r.row));
    }
    add_ratios(report.rows);
    return report;
}

} // namespace harmony::bench
