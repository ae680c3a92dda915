// Runs one program on the interpreter and on the JIT, each on its own copy of the same
// memory, and says how the outcomes differ (r0, the fault, the memory), if at all.
#pragma once

#include "host-runtime/vm.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace harmony::jit::testing {

struct Outcome {
    uint64_t r0 = 0;
    std::string fault;
    std::vector<uint8_t> memory;
};

/// The outcome of one run of `executor` on a copy of `memory`.
Outcome run_on_copy(vm::Executor &executor, const std::vector<uint8_t> &memory);

/// Null when both executors agree; else what differs, e.g. "r0: interpreter 0x1, jit 0x2".
/// A program either executor refuses to prepare is reported too.
std::optional<std::string> compare_executors(const vm::LinkedProgram &program, const std::vector<uint8_t> &memory);

} // namespace harmony::jit::testing
