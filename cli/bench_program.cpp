#include "bench_program.hpp"

#include "commands.hpp"

#include "bench/bench.hpp"
#include "host-runtime/isa/conformance_data.hpp"
#include "host-runtime/isa/conformance_runner.hpp"
#include "host-runtime/verifier/verifier.hpp"
#include "host-runtime/vm.hpp"

#include <fmt/format.h>

#include <chrono>

namespace harmony::cli {

namespace {

struct Engine {
    std::string target; ///< as the DPI rows name it: host-interp, host
    std::string name;
    std::unique_ptr<vm::Executor> executor;
    std::vector<uint8_t> memory; ///< its own copy, which its runs may write
    std::vector<double> ns_per_run;
    bench::Spread spread;
    double vs_jit = 0; ///< median over the JIT's median
};

struct CheckedProgram {
    isa::ConformanceCase file;
    vm::LinkedProgram linked;
};

template <typename T> T or_fail(Result<T> result)
{
    if (!result) {
        fail_command(result.error().message());
    }
    return std::move(*result);
}

/// The file's program, verified as a program of no known type whose r1 points at the file's
/// memory: so it ends, and touches nothing but its memory and stack, on both engines.
Result<CheckedProgram> read_checked(const std::string &path)
{
    auto file = isa::read_conformance_file(path);
    if (!file) {
        return std::unexpected(file.error());
    }
    auto insns = isa::conformance_insns(*file);
    if (!insns) {
        return std::unexpected(insns.error());
    }
    verifier::Options rules;
    rules.raw_window = static_cast<uint32_t>(file->memory.size());
    auto report = verifier::verify(ProgramSection{file->name, "", 0, *insns}, {}, rules);
    if (!report.accepted) {
        const verifier::Refusal &refusal = *report.refusal;
        return fail("verify", path,
                    refusal.pc < 0 ? refusal.reason
                                   : fmt::format("insn {} ({}): {}", refusal.pc, refusal.insn, refusal.reason));
    }
    return CheckedProgram{std::move(*file), isa::link_conformance_program(std::move(*insns))};
}

Engine make_engine(const CheckedProgram &program, bool jit)
{
    auto executor = jit ? vm::make_jit(program.linked) : vm::make_interpreter(program.linked);
    return Engine{jit ? "host" : "host-interp", jit ? "Harmony x86-64 JIT" : "Harmony interpreter",
                  or_fail(std::move(executor)), program.file.memory, {}, {}};
}

/// r0 of one run on a fresh copy of the memory; both engines must agree, and with the file.
uint64_t checked_result(const std::string &path, const CheckedProgram &program, std::vector<Engine> &engines)
{
    std::vector<uint64_t> results;
    for (Engine &engine : engines) {
        std::vector<uint8_t> memory = program.file.memory;
        results.push_back(or_fail(isa::run_conformance_program(*engine.executor, memory)));
    }
    if (results[0] != results[1]) {
        fail_command(fmt::format("bench {}: the interpreter returned {:#x}, the JIT {:#x}", path, results[0],
                                 results[1]));
    }
    if (program.file.result && *program.file.result != results[0]) {
        fail_command(fmt::format("bench {}: the program returned {:#x}, the file expects {:#x}", path, results[0],
                                 *program.file.result));
    }
    return results[0];
}

double time_pass(Engine &engine, uint32_t runs)
{
    uint8_t *memory = engine.memory.empty() ? nullptr : engine.memory.data();
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < runs; ++i) {
        engine.executor->run(memory, engine.memory.size());
    }
    std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
    return elapsed.count() / runs;
}

/// Passes in turns, as the DPI rows: this machine's speed drifts over seconds.
void time_engines(std::vector<Engine> &engines, const ProgramBenchOptions &options)
{
    for (uint32_t pass = 0; pass < options.warmup + options.repeat; ++pass) {
        for (Engine &engine : engines) {
            double ns = time_pass(engine, options.runs);
            if (pass >= options.warmup) {
                engine.ns_per_run.push_back(ns);
            }
        }
    }
    for (Engine &engine : engines) {
        engine.spread = bench::spread_of(engine.ns_per_run);
    }
    for (Engine &engine : engines) {
        engine.vs_jit = engine.spread.median / engines.back().spread.median;
    }
}

nlohmann::json report_json(const CheckedProgram &program, const std::vector<Engine> &engines, uint64_t r0,
                           int cpu, const ProgramBenchOptions &options)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const Engine &engine : engines) {
        const bench::Spread &s = engine.spread;
        rows.push_back({{"target", engine.target},
                        {"engine", engine.name},
                        {"ns_per_run",
                         {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"stddev", s.stddev},
                          {"runs", engine.ns_per_run}}},
                        {"vs_jit", engine.vs_jit}});
    }
    return {{"program", options.path},     {"instructions", program.linked.insns.size()},
            {"memory", program.file.memory.size()}, {"r0", r0},
            {"cpu", cpu},                  {"repeat", options.repeat},
            {"runs_per_pass", options.runs}, {"rows", rows}};
}

std::string report_markdown(const CheckedProgram &program, const std::vector<Engine> &engines, uint64_t r0, int cpu,
                            const ProgramBenchOptions &options)
{
    std::string text = fmt::format("Program: {} ({} instructions, {} bytes of memory), r0 = {:#x}; CPU {}, {} "
                                   "passes of {} runs per engine\n\n",
                                   options.path, program.linked.insns.size(), program.file.memory.size(), r0, cpu,
                                   options.repeat, options.runs);
    text += "| row | engine | ns/run | min–max | stddev | vs JIT |\n| --- | --- | ---: | ---: | ---: | ---: |\n";
    for (const Engine &engine : engines) {
        const bench::Spread &s = engine.spread;
        text += fmt::format("| {} | {} | {:.1f} | {:.1f}–{:.1f} | {:.1f} | {:.2f}x |\n", engine.target, engine.name,
                            s.median, s.min, s.max, s.stddev, engine.vs_jit);
    }
    return text;
}

} // namespace

ProgramBenchReport run_program_bench(const ProgramBenchOptions &options)
{
    CheckedProgram program = or_fail(read_checked(options.path));
    std::vector<Engine> engines;
    engines.push_back(make_engine(program, false));
    engines.push_back(make_engine(program, true)); // last: the ratios' denominator
    uint64_t r0 = checked_result(options.path, program, engines);
    int cpu = or_fail(bench::pin_to_cpu(options.cpu));
    time_engines(engines, options);
    return {report_markdown(program, engines, r0, cpu, options), report_json(program, engines, r0, cpu, options)};
}

} // namespace harmony::cli
