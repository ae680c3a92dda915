// The struct xdp_md -> vm::XdpBuff rewrite and the dataflow that finds ctx loads (see
// link.hpp for the why).
#include "link.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>

namespace harmony::host {
namespace {

using isa::Insn;
using isa::Op;

/// What a register or stack slot holds, as far as ctx is concerned.
enum class Val : uint8_t {
    Other, ///< not the ctx pointer
    Ctx,   ///< the ctx pointer, unmodified
    Moved, ///< ctx plus arithmetic: loads through it are refused
    Mixed, ///< ctx on some paths only: loads through it are refused
};

Val join(Val a, Val b) { return a == b ? a : Val::Mixed; }

struct State {
    std::array<Val, 11> regs{};
    std::map<int32_t, Val> slots; ///< fp offset of an 8-byte spill -> what it holds (absent: Other)

    bool join_from(const State &other)
    {
        bool changed = false;
        for (size_t r = 0; r < regs.size(); r++) {
            Val joined = join(regs[r], other.regs[r]);
            changed |= joined != regs[r];
            regs[r] = joined;
        }
        std::set<int32_t> keys;
        for (auto &[k, v] : slots) {
            keys.insert(k);
        }
        for (auto &[k, v] : other.slots) {
            keys.insert(k);
        }
        for (int32_t k : keys) {
            auto mine = slots.contains(k) ? slots[k] : Val::Other;
            auto theirs = other.slots.contains(k) ? other.slots.at(k) : Val::Other;
            Val joined = join(mine, theirs);
            changed |= joined != mine;
            if (joined == Val::Other) {
                slots.erase(k);
            } else {
                slots[k] = joined;
            }
        }
        return changed;
    }

    void clobber_call_registers()
    {
        for (int r = 0; r <= 5; r++) {
            regs[r] = Val::Other;
        }
    }

    /// A store of `size` bytes at fp+off overwrites whatever spill it overlaps.
    void kill_slots(int32_t off, int32_t size)
    {
        for (auto it = slots.begin(); it != slots.end();) {
            bool overlaps = it->first < off + size && off < it->first + 8;
            it = overlaps ? slots.erase(it) : std::next(it);
        }
    }
};

State entry_state(bool has_ctx)
{
    State s;
    s.regs[1] = has_ctx ? Val::Ctx : Val::Other;
    return s;
}

class CtxFlow {
public:
    CtxFlow(const std::vector<Insn> &insns, std::string name) : insns_(insns), name_(std::move(name)) {}

    /// The pcs of loads through ctx, or the first refused access.
    Result<std::vector<size_t>> run()
    {
        states_.assign(insns_.size(), std::nullopt);
        for (size_t pc = 0; pc < insns_.size(); pc++) {
            const Insn &i = insns_[pc];
            if (i.op == Op::LoadImm64 && i.pseudo == isa::kFunc) {
                propagate(static_cast<int64_t>(pc) + 1 + i.imm, entry_state(false)); // callbacks get no ctx
            }
        }
        propagate(0, entry_state(true));
        while (!work_.empty()) {
            size_t pc = work_.front();
            work_.pop_front();
            queued_.erase(pc);
            if (auto ok = step(pc); !ok) {
                return std::unexpected(ok.error());
            }
        }
        return std::vector<size_t>(ctx_loads_.begin(), ctx_loads_.end());
    }

private:
    const std::vector<Insn> &insns_;
    std::string name_;
    std::vector<std::optional<State>> states_;
    std::deque<size_t> work_;
    std::set<size_t> queued_;
    std::set<size_t> ctx_loads_;

    void propagate(int64_t pc, const State &state)
    {
        if (pc < 0 || static_cast<size_t>(pc) >= insns_.size()) {
            return; // out-of-range jumps are the verifier's and the executor's to refuse
        }
        auto &slot = states_[pc];
        bool changed = !slot ? (slot = state, true) : slot->join_from(state);
        if (changed && queued_.insert(pc).second) {
            work_.push_back(pc);
        }
    }

    Result<void> refuse(size_t pc, std::string why) const
    {
        return fail("link", fmt::format("program '{}' insn {}", name_, pc),
                    why + " (" + isa::disassemble(insns_[pc]) + ")");
    }

