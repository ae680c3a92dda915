// Loads a program on a named target for offline work (replay, bench).
#pragma once

#include "common/target.hpp"

#include <memory>
#include <string>
#include <vector>

namespace harmony::cli {

/// The targets `replay` and `bench` accept, in the order the benchmark shows them.
std::vector<std::string> offline_targets();

Result<std::unique_ptr<LoadedProgram>> load_on_target(const std::string &target, const std::string &program_path);

/// Compiles and installs Hyperscan pattern files for programs that call hs_match, each `ID=FILE`
/// (a bare FILE is database 1); call before load_on_target. Databases are process-wide.
Result<void> install_patterns(const std::vector<std::string> &patterns);

} // namespace harmony::cli
