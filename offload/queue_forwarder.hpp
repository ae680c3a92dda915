// Per-queue execution between two ports: each receive queue of the ingress port has its
// program; a burst is received, each mbuf judged, PASS transmitted on the egress port,
// TX back out of the ingress port, everything else freed. What is sent is the mbuf as the
// program left it: its stores, and its data offset and length moved by adjust_head/tail
// (QueueProgram::run_burst sees to it). Counters are per queue.
#pragma once

#include "offload/flow_offload.hpp"
#include "offload/port.hpp"
#include "offload/queue_program.hpp"

#include <atomic>
#include <vector>

namespace harmony::dpdk {

struct QueueCounters {
    uint64_t received = 0;
    uint64_t passed = 0;       ///< PASS, transmitted on the egress port
    uint64_t dropped = 0;      ///< DROP and ABORTED
    uint64_t bounced = 0;      ///< TX, back out of the ingress port
    uint64_t flow_dropped = 0; ///< dropped by the software flow map before the program
    uint64_t tx_failed = 0;    ///< PASS or TX the egress queue had no room for
    uint64_t other = 0;        ///< REDIRECT and unknown actions, freed
};

class QueueForwarder {
public:
    /// `programs[q]` runs on ingress receive queue q; a null program passes everything
    /// (a queue that rte_flow steering keeps non-DPI traffic on). `flows`, when given,
    /// drops connections with a software verdict before the program sees them.
    QueueForwarder(Port &ingress, Port &egress, std::vector<QueueProgram *> programs,
                   FlowDropOffload *flows = nullptr);

    /// One burst from queue `queue`; returns how many mbufs were received.
    uint16_t poll(uint16_t queue);
    /// Polls every queue until `stop` is set.
    void run(const std::atomic<bool> &stop);

    /// A snapshot, safe to take while run() polls on another thread.
    QueueCounters counters(uint16_t queue) const;
    QueueCounters total() const;

private:
    void transmit(uint16_t port, uint16_t queue, rte_mbuf **mbufs, uint16_t count, QueueCounters &counters);

    Port &ingress_;
    Port &egress_;
    std::vector<QueueProgram *> programs_;
    FlowDropOffload *flows_;
    std::vector<QueueCounters> counters_;
};

} // namespace harmony::dpdk
