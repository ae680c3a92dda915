#include "threaded_code.hpp"

#include <iterator>

namespace harmony::vm::threaded {
namespace {

using isa::Insn;
using isa::Op;

/// Offset of the 64R/64I/32R/32I variant within an operation's group of four.
int variant(const Insn &i)
{
    return (i.is64 ? 0 : 2) + (i.src_is_reg ? 0 : 1);
}

Handler alu_handler(const Insn &i)
{
    static constexpr Handler first[] = {Add64R, Sub64R, Mul64R, Div64R, SDiv64R, Mod64R, SMod64R,
                                        Or64R,  And64R, Xor64R, Lsh64R, Rsh64R,  Arsh64R};
    Handler base = i.op == Op::Mov ? Mov64R : first[static_cast<int>(i.op) - static_cast<int>(Op::Add)];
    return static_cast<Handler>(base + variant(i));
}

Handler jump_handler(const Insn &i)
{
    static constexpr Handler first[] = {Jeq64R, Jgt64R, Jge64R, Jset64R, Jne64R,  Jsgt64R,
                                        Jsge64R, Jlt64R, Jle64R, Jslt64R, Jsle64R};
    return static_cast<Handler>(first[static_cast<int>(i.op) - static_cast<int>(Op::Jeq)] + variant(i));
}

Handler sized(Handler one_byte, uint8_t size)
{
    int step = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    return static_cast<Handler>(one_byte + step);
}

Handler byte_order_handler(const Insn &i)
{
    bool swaps = i.op != Op::Le; // the host is little endian
    switch (i.imm) {
    case 16: return swaps ? Swap16 : Trunc16;
    case 32: return swaps ? Swap32 : Trunc32;
    default: return swaps ? Swap64 : Nop;
    }
}

Handler handler_for(const Insn &i)
{
    switch (i.op) {
    case Op::Add: case Op::Sub: case Op::Mul: case Op::Div: case Op::SDiv: case Op::Mod: case Op::SMod:
    case Op::Or: case Op::And: case Op::Xor: case Op::Lsh: case Op::Rsh: case Op::Arsh: case Op::Mov:
        return alu_handler(i);
    case Op::Neg: return i.is64 ? Neg64 : Neg32;
    case Op::Le: case Op::Be: case Op::Bswap: return byte_order_handler(i);
    case Op::Load: return sized(Ld1, i.size);
    case Op::LoadSx: return i.size == 8 ? Ld8 : sized(LdSx1, i.size);
    case Op::Store: return sized(St1, i.size);
    case Op::StoreImm: return sized(StImm1, i.size);
    case Op::LoadImm64: return LoadImm64;
    case Op::Ja: return Ja;
    case Op::Call: return Call;
    case Op::CallLocal: return CallLocal;
    case Op::Exit: return Exit;
    default:
        if (isa::is_conditional_jump(i.op)) {
            return jump_handler(i);
        }
        return Generic; // MovSx, Atomic, LoadAbs, LoadInd, CallReg, Filler
    }
}

int32_t immediate_for(const LinkedProgram &program, size_t pc)
{
    const Insn &i = program.insns[pc];
    if (i.op == Op::LoadImm64) {
        return static_cast<int32_t>(static_cast<uint32_t>(i.imm64));
    }
    if (i.op == Op::Filler && pc > 0 && program.insns[pc - 1].op == Op::LoadImm64) {
        return static_cast<int32_t>(static_cast<uint32_t>(program.insns[pc - 1].imm64 >> 32));
    }
    if (i.op == Op::Load || i.op == Op::LoadSx || i.op == Op::Store) {
        return i.off; // read with the same one load as the registers' indices
    }
    return i.op == Op::Ja && i.is64 ? i.off : i.imm;
}

#define HARMONY_ENTRY(h) h,
constexpr Handler kNonMemoryFirsts[] = {HARMONY_NONMEMORY_THEN_MEMORY_FIRSTS(HARMONY_ENTRY)};
constexpr Handler kMemoryOps[] = {HARMONY_MEMORY_OPS(HARMONY_ENTRY)};
constexpr Handler kSingleMemoryOps[] = {HARMONY_MEMORY_OPS(HARMONY_ENTRY) StImm1, StImm2, StImm4, StImm8};
constexpr Handler kStores[] = {HARMONY_STORES(HARMONY_ENTRY)};
constexpr Handler kAfterCall[] = {HARMONY_AFTER_CALL(HARMONY_ENTRY)};
#undef HARMONY_ENTRY
#define HARMONY_SECOND_ENTRY(op, S) S,
constexpr Handler kAfterJumpSeconds[] = {HARMONY_AFTER_JUMP_WITH(HARMONY_SECOND_ENTRY, Jeq)};
#undef HARMONY_SECOND_ENTRY
static_assert(std::size(kAfterJumpSeconds) == kAfterJump);

template <size_t N>
int index_in(const Handler (&list)[N], Handler h)
{
    for (size_t k = 0; k < N; k++) {
        if (list[k] == h) {
            return static_cast<int>(k);
        }
    }
    return -1;
}

#define HARMONY_FIRST(F) F,
constexpr Handler kFusedFirsts[] = {HARMONY_FUSED_FIRSTS(HARMONY_FIRST)};
#undef HARMONY_FIRST
#define HARMONY_SECOND(F, op) op##64R, op##64I,
constexpr Handler kFusedSeconds[] = {HARMONY_ALU_OPS_WITH(HARMONY_SECOND, _) HARMONY_JUMP_OPS_WITH(HARMONY_SECOND, _)};
#undef HARMONY_SECOND
/// Each paired jump's 64R and 64I forms, side by side as their jump-then pairs are.
#define HARMONY_JUMP(op) op##64R, op##64I,
constexpr Handler kJumpThenFirsts[] = {HARMONY_PAIRED_JUMPS(HARMONY_JUMP)};
#undef HARMONY_JUMP

/// Where a load or store takes its base from (see HARMONY_KINDS_OF_WITH).
enum BaseKind { Any, Fp, Pin };
constexpr int kBasedMemoryOps = std::size(kMemoryOps) * kBaseKinds;
static_assert(St8Pin_St8Pin == Ld1Any_Ld1Any + kBasedMemoryOps * kBasedMemoryOps - 1);
static_assert(Or64R_St8Pin == Mov64R_Ld1Any + std::size(kNonMemoryFirsts) * kBasedMemoryOps - 1);
static_assert(St8Pin_Mov64I == St1Any_Mov64R + std::size(kStores) * kBaseKinds * 2 - 1);
static_assert(Or64R_St8Pin_Chained ==
              Ld1Any_St1Any_Chained + (4 * kBaseKinds + std::size(kNonMemoryFirsts)) * kBaseKinds * 4 - 1);
static_assert(StImm8Pin == Ld1Fp + std::size(kSingleMemoryOps) * (kBaseKinds - 1) - 1);
static_assert(MovPin64R == StImm8Pin + 1);
static_assert(Or64R_Jle64I_Chained == Mov64R_Add64R_Chained + std::size(kFusedFirsts) * std::size(kFusedSeconds) - 1);
static_assert(Jle64I_Ld8 == Jeq64R_Mov64R + std::size(kJumpThenFirsts) * kAfterJump - 1);

/// A handler and, for a load or store, where its base comes from.
struct Based {
    Handler handler;
    BaseKind base = Any;
};

/// The pair of `first`, which writes a register, then a store of that register, or -1.
int value_chained_store(Based first, Based second)
{
    constexpr int kLoads = 4; // the first four of kMemoryOps
    const int load = index_in(kMemoryOps, first.handler), other = index_in(kNonMemoryFirsts, first.handler);
    const int f = load >= 0 && load < kLoads ? load * kBaseKinds + first.base
                  : other >= 0               ? kLoads * kBaseKinds + other
                                             : -1;
    const int s = index_in(kStores, second.handler);
    if (f < 0 || s < 0) {
        return -1;
    }
    return Ld1Any_St1Any_Chained + (f * static_cast<int>(std::size(kStores)) + s) * kBaseKinds + second.base;
}

/// The straight-line pair of `first` then `second`, or -1; `value_chained` when the second
/// stores the register the first writes.
int straight_line_pair(Based first, Based second, bool value_chained)
{
    if (int chained = value_chained ? value_chained_store(first, second) : -1; chained >= 0) {
        return chained;
    }
    const int m1 = index_in(kMemoryOps, first.handler), m2 = index_in(kMemoryOps, second.handler);
    const int based2 = m2 * kBaseKinds + second.base;
    if (m1 >= 0 && m2 >= 0) {
        return Ld1Any_Ld1Any + (m1 * kBaseKinds + first.base) * kBasedMemoryOps + based2;
    }
    if (int f = index_in(kNonMemoryFirsts, first.handler); f >= 0 && m2 >= 0) {
        return Mov64R_Ld1Any + f * kBasedMemoryOps + based2;
    }
    if (int f = index_in(kStores, first.handler); f >= 0 && (second.handler == Mov64R || second.handler == Mov64I)) {
        return St1Any_Mov64R + (f * kBaseKinds + first.base) * 2 + (second.handler - Mov64R);
    }
    if (int s = index_in(kAfterCall, second.handler); first.handler == Call && s >= 0) {
        return Call_Mov64R + s;
    }
    const int j = index_in(kJumpThenFirsts, first.handler), s = index_in(kAfterJumpSeconds, second.handler);
    if (j >= 0 && s >= 0) {
        return Jeq64R_Mov64R + ((j / 2) * kAfterJump + s) * 2 + j % 2;
    }
    return -1;
}

/// `first` alone: a load or store on a machine-register base runs on its pinned single.
Handler single(Based first)
{
    int j = index_in(kSingleMemoryOps, first.handler);
    return j < 0 || first.base == Any ? first.handler : static_cast<Handler>(Ld1Fp + j * 2 + (first.base - 1));
}

/// The superinstruction for `first` then `second`, or `first` alone when there is none;
/// `chained` when the second writes (or compares) the register the first wrote.
Handler fuse(Based first, Based second, bool chained, bool value_chained)
{
    if (int pair = straight_line_pair(first, second, value_chained); pair >= 0) {
        return static_cast<Handler>(pair);
    }
    const int f = index_in(kFusedFirsts, first.handler), s = index_in(kFusedSeconds, second.handler);
    if (f < 0 || s < 0) {
        return single(first);
    }
    constexpr int kChainedDistance = Mov64R_Add64R_Chained - Mov64R_Add64R;
    return static_cast<Handler>(Mov64R_Add64R + f * static_cast<int>(std::size(kFusedSeconds)) + s +
                                (chained ? kChainedDistance : 0));
}

/// See Code::pinned: a callee-saved register, scored by the loads and stores based on it
/// less twice its writes (those not by a move run on Generic).
uint8_t pinned_register(const LinkedProgram &program)
{
    int score[11] = {}; // r0-r10
    bool written_by_lddw[11] = {};
    for (const Insn &i : program.insns) {
        if (i.op == Op::Load || i.op == Op::LoadSx) {
            score[i.src]++;
        } else if (i.op == Op::Store || i.op == Op::StoreImm) {
            score[i.dst]++;
        }
        if (int w = written_register(i); w >= 0) {
            score[w] -= 2;
            written_by_lddw[w] = written_by_lddw[w] || i.op == Op::LoadImm64;
        }
    }
    uint8_t best = 0;
    for (uint8_t r = 6; r <= 9; r++) {
        if (!written_by_lddw[r] && score[r] > 0 && (best == 0 || score[r] > score[best])) {
            best = r;
        }
    }
    return best;
}

Handler writer_of_pinned(Handler h)
{
    return h == Mov64R ? MovPin64R : h == Mov64I ? MovPin64I : Generic;
}

BaseKind base_kind(const Insn &i, uint8_t pinned)
{
    bool memory = i.op == Op::Load || i.op == Op::LoadSx || i.op == Op::Store || i.op == Op::StoreImm;
    uint8_t base = i.op == Op::Load || i.op == Op::LoadSx ? i.src : i.dst;
    if (!memory) {
        return Any;
    }
    return base == 10 ? Fp : pinned != 0 && base == pinned ? Pin : Any;
}

} // namespace

Code translate(const LinkedProgram &program, const void *const *labels)
{
    Code code{.source = &program, .slots = {}, .pinned = pinned_register(program)};
    const size_t count = program.insns.size();
    std::vector<Based> handlers(count);
    for (size_t pc = 0; pc < count; ++pc) {
        const Insn &i = program.insns[pc];
        handlers[pc] = code.pinned != 0 && written_register(i) == code.pinned
                           ? Based{writer_of_pinned(handler_for(i))}
                           : Based{handler_for(i), base_kind(i, code.pinned)};
    }
    code.slots.reserve(count);
    for (size_t pc = 0; pc < count; ++pc) {
        const Insn &i = program.insns[pc];
        Handler h = single(handlers[pc]);
        if (pc + 1 < count) {
            const Insn &next = program.insns[pc + 1];
            // A move is chained by its source (chained_second in interpreter.cpp), the rest by their dst.
            const bool chained = handlers[pc + 1].handler == Mov64R ? next.src == i.dst : next.dst == i.dst;
            h = fuse(handlers[pc], handlers[pc + 1], chained, next.op == Op::Store && next.src == i.dst);
        }
        code.slots.push_back(
            Slot{.handler = labels[h], .dst = i.dst, .src = i.src, .off = i.off, .imm = immediate_for(program, pc)});
    }
    return code;
}

int written_register(const Insn &i)
{
    if (i.op <= Op::Bswap || i.op == Op::Load || i.op == Op::LoadSx || i.op == Op::LoadImm64) {
        return i.dst; // ALU, moves, byte order, loads
    }
    switch (i.op) {
    case Op::Atomic:
        if (i.atomic == isa::AtomicOp::CmpXchg) {
            return 0;
        }
        return i.atomic >= isa::AtomicOp::FetchAdd ? i.src : -1; // the fetching forms and xchg
    case Op::LoadAbs: case Op::LoadInd: case Op::Call: case Op::CallReg: return 0;
    default: return -1;
    }
}

} // namespace harmony::vm::threaded
