// Jumps and calls.
#include "host-runtime/jit/emitter.hpp"

#include "host-runtime/jit/runtime_support.hpp"

namespace harmony::jit {

using isa::Op;

namespace {

asmjit::InstId jcc_inst(Op op)
{
    switch (op) {
    case Op::Jeq:
        return x86::Inst::kIdJe;
    case Op::Jne:
        return x86::Inst::kIdJne;
    case Op::Jgt:
        return x86::Inst::kIdJa;
    case Op::Jge:
        return x86::Inst::kIdJae;
    case Op::Jlt:
        return x86::Inst::kIdJb;
    case Op::Jle:
        return x86::Inst::kIdJbe;
    case Op::Jsgt:
        return x86::Inst::kIdJg;
    case Op::Jsge:
        return x86::Inst::kIdJge;
    case Op::Jslt:
        return x86::Inst::kIdJl;
    case Op::Jsle:
        return x86::Inst::kIdJle;
    default: // Jset
        return x86::Inst::kIdJnz;
    }
}

size_t local_call_target(size_t pc, const isa::Insn &insn)
{
    return static_cast<size_t>(static_cast<int64_t>(pc) + 1 + insn.imm);
}

/// BPF registers in caller-saved x86 registers: r1-r5 (r0 is the call's result).
constexpr uint8_t kArgumentRegs[] = {1, 2, 3, 4, 5};

} // namespace

void Emitter::emit_jump(size_t pc, const isa::Insn &insn)
{
    const int64_t target = isa::jump_target(pc, insn);
    if (target == static_cast<int64_t>(pc) + 1) {
        return; // lands on the next instruction either way
    }
    const asmjit::Label label = insn_labels_[static_cast<size_t>(target)];
    if (insn.op == Op::Ja) {
        as_.jmp(label);
        return;
    }
    const x86::Gp dst = sized(insn.dst, insn.is64);
    const asmjit::InstId compare = insn.op == Op::Jset ? x86::Inst::kIdTest : x86::Inst::kIdCmp;
    if (insn.src_is_reg) {
        as_.emit(compare, dst, sized(insn.src, insn.is64));
    } else if (insn.imm == 0 && (insn.op == Op::Jeq || insn.op == Op::Jne)) {
        as_.test(dst, dst);
    } else {
        // cmp/test sign-extend a 32-bit immediate to 64 bits, as BPF does.
        as_.emit(compare, dst, asmjit::Imm(insn.imm));
    }
    as_.emit(jcc_inst(insn.op), label);
}

// r1-r5 already sit in the System V argument registers and r0 in rax; the BPF registers
// that must survive (r6-r10) are in callee-saved registers. The call is the whole cost,
// plus the check for a tail call the helper may have asked for (bpf_tail_call, or the
// conformance suite's unwind): the current program then ends at once, as in the interpreter.
void Emitter::emit_helper_call(size_t pc)
{
    as_.mov(x86::ptr(kRunFrame, offsetof(RunContext, frame_pointer)), q(10)); // for callbacks
    call_native(reinterpret_cast<const void *>(program_.helper_by_slot[pc]));
    as_.mov(kScratchA, x86::ptr(kRunFrame, offsetof(RunContext, run)));
    as_.cmp(x86::qword_ptr(kScratchA, tail_call_offset()), 0);
    as_.jne(leave_run_);
}

void Emitter::save_argument_registers()
{
    for (uint8_t reg : kArgumentRegs) {
        as_.push(q(reg));
    }
    as_.push(q(5)); // sixth push keeps rsp aligned
}

void Emitter::restore_argument_registers()
{
    as_.pop(q(5));
    for (auto reg = std::rbegin(kArgumentRegs); reg != std::rend(kArgumentRegs); ++reg) {
        as_.pop(q(*reg));
    }
}

// callx: the helper is known only at run time, by the id in dst; resolving it is C++'s
// job. An unknown id aborts the run with a fault, as the interpreter does.
void Emitter::emit_callx(size_t pc, const isa::Insn &insn)
{
    const uint8_t id_reg = insn.dst;
    const asmjit::Label unknown = cold([this, pc, id_reg] {
        as_.mov(x86::rdx, q(id_reg));
        as_.mov(x86::esi, static_cast<uint32_t>(pc));
        as_.mov(x86::rdi, x86::ptr(kRunFrame, offsetof(RunContext, run)));
        call_native(reinterpret_cast<const void *>(&record_unknown_callx));
        as_.xor_(x86::eax, x86::eax);
        as_.jmp(leave_run_);
    });
    save_argument_registers();
    as_.mov(x86::rsi, q(id_reg));
    as_.mov(x86::rdi, asmjit::Imm(reinterpret_cast<uint64_t>(&program_)));
    call_native(reinterpret_cast<const void *>(&resolve_callx));
    restore_argument_registers();
    as_.test(x86::rax, x86::rax);
    as_.jz(unknown);
    as_.call(x86::rax);
}

// The callee gets its own stack frame below the caller's; r6-r9 and r10 are the caller's
// to keep. Five pushes and the return address keep rsp 16-byte aligned in the callee.
void Emitter::emit_local_call(size_t pc, const isa::Insn &insn)
{
    const asmjit::Label too_deep = cold([this, pc] {
        as_.mov(x86::rdi, x86::ptr(kRunFrame, offsetof(RunContext, run)));
        as_.mov(x86::esi, static_cast<uint32_t>(pc));
        call_native(reinterpret_cast<const void *>(&record_call_too_deep));
        as_.xor_(x86::eax, x86::eax);
        as_.jmp(leave_run_);
    });
    const x86::Gpq frame_pointer = q(10);
    as_.lea(kScratchA, x86::ptr(frame_pointer, -static_cast<int32_t>(program_.stack_size)));
    as_.cmp(kScratchA, x86::ptr(kRunFrame, offsetof(RunContext, stack_floor)));
    as_.jb(too_deep);
    for (uint8_t reg : {6, 7, 8, 9, 10}) {
        as_.push(q(reg));
    }
    as_.mov(frame_pointer, kScratchA);
    as_.call(insn_labels_[local_call_target(pc, insn)]);
    for (uint8_t reg : {10, 9, 8, 7, 6}) {
        as_.pop(q(reg));
    }
}

} // namespace harmony::jit
