#include "offload/flow_offload.hpp"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>

#include <fmt/format.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace harmony::dpdk {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr size_t kEthHeader = 14;
constexpr size_t kMinIpv4Header = 20;

uint16_t read_be16(const uint8_t *p)
{
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t read_be32(const uint8_t *p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

std::string flow_error_text(int rc, const rte_flow_error &error)
{
    return fmt::format("{} (type {}): {}", errno_text(rc), static_cast<int>(error.type),
                       error.message ? error.message : "no message");
}

// One rule's pattern and actions with the storage they point into.
struct DropRule {
    rte_flow_item_ipv4 ip_spec{}, ip_mask{};
    rte_flow_item_tcp tcp_spec{}, tcp_mask{};
    rte_flow_item_udp udp_spec{}, udp_mask{};
    std::array<rte_flow_item, 4> pattern{};
    std::array<rte_flow_action, 2> actions{};
    rte_flow_attr attr{};

    explicit DropRule(const FlowKey &key)
    {
        attr.ingress = 1;
        ip_spec.hdr.src_addr = rte_cpu_to_be_32(key.src_ip);
        ip_spec.hdr.dst_addr = rte_cpu_to_be_32(key.dst_ip);
        ip_spec.hdr.next_proto_id = key.proto;
        ip_mask.hdr.src_addr = UINT32_MAX;
        ip_mask.hdr.dst_addr = UINT32_MAX;
        ip_mask.hdr.next_proto_id = UINT8_MAX;
        pattern[0] = {RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr};
        pattern[1] = {RTE_FLOW_ITEM_TYPE_IPV4, &ip_spec, nullptr, &ip_mask};
        if (key.proto == IPPROTO_TCP) {
            tcp_spec.hdr.src_port = rte_cpu_to_be_16(key.src_port);
            tcp_spec.hdr.dst_port = rte_cpu_to_be_16(key.dst_port);
            tcp_mask.hdr.src_port = UINT16_MAX;
            tcp_mask.hdr.dst_port = UINT16_MAX;
            pattern[2] = {RTE_FLOW_ITEM_TYPE_TCP, &tcp_spec, nullptr, &tcp_mask};
        } else {
            udp_spec.hdr.src_port = rte_cpu_to_be_16(key.src_port);
            udp_spec.hdr.dst_port = rte_cpu_to_be_16(key.dst_port);
            udp_mask.hdr.src_port = UINT16_MAX;
            udp_mask.hdr.dst_port = UINT16_MAX;
            pattern[2] = {RTE_FLOW_ITEM_TYPE_UDP, &udp_spec, nullptr, &udp_mask};
        }
        pattern[3] = {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr};
        actions[0] = {RTE_FLOW_ACTION_TYPE_DROP, nullptr};
        actions[1] = {RTE_FLOW_ACTION_TYPE_END, nullptr};
    }
};

// A steering rule: (ETH / IPV4 / TCP|UDP dst=port | ETH) -> QUEUE or RSS over `queues`.
struct SteeringRule {
    rte_flow_item_tcp tcp_spec{}, tcp_mask{};
    rte_flow_item_udp udp_spec{}, udp_mask{};
    std::vector<rte_flow_item> pattern;
    std::vector<uint16_t> queues;
    rte_flow_action_queue queue{};
    rte_flow_action_rss rss{};
    std::array<rte_flow_action, 2> actions{};
    rte_flow_attr attr{};

    SteeringRule(uint8_t proto, uint16_t dst_port, std::vector<uint16_t> targets, uint32_t priority)
        : queues(std::move(targets))
    {
        attr.ingress = 1;
        attr.priority = priority;
        pattern.push_back({RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr});
        if (proto != 0) {
            pattern.push_back({RTE_FLOW_ITEM_TYPE_IPV4, nullptr, nullptr, nullptr});
        }
        if (proto == IPPROTO_TCP) {
            tcp_spec.hdr.dst_port = rte_cpu_to_be_16(dst_port);
            tcp_mask.hdr.dst_port = UINT16_MAX;
            pattern.push_back({RTE_FLOW_ITEM_TYPE_TCP, &tcp_spec, nullptr, &tcp_mask});
        } else if (proto == IPPROTO_UDP) {
            udp_spec.hdr.dst_port = rte_cpu_to_be_16(dst_port);
            udp_mask.hdr.dst_port = UINT16_MAX;
            pattern.push_back({RTE_FLOW_ITEM_TYPE_UDP, &udp_spec, nullptr, &udp_mask});
        }
        pattern.push_back({RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr});
        if (queues.size() == 1) {
            queue.index = queues.front();
            actions[0] = {RTE_FLOW_ACTION_TYPE_QUEUE, &queue};
        } else {
            rss.types = RTE_ETH_RSS_IP;
            rss.queue_num = static_cast<uint32_t>(queues.size());
            rss.queue = queues.data();
            actions[0] = {RTE_FLOW_ACTION_TYPE_RSS, &rss};
        }
        actions[1] = {RTE_FLOW_ACTION_TYPE_END, nullptr};
    }
    SteeringRule(const SteeringRule &) = delete;
};

std::vector<std::unique_ptr<SteeringRule>> steering_rules(const SteeringPlan &plan)
{
    std::vector<std::unique_ptr<SteeringRule>> rules;
    for (uint16_t port : plan.tcp_ports) {
        rules.push_back(std::make_unique<SteeringRule>(IPPROTO_TCP, port, plan.dpi_queues, 0));
    }
    for (uint16_t port : plan.udp_ports) {
        rules.push_back(std::make_unique<SteeringRule>(IPPROTO_UDP, port, plan.dpi_queues, 0));
    }
    if (!plan.other_queues.empty()) {
        rules.push_back(std::make_unique<SteeringRule>(0, 0, plan.other_queues, 1)); // below the DPI rules
    }
    return rules;
}

Result<void> check_plan(uint16_t port_id, const SteeringPlan &plan)
{
    if (plan.dpi_queues.empty()) {
        return fail("steer traffic", fmt::format("port {}", port_id), "no DPI queue given");
    }
    return {};
}

} // namespace

std::optional<FlowKey> flow_key_of(const uint8_t *frame, size_t length)
{
    if (length < kEthHeader + kMinIpv4Header || read_be16(frame + 12) != kEtherTypeIpv4) {
        return std::nullopt;
    }
    const uint8_t *ip = frame + kEthHeader;
    size_t ip_header = size_t(ip[0] & 0x0f) * 4;
    uint8_t proto = ip[9];
    bool fragment = (read_be16(ip + 6) & 0x1fff) != 0;
    if ((ip[0] >> 4) != 4 || ip_header < kMinIpv4Header || fragment ||
        (proto != IPPROTO_TCP && proto != IPPROTO_UDP) || length < kEthHeader + ip_header + 4) {
        return std::nullopt;
    }
    const uint8_t *l4 = ip + ip_header;
    return FlowKey{read_be32(ip + 12), read_be32(ip + 16), read_be16(l4), read_be16(l4 + 2), proto};
}

std::optional<FlowKey> flow_key_of(const rte_mbuf *mbuf)
{
    return flow_key_of(rte_pktmbuf_mtod(mbuf, const uint8_t *), mbuf->data_len);
}

std::string to_string(const FlowKey &key)
{
    auto ip = [](uint32_t a) {
        return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    };
    return fmt::format("{} {}:{} -> {}:{}", key.proto == IPPROTO_TCP ? "tcp" : "udp", ip(key.src_ip), key.src_port,
                       ip(key.dst_ip), key.dst_port);
}

Result<void> validate_steering(uint16_t port_id, const SteeringPlan &plan)
{
    if (auto ok = check_plan(port_id, plan); !ok) {
        return ok;
    }
    for (const auto &rule : steering_rules(plan)) {
        rte_flow_error error{};
        if (int rc = rte_flow_validate(port_id, &rule->attr, rule->pattern.data(), rule->actions.data(), &error);
            rc != 0) {
            return fail("validate steering rule", fmt::format("port {}", port_id), flow_error_text(rc, error));
        }
    }
    return {};
}

Result<SteeringResult> install_steering(uint16_t port_id, const SteeringPlan &plan)
{
    if (auto ok = check_plan(port_id, plan); !ok) {
        return std::unexpected(ok.error());
    }
    std::vector<rte_flow *> created;
    auto undo = [&](std::string reason) {
        for (auto *flow : created) {
            rte_flow_error ignored{};
            rte_flow_destroy(port_id, flow, &ignored);
        }
        return SteeringResult{RulePlace::Software, std::move(reason), 0};
    };
    for (const auto &rule : steering_rules(plan)) {
        rte_flow_error error{};
        if (int rc = rte_flow_validate(port_id, &rule->attr, rule->pattern.data(), rule->actions.data(), &error);
            rc != 0) {
            return undo("rte_flow_validate: " + flow_error_text(rc, error));
        }
        rte_flow *flow = rte_flow_create(port_id, &rule->attr, rule->pattern.data(), rule->actions.data(), &error);
        if (flow == nullptr) {
            return undo("rte_flow_create: " + flow_error_text(rte_errno, error));
        }
        created.push_back(flow);
    }
    return SteeringResult{RulePlace::Nic, "", created.size()};
}

Result<void> validate_drop_rule(uint16_t port_id, const FlowKey &key)
{
    DropRule rule(key);
    rte_flow_error error{};
    if (int rc = rte_flow_validate(port_id, &rule.attr, rule.pattern.data(), rule.actions.data(), &error); rc != 0) {
        return fail("validate drop rule", to_string(key), flow_error_text(rc, error));
    }
    return {};
}

FlowDropOffload::FlowDropOffload(uint16_t port_id, FlowDropOptions options, std::string port_name)
    : port_id_(port_id), options_(options), port_name_(port_name.empty() ? fmt::format("port {}", port_id) : port_name)
{
}

FlowDropOffload::~FlowDropOffload()
{
    for (auto &[key, entry] : entries_) {
        if (entry.rule != nullptr) {
            rte_flow_error ignored{};
            rte_flow_destroy(port_id_, entry.rule, &ignored);
        }
    }
}

Result<RulePlace> FlowDropOffload::drop(const FlowKey &key, Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    if (auto existing = entries_.find(key); existing != entries_.end()) {
        existing->second.last_used = now;
        return existing->second.rule ? RulePlace::Nic : RulePlace::Software;
    }
    if (entries_.size() >= options_.max_rules) {
        return fail("offload drop verdict", to_string(key),
                    fmt::format("{} already holds {} drop rules (the cap)", port_name_, options_.max_rules));
    }
    Entry entry{nullptr, now};
    if (fallback_reason_.empty()) {
        DropRule rule(key);
        rte_flow_error error{};
        int rc = rte_flow_validate(port_id_, &rule.attr, rule.pattern.data(), rule.actions.data(), &error);
        std::string refusal = rc != 0 ? "rte_flow_validate: " + flow_error_text(rc, error) : "";
        if (rc == 0) {
            entry.rule = rte_flow_create(port_id_, &rule.attr, rule.pattern.data(), rule.actions.data(), &error);
            if (entry.rule == nullptr) {
                refusal = "rte_flow_create: " + flow_error_text(rte_errno, error);
            }
        }
        if (entry.rule == nullptr) {
            // Said once: from now on this port's verdicts stay in the software flow map.
            fallback_reason_ = refusal;
            fmt::print(stderr, "harmony dpdk: {}: drop verdicts kept in the software flow map ({})\n", port_name_,
                       refusal);
        }
    }
    entries_.emplace(key, entry);
    return entry.rule ? RulePlace::Nic : RulePlace::Software;
}

bool FlowDropOffload::remove(const FlowKey &key)
{
    std::lock_guard lock(mutex_);
    auto entry = entries_.find(key);
    if (entry == entries_.end()) {
        return false;
    }
    if (entry->second.rule != nullptr) {
        rte_flow_error ignored{};
        rte_flow_destroy(port_id_, entry->second.rule, &ignored);
    }
    entries_.erase(entry);
    return true;
}

size_t FlowDropOffload::expire(Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    size_t removed = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (now - it->second.last_used < options_.idle_timeout) {
            ++it;
            continue;
        }
        if (it->second.rule != nullptr) {
            rte_flow_error ignored{};
            rte_flow_destroy(port_id_, it->second.rule, &ignored);
        }
        it = entries_.erase(it);
        ++removed;
    }
    return removed;
}

bool FlowDropOffload::dropped_in_software(const FlowKey &key, Clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto entry = entries_.find(key);
    if (entry == entries_.end() || entry->second.rule != nullptr) {
        return false;
    }
    entry->second.last_used = now;
    return true;
}

size_t FlowDropOffload::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

size_t FlowDropOffload::on_nic() const
{
    std::lock_guard lock(mutex_);
    size_t count = 0;
    for (const auto &[key, entry] : entries_) {
        count += entry.rule != nullptr;
    }
    return count;
}

} // namespace harmony::dpdk
