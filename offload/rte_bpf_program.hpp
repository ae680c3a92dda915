// A BPF program on DPDK's own engine, librte_bpf: proven safe by Harmony's verifier in
// rte_bpf's view of r1 (the frame window or the mbuf) first, then handed to rte_bpf_load
// (its validator has the last word), helper calls bound to rte_bpf external symbols
// (scalar Linux helpers, every registered Harmony helper, test helpers), run JIT-compiled
// (rte_bpf_get_jit) or interpreted (rte_bpf_exec). The program runs on the mbuf's bytes in
// place, so its stores are the frame sent on; rte_bpf has no context to adjust the frame's
// head or tail by (no bpf_xdp_adjust_head/tail), so its length never changes.
#pragma once

#include "host-runtime/insn.hpp"
#include "offload/queue_program.hpp"

#include <span>
#include <vector>

struct rte_bpf;

namespace harmony::dpdk {

/// What r1 points at when the program runs.
enum class RteBpfContext {
    /// RTE_BPF_ARG_PTR: the frame's first byte; `packet_window` bytes are readable (shorter
    /// frames are zero-padded), as rte_bpf_eth_rx_install passes rte_pktmbuf_mtod.
    Packet,
    /// RTE_BPF_ARG_PTR_MBUF: the struct rte_mbuf itself, read-only; buf_addr points at
    /// RTE_MBUF_DEFAULT_BUF_SIZE bytes (an mbuf with a smaller buffer is not run: ABORTED).
    Mbuf,
};

/// A helper an rte_bpf program may call: BPF `call id` is bound to `fn` as an external symbol.
/// rte_bpf's JIT calls it with a misaligned stack: declare `fn` with
/// __attribute__((force_align_arg_pointer)).
struct RteBpfHelper {
    uint32_t id = 0;
    const char *name = "";
    uint64_t (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) = nullptr;
    uint32_t nb_args = 0; ///< all scalar (RTE_BPF_ARG_RAW)
};

/// Helpers with scalar arguments that every rte_bpf program gets: bpf_ktime_get_ns (5),
/// bpf_get_prandom_u32 (7), bpf_get_smp_processor_id (8). Every helper registered with
/// helpers::register_helper (id >= kHarmonyBase) is bound too, with pointer arguments where
/// its prototype has memory or context ones, so a program may pass it the frame.
std::span<const RteBpfHelper> scalar_helpers();

struct RteBpfOptions {
    bool jit = true; ///< false: the interpreter
    RteBpfContext context = RteBpfContext::Packet;
    uint32_t packet_window = 64;
    std::vector<RteBpfHelper> helpers; ///< in addition to scalar_helpers()
};

class RteBpfProgram : public QueueProgram {
public:
    /// Loads `insns` (raw 8-byte slots as in the ELF section). Harmony's verifier runs
    /// first: its refusal is its log (instruction index, instruction, reason, state) and
    /// rte_bpf_load never sees the program. rte_bpf's refusal returns the errno and its
    /// validator's log lines. `which` names the program in errors.
    static Result<std::unique_ptr<RteBpfProgram>> load(std::span<const isa::RawInsn> insns,
                                                       const RteBpfOptions &options, const std::string &which);
    ~RteBpfProgram() override;

    uint64_t run(rte_mbuf *mbuf);
    void run_burst(rte_mbuf **mbufs, uint64_t *actions, uint16_t count) override;
    Result<PacketOutcome> run_one(rte_mbuf *mbuf) override;
    const DpdkEngineChoice &choice() const override { return choice_; }
    bool jitted() const { return jit_ != nullptr; }

private:
    RteBpfProgram() = default;
    void *context_of(rte_mbuf *mbuf, uint8_t *scratch) const;
    void keep_stores(rte_mbuf *mbuf, const void *ctx) const;

    rte_bpf *bpf_ = nullptr;
    uint64_t (*jit_)(void *) = nullptr;
    RteBpfOptions options_;
    DpdkEngineChoice choice_;
};

/// The 8-byte slots of program `program` (function or section name; empty = the first) in
/// a BPF ELF object, read by the shared loader (load_program_image).
Result<std::vector<isa::RawInsn>> read_program_insns(const std::string &object_path, const std::string &program);

} // namespace harmony::dpdk
