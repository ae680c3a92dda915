// The interpreter: the decoded program is translated once into threaded code (see
// threaded_code.hpp) and run with direct threading (GCC's computed goto), one handler per
// operation, width and source kind, plus superinstructions for the commonest pairs.
// Semantics follow RFC 9669: 32-bit ALU results are zero-extended, shift counts are
// masked, division by zero gives 0 and modulo by zero leaves dst unchanged, INT_MIN / -1 is
// INT_MIN and INT_MIN % -1 is 0.
#include "host-runtime/vm.hpp"
#include "threaded_code.hpp"

#include <fmt/format.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace harmony::vm {
namespace {

using isa::AtomicOp;
using isa::Insn;
using isa::Op;

constexpr int kMaxFrames = 8; ///< as the kernel's MAX_CALL_FRAMES, the entry frame included
constexpr uint32_t kMaxStackPerFrame = 512;

constexpr uint64_t u32(uint64_t v) { return static_cast<uint32_t>(v); }
constexpr uint64_t alu(const Insn &i, uint64_t v) { return i.is64 ? v : u32(v); }

uint64_t sign_extend(uint64_t v, uint8_t bytes)
{
    switch (bytes) {
    case 1: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(v)));
    case 2: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v)));
    case 4: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
    default: return v;
    }
}

uint64_t byte_swap(uint64_t v, int32_t width)
{
    switch (width) {
    case 16: return __builtin_bswap16(static_cast<uint16_t>(v));
    case 32: return __builtin_bswap32(static_cast<uint32_t>(v));
    default: return __builtin_bswap64(v);
    }
}

uint64_t load(uint64_t address, uint8_t size)
{
    uint64_t v = 0;
    std::memcpy(&v, reinterpret_cast<const void *>(address), size); // little-endian host
    return v;
}

void store(uint64_t address, uint8_t size, uint64_t v)
{
    std::memcpy(reinterpret_cast<void *>(address), &v, size);
}

