// Loads, stores and atomics. Accesses are raw: the verifier has proven every address safe,
// so there are no bounds checks here.
#include "host-runtime/jit/emitter.hpp"

#include "host-runtime/jit/runtime_support.hpp"

namespace harmony::jit {

using isa::AtomicOp;
using isa::Op;

namespace {

x86::Mem memory(uint8_t base_reg, int16_t off, uint8_t size)
{
    return x86::ptr(q(base_reg), off, size);
}

/// `bpf_reg` at a memory access's width.
x86::Gp at_width(uint8_t bpf_reg, uint8_t size)
{
    switch (size) {
    case 1:
        return b(bpf_reg);
    case 2:
        return w(bpf_reg);
    case 4:
        return d(bpf_reg);
    default:
        return q(bpf_reg);
    }
}

x86::Gp scratch_at_width(const x86::Gpq &reg, uint8_t size)
{
    return size == 8 ? x86::Gp(reg) : x86::Gp(reg.r32());
}

asmjit::InstId fetch_op_inst(AtomicOp op)
{
    switch (op) {
    case AtomicOp::Add:
    case AtomicOp::FetchAdd:
        return x86::Inst::kIdAdd;
    case AtomicOp::Or:
    case AtomicOp::FetchOr:
        return x86::Inst::kIdOr;
    case AtomicOp::And:
    case AtomicOp::FetchAnd:
        return x86::Inst::kIdAnd;
    default:
        return x86::Inst::kIdXor;
    }
}

} // namespace

void Emitter::emit_load(const isa::Insn &insn)
{
    const x86::Mem src = memory(insn.src, insn.off, insn.size);
    if (insn.op == Op::LoadSx && insn.size == 4) {
        as_.movsxd(q(insn.dst), src);
    } else if (insn.op == Op::LoadSx) {
        as_.movsx(q(insn.dst), src);
    } else if (insn.size < 4) {
        as_.movzx(d(insn.dst), src);
    } else {
        as_.mov(at_width(insn.dst, insn.size), src);
    }
}

void Emitter::emit_store(const isa::Insn &insn)
{
    as_.mov(memory(insn.dst, insn.off, insn.size), at_width(insn.src, insn.size));
}

void Emitter::emit_store_imm(const isa::Insn &insn)
{
    // The immediate is truncated to the width, or sign-extended for a 64-bit store.
    switch (insn.size) {
    case 1:
        as_.mov(memory(insn.dst, insn.off, 1), static_cast<int8_t>(insn.imm));
        return;
    case 2:
        as_.mov(memory(insn.dst, insn.off, 2), static_cast<int16_t>(insn.imm));
        return;
    default:
        as_.mov(memory(insn.dst, insn.off, insn.size), insn.imm);
        return;
    }
}

void Emitter::emit_atomic(const isa::Insn &insn)
{
    const x86::Mem target = memory(insn.dst, insn.off, insn.size);
    const x86::Gp value = at_width(insn.src, insn.size);
    switch (insn.atomic) {
    case AtomicOp::Add:
    case AtomicOp::Or:
    case AtomicOp::And:
    case AtomicOp::Xor:
        as_.lock().emit(fetch_op_inst(insn.atomic), target, value);
        return;
    case AtomicOp::FetchAdd:
        as_.lock().xadd(target, value); // src receives the old value, zero-extended for 32 bits
        return;
    case AtomicOp::Xchg:
        as_.xchg(target, value); // xchg with memory is always locked
        return;
    case AtomicOp::CmpXchg:
        as_.lock().cmpxchg(target, value, scratch_at_width(x86::rax, insn.size));
        if (insn.size == 4) {
            as_.mov(x86::eax, x86::eax); // on success x86 leaves rax's upper half alone; BPF zero-extends r0
        }
        return;
    default:
        emit_atomic_fetch_loop(insn);
        return;
    }
}

// fetch_or/and/xor have no x86 counterpart returning the old value: a cmpxchg loop, which
// needs rax (BPF r0) as the comparand. r0 is parked in kScratchB, and read from there
// when it is also the address base or the operand.
void Emitter::emit_atomic_fetch_loop(const isa::Insn &insn)
{
    const uint8_t size = insn.size;
    const x86::Gpq base = insn.dst == 0 ? kScratchB : q(insn.dst);
    const x86::Gpq operand = insn.src == 0 ? kScratchB : q(insn.src);
    const x86::Mem target = x86::ptr(base, insn.off, size);
    const x86::Gp old_value = scratch_at_width(x86::rax, size);
    const x86::Gp new_value = scratch_at_width(kScratchA, size);
    asmjit::Label retry = as_.newLabel();

    as_.mov(kScratchB, x86::rax);
    as_.mov(old_value, target);
    as_.bind(retry);
    as_.mov(new_value, old_value);
    as_.emit(fetch_op_inst(insn.atomic), new_value, scratch_at_width(operand, size));
    as_.lock().cmpxchg(target, new_value, old_value);
    as_.jnz(retry);
    if (insn.src == 0) {
        as_.mov(old_value, old_value); // r0 is the fetch destination: keep the old value, zero-extended
        return;
    }
    as_.mov(sized(insn.src, size == 8), old_value);
    as_.mov(x86::rax, kScratchB);
}

// Legacy packet loads are bounds-checked at run time, in C++ (they are rare and cold).
// The interpreter keeps r1-r5 across them, so they are saved here too; out of bounds ends
// the run with r0 = 0.
void Emitter::emit_legacy_load(const isa::Insn &insn)
{
    save_argument_registers();
    if (insn.op == Op::LoadInd) {
        as_.mov(x86::rsi, q(insn.src));
        as_.add(x86::rsi, insn.imm);
    } else {
        as_.mov(x86::rsi, asmjit::Imm(int64_t{insn.imm}));
    }
    as_.mov(x86::rdi, kRunFrame);
    as_.mov(x86::edx, insn.size);
    call_native(reinterpret_cast<const void *>(&legacy_load));
    as_.mov(kScratchA, x86::rdx); // in bounds?
    restore_argument_registers();
    as_.test(kScratchA, kScratchA);
    as_.jz(leave_run_);
}

} // namespace harmony::jit