    Result<void> step(size_t pc)
    {
        State s = *states_[pc];
        const Insn &i = insns_[pc];
        size_t next = pc + 1;
        switch (i.op) {
        case Op::Load:
        case Op::LoadSx: {
            Val base = s.regs[i.src];
            if (base == Val::Moved || base == Val::Mixed) {
                return refuse(pc, base == Val::Moved ? "load through a modified ctx pointer"
                                                     : "load through a register that is ctx on some paths only");
            }
            if (base == Val::Ctx) {
                ctx_loads_.insert(pc);
            }
            bool fill = i.src == 10 && i.size == 8 && i.op == Op::Load && s.slots.contains(i.off);
            s.regs[i.dst] = fill ? s.slots[i.off] : Val::Other;
            break;
        }
        case Op::Store:
        case Op::StoreImm:
        case Op::Atomic:
            if (s.regs[i.dst] != Val::Other) {
                return refuse(pc, "write to the xdp_md context");
            }
            if (i.dst == 10) {
                s.kill_slots(i.off, i.size);
                if (i.op == Op::Store && i.size == 8 && s.regs[i.src] != Val::Other) {
                    s.slots[i.off] = s.regs[i.src];
                }
            }
            if (i.op == Op::Atomic) {
                s.regs[i.atomic == isa::AtomicOp::CmpXchg ? 0 : i.src] = Val::Other;
            }
            break;
        case Op::LoadImm64:
            s.regs[i.dst] = Val::Other;
            next = pc + 2;
            break;
        case Op::LoadAbs:
        case Op::LoadInd: s.clobber_call_registers(); break;
        case Op::Call:
        case Op::CallReg: s.clobber_call_registers(); break;
        case Op::CallLocal: {
            State callee;
            for (int r = 1; r <= 5; r++) {
                callee.regs[r] = s.regs[r];
            }
            propagate(static_cast<int64_t>(pc) + 1 + i.imm, callee);
            s.clobber_call_registers();
            break;
        }
        case Op::Exit: return {};
        case Op::Filler: return {};
        case Op::Ja: propagate(isa::jump_target(pc, i), s); return {};
        case Op::Jeq: case Op::Jgt: case Op::Jge: case Op::Jset: case Op::Jne: case Op::Jsgt:
        case Op::Jsge: case Op::Jlt: case Op::Jle: case Op::Jslt: case Op::Jsle:
            propagate(isa::jump_target(pc, i), s);
            break;
        case Op::Mov:
            if (!i.src_is_reg) {
                s.regs[i.dst] = Val::Other;
            } else if (i.is64) {
                s.regs[i.dst] = s.regs[i.src];
            } else {
                s.regs[i.dst] = s.regs[i.src] == Val::Other ? Val::Other : Val::Moved; // 32-bit copy: not ctx
            }
            break;
        default: { // every other ALU op: arithmetic on ctx makes a pointer the rewrite cannot follow
            bool touches_ctx = s.regs[i.dst] != Val::Other || (i.src_is_reg && s.regs[i.src] != Val::Other);
            s.regs[i.dst] = touches_ctx ? Val::Moved : Val::Other;
            break;
        }
        }
        propagate(static_cast<int64_t>(next), s);
        return {};
    }
};

struct FieldMap {
    int16_t xdp_md_off;
    int16_t native_off;
    bool pointer; ///< u32 in xdp_md, 64-bit pointer in XdpBuff
};

constexpr FieldMap kFields[] = {
    {0, offsetof(vm::XdpBuff, data), true},
    {4, offsetof(vm::XdpBuff, data_end), true},
    {8, offsetof(vm::XdpBuff, data_meta), true},
    {12, offsetof(vm::XdpBuff, ingress_ifindex), false},
    {16, offsetof(vm::XdpBuff, rx_queue_index), false},
    {20, offsetof(vm::XdpBuff, egress_ifindex), false},
};

Result<void> rewrite_load(Insn &insn, size_t pc, const std::string &name)
{
    for (const auto &f : kFields) {
        int32_t within = insn.off - f.xdp_md_off;
        if (within < 0 || within >= 4) {
            continue;
        }
        if (insn.op == Op::LoadSx || within + insn.size > 4 || (f.pointer && (within != 0 || insn.size != 4))) {
            break;
        }
        insn.off = static_cast<int16_t>(f.native_off + within);
        insn.size = f.pointer ? 8 : insn.size;
        return {};
    }
    return fail("link", fmt::format("program '{}' insn {}", name, pc),
                fmt::format("invalid access to xdp_md at offset {} size {} ({})", insn.off, insn.size,
                            isa::disassemble(insn)));
}

} // namespace

Result<void> rewrite_xdp_context(std::vector<isa::Insn> &insns, const std::string &program_name)
{
    auto loads = CtxFlow(insns, program_name).run();
    if (!loads) {
        return std::unexpected(loads.error());
    }
    for (size_t pc : *loads) {
        if (auto ok = rewrite_load(insns[pc], pc, program_name); !ok) {
            return ok;
        }
    }
    return {};
}

} // namespace harmony::host