template <typename T>
void atomic(T *p, const Insn &i, uint64_t &src, uint64_t &r0)
{
    auto v = static_cast<T>(src);
    switch (i.atomic) {
    case AtomicOp::Add: __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Or: __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::And: __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Xor: __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchAdd: src = __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchOr: src = __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchAnd: src = __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchXor: src = __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Xchg: src = __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::CmpXchg: {
        auto expected = static_cast<T>(r0);
        __atomic_compare_exchange_n(p, &expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        r0 = expected; // the old value, whether or not it matched
        break;
    }
    }
}

template <Op op>
constexpr uint64_t alu64(uint64_t d, uint64_t s)
{
    auto sd = static_cast<int64_t>(d), ss = static_cast<int64_t>(s);
    if constexpr (op == Op::Add) { return d + s; }
    if constexpr (op == Op::Sub) { return d - s; }
    if constexpr (op == Op::Mul) { return d * s; }
    if constexpr (op == Op::Div) { return s ? d / s : 0; }
    if constexpr (op == Op::SDiv) { return ss == 0 ? 0 : ss == -1 ? 0 - d : static_cast<uint64_t>(sd / ss); }
    if constexpr (op == Op::Mod) { return s ? d % s : d; }
    if constexpr (op == Op::SMod) { return ss == 0 ? d : ss == -1 ? 0 : static_cast<uint64_t>(sd % ss); }
    if constexpr (op == Op::Or) { return d | s; }
    if constexpr (op == Op::And) { return d & s; }
    if constexpr (op == Op::Xor) { return d ^ s; }
    if constexpr (op == Op::Lsh) { return d << (s & 63); }
    if constexpr (op == Op::Rsh) { return d >> (s & 63); }
    if constexpr (op == Op::Arsh) { return static_cast<uint64_t>(sd >> (s & 63)); }
    if constexpr (op == Op::Mov) { return s; }
}

template <Op op>
constexpr uint64_t alu32(uint64_t dst, uint64_t src)
{
    auto d = static_cast<uint32_t>(dst), s = static_cast<uint32_t>(src);
    auto sd = static_cast<int32_t>(d), ss = static_cast<int32_t>(s);
    if constexpr (op == Op::Add) { return u32(d + s); }
    if constexpr (op == Op::Sub) { return u32(d - s); }
    if constexpr (op == Op::Mul) { return u32(d * s); }
    if constexpr (op == Op::Div) { return s ? d / s : 0; }
    if constexpr (op == Op::SDiv) { return ss == 0 ? 0 : ss == -1 ? u32(0 - d) : u32(static_cast<uint32_t>(sd / ss)); }
    if constexpr (op == Op::Mod) { return s ? d % s : d; }
    if constexpr (op == Op::SMod) { return ss == 0 ? d : ss == -1 ? 0 : u32(static_cast<uint32_t>(sd % ss)); }
    if constexpr (op == Op::Or) { return d | s; }
    if constexpr (op == Op::And) { return d & s; }
    if constexpr (op == Op::Xor) { return d ^ s; }
    if constexpr (op == Op::Lsh) { return u32(d << (s & 31)); }
    if constexpr (op == Op::Rsh) { return d >> (s & 31); }
    if constexpr (op == Op::Arsh) { return u32(static_cast<uint32_t>(sd >> (s & 31))); }
    if constexpr (op == Op::Mov) { return s; }
}

template <Op op, typename U, typename S>
constexpr bool compare(U a, U b)
{
    auto sa = static_cast<S>(a), sb = static_cast<S>(b);
    if constexpr (op == Op::Jeq) { return a == b; }
    if constexpr (op == Op::Jne) { return a != b; }
    if constexpr (op == Op::Jgt) { return a > b; }
    if constexpr (op == Op::Jge) { return a >= b; }
    if constexpr (op == Op::Jlt) { return a < b; }
    if constexpr (op == Op::Jle) { return a <= b; }
    if constexpr (op == Op::Jset) { return (a & b) != 0; }
    if constexpr (op == Op::Jsgt) { return sa > sb; }
    if constexpr (op == Op::Jsge) { return sa >= sb; }
    if constexpr (op == Op::Jslt) { return sa < sb; }
    if constexpr (op == Op::Jsle) { return sa <= sb; }
}

template <Op op>
constexpr bool jump64(uint64_t a, uint64_t b)
{
    return compare<op, uint64_t, int64_t>(a, b);
}

template <Op op>
constexpr bool jump32(uint64_t a, uint64_t b)
{
    return compare<op, uint32_t, int32_t>(static_cast<uint32_t>(a), static_cast<uint32_t>(b));
}

/// What the program's runs share: the run state, the stack, and for callbacks (bpf_loop)
/// where the calling frame is. One per Executor::run, on the C++ stack, so an executor
/// may run on several threads at once.
struct RunContext {
    RunState *run;
    const threaded::Code *code;
    void *ctx;
    uint64_t ctx_len;
    int depth;              ///< frames in use by the instruction now calling a helper
    uint64_t frame_pointer; ///< its r10
};

struct Frame {
    const threaded::Slot *return_to;
    uint64_t callee_saved[4]; ///< r6-r9
    uint64_t frame_pointer;
};

uint64_t abort_run(RunState &run, std::string why)
{
    run.fault = std::move(why);
    return 0;
}

// Legacy packet access: r0 = ntohN(packet[src + imm]), bounds-checked at run time; out of
// bounds ends the program with 0, as in the kernel.
bool legacy_load(const RunContext &context, const Insn &i, uint64_t *reg)
{
    const uint8_t *data = static_cast<const uint8_t *>(context.ctx);
    uint64_t len = context.ctx_len;
    if (context.run->xdp) {
        data = context.run->xdp->data;
        len = static_cast<uint64_t>(context.run->xdp->data_end - context.run->xdp->data);
    }
    int64_t at = static_cast<int64_t>(i.imm) + (i.op == Op::LoadInd ? static_cast<int64_t>(reg[i.src]) : 0);
    if (at < 0 || static_cast<uint64_t>(at) + i.size > len) {
        reg[0] = 0;
        return false;
    }
    reg[0] = i.size == 1 ? data[at] : byte_swap(load(reinterpret_cast<uint64_t>(data + at), i.size), i.size * 8);
    return true;
}

void atomic_at(const Insn &i, uint64_t *reg)
{
    uint64_t address = reg[i.dst] + i.off;
    if (i.size == 8) {
        atomic(reinterpret_cast<uint64_t *>(address), i, reg[i.src], reg[0]);
    } else {
        atomic(reinterpret_cast<uint32_t *>(address), i, reg[i.src], reg[0]);
    }
}

/// A slot's dst, src, off and imm as one 8-byte load, taken apart in registers (the barrier
/// stops the compiler from splitting it back into narrow loads): measured 4% faster on
/// dpi.bpf.o, whose handlers wait on loads more than on arithmetic.
inline uint64_t operand_word(const threaded::Slot *ip)
{
    uint64_t w;
    std::memcpy(&w, &ip->dst, sizeof w);
    asm("" : "+r"(w));
    return w;
}

/// `v` read with a scalar load: the caller has just stored the arguments one by one, and a
/// vector load spanning two of those stores waits for them to retire (no store forwarding).
inline uint64_t scalar(const uint64_t &v)
{
    uint64_t x = v;
    asm("" : "+r"(x));
    return x;
}

/// An ALU operation chosen at run time (see run_rare).
uint64_t alu_by_op(const Insn &i, uint64_t d, uint64_t s)
{
    switch (i.op) {
#define HARMONY_ALU_CASE(op)                                                                                           \
    case Op::op: return i.is64 ? alu64<Op::op>(d, s) : alu32<Op::op>(d, s);
        HARMONY_ALU_OPS(HARMONY_ALU_CASE)
#undef HARMONY_ALU_CASE
    default: return d;
    }
}

uint64_t byte_order(const Insn &i, uint64_t v)
{
    if (i.op == Op::Le) { // the host is little endian: only the truncation
        return i.imm == 16 ? static_cast<uint16_t>(v) : i.imm == 32 ? u32(v) : v;
    }
    return byte_swap(v, i.imm);
}

/// The second of a chained pair with a register source: an ALU operation on the first's
/// result, or for a move, which overwriting the first's result would make pointless, the
/// copy of that result to another register (translate chains a move by its source).
template <Op op>
uint64_t chained_second(uint64_t first, uint64_t src)
{
    if constexpr (op == Op::Mov) {
        return first;
    } else {
        return alu64<op>(first, src);
    }
}

enum class Rare { Continue, Stop };

/// The instructions too rare to deserve a handler of their own, and those that write the
/// pinned register (any but lddw); Stop ends the program with r0 (a failed legacy load) or
/// with a fault already recorded.
Rare run_rare(RunContext &context, size_t pc, uint64_t *reg)
{
    const LinkedProgram &program = *context.code->source;
    const Insn &i = program.insns[pc];
    if (i.op <= Op::Mov && i.op != Op::Neg) {
        uint64_t source = i.src_is_reg ? reg[i.src] : static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        reg[i.dst] = alu_by_op(i, reg[i.dst], source);
        return Rare::Continue;
    }
    switch (i.op) {
    case Op::Neg: reg[i.dst] = alu(i, 0 - reg[i.dst]); return Rare::Continue;
    case Op::Le:
    case Op::Be:
    case Op::Bswap: reg[i.dst] = byte_order(i, reg[i.dst]); return Rare::Continue;
    case Op::Load: reg[i.dst] = load(reg[i.src] + i.off, i.size); return Rare::Continue;
    case Op::LoadSx: reg[i.dst] = sign_extend(load(reg[i.src] + i.off, i.size), i.size); return Rare::Continue;
    case Op::MovSx: reg[i.dst] = alu(i, sign_extend(reg[i.src], i.size)); return Rare::Continue;
    case Op::Atomic: atomic_at(i, reg); return Rare::Continue;
    case Op::LoadAbs:
    case Op::LoadInd: return legacy_load(context, i, reg) ? Rare::Continue : Rare::Stop;
    case Op::CallReg: {
        helpers::HelperFn fn = program.helper_by_id ? program.helper_by_id(reg[i.dst]) : nullptr;
        if (!fn) {
            abort_run(*context.run, fmt::format("insn {}: callx to unknown helper {}", pc, reg[i.dst]));
            reg[0] = 0;
            return Rare::Stop;
        }
        reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
        return Rare::Continue;
    }
    default:
        abort_run(*context.run, fmt::format("insn {}: executed the second slot of lddw", pc));
        reg[0] = 0;
        return Rare::Stop;
    }
}

// Runs from `start` until the frame it starts in exits (or a tail call or fault ends the
// run), with r1..r5 = args and r10 = frame_pointer; `depth` frames are already in use
// below it (callbacks). No per-instruction checks: the verifier proved memory access,
// jump targets and termination, and check_structure proved every jump lands on a slot.
// What stays checked at run time is what the kernel checks at run time too: call depth,
// division by zero, legacy packet bounds, callx targets.
uint64_t execute(RunContext &context, const threaded::Slot *start, const uint64_t args[5], uint64_t frame_pointer,
                 int depth)
{
    using namespace threaded;
    static const void *const labels[kHandlerCount] = {
#define HARMONY_FOUR_LABELS(op) &&op##64R, &&op##64I, &&op##32R, &&op##32I,
        HARMONY_ALU_OPS(HARMONY_FOUR_LABELS) HARMONY_JUMP_OPS(HARMONY_FOUR_LABELS)
#undef HARMONY_FOUR_LABELS
#define HARMONY_ONE_LABEL(name) &&name,
            HARMONY_OTHER_HANDLERS(HARMONY_ONE_LABEL)
#undef HARMONY_ONE_LABEL
#define HARMONY_FUSED_LABELS(F, op) &&F##_##op##64R, &&F##_##op##64I,
#define HARMONY_FUSED_FOR(F)                                                                                           \
    HARMONY_ALU_OPS_WITH(HARMONY_FUSED_LABELS, F) HARMONY_JUMP_OPS_WITH(HARMONY_FUSED_LABELS, F)
                HARMONY_FUSED_FIRSTS(HARMONY_FUSED_FOR)
#undef HARMONY_FUSED_FOR
#undef HARMONY_FUSED_LABELS
#define HARMONY_CHAINED_LABELS(F, op) &&F##_##op##64R_Chained, &&F##_##op##64I_Chained,
#define HARMONY_CHAINED_FOR(F)                                                                                         \
    HARMONY_ALU_OPS_WITH(HARMONY_CHAINED_LABELS, F) HARMONY_JUMP_OPS_WITH(HARMONY_CHAINED_LABELS, F)
                    HARMONY_FUSED_FIRSTS(HARMONY_CHAINED_FOR)
#undef HARMONY_CHAINED_FOR
#undef HARMONY_CHAINED_LABELS
#define HARMONY_PAIR_LABEL(F, S) &&F##_##S,
                        HARMONY_STRAIGHT_LINE_PAIRS(HARMONY_PAIR_LABEL)
#undef HARMONY_PAIR_LABEL
#define HARMONY_CHAINED_STORE_LABEL(F, S) &&F##_##S##_Chained,
                            HARMONY_VALUE_CHAINED_STORES(HARMONY_CHAINED_STORE_LABEL)
#undef HARMONY_CHAINED_STORE_LABEL
#define HARMONY_ONE_LABEL(name) &&name,
                                    HARMONY_PINNED_SINGLES(HARMONY_ONE_LABEL)
#undef HARMONY_ONE_LABEL
#define HARMONY_CALL_THEN_LABEL(S) &&Call_##S,
                                HARMONY_AFTER_CALL(HARMONY_CALL_THEN_LABEL)
#undef HARMONY_CALL_THEN_LABEL
#define HARMONY_JUMP_THEN_LABELS(op, S) &&op##64R_##S, &&op##64I_##S,
#define HARMONY_JUMP_THEN_FOR(op) HARMONY_AFTER_JUMP_WITH(HARMONY_JUMP_THEN_LABELS, op)
                                HARMONY_PAIRED_JUMPS(HARMONY_JUMP_THEN_FOR)
#undef HARMONY_JUMP_THEN_FOR
#undef HARMONY_JUMP_THEN_LABELS
    };
    if (start == nullptr) {
        return reinterpret_cast<uint64_t>(labels); // for translate, which binds slots to labels
    }
    const Slot *const base = context.code->slots.data();
    const helpers::HelperFn *const helper_by_slot = context.code->source->helper_by_slot.data();
    const uint32_t stack_size = context.code->source->stack_size;
    RunState &run = *context.run;
    uint64_t reg[11] = {0, scalar(args[0]), scalar(args[1]), scalar(args[2]), scalar(args[3]), scalar(args[4]),
                        0, 0, 0, 0, frame_pointer};
    Frame frames[kMaxFrames];
    int local_depth = 0;
    const Slot *ip = start;
    // The bases of the Fp and Pin handlers, kept equal to reg[10] and reg[pinned] by every
    // handler that can change those (CallLocal, Exit, MovPin64R/I, Generic).
    uint64_t fp = frame_pointer;
    const uint8_t pinned = context.code->pinned;
    uint64_t pin = reg[pinned];

#define DISPATCH() goto *ip->handler
#define NEXT()                                                                                                         \
    do {                                                                                                               \
        ++ip;                                                                                                          \
        DISPATCH();                                                                                                    \
    } while (0)
#define OPW operand_word(ip)
#define DST_INDEX (OPW & 0xff)
#define SRC_INDEX ((OPW >> 8) & 0xff)
#define OFF static_cast<int64_t>(static_cast<int16_t>(OPW >> 16))
#define DST reg[DST_INDEX]
#define SRC reg[SRC_INDEX]
#define IMM static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(OPW >> 32)))
#define ADDRESS(r) (reg[r] + IMM) // loads and register stores carry their offset in imm
#define STORE_IMM_ADDRESS (reg[DST_INDEX] + OFF)

    DISPATCH();

#define HARMONY_ALU_HANDLERS(op)                                                                                       \
    op##64R : DST = alu64<Op::op>(DST, SRC);                                                                           \
    NEXT();                                                                                                            \
    op##64I : DST = alu64<Op::op>(DST, IMM);                                                                           \
    NEXT();                                                                                                            \
    op##32R : DST = alu32<Op::op>(DST, SRC);                                                                           \
    NEXT();                                                                                                            \
    op##32I : DST = alu32<Op::op>(DST, IMM);                                                                           \
    NEXT();
    HARMONY_ALU_OPS(HARMONY_ALU_HANDLERS)
#undef HARMONY_ALU_HANDLERS

#define HARMONY_JUMP_HANDLERS(op)                                                                                      \
    op##64R : ip += jump64<Op::op>(DST, SRC) ? OFF + 1 : 1;                                                            \
    DISPATCH();                                                                                                        \
    op##64I : ip += jump64<Op::op>(DST, IMM) ? OFF + 1 : 1;                                                            \
    DISPATCH();                                                                                                        \
    op##32R : ip += jump32<Op::op>(DST, SRC) ? OFF + 1 : 1;                                                            \
    DISPATCH();                                                                                                        \
    op##32I : ip += jump32<Op::op>(DST, IMM) ? OFF + 1 : 1;                                                            \
    DISPATCH();
    HARMONY_JUMP_OPS(HARMONY_JUMP_HANDLERS)
#undef HARMONY_JUMP_HANDLERS

Neg64:
    DST = 0 - DST;
    NEXT();
Neg32:
    DST = u32(0 - DST);
    NEXT();
Swap16:
    DST = __builtin_bswap16(static_cast<uint16_t>(DST));
    NEXT();
Swap32:
    DST = __builtin_bswap32(static_cast<uint32_t>(DST));
    NEXT();
Swap64:
    DST = __builtin_bswap64(DST);
    NEXT();
Trunc16:
    DST = static_cast<uint16_t>(DST);
    NEXT();
Trunc32:
    DST = u32(DST);
    NEXT();
Nop:
    NEXT();

#define HARMONY_MEMORY_HANDLERS(n)                                                                                     \
    Ld##n : DST = load(ADDRESS(SRC_INDEX), n);                                                                         \
    NEXT();                                                                                                            \
    St##n : store(ADDRESS(DST_INDEX), n, SRC);                                                                         \
    NEXT();                                                                                                            \
    StImm##n : store(STORE_IMM_ADDRESS, n, IMM);                                                                       \
    NEXT();
    HARMONY_MEMORY_SIZES(HARMONY_MEMORY_HANDLERS)
#undef HARMONY_MEMORY_HANDLERS
LdSx1:
    DST = sign_extend(load(ADDRESS(SRC_INDEX), 1), 1);
    NEXT();
LdSx2:
    DST = sign_extend(load(ADDRESS(SRC_INDEX), 2), 2);
    NEXT();
LdSx4:
    DST = sign_extend(load(ADDRESS(SRC_INDEX), 4), 4);
    NEXT();

    // Loads and stores on a machine-register base (see HARMONY_KINDS_OF_WITH).
#define HARMONY_BASE_Any(r) reg[r]
#define HARMONY_BASE_Fp(r) fp
#define HARMONY_BASE_Pin(r) pin
#define HARMONY_LOADED(n, kind) load(HARMONY_BASE_##kind(SRC_INDEX) + IMM, n)
#define HARMONY_LOAD(n, kind) DST = HARMONY_LOADED(n, kind)
#define HARMONY_STORE_OF(n, kind, v) store(HARMONY_BASE_##kind(DST_INDEX) + IMM, n, v)
#define HARMONY_STORE(n, kind) HARMONY_STORE_OF(n, kind, SRC)
#define HARMONY_PINNED_HANDLERS(n, kind)                                                                               \
    Ld##n##kind : HARMONY_LOAD(n, kind);                                                                               \
    NEXT();                                                                                                            \
    St##n##kind : HARMONY_STORE(n, kind);                                                                              \
    NEXT();                                                                                                            \
    StImm##n##kind : store(HARMONY_BASE_##kind(DST_INDEX) + OFF, n, IMM);                                              \
    NEXT();
#define HARMONY_PINNED_FOR_SIZE(n) HARMONY_PINNED_HANDLERS(n, Fp) HARMONY_PINNED_HANDLERS(n, Pin)
    HARMONY_MEMORY_SIZES(HARMONY_PINNED_FOR_SIZE)
#undef HARMONY_PINNED_FOR_SIZE
#undef HARMONY_PINNED_HANDLERS
MovPin64R:
    pin = SRC;
    DST = pin;
    NEXT();
MovPin64I:
    pin = IMM;
    DST = pin;
    NEXT();

LoadImm64:
    DST = static_cast<uint32_t>(ip->imm) | static_cast<uint64_t>(static_cast<uint32_t>(ip[1].imm)) << 32;
    ip += 2; // over the second slot
    DISPATCH();
Ja:
    ip += ip->imm + 1;
    DISPATCH();
#define HARMONY_CALL_HELPER()                                                                                          \
    context.depth = depth + local_depth;                                                                               \
    context.frame_pointer = reg[10];                                                                                   \
    reg[0] = helper_by_slot[ip - base](reg[1], reg[2], reg[3], reg[4], reg[5]);                                        \
    if (run.tail_call || !run.fault.empty()) [[unlikely]] {                                                            \
        return 0; /* the caller continues in the next program, or the run has failed */                                \
    }
Call:
    HARMONY_CALL_HELPER();
    NEXT();
Call_Mov64R:
    HARMONY_CALL_HELPER();
    ++ip;
    DST = SRC;
    NEXT();
Call_Mov64I:
    HARMONY_CALL_HELPER();
    ++ip;
    DST = IMM;
    NEXT();
Call_Jeq64I:
    HARMONY_CALL_HELPER();
    ++ip;
    ip += jump64<Op::Jeq>(DST, IMM) ? OFF + 1 : 1;
    DISPATCH();
Call_Jne64I:
    HARMONY_CALL_HELPER();
    ++ip;
    ip += jump64<Op::Jne>(DST, IMM) ? OFF + 1 : 1;
    DISPATCH();
#undef HARMONY_CALL_HELPER
CallLocal:
    if (depth + local_depth + 1 >= kMaxFrames) {
        return abort_run(run, fmt::format("insn {}: call depth exceeds {} frames", ip - base, kMaxFrames));
    }
    {
        Frame &f = frames[local_depth++];
        f.return_to = ip + 1;
        std::memcpy(f.callee_saved, &reg[6], sizeof f.callee_saved);
        f.frame_pointer = reg[10];
        reg[10] -= stack_size;
        fp = reg[10];
    }
    ip += ip->imm + 1;
    DISPATCH();
Exit:
    if (local_depth == 0) {
        return reg[0];
    }
    {
        Frame &f = frames[--local_depth];
        std::memcpy(&reg[6], f.callee_saved, sizeof f.callee_saved);
        reg[10] = f.frame_pointer;
        fp = reg[10];
        pin = reg[pinned];
        ip = f.return_to;
    }
    DISPATCH();
    // Superinstructions: the first instruction's effect, then the second's in its own slot.
    // HARMONY_VALUE_F is the value the first instruction F writes to its dst.
#define HARMONY_VALUE_Mov64R SRC
#define HARMONY_VALUE_Mov64I IMM
#define HARMONY_VALUE_Ld1 load(ADDRESS(SRC_INDEX), 1)
#define HARMONY_VALUE_Ld2 load(ADDRESS(SRC_INDEX), 2)
#define HARMONY_VALUE_Ld4 load(ADDRESS(SRC_INDEX), 4)
#define HARMONY_VALUE_Ld8 load(ADDRESS(SRC_INDEX), 8)
#define HARMONY_VALUE_Add64I alu64<Op::Add>(DST, IMM)
#define HARMONY_VALUE_And64I alu64<Op::And>(DST, IMM)
#define HARMONY_VALUE_Or64I alu64<Op::Or>(DST, IMM)
#define HARMONY_VALUE_Xor64I alu64<Op::Xor>(DST, IMM)
#define HARMONY_VALUE_Lsh64I alu64<Op::Lsh>(DST, IMM)
#define HARMONY_VALUE_Rsh64I alu64<Op::Rsh>(DST, IMM)
#define HARMONY_VALUE_Add64R alu64<Op::Add>(DST, SRC)
#define HARMONY_VALUE_Or64R alu64<Op::Or>(DST, SRC)
#define HARMONY_FUSED_ALU(F, op)                                                                                       \
    F##_##op##64R : DST = HARMONY_VALUE_##F; ++ip;                                                                     \
    DST = alu64<Op::op>(DST, SRC);                                                                                     \
    NEXT();                                                                                                            \
    F##_##op##64I : DST = HARMONY_VALUE_##F; ++ip;                                                                     \
    DST = alu64<Op::op>(DST, IMM);                                                                                     \
    NEXT();
#define HARMONY_FUSED_JUMP(F, op)                                                                                      \
    F##_##op##64R : DST = HARMONY_VALUE_##F; ++ip;                                                                     \
    ip += jump64<Op::op>(DST, SRC) ? OFF + 1 : 1;                                                                      \
    DISPATCH();                                                                                                        \
    F##_##op##64I : DST = HARMONY_VALUE_##F; ++ip;                                                                     \
    ip += jump64<Op::op>(DST, IMM) ? OFF + 1 : 1;                                                                      \
    DISPATCH();
#define HARMONY_FUSED_FOR(F) HARMONY_ALU_OPS_WITH(HARMONY_FUSED_ALU, F) HARMONY_JUMP_OPS_WITH(HARMONY_FUSED_JUMP, F)
    HARMONY_FUSED_FIRSTS(HARMONY_FUSED_FOR)
#undef HARMONY_FUSED_FOR
#undef HARMONY_FUSED_JUMP
#undef HARMONY_FUSED_ALU
    // Chained: the second's dst is the first's, so the first's result is used from a local
    // (still stored, for a second that reads it as its source too).
#define HARMONY_CHAINED_ALU(F, op)                                                                                     \
    F##_##op##64R_Chained : {                                                                                          \
        const uint64_t first = HARMONY_VALUE_##F;                                                                      \
        DST = first;                                                                                                   \
        ++ip;                                                                                                          \
        DST = chained_second<Op::op>(first, SRC);                                                                      \
    }                                                                                                                  \
    NEXT();                                                                                                            \
    F##_##op##64I_Chained : {                                                                                          \
        const uint64_t first = HARMONY_VALUE_##F;                                                                      \
        ++ip;                                                                                                          \
        DST = alu64<Op::op>(first, IMM);                                                                               \
    }                                                                                                                  \
    NEXT();
