// Requirements matched against capabilities under a policy: a ranked list of candidates and,
// for every target left out, each reason — the helper, map type, instruction or probe result.
#include "capabilities.hpp"
#include "helpers/helper.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace harmony::caps {
namespace {

using Reasons = std::vector<std::string>;

bool is_kernel_engine(const EngineCaps &engine)
{
    return engine.name != "harmony-vm" && engine.name != "rte_bpf";
}

void check_insns(const Requirements &req, const EngineCaps &engine, Reasons &reasons)
{
    for (const InsnUse &use : req.insns) {
        auto it = engine.insns.find(use.cls);
        if (it != engine.insns.end() && it->second.no()) {
            reasons.push_back(fmt::format("insn {} '{}' uses {} ({} times), which {} refuses: {}", use.pc, use.text,
                                          insn_class_name(use.cls), use.count, engine.name, it->second.detail));
        }
    }
}

void check_helpers(const Requirements &req, const EngineCaps &engine, Reasons &reasons)
{
    for (const HelperUse &use : req.helpers) {
        if (use.id >= helpers::kHarmonyBase && is_kernel_engine(engine)) {
            reasons.push_back(fmt::format("helper {:#x} {} (insn {}) is a Harmony helper the kernel cannot call",
                                          use.id, use.name, use.pc));
        } else if (engine.helpers_known && !engine.helpers.contains(use.id)) {
            reasons.push_back(fmt::format("helper {} {} (insn {}) is not available on {}", use.id, use.name, use.pc,
                                          engine.name));
        }
    }
}

void check_maps(const Requirements &req, const EngineCaps &engine, Reasons &reasons)
{
    uint64_t total_entries = 0;
    for (const MapInfo &map : req.maps) {
        total_entries += map.max_entries;
        if (engine.map_types_known && !engine.map_types.contains(map.type)) {
            reasons.push_back(fmt::format("map '{}' has type {}, which {} does not support", map.name,
                                          map_type_name(map.type), engine.name));
            continue;
        }
        uint32_t entry = map.key_size + map.value_size;
        if (engine.max_map_entry_bytes && entry > engine.max_map_entry_bytes) {
            reasons.push_back(fmt::format("map '{}' entries are {} bytes (key {} + value {}), over {}'s limit of {}",
                                          map.name, entry, map.key_size, map.value_size, engine.name,
                                          engine.max_map_entry_bytes));
        }
    }
    if (engine.max_map_entries_total && total_entries > engine.max_map_entries_total) {
        reasons.push_back(fmt::format("maps hold {} entries in all, over {}'s limit of {}", total_entries, engine.name,
                                      engine.max_map_entries_total));
    }
}

void check_limits(const Requirements &req, const EngineCaps &engine, Reasons &reasons)
{
    if (engine.max_insns && req.insn_count > engine.max_insns) {
        reasons.push_back(fmt::format("program has {} instructions, over {}'s limit of {}", req.insn_count,
                                      engine.name, engine.max_insns));
    }
    if (engine.stack_bytes && req.stack_bytes > engine.stack_bytes) {
        reasons.push_back(fmt::format("program uses {} bytes of stack, over {}'s {}", req.stack_bytes, engine.name,
                                      engine.stack_bytes));
    }
    for (const CtxFieldUse &field : req.ctx_fields) {
        if (!engine.ctx_fields.empty() && !engine.ctx_fields.contains(field.offset)) {
            reasons.push_back(fmt::format("insn {} reads xdp_md->{}, which {} cannot provide", field.pc, field.name,
                                          engine.name));
        }
    }
}

/// Every reason `engine` cannot run the program; empty when it can.
Reasons engine_refusals(const Requirements &req, const EngineCaps &engine, const Capabilities &caps)
{
    Reasons reasons;
    check_insns(req, engine, reasons);
    check_helpers(req, engine, reasons);
    check_maps(req, engine, reasons);
    check_limits(req, engine, reasons);
    bool calls_hs = std::any_of(req.helpers.begin(), req.helpers.end(),
                                [](const HelperUse &h) { return h.name == "hs_match"; });
    if (calls_hs && !is_kernel_engine(engine) && !caps.hyperscan.valid_platform.yes()) {
        reasons.push_back("helper hs_match needs Hyperscan: " + caps.hyperscan.valid_platform.detail);
    }
    return reasons;
}

struct Verdict {
    std::optional<Candidate> candidate;
    Reasons reasons;
};

/// Harmony helpers exclude every XDP target whatever the interface can do: the kernel has no
/// such helpers. Said even when the interface already excludes it, so the helper is named.
void check_kernel_helpers(const Requirements &req, Reasons &reasons)
{
    EngineCaps kernel;
    kernel.name = "linux";
    Reasons found;
    check_helpers(req, kernel, found);
    for (std::string &reason : found) {
        if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
            reasons.push_back(std::move(reason));
        }
    }
}

