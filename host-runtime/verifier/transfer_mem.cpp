// Loads, stores and atomics: each pointer kind has its own region and rules (context
// fields, stack slots, packet bytes proven by a bounds check, map values, ring-buffer
// records), and every message names the register and the offending offset as the kernel.
#include "explorer.hpp"

#include <bit>
#include <fmt/format.h>
#include <linux/bpf.h>

namespace harmony::verifier {

namespace {

using isa::Op;

constexpr uint64_t kMaxPacketOff = 0xffff;

Scalar loaded_value(int size, bool sign_extend)
{
    if (sign_extend && size < 8) {
        int64_t half = int64_t{1} << (size * 8 - 1);
        return Scalar::srange(-half, half - 1);
    }
    return Scalar::of_width(static_cast<unsigned>(size));
}

std::string packet_text(const Reg &r, int regno)
{
    return fmt::format("R{}(id={},off={},r={})", regno, r.id, r.off, r.range);
}

} // namespace

bool Explorer::memory(State &s, const isa::Insn &in)
{
    int size = in.size;
    if (in.op == Op::Load || in.op == Op::LoadSx) {
        if (in.dst == 10) {
            return fail("frame pointer is read only");
        }
        if (!read_ok(s, in.src)) {
            return false;
        }
        Reg loaded;
        if (!access(s, in.src, in.off, size, false, nullptr, &loaded, in.op == Op::LoadSx)) {
            return false;
        }
        s.reg(in.dst) = loaded;
        return true;
    }
    if (!read_ok(s, in.dst)) {
        return false;
    }
    Reg value;
    if (in.op == Op::Store) {
        if (!read_ok(s, in.src)) {
            return false;
        }
        value = s.reg(in.src);
    } else {
        value = Reg::scalar(truncate(Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(in.imm))), size * 8));
    }
    return access(s, in.dst, in.off, size, true, &value, nullptr, false);
}

bool Explorer::access(State &s, int regno, int64_t off, int size, bool write, const Reg *value, Reg *loaded,
                      bool sign_extend)
{
    const Reg ptr = s.reg(regno);
    if (loaded) {
        *loaded = Reg::scalar(loaded_value(size, sign_extend));
    }
    switch (ptr.kind) {
    case Kind::Stack: return access_stack(s, ptr, regno, off, size, write, value, loaded);
    case Kind::Ctx:
        if (sign_extend) {
            return fail(fmt::format("R{} sign-extending load from ctx prohibited", regno));
        }
        return access_ctx(ptr, regno, off, size, write, loaded);
    case Kind::Packet: return access_packet(s, ptr, regno, off, size, write, value);
    case Kind::MapValue: return access_map_value(ptr, regno, off, size, write, value, loaded);
    case Kind::Mem: return access_mem(ptr, regno, off, size, write, value);
    case Kind::Uninit:
    case Kind::Merged: return fail(fmt::format("R{} !read_ok", regno));
    default: return fail(fmt::format("R{} invalid mem access '{}'", regno, kind_name(ptr.kind)));
    }
}