#define HARMONY_CHAINED_JUMP(F, op)                                                                                    \
    F##_##op##64R_Chained : {                                                                                          \
        const uint64_t first = HARMONY_VALUE_##F;                                                                      \
        DST = first;                                                                                                   \
        ++ip;                                                                                                          \
        ip += jump64<Op::op>(first, SRC) ? OFF + 1 : 1;                                                                \
    }                                                                                                                  \
    DISPATCH();                                                                                                        \
    F##_##op##64I_Chained : {                                                                                          \
        const uint64_t first = HARMONY_VALUE_##F;                                                                      \
        DST = first;                                                                                                   \
        ++ip;                                                                                                          \
        ip += jump64<Op::op>(first, IMM) ? OFF + 1 : 1;                                                                \
    }                                                                                                                  \
    DISPATCH();
#define HARMONY_CHAINED_FOR(F)                                                                                         \
    HARMONY_ALU_OPS_WITH(HARMONY_CHAINED_ALU, F) HARMONY_JUMP_OPS_WITH(HARMONY_CHAINED_JUMP, F)
    HARMONY_FUSED_FIRSTS(HARMONY_CHAINED_FOR)
#undef HARMONY_CHAINED_FOR
#undef HARMONY_CHAINED_JUMP
#undef HARMONY_CHAINED_ALU

    // The straight-line pairs: HARMONY_EFFECT_F is what instruction F does.
