// Random BPF programs on which the JIT and the interpreter must agree, written as
// conformance-style assembly so a failing case can be printed and replayed. The same
// generator serves the seeded differential test and the libFuzzer harness: only the
// source of choices differs.
//
// Shape: straight-line code and forward jumps only (so every run ends), memory reached
// only through r1 (inside the given buffer) or r10 (inside an initialised stack window),
// helper calls to one test helper, optionally a bpf-to-bpf call into one subprogram.
#pragma once

#include "common/error.hpp"
#include "host-runtime/vm.hpp"

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace harmony::jit::testing {

/// Where the generator's decisions come from.
class ChoiceSource {
public:
    virtual ~ChoiceSource() = default;
    virtual uint64_t next() = 0;
    /// True once a finite source (fuzzer input) has nothing left; the program then ends.
    virtual bool exhausted() const { return false; }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
};

class SeededChoices final : public ChoiceSource {
public:
    explicit SeededChoices(uint64_t seed) : rng_(seed) {}
    uint64_t next() override { return rng_(); }

private:
    std::mt19937_64 rng_;
};

/// Reads choices from bytes, one byte per choice (eight for a wide one), zero when spent.
class ByteChoices final : public ChoiceSource {
public:
    explicit ByteChoices(std::span<const uint8_t> bytes) : bytes_(bytes) {}
    uint64_t next() override;
    bool exhausted() const override { return pos_ >= bytes_.size(); }

private:
    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
};

/// Layout every generated program keeps to.
inline constexpr uint32_t kMemorySize = 64;       ///< the buffer r1 points at
inline constexpr int16_t kPointerSlot = -8;       ///< [r10-8] keeps r1 across helper calls
inline constexpr int16_t kStackWindowLow = -72;   ///< random stack accesses stay in [-72, -8)
inline constexpr int32_t kTestHelperId = 1;       ///< the only helper generated programs call

struct GeneratedProgram {
    std::string text;            ///< assembly, for assemble() and for failure messages
    std::vector<uint8_t> memory; ///< initial contents of the r1 buffer (kMemorySize bytes)
};

/// Up to `max_units` random units (an instruction, or a short fixed sequence such as a
/// helper call with its register restore) in main, and as many in the subprogram if any.
GeneratedProgram generate_program(ChoiceSource &choices, size_t max_units = 48);

/// The deterministic helper generated programs call (helper id kTestHelperId); r1 must
/// point at 8 readable bytes.
uint64_t test_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);

/// Assembles, decodes and links `text`, resolving every helper call to test_helper.
Result<vm::LinkedProgram> link_test_program(const std::string &text);

/// The structural rules that make a program safe to run raw on a buffer of `memory_size`
/// bytes and deterministic across executors: only forward jumps; r1 and r10 never written
/// (except r1's restore from [r10-8] right after a helper call) and never used as values;
/// memory only at [r1+off] inside the buffer or [r10+off] inside the stack window, atomics
/// aligned; each function starts by saving r1 and initialising the window. Errors name
/// the pc and the rule broken.
Result<void> check_differential_program(const vm::LinkedProgram &program, uint32_t memory_size);

} // namespace harmony::jit::testing