bool Explorer::access_stack(State &s, const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value,
                            Reg *loaded)
{
    if (!ptr.val.is_const() || ptr.val.umin != 0) {
        return fail(fmt::format("R{} variable stack access prohibited (var_off={})", regno, ptr.val.text()));
    }
    int64_t o = ptr.off + off;
    if (o < -kStackSize || o + size > 0) {
        return fail(
            fmt::format("invalid {} stack R{} off={} size={}", write ? "write to" : "read from", regno, o, size));
    }
    if (o % size != 0) {
        return fail(fmt::format("misaligned stack access off {}+{} size {}", ptr.off, off, size));
    }
    Frame &frame = s.frames[ptr.frame];
    uint32_t &depth = func_depth_[frame.func];
    depth = std::max<uint32_t>(depth, static_cast<uint32_t>(-o));
    Slot &slot = frame.stack[(-o - 1) / 8];
    int first = static_cast<int>(o + 8 * ((-o - 1) / 8 + 1));
    uint8_t mask = static_cast<uint8_t>(((1u << size) - 1) << first);
    if (write) {
        if (size == 8) {
            slot = Slot{.spilled = true, .init = 0xff, .reg = *value};
            return true;
        }
        if (value->is_pointer()) {
            return fail(fmt::format("invalid size of register spill: pointer stored as {} bytes", size));
        }
        if (slot.spilled && slot.reg.is_pointer() && !options_.privileged) {
            return fail("attempt to corrupt spilled pointer on stack (unprivileged rule)");
        }
        slot.spilled = false;
        slot.init |= mask;
        slot.known &= static_cast<uint8_t>(~mask);
        // Known only where the kernel knows it too: zero bytes, or a scalar spilled to an
        // 8-byte aligned slot; otherwise an array lookup keyed here would differ from it.
        if (value->kind == Kind::Scalar && value->val.is_const() && (value->val.umin == 0 || o % 8 == 0)) {
            uint64_t bits = size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
            slot.bytes = (slot.bytes & ~(bits << (8 * first))) | ((value->val.umin & bits) << (8 * first));
            slot.known |= mask;
        }
        return true;
    }
    if (size == 8 && slot.spilled) {
        *loaded = slot.reg;
        return true;
    }
    if (slot.spilled && slot.reg.is_pointer()) {
        return fail(fmt::format("invalid size of register fill: {} bytes of a spilled pointer", size));
    }
    if ((slot.init & mask) != mask && !options_.privileged) {
        int missing = std::countr_zero(static_cast<unsigned>(~slot.init & mask)) - first;
        return fail(fmt::format("invalid read from stack R{} off {}+{} size {} (uninitialised; unprivileged rule)",
                                regno, o, missing, size));
    }
    return true;
}

bool Explorer::access_ctx(const Reg &ptr, int regno, int64_t off, int size, bool write, Reg *loaded)
{
    if (ptr.off != 0 || !ptr.val.is_const() || ptr.val.umin != 0) {
        return fail(fmt::format("dereference of modified ctx ptr R{} off={} disallowed", regno, ptr.off));
    }
    for (const CtxField &f : ctx_.fields) {
        if (f.off != off) {
            continue;
        }
        if (size != f.size) {
            break;
        }
        if (write && !f.writable) {
            return fail(fmt::format("invalid bpf_context access off={} size={} ({}.{} is read-only)", off, size,
                                    ctx_.type_name, f.name));
        }
        if (loaded) {
            *loaded = f.loads == Kind::Scalar ? Reg::scalar(Scalar::of_width(f.size)) : Reg::pointer(f.loads);
            if (f.loads == Kind::Mem) {
                loaded->mem_size = options_.mbuf_buffer;
            }
        }
        return true;
    }
    return fail(fmt::format("invalid bpf_context access off={} size={}", off, size));
}

