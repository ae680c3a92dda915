#include "state.hpp"

#include <fmt/format.h>
#include <unordered_map>

namespace harmony::verifier {

const char *kind_name(Kind k)
{
    switch (k) {
    case Kind::Uninit: return "uninit";
    case Kind::Scalar: return "scalar";
    case Kind::Ctx: return "ctx";
    case Kind::Stack: return "fp";
    case Kind::Packet: return "pkt";
    case Kind::PacketEnd: return "pkt_end";
    case Kind::PacketMeta: return "pkt_meta";
    case Kind::MapPtr: return "map_ptr";
    case Kind::MapValue: return "map_value";
    case Kind::MapValueOrNull: return "map_value_or_null";
    case Kind::Mem: return "mem";
    case Kind::MemOrNull: return "mem_or_null";
    case Kind::Merged: return "merged";
    }
    return "?";
}

namespace {

/// Pairs ids of one state with ids of another; a pair that contradicts an earlier one is
/// reported so the caller can drop the relation (join) or give up (covers).
class IdMap {
public:
    bool pair(uint32_t a, uint32_t b)
    {
        auto [it, fresh] = fwd_.try_emplace(a, b);
        return fresh || it->second == b;
    }
    bool has(uint32_t a) const { return fwd_.contains(a); }
    uint32_t at(uint32_t a) const { return fwd_.at(a); }

private:
    std::unordered_map<uint32_t, uint32_t> fwd_;
};

bool is_or_null(Kind k)
{
    return k == Kind::MapValueOrNull || k == Kind::MemOrNull;
}

struct Joiner {
    IdMap ids;
    bool force = false;
    uint32_t &id_gen;

    uint32_t join_id(uint32_t a, uint32_t b, bool zero_means_none)
    {
        if (a == 0 && b == 0) {
            return 0;
        }
        if (a != 0 && b != 0 && ids.pair(a, b)) {
            return a;
        }
        return zero_means_none ? 0 : ++id_gen;
    }

    /// Rewrites pointer a so that its constant offset moves into the variable part.
    static Scalar var_with_off(const Reg &r, int64_t base)
    {
        Scalar delta = Scalar::constant(static_cast<uint64_t>(r.off - base));
        return alu(isa::Op::Add, true, r.val, delta, isa::Insn{});
    }

    bool reg(const Reg &a, const Reg &b, Reg &out)
    {
        if (!a.readable() || !b.readable()) {
            out = Reg{};
            return true;
        }
        if (a.kind != b.kind || a.map != b.map || a.frame != b.frame || a.mem_size != b.mem_size) {
            out = Reg{.kind = Kind::Merged};
            return force;
        }
        out = a;
        out.val = hull(a.val, b.val);
        switch (a.kind) {
        case Kind::Scalar: out.id = join_id(a.id, b.id, true); return true;
        case Kind::Packet: return packet(a, b, out);
        case Kind::MapValue:
            if (a.off != b.off) {
                out.off = std::min(a.off, b.off);
                out.val = hull(var_with_off(a, out.off), var_with_off(b, out.off));
            }
            return true;
        case Kind::MapValueOrNull:
        case Kind::MemOrNull:
        case Kind::Mem:
        case Kind::Stack:
        case Kind::Ctx:
            if (a.off != b.off) {
                out = Reg{.kind = Kind::Merged};
                return force && a.ref == 0;
            }
            if (a.ref != 0 && !ids.pair(a.ref, b.ref)) {
                return false;
            }
            out.id = is_or_null(a.kind) ? join_id(a.id, b.id, false) : 0;
            return true;
        default: return true;
        }
    }

    bool packet(const Reg &a, const Reg &b, Reg &out)
    {
        if (a.off == b.off && a.val == b.val && a.id == b.id && a.id == 0) {
            out.range = std::min(a.range, b.range);
            return true;
        }
        if (a.off == b.off && a.id != 0 && b.id != 0 && ids.pair(a.id, b.id)) {
            out.range = std::min(a.range, b.range);
            return true;
        }
        out.off = std::min(a.off, b.off);
        out.val = hull(var_with_off(a, out.off), var_with_off(b, out.off));
        out.id = ++id_gen;
        out.range = 0;
        return true;
    }

