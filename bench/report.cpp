#include "bench.hpp"

#include <fmt/format.h>

namespace harmony::bench {

namespace {

std::string ratio_text(const std::optional<double> &ratio)
{
    return ratio ? fmt::format("{:.2f}x", *ratio) : "-";
}

std::string markdown_row(const BenchRow &row)
{
    const BenchCase &c = row.what;
    if (row.skipped) {
        return fmt::format("| {} | {} | {} | | skipped: {} | | | | | | |\n", c.label, c.target, c.engine,
                           *row.skipped);
    }
    const Spread &s = row.spread;
    return fmt::format("| {} | {} | {} | {} × {} | {:.1f} | {:.1f}–{:.1f} | {:.1f} | {:.2f} | {:.2f} | {} | {} |\n",
                       c.label, c.target, c.engine, row.frames_timed, row.inner, s.median, s.min, s.max, s.stddev,
                       row.mpps, row.gbps, ratio_text(row.vs_baseline), ratio_text(row.vs_native));
}

nlohmann::json optional_json(const std::optional<double> &value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json row_json(const BenchRow &row)
{
    nlohmann::json j = {{"label", row.what.label},
                        {"target", row.what.target},
                        {"program", row.what.program},
                        {"engine", row.what.engine}};
    if (row.skipped) {
        j["skipped"] = *row.skipped;
        return j;
    }
    j["frames_timed"] = row.frames_timed;
    j["inner"] = row.inner;
    j["ns_per_packet"] = {{"median", row.spread.median},
                          {"min", row.spread.min},
                          {"max", row.spread.max},
                          {"stddev", row.spread.stddev},
                          {"runs", row.ns_per_packet}};
    j["mpps"] = row.mpps;
    j["gbps"] = row.gbps;
    j["vs_baseline"] = optional_json(row.vs_baseline);
    j["vs_native"] = optional_json(row.vs_native);
    return j;
}

} // namespace

std::string markdown(const BenchReport &report)
{
    std::string out = fmt::format(
        "Trace: {} ({} packets, {} bytes); CPU {}; {} warm-up + {} timed passes per row, taken in turns with "
        "the other rows' (pass k of every row before pass k+1 of any). Every row times the same "
        "thing: the frame copied in once, the program run R times on it back to back, events drained after the "
        "clock stops ('timed' = frames per pass × R; kernel rows: BPF_PROG_TEST_RUN's own clock, on an evenly "
        "spaced sample of the trace). ns/packet is the median over the passes of the mean over the frames.\n\n",
        report.trace, report.packets, report.bytes, report.cpu, report.options.warmup, report.options.repeat);
    out += "| row | target | engine | timed | ns/packet | min–max | stddev | Mpps | Gbps | vs baseline | "
           "vs native |\n";
    out += "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const auto &row : report.rows) {
        out += markdown_row(row);
    }
    return out;
}

nlohmann::json to_json(const BenchReport &report)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &row : report.rows) {
        rows.push_back(row_json(row));
    }
    return {{"trace", report.trace},
            {"packets", report.packets},
            {"bytes", report.bytes},
            {"cpu", report.cpu},
            {"warmup", report.options.warmup},
            {"repeat", report.options.repeat},
            {"inner", report.options.inner},
            {"rows", rows}};
}

} // namespace harmony::bench
