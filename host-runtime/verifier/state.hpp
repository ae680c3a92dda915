// The abstract machine state: what the verifier knows about every register and stack
// byte of every active call frame, plus the references (ring-buffer records) the program
// holds. Register kinds follow the kernel's (scalar, ctx, fp, pkt, pkt_end, map_ptr,
// map_value, map_value_or_null, mem, mem_or_null) so the log reads the same. Internal.
#pragma once

#include "scalar.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace harmony::verifier {

inline constexpr int kStackSize = 512;
inline constexpr int kSlots = kStackSize / 8;
inline constexpr int kRegs = 11;
inline constexpr int kMaxFrames = 8;
inline constexpr uint64_t kMaxLoopIterations = 1 << 23; ///< bpf_loop's limit (BPF_MAX_LOOPS)

enum class Kind : uint8_t {
    Uninit,         ///< never written, clobbered by a call, or released: unreadable
    Scalar,         ///< a number
    Ctx,            ///< the program context (struct xdp_md)
    Stack,          ///< frame pointer + off in frame `frame`
    Packet,         ///< data + var + off; `range` bytes past data + var are proven in bounds
    PacketEnd,      ///< data_end
    PacketMeta,     ///< data_meta
    MapPtr,         ///< a map, as loaded by ld_imm64
    MapValue,       ///< a map value of map `map`
    MapValueOrNull, ///< lookup result before its null check
    Mem,            ///< a ring-buffer record of `mem_size` bytes, holding reference `ref`
    MemOrNull,      ///< reserve result before its null check
    Merged,         ///< two paths disagreed on the kind; unreadable, like Uninit
};

const char *kind_name(Kind k);

struct Reg {
    Kind kind = Kind::Uninit;
    Scalar val;            ///< Scalar: the value. Pointers: the variable part of the offset
    int64_t off = 0;       ///< pointers: the constant part of the offset
    uint32_t id = 0;       ///< equal ids: equal scalars, same packet var part, same null-ness
    uint32_t ref = 0;      ///< Mem/MemOrNull: the reference it holds
    int32_t map = -1;      ///< MapPtr, MapValue*: index into the program's maps
    uint32_t range = 0;    ///< Packet: bytes proven readable from data + var
    uint32_t mem_size = 0; ///< Mem*: the record's size
    uint8_t frame = 0;     ///< Stack: the frame the pointer points into

    bool is_pointer() const { return kind != Kind::Uninit && kind != Kind::Scalar && kind != Kind::Merged; }
    bool readable() const { return kind != Kind::Uninit && kind != Kind::Merged; }
    static Reg scalar(Scalar v) { return Reg{.kind = Kind::Scalar, .val = v}; }
    /// A pointer with no variable offset part.
    static Reg pointer(Kind k) { return Reg{.kind = k, .val = Scalar::constant(0)}; }
};

/// One 8-byte stack slot: a spilled register (all 8 bytes) or bytes of unknown data.
struct Slot {
    bool spilled = false;
    uint8_t init = 0;  ///< bit i: byte i was written
    uint8_t known = 0; ///< bit i: byte i holds the constant byte i of `bytes` (narrow constant stores)
    uint64_t bytes = 0;
    Reg reg; ///< the spilled register when `spilled`
};

struct Frame {
    std::array<Reg, kRegs> regs{};
    std::array<Slot, kSlots> stack{};
    uint32_t callsite = UINT32_MAX; ///< pc of the call that made this frame (UINT32_MAX: main)
    uint32_t func = 0;              ///< entry pc of the function running in this frame
    /// A bpf_loop callback: each return either ends the loop or calls it again with r1 = the
    /// next index and r2 = `callback_ctx`, the ctx argument the helper was given.
    bool callback = false;
    Reg callback_ctx;
};

struct RefState {
    uint32_t id = 0;
    uint32_t pc = 0; ///< where it was acquired
};

struct State {
    std::vector<Frame> frames;
    std::vector<RefState> refs;
    /// Bytes from data proven inside the packet (data + pkt_proven <= data_end); every packet
    /// pointer benefits, whatever its id, so a check before a join still guards after it.
    uint32_t pkt_proven = 0;
    /// (loop head, iteration) for each loop the path is inside: only states of the same
    /// iteration are merged, so a loop counter stays exact instead of becoming a range.
    std::vector<std::pair<uint32_t, uint32_t>> iterations;

    Frame &top() { return frames.back(); }
    const Frame &top() const { return frames.back(); }
    Reg &reg(int r) { return frames.back().regs[r]; }

    /// Applies f(Reg&) to every register and spilled slot of every frame.
    template <typename F> void for_each_reg(F &&f)
    {
        for (auto &frame : frames) {
            for (auto &r : frame.regs) {
                f(r);
            }
            for (auto &s : frame.stack) {
                if (s.spilled) {
                    f(s.reg);
                }
            }
        }
    }
};

/// Source of fresh ids for joins.
using IdSource = uint32_t (*)(void *ctx);

/// a ⊔ b when the two can be merged without losing what later checks need (same call
/// chain, same references, same pointer kinds); otherwise false and `out` untouched.
/// With `force`, kind mismatches become Merged instead of failing.
bool join(const State &a, const State &b, bool force, uint32_t &id_gen, State &out);

/// True when every concrete state of `cur` is a concrete state of `old`, so `cur` needs no
/// exploration once `old` is explored.
bool covers(const State &old, const State &cur);

/// Widening, for states that meet again and again (bpf_loop callback entries): the join of
/// `prev` and `next` in which every value that changed from `prev` becomes unknown, so the
/// sequence stops growing after one step. False when the two do not join.
bool widen(const State &prev, const State &next, uint32_t &id_gen, State &out);

std::string reg_text(const Reg &r);
/// "R0=scalar(...) R1=ctx() R10=fp0 fp-8=mmmmmmmm", as the kernel prints a state.
std::string state_text(const State &s);

} // namespace harmony::verifier