#define HARMONY_EFFECT_Ld1 DST = HARMONY_VALUE_Ld1
#define HARMONY_EFFECT_Ld2 DST = HARMONY_VALUE_Ld2
#define HARMONY_EFFECT_Ld4 DST = HARMONY_VALUE_Ld4
#define HARMONY_EFFECT_Ld8 DST = HARMONY_VALUE_Ld8
#define HARMONY_EFFECT_Ld1Any HARMONY_LOAD(1, Any)
#define HARMONY_EFFECT_Ld1Fp HARMONY_LOAD(1, Fp)
#define HARMONY_EFFECT_Ld1Pin HARMONY_LOAD(1, Pin)
#define HARMONY_EFFECT_Ld2Any HARMONY_LOAD(2, Any)
#define HARMONY_EFFECT_Ld2Fp HARMONY_LOAD(2, Fp)
#define HARMONY_EFFECT_Ld2Pin HARMONY_LOAD(2, Pin)
#define HARMONY_EFFECT_Ld4Any HARMONY_LOAD(4, Any)
#define HARMONY_EFFECT_Ld4Fp HARMONY_LOAD(4, Fp)
#define HARMONY_EFFECT_Ld4Pin HARMONY_LOAD(4, Pin)
#define HARMONY_EFFECT_Ld8Any HARMONY_LOAD(8, Any)
#define HARMONY_EFFECT_Ld8Fp HARMONY_LOAD(8, Fp)
#define HARMONY_EFFECT_Ld8Pin HARMONY_LOAD(8, Pin)
#define HARMONY_EFFECT_St1Any HARMONY_STORE(1, Any)
#define HARMONY_EFFECT_St1Fp HARMONY_STORE(1, Fp)
#define HARMONY_EFFECT_St1Pin HARMONY_STORE(1, Pin)
#define HARMONY_EFFECT_St2Any HARMONY_STORE(2, Any)
#define HARMONY_EFFECT_St2Fp HARMONY_STORE(2, Fp)
#define HARMONY_EFFECT_St2Pin HARMONY_STORE(2, Pin)
#define HARMONY_EFFECT_St4Any HARMONY_STORE(4, Any)
#define HARMONY_EFFECT_St4Fp HARMONY_STORE(4, Fp)
#define HARMONY_EFFECT_St4Pin HARMONY_STORE(4, Pin)
#define HARMONY_EFFECT_St8Any HARMONY_STORE(8, Any)
#define HARMONY_EFFECT_St8Fp HARMONY_STORE(8, Fp)
#define HARMONY_EFFECT_St8Pin HARMONY_STORE(8, Pin)
#define HARMONY_EFFECT_Mov64R DST = HARMONY_VALUE_Mov64R
#define HARMONY_EFFECT_Mov64I DST = HARMONY_VALUE_Mov64I
#define HARMONY_EFFECT_Add64I DST = HARMONY_VALUE_Add64I
#define HARMONY_EFFECT_And64I DST = HARMONY_VALUE_And64I
#define HARMONY_EFFECT_Or64I DST = HARMONY_VALUE_Or64I
#define HARMONY_EFFECT_Xor64I DST = HARMONY_VALUE_Xor64I
#define HARMONY_EFFECT_Lsh64I DST = HARMONY_VALUE_Lsh64I
#define HARMONY_EFFECT_Rsh64I DST = HARMONY_VALUE_Rsh64I
#define HARMONY_EFFECT_Add64R DST = HARMONY_VALUE_Add64R
#define HARMONY_EFFECT_Or64R DST = HARMONY_VALUE_Or64R
#define HARMONY_PAIR(F, S)                                                                                             \
    F##_##S : HARMONY_EFFECT_##F;                                                                                      \
    ++ip;                                                                                                              \
    HARMONY_EFFECT_##S;                                                                                                \
    NEXT();
    HARMONY_STRAIGHT_LINE_PAIRS(HARMONY_PAIR)
