// ALU instructions and ld_imm64: numbers through the interval domain, pointers only by
// adding or subtracting numbers (the kernel's rules in adjust_ptr_min_max_vals).
#include "explorer.hpp"

#include <fmt/format.h>

namespace harmony::verifier {

namespace {

using isa::Op;

constexpr int64_t kMaxPtrOff = int64_t{1} << 29; ///< as the kernel's BPF_MAX_VAR_OFF

const char *op_name(Op op)
{
    switch (op) {
    case Op::Add: return "+=";
    case Op::Sub: return "-=";
    case Op::Mul: return "*=";
    case Op::Div:
    case Op::SDiv: return "/=";
    case Op::Mod:
    case Op::SMod: return "%=";
    case Op::Or: return "|=";
    case Op::And: return "&=";
    case Op::Xor: return "^=";
    case Op::Lsh: return "<<=";
    case Op::Rsh: return ">>=";
    case Op::Arsh: return "s>>=";
    case Op::Neg: return "neg";
    default: return "op";
    }
}

Scalar immediate(const isa::Insn &in)
{
    if (in.is64) {
        return Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(in.imm)));
    }
    return Scalar::constant(static_cast<uint32_t>(in.imm));
}

bool bounded(const Scalar &v)
{
    return v.smin > -kMaxPtrOff && v.smax < kMaxPtrOff;
}

} // namespace

bool Explorer::alu(State &s, const isa::Insn &in)
{
    if (in.dst == 10) {
        return fail("frame pointer is read only");
    }
    Reg &dst = s.reg(in.dst);
    if (in.src_is_reg && !read_ok(s, in.src)) {
        return false;
    }
    Reg src = in.src_is_reg ? s.reg(in.src) : Reg::scalar(immediate(in));
    if ((in.op == Op::Div || in.op == Op::Mod || in.op == Op::SDiv || in.op == Op::SMod) && !in.src_is_reg &&
        in.imm == 0) {
        return fail("div by zero");
    }
    if (in.op == Op::Mov) {
        if (in.is64) {
            if (src.kind == Kind::Scalar && !src.val.is_const() && in.src_is_reg) {
                if (src.id == 0) {
                    src.id = fresh_id(); // link the copies: a bounds check on one bounds both
                    s.reg(in.src).id = src.id;
                }
            }
            dst = src;
            return true;
        }
        if (src.is_pointer() && !options_.privileged) {
            return fail(fmt::format("R{} partial copy of pointer (unprivileged rule)", in.src));
        }
        dst = Reg::scalar(src.kind == Kind::Scalar ? truncate(src.val, 32) : Scalar::of_width(4));
        return true;
    }
    bool unary = in.op == Op::Neg || in.op == Op::Le || in.op == Op::Be || in.op == Op::Bswap;
    if (in.op == Op::MovSx) {
        if (src.kind != Kind::Scalar) {
            return fail(fmt::format("R{} sign-extension of pointer prohibited", in.src));
        }
        dst = Reg::scalar(verifier::alu(in.op, in.is64, Scalar::unknown(), src.val, in));
        return true;
    }
    if (!read_ok(s, in.dst)) {
        return false;
    }
    if (dst.kind == Kind::Scalar && (unary || src.kind == Kind::Scalar)) {
        dst = Reg::scalar(verifier::alu(in.op, in.is64, dst.val, src.val, in));
        return true;
    }
    if (unary) {
        return fail(fmt::format("R{} pointer arithmetic with {} operator prohibited", in.dst, op_name(in.op)));
    }
    if (dst.is_pointer() && src.kind == Kind::Scalar) {
        Reg ptr = dst;
        return pointer_alu(s, in, dst, ptr, src);
    }
    if (dst.kind == Kind::Scalar && src.is_pointer() && in.op == Op::Add) {
        Reg number = dst;
        return pointer_alu(s, in, dst, src, number);
    }
    // pointer - pointer into the same object gives a distance (allowed unprivileged here: it leaks nothing).
    auto packet_like = [](Kind k) { return k == Kind::Packet || k == Kind::PacketEnd || k == Kind::PacketMeta; };
    bool same_object = (dst.kind == src.kind && dst.map == src.map && dst.frame == src.frame) ||
                       (packet_like(dst.kind) && packet_like(src.kind));
    if (dst.is_pointer() && src.is_pointer() && in.op == Op::Sub && in.is64 && same_object) {
        dst = Reg::scalar(Scalar::unknown());
        return true;
    }
    return fail(fmt::format("R{} pointer {} pointer prohibited", in.dst, op_name(in.op)));
}

