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

} // namespace harmony::cli
