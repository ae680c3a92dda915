// Offline replay: every frame of a capture through one loaded program, one line per
// frame in the .expect format (index TAB verdict TAB proto TAB name), so any target can be
// checked against an expectation file and against every other target.
#pragma once

#include "error.hpp"
#include "target.hpp"

#include <functional>
#include <string>
#include <vector>

namespace harmony {

struct ReplayLine {
    size_t index = 0;
    std::string verdict; ///< PASS, DROP, TX, REDIRECT
    std::string proto;   ///< http, tls, dns or -
    std::string name;    ///< the extracted name or -

    std::string text() const; ///< the tab-separated line, no newline
    bool operator==(const ReplayLine &) const = default;
};

/// The replay line for what one frame did: the verdict from the XDP action, proto and
/// name from the DPI event the program emitted for it (if any).
Result<ReplayLine> replay_line(size_t index, const PacketOutcome &outcome);

/// Runs the frames in order through the program (its maps, e.g. the flow map, persist
/// across frames). `progress(done, total)` is called now and then when given.
Result<std::vector<ReplayLine>> replay(LoadedProgram &program, const std::vector<Bytes> &frames,
                                       const std::function<void(size_t, size_t)> &progress = {});

/// A replay and the frames it sent on: each frame the program passed, transmitted or
/// redirected, as the program left it, in capture order.
struct ReplayRun {
    std::vector<ReplayLine> lines;
    std::vector<Bytes> sent;
};

/// As replay(), keeping the frames sent on (for --output-pcap).
Result<ReplayRun> replay_sent_frames(LoadedProgram &program, const std::vector<Bytes> &frames,
                                     const std::function<void(size_t, size_t)> &progress = {});

/// Reads a .expect file.
Result<std::vector<ReplayLine>> read_expect(const std::string &path);

/// Every difference between what a replay printed and what was expected, one message
/// each ("packet 17: expected DROP http example.com, got PASS - -"); empty when equal.
std::vector<std::string> compare_replay(const std::vector<ReplayLine> &actual, const std::vector<ReplayLine> &expected);

} // namespace harmony
