// BPF_MAP_TYPE_RINGBUF as the kernel lays it out: 8-byte record headers (length with busy
// and discard bits), records 8-byte aligned, producers serialised by a lock, the consumer
// reading committed records in order and stopping at the first one still being written.
// The data area is mapped twice back to back, as the kernel does, so a record that wraps
// around the end is still contiguous in memory.
#include "map_types.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

namespace harmony::maps {
namespace {

constexpr uint32_t kBusy = 1u << 31;    // BPF_RINGBUF_BUSY_BIT
constexpr uint32_t kDiscard = 1u << 30; // BPF_RINGBUF_DISCARD_BIT
constexpr uint64_t kHeader = 8;         // BPF_RINGBUF_HDR_SZ

/// Live ring buffers by id; a record header carries its buffer's id where the kernel keeps
/// the page offset, so submit and discard find the buffer without a lock.
constexpr uint32_t kMaxRingBuffers = 4096;
std::atomic<RingBuffer *> live_buffers[kMaxRingBuffers];

uint32_t register_buffer(RingBuffer *buffer)
{
    for (uint32_t id = 1; id < kMaxRingBuffers; id++) {
        RingBuffer *expected = nullptr;
        if (live_buffers[id].compare_exchange_strong(expected, buffer)) {
            return id;
        }
    }
    return 0;
}

class DoubleMapping {
public:
    static Result<DoubleMapping> create(size_t size, const std::string &which)
    {
        int fd = memfd_create("harmony-ringbuf", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0) {
            int err = errno;
            if (fd >= 0) {
                close(fd);
            }
            return fail("create", which, "ring buffer memory: " + errno_text(err));
        }
        DoubleMapping m;
        m.size_ = size;
        void *base = mmap(nullptr, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        bool ok = base != MAP_FAILED;
        for (size_t half = 0; ok && half < 2; half++) {
            void *at = static_cast<uint8_t *>(base) + half * size;
            ok = mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == at;
        }
        int err = errno;
        close(fd);
        if (!ok) {
            if (base != MAP_FAILED) {
                munmap(base, 2 * size);
            }
            return fail("create", which, "ring buffer mapping: " + errno_text(err));
        }
        m.base_ = static_cast<uint8_t *>(base);
        return m;
    }
    DoubleMapping() = default;
    DoubleMapping(DoubleMapping &&other) noexcept
        : base_(std::exchange(other.base_, nullptr)), size_(other.size_)
    {
    }
    ~DoubleMapping()
    {
        if (base_) {
            munmap(base_, 2 * size_);
        }
    }
    uint8_t *at(uint64_t position) const { return base_ + (position & (size_ - 1)); }

private:
    uint8_t *base_ = nullptr;
    size_t size_ = 0;
};

class RingBufferMap final : public RingBuffer {
public:
    RingBufferMap(const MapInfo &info, DoubleMapping memory) : RingBuffer(info), memory_(std::move(memory))
    {
        id_ = register_buffer(this);
    }
    ~RingBufferMap() override
    {
        if (id_) {
            live_buffers[id_].store(nullptr);
        }
    }
    bool registered() const { return id_ != 0; }

    void *reserve(uint64_t size, uint64_t flags) override
    {
        if (flags != 0 || size > info().max_entries - kHeader) {
            return nullptr;
        }
        uint64_t total = round_up8(size + kHeader);
        std::lock_guard lock(producer_mutex_);
        uint64_t producer = producer_pos_.load(std::memory_order_relaxed);
        if (producer - consumer_pos_.load(std::memory_order_acquire) + total > info().max_entries) {
            return nullptr;
        }
        uint8_t *header = memory_.at(producer);
        std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(header))
            .store(static_cast<uint32_t>(size) | kBusy, std::memory_order_relaxed);
        std::memcpy(header + 4, &id_, sizeof(id_));
        producer_pos_.store(producer + total, std::memory_order_release);
        return header + kHeader;
    }

    void submit(void *record, uint64_t) override { commit(record, 0); }
    void discard(void *record, uint64_t) override { commit(record, kDiscard); }

    long output(const void *data, uint64_t size, uint64_t flags) override
    {
        if (flags & ~uint64_t(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) {
            return -EINVAL;
        }
        void *record = reserve(size, 0);
        if (!record) {
            return -EAGAIN;
        }
        std::memcpy(record, data, size);
        submit(record, flags);
        return 0;
    }

    size_t consume(const std::function<void(ByteView)> &each) override
    {
        std::lock_guard lock(consumer_mutex_);
        uint64_t consumer = consumer_pos_.load(std::memory_order_relaxed);
        size_t handed = 0;
        while (consumer < producer_pos_.load(std::memory_order_acquire)) {
            uint8_t *header = memory_.at(consumer);
            uint32_t length = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t *>(header))
                                  .load(std::memory_order_acquire);
            if (length & kBusy) {
                break; // still being written: later records wait for it, as in the kernel
            }
            uint32_t size = length & ~(kBusy | kDiscard);
            if (!(length & kDiscard)) {
                each(ByteView(header + kHeader, size));
                handed++;
            }
            consumer += round_up8(size + kHeader);
            consumer_pos_.store(consumer, std::memory_order_release);
        }
        return handed;
    }

    void *lookup_elem(const void *) override { return nullptr; }
    long update_elem(const void *, const void *, uint64_t) override { return -EOPNOTSUPP; }
    long delete_elem(const void *) override { return -EOPNOTSUPP; }

protected:
    long copy_out(const uint8_t *, uint8_t *) override { return -EOPNOTSUPP; }
    long copy_in(const uint8_t *, const uint8_t *, uint64_t) override { return -EOPNOTSUPP; }
    long next(const uint8_t *, uint8_t *) override { return -EOPNOTSUPP; }

private:
    DoubleMapping memory_;
    uint32_t id_ = 0;
    std::mutex producer_mutex_;
    std::mutex consumer_mutex_;
    std::atomic<uint64_t> producer_pos_{0};
    std::atomic<uint64_t> consumer_pos_{0};

    void commit(void *record, uint32_t extra)
    {
        auto *header = reinterpret_cast<uint32_t *>(static_cast<uint8_t *>(record) - kHeader);
        std::atomic_ref<uint32_t> length(*header);
        length.store((length.load(std::memory_order_relaxed) & ~kBusy) | extra, std::memory_order_release);
    }
};

} // namespace

Result<std::unique_ptr<HostMap>> make_ring_buffer(const MapInfo &info)
{
    auto page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
    uint32_t size = info.max_entries;
    std::string which = "map '" + info.name + "'";
    if (size == 0 || (size & (size - 1)) != 0 || size % page != 0) {
        return fail("create", which,
                    fmt::format("-EINVAL: ring buffer size {} is not a power of 2 multiple of the page size", size));
    }
    auto memory = DoubleMapping::create(size, which);
    if (!memory) {
        return std::unexpected(memory.error());
    }
    auto buffer = std::make_unique<RingBufferMap>(info, std::move(*memory));
    if (!buffer->registered()) {
        return fail("create", which, fmt::format("-ENOMEM: more than {} ring buffers", kMaxRingBuffers - 1));
    }
    return buffer;
}

RingBuffer *RingBuffer::owner(void *record)
{
    if (!record) {
        return nullptr;
    }
    uint32_t id;
    std::memcpy(&id, static_cast<uint8_t *>(record) - kHeader + 4, sizeof(id));
    return id > 0 && id < kMaxRingBuffers ? live_buffers[id].load(std::memory_order_acquire) : nullptr;
}

} // namespace harmony::maps
