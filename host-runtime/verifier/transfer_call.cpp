// Helper calls: the id must be known to the target; each argument must be what the
// prototype says (maps from ld_imm64, keys and values of the map's sizes, memory with
// its size, the ring-buffer record the program holds); r0 takes the return kind; r1-r5
// are clobbered; helpers that move the packet invalidate every packet pointer.
#include "explorer.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

namespace harmony::verifier {

namespace {

using helpers::Arg;
using helpers::Ret;

bool changes_packet_data(uint32_t id)
{
    return id == BPF_FUNC_xdp_adjust_head || id == BPF_FUNC_xdp_adjust_tail || id == BPF_FUNC_xdp_adjust_meta;
}

/// The kernel's pkt_access helpers, and Harmony's own (they run where the packet is plain
/// memory): the only ones that may be given packet memory, always within the proven range.
bool packet_access(uint32_t id)
{
    return id == BPF_FUNC_map_lookup_elem || id == BPF_FUNC_map_update_elem || id == BPF_FUNC_map_delete_elem ||
           id == BPF_FUNC_csum_diff || id >= helpers::kHarmonyBase;
}

bool is_ringbuf_helper(uint32_t id)
{
    return id == BPF_FUNC_ringbuf_output || id == BPF_FUNC_ringbuf_reserve || id == BPF_FUNC_ringbuf_query;
}

/// The kernel's check_map_func_compatibility, for the map types XDP programs use.
std::string map_func_mismatch(uint32_t map_type, uint32_t id, const std::string &helper)
{
    bool ringbuf_map = map_type == BPF_MAP_TYPE_RINGBUF;
    bool redirect_map = map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
                        map_type == BPF_MAP_TYPE_CPUMAP || map_type == BPF_MAP_TYPE_XSKMAP;
    bool ok = true;
    if (ringbuf_map) {
        ok = is_ringbuf_helper(id);
    } else if (is_ringbuf_helper(id)) {
        ok = false;
    } else if (id == BPF_FUNC_redirect_map) {
        ok = redirect_map;
    } else if (id == BPF_FUNC_tail_call) {
        ok = map_type == BPF_MAP_TYPE_PROG_ARRAY;
    } else if (map_type == BPF_MAP_TYPE_PROG_ARRAY) {
        ok = false;
    }
    return ok ? "" : fmt::format("cannot pass map_type {} into func bpf_{}#{}", map_type, helper, id);
}

} // namespace

bool Explorer::release_reference(State &s, uint32_t ref)
{
    auto it = std::find_if(s.refs.begin(), s.refs.end(), [&](const RefState &r) { return r.id == ref; });
    if (ref == 0 || it == s.refs.end()) {
        return fail("release of an unacquired reference");
    }
    s.refs.erase(it);
    s.for_each_reg([&](Reg &r) {
        if (r.ref == ref) {
            r = Reg{};
        }
    });
    return true;
}

bool Explorer::helper_args(State &s, const helpers::Prototype &proto, uint32_t id, int &map)
{
    for (int i = 0; i < 5; i++) {
        Arg arg = proto.args[i];
        int regno = i + 1;
        if (arg == Arg::None) {
            break;
        }
        if (!read_ok(s, regno)) {
            return false;
        }
        const Reg r = s.reg(regno);
        auto expected = [&](const char *what) {
            return fail(fmt::format("R{} type={} expected={}", regno, kind_name(r.kind), what));
        };
        switch (arg) {
        case Arg::Anything:
            if (r.is_pointer() && !options_.privileged) {
                return fail(fmt::format("R{} leaks addr into helper function (unprivileged rule)", regno));
            }
            break;
        case Arg::Scalar:
        case Arg::Size:
        case Arg::SizeOrZero:
            if (r.kind != Kind::Scalar) {
                return expected("scalar");
            }
            break;
        case Arg::ConstMap:
            if (r.kind != Kind::MapPtr) {
                return expected("map_ptr");
            }
            map = r.map;
            if (auto why = map_func_mismatch(maps_[map].info.type, id, proto.name); !why.empty()) {
                return fail(why);
            }
            break;
        case Arg::MapKey:
        case Arg::MapValue: {
            if (map < 0) {
                return fail(fmt::format("R{} map key or value without a map argument", regno));
            }
            uint32_t size = arg == Arg::MapKey ? maps_[map].info.key_size : maps_[map].info.value_size;
            if (!r.is_pointer()) {
                return expected(arg == Arg::MapKey ? "map_key (fp, pkt, map_value)" : "map_value (fp, pkt, map_value)");
            }
            if (!helper_memory(s, regno, size, false, false, packet_access(id))) {
                return false;
            }
            break;
        }
        case Arg::Mem:
        case Arg::MemWritable:
        case Arg::MemUninit: {
            Arg size_arg = i + 1 < 5 ? proto.args[i + 1] : Arg::None;
            if (size_arg != Arg::Size && size_arg != Arg::SizeOrZero) {
                return fail(fmt::format("helper {} prototype: memory argument {} has no size", proto.name, regno));
            }
            if (!read_ok(s, regno + 1)) {
                return false;
            }
            const Reg &size = s.reg(regno + 1);
            if (size.kind != Kind::Scalar) {
                return fail(fmt::format("R{} type={} expected=scalar (size)", regno + 1, kind_name(size.kind)));
            }
            if (size.val.umin == 0 && size_arg == Arg::Size) {
                return fail(
                    fmt::format("R{} invalid zero-sized read: u64=[{},{}]", regno + 1, size.val.umin, size.val.umax));
            }
            if (size.val.umax >= (uint64_t{1} << 29)) {
                return fail(
                    fmt::format("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'", regno + 1));
            }
            bool null_ok = size_arg == Arg::SizeOrZero && size.val.umax == 0;
            if (!r.is_pointer() && !null_ok) {
                return expected("mem (fp, pkt, map_value, mem)");
            }
            if (r.is_pointer() &&
                !helper_memory(s, regno, size.val.umax, arg != Arg::Mem, arg == Arg::MemUninit, packet_access(id))) {
                return false;
            }
            i++;
            break;
        }
        case Arg::Ctx:
            if (r.kind != Kind::Ctx || r.off != 0) {
                return expected("ctx");
            }
            break;
        case Arg::RingbufRecord:
            if (r.kind != Kind::Mem || r.ref == 0) {
                return expected("ringbuf_mem");
            }
            if (r.off != 0 || !r.val.is_const() || r.val.umin != 0) {
                return fail(fmt::format("R{} must have zero offset when passed to release func", regno));
            }
            break;
        case Arg::StackOrNull:
            if (r.kind != Kind::Stack && !(r.kind == Kind::Scalar && r.val.is_const() && r.val.umin == 0)) {
                return expected("fp or null");
            }
            break;
        case Arg::Func:
            if (!callback_entry(r)) {
                return expected("func (a callback loaded with ld_imm64)");
            }
            break;
        default: break;
        }
    }
    return true;
}

std::optional<uint32_t> Explorer::callback_entry(const Reg &r) const
{
    if (r.kind != Kind::Scalar || !r.val.is_const() || r.val.umin >= insns_.size()) {
        return std::nullopt;
    }
    auto entry = static_cast<uint32_t>(r.val.umin);
    if (!cfg_.callbacks.contains(entry)) {
        return std::nullopt;
    }
    return entry;
}

bool Explorer::enter_callback(const State &s, uint32_t pc, uint32_t entry, const Reg &ctx, bool again)
{
    if (s.frames.size() >= kMaxFrames) {
        return fail(fmt::format("the call stack of {} frames is too deep", s.frames.size() + 1));
    }
    State inside = s;
    Frame callee;
    callee.regs[1] = Reg::scalar(Scalar::urange(0, kMaxLoopIterations - 1));
    callee.regs[2] = ctx;
    callee.regs[10] =
        Reg{.kind = Kind::Stack, .val = Scalar::constant(0), .frame = static_cast<uint8_t>(s.frames.size())};
    callee.callsite = pc;
    callee.func = entry;
    callee.callback = true;
    callee.callback_ctx = ctx;
    inside.frames.push_back(callee);
    auto [previous, first] = callback_entry_.try_emplace({pc, entry}, inside);
    if (again && !first) {
        State widened;
        if (widen(previous->second, inside, id_gen_, widened)) {
            inside = std::move(widened);
        }
    }
    previous->second = inside;
    push(pc, entry, std::move(inside));
    return true;
}

bool Explorer::call_helper(State &s, uint32_t pc, const isa::Insn &in)
{
    uint32_t id = static_cast<uint32_t>(in.imm);
    const helpers::Prototype *proto = options_.prototypes ? options_.prototypes(id) : nullptr;
    if (!proto) {
        return fail(fmt::format("invalid func unknown#{}", id));
    }
    int map = -1;
    if (!helper_args(s, *proto, id, map)) {
        return false;
    }
    for (int i = 0; i < 5; i++) {
        // bpf_loop(nr, callback, ctx, flags): the callback's arguments are the next two.
        if (proto->args[i] == Arg::Func && i + 1 < 5 &&
            !enter_callback(s, pc, *callback_entry(s.reg(i + 1)), s.reg(i + 2))) {
            return false;
        }
    }
    const Reg size_arg = s.reg(2);
    // As the kernel: an array lookup with a constant key in range cannot return NULL.
    bool never_null = false;
    if (id == BPF_FUNC_map_lookup_elem && map >= 0) {
        const MapInfo &info = maps_[map].info;
        bool array = info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY;
        auto key = array && info.key_size == 4 ? stack_constant(s, s.reg(2), 4) : std::nullopt;
        never_null = key && *key < info.max_entries;
    }
    for (int i = 0; i < 5; i++) {
        if (proto->args[i] == Arg::RingbufRecord && !release_reference(s, s.reg(i + 1).ref)) {
            return false;
        }
    }
    if (changes_packet_data(id)) {
        s.for_each_reg([](Reg &r) {
            if (r.kind == Kind::Packet || r.kind == Kind::PacketEnd || r.kind == Kind::PacketMeta) {
                r = Reg{};
            }
        });
        s.pkt_proven = 0;
    }
    for (int i = 1; i <= 5; i++) {
        s.reg(i) = Reg{};
    }
    Reg &r0 = s.reg(0);
    switch (proto->ret) {
    case Ret::Integer:
    case Ret::Void: r0 = Reg::scalar(Scalar::unknown()); break;
    case Ret::MapValueOrNull:
        r0 = Reg::pointer(never_null ? Kind::MapValue : Kind::MapValueOrNull);
        r0.map = map;
        r0.id = never_null ? 0 : fresh_id();
        break;
    case Ret::RingbufOrNull: {
        if (size_arg.kind != Kind::Scalar || !size_arg.val.is_const()) {
            return fail("R2 is not a known constant (ring-buffer record size)");
        }
        r0 = Reg::pointer(Kind::MemOrNull);
        r0.mem_size = static_cast<uint32_t>(size_arg.val.umin);
        r0.id = fresh_id();
        r0.ref = fresh_id();
        s.refs.push_back(RefState{r0.ref, pc});
        break;
    }
    }
    return true;
}

} // namespace harmony::verifier
