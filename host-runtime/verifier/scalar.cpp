#include "scalar.hpp"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

namespace harmony::verifier {

namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();

/// Largest value whose bits are a subset of [0, bit_width(v)).
uint64_t fill_below(uint64_t v)
{
    unsigned width = std::bit_width(v);
    return width >= 64 ? kU64Max : (uint64_t{1} << width) - 1;
}

Scalar add(const Scalar &a, const Scalar &b)
{
    Scalar r;
    uint64_t lo = 0, hi = 0;
    if (!__builtin_add_overflow(a.umin, b.umin, &lo) && !__builtin_add_overflow(a.umax, b.umax, &hi)) {
        r.umin = lo;
        r.umax = hi;
    }
    int64_t slo = 0, shi = 0;
    if (!__builtin_add_overflow(a.smin, b.smin, &slo) && !__builtin_add_overflow(a.smax, b.smax, &shi)) {
        r.smin = slo;
        r.smax = shi;
    }
    return r;
}

Scalar sub(const Scalar &a, const Scalar &b)
{
    Scalar r;
    if (a.umin >= b.umax) {
        r.umin = a.umin - b.umax;
        r.umax = a.umax - b.umin;
    }
    int64_t slo = 0, shi = 0;
    if (!__builtin_sub_overflow(a.smin, b.smax, &slo) && !__builtin_sub_overflow(a.smax, b.smin, &shi)) {
        r.smin = slo;
        r.smax = shi;
    }
    return r;
}

Scalar mul(const Scalar &a, const Scalar &b)
{
    uint64_t hi = 0;
    if (__builtin_mul_overflow(a.umax, b.umax, &hi)) {
        return Scalar::unknown();
    }
    return Scalar::urange(a.umin * b.umin, hi);
}

Scalar shift(isa::Op op, const Scalar &a, const Scalar &b, unsigned bits)
{
    if (b.umax >= bits) {
        return Scalar::unknown();
    }
    if (op == isa::Op::Lsh) {
        if (b.is_const() && (a.umax == 0 || std::countl_zero(a.umax) >= static_cast<int>(b.umin))) {
            return Scalar::urange(a.umin << b.umin, a.umax << b.umin);
        }
        return Scalar::unknown();
    }
    if (op == isa::Op::Rsh) {
        return Scalar::urange(a.umin >> b.umax, a.umax >> b.umin);
    }
    if (bits == 64) { // arithmetic shift: monotone in the signed value
        return Scalar::srange(std::min(a.smin >> b.umin, a.smin >> b.umax),
                              std::max(a.smax >> b.umin, a.smax >> b.umax));
    }
    return Scalar::unknown();
}

Scalar sign_extend(const Scalar &a, unsigned bytes)
{
    if (bytes >= 8) {
        return a;
    }
    int64_t half = int64_t{1} << (bytes * 8 - 1);
    if (a.umax < static_cast<uint64_t>(half)) {
        return a;
    }
    return Scalar::srange(-half, half - 1);
}

Scalar compute(isa::Op op, const Scalar &a, const Scalar &b, const isa::Insn &insn, unsigned bits)
{
    using isa::Op;
    switch (op) {
    case Op::Add: return add(a, b);
    case Op::Sub: return sub(a, b);
    case Op::Mul: return mul(a, b);
    case Op::Div:
        if (b.umin == 0) {
            return Scalar::urange(0, a.umax); // division by zero yields 0 in BPF
        }
        return Scalar::urange(a.umin / b.umax, a.umax / b.umin);
    case Op::Mod:
        if (b.umin == 0) {
            return Scalar::urange(0, a.umax);
        }
        return Scalar::urange(0, std::min(a.umax, b.umax - 1));
    case Op::And:
        if (a.is_const() && b.is_const()) {
            return Scalar::constant(a.umin & b.umin);
        }
        return Scalar::urange(0, std::min(a.umax, b.umax));
    case Op::Or:
        if (a.is_const() && b.is_const()) {
            return Scalar::constant(a.umin | b.umin);
        }
        return Scalar::urange(std::max(a.umin, b.umin), fill_below(std::max(a.umax, b.umax)));
    case Op::Xor:
        if (a.is_const() && b.is_const()) {
            return Scalar::constant(a.umin ^ b.umin);
        }
        return Scalar::urange(0, fill_below(std::max(a.umax, b.umax)));
    case Op::Lsh:
    case Op::Rsh:
    case Op::Arsh: return shift(op, a, b, bits);
    case Op::Neg: return sub(Scalar::constant(0), a);
    case Op::Mov: return b;
    case Op::MovSx: return sign_extend(b, insn.size);
    case Op::Le: return insn.imm >= 64 ? a : truncate(a, static_cast<unsigned>(insn.imm));
    case Op::Be:
    case Op::Bswap:
        if (a.is_const() && insn.imm == 16) {
            uint64_t v = a.umin & 0xffff;
            return Scalar::constant(((v & 0xff) << 8) | (v >> 8));
        }
        return insn.imm >= 64 ? Scalar::unknown() : Scalar::of_width(static_cast<unsigned>(insn.imm) / 8);
    default: return Scalar::unknown(); // SDiv, SMod: signed division is rare; stay sound
    }
}

} // namespace

