// The decoded form of a BPF instruction (RFC 9669). Decoded once by decode(); the
// verifier, interpreter, JIT, requirements scanner and disassembler all consume this one
// form, so opcode bits are interpreted in exactly one place (decode.cpp).
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace harmony::isa {

/// One 8-byte instruction slot as stored in the ELF section.
struct RawInsn {
    uint8_t code;
    uint8_t dst : 4;
    uint8_t src : 4;
    int16_t off;
    int32_t imm;
};
static_assert(sizeof(RawInsn) == 8);

enum class Op : uint8_t {
    // ALU, 32- or 64-bit (is64). Sources: register (src_is_reg) or imm.
    Add, Sub, Mul, Div, SDiv, Mod, SMod, Or, And, Xor, Lsh, Rsh, Arsh, Neg,
    Mov,   ///< plain move
    MovSx, ///< sign-extending move from the low `size` bytes (1, 2, 4) of src
    Le,    ///< to little endian: imm = 16, 32, 64 (truncates)
    Be,    ///< to big endian: imm = 16, 32, 64
    Bswap, ///< unconditional byte swap (ALU64 END): imm = 16, 32, 64
    // Memory: [reg + off], `size` bytes.
    Load,     ///< dst = *(uN *)(src + off), zero-extended
    LoadSx,   ///< dst = *(sN *)(src + off), sign-extended
    Store,    ///< *(uN *)(dst + off) = src
    StoreImm, ///< *(uN *)(dst + off) = imm
    Atomic,   ///< atomic `atomic` op on *(uN *)(dst + off) with src; size 4 or 8
    LoadImm64, ///< dst = imm64 (two slots); `pseudo` says what imm64 means
    LoadAbs,  ///< legacy packet load: r0 = ntohN(skb[imm])
    LoadInd,  ///< legacy packet load: r0 = ntohN(skb[src + imm])
    // Jumps: target = pc + 1 + off (Ja32: pc + 1 + imm). Conditions compare dst with
    // src or imm, 64-bit (is64) or on the low 32 bits (JMP32 class).
    Ja, Jeq, Jgt, Jge, Jset, Jne, Jsgt, Jsge, Jlt, Jle, Jslt, Jsle,
    Call,      ///< helper call: imm = helper id (pseudo == 0)
    CallLocal, ///< bpf-to-bpf call: target = pc + 1 + imm (pseudo == 1)
    CallReg,   ///< callx: target address in dst register (rarely used)
    Exit,
    /// Second slot of a LoadImm64: not an instruction; jumping onto it is an error.
    Filler,
};

enum class AtomicOp : uint8_t { Add, Or, And, Xor, FetchAdd, FetchOr, FetchAnd, FetchXor, Xchg, CmpXchg };

/// Meaning of `pseudo` on LoadImm64 (the src register field, as in the kernel).
enum Pseudo : uint8_t {
    kImm = 0,
    kMapFd = 1,       ///< BPF_PSEUDO_MAP_FD: imm = map index after relocation
    kMapValue = 2,    ///< BPF_PSEUDO_MAP_VALUE: map index, off in next slot
    kBtfId = 3,
    kFunc = 4,        ///< BPF_PSEUDO_FUNC: address of a subprogram
    kMapIdx = 5,
    kMapIdxValue = 6,
};

struct Insn {
    Op op = Op::Filler;
    bool is64 = true;        ///< ALU64 / JMP (true) versus ALU32 / JMP32 (false)
    bool src_is_reg = false; ///< BPF_X (true) versus BPF_K (false)
    uint8_t dst = 0;
    uint8_t src = 0;
    uint8_t size = 0; ///< memory width in bytes (1, 2, 4, 8), MovSx source width
    AtomicOp atomic = AtomicOp::Add;
    uint8_t pseudo = 0; ///< LoadImm64 and Call src field
    int16_t off = 0;
    int32_t imm = 0;
    uint64_t imm64 = 0; ///< LoadImm64: both halves joined
    RawInsn raw{};      ///< the slot as read, for printing and errors
};

/// Decodes every slot. The result has one entry per slot (LoadImm64 takes two, the second
/// is Op::Filler), so jump arithmetic stays in slot units. Errors carry the slot index and
/// the reason, e.g. "insn 4: unknown opcode 0xe7".
Result<std::vector<Insn>> decode(std::span<const RawInsn> slots);

/// Kernel-style text of one instruction, e.g. "r0 = *(u32 *)(r1 + 4)".
std::string disassemble(const Insn &insn);

/// Jeq .. Jsle: the jumps that compare dst with src or imm.
inline bool is_conditional_jump(Op op)
{
    return op >= Op::Jeq && op <= Op::Jsle;
}

/// Where a jump at `pc` lands.
inline int64_t jump_target(size_t pc, const Insn &insn)
{
    return static_cast<int64_t>(pc) + 1 + (insn.op == Op::Ja && !insn.is64 ? insn.imm : insn.off);
}

} // namespace harmony::isa
