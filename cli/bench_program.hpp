// `harmony bench --program FILE`: one hand-written program timed on Harmony's interpreter
// and JIT, to measure the run loop itself (what a dispatch, a superinstruction or a taken
// jump costs on this CPU) apart from the DPI program, its maps and its trace.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace harmony::cli {

struct ProgramBenchOptions {
    std::string path;     ///< a .data file of the conformance suite's format (asm or raw, mem, result)
    uint32_t repeat = 5;  ///< timed passes per engine, taken in turns
    uint32_t warmup = 1;  ///< untimed passes first
    uint32_t runs = 64000; ///< runs of the program per pass
    int cpu = -1;
};

struct ProgramBenchReport {
    std::string markdown;
    nlohmann::json json;
};

/// Verifies the program (r1 = its memory, as rte_bpf's frame window), checks that both
/// engines return the same r0 (and the file's result, if it has one), times them and prints
/// ns per run and the interpreter/JIT ratio. Fails the command on any refusal or mismatch.
ProgramBenchReport run_program_bench(const ProgramBenchOptions &options);

} // namespace harmony::cli