Scalar Scalar::constant(uint64_t v)
{
    return {v, v, static_cast<int64_t>(v), static_cast<int64_t>(v)};
}

Scalar Scalar::urange(uint64_t lo, uint64_t hi)
{
    Scalar s;
    s.umin = lo;
    s.umax = hi;
    s.sync();
    return s;
}

Scalar Scalar::srange(int64_t lo, int64_t hi)
{
    Scalar s;
    s.smin = lo;
    s.smax = hi;
    s.sync();
    return s;
}

Scalar Scalar::of_width(unsigned bytes)
{
    return bytes >= 8 ? unknown() : urange(0, (uint64_t{1} << (bytes * 8)) - 1);
}

bool Scalar::contains(const Scalar &o) const
{
    return umin <= o.umin && o.umax <= umax && smin <= o.smin && o.smax <= smax;
}

void Scalar::sync()
{
    // The signed range maps onto one unsigned interval when it does not cross -1 -> 0.
    if (static_cast<uint64_t>(smin) <= static_cast<uint64_t>(smax)) {
        umin = std::max(umin, static_cast<uint64_t>(smin));
        umax = std::min(umax, static_cast<uint64_t>(smax));
    }
    // The unsigned range maps onto one signed interval when it does not cross 2^63.
    if (static_cast<int64_t>(umin) <= static_cast<int64_t>(umax)) {
        smin = std::max(smin, static_cast<int64_t>(umin));
        smax = std::min(smax, static_cast<int64_t>(umax));
    }
}

std::string Scalar::text() const
{
    if (is_const()) {
        return fmt::format("{}", static_cast<int64_t>(umin));
    }
    std::string t;
    auto add_field = [&](std::string f) { t += (t.empty() ? "" : ",") + f; };
    if (smin != kS64Min) {
        add_field(fmt::format("smin={}", smin));
    }
    if (smax != kS64Max) {
        add_field(fmt::format("smax={}", smax));
    }
    if (umin != 0) {
        add_field(fmt::format("umin={}", umin));
    }
    if (umax != kU64Max) {
        add_field(fmt::format("umax={}", umax));
    }
    return t;
}

Scalar hull(const Scalar &a, const Scalar &b)
{
    Scalar r;
    r.umin = std::min(a.umin, b.umin);
    r.umax = std::max(a.umax, b.umax);
    r.smin = std::min(a.smin, b.smin);
    r.smax = std::max(a.smax, b.smax);
    return r;
}

Scalar truncate(const Scalar &v, unsigned bits)
{
    if (bits >= 64) {
        return v;
    }
    uint64_t mask = (uint64_t{1} << bits) - 1;
    if (v.umax <= mask) {
        return v;
    }
    if (v.is_const()) {
        return Scalar::constant(v.umin & mask);
    }
    return Scalar::urange(0, mask);
}