    bool slot(const Slot &a, const Slot &b, Slot &out)
    {
        out = Slot{};
        out.init = a.init & b.init;
        for (int i = 0; i < 8; i++) {
            uint64_t byte = uint64_t{0xff} << (8 * i);
            if ((a.known >> i & 1) && (b.known >> i & 1) && (a.bytes & byte) == (b.bytes & byte)) {
                out.known |= static_cast<uint8_t>(1u << i);
                out.bytes |= a.bytes & byte;
            }
        }
        if (a.spilled && b.spilled) {
            Reg r;
            if (!reg(a.reg, b.reg, r)) {
                return false;
            }
            if (r.readable()) {
                out.spilled = true;
                out.reg = r;
                return true;
            }
            return r.kind != Kind::Merged || force;
        }
        // A spilled pointer merged with plain bytes would let a pointer be read as a number.
        for (const Slot *s : {&a, &b}) {
            if (s->spilled && s->reg.is_pointer()) {
                if (!force) {
                    return false;
                }
                out.init = 0;
            }
        }
        return true;
    }
};

} // namespace

// The ctx a bpf_loop callback is re-entered with is part of the state: only equal ones meet.
bool same_callback(const Frame &a, const Frame &b)
{
    const Reg &x = a.callback_ctx, &y = b.callback_ctx;
    return a.callback == b.callback && x.kind == y.kind && x.off == y.off && x.frame == y.frame && x.val == y.val;
}

bool join(const State &a, const State &b, bool force, uint32_t &id_gen, State &out)
{
    if (a.frames.size() != b.frames.size() || a.refs.size() != b.refs.size() || a.iterations != b.iterations) {
        return false;
    }
    Joiner j{.force = force, .id_gen = id_gen};
    State r = a;
    for (size_t f = 0; f < a.frames.size(); f++) {
        const Frame &fa = a.frames[f], &fb = b.frames[f];
        if (fa.callsite != fb.callsite || fa.func != fb.func || !same_callback(fa, fb)) {
            return false;
        }
        for (int i = 0; i < kRegs; i++) {
            if (!j.reg(fa.regs[i], fb.regs[i], r.frames[f].regs[i])) {
                return false;
            }
        }
        for (int i = 0; i < kSlots; i++) {
            if (!j.slot(fa.stack[i], fb.stack[i], r.frames[f].stack[i])) {
                return false;
            }
        }
    }
    for (const RefState &ref : a.refs) {
        if (!j.ids.has(ref.id)) {
            return false;
        }
    }
    r.pkt_proven = std::min(a.pkt_proven, b.pkt_proven);
    out = std::move(r);
    return true;
}

namespace {

struct Coverer {
    IdMap ids;

    bool id(uint32_t old_id, uint32_t cur_id) { return ids.pair(old_id, cur_id); }

    bool reg(const Reg &o, const Reg &c)
    {
        if (!o.readable()) {
            return true; // nothing explored from `old` read it
        }
        if (o.kind != c.kind || o.map != c.map || o.frame != c.frame || o.mem_size != c.mem_size) {
            return false;
        }
        if (!o.val.contains(c.val)) {
            return false;
        }
        switch (o.kind) {
        case Kind::Scalar: return o.id == 0 || (c.id != 0 && id(o.id, c.id));
        case Kind::Packet: return o.off == c.off && o.range <= c.range && id(o.id, c.id);
        case Kind::MapValueOrNull:
        case Kind::MemOrNull: return o.off == c.off && id(o.id, c.id) && id(o.ref, c.ref);
        case Kind::Mem: return o.off == c.off && id(o.ref, c.ref);
        case Kind::MapValue:
        case Kind::Stack:
        case Kind::Ctx: return o.off == c.off;
        default: return true;
        }
    }

