// XDP helpers with the kernel's bounds: the packet may grow into the headroom down to the
// space the kernel keeps for struct xdp_frame, never below an Ethernet header, and the
// metadata area sits right before `data`, 4-byte multiples up to 32 bytes.
#include "host-runtime/maps/maps.hpp"
#include "host-runtime/vm.hpp"
#include "linux_helpers.hpp"

#include <linux/bpf.h>

#include <cstring>

namespace harmony::helpers {
namespace {

constexpr long kXdpFrameSize = 40;   // sizeof(struct xdp_frame), kept at the start of the headroom
constexpr long kEthHeader = 14;      // ETH_HLEN
constexpr long kMaxMetadata = 32;    // the kernel's limit on data_meta
constexpr uint32_t kMaxTailCalls = 33; // MAX_TAIL_CALL_CNT
constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX; // BPF_F_ACTION_MASK

vm::XdpBuff *as_xdp(uint64_t r) { return reinterpret_cast<vm::XdpBuff *>(r); }
uint64_t error(long err) { return static_cast<uint64_t>(err); }

uint64_t xdp_adjust_head(uint64_t ctx, uint64_t delta, uint64_t, uint64_t, uint64_t)
{
    vm::XdpBuff *xdp = as_xdp(ctx);
    long offset = static_cast<int32_t>(delta);
    uint8_t *data = xdp->data + offset;
    if (data < xdp->data_hard_start + kXdpFrameSize || data > xdp->data_end - kEthHeader) {
        return error(-EINVAL);
    }
    long metadata = xdp->data - xdp->data_meta;
    if (metadata > 0) {
        std::memmove(xdp->data_meta + offset, xdp->data_meta, metadata);
    }
    xdp->data_meta += offset;
    xdp->data = data;
    return 0;
}

uint64_t xdp_adjust_meta(uint64_t ctx, uint64_t delta, uint64_t, uint64_t, uint64_t)
{
    vm::XdpBuff *xdp = as_xdp(ctx);
    uint8_t *meta = xdp->data_meta + static_cast<int32_t>(delta);
    if (meta < xdp->data_hard_start + kXdpFrameSize || meta > xdp->data) {
        return error(-EINVAL);
    }
    long length = xdp->data - meta;
    if (length % 4 != 0 || length > kMaxMetadata) {
        return error(-EACCES);
    }
    xdp->data_meta = meta;
    return 0;
}

uint64_t xdp_adjust_tail(uint64_t ctx, uint64_t delta, uint64_t, uint64_t, uint64_t)
{
    vm::XdpBuff *xdp = as_xdp(ctx);
    long offset = static_cast<int32_t>(delta);
    uint8_t *end = xdp->data_end + offset;
    if (end > xdp->frame_end || end < xdp->data + kEthHeader) {
        return error(-EINVAL);
    }
    if (offset > 0) {
        std::memset(xdp->data_end, 0, offset); // grown bytes never leak old contents
    }
    xdp->data_end = end;
    return 0;
}

uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t)
{
    if (flags != 0) {
        return XDP_ABORTED;
    }
    vm::RunState &run = vm::current_run();
    run.redirect_ifindex = static_cast<uint32_t>(ifindex);
    run.redirect_map = nullptr;
    return XDP_REDIRECT;
}

uint64_t redirect_map(uint64_t map, uint64_t key, uint64_t flags, uint64_t, uint64_t)
{
    auto *devices = maps::as_device_map(reinterpret_cast<maps::HostMap *>(map));
    if (!devices || (flags & ~kActionMask)) {
        return XDP_ABORTED;
    }
    auto ifindex = devices->ifindex(static_cast<uint32_t>(key));
    if (!ifindex) {
        return flags & kActionMask; // the fallback action the program chose
    }
    vm::RunState &run = vm::current_run();
    run.redirect_map = devices;
    run.redirect_key = static_cast<uint32_t>(key);
    run.redirect_ifindex = *ifindex;
    return XDP_REDIRECT;
}

/// Only records the request: the executor switches programs after the call returns.
uint64_t tail_call(uint64_t, uint64_t map, uint64_t index, uint64_t, uint64_t)
{
    auto *programs = maps::as_program_array(reinterpret_cast<maps::HostMap *>(map));
    vm::RunState &run = vm::current_run();
    if (!programs || run.tail_calls_done >= kMaxTailCalls) {
        return error(-EINVAL);
    }
    auto *next = static_cast<const vm::LinkedProgram *>(programs->program(static_cast<uint32_t>(index)));
    if (!next) {
        return error(-ENOENT); // the program falls through, as in the kernel
    }
    run.tail_call = next;
    run.tail_calls_done++;
    return 0;
}

} // namespace

std::vector<Helper> xdp_helpers()
{
    using enum Arg;
    return {
        {BPF_FUNC_xdp_adjust_head, {"xdp_adjust_head", Ret::Integer, {Ctx, Anything}}, xdp_adjust_head},
        {BPF_FUNC_xdp_adjust_meta, {"xdp_adjust_meta", Ret::Integer, {Ctx, Anything}}, xdp_adjust_meta},
        {BPF_FUNC_xdp_adjust_tail, {"xdp_adjust_tail", Ret::Integer, {Ctx, Anything}}, xdp_adjust_tail},
        {BPF_FUNC_redirect, {"redirect", Ret::Integer, {Anything, Anything}}, redirect},
        {BPF_FUNC_redirect_map, {"redirect_map", Ret::Integer, {ConstMap, Anything, Anything}}, redirect_map},
        {BPF_FUNC_tail_call, {"tail_call", Ret::Integer, {Ctx, ConstMap, Anything}}, tail_call},
    };
}

} // namespace harmony::helpers