Scalar alu(isa::Op op, bool is64, const Scalar &dst, const Scalar &src, const isa::Insn &insn)
{
    if (is64) {
        Scalar r = compute(op, dst, src, insn, 64);
        r.sync();
        return r;
    }
    Scalar r = compute(op, truncate(dst, 32), truncate(src, 32), insn, 32);
    r.sync();
    return truncate(r, 32);
}

namespace {

bool less_u(Scalar &a, Scalar &b, bool strict)
{
    uint64_t step = strict ? 1 : 0;
    if (b.umax < step || a.umin > kU64Max - step) {
        return false;
    }
    a.umax = std::min(a.umax, b.umax - step);
    b.umin = std::max(b.umin, a.umin + step);
    return true;
}

bool less_s(Scalar &a, Scalar &b, bool strict)
{
    int64_t step = strict ? 1 : 0;
    if (b.smax < kS64Min + step || a.smin > kS64Max - step) {
        return false;
    }
    a.smax = std::min(a.smax, b.smax - step);
    b.smin = std::max(b.smin, a.smin + step);
    return true;
}

bool equal(Scalar &a, Scalar &b)
{
    Scalar m;
    m.umin = std::max(a.umin, b.umin);
    m.umax = std::min(a.umax, b.umax);
    m.smin = std::max(a.smin, b.smin);
    m.smax = std::min(a.smax, b.smax);
    m.sync();
    a = b = m;
    return !m.empty();
}

bool not_equal(Scalar &a, Scalar &b)
{
    if (a.is_const() && b.is_const()) {
        return a.umin != b.umin;
    }
    for (auto [x, k] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        if (!k->is_const()) {
            continue;
        }
        if (x->umin == k->umin) {
            x->umin++;
        } else if (x->umax == k->umin) {
            x->umax--;
        }
    }
    return true;
}

bool fits32(const Scalar &s)
{
    return s.umax <= 0x7fffffff;
}

} // namespace

bool refine(isa::Op op, bool is64, bool taken, Scalar &a, Scalar &b)
{
    using isa::Op;
    if (!is64 && !(fits32(a) && fits32(b))) {
        Scalar la = truncate(a, 32), lb = truncate(b, 32);
        if (la.is_const() && lb.is_const() && (op == Op::Jeq || op == Op::Jne)) {
            return (la.umin == lb.umin) == (op == Op::Jeq) ? taken : !taken;
        }
        return true; // no refinement on the low half of wider values
    }
    bool ok = true;
    switch (op) {
    case Op::Jeq: ok = taken ? equal(a, b) : not_equal(a, b); break;
    case Op::Jne: ok = taken ? not_equal(a, b) : equal(a, b); break;
    case Op::Jgt: ok = taken ? less_u(b, a, true) : less_u(a, b, false); break;
    case Op::Jge: ok = taken ? less_u(b, a, false) : less_u(a, b, true); break;
    case Op::Jlt: ok = taken ? less_u(a, b, true) : less_u(b, a, false); break;
    case Op::Jle: ok = taken ? less_u(a, b, false) : less_u(b, a, true); break;
    case Op::Jsgt: ok = taken ? less_s(b, a, true) : less_s(a, b, false); break;
    case Op::Jsge: ok = taken ? less_s(b, a, false) : less_s(a, b, true); break;
    case Op::Jslt: ok = taken ? less_s(a, b, true) : less_s(b, a, false); break;
    case Op::Jsle: ok = taken ? less_s(a, b, false) : less_s(b, a, true); break;
    case Op::Jset:
        if (a.is_const() && b.is_const()) {
            ok = ((a.umin & b.umin) != 0) == taken;
        } else if (taken && (a.umax == 0 || b.umax == 0)) {
            ok = false;
        }
        break;
    default: break;
    }
    if (!ok) {
        return false;
    }
    a.sync();
    b.sync();
    return !a.empty() && !b.empty();
}

} // namespace harmony::verifier
