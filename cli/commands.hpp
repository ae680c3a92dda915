// The harmony subcommands. Each lives in its own file and only parses options, calls the
// library, and prints; a failing command throws CLI::RuntimeError(exit status) after
// printing its error on stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace harmony::cli {

void add_replay_command(CLI::App &app);
void add_probe_command(CLI::App &app);
void add_place_command(CLI::App &app);
void add_run_command(CLI::App &app);
void add_verify_command(CLI::App &app);
void add_bench_command(CLI::App &app);
void add_map_command(CLI::App &app);
void add_demo_command(CLI::App &app);

/// Prints "harmony: <message>" on stderr and ends the command with `status`.
[[noreturn]] void fail_command(const std::string &message, int status = 1);

} // namespace harmony::cli
