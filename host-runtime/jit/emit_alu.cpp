// ALU translations. x86 32-bit operations zero the upper half of their destination, which
// is exactly BPF's ALU32 rule, so most cases are one instruction at the operation's width.
#include "host-runtime/jit/emitter.hpp"

namespace harmony::jit {

using isa::Op;

namespace {

asmjit::InstId simple_alu_inst(Op op)
{
    switch (op) {
    case Op::Add:
        return x86::Inst::kIdAdd;
    case Op::Sub:
        return x86::Inst::kIdSub;
    case Op::Or:
        return x86::Inst::kIdOr;
    case Op::And:
        return x86::Inst::kIdAnd;
    case Op::Xor:
        return x86::Inst::kIdXor;
    default:
        return x86::Inst::kIdImul;
    }
}

/// The immediate as BPF reads it: sign-extended to 64 bits for ALU64, the raw 32 bits for ALU32.
asmjit::Imm alu_imm(const isa::Insn &insn)
{
    return insn.is64 ? asmjit::Imm(int64_t{insn.imm}) : asmjit::Imm(static_cast<uint32_t>(insn.imm));
}

bool is_signed_divmod(Op op) { return op == Op::SDiv || op == Op::SMod; }
bool is_mod(Op op) { return op == Op::Mod || op == Op::SMod; }

} // namespace

void Emitter::emit_alu(const isa::Insn &insn)
{
    switch (insn.op) {
    case Op::Div:
    case Op::SDiv:
    case Op::Mod:
    case Op::SMod:
        emit_divmod(insn);
        return;
    case Op::Lsh:
    case Op::Rsh:
    case Op::Arsh:
        emit_shift(insn);
        return;
    case Op::Mov:
        emit_mov(insn);
        return;
    case Op::MovSx:
        emit_movsx(insn);
        return;
    case Op::Le:
    case Op::Be:
    case Op::Bswap:
        emit_endian(insn);
        return;
    default:
        emit_simple_alu(insn);
        return;
    }
}

void Emitter::emit_simple_alu(const isa::Insn &insn)
{
    const x86::Gp dst = sized(insn.dst, insn.is64);
    if (insn.op == Op::Neg) {
        as_.neg(dst);
    } else if (insn.src_is_reg) {
        as_.emit(simple_alu_inst(insn.op), dst, sized(insn.src, insn.is64));
    } else if (insn.op == Op::Mul) {
        as_.imul(dst, dst, alu_imm(insn));
    } else {
        as_.emit(simple_alu_inst(insn.op), dst, alu_imm(insn));
    }
}

void Emitter::emit_mov(const isa::Insn &insn)
{
    if (!insn.src_is_reg) {
        as_.mov(sized(insn.dst, insn.is64), alu_imm(insn));
    } else if (!insn.is64 || insn.dst != insn.src) {
        // A 32-bit move onto itself is not a no-op: it clears the upper half.
        as_.mov(sized(insn.dst, insn.is64), sized(insn.src, insn.is64));
    }
}

void Emitter::emit_movsx(const isa::Insn &insn)
{
    const x86::Gp dst = sized(insn.dst, insn.is64);
    switch (insn.size) {
    case 1:
        as_.movsx(dst, b(insn.src));
        return;
    case 2:
        as_.movsx(dst, w(insn.src));
        return;
    default:
        if (insn.is64) {
            as_.movsxd(dst, d(insn.src));
        } else {
            as_.mov(dst, d(insn.src));
        }
        return;
    }
}

void Emitter::emit_endian(const isa::Insn &insn)
{
    const uint8_t reg = insn.dst;
    if (insn.op == Op::Le) { // the host is little endian: only truncate
        if (insn.imm == 16) {
            as_.movzx(d(reg), w(reg));
        } else if (insn.imm == 32) {
            as_.mov(d(reg), d(reg));
        }
        return;
    }
    if (insn.imm == 16) {
        as_.ror(w(reg), 8);
        as_.movzx(d(reg), w(reg));
    } else if (insn.imm == 32) {
        as_.bswap(d(reg));
    } else {
        as_.bswap(q(reg));
    }
}

// Shift counts are masked to the operand width by x86 itself, as BPF requires.
void Emitter::emit_shift(const isa::Insn &insn)
{
    const x86::Gp dst = sized(insn.dst, insn.is64);
    const asmjit::InstId by_cl = insn.op == Op::Lsh   ? x86::Inst::kIdShl
                                 : insn.op == Op::Rsh ? x86::Inst::kIdShr
                                                      : x86::Inst::kIdSar;
    if (!insn.src_is_reg) {
        const uint32_t count = static_cast<uint32_t>(insn.imm) & (insn.is64 ? 63 : 31);
        if (count != 0) {
            as_.emit(by_cl, dst, count);
        } else if (!insn.is64) {
            as_.mov(dst, dst); // a zero count leaves the register untouched, upper half included
        }
        return;
    }
    if (has_bmi2_) {
        const asmjit::InstId bmi = insn.op == Op::Lsh   ? x86::Inst::kIdShlx
                                   : insn.op == Op::Rsh ? x86::Inst::kIdShrx
                                                        : x86::Inst::kIdSarx;
        as_.emit(bmi, dst, dst, sized(insn.src, insn.is64));
        return;
    }
    // Legacy shifts take the count in cl, and rcx holds BPF r4: shift a copy of dst with
    // r4 saved, so any of dst and src may be r4.
    const x86::Gp work = insn.is64 ? x86::Gp(kScratchA) : x86::Gp(kScratchA.r32());
    as_.mov(kScratchA, q(insn.dst));
    as_.mov(kScratchB, x86::rcx);
    if (kBpfToX86[insn.src] != x86::Gp::kIdCx) {
        as_.mov(x86::rcx, q(insn.src));
    }
    as_.emit(by_cl, work, x86::cl);
    as_.mov(x86::rcx, kScratchB);
    as_.mov(dst, work);
}

// x86 div/idiv trap on a zero divisor and idiv on INT_MIN / -1; BPF defines both (x / 0
// = 0, x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0). They also work in rdx:rax,
// which hold BPF r3 and r0, so those are parked in scratch registers around the division;
// the result is staged in kScratchA (the divisor's register) and stored last, so any of
// dst and src may be r0 or r3.
void Emitter::emit_divmod(const isa::Insn &insn)
{
    const bool is64 = insn.is64;
    const x86::Gp divisor = is64 ? x86::Gp(kScratchA) : x86::Gp(kScratchA.r32());
    if (insn.src_is_reg) {
        as_.mov(divisor, sized(insn.src, is64));
    } else {
        as_.mov(divisor, alu_imm(insn));
    }
    as_.mov(kScratchB, x86::rax);
    as_.mov(kScratchC, x86::rdx);
    as_.mov(is64 ? x86::Gp(x86::rax) : x86::Gp(x86::eax), sized(insn.dst, is64));
    const bool divisor_may_trap = insn.src_is_reg || insn.imm == 0 || (is_signed_divmod(insn.op) && insn.imm == -1);
    if (divisor_may_trap) {
        emit_guarded_divide(insn);
    } else {
        emit_divide(insn);
    }
    as_.mov(x86::rax, kScratchB);
    as_.mov(x86::rdx, kScratchC);
    as_.mov(sized(insn.dst, is64), divisor);
}

// Divides rdx:rax by kScratchA and leaves the quotient or remainder in kScratchA.
void Emitter::emit_divide(const isa::Insn &insn)
{
    const bool is64 = insn.is64;
    const x86::Gp divisor = is64 ? x86::Gp(kScratchA) : x86::Gp(kScratchA.r32());
    const x86::Gp acc = is64 ? x86::Gp(x86::rax) : x86::Gp(x86::eax);
    const x86::Gp rem = is64 ? x86::Gp(x86::rdx) : x86::Gp(x86::edx);
    if (is_signed_divmod(insn.op)) {
        is64 ? as_.cqo(x86::rdx, x86::rax) : as_.cdq(x86::edx, x86::eax);
        as_.idiv(rem, acc, divisor);
    } else {
        as_.xor_(x86::edx, x86::edx);
        as_.div(rem, acc, divisor);
    }
    as_.mov(divisor, is_mod(insn.op) ? rem : acc);
}

// emit_divide, with BPF's results for the divisors x86 traps on.
void Emitter::emit_guarded_divide(const isa::Insn &insn)
{
    const bool is64 = insn.is64;
    const x86::Gp divisor = is64 ? x86::Gp(kScratchA) : x86::Gp(kScratchA.r32());
    const x86::Gp acc = is64 ? x86::Gp(x86::rax) : x86::Gp(x86::eax);
    asmjit::Label by_zero = as_.newLabel();
    asmjit::Label divide = as_.newLabel();
    asmjit::Label done = as_.newLabel();
    as_.test(divisor, divisor);
    as_.jz(by_zero);
    if (is_signed_divmod(insn.op)) {
        as_.cmp(divisor, -1);
        as_.jne(divide);
        if (is_mod(insn.op)) {
            as_.xor_(kScratchA.r32(), kScratchA.r32()); // x % -1 = 0
        } else {
            as_.neg(acc); // x / -1 = -x, wrapping for INT_MIN
            as_.mov(divisor, acc);
        }
        as_.jmp(done);
    }
    as_.bind(divide);
    emit_divide(insn);
    as_.jmp(done);
    as_.bind(by_zero);
    if (is_mod(insn.op)) {
        as_.mov(divisor, acc); // dst unchanged (truncated to 32 bits for ALU32)
    } else {
        as_.xor_(kScratchA.r32(), kScratchA.r32());
    }
    as_.bind(done);
}

} // namespace harmony::jit
