// The interpreter's compact form: each decoded instruction translated once into a 16-byte
// slot whose handler index already encodes the operation, the operand width, the source
// kind (register or immediate) and the memory size, so the run loop dispatches once per
// instruction (computed goto) and never re-examines an instruction's mode bits.
// Internal to the interpreter.
#pragma once

#include "host-runtime/vm.hpp"

#include <cstdint>
#include <vector>

namespace harmony::vm::threaded {

#define HARMONY_ALU_OPS(X)                                                                                             \
    X(Add) X(Sub) X(Mul) X(Div) X(SDiv) X(Mod) X(SMod) X(Or) X(And) X(Xor) X(Lsh) X(Rsh) X(Arsh) X(Mov)
#define HARMONY_JUMP_OPS(X) X(Jeq) X(Jgt) X(Jge) X(Jset) X(Jne) X(Jsgt) X(Jsge) X(Jlt) X(Jle) X(Jslt) X(Jsle)
#define HARMONY_MEMORY_SIZES(X) X(1) X(2) X(4) X(8)
/// Handlers beyond the ALU and jump families, in label order.
#define HARMONY_OTHER_HANDLERS(X)                                                                                      \
    X(Neg64) X(Neg32) X(Swap16) X(Swap32) X(Swap64) X(Trunc16) X(Trunc32) X(Nop) X(Ld1) X(Ld2) X(Ld4) X(Ld8)           \
    X(LdSx1) X(LdSx2) X(LdSx4) X(St1) X(St2) X(St4) X(St8) X(StImm1) X(StImm2) X(StImm4) X(StImm8) X(Ja)               \
    X(LoadImm64) X(Call) X(CallLocal) X(Exit) X(Generic)

/// The seconds of the fused pairs below: the ALU operations and jumps of parsing code.
/// Multiplication, division, modulo, arithmetic shifts and signed compares run alone: they
/// are rare in clang's packet code, and each second costs 56 handlers (2 forms x 14 firsts
/// x fused and chained), which make the run loop larger for every program (measured: a
/// larger loop runs dpi.bpf.o slower even where the extra handlers never run).
#define HARMONY_ALU_OPS_WITH(X, F) X(F, Add) X(F, Sub) X(F, Or) X(F, And) X(F, Xor) X(F, Lsh) X(F, Rsh) X(F, Mov)
#define HARMONY_JUMP_OPS_WITH(X, F) X(F, Jeq) X(F, Jgt) X(F, Jge) X(F, Jset) X(F, Jne) X(F, Jlt) X(F, Jle)
/// The same jumps as the firsts of the jump-then pairs below (HARMONY_APPLY: X(op)).
#define HARMONY_PAIRED_JUMPS(X) HARMONY_JUMP_OPS_WITH(HARMONY_APPLY, X)
/// Superinstructions: a move, load or 64-bit ALU operation immediately followed by a
/// 64-bit ALU operation or jump (the bulk of clang's parsing code) runs as one handler,
/// F_op64R / F_op64I. The second instruction keeps its own slot, so a jump landing on it
/// still works. Each pair has a second, chained form (F_op64R_Chained...) for when the
/// second instruction's dst is the first's (for a register move, its source: a move onto
/// the first's dst would discard it): the first result then flows to the second in a
/// machine register instead of through the register file's memory, which is what the
/// dependent chains of parsing code (load, mask, compare; compute, copy) wait on.
#define HARMONY_FUSED_FIRSTS(X)                                                                                        \
    X(Mov64R) X(Mov64I) X(Ld1) X(Ld2) X(Ld4) X(Ld8) X(Add64I) X(And64I) X(Or64I) X(Xor64I) X(Lsh64I) X(Rsh64I)         \
    X(Add64R) X(Or64R)
/// More pairs, F_S, for the straight-line code between the parsing branches (clang's
/// field-by-field copies and initialisations): a load or store, move or 64-bit ALU operation
/// followed by a load or store; a store followed by a move; and a 64-bit conditional jump
/// (HARMONY_PAIRED_JUMPS) followed, when it falls through, by a move or load; a helper call
/// followed by the move or test of its result.
///
/// In the first three, each load and store comes in three base kinds, named by suffix: Any
/// reads its base register from the register file; Fp is r10 and Pin the program's pinned
/// register (Code::pinned), which the run loop keeps in machine registers. Most loads and
/// stores of parsing code are based on one of the two (dpi.bpf.o: 130 of 188 per packet),
/// and the run loop is bound by loads: a base read from the register file is one more load,
/// and one more step in the chain from the operand word to the memory access.
#define HARMONY_NONMEMORY_FIRSTS_CARRYING(Y, X)                                                                        \
    Y(X, Mov64R) Y(X, Mov64I) Y(X, Add64I) Y(X, And64I) Y(X, Or64I) Y(X, Xor64I) Y(X, Lsh64I) Y(X, Rsh64I)             \
    Y(X, Add64R) Y(X, Or64R)
#define HARMONY_APPLY(X, F) X(F)
#define HARMONY_NONMEMORY_THEN_MEMORY_FIRSTS(X) HARMONY_NONMEMORY_FIRSTS_CARRYING(HARMONY_APPLY, X)
#define HARMONY_MEMORY_OPS(X) X(Ld1) X(Ld2) X(Ld4) X(Ld8) X(St1) X(St2) X(St4) X(St8)
#define HARMONY_STORES(X) X(St1) X(St2) X(St4) X(St8)
/// A load or store `op` with each base kind, as X(F, opKind); Y(X, opKind) for the outer
/// loop of a pair family (the preprocessor expands no macro inside itself).
#define HARMONY_KINDS_OF_WITH(X, F, op) X(F, op##Any) X(F, op##Fp) X(F, op##Pin)
#define HARMONY_KINDS_CARRYING(Y, X, op) Y(X, op##Any) Y(X, op##Fp) Y(X, op##Pin)
#define HARMONY_BASED_MEMORY_OPS_WITH(X, F)                                                                            \
    HARMONY_KINDS_OF_WITH(X, F, Ld1) HARMONY_KINDS_OF_WITH(X, F, Ld2) HARMONY_KINDS_OF_WITH(X, F, Ld4)                 \
    HARMONY_KINDS_OF_WITH(X, F, Ld8) HARMONY_KINDS_OF_WITH(X, F, St1) HARMONY_KINDS_OF_WITH(X, F, St2)                 \
    HARMONY_KINDS_OF_WITH(X, F, St4) HARMONY_KINDS_OF_WITH(X, F, St8)
#define HARMONY_MOVES_WITH(X, F) X(F, Mov64R) X(F, Mov64I)
/// Every straight-line pair above but the jump and call ones, as X(F, S), in handler order:
/// load/store then load/store, move/ALU then load/store, store then move. One list for the
/// enum, the run loop's label table and its handlers.
#define HARMONY_STRAIGHT_LINE_PAIRS(X)                                                                                 \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, Ld1)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, Ld2)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, Ld4)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, Ld8)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, St1)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, St2)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, St4)                                                      \
    HARMONY_KINDS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X, St8)                                                      \
    HARMONY_NONMEMORY_FIRSTS_CARRYING(HARMONY_BASED_MEMORY_OPS_WITH, X)                                                \
    HARMONY_KINDS_CARRYING(HARMONY_MOVES_WITH, X, St1) HARMONY_KINDS_CARRYING(HARMONY_MOVES_WITH, X, St2)              \
    HARMONY_KINDS_CARRYING(HARMONY_MOVES_WITH, X, St4) HARMONY_KINDS_CARRYING(HARMONY_MOVES_WITH, X, St8)
