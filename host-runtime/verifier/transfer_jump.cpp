// Conditional jumps: each feasible side goes to the worklist with what the condition
// proves — narrower scalar ranges (shared by linked copies), null or non-null for lookup
// and reserve results, packet bytes in bounds after a comparison with data_end.
#include "explorer.hpp"

#include <fmt/format.h>

namespace harmony::verifier {

namespace {

using isa::Op;

bool is_or_null(Kind k)
{
    return k == Kind::MapValueOrNull || k == Kind::MemOrNull;
}

void set_linked(State &s, Reg &reg, const Scalar &v)
{
    reg.val = v;
    if (reg.id == 0) {
        return;
    }
    uint32_t id = reg.id;
    s.for_each_reg([&](Reg &r) {
        if (r.kind == Kind::Scalar && r.id == id) {
            r.val = v;
        }
    });
}

} // namespace

void Explorer::mark_null(State &s, uint32_t id, bool is_null)
{
    uint32_t ref = 0;
    s.for_each_reg([&](Reg &r) {
        if (!is_or_null(r.kind) || r.id != id) {
            return;
        }
        ref = r.ref;
        if (is_null) {
            r = Reg::scalar(Scalar::constant(0));
        } else {
            r.kind = r.kind == Kind::MapValueOrNull ? Kind::MapValue : Kind::Mem;
            r.id = 0;
        }
    });
    if (is_null && ref != 0) {
        std::erase_if(s.refs, [&](const RefState &x) { return x.id == ref; }); // nothing to release
    }
}

void Explorer::learn_packet_range(State &s, const Reg &pkt, int64_t extra)
{
    // As the kernel (find_good_pkt_pointers): nothing is learned when the pointer may lie
    // past MAX_PACKET_OFF, so that no reasoning depends on offsets near wrap-around.
    constexpr int64_t kMaxPacketOff = 0xffff;
    int64_t bytes = pkt.off + extra;
    if (bytes <= 0 || pkt.val.smin < 0 || pkt.val.umax > kMaxPacketOff ||
        static_cast<int64_t>(pkt.val.umax) + pkt.off > kMaxPacketOff) {
        return;
    }
    if (pkt.id != 0) {
        uint32_t id = pkt.id;
        s.for_each_reg([&](Reg &r) {
            if (r.kind == Kind::Packet && r.id == id) {
                r.range = std::max<uint32_t>(r.range, static_cast<uint32_t>(bytes));
            }
        });
    }
    // Only a constant offset proves bytes from data itself; from a variable one the kernel
    // learns nothing about data, and Harmony keeps to what the kernel proves.
    uint64_t from_data = pkt.val.umin + static_cast<uint64_t>(bytes);
    if (pkt.val.is_const() && from_data <= 0xffff) {
        s.pkt_proven = std::max<uint32_t>(s.pkt_proven, static_cast<uint32_t>(from_data));
    }
}

bool Explorer::branch_pointers(State &s, uint32_t pc, const isa::Insn &in)
{
    uint32_t target = static_cast<uint32_t>(isa::jump_target(pc, in));
    const Reg a = s.reg(in.dst);
    const Reg b = in.src_is_reg ? s.reg(in.src) : Reg::scalar(Scalar::constant(static_cast<uint64_t>(int64_t{in.imm})));
    bool b_zero = b.kind == Kind::Scalar && b.val.is_const() && b.val.umin == 0;
    bool a_zero = a.kind == Kind::Scalar && a.val.is_const() && a.val.umin == 0;
    if (!in.is64) {
        // The low half of a pointer says nothing about the pointer (a null check included).
        return fail(fmt::format("R{} 32-bit pointer comparison prohibited", a.is_pointer() ? in.dst : in.src));
    }
    if ((in.op == Op::Jeq || in.op == Op::Jne) && (b_zero || a_zero)) {
        const Reg &ptr = b_zero ? a : b;
        bool taken_is_null = in.op == Op::Jeq;
        if (is_or_null(ptr.kind)) {
            State taken = s;
            mark_null(taken, ptr.id, taken_is_null);
            mark_null(s, ptr.id, !taken_is_null);
            push(pc, target, std::move(taken));
            push(pc, pc + 1, std::move(s));
            return true;
        }
        // A valid pointer is never null: only one side is possible.
        push(pc, taken_is_null ? pc + 1 : target, std::move(s));
        return true;
    }
    bool pkt_vs_end = a.kind == Kind::Packet && b.kind == Kind::PacketEnd;
    bool end_vs_pkt = a.kind == Kind::PacketEnd && b.kind == Kind::Packet;
    if ((pkt_vs_end || end_vs_pkt) && in.is64) {
        const Reg &pkt = pkt_vs_end ? a : b;
        State taken = s;
        // For each comparison: which side learns "pkt + 0 <= end" (extra 0) or "pkt < end" (extra 1).
        auto learn = [&](State &st, int64_t extra) { learn_packet_range(st, pkt, extra); };
        Op op = in.op;
        if (end_vs_pkt) { // swap operands: end > pkt  ==  pkt < end
            op = op == Op::Jgt   ? Op::Jlt
                 : op == Op::Jge ? Op::Jle
                 : op == Op::Jlt ? Op::Jgt
                 : op == Op::Jle ? Op::Jge
                                 : op;
        }
        switch (op) {
        case Op::Jgt: learn(s, 0); break;     // fall-through: pkt <= end
        case Op::Jge: learn(s, 1); break;     // fall-through: pkt < end
        case Op::Jlt: learn(taken, 1); break; // taken: pkt < end
        case Op::Jle: learn(taken, 0); break; // taken: pkt <= end
        default: break;
        }
        push(pc, target, std::move(taken));
        push(pc, pc + 1, std::move(s));
        return true;
    }
    bool same_region = a.kind == b.kind && a.map == b.map && a.frame == b.frame;
    if (!same_region && !options_.privileged) {
        int regno = a.is_pointer() ? in.dst : in.src;
        return fail(fmt::format("R{} pointer comparison prohibited (unprivileged rule)", regno));
    }
    State taken = s;
    push(pc, target, std::move(taken));
    push(pc, pc + 1, std::move(s));
    return true;
}

void Explorer::branch(State &s, uint32_t pc, const isa::Insn &in)
{
    if (!read_ok(s, in.dst) || (in.src_is_reg && !read_ok(s, in.src))) {
        return;
    }
    const Reg &a = s.reg(in.dst);
    const Reg *b = in.src_is_reg ? &s.reg(in.src) : nullptr;
    if (a.kind != Kind::Scalar || (b && b->kind != Kind::Scalar)) {
        if (!branch_pointers(s, pc, in)) {
            return;
        }
        return;
    }
    Scalar imm = in.is64 ? Scalar::constant(static_cast<uint64_t>(int64_t{in.imm}))
                         : Scalar::constant(static_cast<uint32_t>(in.imm));
    uint32_t target = static_cast<uint32_t>(isa::jump_target(pc, in));
    for (bool taken : {true, false}) {
        Scalar va = a.val, vb = b ? b->val : imm;
        if (!refine(in.op, in.is64, taken, va, vb)) {
            continue;
        }
        State next = s;
        set_linked(next, next.reg(in.dst), va);
        if (in.src_is_reg) {
            set_linked(next, next.reg(in.src), vb);
        }
        push(pc, taken ? target : pc + 1, std::move(next));
    }
}

} // namespace harmony::verifier
