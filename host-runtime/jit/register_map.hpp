// Where each BPF register lives in x86-64 code. The mapping is the Linux kernel's
// (arch/x86/net/bpf_jit_comp.c): r1-r5 sit in the System V argument registers so a helper
// call needs no shuffling, r0 in rax where a C function returns, r6-r9 and r10 in
// callee-saved registers so they survive helper calls for free.
#pragma once

#include <asmjit/x86.h>

#include <array>
#include <cstdint>

namespace harmony::jit {

namespace x86 = asmjit::x86;

inline constexpr std::array<uint32_t, 11> kBpfToX86 = {
    x86::Gp::kIdAx,  // r0: return value
    x86::Gp::kIdDi,  // r1: first argument
    x86::Gp::kIdSi,  // r2
    x86::Gp::kIdDx,  // r3
    x86::Gp::kIdCx,  // r4
    x86::Gp::kIdR8,  // r5
    x86::Gp::kIdBx,  // r6: callee-saved
    x86::Gp::kIdR13, // r7
    x86::Gp::kIdR14, // r8
    x86::Gp::kIdR15, // r9
    x86::Gp::kIdBp,  // r10: frame pointer
};

/// Scratch registers no BPF register lives in: caller-saved, so free at every instruction.
inline const x86::Gpq kScratchA = x86::r11; ///< operand staging (divisor, shift count, ...)
inline const x86::Gpq kScratchB = x86::r10; ///< saves rax around div and atomics
inline const x86::Gpq kScratchC = x86::r9;  ///< saves rdx around div
/// Callee-saved and never a BPF register: points at the native frame of the current run,
/// whose first slot holds the RunState pointer. It survives helper and bpf-to-bpf calls.
inline const x86::Gpq kRunFrame = x86::r12;

inline x86::Gpq q(uint8_t bpf_reg) { return x86::gpq(kBpfToX86[bpf_reg]); }
inline x86::Gpd d(uint8_t bpf_reg) { return x86::gpd(kBpfToX86[bpf_reg]); }
inline x86::Gpw w(uint8_t bpf_reg) { return x86::gpw(kBpfToX86[bpf_reg]); }
inline x86::GpbLo b(uint8_t bpf_reg) { return x86::gpb(kBpfToX86[bpf_reg]); }

/// The register of `bpf_reg` at the width of a 32- or 64-bit operation.
inline x86::Gp sized(uint8_t bpf_reg, bool is64) { return is64 ? x86::Gp(q(bpf_reg)) : x86::Gp(d(bpf_reg)); }

} // namespace harmony::jit
