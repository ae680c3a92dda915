#include "map_types.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <thread>

namespace harmony::maps {

uint32_t possible_cpus()
{
    static const uint32_t count = [] {
        int n = libbpf_num_possible_cpus();
        return n > 0 ? static_cast<uint32_t>(n) : std::max(1u, std::thread::hardware_concurrency());
    }();
    return count;
}

namespace {

/// Per-CPU slots handed to threads: a thread keeps its slot until it exits.
class CpuSlots {
public:
    uint32_t acquire()
    {
        std::lock_guard lock(mutex_);
        for (uint32_t i = 0; i < used_.size(); i++) {
            if (!used_[i]) {
                used_[i] = true;
                return i;
            }
        }
        return next_shared_++ % possible_cpus(); // more threads than CPUs: share
    }
    void release(uint32_t slot)
    {
        std::lock_guard lock(mutex_);
        used_[slot] = false;
    }

private:
    std::mutex mutex_;
    std::vector<bool> used_ = std::vector<bool>(possible_cpus());
    uint32_t next_shared_ = 0;
};

CpuSlots &cpu_slots()
{
    static CpuSlots *slots = new CpuSlots; // never destroyed: threads may exit after main
    return *slots;
}

struct ThreadCpu {
    uint32_t slot = cpu_slots().acquire();
    ~ThreadCpu() { cpu_slots().release(slot); }
};

Result<void> errno_result(long err, const std::string &what, const std::string &which)
{
    if (err == 0) {
        return {};
    }
    return fail(what, which, errno_text(static_cast<int>(err)));
}

} // namespace

uint32_t current_cpu()
{
    // A trivially constructed thread_local read first: the one with a destructor (which
    // gives the slot back when the thread exits) is touched once per thread, not per packet.
    constexpr uint32_t kUnset = UINT32_MAX;
    thread_local uint32_t slot = kUnset;
    if (slot == kUnset) [[unlikely]] {
        thread_local ThreadCpu cpu;
        slot = cpu.slot;
    }
    return slot;
}

bool valid_update_flags(uint64_t flags)
{
    return flags == BPF_ANY || flags == BPF_NOEXIST || flags == BPF_EXIST;
}

ElementPool::ElementPool(size_t element_size, size_t capacity)
    : element_size_(round_up8(element_size)), capacity_(capacity)
{
}

uint8_t *ElementPool::allocate(size_t zero_from)
{
    std::lock_guard lock(mutex_);
    if (free_.empty()) {
        if (handed_out_ >= capacity_) {
            return nullptr;
        }
        size_t count = std::min<size_t>(capacity_ - handed_out_, std::max<size_t>(16, handed_out_ / 2));
        chunks_.push_back(std::make_unique<uint8_t[]>(count * element_size_));
        for (size_t i = count; i-- > 0;) {
            free_.push_back(chunks_.back().get() + i * element_size_);
        }
        handed_out_ += count;
    }
    uint8_t *element = free_.back();
    free_.pop_back();
    std::memset(element + zero_from, 0, element_size_ - std::min(zero_from, element_size_));
    return element;
}

void ElementPool::release(uint8_t *element)
{
    std::lock_guard lock(mutex_);
    free_.push_back(element);
}

uint32_t HostMap::control_value_size() const
{
    bool per_cpu = info_.type == BPF_MAP_TYPE_PERCPU_ARRAY || info_.type == BPF_MAP_TYPE_PERCPU_HASH ||
                   info_.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    return per_cpu ? static_cast<uint32_t>(round_up8(info_.value_size) * possible_cpus()) : info_.value_size;
}

Result<Bytes> HostMap::lookup(ByteView key)
{
    if (key.size() != info_.key_size) {
        return fail("lookup", which(), fmt::format("key is {} bytes, the map's keys are {}", key.size(), info_.key_size));
    }
    Bytes value(control_value_size());
    if (auto ok = errno_result(copy_out(key.data(), value.data()), "lookup", which()); !ok) {
        return std::unexpected(ok.error());
    }
    return value;
}

Result<void> HostMap::update(ByteView key, ByteView value, uint64_t flags)
{
    if (key.size() != info_.key_size || value.size() != control_value_size()) {
        return fail("update", which(), fmt::format("key/value are {}/{} bytes, the map takes {}/{}", key.size(),
                                                   value.size(), info_.key_size, control_value_size()));
    }
    return errno_result(copy_in(key.data(), value.data(), flags), "update", which());
}

Result<void> HostMap::erase(ByteView key)
{
    if (key.size() != info_.key_size) {
        return fail("delete", which(), fmt::format("key is {} bytes, the map's keys are {}", key.size(), info_.key_size));
    }
    return errno_result(delete_elem(key.data()), "delete", which());
}

Result<std::optional<Bytes>> HostMap::next_key(std::optional<ByteView> key)
{
    if (key && key->size() != info_.key_size) {
        return fail("next key", which(), fmt::format("key is {} bytes, the map's keys are {}", key->size(),
                                                     info_.key_size));
    }
    Bytes out(info_.key_size);
    long err = next(key ? key->data() : nullptr, out.data());
    if (err == -ENOENT) {
        return std::optional<Bytes>{};
    }
    if (auto ok = errno_result(err, "next key", which()); !ok) {
        return std::unexpected(ok.error());
    }
    return std::optional<Bytes>{std::move(out)};
}

namespace {

Result<void> check_sizes(const MapInfo &info)
{
    auto refuse = [&](std::string why) { return fail("create", "map '" + info.name + "'", "-EINVAL: " + why); };
    uint32_t t = info.type;
    bool array_like = t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PROG_ARRAY ||
                      t == BPF_MAP_TYPE_DEVMAP;
    if (t == BPF_MAP_TYPE_RINGBUF) {
        if (info.key_size || info.value_size) {
            return refuse("a ring buffer has no key or value size");
        }
        return {};
    }
    if (info.max_entries == 0) {
        return refuse("max_entries is 0");
    }
    if (info.key_size == 0 || info.value_size == 0) {
        return refuse("key_size and value_size must be non-zero");
    }
    if (array_like && info.key_size != 4) {
        return refuse("array keys are 4 bytes");
    }
    bool hash_like = t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
                     t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    if (hash_like && info.key_size > kMaxHashKeySize) {
        return refuse(fmt::format("hash keys are at most {} bytes (programs build them on the stack)",
                                  kMaxHashKeySize));
    }
    if (t == BPF_MAP_TYPE_PROG_ARRAY && info.value_size != 4) {
        return refuse("program array values are 4 bytes");
    }
    if (t == BPF_MAP_TYPE_DEVMAP && info.value_size != 4 && info.value_size != 8) {
        return refuse("devmap values are 4 or 8 bytes");
    }
    if (t == BPF_MAP_TYPE_LPM_TRIE) {
        if (!(info.flags & BPF_F_NO_PREALLOC)) {
            return refuse("an LPM trie needs BPF_F_NO_PREALLOC");
        }
        if (info.key_size <= 4 || info.key_size > 4 + 256) {
            return refuse("LPM keys are a u32 prefix length and 1 to 256 bytes of data");
        }
    }
    if (uint64_t(round_up8(info.value_size)) * info.max_entries > (uint64_t(1) << 32)) {
        return refuse("map too large");
    }
    return {};
}

} // namespace

RingBuffer *as_ring_buffer(HostMap *map)
{
    return map && map->info().type == BPF_MAP_TYPE_RINGBUF ? static_cast<RingBuffer *>(map) : nullptr;
}

ProgramArray *as_program_array(HostMap *map)
{
    return map && map->info().type == BPF_MAP_TYPE_PROG_ARRAY ? static_cast<ProgramArray *>(map) : nullptr;
}

DeviceMap *as_device_map(HostMap *map)
{
    return map && map->info().type == BPF_MAP_TYPE_DEVMAP ? static_cast<DeviceMap *>(map) : nullptr;
}

Result<std::unique_ptr<HostMap>> create_map(const MapInfo &info)
{
    if (auto ok = check_sizes(info); !ok) {
        return std::unexpected(ok.error());
    }
    switch (info.type) {
    case BPF_MAP_TYPE_ARRAY: return make_array(info, false);
    case BPF_MAP_TYPE_PERCPU_ARRAY: return make_array(info, true);
    case BPF_MAP_TYPE_HASH: return make_hash(info, false, false);
    case BPF_MAP_TYPE_PERCPU_HASH: return make_hash(info, true, false);
    case BPF_MAP_TYPE_LRU_HASH: return make_hash(info, false, true);
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: return make_hash(info, true, true);
    case BPF_MAP_TYPE_LPM_TRIE: return make_lpm_trie(info);
    case BPF_MAP_TYPE_RINGBUF: return make_ring_buffer(info);
    case BPF_MAP_TYPE_PROG_ARRAY: return make_program_array(info);
    case BPF_MAP_TYPE_DEVMAP: return make_device_map(info);
    default:
        return fail("create", "map '" + info.name + "'",
                    fmt::format("map type {} is not supported by the host runtime", info.type));
    }
}

} // namespace harmony::maps