/// The same pairs of a first that writes a register and a store of that register, as
/// X(F, S): the stored value flows in a machine register instead of being read back from
/// the register file just written (clang's copies: load a field, store it elsewhere).
#define HARMONY_STORES_WITH(X, F)                                                                                      \
    HARMONY_KINDS_OF_WITH(X, F, St1) HARMONY_KINDS_OF_WITH(X, F, St2) HARMONY_KINDS_OF_WITH(X, F, St4)                 \
    HARMONY_KINDS_OF_WITH(X, F, St8)
#define HARMONY_VALUE_CHAINED_STORES(X)                                                                                \
    HARMONY_KINDS_CARRYING(HARMONY_STORES_WITH, X, Ld1) HARMONY_KINDS_CARRYING(HARMONY_STORES_WITH, X, Ld2)            \
    HARMONY_KINDS_CARRYING(HARMONY_STORES_WITH, X, Ld4) HARMONY_KINDS_CARRYING(HARMONY_STORES_WITH, X, Ld8)            \
    HARMONY_NONMEMORY_FIRSTS_CARRYING(HARMONY_STORES_WITH, X)
/// Single loads and stores on a machine-register base (Any is the plain handler), and the
/// moves into the pinned register, which update its machine-register copy too.
#define HARMONY_PINNED_SINGLES(X)                                                                                      \
    X(Ld1Fp) X(Ld1Pin) X(Ld2Fp) X(Ld2Pin) X(Ld4Fp) X(Ld4Pin) X(Ld8Fp) X(Ld8Pin) X(St1Fp) X(St1Pin) X(St2Fp)           \
    X(St2Pin) X(St4Fp) X(St4Pin) X(St8Fp) X(St8Pin) X(StImm1Fp) X(StImm1Pin) X(StImm2Fp) X(StImm2Pin) X(StImm4Fp)    \
    X(StImm4Pin) X(StImm8Fp) X(StImm8Pin) X(MovPin64R) X(MovPin64I)
