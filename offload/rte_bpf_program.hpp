// A BPF program on DPDK's own engine, librte_bpf: instructions handed to rte_bpf_load
// (its validator decides), helper calls bound to rte_bpf external symbols, run JIT-compiled
// (rte_bpf_get_jit) or interpreted (rte_bpf_exec_burst).
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
    /// RTE_BPF_ARG_PTR_MBUF: the struct rte_mbuf itself.
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
/// bpf_get_prandom_u32 (7), bpf_get_smp_processor_id (8).
std::span<const RteBpfHelper> scalar_helpers();

struct RteBpfOptions {
    bool jit = true; ///< false: the interpreter
    RteBpfContext context = RteBpfContext::Packet;
    uint32_t packet_window = 64;
    std::vector<RteBpfHelper> helpers; ///< in addition to scalar_helpers()
};

class RteBpfProgram : public QueueProgram {
public:
    /// Loads `insns` (raw 8-byte slots as in the ELF section). A refusal returns the
    /// errno and the validator's log lines; `which` names the program in errors.
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

    rte_bpf *bpf_ = nullptr;
    uint64_t (*jit_)(void *) = nullptr;
    RteBpfOptions options_;
    DpdkEngineChoice choice_;
};

/// The 8-byte slots of program `program` (function or section name; empty = the first) in
/// a BPF ELF object, read by the shared loader (load_program_image).
Result<std::vector<isa::RawInsn>> read_program_insns(const std::string &object_path, const std::string &program);

} // namespace harmony::dpdk
