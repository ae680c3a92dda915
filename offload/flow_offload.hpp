// rte_flow for what the NIC does better than software: (a) steering DPI-relevant traffic
// to the queues running the DPI program and the rest around them, (b) per-connection drop
// verdicts as rte_flow DROP rules, capped and aged. Every rule is validated
// (rte_flow_validate) and created where the PMD can; where it cannot (net_pcap and
// net_af_packet have no rte_flow, net_tap validates but needs TC flower to create) the
// same decision lives in software — the forwarder checks the software flow map before the
// program runs — and the fallback is logged once per port.
#pragma once

#include "common/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct rte_flow;
struct rte_mbuf;

namespace harmony::dpdk {

/// An IPv4 connection, addresses and ports in host byte order.
struct FlowKey {
    uint32_t src_ip = 0;
    uint32_t dst_ip = 0;
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint8_t proto = 0; ///< IPPROTO_TCP or IPPROTO_UDP
    auto operator<=>(const FlowKey &) const = default;
};

/// The connection an Ethernet/IPv4/TCP-or-UDP frame belongs to; nullopt for anything else.
std::optional<FlowKey> flow_key_of(const uint8_t *frame, size_t length);
std::optional<FlowKey> flow_key_of(const rte_mbuf *mbuf);
std::string to_string(const FlowKey &key);

/// Where a rule lives: on the NIC (created), or in software because the PMD refused it.
enum class RulePlace { Nic, Software };

/// Which traffic goes to the DPI queues.
struct SteeringPlan {
    std::vector<uint16_t> dpi_queues;   ///< TCP 80, TCP 443, UDP 53 go here (RSS over them)
    std::vector<uint16_t> other_queues; ///< everything else
    std::vector<uint16_t> tcp_ports = {80, 443};
    std::vector<uint16_t> udp_ports = {53};
};

struct SteeringResult {
    RulePlace place = RulePlace::Software;
    std::string reason;      ///< the PMD's refusal when in software
    size_t rules_created = 0;
};

/// The rte_flow rules that steer per `plan` on `port_id`: validated, and created only if
/// every one validates and creates; otherwise none stays and the result says why.
Result<SteeringResult> install_steering(uint16_t port_id, const SteeringPlan &plan);
/// Validates the steering rules without creating them; the PMD's message on refusal.
Result<void> validate_steering(uint16_t port_id, const SteeringPlan &plan);

struct FlowDropOptions {
    size_t max_rules = 1024;                          ///< NIC and software entries together
    std::chrono::milliseconds idle_timeout{30'000};   ///< drop rules unused this long are removed
};

/// Per-connection drop verdicts, offloaded as rte_flow DROP rules where the port can.
class FlowDropOffload {
public:
    using Clock = std::chrono::steady_clock;
    FlowDropOffload(uint16_t port_id, FlowDropOptions options, std::string port_name = {});
    ~FlowDropOffload();
    FlowDropOffload(const FlowDropOffload &) = delete;
    FlowDropOffload &operator=(const FlowDropOffload &) = delete;

    /// Drops `key` from now on: an rte_flow rule if the PMD validates and creates it,
    /// otherwise a software entry. Refused when the cap is reached. Refreshing an existing
    /// entry keeps its place and restarts its idle time.
    Result<RulePlace> drop(const FlowKey &key, Clock::time_point now = Clock::now());
    /// Removes the verdict for `key` (rule destroyed); false when there was none.
    bool remove(const FlowKey &key);
    /// Removes entries idle longer than the timeout; returns how many.
    size_t expire(Clock::time_point now = Clock::now());
    /// Software check for the forwarder: true (and refreshed) when `key` is dropped here.
    bool dropped_in_software(const FlowKey &key, Clock::time_point now = Clock::now());

    size_t size() const;
    size_t on_nic() const;
    /// Why rules are in software (the PMD's refusal), empty while the NIC takes them.
    const std::string &fallback_reason() const { return fallback_reason_; }

private:
    struct Entry {
        rte_flow *rule = nullptr; ///< null: software
        Clock::time_point last_used;
    };
    uint16_t port_id_;
    FlowDropOptions options_;
    std::string port_name_;
    mutable std::mutex mutex_; ///< the control plane adds verdicts while the poller checks them
    std::map<FlowKey, Entry> entries_;
    std::string fallback_reason_;
};

/// rte_flow_validate for the DROP rule of `key` on `port_id`: the PMD's message on refusal.
Result<void> validate_drop_rule(uint16_t port_id, const FlowKey &key);

} // namespace harmony::dpdk