#undef HARMONY_PAIR
    // Value-chained stores: HARMONY_VALUE_F for the based loads, HARMONY_STORE_S(v) stores v.
#define HARMONY_VALUE_Ld1Any HARMONY_LOADED(1, Any)
#define HARMONY_VALUE_Ld1Fp HARMONY_LOADED(1, Fp)
#define HARMONY_VALUE_Ld1Pin HARMONY_LOADED(1, Pin)
#define HARMONY_VALUE_Ld2Any HARMONY_LOADED(2, Any)
#define HARMONY_VALUE_Ld2Fp HARMONY_LOADED(2, Fp)
#define HARMONY_VALUE_Ld2Pin HARMONY_LOADED(2, Pin)
#define HARMONY_VALUE_Ld4Any HARMONY_LOADED(4, Any)
#define HARMONY_VALUE_Ld4Fp HARMONY_LOADED(4, Fp)
#define HARMONY_VALUE_Ld4Pin HARMONY_LOADED(4, Pin)
#define HARMONY_VALUE_Ld8Any HARMONY_LOADED(8, Any)
#define HARMONY_VALUE_Ld8Fp HARMONY_LOADED(8, Fp)
#define HARMONY_VALUE_Ld8Pin HARMONY_LOADED(8, Pin)
#define HARMONY_STORE_St1Any(v) HARMONY_STORE_OF(1, Any, v)
#define HARMONY_STORE_St1Fp(v) HARMONY_STORE_OF(1, Fp, v)
#define HARMONY_STORE_St1Pin(v) HARMONY_STORE_OF(1, Pin, v)
#define HARMONY_STORE_St2Any(v) HARMONY_STORE_OF(2, Any, v)
#define HARMONY_STORE_St2Fp(v) HARMONY_STORE_OF(2, Fp, v)
#define HARMONY_STORE_St2Pin(v) HARMONY_STORE_OF(2, Pin, v)
#define HARMONY_STORE_St4Any(v) HARMONY_STORE_OF(4, Any, v)
#define HARMONY_STORE_St4Fp(v) HARMONY_STORE_OF(4, Fp, v)
#define HARMONY_STORE_St4Pin(v) HARMONY_STORE_OF(4, Pin, v)
#define HARMONY_STORE_St8Any(v) HARMONY_STORE_OF(8, Any, v)
#define HARMONY_STORE_St8Fp(v) HARMONY_STORE_OF(8, Fp, v)
#define HARMONY_STORE_St8Pin(v) HARMONY_STORE_OF(8, Pin, v)
#define HARMONY_CHAINED_STORE(F, S)                                                                                    \
    F##_##S##_Chained : {                                                                                              \
        const uint64_t first = HARMONY_VALUE_##F;                                                                      \
        DST = first;                                                                                                   \
        ++ip;                                                                                                          \
        HARMONY_STORE_##S(first);                                                                                      \
    }                                                                                                                  \
    NEXT();
    HARMONY_VALUE_CHAINED_STORES(HARMONY_CHAINED_STORE)
