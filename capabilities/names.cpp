// Names of targets, instruction classes, helpers and map types, so every report and every
// profile uses the same words.
#include "capabilities.hpp"
#include "helpers/helper.hpp"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace harmony::caps {
namespace {

// Generated from the UAPI header's own list, so ids and names cannot drift apart.
#define HARMONY_HELPER_NAME(name, ...) #name
constexpr const char *kLinuxHelperNames[] = {__BPF_FUNC_MAPPER(HARMONY_HELPER_NAME)};
#undef HARMONY_HELPER_NAME

// Harmony helpers (ids from helpers::kHarmonyBase), as declared for BPF programs under bpf/.
constexpr std::pair<uint32_t, const char *> kHarmonyHelperNames[] = {
    {helpers::kHarmonyBase + 1, "hs_match"},
};

constexpr std::pair<InsnClass, const char *> kInsnClassNames[] = {
    {InsnClass::Alu32, "alu32"},
    {InsnClass::Jmp32, "jmp32"},
    {InsnClass::AtomicAdd, "atomic-add"},
    {InsnClass::AtomicFetch, "atomic-fetch"},
    {InsnClass::BpfCall, "bpf-call"},
    {InsnClass::CallReg, "callx"},
    {InsnClass::LegacyPacket, "ld-abs-ind"},
    {InsnClass::MovSx, "movsx"},
    {InsnClass::SignedDiv, "sdiv-smod"},
    {InsnClass::LoadSx, "ldsx"},
    {InsnClass::Bswap, "bswap"},
    {InsnClass::Ja32, "gotol"},
    {InsnClass::Loop, "loop"},
    {InsnClass::MapReference, "map-reference"},
    {InsnClass::MapValueReference, "map-value-reference"},
};

constexpr std::pair<Target, const char *> kTargetNames[] = {
    {Target::XdpOffload, "xdp-offload"}, {Target::XdpNative, "xdp-native"}, {Target::Dpdk, "dpdk"},
    {Target::XdpGeneric, "xdp-generic"}, {Target::Host, "host"},
};

constexpr const char *kXdpFeatureNames[] = {"basic",        "redirect", "ndo-xmit",   "xsk-zerocopy",
                                            "hw-offload",   "rx-sg",    "ndo-xmit-sg"};

} // namespace

std::string_view insn_class_name(InsnClass c)
{
    for (auto [cls, name] : kInsnClassNames) {
        if (cls == c) {
            return name;
        }
    }
    return "?";
}

std::optional<InsnClass> parse_insn_class(std::string_view name)
{
    for (auto [cls, n] : kInsnClassNames) {
        if (name == n) {
            return cls;
        }
    }
    return std::nullopt;
}

std::string helper_name(uint32_t id)
{
    if (id < std::size(kLinuxHelperNames)) {
        return kLinuxHelperNames[id];
    }
    if (const helpers::Helper *registered = helpers::find_helper(id)) {
        return registered->proto.name;
    }
    for (auto [hid, name] : kHarmonyHelperNames) {
        if (hid == id) {
            return name;
        }
    }
    return fmt::format("helper#{}", id);
}

std::string map_type_name(uint32_t type)
{
    const char *name = libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type));
    return name ? name : fmt::format("map_type#{}", type);
}

std::string_view target_name(Target t)
{
    for (auto [target, name] : kTargetNames) {
        if (target == t) {
            return name;
        }
    }
    return "?";
}

Result<Target> parse_target(std::string_view name)
{
    for (auto [target, n] : kTargetNames) {
        if (name == n) {
            return target;
        }
    }
    return fail("parse target", std::string(name),
                "unknown target (expected xdp-offload, xdp-native, dpdk, xdp-generic or host)");
}

Result<Policy> Policy::parse(std::string_view text)
{
    Policy policy;
    policy.order.clear();
    while (!text.empty()) {
        size_t comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        auto target = parse_target(item);
        if (!target) {
            return std::unexpected(target.error());
        }
        if (std::find(policy.order.begin(), policy.order.end(), *target) != policy.order.end()) {
            return fail("parse policy", std::string(item), "target listed twice");
        }
        policy.order.push_back(*target);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    }
    if (policy.order.empty()) {
        return fail("parse policy", "", "no targets given");
    }
    return policy;
}

std::vector<std::string> xdp_feature_names(uint64_t bits)
{
    std::vector<std::string> names;
    for (size_t i = 0; i < std::size(kXdpFeatureNames); ++i) {
        if (bits & (uint64_t{1} << i)) {
            names.emplace_back(kXdpFeatureNames[i]);
        }
    }
    return names;
}

std::string fmt_refusal(const Refusal &refusal)
{
    return fmt::format(" {} ({})", target_name(refusal.target), refusal.error.message());
}

const InsnUse *Requirements::uses(InsnClass c) const
{
    for (const InsnUse &use : insns) {
        if (use.cls == c) {
            return &use;
        }
    }
    return nullptr;
}

bool Requirements::calls_harmony_helper() const
{
    for (const HelperUse &use : helpers) {
        if (use.id >= helpers::kHarmonyBase) {
            return true;
        }
    }
    return false;
}

const InterfaceCaps *Capabilities::interface(std::string_view name) const
{
    for (const InterfaceCaps &iface : interfaces) {
        if (iface.name == name) {
            return &iface;
        }
    }
    return nullptr;
}

} // namespace harmony::caps
