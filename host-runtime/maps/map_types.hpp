// Constructors of each map type, called by create_map once the sizes are valid, and the
// small pieces they share. Internal to maps/.
#pragma once

#include "maps.hpp"

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

namespace harmony::maps {

std::unique_ptr<HostMap> make_array(const MapInfo &info, bool per_cpu);
std::unique_ptr<HostMap> make_hash(const MapInfo &info, bool per_cpu, bool lru);
std::unique_ptr<HostMap> make_lpm_trie(const MapInfo &info);
Result<std::unique_ptr<HostMap>> make_ring_buffer(const MapInfo &info);
std::unique_ptr<HostMap> make_program_array(const MapInfo &info);
std::unique_ptr<HostMap> make_device_map(const MapInfo &info);

/// The kernel's MAX_BPF_STACK: programs build hash keys on their stack.
inline constexpr uint32_t kMaxHashKeySize = 512;

inline constexpr uint64_t round_up8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

/// BPF_ANY, BPF_NOEXIST, BPF_EXIST; anything else (BPF_F_LOCK included) is -EINVAL.
bool valid_update_flags(uint64_t flags);

/// Fixed-size elements that are never returned to the system while the pool lives, so
/// pointers into them stay valid; freed elements are reused. Grows in chunks up to
/// `capacity` elements. Thread-safe.
class ElementPool {
public:
    ElementPool(size_t element_size, size_t capacity);
    /// Zeroed from byte `zero_from` on (the bytes before it are left for the caller, who
    /// may publish them with atomic stores); nullptr when `capacity` elements are in use.
    uint8_t *allocate(size_t zero_from = 0);
    void release(uint8_t *element);

private:
    size_t element_size_;
    size_t capacity_;
    size_t handed_out_ = 0;
    std::mutex mutex_;
    std::vector<std::unique_ptr<uint8_t[]>> chunks_;
    std::vector<uint8_t *> free_;
};

} // namespace harmony::maps
