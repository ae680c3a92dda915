// Test scaffolding: commands run to completion, and processes run in the background (in a
// network namespace if asked) with their output in a file, waited on and signalled as a
// user would; plus where the harmony binary and the DPI program are.
#pragma once

#include "common/shell.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace harmony::test {

inline const std::string kHarmony = std::string(HARMONY_BINARY_DIR) + "/cli/harmony";
inline const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";
inline const std::string kBlocklist = std::string(HARMONY_SOURCE_DIR) + "/tests/data/blocklist.txt"; // facebook.com..

/// Whether the harmony binary and dpi.bpf.o are built (tests that run them skip otherwise).
bool harmony_built();

using CommandResult = ShellResult;

/// Runs `command` with /bin/sh, stdout and stderr together.
inline CommandResult run_command(const std::string &command)
{
    return run_shell(command);
}

std::string read_file(const std::filesystem::path &path);
bool contains(const std::string &text, const std::string &part);
/// How many times `part` occurs in `text`, overlapping occurrences included.
size_t count(const std::string &text, const std::string &part);

/// `command` run by /bin/sh (exec'd, so pid() is the command's own process), inside the
/// namespace `ns` unless empty, stdout and stderr to `output`. When destroyed still running,
/// it gets SIGTERM (SIGKILL if that does not end it); the output file is removed.
class Background {
public:
    Background(const std::string &ns, const std::string &command, std::filesystem::path output);
    Background(const Background &) = delete;
    Background &operator=(const Background &) = delete;
    ~Background();

    pid_t pid() const { return pid_; }
    std::string output() const { return read_file(output_); }
    /// Waits until the output shows `text`; false on timeout or when the process ended without it.
    bool wait_for(const std::string &text, std::chrono::seconds limit = std::chrono::seconds(30));
    void signal(int sig) const;
    /// Waits up to `limit` for the process to end: its exit code, 128 + the signal that killed
    /// it, or -1 on timeout.
    int finish(std::chrono::seconds limit = std::chrono::seconds(120));
    /// SIGINT, as a user ends a run; then finish().
    int interrupt(std::chrono::seconds limit = std::chrono::seconds(30));

private:
    bool reaped(int options);

    std::filesystem::path output_;
    pid_t pid_ = -1;
    int exit_ = -1;
    bool ended_ = false;
};

} // namespace harmony::test
