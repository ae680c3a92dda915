// BPF_MAP_TYPE_PROG_ARRAY and DEVMAP: fixed arrays of slots that may be empty. Slots are
// single words read with atomics, so packet threads never see a torn entry.
#include "map_types.hpp"

#include <linux/bpf.h>

namespace harmony::maps {
namespace {

uint32_t load_u32(const void *p)
{
    uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

/// Flag checks shared by both: NOEXIST refused (slots always exist, as in the kernel's
/// array-backed maps), index bounds as -E2BIG.
long check_slot_update(uint32_t index, uint32_t max_entries, uint64_t flags)
{
    if (!valid_update_flags(flags) || flags == BPF_NOEXIST) {
        return -EINVAL;
    }
    return index >= max_entries ? -E2BIG : 0;
}

long next_index(const uint8_t *key, uint8_t *next_key, uint32_t max_entries)
{
    uint32_t index = key ? load_u32(key) : UINT32_MAX;
    uint32_t following = index >= max_entries ? 0 : index + 1;
    if (following >= max_entries) {
        return -ENOENT;
    }
    std::memcpy(next_key, &following, sizeof(following));
    return 0;
}

class ProgramArrayMap final : public ProgramArray {
public:
    explicit ProgramArrayMap(const MapInfo &info) : ProgramArray(info), slots_(info.max_entries) {}

    const void *program(uint32_t index) const override
    {
        return index < slots_.size() ? slots_[index].program.load(std::memory_order_acquire) : nullptr;
    }
    void set_resolver(std::function<const void *(uint32_t id)> resolve) override { resolve_ = std::move(resolve); }

    void *lookup_elem(const void *) override { return nullptr; } // programs cannot read a program array
    long update_elem(const void *, const void *, uint64_t) override { return -EINVAL; }
    long delete_elem(const void *key) override
    {
        uint32_t index = load_u32(key);
        if (index >= slots_.size()) {
            return -E2BIG;
        }
        std::lock_guard lock(mutex_);
        if (!slots_[index].program.exchange(nullptr)) {
            return -ENOENT;
        }
        return 0;
    }

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        uint32_t index = load_u32(key);
        std::lock_guard lock(mutex_);
        if (index >= slots_.size() || !slots_[index].program.load()) {
            return -ENOENT;
        }
        std::memcpy(value, &slots_[index].id, sizeof(uint32_t));
        return 0;
    }
    long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) override
    {
        uint32_t index = load_u32(key);
        if (long err = check_slot_update(index, info().max_entries, flags)) {
            return err;
        }
        uint32_t id = load_u32(value);
        std::lock_guard lock(mutex_);
        const void *program = resolve_ ? resolve_(id) : nullptr;
        if (!program) {
            return -EINVAL;
        }
        slots_[index].id = id;
        slots_[index].program.store(program, std::memory_order_release);
        return 0;
    }
    long next(const uint8_t *key, uint8_t *next_key) override { return next_index(key, next_key, info().max_entries); }

private:
    struct Slot {
        std::atomic<const void *> program{nullptr};
        uint32_t id = 0;
    };
    std::vector<Slot> slots_;
    std::mutex mutex_;
    std::function<const void *(uint32_t)> resolve_;
};

/// Values are the kernel's struct bpf_devmap_val (ifindex first) or a bare u32 ifindex.
class DeviceMapImpl final : public DeviceMap {
public:
    explicit DeviceMapImpl(const MapInfo &info)
        : DeviceMap(info), present_(info.max_entries), values_(info.max_entries * round_up8(info.value_size))
    {
    }

    std::optional<uint32_t> ifindex(uint32_t index) const override
    {
        if (index >= present_.size() || !present_[index].load(std::memory_order_acquire)) {
            return std::nullopt;
        }
        return load_u32(value_at(index));
    }

    void *lookup_elem(const void *key) override
    {
        uint32_t index = load_u32(key);
        return ifindex(index) ? value_at(index) : nullptr;
    }
    long update_elem(const void *, const void *, uint64_t) override { return -EINVAL; } // control plane only
    long delete_elem(const void *key) override
    {
        uint32_t index = load_u32(key);
        if (index >= present_.size()) {
            return -E2BIG;
        }
        return present_[index].exchange(false) ? 0 : -ENOENT;
    }

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        uint32_t index = load_u32(key);
        if (!ifindex(index)) {
            return -ENOENT;
        }
        std::lock_guard lock(mutex_);
        std::memcpy(value, value_at(index), info().value_size);
        return 0;
    }
    long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) override
    {
        uint32_t index = load_u32(key);
        if (long err = check_slot_update(index, info().max_entries, flags)) {
            return err;
        }
        std::lock_guard lock(mutex_);
        present_[index].store(false, std::memory_order_release);
        std::memcpy(value_at(index), value, info().value_size);
        present_[index].store(true, std::memory_order_release);
        return 0;
    }
    long next(const uint8_t *key, uint8_t *next_key) override { return next_index(key, next_key, info().max_entries); }

private:
    std::vector<std::atomic<bool>> present_;
    mutable std::vector<uint8_t> values_;
    std::mutex mutex_;

    uint8_t *value_at(uint32_t index) const { return values_.data() + index * round_up8(info().value_size); }
};

} // namespace

std::unique_ptr<HostMap> make_program_array(const MapInfo &info)
{
    return std::make_unique<ProgramArrayMap>(info);
}

std::unique_ptr<HostMap> make_device_map(const MapInfo &info)
{
    return std::make_unique<DeviceMapImpl>(info);
}

} // namespace harmony::maps
