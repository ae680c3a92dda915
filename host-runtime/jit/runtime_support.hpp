// What compiled code shares with C++: the run context it reads through kRunFrame, the
// entry trampoline's signature, and the few cold operations it hands to C++ (faults,
// callx, legacy packet loads, callbacks). Internal to the JIT.
#pragma once

#include "host-runtime/vm.hpp"

#include <cstdint>
#include <vector>

namespace harmony::jit {

struct CompiledProgram;

/// One per run, and one more per callback invocation; kRunFrame (r12) points at it while
/// BPF code runs. Standard layout: compiled code reads the fields by offsetof.
struct RunContext {
    vm::RunState *run = nullptr;
    uint8_t *stack_floor = nullptr; ///< lowest r10 a bpf-to-bpf call may set
    void *ctx = nullptr;
    uint64_t ctx_len = 0;
    uint8_t *frame_pointer = nullptr; ///< r10 at the latest helper call: a callback's frame goes below it
    uint64_t entry_rsp = 0;           ///< rsp to unwind to when the run ends early (tail call, fault)
    const CompiledProgram *program = nullptr;
};

/// The trampoline at the start of every compiled program: saves the C++ callee-saved
/// registers, sets r1-r5 from `args`, r10 = `frame_pointer`, r0 and r6-r9 = 0, and calls
/// `code` (an instruction's address) with kRunFrame = `context`. Returns r0.
using EnterFn = uint64_t (*)(RunContext *context, const uint64_t args[5], uint8_t *frame_pointer, const void *code);

struct CompiledProgram {
    EnterFn enter = nullptr;
    std::vector<const void *> insn_code; ///< where each instruction's code starts
    uint32_t stack_size = 0;
};

/// A legacy packet load's outcome, returned in rax:rdx.
struct LegacyLoad {
    uint64_t value;
    uint64_t in_bounds;
};

/// Byte offset of RunState::tail_call, read by the code after each helper call.
int32_t tail_call_offset();

// Called from compiled code (System V).
void record_call_too_deep(vm::RunState *run, uint64_t pc);
void record_unknown_callx(vm::RunState *run, uint64_t pc, uint64_t id);
helpers::HelperFn resolve_callx(const vm::LinkedProgram *program, uint64_t id);
/// r0 = ntohN(packet[at]) (the XDP frame, or the ctx buffer when there is none), as the
/// interpreter's LoadAbs/LoadInd; out of bounds ends the run with r0 = 0.
LegacyLoad legacy_load(const RunContext *context, int64_t at, uint64_t size);

/// vm::RunState::call_subprogram for JIT runs; `context` is the innermost RunContext.
uint64_t call_subprogram(void *context, uint64_t pc, const uint64_t args[5]);

} // namespace harmony::jit
