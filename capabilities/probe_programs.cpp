#include "probe_programs.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>

namespace harmony::caps::probe_programs {
namespace {

constexpr int32_t kXdpPass = 2;
constexpr uint8_t kR0 = 0, kR1 = 1, kR10 = 10;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return bpf_insn{code, dst, src, off, imm};
}

/// *(u64 *)(r10 - 8) = 2, so that loads and atomics have initialised stack to work on.
bpf_insn init_stack()
{
    return insn(BPF_ST | BPF_MEM | BPF_DW, kR10, 0, -8, kXdpPass);
}

std::vector<bpf_insn> body(InsnClass cls, int map_fd)
{
    switch (cls) {
    case InsnClass::Alu32:
        return {insn(BPF_ALU | BPF_MOV | BPF_K, kR0, 0, 0, kXdpPass)};
    case InsnClass::Jmp32:
        return {mov_imm(kR0, kXdpPass), insn(BPF_JMP32 | BPF_JEQ | BPF_K, kR0, 0, 0, 0)};
    case InsnClass::AtomicAdd:
        return {init_stack(), mov_imm(kR1, 1), insn(BPF_STX | BPF_ATOMIC | BPF_DW, kR10, kR1, -8, BPF_ADD),
                mov_imm(kR0, kXdpPass)};
    case InsnClass::AtomicFetch:
        return {init_stack(), mov_imm(kR1, 1),
                insn(BPF_STX | BPF_ATOMIC | BPF_DW, kR10, kR1, -8, BPF_ADD | BPF_FETCH), mov_imm(kR0, kXdpPass)};
    case InsnClass::BpfCall:
        // call the subprogram two slots below, then return XDP_PASS; the subprogram returns 0.
        return {insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2), mov_imm(kR0, kXdpPass), exit_insn(),
                mov_imm(kR0, 0)};
    case InsnClass::CallReg:
        return {mov_imm(kR1, 0), insn(BPF_JMP | BPF_CALL | BPF_X, kR1, 0, 0, 0), mov_imm(kR0, kXdpPass)};
    case InsnClass::LegacyPacket:
        return {insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, kR1, 0, 0), insn(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0),
                mov_imm(kR0, kXdpPass)};
    case InsnClass::MovSx:
        return {mov_imm(kR1, kXdpPass), insn(BPF_ALU64 | BPF_MOV | BPF_X, kR0, kR1, 8, 0)};
    case InsnClass::SignedDiv:
        return {mov_imm(kR0, 2 * kXdpPass), insn(BPF_ALU64 | BPF_DIV | BPF_K, kR0, 0, 1, 2)};
    case InsnClass::LoadSx:
        return {init_stack(), insn(BPF_LDX | 0x80 /* BPF_MEMSX */ | BPF_B, kR0, kR10, -8, 0)};
    case InsnClass::Bswap:
        return {mov_imm(kR0, kXdpPass), insn(BPF_ALU64 | BPF_END | BPF_K, kR0, 0, 0, 16), mov_imm(kR0, kXdpPass)};
    case InsnClass::Ja32:
        return {insn(BPF_JMP32 | BPF_JA, 0, 0, 0, 0), mov_imm(kR0, kXdpPass)};
    case InsnClass::Loop:
        // r1 = 0; do { r1 += 1 } while (r1 < 4)
        return {mov_imm(kR1, 0), insn(BPF_ALU64 | BPF_ADD | BPF_K, kR1, 0, 0, 1),
                insn(BPF_JMP | BPF_JLT | BPF_K, kR1, 0, -2, 4), mov_imm(kR0, kXdpPass)};
    case InsnClass::MapReference:
        return {insn(BPF_LD | BPF_IMM | BPF_DW, kR1, BPF_PSEUDO_MAP_FD, 0, map_fd), insn(0, 0, 0, 0, 0),
                mov_imm(kR0, kXdpPass)};
    case InsnClass::MapValueReference:
        return {insn(BPF_LD | BPF_IMM | BPF_DW, kR1, BPF_PSEUDO_MAP_VALUE, 0, map_fd), insn(0, 0, 0, 0, 0),
                mov_imm(kR0, kXdpPass)};
    }
    return {mov_imm(kR0, kXdpPass)};
}

bool needs_map(InsnClass cls)
{
    return cls == InsnClass::MapReference || cls == InsnClass::MapValueReference;
}

/// The verifier's last non-empty line, which names the refusal.
std::string last_line(const std::string &log)
{
    size_t end = log.find_last_not_of("\n \0", std::string::npos, 3);
    if (end == std::string::npos) {
        return {};
    }
    size_t start = log.rfind('\n', end);
    return log.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

} // namespace

std::vector<bpf_insn> using_class(InsnClass cls, int map_fd)
{
    std::vector<bpf_insn> insns = body(cls, map_fd);
    if (cls == InsnClass::BpfCall) {
        insns.push_back(exit_insn()); // the subprogram's exit
        return insns;
    }
    insns.push_back(exit_insn());
    return insns;
}

Probe load_xdp(const std::vector<bpf_insn> &insns, const std::string &what, uint32_t prog_ifindex)
{
    LIBBPF_OPTS(bpf_prog_load_opts, quiet, .prog_ifindex = prog_ifindex);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_probe", "GPL", insns.data(), insns.size(), &quiet);
    if (fd >= 0) {
        close(fd);
        return Probe::supported(what + ": loaded");
    }
    int err = -errno;
    // Load again for the verifier's words, as libbpf does: only a refused program pays for a log.
    std::string log(64 * 1024, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, logged, .prog_ifindex = prog_ifindex, .log_level = 1,
                .log_size = static_cast<uint32_t>(log.size()), .log_buf = log.data());
    fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_probe", "GPL", insns.data(), insns.size(), &logged);
    if (fd >= 0) {
        close(fd);
    }
    log.resize(log.find('\0') == std::string::npos ? log.size() : log.find('\0'));
    std::string verifier = last_line(log);
    return Probe::missing(fmt::format("{}: {}{}", what, errno_text(err), verifier.empty() ? "" : " (" + verifier + ")"));
}

Probe load_xdp_with(InsnClass cls)
{
    int map_fd = -1;
    if (needs_map(cls)) {
        map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "harmony_probe", 4, 8, 1, nullptr);
        if (map_fd < 0) {
            return Probe::missing(fmt::format("array map for the probe: {}", errno_text(-errno)));
        }
    }
    Probe probe = load_xdp(using_class(cls, map_fd), fmt::format("{} probe program", insn_class_name(cls)));
    if (map_fd >= 0) {
        close(map_fd);
    }
    return probe;
}

} // namespace harmony::caps::probe_programs
