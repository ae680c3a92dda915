// Hyperscan for BPF programs: pattern files compiled into numbered databases, and the
// Harmony helpers that run them over memory a verified program hands over — hs_match for
// one buffer, hs_match_stream / hs_stream_close for a connection's segments in order.
// Databases can be replaced while packets are being matched; scanning allocates nothing
// after the first packet of each thread (per-thread scratch, grown once per database).
#pragma once

#include "common/error.hpp"
#include "helpers/helper.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::hyperscan {

/// Helper ids, as bpf/harmony_helpers.h declares them.
inline constexpr uint32_t kHsMatch = helpers::kHarmonyBase + 1;
inline constexpr uint32_t kHsMatchStream = helpers::kHarmonyBase + 2;
inline constexpr uint32_t kHsStreamClose = helpers::kHarmonyBase + 3;

/// Database ids a program may name: 0 .. kMaxDatabases - 1.
inline constexpr uint32_t kMaxDatabases = 64;

/// One line of a pattern file: `ID:/regex/flags`.
struct Pattern {
    uint32_t id = 0;     ///< what hs_match returns when this pattern matches first (> 0)
    std::string regex;
    unsigned flags = 0;  ///< HS_FLAG_* from the letters i m s H 8 W
    size_t line = 0;     ///< 1-based line in the pattern file, for error messages
};

/// Parses pattern text (`source` names it in errors). Blank lines and lines starting with
/// '#' are skipped.
Result<std::vector<Pattern>> parse_patterns(std::string_view text, const std::string &source);

/// Compiles a pattern file and installs it as database `db_id` (replacing any database of
/// that id atomically while packets are being processed); registers the helpers on first use.
/// Errors name the file, the line and Hyperscan's message.
Result<void> install_pattern_file(uint32_t db_id, const std::string &path);

/// The same from text already in memory.
Result<void> install_patterns(uint32_t db_id, std::string_view text, const std::string &source);

/// `ID=FILE` (as `harmony replay --patterns` takes it), or a bare FILE for database 1.
Result<void> install_pattern_option(const std::string &option);

/// Registers hs_match, hs_match_stream and hs_stream_close with helpers::register_helper.
/// Idempotent; must be called before a program calling them is loaded or verified.
Result<void> register_helpers();

/// What hs_match does for a program: the id of the first matching pattern (earliest end),
/// 0 for none, a negative errno (-ENOENT: no such database).
int64_t match(uint32_t db_id, std::span<const uint8_t> data);

/// What hs_match_stream does: scans `data` as the next bytes of the stream named by
/// (db_id, key), opening it on first use. Returns the id of the first pattern matched in
/// the stream so far (also when it matched in an earlier segment), 0, or a negative errno.
int64_t match_stream(uint32_t db_id, std::span<const uint8_t> key, std::span<const uint8_t> data);

/// What hs_stream_close does: frees the stream (0), or -ENOENT when there is none.
int64_t close_stream(uint32_t db_id, std::span<const uint8_t> key);

/// Streams untouched for longer than this are freed (default 120 s); checked as streams are used.
void set_stream_max_age(std::chrono::milliseconds age);

/// Frees every stream older than the maximum age now; returns how many.
size_t expire_streams();

/// Streams currently open.
size_t open_streams();

/// Frees every stream (e.g. between two replays of one capture).
void close_all_streams();

} // namespace harmony::hyperscan
