// Helper prototypes: the host/dpdk helper table (the default), and the kernel's
// declarations of the Linux helpers XDP programs use (kernel/bpf/helpers.c,
// net/core/filter.c, kernel/bpf/ringbuf.c) for checks against the kernel's view.
#include "verifier.hpp"

#include <linux/bpf.h>
#include <map>

namespace harmony::verifier {

namespace {

using helpers::Arg;
using helpers::Prototype;
using helpers::Ret;

const std::map<uint32_t, Prototype> &table()
{
    static const std::map<uint32_t, Prototype> protos = {
        {BPF_FUNC_map_lookup_elem, {"map_lookup_elem", Ret::MapValueOrNull, {Arg::ConstMap, Arg::MapKey}}},
        {BPF_FUNC_map_update_elem,
         {"map_update_elem", Ret::Integer, {Arg::ConstMap, Arg::MapKey, Arg::MapValue, Arg::Anything}}},
        {BPF_FUNC_map_delete_elem, {"map_delete_elem", Ret::Integer, {Arg::ConstMap, Arg::MapKey}}},
        {BPF_FUNC_ktime_get_ns, {"ktime_get_ns", Ret::Integer, {}}},
        {BPF_FUNC_ktime_get_boot_ns, {"ktime_get_boot_ns", Ret::Integer, {}}},
        {BPF_FUNC_ktime_get_coarse_ns, {"ktime_get_coarse_ns", Ret::Integer, {}}},
        {BPF_FUNC_jiffies64, {"jiffies64", Ret::Integer, {}}},
        {BPF_FUNC_get_prandom_u32, {"get_prandom_u32", Ret::Integer, {}}},
        {BPF_FUNC_get_smp_processor_id, {"get_smp_processor_id", Ret::Integer, {}}},
        {BPF_FUNC_get_numa_node_id, {"get_numa_node_id", Ret::Integer, {}}},
        {BPF_FUNC_trace_printk, {"trace_printk", Ret::Integer, {Arg::Mem, Arg::Size}, true}},
        {BPF_FUNC_tail_call, {"tail_call", Ret::Integer, {Arg::Ctx, Arg::ConstMap, Arg::Anything}}},
        {BPF_FUNC_redirect, {"redirect", Ret::Integer, {Arg::Anything, Arg::Anything}}},
        {BPF_FUNC_redirect_map, {"redirect_map", Ret::Integer, {Arg::ConstMap, Arg::Anything, Arg::Anything}}},
        {BPF_FUNC_xdp_adjust_head, {"xdp_adjust_head", Ret::Integer, {Arg::Ctx, Arg::Anything}}},
        {BPF_FUNC_xdp_adjust_tail, {"xdp_adjust_tail", Ret::Integer, {Arg::Ctx, Arg::Anything}}},
        {BPF_FUNC_xdp_adjust_meta, {"xdp_adjust_meta", Ret::Integer, {Arg::Ctx, Arg::Anything}}},
        {BPF_FUNC_csum_diff,
         {"csum_diff", Ret::Integer, {Arg::Mem, Arg::SizeOrZero, Arg::Mem, Arg::SizeOrZero, Arg::Anything}}},
        {BPF_FUNC_perf_event_output,
         {"perf_event_output", Ret::Integer, {Arg::Ctx, Arg::ConstMap, Arg::Anything, Arg::Mem, Arg::Size}}},
        {BPF_FUNC_ringbuf_output,
         {"ringbuf_output", Ret::Integer, {Arg::ConstMap, Arg::Mem, Arg::Size, Arg::Anything}}},
        {BPF_FUNC_ringbuf_reserve,
         {"ringbuf_reserve", Ret::RingbufOrNull, {Arg::ConstMap, Arg::Scalar, Arg::Anything}}},
        {BPF_FUNC_ringbuf_submit, {"ringbuf_submit", Ret::Void, {Arg::RingbufRecord, Arg::Anything}}},
        {BPF_FUNC_ringbuf_discard, {"ringbuf_discard", Ret::Void, {Arg::RingbufRecord, Arg::Anything}}},
        {BPF_FUNC_ringbuf_query, {"ringbuf_query", Ret::Integer, {Arg::ConstMap, Arg::Anything}}},
        {BPF_FUNC_xdp_get_buff_len, {"xdp_get_buff_len", Ret::Integer, {Arg::Ctx}}},
        {BPF_FUNC_xdp_load_bytes,
         {"xdp_load_bytes", Ret::Integer, {Arg::Ctx, Arg::Anything, Arg::MemUninit, Arg::Size}}},
        {BPF_FUNC_xdp_store_bytes, {"xdp_store_bytes", Ret::Integer, {Arg::Ctx, Arg::Anything, Arg::Mem, Arg::Size}}},
        {BPF_FUNC_probe_read_kernel,
         {"probe_read_kernel", Ret::Integer, {Arg::MemUninit, Arg::SizeOrZero, Arg::Anything}, true}},
    };
    return protos;
}

} // namespace

const helpers::Prototype *host_prototype(uint32_t id)
{
    const helpers::Helper *helper = helpers::find_helper(id);
    return helper ? &helper->proto : nullptr;
}

const helpers::Prototype *builtin_prototype(uint32_t id)
{
    auto it = table().find(id);
    return it == table().end() ? nullptr : &it->second;
}

} // namespace harmony::verifier