constexpr int kBaseKinds = 3;
#define HARMONY_AFTER_JUMP_WITH(X, op)                                                                                 \
    X(op, Mov64R) X(op, Mov64I) X(op, Ld1) X(op, Ld2) X(op, Ld4) X(op, Ld8)
constexpr int kAfterJump = 6; ///< seconds per jump in HARMONY_AFTER_JUMP_WITH
#define HARMONY_AFTER_CALL(X) X(Mov64R) X(Mov64I) X(Jeq64I) X(Jne64I)

enum Handler : uint16_t {
#define HARMONY_FOUR_VARIANTS(op) op##64R, op##64I, op##32R, op##32I,
    HARMONY_ALU_OPS(HARMONY_FOUR_VARIANTS) HARMONY_JUMP_OPS(HARMONY_FOUR_VARIANTS)
#undef HARMONY_FOUR_VARIANTS
#define HARMONY_ONE(name) name,
    HARMONY_OTHER_HANDLERS(HARMONY_ONE)
#undef HARMONY_ONE
#define HARMONY_FUSED_PAIR(F, op) F##_##op##64R, F##_##op##64I,
#define HARMONY_FUSED_FOR(F) HARMONY_ALU_OPS_WITH(HARMONY_FUSED_PAIR, F) HARMONY_JUMP_OPS_WITH(HARMONY_FUSED_PAIR, F)
    HARMONY_FUSED_FIRSTS(HARMONY_FUSED_FOR)
#undef HARMONY_FUSED_FOR
#undef HARMONY_FUSED_PAIR
#define HARMONY_CHAINED_PAIR(F, op) F##_##op##64R_Chained, F##_##op##64I_Chained,
#define HARMONY_CHAINED_FOR(F)                                                                                         \
    HARMONY_ALU_OPS_WITH(HARMONY_CHAINED_PAIR, F) HARMONY_JUMP_OPS_WITH(HARMONY_CHAINED_PAIR, F)
    HARMONY_FUSED_FIRSTS(HARMONY_CHAINED_FOR)
#undef HARMONY_CHAINED_FOR
#undef HARMONY_CHAINED_PAIR
#define HARMONY_PAIR(F, S) F##_##S,
    HARMONY_STRAIGHT_LINE_PAIRS(HARMONY_PAIR)
#undef HARMONY_PAIR
#define HARMONY_CHAINED_STORE(F, S) F##_##S##_Chained,
    HARMONY_VALUE_CHAINED_STORES(HARMONY_CHAINED_STORE)
#undef HARMONY_CHAINED_STORE
#define HARMONY_ONE(name) name,
    HARMONY_PINNED_SINGLES(HARMONY_ONE)
#undef HARMONY_ONE
#define HARMONY_CALL_THEN(S) Call_##S,
    HARMONY_AFTER_CALL(HARMONY_CALL_THEN)
#undef HARMONY_CALL_THEN
#define HARMONY_JUMP_THEN_PAIR(op, S) op##64R_##S, op##64I_##S,
#define HARMONY_JUMP_THEN_FOR(op) HARMONY_AFTER_JUMP_WITH(HARMONY_JUMP_THEN_PAIR, op)
    HARMONY_PAIRED_JUMPS(HARMONY_JUMP_THEN_FOR)
#undef HARMONY_JUMP_THEN_FOR
#undef HARMONY_JUMP_THEN_PAIR
    kHandlerCount
};

/// One instruction slot: `handler` is the address of the handler's label in the run loop
/// (bound by translate), so dispatch is one indirect jump through the slot. `imm` is the
/// slot offset for Ja and CallLocal; LoadImm64 keeps its low half here and its high half in
/// the second slot's `imm`; loads and register stores keep their offset there too. Generic covers the rare instructions (MovSx, atomics, legacy
/// packet loads, callx, lddw's second slot), which read the decoded isa::Insn at the same
/// index; Call finds its helper in LinkedProgram::helper_by_slot the same way.
struct Slot {
    const void *handler = nullptr;
    uint8_t dst = 0;
    uint8_t src = 0;
    int16_t off = 0;
    int32_t imm = 0;
};
static_assert(sizeof(Slot) == 16);

/// A program translated for the interpreter; `source` must outlive it.
struct Code {
    const LinkedProgram *source = nullptr;
    std::vector<Slot> slots;
    /// The register (r6-r9) whose loads and stores run on the Pin handlers, or 0 for none:
    /// the one most used as a base, if used more than twice as often as it is written, and
    /// never written by lddw. Moves into it run on MovPin64R/I, every other write on Generic; both refresh
    /// the copy.
    uint8_t pinned = 0;
};

/// The register an instruction writes, or -1 (helper calls write r0 and clobber r1-r5;
/// neither is ever pinned).
int written_register(const isa::Insn &i);

/// Translates a structurally checked program (see check_structure in interpreter.cpp);
/// `labels[h]` is the run loop's label for handler h.
Code translate(const LinkedProgram &program, const void *const *labels);

} // namespace harmony::vm::threaded
