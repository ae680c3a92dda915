#include "replay.hpp"

#include "dpi_control.hpp"

#include <fmt/format.h>
#include <fstream>
#include <linux/bpf.h>
#include <sstream>

namespace harmony {

std::string ReplayLine::text() const
{
    return fmt::format("{}\t{}\t{}\t{}", index, verdict, proto, name);
}

namespace {

std::string verdict_text(uint32_t action)
{
    switch (action) {
    case XDP_ABORTED:
    case XDP_DROP: return "DROP";
    case XDP_PASS: return "PASS";
    case XDP_TX: return "TX";
    case XDP_REDIRECT: return "REDIRECT";
    default: return fmt::format("ACTION{}", action);
    }
}

} // namespace

Result<ReplayLine> replay_line(size_t index, const PacketOutcome &outcome)
{
    ReplayLine line{index, verdict_text(outcome.action), "-", "-"};
    if (outcome.events.size() > 1) {
        return fail("replay", fmt::format("packet {}", index),
                    fmt::format("the program emitted {} events for one packet", outcome.events.size()));
    }
    if (outcome.events.size() == 1) {
        auto event = dpi::decode_event(outcome.events.front());
        if (!event) {
            return fail("replay", fmt::format("packet {}", index), event.error().message());
        }
        line.proto = dpi::proto_name(event->proto);
        line.name = event->name;
    }
    return line;
}

namespace {

Result<void> replay_into(LoadedProgram &program, const std::vector<Bytes> &frames,
                         const std::function<void(size_t, size_t)> &progress, ReplayRun &run, bool keep_sent)
{
    run.lines.reserve(frames.size());
    for (size_t i = 0; i < frames.size(); i++) {
        auto outcome = program.run(frames[i]);
        if (!outcome) {
            return fail("replay", fmt::format("packet {} on {}", i, program.target()), outcome.error().message());
        }
        auto line = replay_line(i, *outcome);
        if (!line) {
            return std::unexpected(line.error());
        }
        run.lines.push_back(std::move(*line));
        if (keep_sent && outcome->sends_frame_on()) {
            run.sent.push_back(std::move(outcome->frame));
        }
        if (progress && (i % 256 == 0 || i + 1 == frames.size())) {
            progress(i + 1, frames.size());
        }
    }
    return {};
}

} // namespace

Result<std::vector<ReplayLine>> replay(LoadedProgram &program, const std::vector<Bytes> &frames,
                                       const std::function<void(size_t, size_t)> &progress)
{
    ReplayRun run;
    if (auto ok = replay_into(program, frames, progress, run, false); !ok) {
        return std::unexpected(ok.error());
    }
    return std::move(run.lines);
}

Result<ReplayRun> replay_sent_frames(LoadedProgram &program, const std::vector<Bytes> &frames,
                                     const std::function<void(size_t, size_t)> &progress)
{
    ReplayRun run;
    if (auto ok = replay_into(program, frames, progress, run, true); !ok) {
        return std::unexpected(ok.error());
    }
    return run;
}

Result<std::vector<ReplayLine>> read_expect(const std::string &path)
{
    std::ifstream in(path);
    if (!in) {
        return fail("read expectations", path, "cannot open");
    }
    std::vector<ReplayLine> lines;
    std::string text;
    for (size_t number = 1; std::getline(in, text); number++) {
        if (text.empty()) {
            continue;
        }
        std::istringstream fields(text);
        ReplayLine line;
        if (!(fields >> line.index >> line.verdict >> line.proto >> line.name)) {
            return fail("read expectations", fmt::format("{} line {}", path, number),
                        "expected 'index TAB verdict TAB proto TAB name'");
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

std::vector<std::string> compare_replay(const std::vector<ReplayLine> &actual, const std::vector<ReplayLine> &expected)
{
    std::vector<std::string> differences;
    auto show = [](const ReplayLine &l) { return fmt::format("{} {} {}", l.verdict, l.proto, l.name); };
    for (size_t i = 0; i < std::max(actual.size(), expected.size()); i++) {
        if (i >= actual.size()) {
            differences.push_back(fmt::format("packet {}: expected {}, got nothing", i, show(expected[i])));
        } else if (i >= expected.size()) {
            differences.push_back(fmt::format("packet {}: not expected, got {}", i, show(actual[i])));
        } else if (!(actual[i] == expected[i])) {
            differences.push_back(fmt::format("packet {}: expected {}, got {}", i, show(expected[i]), show(actual[i])));
        }
    }
    return differences;
}

} // namespace harmony
