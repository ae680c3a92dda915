// The exploration engine: a worklist of abstract states ordered by instruction index,
// and the transfer function of each instruction kind (explore.cpp: worklist, exits,
// calls between functions; transfer_*.cpp: ALU, memory, jumps, helper calls).
// Internal to the verifier.
#pragma once

#include "cfg.hpp"
#include "context.hpp"
#include "state.hpp"
#include "verifier.hpp"

#include <map>
#include <optional>
#include <vector>

namespace harmony::verifier {

/// Where control goes after one instruction.
struct Next {
    enum Kind : uint8_t { Go, Stop } kind = Go; ///< Stop: the path ended or was handed to the worklist
    uint32_t pc = 0;
};

class Explorer {
public:
    Explorer(const ProgramSection &program, std::span<const MapSpec> maps, const Options &options, Cfg cfg,
             const CtxLayout &ctx);

    /// Explores from the entry; fills the report's refusal on the first unsafe instruction.
    void run(Report &report);

private:
    // explore.cpp
    void push(uint32_t from, uint32_t pc, State s);
    std::map<uint32_t, std::vector<State>>::iterator next_ready();
    std::vector<State> merge(std::vector<State> states);
    bool prunable(uint32_t pc, const State &s) const;
    bool repeats_itself(uint32_t pc, const State &s);
    void run_block(uint32_t pc, State s);
    std::optional<Next> step(State &s, uint32_t pc);
    std::optional<Next> exit(State &s, uint32_t pc);
    std::optional<Next> call_local(State &s, uint32_t pc);
    bool check_stack_depth();
    void refuse(uint32_t pc, const State &at);
    State initial_state() const;

    // transfer_alu.cpp
    bool alu(State &s, const isa::Insn &in);
    bool pointer_alu(State &s, const isa::Insn &in, Reg &dst, const Reg &ptr, const Reg &scalar);
    bool ld_imm64(State &s, uint32_t pc, const isa::Insn &in);
    uint32_t packet_var_id(State &s, const isa::Insn &in, const Reg &ptr);

    // transfer_mem.cpp
    bool memory(State &s, const isa::Insn &in);
    bool access(State &s, int regno, int64_t off, int size, bool write, const Reg *value, Reg *loaded,
                bool sign_extend);
    bool access_stack(State &s, const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value,
                      Reg *loaded);
    bool access_ctx(const Reg &ptr, int regno, int64_t off, int size, bool write, Reg *loaded);
    bool access_packet(State &s, const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value);
    bool access_map_value(const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value, Reg *loaded);
    bool access_mem(const Reg &ptr, int regno, int64_t off, int size, bool write, const Reg *value);
    /// Memory a helper reads or writes: `size` bytes at the pointer in regno.
    bool helper_memory(State &s, int regno, uint64_t size, bool write, bool uninit_ok, bool packet_ok);
    bool atomic(State &s, const isa::Insn &in);
    /// BPF_LD_[ABS|IND]: only on the mbuf context (RawContext::Mbuf).
    bool legacy_packet_load(State &s, const isa::Insn &in);
    /// The little-endian constant in `size` stack bytes at ptr, when every byte is known.
    std::optional<uint64_t> stack_constant(State &s, const Reg &ptr, int size);

    // transfer_jump.cpp
    void branch(State &s, uint32_t pc, const isa::Insn &in);
    bool branch_pointers(State &s, uint32_t pc, const isa::Insn &in);
    void mark_null(State &s, uint32_t id, bool is_null);
    void learn_packet_range(State &s, const Reg &pkt, int64_t extra);

    // transfer_call.cpp
    bool call_helper(State &s, uint32_t pc, const isa::Insn &in);
    bool helper_args(State &s, const helpers::Prototype &proto, uint32_t id, int &map);
    /// The function a constant names when it is the address of a callback (ld_imm64 of a
    /// function), else nullopt.
    std::optional<uint32_t> callback_entry(const Reg &r) const;
    /// bpf_loop: a state entering `entry` as a callback of the call at `pc`, r1 = the index
    /// and r2 = ctx, on top of the caller's state `s`.
    /// `again`: a later iteration, widened against the previous entry (values the callback
    /// keeps changing become unknown), so that its entries stop differing and are pruned.
    bool enter_callback(const State &s, uint32_t pc, uint32_t entry, const Reg &ctx, bool again = false);
    /// A callback's exit: the loop either goes on (the callback again, queued) or ends
    /// (returned: back after the call).
    std::optional<Next> exit_callback(State &s);
    bool release_reference(State &s, uint32_t ref);

    bool fail(std::string reason);
    bool read_ok(const State &s, int regno);
    uint32_t fresh_id() { return ++id_gen_; }

    const ProgramSection &program_;
    std::span<const isa::Insn> insns_;
    std::span<const MapSpec> maps_;
    const Options &options_;
    Cfg cfg_;
    const CtxLayout &ctx_;

    std::map<uint32_t, std::vector<State>> pending_;
    std::vector<std::vector<State>> seen_;
    std::map<uint32_t, std::vector<State>> head_history_; ///< recent states at each loop head
    std::map<std::pair<uint32_t, uint32_t>, State> callback_entry_; ///< (call pc, callback) -> last entry state
    std::vector<uint64_t> visits_;
    std::map<uint32_t, uint32_t> func_depth_; ///< function entry -> deepest stack byte used
    uint32_t id_gen_ = 0;
    size_t pending_count_ = 0;
    Report *report_ = nullptr;
    std::string error_;
    bool failed_ = false;
};

} // namespace harmony::verifier