Verdict accept_or_refuse(Target target, const EngineCaps &engine, Reasons reasons, const Requirements &req,
                         const Capabilities &caps)
{
    for (std::string &reason : engine_refusals(req, engine, caps)) {
        reasons.push_back(std::move(reason));
    }
    if (!reasons.empty()) {
        return {std::nullopt, std::move(reasons)};
    }
    return {Candidate{target, engine.name, {}}, {}};
}

/// The interface an XDP target needs, or the reason it has none.
const InterfaceCaps *xdp_interface(const Capabilities &caps, const PlaceOptions &options, Reasons &reasons)
{
    if (options.interface.empty()) {
        reasons.push_back("no interface given (--iface)");
        return nullptr;
    }
    const InterfaceCaps *iface = caps.interface(options.interface);
    if (!iface) {
        reasons.push_back(fmt::format("interface {} was not probed", options.interface));
        return nullptr;
    }
    if (!caps.kernel.bpf_syscall.yes()) {
        reasons.push_back("bpf() unavailable: " + caps.kernel.bpf_syscall.detail);
    }
    return iface;
}

Verdict place_offload(const Requirements &req, const Capabilities &caps, const PlaceOptions &options)
{
    Reasons reasons;
    const InterfaceCaps *iface = xdp_interface(caps, options, reasons);
    if (!iface) {
        check_kernel_helpers(req, reasons);
        return {std::nullopt, reasons};
    }
    if (!iface->hw_offload.yes()) {
        reasons.push_back(iface->hw_offload.detail.empty() ? "hardware offload not attempted" : iface->hw_offload.detail);
        check_kernel_helpers(req, reasons);
        return {std::nullopt, reasons};
    }
    EngineCaps engine = iface->offload_engine.value_or(caps.kernel.xdp);
    if (!iface->offload_engine) {
        engine.name = iface->driver.detail.empty() ? "nic" : iface->driver.detail;
    }
    Verdict verdict = accept_or_refuse(Target::XdpOffload, engine, reasons, req, caps);
    if (verdict.candidate && !iface->offload_engine) {
        verdict.candidate->notes.push_back("no profile describes this NIC's limits: checked against the kernel's");
    }
    return verdict;
}

Verdict place_xdp(Target target, const Requirements &req, const Capabilities &caps, const PlaceOptions &options)
{
    Reasons reasons;
    const InterfaceCaps *iface = xdp_interface(caps, options, reasons);
    if (!iface) {
        check_kernel_helpers(req, reasons);
        return {std::nullopt, reasons};
    }
    if (target == Target::XdpNative && iface->native_xdp.no()) {
        reasons.push_back(iface->native_xdp.detail);
    }
    Verdict verdict = accept_or_refuse(target, caps.kernel.xdp, reasons, req, caps);
    if (verdict.candidate && target == Target::XdpNative && !iface->native_xdp.yes()) {
        verdict.candidate->notes.push_back("native XDP support unknown: " + iface->xdp_features.detail);
    }
    return verdict;
}

/// dpdk runs the program on rte_bpf when rte_bpf takes it, otherwise on Harmony's VM on the
/// same queues (issue 6); either way it places, with the engine noted.
Verdict place_dpdk(const Requirements &req, const Capabilities &caps)
{
    if (!caps.dpdk.eal_possible.yes()) {
        return {std::nullopt, {"EAL cannot start: " + caps.dpdk.eal_possible.detail}};
    }
    Reasons rte_bpf = engine_refusals(req, caps.dpdk.rte_bpf, caps);
    if (rte_bpf.empty()) {
        Candidate c{Target::Dpdk, "rte_bpf", {}};
        c.notes.push_back(caps.dpdk.rte_bpf_jit.yes() ? "rte_bpf JIT (" + caps.dpdk.rte_bpf_jit.detail + ")"
                                                      : "rte_bpf interpreter: " + caps.dpdk.rte_bpf_jit.detail);
        c.notes.push_back("rte_bpf's validator has the last word at load; on refusal the queues run Harmony's VM");
        return {c, {}};
    }
    Verdict verdict = accept_or_refuse(Target::Dpdk, caps.host.vm, {}, req, caps);
    if (verdict.candidate) {
        verdict.candidate->notes.push_back("runs on Harmony's VM on the DPDK queues because rte_bpf cannot:");
        for (const std::string &r : rte_bpf) {
            verdict.candidate->notes.push_back("  " + r);
        }
    }
    return verdict;
}

