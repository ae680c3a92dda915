// The JIT indexes register tables, label arrays and helper slots with fields of the
// program; this check makes every such index valid before a byte is emitted, so that a
// malformed program is refused with a reason rather than compiled into a crash.
#include "host-runtime/jit/jit.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>

namespace harmony::jit {

using isa::AtomicOp;
using isa::Op;

namespace {

constexpr uint8_t kRegisterCount = 11;

bool is_jump(Op op)
{
    return op >= Op::Ja && op <= Op::Jsle;
}

bool is_one_of(uint8_t value, std::initializer_list<uint8_t> allowed)
{
    for (uint8_t a : allowed) {
        if (value == a) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> check_target(const std::vector<isa::Insn> &insns, int64_t target, const char *kind)
{
    if (target < 0 || target >= static_cast<int64_t>(insns.size())) {
        return fmt::format("{} target {} is outside the program (0..{})", kind, target, insns.size() - 1);
    }
    if (insns[static_cast<size_t>(target)].op == Op::Filler) {
        return fmt::format("{} lands on the second slot of lddw at {}", kind, target);
    }
    return std::nullopt;
}

std::optional<std::string> check_sizes(const isa::Insn &insn)
{
    switch (insn.op) {
    case Op::Load:
    case Op::LoadAbs:
    case Op::LoadInd:
    case Op::Store:
    case Op::StoreImm:
        return is_one_of(insn.size, {1, 2, 4, 8}) ? std::nullopt
                                                   : std::optional(fmt::format("bad access size {}", insn.size));
    case Op::LoadSx:
    case Op::MovSx:
        return is_one_of(insn.size, {1, 2, 4}) ? std::nullopt
                                                : std::optional(fmt::format("bad sign-extension size {}", insn.size));
    case Op::Atomic:
        return is_one_of(insn.size, {4, 8}) && insn.atomic <= AtomicOp::CmpXchg
                   ? std::nullopt
                   : std::optional(fmt::format("bad atomic operation (size {})", insn.size));
    case Op::Le:
    case Op::Be:
    case Op::Bswap:
        return insn.imm == 16 || insn.imm == 32 || insn.imm == 64
                   ? std::nullopt
                   : std::optional(fmt::format("bad byte-swap width {}", insn.imm));
    default:
        return std::nullopt;
    }
}

std::optional<std::string> check_insn(const vm::LinkedProgram &program, size_t pc)
{
    const isa::Insn &insn = program.insns[pc];
    const auto &insns = program.insns;
    if (insn.dst >= kRegisterCount || insn.src >= kRegisterCount) {
        return fmt::format("register r{} does not exist", std::max(insn.dst, insn.src));
    }
    if (insn.op == Op::Filler && (pc == 0 || insns[pc - 1].op != Op::LoadImm64)) {
        return "second lddw slot without its first";
    }
    if (insn.op == Op::LoadImm64 && (pc + 1 >= insns.size() || insns[pc + 1].op != Op::Filler)) {
        return "lddw without its second slot";
    }
    if (is_jump(insn.op)) {
        return check_target(insns, isa::jump_target(pc, insn), "jump");
    }
    if (insn.op == Op::CallLocal) {
        return check_target(insns, static_cast<int64_t>(pc) + 1 + insn.imm, "local call");
    }
    if (insn.op == Op::Call && (pc >= program.helper_by_slot.size() || program.helper_by_slot[pc] == nullptr)) {
        return fmt::format("call to unresolved helper {}", insn.imm);
    }
    return check_sizes(insn);
}

} // namespace

Result<void> check_structure(const vm::LinkedProgram &program)
{
    const auto &insns = program.insns;
    if (insns.empty()) {
        return fail("jit", "program", "no instructions");
    }
    if (program.stack_size == 0 || program.stack_size > kMaxFrameBytes) {
        return fail("jit", "program",
                    fmt::format("stack size {} is outside 1..{}", program.stack_size, kMaxFrameBytes));
    }
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        if (auto why = check_insn(program, pc)) {
            return fail("jit", fmt::format("insn {}", pc), *why);
        }
    }
    const Op last = insns.back().op;
    if (last != Op::Exit && last != Op::Ja) {
        return fail("jit", fmt::format("insn {}", insns.size() - 1), "the program can fall off its end");
    }
    return {};
}

} // namespace harmony::jit
