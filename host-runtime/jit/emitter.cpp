#include "host-runtime/jit/emitter.hpp"

#include "host-runtime/jit/runtime_support.hpp"

namespace harmony::jit {

using isa::Op;

Emitter::Emitter(x86::Assembler &as, const vm::LinkedProgram &program, bool has_bmi2)
    : as_(as), program_(program), has_bmi2_(has_bmi2)
{
}

void Emitter::emit_program()
{
    insn_labels_.resize(program_.insns.size());
    for (auto &label : insn_labels_) {
        label = as_.newLabel();
    }
    leave_run_ = as_.newLabel();
    emit_entry();
    for (size_t pc = 0; pc < program_.insns.size(); ++pc) {
        as_.bind(insn_labels_[pc]);
        emit_insn(pc, program_.insns[pc]);
    }
    // Cold paths may add more cold paths; index, since emplace_back moves the vector.
    for (size_t k = 0; k < cold_paths_.size(); ++k) {
        as_.bind(cold_paths_[k].label);
        auto body = std::move(cold_paths_[k].body);
        body();
    }
}

// The trampoline (EnterFn), at offset 0. Instruction code is entered with `call`, so that
// every BPF exit, of main, of a subprogram or of a callback, is a plain `ret`; a tail call
// or a fault unwinds at once by resetting rsp from the RunContext. Six pushes and the
// return address keep rsp 16-byte aligned inside BPF code, as helper calls need.
void Emitter::emit_entry()
{
    for (auto reg : {x86::rbp, x86::rbx, x86::r12, x86::r13, x86::r14, x86::r15}) {
        as_.push(reg);
    }
    as_.mov(kRunFrame, x86::rdi);
    as_.mov(x86::ptr(kRunFrame, offsetof(RunContext, entry_rsp)), x86::rsp);
    as_.mov(q(10), x86::rdx);
    as_.mov(kScratchA, x86::rcx);
    const x86::Gpq args = x86::rsi; // BPF r2's home, so read last
    for (uint8_t reg : {1, 3, 4, 5, 2}) {
        as_.mov(q(reg), x86::ptr(args, 8 * (reg - 1)));
    }
    for (uint8_t reg : {0, 6, 7, 8, 9}) {
        as_.xor_(d(reg), d(reg));
    }
    as_.call(kScratchA);
    as_.bind(leave_run_);
    as_.mov(x86::rsp, x86::ptr(kRunFrame, offsetof(RunContext, entry_rsp)));
    for (auto reg : {x86::r15, x86::r14, x86::r13, x86::r12, x86::rbx, x86::rbp}) {
        as_.pop(reg);
    }
    as_.ret();
}

asmjit::Label Emitter::cold(std::function<void()> body)
{
    asmjit::Label label = as_.newLabel();
    cold_paths_.push_back({label, std::move(body)});
    return label;
}

void Emitter::call_native(const void *function)
{
    as_.mov(kScratchA, asmjit::Imm(reinterpret_cast<uint64_t>(function)));
    as_.call(kScratchA);
}

void Emitter::emit_insn(size_t pc, const isa::Insn &insn)
{
    switch (insn.op) {
    case Op::Load:
    case Op::LoadSx:
        emit_load(insn);
        return;
    case Op::Store:
        emit_store(insn);
        return;
    case Op::StoreImm:
        emit_store_imm(insn);
        return;
    case Op::Atomic:
        emit_atomic(insn);
        return;
    case Op::LoadImm64:
        as_.mov(q(insn.dst), asmjit::Imm(insn.imm64));
        return;
    case Op::LoadAbs:
    case Op::LoadInd:
        emit_legacy_load(insn);
        return;
    case Op::Ja:
    case Op::Jeq:
    case Op::Jgt:
    case Op::Jge:
    case Op::Jset:
    case Op::Jne:
    case Op::Jsgt:
    case Op::Jsge:
    case Op::Jlt:
    case Op::Jle:
    case Op::Jslt:
    case Op::Jsle:
        emit_jump(pc, insn);
        return;
    case Op::Call:
        emit_helper_call(pc);
        return;
    case Op::CallReg:
        emit_callx(pc, insn);
        return;
    case Op::CallLocal:
        emit_local_call(pc, insn);
        return;
    case Op::Exit:
        as_.ret();
        return;
    case Op::Filler:
        return;
    default:
        emit_alu(insn);
        return;
    }
}

} // namespace harmony::jit