Verdict place_host(const Requirements &req, const Capabilities &caps)
{
    Verdict verdict = accept_or_refuse(Target::Host, caps.host.vm, {}, req, caps);
    if (verdict.candidate) {
        verdict.candidate->notes.push_back(caps.host.jit.yes() ? "JIT (" + caps.host.jit.detail + ")"
                                                               : "interpreter: " + caps.host.jit.detail);
    }
    return verdict;
}

Verdict place_one(Target target, const Requirements &req, const Capabilities &caps, const PlaceOptions &options)
{
    switch (target) {
    case Target::XdpOffload: return place_offload(req, caps, options);
    case Target::XdpNative:
    case Target::XdpGeneric: return place_xdp(target, req, caps, options);
    case Target::Dpdk: return place_dpdk(req, caps);
    case Target::Host: return place_host(req, caps);
    }
    return {std::nullopt, {"unknown target"}};
}

} // namespace

Placement place(const Requirements &req, const Capabilities &caps, const PlaceOptions &options)
{
    Placement placement;
    placement.program = req.program.empty() ? req.object : fmt::format("{} prog '{}'", req.object, req.program);
    placement.interface = options.interface;
    for (Target target : options.policy.order) {
        Verdict verdict = place_one(target, req, caps, options);
        if (verdict.candidate) {
            placement.candidates.push_back(std::move(*verdict.candidate));
        } else {
            placement.excluded.push_back(Exclusion{target, std::move(verdict.reasons)});
        }
    }
    for (Target target : {Target::XdpOffload, Target::XdpNative, Target::Dpdk, Target::XdpGeneric, Target::Host}) {
        const auto &order = options.policy.order;
        if (std::find(order.begin(), order.end(), target) == order.end()) {
            placement.excluded.push_back(Exclusion{target, {"not in the policy"}});
        }
    }
    return placement;
}

const Exclusion *Placement::exclusion(Target t) const
{
    auto it = std::find_if(excluded.begin(), excluded.end(), [t](const Exclusion &e) { return e.target == t; });
    return it == excluded.end() ? nullptr : &*it;
}

const Candidate *Placement::candidate(Target t) const
{
    auto it = std::find_if(candidates.begin(), candidates.end(), [t](const Candidate &c) { return c.target == t; });
    return it == candidates.end() ? nullptr : &*it;
}

std::string Placement::text() const
{
    std::string out = fmt::format("placement of {}{}\n", program, interface.empty() ? "" : " on " + interface);
    out += candidates.empty() ? "no candidate: no target can run it\n" : "candidates, best first:\n";
    for (size_t i = 0; i < candidates.size(); ++i) {
        out += fmt::format("  {}. {} ({})\n", i + 1, target_name(candidates[i].target), candidates[i].engine);
        for (const std::string &note : candidates[i].notes) {
            out += fmt::format("       {}\n", note);
        }
    }
    if (!excluded.empty()) {
        out += "excluded:\n";
    }
    for (const Exclusion &e : excluded) {
        for (const std::string &reason : e.reasons) {
            out += fmt::format("  {}: {}\n", target_name(e.target), reason);
        }
    }
    return out;
}

nlohmann::json to_json(const Placement &placement)
{
    nlohmann::json candidates = nlohmann::json::array();
    for (const Candidate &c : placement.candidates) {
        candidates.push_back({{"target", target_name(c.target)}, {"engine", c.engine}, {"notes", c.notes}});
    }
    nlohmann::json excluded = nlohmann::json::array();
    for (const Exclusion &e : placement.excluded) {
        excluded.push_back({{"target", target_name(e.target)}, {"reasons", e.reasons}});
    }
    nlohmann::json doc = {{"program", placement.program},
                          {"interface", placement.interface},
                          {"candidates", candidates},
                          {"excluded", excluded}};
    if (!placement.capabilities_source.empty()) {
        doc["capabilities_source"] = placement.capabilities_source;
    }
    return doc;
}

} // namespace harmony::caps