#undef HARMONY_CHAINED_STORE
    // A jump that falls through runs the next instruction before dispatching again.
#define HARMONY_JUMP_THEN(op, S)                                                                                       \
    op##64R_##S : if (jump64<Op::op>(DST, SRC)) {                                                                      \
        ip += OFF + 1;                                                                                                 \
        DISPATCH();                                                                                                    \
    }                                                                                                                  \
    ++ip;                                                                                                              \
    HARMONY_EFFECT_##S;                                                                                                \
    NEXT();                                                                                                            \
    op##64I_##S : if (jump64<Op::op>(DST, IMM)) {                                                                      \
        ip += OFF + 1;                                                                                                 \
        DISPATCH();                                                                                                    \
    }                                                                                                                  \
    ++ip;                                                                                                              \
    HARMONY_EFFECT_##S;                                                                                                \
    NEXT();
#define HARMONY_JUMP_THEN_FOR(op) HARMONY_AFTER_JUMP_WITH(HARMONY_JUMP_THEN, op)
    HARMONY_PAIRED_JUMPS(HARMONY_JUMP_THEN_FOR)
#undef HARMONY_JUMP_THEN_FOR
#undef HARMONY_JUMP_THEN

Generic:
    if (run_rare(context, static_cast<size_t>(ip - base), reg) == Rare::Stop) {
        return reg[0];
    }
    pin = reg[pinned]; // translate sends every write of the pinned register here
    NEXT();

