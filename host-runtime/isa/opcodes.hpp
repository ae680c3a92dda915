// The BPF opcode byte, field by field (RFC 9669 section 3), and the per-opcode rule table
// that decode.cpp and assembler.cpp share. Internal to harmony_isa.
#pragma once

#include "host-runtime/insn.hpp"

#include <array>
#include <cstdint>

namespace harmony::isa::bits {

// Instruction classes (low 3 bits).
inline constexpr uint8_t kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03;
inline constexpr uint8_t kAlu = 0x04, kJmp = 0x05, kJmp32 = 0x06, kAlu64 = 0x07;
// Source flag (bit 3) of ALU and JMP classes.
inline constexpr uint8_t kK = 0x00, kX = 0x08;
// Size (bits 3-4) and mode (bits 5-7) of load and store classes.
inline constexpr uint8_t kW = 0x00, kH = 0x08, kB = 0x10, kDw = 0x18;
inline constexpr uint8_t kModeImm = 0x00, kModeAbs = 0x20, kModeInd = 0x40, kModeMem = 0x60, kModeMemSx = 0x80,
                         kModeAtomic = 0xc0;
// ALU operations (bits 4-7).
inline constexpr uint8_t kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40, kAnd = 0x50, kLsh = 0x60,
                         kRsh = 0x70, kNeg = 0x80, kMod = 0x90, kXor = 0xa0, kMov = 0xb0, kArsh = 0xc0, kEnd = 0xd0;
// Jump operations (bits 4-7).
inline constexpr uint8_t kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40, kJne = 0x50, kJsgt = 0x60,
                         kJsge = 0x70, kCall = 0x80, kExit = 0x90, kJlt = 0xa0, kJle = 0xb0, kJslt = 0xc0,
                         kJsle = 0xd0;
// END: the source flag picks the byte order (ALU class); ALU64 END is an unconditional swap.
inline constexpr uint8_t kToLe = 0x00, kToBe = 0x08;
// Atomic operations, in the imm field of STX | ATOMIC.
inline constexpr int32_t kFetch = 0x01, kAtomicXchg = 0xe0 | kFetch, kAtomicCmpXchg = 0xf0 | kFetch;

inline constexpr uint8_t cls(uint8_t code) { return code & 0x07; }
inline constexpr uint8_t size_bytes(uint8_t size_field)
{
    return size_field == kB ? 1 : size_field == kH ? 2 : size_field == kW ? 4 : 8;
}
inline constexpr uint8_t size_field(uint8_t bytes)
{
    return bytes == 1 ? kB : bytes == 2 ? kH : bytes == 4 ? kW : kDw;
}

} // namespace harmony::isa::bits

namespace harmony::isa {

/// Which fields an opcode uses, and so which must be zero: the operand shape.
enum class Form : uint8_t {
    Invalid,
    AluImm,   ///< dst op= imm (off: 1 for SDiv/SMod)
    AluReg,   ///< dst op= src (off: 1 for SDiv/SMod, 8/16/32 for MovSx)
    AluUnary, ///< neg dst
    End,      ///< byte order: imm = 16, 32, 64
    LoadMem,  ///< dst = [src + off]
    StoreImm, ///< [dst + off] = imm
    StoreReg, ///< [dst + off] = src
    Atomic,   ///< [dst + off] op= src, imm = operation
    LoadImm64,
    LegacyAbs,
    LegacyInd,
    JumpImm,  ///< if dst op imm goto off
    JumpReg,  ///< if dst op src goto off
    Ja,       ///< goto off
    Ja32,     ///< goto imm
    Call,     ///< call imm (src: 0 helper, 1 local)
    CallReg,  ///< callx dst
    Exit,
};

/// What one opcode byte means: the row of the table, in the manner of DPDK's ins_chk.
struct OpcodeRule {
    Form form = Form::Invalid;
    Op op = Op::Filler;
    bool is64 = true;
    uint8_t size = 0; ///< memory width in bytes
};

/// The rule of every opcode byte; Form::Invalid for unassigned ones.
const std::array<OpcodeRule, 256> &opcode_rules();

} // namespace harmony::isa
