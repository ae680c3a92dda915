// Forwarding mode: PASS leaves through the egress port, DROP is dropped.
//
// Why a verdict epilogue and not a chained program: chaining a forwarding program after
// the DPI program needs libxdp's dispatcher, i.e. freplace (BPF_PROG_TYPE_EXT), which some
// kernels refuse (this project's CI VM answers EPERM to libxdp's compatibility check), and
// a tail call cannot come back with the DPI verdict. Instead, the loader does what the
// dispatcher would: every `exit` of the entry function becomes a jump to an epilogue that
// turns XDP_PASS into bpf_redirect_map(egress devmap, 0). The object file is not changed,
// instruction indices stay put (exit and ja are one slot each; the epilogue is appended),
// so libbpf's relocations and BTF line info still hold, and the program stays one XDP
// program that can itself share the interface through the dispatcher.
#include "forward.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <unistd.h>
#include <vector>

namespace harmony::xdp {

namespace {

constexpr uint8_t kExit = BPF_JMP | BPF_EXIT;

bpf_insn instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

// if r0 != XDP_PASS: exit; r0 = bpf_redirect_map(devmap, 0, XDP_DROP); exit
std::vector<bpf_insn> epilogue(int devmap_fd)
{
    return {
        instruction(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 5, XDP_PASS),
        instruction(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, devmap_fd),
        instruction(0, 0, 0, 0, 0),
        instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0),
        instruction(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_DROP), // empty slot: drop
        instruction(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
        instruction(kExit, 0, 0, 0, 0),
    };
}

} // namespace

EgressPort::~EgressPort()
{
    if (fd_ >= 0) {
        close(fd_);
    }
}

Result<std::unique_ptr<EgressPort>> EgressPort::create(const std::string &interface, int ifindex)
{
    int fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP, "harmony_egress", sizeof(uint32_t), sizeof(uint32_t), 1, nullptr);
    if (fd < 0) {
        return fail("create egress devmap", "for " + interface, errno_text(errno));
    }
    auto port = std::unique_ptr<EgressPort>(new EgressPort(fd));
    uint32_t slot = 0;
    uint32_t value = static_cast<uint32_t>(ifindex);
    if (bpf_map_update_elem(fd, &slot, &value, BPF_ANY) != 0) {
        return fail("set egress port", interface, errno_text(errno) + " (the devmap refused the interface)");
    }
    return port;
}

Result<void> add_forward_epilogue(bpf_object *object, const EgressPort &egress)
{
    bpf_program *entry = bpf_object__next_program(object, nullptr);
    const bpf_insn *original = bpf_program__insns(entry);
    size_t count = bpf_program__insn_cnt(entry);
    std::vector<bpf_insn> rewritten(original, original + count);
    const auto tail = epilogue(egress.fd());
    for (size_t index = 0; index < count; index++) {
        if (rewritten[index].code == kExit) {
            auto distance = static_cast<int16_t>(count - index - 1);
            rewritten[index] = instruction(BPF_JMP | BPF_JA, 0, 0, distance, 0);
        }
    }
    rewritten.insert(rewritten.end(), tail.begin(), tail.end());
    if (int err = bpf_program__set_insns(entry, rewritten.data(), rewritten.size()); err) {
        return fail("add forwarding epilogue", bpf_program__name(entry), errno_text(err));
    }
    return {};
}

} // namespace harmony::xdp