#undef DISPATCH
#undef NEXT
#undef DST
#undef SRC
#undef IMM
#undef ADDRESS
#undef STORE_IMM_ADDRESS
}

/// The program as threaded code bound to execute's handler labels.
threaded::Code translate(const LinkedProgram &program)
{
    RunContext none{};
    const uint64_t no_args[5] = {};
    auto labels = reinterpret_cast<const void *const *>(execute(none, nullptr, no_args, 0, 0));
    return threaded::translate(program, labels);
}

// vm::RunState::call_subprogram for the interpreter: as a CallLocal from the instruction
// that called the helper, a new frame below the caller's, depth-checked.
uint64_t call_subprogram(void *executor, uint64_t pc, const uint64_t args[5])
{
    RunContext &caller = *static_cast<RunContext *>(executor);
    const threaded::Code &code = *caller.code;
    if (pc >= code.slots.size() || code.source->insns[pc].op == Op::Filler) {
        return abort_run(*caller.run, fmt::format("callback at insn {} is not an instruction of the program", pc));
    }
    if (caller.depth + 1 >= kMaxFrames) {
        return abort_run(*caller.run, fmt::format("insn {}: call depth exceeds {} frames", pc, kMaxFrames));
    }
    RunContext callee = caller;
    caller.run->executor = &callee;
    uint64_t r0 = execute(callee, &code.slots[pc], args, caller.frame_pointer - code.source->stack_size,
                          caller.depth + 1);
    caller.run->executor = &caller;
    return r0;
}

