// What runs on a receive queue: one XDP verdict per mbuf, from whichever engine took the
// program — rte_bpf (JIT or interpreter) when its validator accepts the program, Harmony's
// own VM otherwise — and the record of which engine it is and why, for placement.
#pragma once

#include "common/target.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct rte_mbuf;

namespace harmony::dpdk {

enum class Engine { RteBpfJit, RteBpfInterpreter, HarmonyJit, HarmonyInterpreter };
std::string_view engine_name(Engine engine);

/// Which engine runs a program on the dpdk target, and why: for a Harmony VM engine the
/// reason carries rte_bpf's refusal (its errno and validator log), which is capability
/// data for placement.
struct DpdkEngineChoice {
    Engine engine = Engine::RteBpfJit;
    std::string reason;
};

class QueueProgram {
public:
    virtual ~QueueProgram() = default;
    /// actions[i] = the XDP action for mbufs[i]. Mbufs stay owned by the caller; each one
    /// that the program passes, transmits or redirects holds the frame as the program left
    /// it (its stores, and its data offset and length moved by adjust_head/tail).
    virtual void run_burst(rte_mbuf **mbufs, uint64_t *actions, uint16_t count) = 0;
    /// One mbuf with the ring-buffer events it produced (replay); the mbuf is left holding
    /// the frame as the program left it, as in run_burst, whatever the action (the
    /// outcome's frame may be left empty: the mbuf is the frame).
    virtual Result<PacketOutcome> run_one(rte_mbuf *mbuf) = 0;
    virtual const DpdkEngineChoice &choice() const = 0;
    /// The program's maps (empty for rte_bpf, which has no maps).
    virtual std::vector<Map *> maps() { return {}; }
    /// One of them by name, or nullptr.
    Map *map(std::string_view name)
    {
        for (Map *m : maps()) {
            if (m->info().name == name) {
                return m;
            }
        }
        return nullptr;
    }
};

/// Runs a program loaded on Harmony's host target (its maps, helpers and ring buffer) on
/// DPDK queues, on each mbuf's own buffer (LoadedProgram::run_in_place).
std::unique_ptr<QueueProgram> run_on_queue(std::unique_ptr<LoadedProgram> program, DpdkEngineChoice choice);

} // namespace harmony::dpdk
