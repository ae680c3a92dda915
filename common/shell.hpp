// Runs a shell command line and collects what it printed: for the tools Harmony drives
// around its own work (ip, nsenter, the harmony binary in tests), not on any packet path.
#pragma once

#include <string>

namespace harmony {

struct ShellResult {
    int status = -1;    ///< exit status; -1 when the command could not run or was killed
    std::string output; ///< stdout and stderr, interleaved as printed
};

ShellResult run_shell(const std::string &command);

} // namespace harmony