bool Explorer::access_packet(State &s, const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value)
{
    if (ptr.val.smin < 0) {
        return fail(
            fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.", regno));
    }
    if (ptr.val.umax > kMaxPacketOff) {
        return fail(fmt::format("R{} unbounded memory access, make sure to bounds check any such access", regno));
    }
    int64_t o = ptr.off + off;
    int64_t end = o + size;
    bool by_id = ptr.id != 0 && end <= static_cast<int64_t>(ptr.range);
    bool by_data = end + static_cast<int64_t>(ptr.val.umax) <= static_cast<int64_t>(s.pkt_proven);
    if (o < 0 || !(by_id || by_data)) {
        return fail(fmt::format("invalid access to packet, off={} size={}, {} (proven from data: {} bytes)", o, size,
                                packet_text(ptr, regno), s.pkt_proven));
    }
    if (write && value && value->is_pointer() && !options_.privileged) {
        return fail(fmt::format("R{} leaks addr into packet (unprivileged rule)", regno));
    }
    return true;
}

bool Explorer::access_map_value(const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value,
                                Reg *loaded)
{
    const MapSpec &map = maps_[ptr.map];
    uint32_t value_size = map.info.value_size;
    if (ptr.val.smin < 0) {
        return fail(
            fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.", regno));
    }
    int64_t o = ptr.off + off;
    int64_t hi = o + static_cast<int64_t>(ptr.val.umax) + size;
    if (ptr.val.umax >= (uint64_t{1} << 29) || o < 0 || hi > value_size) {
        return fail(fmt::format("invalid access to map value, value_size={} off={} size={} (map '{}', var_off={})",
                                value_size, o, size, map.info.name, ptr.val.text()));
    }
    bool read_only = map.read_only || (map.info.flags & BPF_F_RDONLY_PROG);
    if (write && read_only) {
        return fail(fmt::format("write into map forbidden, value_size={} off={} size={} (map '{}' is read-only)",
                                value_size, o, size, map.info.name));
    }
    if (write && value && value->is_pointer() && !options_.privileged) {
        return fail(fmt::format("R{} leaks addr into map '{}' (unprivileged rule)", regno, map.info.name));
    }
    // Frozen read-only data is known: its loads are constants, as the kernel reads them.
    if (loaded && read_only && ptr.val.is_const() && map.global_data &&
        static_cast<size_t>(hi) <= map.initial_value.size()) {
        uint64_t v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = (v << 8) | map.initial_value[static_cast<size_t>(o) + i];
        }
        *loaded = Reg::scalar(Scalar::constant(v));
    }
    return true;
}

bool Explorer::access_mem(const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value)
{
    int64_t o = ptr.off + off;
    if (ptr.val.smin < 0 || ptr.val.umax >= (uint64_t{1} << 29) || o < 0 ||
        o + static_cast<int64_t>(ptr.val.umax) + size > ptr.mem_size) {
        return fail(
            fmt::format("invalid access to memory, mem_size={} off={} size={} (R{})", ptr.mem_size, o, size, regno));
    }
    if (write && value && value->is_pointer() && !options_.privileged) {
        return fail(fmt::format("R{} leaks addr into mem (unprivileged rule)", regno));
    }
    return true;
}

bool Explorer::helper_memory(State &s, int regno, uint64_t size, bool write, bool uninit_ok, bool packet_ok)
{
    const Reg ptr = s.reg(regno);
    bool memory =
        ptr.kind == Kind::Stack || ptr.kind == Kind::Packet || ptr.kind == Kind::MapValue || ptr.kind == Kind::Mem;
    if (!memory) {
        return fail(fmt::format("R{} type={} expected=fp, pkt, map_value, mem", regno, kind_name(ptr.kind)));
    }
    if (ptr.kind == Kind::Packet && !packet_ok) {
        return fail("helper access to the packet is not allowed");
    }
    if (size == 0) {
        return true;
    }
    if (ptr.kind == Kind::Stack) {
        // Byte by byte: a helper reads or fills any span of initialised (or, for output, any) stack.
        if (!ptr.val.is_const() || ptr.val.umin != 0) {
            return fail(fmt::format("R{} variable stack access prohibited", regno));
        }
        int64_t lo = ptr.off;
        if (lo < -kStackSize || lo + static_cast<int64_t>(size) > 0) {
            return fail(fmt::format("invalid indirect access to stack R{} off={} size={}", regno, lo, size));
        }
        Frame &frame = s.frames[ptr.frame];
        uint32_t &depth = func_depth_[frame.func];
        depth = std::max<uint32_t>(depth, static_cast<uint32_t>(-lo));
        for (int64_t o = lo; o < lo + static_cast<int64_t>(size); o++) {
            Slot &slot = frame.stack[(-o - 1) / 8];
            uint8_t bit = static_cast<uint8_t>(1u << (o + 8 * ((-o - 1) / 8 + 1)));
            if (uninit_ok) {
                if (slot.spilled && slot.reg.is_pointer() && !options_.privileged) {
                    return fail("attempt to corrupt spilled pointer on stack (unprivileged rule)");
                }
                slot.spilled = false;
                slot.init |= bit;
                slot.known &= static_cast<uint8_t>(~bit);
            } else if ((slot.init & bit) == 0 && !options_.privileged) {
                return fail(fmt::format("invalid indirect read from stack R{} off {}+{} size {} (uninitialised; "
                                        "unprivileged rule)",
                                        regno, lo, o - lo, size));
            } else if (slot.spilled && slot.reg.is_pointer() && !options_.privileged) {
                return fail(fmt::format(
                    "R{} leaks addr into helper function (spilled pointer at fp{}) (unprivileged rule)", regno, o));
            }
        }
        return true;
    }
    if (size > (uint64_t{1} << 29)) {
        return fail(fmt::format("R{} unbounded memory access", regno));
    }
    Reg dummy;
    return access(s, regno, 0, static_cast<int>(size), write, nullptr, write ? nullptr : &dummy, false);
}

std::optional<uint64_t> Explorer::stack_constant(State &s, const Reg &ptr, int size)
{
    if (ptr.kind != Kind::Stack || !ptr.val.is_const() || ptr.val.umin != 0 || ptr.off < -kStackSize ||
        ptr.off + size > 0) {
        return std::nullopt;
    }
    uint64_t value = 0;
    for (int i = size - 1; i >= 0; i--) {
        int64_t o = ptr.off + i;
        const Slot &slot = s.frames[ptr.frame].stack[(-o - 1) / 8];
        int byte = static_cast<int>(o + 8 * ((-o - 1) / 8 + 1));
        uint64_t b = 0;
        if (slot.spilled && slot.reg.kind == Kind::Scalar && slot.reg.val.is_const()) {
            b = slot.reg.val.umin >> (8 * byte) & 0xff;
        } else if (!slot.spilled && (slot.known >> byte & 1)) {
            b = slot.bytes >> (8 * byte) & 0xff;
        } else {
            return std::nullopt;
        }
        value = value << 8 | b;
    }
    return value;
}

bool Explorer::atomic(State &s, const isa::Insn &in)
{
    if (!read_ok(s, in.dst) || !read_ok(s, in.src)) {
        return false;
    }
    const Reg &ptr = s.reg(in.dst);
    if (ptr.kind != Kind::Stack && ptr.kind != Kind::MapValue && ptr.kind != Kind::Mem) {
        return fail(fmt::format("BPF_ATOMIC stores into R{} {} is not allowed", in.dst, kind_name(ptr.kind)));
    }
    if (s.reg(in.src).is_pointer()) {
        return fail(fmt::format("R{} leaks addr into mem", in.src));
    }
    if (in.atomic == isa::AtomicOp::CmpXchg && !read_ok(s, 0)) {
        return false;
    }
    Reg loaded;
    Reg value = Reg::scalar(Scalar::unknown());
    if (!access(s, in.dst, in.off, in.size, false, nullptr, &loaded, false) ||
        !access(s, in.dst, in.off, in.size, true, &value, nullptr, false)) {
        return false;
    }
    switch (in.atomic) {
    case isa::AtomicOp::FetchAdd:
    case isa::AtomicOp::FetchOr:
    case isa::AtomicOp::FetchAnd:
    case isa::AtomicOp::FetchXor:
    case isa::AtomicOp::Xchg: s.reg(in.src) = Reg::scalar(Scalar::of_width(in.size)); break;
    case isa::AtomicOp::CmpXchg: s.reg(0) = Reg::scalar(Scalar::of_width(in.size)); break;
    default: break;
    }
    return true;
}

} // namespace harmony::verifier