// Structural checks the switch relies on: every jump and call lands on an instruction,
// every helper call is resolved, and the program cannot run off its end.
Result<void> check_structure(const LinkedProgram &program)
{
    const auto &insns = program.insns;
    auto refused = [](size_t pc, std::string why) {
        return fail("prepare interpreter", fmt::format("insn {}", pc), std::move(why));
    };
    if (insns.empty()) {
        return fail("prepare interpreter", "program", "no instructions");
    }
    if (program.stack_size == 0 || program.stack_size > kMaxStackPerFrame) {
        return fail("prepare interpreter", "program",
                    fmt::format("stack size {} is not in 1..512", program.stack_size));
    }
    auto lands = [&](int64_t target) {
        return target >= 0 && static_cast<size_t>(target) < insns.size() && insns[target].op != Op::Filler;
    };
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        const Insn &i = insns[pc];
        bool jumps = (i.op >= Op::Ja && i.op <= Op::Jsle);
        if (jumps && !lands(isa::jump_target(pc, i))) {
            return refused(pc, fmt::format("jump to {} lands outside the program or inside lddw",
                                           isa::jump_target(pc, i)));
        }
        if (i.op == Op::CallLocal && !lands(static_cast<int64_t>(pc) + 1 + i.imm)) {
            return refused(pc, fmt::format("local call to pc{:+d} lands outside the program", i.imm));
        }
        if (threaded::written_register(i) == 10) {
            return refused(pc, "frame pointer is read only"); // as the kernel: the run loop keeps r10 in a register
        }
        if (i.op == Op::Call && (pc >= program.helper_by_slot.size() || !program.helper_by_slot[pc])) {
            return refused(pc, fmt::format("call to unresolved helper {}", i.imm));
        }
        bool lddw_pair = i.op == Op::LoadImm64 ? pc + 1 < insns.size() && insns[pc + 1].op == Op::Filler
                                                : i.op != Op::Filler || (pc > 0 && insns[pc - 1].op == Op::LoadImm64);
        if (!lddw_pair) {
            return refused(pc, "lddw without its second slot");
        }
    }
    if (insns.back().op != Op::Exit && insns.back().op != Op::Ja) {
        return refused(insns.size() - 1,
                       "the last instruction is neither exit nor a jump, so execution runs off the end");
    }
    return {};
}

class Interpreter final : public Executor {
public:
    explicit Interpreter(LinkedProgram program)
        : program_(std::make_unique<LinkedProgram>(std::move(program))), main_(translate(*program_))
    {
    }

    uint64_t run(void *ctx, uint64_t ctx_len) override
    {
        RunState &run = current_run();
        run = RunState{};
        run.xdp = ctx_len == 0 ? static_cast<XdpBuff *>(ctx) : nullptr;
        alignas(16) uint8_t stack[kMaxFrames * kMaxStackPerFrame];
        const uint64_t top = reinterpret_cast<uint64_t>(stack + sizeof stack);
        const uint64_t args[5] = {reinterpret_cast<uint64_t>(ctx), ctx_len, 0, 0, 0};
        RunContext context{.run = &run, .code = &main_, .ctx = ctx, .ctx_len = ctx_len, .depth = 0,
                           .frame_pointer = top};
        run.call_subprogram = call_subprogram;
        run.executor = &context;
        for (;;) {
            run.program = context.code->source;
            uint64_t r0 = execute(context, context.code->slots.data(), args, top, 0);
            const LinkedProgram *next = run.tail_call;
            if (next == nullptr || !run.fault.empty()) {
                return r0;
            }
            run.tail_call = nullptr;
            context.code = code_for(*next, run);
            if (context.code == nullptr) {
                return 0;
            }
        }
    }

private:
    std::unique_ptr<LinkedProgram> program_;
    threaded::Code main_;
    std::mutex tail_targets_mutex_; // runs may share the executor across threads
    std::unordered_map<const LinkedProgram *, threaded::Code> tail_targets_;

    /// A tail call's target, translated on first use (targets outlive the executor, as
    /// the programs of one object do).
    const threaded::Code *code_for(const LinkedProgram &program, RunState &run)
    {
        if (&program == program_.get()) {
            return &main_;
        }
        std::lock_guard lock(tail_targets_mutex_);
        if (auto it = tail_targets_.find(&program); it != tail_targets_.end()) {
            return &it->second;
        }
        if (auto ok = check_structure(program); !ok) {
            abort_run(run, "tail call: " + ok.error().message());
            return nullptr;
        }
        return &tail_targets_.emplace(&program, translate(program)).first->second;
    }
};

} // namespace

Result<std::unique_ptr<Executor>> make_interpreter(const LinkedProgram &program)
{
    if (auto ok = check_structure(program); !ok) {
        return std::unexpected(ok.error());
    }
    return std::make_unique<Interpreter>(program);
}

} // namespace harmony::vm
