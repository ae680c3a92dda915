// Kernel-style text of a decoded instruction, as the kernel verifier log and bpftool print
// it: "r0 = *(u32 *)(r1 +4)", "if w1 s> 0x10 goto pc+2", "lock *(u64 *)(r10 -8) += r1".
#include "host-runtime/insn.hpp"

#include <fmt/format.h>

namespace harmony::isa {
namespace {

const char *alu_operator(Op op)
{
    switch (op) {
    case Op::Add: return "+=";
    case Op::Sub: return "-=";
    case Op::Mul: return "*=";
    case Op::Div: return "/=";
    case Op::SDiv: return "s/=";
    case Op::Mod: return "%=";
    case Op::SMod: return "s%=";
    case Op::Or: return "|=";
    case Op::And: return "&=";
    case Op::Xor: return "^=";
    case Op::Lsh: return "<<=";
    case Op::Rsh: return ">>=";
    case Op::Arsh: return "s>>=";
    case Op::Mov: return "=";
    default: return "?";
    }
}

const char *jump_operator(Op op)
{
    switch (op) {
    case Op::Jeq: return "==";
    case Op::Jne: return "!=";
    case Op::Jgt: return ">";
    case Op::Jge: return ">=";
    case Op::Jlt: return "<";
    case Op::Jle: return "<=";
    case Op::Jsgt: return "s>";
    case Op::Jsge: return "s>=";
    case Op::Jslt: return "s<";
    case Op::Jsle: return "s<=";
    case Op::Jset: return "&";
    default: return "?";
    }
}

const char *width_name(uint8_t size, bool is_signed = false)
{
    switch (size) {
    case 1: return is_signed ? "s8" : "u8";
    case 2: return is_signed ? "s16" : "u16";
    case 4: return is_signed ? "s32" : "u32";
    default: return is_signed ? "s64" : "u64";
    }
}

std::string reg(const Insn &insn, uint8_t r) { return fmt::format("{}{}", insn.is64 ? 'r' : 'w', r); }

std::string source(const Insn &insn)
{
    return insn.src_is_reg ? reg(insn, insn.src) : fmt::format("{}", insn.imm);
}

std::string memory(const Insn &insn, uint8_t base, bool is_signed = false)
{
    return fmt::format("*({} *)(r{} {:+d})", width_name(insn.size, is_signed), base, insn.off);
}

std::string alu(const Insn &insn)
{
    switch (insn.op) {
    case Op::Neg: return fmt::format("{0} = -{0}", reg(insn, insn.dst));
    case Op::MovSx:
        return fmt::format("{} = ({}){}", reg(insn, insn.dst), width_name(insn.size, true), reg(insn, insn.src));
    case Op::Le: return fmt::format("r{0} = le{1} r{0}", insn.dst, insn.imm);
    case Op::Be: return fmt::format("r{0} = be{1} r{0}", insn.dst, insn.imm);
    case Op::Bswap: return fmt::format("r{0} = bswap{1} r{0}", insn.dst, insn.imm);
    default: return fmt::format("{} {} {}", reg(insn, insn.dst), alu_operator(insn.op), source(insn));
    }
}

std::string atomic(const Insn &insn)
{
    const char *bits = insn.size == 8 ? "64" : "";
    std::string mem = fmt::format("({} *)(r{} {:+d})", width_name(insn.size), insn.dst, insn.off);
    switch (insn.atomic) {
    case AtomicOp::Add: return fmt::format("lock *{} += r{}", mem, insn.src);
    case AtomicOp::Or: return fmt::format("lock *{} |= r{}", mem, insn.src);
    case AtomicOp::And: return fmt::format("lock *{} &= r{}", mem, insn.src);
    case AtomicOp::Xor: return fmt::format("lock *{} ^= r{}", mem, insn.src);
    case AtomicOp::FetchAdd: return fmt::format("r{0} = atomic{1}_fetch_add({2}, r{0})", insn.src, bits, mem);
    case AtomicOp::FetchOr: return fmt::format("r{0} = atomic{1}_fetch_or({2}, r{0})", insn.src, bits, mem);
    case AtomicOp::FetchAnd: return fmt::format("r{0} = atomic{1}_fetch_and({2}, r{0})", insn.src, bits, mem);
    case AtomicOp::FetchXor: return fmt::format("r{0} = atomic{1}_fetch_xor({2}, r{0})", insn.src, bits, mem);
    case AtomicOp::Xchg: return fmt::format("r{0} = atomic{1}_xchg({2}, r{0})", insn.src, bits, mem);
    case AtomicOp::CmpXchg: return fmt::format("r0 = atomic{}_cmpxchg({}, r0, r{})", bits, mem, insn.src);
    }
    return "?";
}

std::string load_imm64(const Insn &insn)
{
    auto low = static_cast<int32_t>(insn.imm64);
    auto high = static_cast<uint32_t>(insn.imm64 >> 32);
    switch (insn.pseudo) {
    case kMapFd: return fmt::format("r{} = map[fd:{}] ll", insn.dst, low);
    case kMapValue: return fmt::format("r{} = map[fd:{}]+{} ll", insn.dst, low, high);
    case kBtfId: return fmt::format("r{} = btf_id[{}] ll", insn.dst, low);
    case kFunc: return fmt::format("r{} = func[pc{:+d}] ll", insn.dst, low);
    case kMapIdx: return fmt::format("r{} = map[idx:{}] ll", insn.dst, low);
    case kMapIdxValue: return fmt::format("r{} = map[idx:{}]+{} ll", insn.dst, low, high);
    default: return fmt::format("r{} = {:#x} ll", insn.dst, insn.imm64);
    }
}

std::string conditional_jump(const Insn &insn)
{
    std::string rhs = insn.src_is_reg ? reg(insn, insn.src) : fmt::format("{:#x}", insn.imm);
    return fmt::format("if {} {} {} goto pc{:+d}", reg(insn, insn.dst), jump_operator(insn.op), rhs, insn.off);
}

} // namespace

std::string disassemble(const Insn &insn)
{
    if (is_conditional_jump(insn.op)) {
        return conditional_jump(insn);
    }
    switch (insn.op) {
    case Op::Load: return fmt::format("r{} = {}", insn.dst, memory(insn, insn.src));
    case Op::LoadSx: return fmt::format("r{} = {}", insn.dst, memory(insn, insn.src, true));
    case Op::Store: return fmt::format("{} = r{}", memory(insn, insn.dst), insn.src);
    case Op::StoreImm: return fmt::format("{} = {}", memory(insn, insn.dst), insn.imm);
    case Op::Atomic: return atomic(insn);
    case Op::LoadImm64: return load_imm64(insn);
    case Op::LoadAbs: return fmt::format("r0 = *({} *)skb[{}]", width_name(insn.size), insn.imm);
    case Op::LoadInd: return fmt::format("r0 = *({} *)skb[r{} + {}]", width_name(insn.size), insn.src, insn.imm);
    case Op::Ja:
        return insn.is64 ? fmt::format("goto pc{:+d}", insn.off) : fmt::format("gotol pc{:+d}", insn.imm);
    case Op::Call: return fmt::format("call {}", insn.imm);
    case Op::CallLocal: return fmt::format("call pc{:+d}", insn.imm);
    case Op::CallReg: return fmt::format("callx r{}", insn.dst);
    case Op::Exit: return "exit";
    case Op::Filler: return "(second slot of lddw)";
    default: return alu(insn);
    }
}

} // namespace harmony::isa
