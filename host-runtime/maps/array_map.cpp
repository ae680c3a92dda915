// BPF_MAP_TYPE_ARRAY and PERCPU_ARRAY: preallocated, every index always present; values
// are updated in place (the kernel does the same, without locking, for arrays).
#include "map_types.hpp"

#include <linux/bpf.h>

namespace harmony::maps {
namespace {

class ArrayMap final : public HostMap {
public:
    ArrayMap(const MapInfo &info, bool per_cpu)
        : HostMap(info), cpus_(per_cpu ? possible_cpus() : 1), stride_(round_up8(info.value_size)),
          storage_(std::make_unique<uint64_t[]>(stride_ / 8 * cpus_ * info.max_entries))
    {
    }

    void *lookup_elem(const void *key) override
    {
        uint32_t index = load_index(key);
        return index < info().max_entries ? slot(index, cpus_ == 1 ? 0 : current_cpu()) : nullptr;
    }

    long update_elem(const void *key, const void *value, uint64_t flags) override
    {
        uint32_t index = load_index(key);
        if (long err = check_update(index, flags)) {
            return err;
        }
        std::memcpy(slot(index, cpus_ == 1 ? 0 : current_cpu()), value, info().value_size);
        return 0;
    }

    long delete_elem(const void *) override { return -EINVAL; } // array elements cannot be deleted

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        uint32_t index = load_index(key);
        if (index >= info().max_entries) {
            return -ENOENT;
        }
        for (uint32_t cpu = 0; cpu < cpus_; cpu++) {
            std::memcpy(value + cpu * control_stride(), slot(index, cpu), info().value_size);
        }
        return 0;
    }

    long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) override
    {
        uint32_t index = load_index(key);
        if (long err = check_update(index, flags)) {
            return err;
        }
        for (uint32_t cpu = 0; cpu < cpus_; cpu++) {
            std::memcpy(slot(index, cpu), value + cpu * control_stride(), info().value_size);
        }
        return 0;
    }

    long next(const uint8_t *key, uint8_t *next_key) override
    {
        uint32_t index = key ? load_index(key) : UINT32_MAX;
        uint32_t following = index >= info().max_entries ? 0 : index + 1;
        if (following >= info().max_entries) {
            return -ENOENT;
        }
        std::memcpy(next_key, &following, sizeof(following));
        return 0;
    }

private:
    uint32_t cpus_;
    uint64_t stride_;
    std::unique_ptr<uint64_t[]> storage_;

    static uint32_t load_index(const void *key)
    {
        uint32_t index;
        std::memcpy(&index, key, sizeof(index));
        return index;
    }

    uint8_t *slot(uint32_t index, uint32_t cpu)
    {
        return reinterpret_cast<uint8_t *>(storage_.get()) + (uint64_t(index) * cpus_ + cpu) * stride_;
    }

    uint64_t control_stride() const { return cpus_ == 1 ? info().value_size : stride_; }

    long check_update(uint32_t index, uint64_t flags) const
    {
        if (!valid_update_flags(flags)) {
            return -EINVAL;
        }
        if (index >= info().max_entries) {
            return -E2BIG;
        }
        return flags == BPF_NOEXIST ? -EEXIST : 0; // every index exists
    }
};

} // namespace

std::unique_ptr<HostMap> make_array(const MapInfo &info, bool per_cpu)
{
    return std::make_unique<ArrayMap>(info, per_cpu);
}

} // namespace harmony::maps
