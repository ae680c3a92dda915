#include "host-runtime/isa/conformance_runner.hpp"

namespace harmony::isa {
namespace {

// Unwinding is a tail call into a program that returns 0: the vm contract already says how
// an executor ends the current program after a helper, so every executor supports it.
const vm::LinkedProgram &unwound_program()
{
    static const vm::LinkedProgram program = [] {
        vm::LinkedProgram p;
        p.insns.push_back(Insn{.op = Op::Mov, .is64 = true, .dst = 0, .imm = 0});
        p.insns.push_back(Insn{.op = Op::Exit});
        return p;
    }();
    return program;
}

uint64_t unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t)
{
    if (r1 == 0) {
        vm::current_run().tail_call = &unwound_program();
    }
    return r1;
}

} // namespace

vm::LinkedProgram link_conformance_program(std::vector<Insn> insns)
{
    vm::LinkedProgram program;
    program.helper_by_slot.assign(insns.size(), nullptr);
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        if (insns[pc].op == Op::Call && insns[pc].imm == kConformanceUnwindHelper) {
            program.helper_by_slot[pc] = unwind;
        }
    }
    program.insns = std::move(insns);
    program.helper_by_id = [](uint64_t id) -> helpers::HelperFn {
        return id == kConformanceUnwindHelper ? unwind : nullptr;
    };
    return program;
}

Result<uint64_t> run_conformance_program(vm::Executor &executor, std::vector<uint8_t> &memory)
{
    uint64_t r0 = executor.run(memory.empty() ? nullptr : memory.data(), memory.size());
    if (!vm::current_run().fault.empty()) {
        return fail("run", "conformance program", vm::current_run().fault);
    }
    return r0;
}

} // namespace harmony::isa
