// Raw instruction slots, for programs the compiler would not write (the decoder's and the
// DPDK tests).
#pragma once

#include "host-runtime/insn.hpp"

#include <cstdint>

namespace harmony::test {

inline isa::RawInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    isa::RawInsn r{};
    r.code = code;
    r.dst = dst;
    r.src = src;
    r.off = off;
    r.imm = imm;
    return r;
}

inline const isa::RawInsn kExit = insn(0x95, 0, 0, 0, 0);
inline const isa::RawInsn kR0Pass = insn(0xb7, 0, 0, 0, 2); // r0 = XDP_PASS

} // namespace harmony::test
