#include "differential.hpp"

#include <fmt/format.h>

namespace harmony::jit::testing {

Outcome run_on_copy(vm::Executor &executor, const std::vector<uint8_t> &memory)
{
    Outcome out;
    out.memory = memory;
    // Eight-byte alignment for atomics, as the buffer of a real run would have.
    std::vector<uint64_t> aligned((memory.size() + 7) / 8);
    auto *bytes = reinterpret_cast<uint8_t *>(aligned.data());
    std::copy(memory.begin(), memory.end(), bytes);
    out.r0 = executor.run(memory.empty() ? nullptr : bytes, memory.size());
    out.fault = vm::current_run().fault;
    std::copy(bytes, bytes + memory.size(), out.memory.begin());
    return out;
}

namespace {

std::optional<std::string> first_memory_difference(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
    for (size_t k = 0; k < a.size(); ++k) {
        if (a[k] != b[k]) {
            return fmt::format("memory[{}]: interpreter {:#04x}, jit {:#04x}", k, a[k], b[k]);
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> compare_executors(const vm::LinkedProgram &program, const std::vector<uint8_t> &memory)
{
    auto interpreter = vm::make_interpreter(program);
    auto jit = vm::make_jit(program);
    if (!interpreter || !jit) {
        return fmt::format("prepare: interpreter {}, jit {}", interpreter ? "ok" : interpreter.error().message(),
                           jit ? "ok" : jit.error().message());
    }
    const Outcome expected = run_on_copy(**interpreter, memory);
    const Outcome actual = run_on_copy(**jit, memory);
    if (expected.r0 != actual.r0) {
        return fmt::format("r0: interpreter {:#x}, jit {:#x}", expected.r0, actual.r0);
    }
    if (expected.fault != actual.fault) {
        return fmt::format("fault: interpreter '{}', jit '{}'", expected.fault, actual.fault);
    }
    return first_memory_difference(expected.memory, actual.memory);
}

} // namespace harmony::jit::testing
