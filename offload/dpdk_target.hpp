// The dpdk target as a LoadedProgram (offload/dpdk.hpp lists the rest): a BPF object on DPDK receive queues —
// rte_bpf (JIT by default, interpreter selectable) when rte_bpf's validator accepts the
// program, Harmony's own VM on the same queues otherwise, with the choice and its reason
// recorded — and load(), the LoadedProgram that replay and bench use: every frame goes
// through a real ethdev receive path (a net_ring port) before the program judges it.
#pragma once

#include "common/target.hpp"
#include "offload/eal.hpp"
#include "offload/flow_offload.hpp"
#include "offload/port.hpp"
#include "offload/queue_forwarder.hpp"
#include "offload/queue_program.hpp"
#include "offload/rte_bpf_program.hpp"

#include <functional>
#include <memory>
#include <string>

namespace harmony::dpdk {

/// Loads an object on Harmony's host target (maps, helpers, ring buffer) for programs
/// rte_bpf refuses; `jit` picks the VM's JIT or interpreter. Its programs run frames in
/// place (LoadedProgram::run_in_place). Supplied by whoever links the host runtime (the
/// CLI), so the dpdk library does not depend on it.
using HostVmLoader = std::function<Result<std::unique_ptr<LoadedProgram>>(const std::string &object_path, bool jit)>;

struct DpdkOptions {
    bool jit = true;             ///< false: rte_bpf's (or Harmony's) interpreter
    std::string program;         ///< function or section name; empty: the first program
    RteBpfContext context = RteBpfContext::Packet;
    uint32_t packet_window = 64; ///< bytes rte_bpf may read from the frame start
    HostVmLoader host_vm;        ///< fallback engine; none: a refused program is an error
    EalOptions eal;              ///< used if the EAL is not running yet
};

/// The program as a queue runs it: rte_bpf when it accepts, else the host VM. The error,
/// when neither can, carries rte_bpf's refusal.
Result<std::unique_ptr<QueueProgram>> load_queue_program(const std::string &object_path, const DpdkOptions &options);

/// The dpdk target's LoadedProgram ("dpdk" or "dpdk-interp"). Starts the EAL if needed.
Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, const DpdkOptions &options = {});

/// Which engine load()/load_queue_program() would pick, without keeping anything.
Result<DpdkEngineChoice> choose_engine(const std::string &object_path, const DpdkOptions &options = {});

} // namespace harmony::dpdk
