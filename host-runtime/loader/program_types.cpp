#include "program_types.hpp"

#include <linux/bpf.h>

namespace harmony::loader {
namespace {

/// A section name prefix and its program type. `exact` entries match the whole name or the
/// name followed by '/' (libbpf's SEC_ATTACHABLE style, e.g. "xdp" and "xdp/foo").
struct SectionRule {
    std::string_view prefix;
    uint32_t type;
};

// The longest matching prefix wins ("xdp.frags" over "xdp").
constexpr SectionRule kRules[] = {
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER},
    {"sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT},
    {"sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT},
    {"kprobe", BPF_PROG_TYPE_KPROBE},
    {"uprobe", BPF_PROG_TYPE_KPROBE},
    {"kretprobe", BPF_PROG_TYPE_KPROBE},
    {"uretprobe", BPF_PROG_TYPE_KPROBE},
    {"ksyscall", BPF_PROG_TYPE_KPROBE},
    {"kretsyscall", BPF_PROG_TYPE_KPROBE},
    {"usdt", BPF_PROG_TYPE_KPROBE},
    {"tc", BPF_PROG_TYPE_SCHED_CLS},
    {"classifier", BPF_PROG_TYPE_SCHED_CLS},
    {"action", BPF_PROG_TYPE_SCHED_ACT},
    {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
    {"tp", BPF_PROG_TYPE_TRACEPOINT},
    {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
    {"raw_tp", BPF_PROG_TYPE_RAW_TRACEPOINT},
    {"raw_tracepoint.w", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
    {"raw_tp.w", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
    {"tp_btf", BPF_PROG_TYPE_TRACING},
    {"fentry", BPF_PROG_TYPE_TRACING},
    {"fmod_ret", BPF_PROG_TYPE_TRACING},
    {"fexit", BPF_PROG_TYPE_TRACING},
    {"fentry.s", BPF_PROG_TYPE_TRACING},
    {"fmod_ret.s", BPF_PROG_TYPE_TRACING},
    {"fexit.s", BPF_PROG_TYPE_TRACING},
    {"iter", BPF_PROG_TYPE_TRACING},
    {"iter.s", BPF_PROG_TYPE_TRACING},
    {"freplace", BPF_PROG_TYPE_EXT},
    {"lsm", BPF_PROG_TYPE_LSM},
    {"lsm.s", BPF_PROG_TYPE_LSM},
    {"lsm_cgroup", BPF_PROG_TYPE_LSM},
    {"xdp.frags/devmap", BPF_PROG_TYPE_XDP},
    {"xdp/devmap", BPF_PROG_TYPE_XDP},
    {"xdp.frags/cpumap", BPF_PROG_TYPE_XDP},
    {"xdp/cpumap", BPF_PROG_TYPE_XDP},
    {"xdp.frags", BPF_PROG_TYPE_XDP},
    {"xdp", BPF_PROG_TYPE_XDP},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT},
    {"lwt_in", BPF_PROG_TYPE_LWT_IN},
    {"lwt_out", BPF_PROG_TYPE_LWT_OUT},
    {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT},
    {"lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL},
    {"sockops", BPF_PROG_TYPE_SOCK_OPS},
    {"sk_skb", BPF_PROG_TYPE_SK_SKB},
    {"sk_msg", BPF_PROG_TYPE_SK_MSG},
    {"lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2},
    {"flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR},
    {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
    {"cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB},
    {"cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK},
    {"cgroup/post_bind", BPF_PROG_TYPE_CGROUP_SOCK},
    {"cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE},
    {"cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL},
    {"cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT},
    {"cgroup/setsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT},
    {"cgroup", BPF_PROG_TYPE_CGROUP_SOCK_ADDR}, // bind4, connect6, sendmsg4, ... under cgroup/
    {"struct_ops", BPF_PROG_TYPE_STRUCT_OPS},
    {"struct_ops.s", BPF_PROG_TYPE_STRUCT_OPS},
    {"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP},
    {"syscall", BPF_PROG_TYPE_SYSCALL},
};

/// libbpf's rule: "xdp" matches "xdp" and "xdp/anything"; "cgroup/sock" matches
/// "cgroup/sock" and "cgroup/sock_create" (prefix up to the next separator).
bool matches(std::string_view section, std::string_view prefix)
{
    if (!section.starts_with(prefix)) {
        return false;
    }
    if (section.size() == prefix.size()) {
        return true;
    }
    char next = section[prefix.size()];
    return next == '/' || (prefix.find('/') != std::string_view::npos && next == '_');
}

} // namespace

std::optional<uint32_t> program_type_for_section(std::string_view section)
{
    const SectionRule *best = nullptr;
    for (const auto &rule : kRules) {
        if (matches(section, rule.prefix) && (!best || rule.prefix.size() > best->prefix.size())) {
            best = &rule;
        }
    }
    if (!best) {
        return std::nullopt;
    }
    return best->type;
}

} // namespace harmony::loader
