#include "offload/queue_forwarder.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>

namespace harmony::dpdk {
namespace {

constexpr uint16_t kBurst = 32;

// Counters are written by the polling thread and read by the control plane while it runs.
void bump(uint64_t &counter, uint64_t by = 1)
{
    std::atomic_ref<uint64_t>(counter).fetch_add(by, std::memory_order_relaxed);
}

uint64_t read(const uint64_t &counter)
{
    return std::atomic_ref<const uint64_t>(counter).load(std::memory_order_relaxed);
}
enum XdpAction : uint64_t { kAborted = 0, kDrop = 1, kPass = 2, kTx = 3 };

} // namespace

QueueForwarder::QueueForwarder(Port &ingress, Port &egress, std::vector<QueueProgram *> programs,
                               FlowDropOffload *flows)
    : ingress_(ingress), egress_(egress), programs_(std::move(programs)), flows_(flows),
      counters_(ingress.rx_queues())
{
    programs_.resize(ingress.rx_queues(), programs_.empty() ? nullptr : programs_.back());
}

uint16_t QueueForwarder::poll(uint16_t queue)
{
    rte_mbuf *received[kBurst];
    uint16_t count = rte_eth_rx_burst(ingress_.id(), queue, received, kBurst);
    if (count == 0) {
        return 0;
    }
    auto &counters = counters_[queue];
    bump(counters.received, count);

    rte_mbuf *judged[kBurst];
    uint16_t to_judge = 0;
    for (uint16_t i = 0; i < count; ++i) {
        auto key = flows_ ? flow_key_of(received[i]) : std::nullopt;
        if (key && flows_->dropped_in_software(*key)) {
            bump(counters.flow_dropped);
            rte_pktmbuf_free(received[i]);
        } else {
            judged[to_judge++] = received[i];
        }
    }
    uint64_t actions[kBurst];
    if (programs_[queue] != nullptr) {
        programs_[queue]->run_burst(judged, actions, to_judge);
    } else {
        std::fill_n(actions, to_judge, kPass); // a queue steering keeps the program off
    }

    rte_mbuf *pass[kBurst];
    rte_mbuf *bounce[kBurst];
    uint16_t n_pass = 0;
    uint16_t n_bounce = 0;
    for (uint16_t i = 0; i < to_judge; ++i) {
        switch (actions[i]) {
        case kPass:
            pass[n_pass++] = judged[i];
            break;
        case kTx:
            bounce[n_bounce++] = judged[i];
            break;
        case kAborted:
        case kDrop:
            bump(counters.dropped);
            rte_pktmbuf_free(judged[i]);
            break;
        default:
            bump(counters.other);
            rte_pktmbuf_free(judged[i]);
        }
    }
    bump(counters.passed, n_pass);
    bump(counters.bounced, n_bounce);
    transmit(egress_.id(), queue % egress_.tx_queues(), pass, n_pass, counters);
    transmit(ingress_.id(), queue % ingress_.tx_queues(), bounce, n_bounce, counters);
    return count;
}

void QueueForwarder::transmit(uint16_t port, uint16_t queue, rte_mbuf **mbufs, uint16_t count,
                              QueueCounters &counters)
{
    uint16_t sent = count ? rte_eth_tx_burst(port, queue, mbufs, count) : 0;
    for (uint16_t i = sent; i < count; ++i) {
        rte_pktmbuf_free(mbufs[i]);
    }
    bump(counters.tx_failed, count - sent);
}

void QueueForwarder::run(const std::atomic<bool> &stop)
{
    while (!stop.load(std::memory_order_relaxed)) {
        for (uint16_t q = 0; q < ingress_.rx_queues(); ++q) {
            poll(q);
        }
    }
}

QueueCounters QueueForwarder::counters(uint16_t queue) const
{
    const auto &c = counters_.at(queue);
    return {read(c.received), read(c.passed),    read(c.dropped), read(c.bounced),
            read(c.flow_dropped), read(c.tx_failed), read(c.other)};
}

QueueCounters QueueForwarder::total() const
{
    QueueCounters sum;
    for (uint16_t q = 0; q < counters_.size(); ++q) {
        auto c = counters(q);
        sum.received += c.received;
        sum.passed += c.passed;
        sum.dropped += c.dropped;
        sum.bounced += c.bounced;
        sum.flow_dropped += c.flow_dropped;
        sum.tx_failed += c.tx_failed;
        sum.other += c.other;
    }
    return sum;
}

} // namespace harmony::dpdk
