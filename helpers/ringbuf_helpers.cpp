// Ring-buffer helpers: records go to the host RingBuffer; submit and discard find their
// buffer from the record, as the kernel's do.
#include "host-runtime/maps/maps.hpp"
#include "linux_helpers.hpp"

#include <linux/bpf.h>

namespace harmony::helpers {
namespace {

maps::RingBuffer *as_ringbuf(uint64_t r)
{
    return maps::as_ring_buffer(reinterpret_cast<maps::HostMap *>(r));
}

uint64_t ringbuf_reserve(uint64_t map, uint64_t size, uint64_t flags, uint64_t, uint64_t)
{
    maps::RingBuffer *rb = as_ringbuf(map);
    return rb ? reinterpret_cast<uint64_t>(rb->reserve(size, flags)) : 0;
}

uint64_t ringbuf_submit(uint64_t record, uint64_t flags, uint64_t, uint64_t, uint64_t)
{
    if (maps::RingBuffer *rb = maps::RingBuffer::owner(reinterpret_cast<void *>(record))) {
        rb->submit(reinterpret_cast<void *>(record), flags);
    }
    return 0;
}

uint64_t ringbuf_discard(uint64_t record, uint64_t flags, uint64_t, uint64_t, uint64_t)
{
    if (maps::RingBuffer *rb = maps::RingBuffer::owner(reinterpret_cast<void *>(record))) {
        rb->discard(reinterpret_cast<void *>(record), flags);
    }
    return 0;
}

uint64_t ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t)
{
    maps::RingBuffer *rb = as_ringbuf(map);
    return rb ? static_cast<uint64_t>(rb->output(reinterpret_cast<const void *>(data), size, flags))
              : static_cast<uint64_t>(-EINVAL);
}

} // namespace

std::vector<Helper> ringbuf_helpers()
{
    using enum Arg;
    return {
        {BPF_FUNC_ringbuf_output, {"ringbuf_output", Ret::Integer, {ConstMap, Mem, SizeOrZero, Anything}},
         ringbuf_output},
        {BPF_FUNC_ringbuf_reserve, {"ringbuf_reserve", Ret::RingbufOrNull, {ConstMap, Anything, Anything}},
         ringbuf_reserve},
        {BPF_FUNC_ringbuf_submit, {"ringbuf_submit", Ret::Void, {RingbufRecord, Anything}}, ringbuf_submit},
        {BPF_FUNC_ringbuf_discard, {"ringbuf_discard", Ret::Void, {RingbufRecord, Anything}}, ringbuf_discard},
    };
}

} // namespace harmony::helpers