    bool slot(const Slot &o, const Slot &c)
    {
        if ((o.init & c.init) != o.init || (o.known & c.known) != o.known) {
            return false;
        }
        for (int i = 0; i < 8; i++) {
            uint64_t byte = uint64_t{0xff} << (8 * i);
            if ((o.known >> i & 1) && (o.bytes & byte) != (c.bytes & byte)) {
                return false;
            }
        }
        if (o.spilled) {
            return c.spilled ? reg(o.reg, c.reg) : !o.reg.readable();
        }
        return !(c.spilled && c.reg.is_pointer() && o.init != 0);
    }
};

} // namespace

bool covers(const State &old, const State &cur)
{
    if (old.frames.size() != cur.frames.size() || old.refs.size() != cur.refs.size() ||
        old.pkt_proven > cur.pkt_proven) {
        return false;
    }
    Coverer c;
    for (size_t f = 0; f < old.frames.size(); f++) {
        const Frame &fo = old.frames[f], &fc = cur.frames[f];
        if (fo.callsite != fc.callsite || fo.func != fc.func || !same_callback(fo, fc)) {
            return false;
        }
        for (int i = 0; i < kRegs; i++) {
            if (!c.reg(fo.regs[i], fc.regs[i])) {
                return false;
            }
        }
        for (int i = 0; i < kSlots; i++) {
            if (!c.slot(fo.stack[i], fc.stack[i])) {
                return false;
            }
        }
    }
    for (const RefState &ref : old.refs) {
        if (!c.ids.has(ref.id)) {
            return false;
        }
    }
    return true;
}

std::string reg_text(const Reg &r)
{
    std::string fields;
    auto add = [&](std::string f) { fields += (fields.empty() ? "" : ",") + f; };
    switch (r.kind) {
    case Kind::Uninit: return "uninit";
    case Kind::Merged: return "merged";
    case Kind::Scalar:
        if (r.id != 0) {
            add(fmt::format("id={}", r.id));
        }
        if (r.val.is_const() && r.id == 0) {
            return r.val.text();
        }
        add(r.val.text());
        return fmt::format("scalar({})", fields);
    case Kind::Stack:
        if (r.val.is_const() && r.val.umin == 0) {
            return fmt::format("fp{}", r.off);
        }
        break;
    default: break;
    }
    if (r.id != 0) {
        add(fmt::format("id={}", r.id));
    }
    if (r.ref != 0) {
        add(fmt::format("ref_obj_id={}", r.ref));
    }
    if (r.map >= 0) {
        add(fmt::format("map={}", r.map));
    }
    if (r.off != 0 || r.kind == Kind::Packet) {
        add(fmt::format("off={}", r.off));
    }
    if (r.kind == Kind::Packet) {
        add(fmt::format("r={}", r.range));
    }
    if (r.mem_size != 0) {
        add(fmt::format("mem_size={}", r.mem_size));
    }
    if (!(r.val.is_const() && r.val.umin == 0)) {
        add("var=" + r.val.text());
    }
    return fmt::format("{}({})", kind_name(r.kind), fields);
}

namespace {

std::string slot_text(const Slot &s)
{
    if (s.spilled) {
        return reg_text(s.reg);
    }
    std::string bytes;
    for (int b = 7; b >= 0; b--) {
        bytes += (s.init >> b) & 1 ? 'm' : '?';
    }
    return bytes;
}

} // namespace

bool widen(const State &prev, const State &next, uint32_t &id_gen, State &out)
{
    State joined;
    if (!join(prev, next, false, id_gen, joined)) {
        return false;
    }
    auto widen_reg = [](const Reg &before, Reg &r) {
        if (r.readable() && r.val != before.val) {
            r.val = Scalar::unknown();
            r.id = 0;
        }
    };
    for (size_t f = 0; f < joined.frames.size(); f++) {
        Frame &frame = joined.frames[f];
        const Frame &before = prev.frames[f];
        for (int i = 0; i < kRegs; i++) {
            widen_reg(before.regs[i], frame.regs[i]);
        }
        for (int i = 0; i < kSlots; i++) {
            if (frame.stack[i].spilled && before.stack[i].spilled) {
                widen_reg(before.stack[i].reg, frame.stack[i].reg);
            }
        }
    }
    out = std::move(joined);
    return true;
}

std::string state_text(const State &s)
{
    std::string t;
    for (size_t f = 0; f < s.frames.size(); f++) {
        const Frame &frame = s.frames[f];
        if (s.frames.size() > 1) {
            t += fmt::format("frame{}: ", f);
        }
        for (int i = 0; i < kRegs; i++) {
            if (frame.regs[i].kind != Kind::Uninit) {
                t += fmt::format("R{}={} ", i, reg_text(frame.regs[i]));
            }
        }
        for (int i = 0; i < kSlots; i++) {
            if (frame.stack[i].init != 0 || frame.stack[i].spilled) {
                t += fmt::format("fp{}={} ", -8 * (i + 1), slot_text(frame.stack[i]));
            }
        }
    }
    if (s.pkt_proven != 0) {
        t += fmt::format("pkt_proven={} ", s.pkt_proven);
    }
    for (const RefState &ref : s.refs) {
        t += fmt::format("refs={}@{} ", ref.id, ref.pc);
    }
    if (!t.empty()) {
        t.pop_back();
    }
    return t;
}

} // namespace harmony::verifier
