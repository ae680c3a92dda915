// The execution contract shared by the interpreter and the x86-64 JIT: what a linked
// program is, what the context looks like after the loader's rewrite, and where per-run
// state lives. Both executors must give identical results on every program.
#pragma once

#include "common/error.hpp"
#include "helpers/helper.hpp"
#include "host-runtime/insn.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace harmony::vm {

/// The native XDP context. The loader rewrites loads of `struct xdp_md` fields into loads
/// of these fields, as the kernel's convert_ctx_accesses does for struct xdp_buff:
/// xdp_md.data (u32 at 0) -> 64-bit load of `data`, data_end (4) -> `data_end`,
/// data_meta (8) -> `data_meta`, ingress_ifindex (12), rx_queue_index (16),
/// egress_ifindex (20) -> the u32 fields below.
struct XdpBuff {
    uint8_t *data = nullptr;
    uint8_t *data_end = nullptr;
    uint8_t *data_meta = nullptr;
    uint8_t *data_hard_start = nullptr; ///< start of headroom, for xdp_adjust_head
    uint8_t *frame_end = nullptr;       ///< end of tailroom, for xdp_adjust_tail
    uint32_t ingress_ifindex = 0;
    uint32_t rx_queue_index = 0;
    uint32_t egress_ifindex = 0;
};

struct LinkedProgram;

/// Per-run state that helpers need beyond their arguments. One per thread, set by the
/// executor around each run.
struct RunState {
    XdpBuff *xdp = nullptr;
    const LinkedProgram *program = nullptr;
    /// bpf_redirect / bpf_redirect_map: where XDP_REDIRECT goes.
    uint32_t redirect_ifindex = 0;
    void *redirect_map = nullptr;
    uint32_t redirect_key = 0;
    /// bpf_tail_call: the program to continue in once the current one returns; the
    /// executor ends the current program right after the helper call when this is set.
    const LinkedProgram *tail_call = nullptr;
    uint32_t tail_calls_done = 0; ///< the kernel allows 33
    /// Callbacks (bpf_loop): runs the subprogram starting at instruction `pc` of the running
    /// program with r1..r5 = args[0..4] and returns its r0, exactly as a CallLocal to `pc`
    /// would (new frame, fresh stack frame below the caller's, r6-r9 preserved). A callback
    /// value reaches the helper as the constant the linker put in its ld_imm64: a
    /// BPF_PSEUDO_FUNC reference is linked to pseudo == isa::kImm, imm64 = the callback's
    /// absolute instruction index. Set by the executor for each run (null: no callbacks, the
    /// helper fails with -EINVAL); `executor` is passed back as the first argument.
    uint64_t (*call_subprogram)(void *executor, uint64_t pc, const uint64_t args[5]) = nullptr;
    void *executor = nullptr;
    /// Why the executor aborted the run (call depth, unresolved callx), else empty. An
    /// aborted run returns 0, XDP_ABORTED.
    std::string fault;
};
RunState &current_run();

/// A program ready to execute: decoded instructions (subprograms appended) in which every
/// map reference is an address (LoadImm64 with pseudo == isa::kImm and imm64 the address
/// of the host map object, or of a byte inside its value for global data) and every
/// helper id is resolved.
struct LinkedProgram {
    std::vector<isa::Insn> insns;
    std::vector<helpers::HelperFn> helper_by_slot; ///< helper_by_slot[pc] for Call insns, else null
    uint32_t stack_size = 512;                     ///< per frame, as the kernel's MAX_BPF_STACK
    /// callx (Op::CallReg): the helper whose id the register holds at run time; null or
    /// returning null aborts the run.
    std::function<helpers::HelperFn(uint64_t id)> helper_by_id;
};

/// Runs a linked program; r1 = ctx, r2 = ctx_len (the conformance suite's memory
/// length; 0 for XDP), r10 = top of a fresh stack. Returns r0.
class Executor {
public:
    virtual ~Executor() = default;
    virtual uint64_t run(void *ctx, uint64_t ctx_len = 0) = 0;
};

/// The two executors. Both take a program the verifier has accepted (or, for the ISA
/// conformance suite, a structurally valid one).
Result<std::unique_ptr<Executor>> make_interpreter(const LinkedProgram &program);
Result<std::unique_ptr<Executor>> make_jit(const LinkedProgram &program);

} // namespace harmony::vm
