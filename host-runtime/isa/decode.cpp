// Decoding: raw 8-byte slots -> isa::Insn. The opcode byte is looked up in one table
// (opcode_rules); the form of the row says which fields the instruction uses, and every
// field it does not use must be zero, as RFC 9669 requires.
#include "host-runtime/isa/opcodes.hpp"

#include <fmt/format.h>

#include <optional>

namespace harmony::isa {
namespace {

using namespace bits;

constexpr uint8_t kRegisterCount = 11;
constexpr uint8_t kFramePointer = 10;

struct AluRow {
    uint8_t code;
    Op op;
};
constexpr AluRow kAluOps[] = {
    {kAdd, Op::Add}, {kSub, Op::Sub}, {kMul, Op::Mul}, {kDiv, Op::Div},  {kOr, Op::Or},   {kAnd, Op::And},
    {kLsh, Op::Lsh}, {kRsh, Op::Rsh}, {kMod, Op::Mod}, {kXor, Op::Xor}, {kMov, Op::Mov}, {kArsh, Op::Arsh},
};
constexpr AluRow kJumpOps[] = {
    {kJeq, Op::Jeq},   {kJgt, Op::Jgt},   {kJge, Op::Jge}, {kJset, Op::Jset}, {kJne, Op::Jne},   {kJsgt, Op::Jsgt},
    {kJsge, Op::Jsge}, {kJlt, Op::Jlt},   {kJle, Op::Jle}, {kJslt, Op::Jslt}, {kJsle, Op::Jsle},
};
constexpr uint8_t kSizes[] = {kB, kH, kW, kDw};

std::array<OpcodeRule, 256> build_rules()
{
    std::array<OpcodeRule, 256> t{};
    for (uint8_t cls : {kAlu, kAlu64}) {
        bool is64 = cls == kAlu64;
        for (auto [code, op] : kAluOps) {
            t[cls | code | kK] = {Form::AluImm, op, is64};
            t[cls | code | kX] = {Form::AluReg, op, is64};
        }
        t[cls | kNeg | kK] = {Form::AluUnary, Op::Neg, is64};
    }
    t[kAlu | kEnd | kToLe] = {Form::End, Op::Le, false};
    t[kAlu | kEnd | kToBe] = {Form::End, Op::Be, false};
    t[kAlu64 | kEnd | kToLe] = {Form::End, Op::Bswap, true};
    for (uint8_t size : kSizes) {
        uint8_t bytes = size_bytes(size);
        t[kLdx | kModeMem | size] = {Form::LoadMem, Op::Load, true, bytes};
        t[kSt | kModeMem | size] = {Form::StoreImm, Op::StoreImm, true, bytes};
        t[kStx | kModeMem | size] = {Form::StoreReg, Op::Store, true, bytes};
        if (size != kDw) {
            t[kLdx | kModeMemSx | size] = {Form::LoadMem, Op::LoadSx, true, bytes};
            t[kLd | kModeAbs | size] = {Form::LegacyAbs, Op::LoadAbs, true, bytes};
            t[kLd | kModeInd | size] = {Form::LegacyInd, Op::LoadInd, true, bytes};
        }
    }
    t[kStx | kModeAtomic | kW] = {Form::Atomic, Op::Atomic, false, 4};
    t[kStx | kModeAtomic | kDw] = {Form::Atomic, Op::Atomic, true, 8};
    t[kLd | kModeImm | kDw] = {Form::LoadImm64, Op::LoadImm64, true, 8};
    for (uint8_t cls : {kJmp, kJmp32}) {
        for (auto [code, op] : kJumpOps) {
            t[cls | code | kK] = {Form::JumpImm, op, cls == kJmp};
            t[cls | code | kX] = {Form::JumpReg, op, cls == kJmp};
        }
    }
    t[kJmp | kJa] = {Form::Ja, Op::Ja, true};
    t[kJmp32 | kJa] = {Form::Ja32, Op::Ja, false};
    t[kJmp | kCall | kK] = {Form::Call, Op::Call, true};
    t[kJmp | kCall | kX] = {Form::CallReg, Op::CallReg, true};
    t[kJmp | kExit] = {Form::Exit, Op::Exit, true};
    return t;
}

// Field usage per form: the fields a form does not name must be zero.
struct FieldUse {
    bool dst, src, off, imm;
    bool writes_dst;
};
FieldUse field_use(Form form)
{
    switch (form) {
    case Form::AluImm: return {true, false, true, true, true};
    case Form::AluReg: return {true, true, true, false, true};
    case Form::AluUnary: return {true, false, false, false, true};
    case Form::End: return {true, false, false, true, true};
    case Form::LoadMem: return {true, true, true, false, true};
    case Form::StoreImm: return {true, false, true, true, false};
    case Form::StoreReg: return {true, true, true, false, false};
    case Form::Atomic: return {true, true, true, true, false};
    case Form::LoadImm64: return {true, true, false, true, true};
    case Form::LegacyAbs: return {false, false, false, true, false};
    case Form::LegacyInd: return {false, true, false, true, false};
    case Form::JumpImm: return {true, false, true, true, false};
    case Form::JumpReg: return {true, true, true, false, false};
    case Form::Ja: return {false, false, true, false, false};
    case Form::Ja32: return {false, false, false, true, false};
    case Form::Call: return {false, true, false, true, false};
    case Form::CallReg: return {true, false, false, true, false};
    case Form::Exit:
    case Form::Invalid: break;
    }
    return {false, false, false, false, false};
}

using Reason = std::optional<std::string>;

Reason check_unused_fields(const RawInsn &raw, const FieldUse &use)
{
    if (!use.dst && raw.dst != 0) {
        return fmt::format("opcode 0x{:02x} has an unused dst register field set to {}", raw.code, int(raw.dst));
    }
    if (!use.src && raw.src != 0) {
        return fmt::format("opcode 0x{:02x} has an unused src register field set to {}", raw.code, int(raw.src));
    }
    if (!use.off && raw.off != 0) {
        return fmt::format("opcode 0x{:02x} has an unused offset set to {}", raw.code, raw.off);
    }
    if (!use.imm && raw.imm != 0) {
        return fmt::format("opcode 0x{:02x} has an unused immediate set to {}", raw.code, raw.imm);
    }
    return {};
}

Reason check_registers(const RawInsn &raw, const FieldUse &use)
{
    if (raw.dst >= kRegisterCount || raw.src >= kRegisterCount) {
        return fmt::format("invalid register r{}", int(raw.dst >= kRegisterCount ? raw.dst : raw.src));
    }
    if (use.writes_dst && raw.dst == kFramePointer) {
        return std::string("r10 is the read-only frame pointer");
    }
    return {};
}

// The ALU offset field selects a variant: signed div/mod (1), sign-extending mov (8, 16, 32).
Reason refine_alu(Insn &insn, const RawInsn &raw, Form form)
{
    if (raw.off == 0) {
        return {};
    }
    if (raw.off == 1 && (insn.op == Op::Div || insn.op == Op::Mod)) {
        insn.op = insn.op == Op::Div ? Op::SDiv : Op::SMod;
        return {};
    }
    bool sx_width = raw.off == 8 || raw.off == 16 || (raw.off == 32 && insn.is64);
    if (insn.op == Op::Mov && form == Form::AluReg && sx_width) {
        insn.op = Op::MovSx;
        insn.size = static_cast<uint8_t>(raw.off / 8);
        return {};
    }
    return fmt::format("opcode 0x{:02x} does not take offset {}", raw.code, raw.off);
}

std::optional<AtomicOp> atomic_op(int32_t imm)
{
    switch (imm) {
    case kAdd: return AtomicOp::Add;
    case kOr: return AtomicOp::Or;
    case kAnd: return AtomicOp::And;
    case kXor: return AtomicOp::Xor;
    case kAdd | kFetch: return AtomicOp::FetchAdd;
    case kOr | kFetch: return AtomicOp::FetchOr;
    case kAnd | kFetch: return AtomicOp::FetchAnd;
    case kXor | kFetch: return AtomicOp::FetchXor;
    case kAtomicXchg: return AtomicOp::Xchg;
    case kAtomicCmpXchg: return AtomicOp::CmpXchg;
    default: return {};
    }
}

// Checks that depend on the value of a used field.
Reason refine(Insn &insn, const RawInsn &raw, Form form)
{
    switch (form) {
    case Form::AluImm:
    case Form::AluReg: return refine_alu(insn, raw, form);
    case Form::End:
        if (raw.imm != 16 && raw.imm != 32 && raw.imm != 64) {
            return fmt::format("byte swap width {} is not 16, 32 or 64", raw.imm);
        }
        return {};
    case Form::Atomic:
        if (auto op = atomic_op(raw.imm)) {
            insn.atomic = *op;
            return {};
        }
        return fmt::format("unknown atomic operation 0x{:x}", raw.imm);
    case Form::LoadImm64:
        if (raw.src > kMapIdxValue) {
            return fmt::format("unknown lddw pseudo source {}", int(raw.src));
        }
        insn.pseudo = raw.src;
        insn.src = 0;
        return {};
    case Form::Call:
        if (raw.src > 1) {
            return fmt::format("unsupported call kind (src {})", int(raw.src));
        }
        insn.op = raw.src == 1 ? Op::CallLocal : Op::Call;
        insn.pseudo = raw.src;
        insn.src = 0;
        return {};
    case Form::CallReg:
        // LLVM before 19 put the callx register in imm; RFC 9669 era tools put it in dst.
        if (raw.imm != 0 && (raw.dst != 0 || raw.imm < 0 || raw.imm >= kRegisterCount)) {
            return fmt::format("callx register given as both dst r{} and imm {}", int(raw.dst), raw.imm);
        }
        insn.dst = raw.imm != 0 ? static_cast<uint8_t>(raw.imm) : raw.dst;
        insn.imm = 0;
        return {};
    default: return {};
    }
}

Result<Insn> decode_slot(size_t pc, const RawInsn &raw)
{
    auto refused = [pc](std::string why) { return fail("decode", fmt::format("insn {}", pc), std::move(why)); };
    const OpcodeRule &rule = opcode_rules()[raw.code];
    if (rule.form == Form::Invalid) {
        return refused(fmt::format("unknown opcode 0x{:02x}", raw.code));
    }
    FieldUse use = field_use(rule.form);
    if (auto why = check_registers(raw, use)) {
        return refused(*why);
    }
    if (auto why = check_unused_fields(raw, use)) {
        return refused(*why);
    }
    // Only ALU and jump classes have a source flag; in other classes bit 3 is part of the size.
    bool has_source_flag = rule.form == Form::AluReg || rule.form == Form::JumpReg || rule.form == Form::CallReg;
    Insn insn{.op = rule.op, .is64 = rule.is64, .src_is_reg = has_source_flag, .dst = raw.dst, .src = raw.src,
              .size = rule.size, .off = raw.off, .imm = raw.imm, .raw = raw};
    if (auto why = refine(insn, raw, rule.form)) {
        return refused(*why);
    }
    return insn;
}

// The second slot of lddw carries only the upper 32 bits of the immediate.
Result<Insn> decode_filler(size_t pc, std::span<const RawInsn> slots)
{
    if (pc >= slots.size()) {
        return fail("decode", fmt::format("insn {}", pc - 1), "lddw is missing its second slot");
    }
    const RawInsn &raw = slots[pc];
    if (raw.code != 0 || raw.dst != 0 || raw.src != 0 || raw.off != 0) {
        return fail("decode", fmt::format("insn {}", pc),
                    "second slot of lddw must have opcode, registers and offset zero");
    }
    return Insn{.op = Op::Filler, .imm = raw.imm, .raw = raw};
}

} // namespace

const std::array<OpcodeRule, 256> &opcode_rules()
{
    static const std::array<OpcodeRule, 256> rules = build_rules();
    return rules;
}

Result<std::vector<Insn>> decode(std::span<const RawInsn> slots)
{
    if (slots.empty()) {
        return fail("decode", "program", "no instructions");
    }
    std::vector<Insn> out;
    out.reserve(slots.size());
    for (size_t pc = 0; pc < slots.size(); ++pc) {
        auto insn = decode_slot(pc, slots[pc]);
        if (!insn) {
            return std::unexpected(insn.error());
        }
        out.push_back(*insn);
        if (insn->op != Op::LoadImm64) {
            continue;
        }
        auto filler = decode_filler(++pc, slots);
        if (!filler) {
            return std::unexpected(filler.error());
        }
        out.back().imm64 = static_cast<uint32_t>(insn->imm) | (uint64_t(uint32_t(filler->imm)) << 32);
        out.push_back(*filler);
    }
    return out;
}

} // namespace harmony::isa