bool Explorer::pointer_alu(State &s, const isa::Insn &in, Reg &dst, const Reg &ptr, const Reg &number)
{
    (void)s;
    if (!in.is64) {
        if (in.op == Op::Sub && options_.privileged) {
            dst = Reg::scalar(Scalar::of_width(4)); // as the kernel for root: a meaningless number
            return true;
        }
        return fail(fmt::format("R{} 32-bit pointer arithmetic prohibited", in.dst));
    }
    if (in.op != Op::Add && in.op != Op::Sub) {
        return fail(fmt::format("R{} pointer arithmetic with {} operator prohibited", in.dst, op_name(in.op)));
    }
    switch (ptr.kind) {
    case Kind::MapValueOrNull:
    case Kind::MemOrNull:
        return fail(
            fmt::format("R{} pointer arithmetic on {} prohibited, null-check it first", in.dst, kind_name(ptr.kind)));
    case Kind::PacketEnd:
    case Kind::PacketMeta:
    case Kind::MapPtr: return fail(fmt::format("R{} pointer arithmetic on {} prohibited", in.dst, kind_name(ptr.kind)));
    default: break;
    }
    if (ptr.kind == Kind::Stack && in.op == Op::Sub) {
        return fail(fmt::format("R{} subtraction from stack pointer prohibited", in.dst));
    }
    Reg out = ptr;
    const Scalar &v = number.val;
    if (v.is_const()) {
        int64_t c = static_cast<int64_t>(v.umin);
        int64_t off = in.op == Op::Add ? ptr.off + c : ptr.off - c;
        if (off <= -kMaxPtrOff || off >= kMaxPtrOff) {
            return fail(fmt::format("value {} makes {} pointer be out of bounds", c, kind_name(ptr.kind)));
        }
        out.off = off;
        dst = out;
        return true;
    }
    if (!bounded(v)) {
        return fail(fmt::format("math between {} pointer and register with unbounded min value is not allowed",
                                kind_name(ptr.kind)));
    }
    if (ptr.kind == Kind::Ctx) {
        return fail(fmt::format("R{} variable ctx access prohibited", in.dst));
    }
    out.val = verifier::alu(in.op, true, ptr.val, v, in);
    if (!bounded(out.val)) {
        return fail(fmt::format("R{} variable offset of {} pointer is out of bounds", in.dst, kind_name(ptr.kind)));
    }
    if (ptr.kind == Kind::Packet) {
        out.id = packet_var_id(s, in, ptr);
        out.range = 0;
        if (out.id != 0) {
            // Another pointer with this variable part may already have been checked.
            s.for_each_reg([&](Reg &r) {
                if (r.kind == Kind::Packet && r.id == out.id) {
                    out.range = std::max(out.range, r.range);
                }
            });
        }
    }
    dst = out;
    return true;
}

uint32_t Explorer::packet_var_id(State &s, const isa::Insn &in, const Reg &ptr)
{
    // data + r, for r of scalar id S, gets id S: linked copies of r hold one value, so every
    // pointer built from them has the same variable part and shares what a bounds check
    // proves (clang checks d + i + 1 in one register and reads d + i in another).
    int number_reg = in.dst == in.src ? -1 : (s.reg(in.dst).kind == Kind::Scalar ? in.dst : in.src);
    if (in.op != Op::Add || ptr.id != 0 || !in.src_is_reg || number_reg < 0) {
        return fresh_id();
    }
    Reg &number = s.reg(number_reg);
    if (number.id == 0) {
        number.id = fresh_id();
    }
    return number.id;
}

bool Explorer::ld_imm64(State &s, uint32_t pc, const isa::Insn &in)
{
    Reg &dst = s.reg(in.dst);
    uint32_t index = static_cast<uint32_t>(in.imm);
    switch (in.pseudo) {
    case isa::kImm: dst = Reg::scalar(Scalar::constant(in.imm64)); return true;
    case isa::kMapIdx:
    case isa::kMapFd:
        if (index >= maps_.size()) {
            return fail(fmt::format("map index {} is not a map of this object ({} maps)", index, maps_.size()));
        }
        dst = Reg::pointer(Kind::MapPtr);
        dst.map = static_cast<int32_t>(index);
        return true;
    case isa::kMapIdxValue:
    case isa::kMapValue: {
        if (index >= maps_.size()) {
            return fail(fmt::format("map index {} is not a map of this object ({} maps)", index, maps_.size()));
        }
        uint32_t off = static_cast<uint32_t>(in.imm64 >> 32);
        if (off >= maps_[index].info.value_size) {
            return fail(fmt::format("invalid access to map value pointer, value_size={} off={}",
                                    maps_[index].info.value_size, off));
        }
        dst = Reg{.kind = Kind::MapValue, .val = Scalar::constant(0), .off = off, .map = static_cast<int32_t>(index)};
        return true;
    }
    case isa::kFunc:
        // As the linker resolves it: the callback's absolute instruction index, a number
        // that only Arg::Func accepts as a function (see callback_entry).
        dst = Reg::scalar(Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(in.imm) + 1) + pc));
        return true;
    default: return fail(fmt::format("ld_imm64 with pseudo src {} is not supported", in.pseudo));
    }
}

} // namespace harmony::verifier
