// Tiny BPF programs, one per instruction feature, that the kernel and rte_bpf are asked to
// load: whether they take them is the capability. Internal to capabilities/.
#pragma once

#include "capabilities.hpp"

#include <linux/bpf.h>

#include <vector>

namespace harmony::caps::probe_programs {

constexpr bpf_insn mov_imm(uint8_t dst, int32_t imm)
{
    return bpf_insn{BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm};
}

constexpr bpf_insn exit_insn()
{
    return bpf_insn{BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
}

/// A program that returns XDP_PASS using `cls`; `map_fd` backs the map references.
std::vector<bpf_insn> using_class(InsnClass cls, int map_fd);

/// Loads `insns` as an XDP program: supported when the kernel takes it, otherwise missing
/// with the errno and the verifier's last words.
Probe load_xdp(const std::vector<bpf_insn> &insns, const std::string &what, uint32_t prog_ifindex = 0);

/// Builds and loads the program for `cls` (with a scratch array map when it needs one).
Probe load_xdp_with(InsnClass cls);

} // namespace harmony::caps::probe_programs
