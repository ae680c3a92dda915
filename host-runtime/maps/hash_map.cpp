// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH. One reader-writer lock per
// map (lookups share it); elements come from a pool so value pointers stay valid memory.
// LRU eviction is the kernel's approximation: a lookup sets a reference bit, and eviction
// takes the least recently inserted element whose bit is clear, giving referenced ones a
// second chance at the head of the list.
#include "map_types.hpp"

#include <linux/bpf.h>

#include <shared_mutex>
#include <string_view>
#include <unordered_map>

namespace harmony::maps {
namespace {

struct Node {
    Node *lru_prev = nullptr;
    Node *lru_next = nullptr;
    std::atomic<uint8_t> referenced{0};
};
constexpr size_t kKeyOffset = round_up8(sizeof(Node));

class HashMap final : public HostMap {
public:
    HashMap(const MapInfo &info, bool per_cpu, bool lru)
        : HostMap(info), cpus_(per_cpu ? possible_cpus() : 1), stride_(per_cpu ? round_up8(info.value_size)
                                                                               : info.value_size),
          value_offset_(kKeyOffset + round_up8(info.key_size)), lru_(lru),
          pool_(value_offset_ + stride_ * cpus_, info.max_entries)
    {
        index_.reserve(std::min<uint32_t>(info.max_entries, 1u << 16));
    }

    void *lookup_elem(const void *key) override
    {
        std::shared_lock lock(mutex_);
        Node *node = find(key);
        if (!node) {
            return nullptr;
        }
        if (lru_) {
            node->referenced.store(1, std::memory_order_relaxed);
        }
        return value_of(node, cpus_ == 1 ? 0 : current_cpu());
    }

    long update_elem(const void *key, const void *value, uint64_t flags) override
    {
        return write(static_cast<const uint8_t *>(key), static_cast<const uint8_t *>(value), flags, false);
    }

    long delete_elem(const void *key) override
    {
        std::unique_lock lock(mutex_);
        Node *node = find(key);
        if (!node) {
            return -ENOENT;
        }
        index_.erase(key_view(node));
        unlink(node);
        node->~Node();
        pool_.release(reinterpret_cast<uint8_t *>(node));
        return 0;
    }

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        std::shared_lock lock(mutex_);
        Node *node = find(key);
        if (!node) {
            return -ENOENT;
        }
        for (uint32_t cpu = 0; cpu < cpus_; cpu++) {
            std::memcpy(value + cpu * stride_, value_of(node, cpu), info().value_size);
        }
        return 0;
    }

    long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) override
    {
        return write(key, value, flags, true);
    }

    long next(const uint8_t *key, uint8_t *next_key) override
    {
        std::shared_lock lock(mutex_);
        auto it = index_.end();
        if (key) {
            it = index_.find(std::string_view(reinterpret_cast<const char *>(key), info().key_size));
        }
        it = it == index_.end() ? index_.begin() : std::next(it); // unknown key: start over, as the kernel
        if (it == index_.end()) {
            return -ENOENT;
        }
        std::memcpy(next_key, it->first.data(), info().key_size);
        return 0;
    }

private:
    uint32_t cpus_;
    uint64_t stride_;
    size_t value_offset_;
    bool lru_;
    ElementPool pool_;
    std::shared_mutex mutex_;
    std::unordered_map<std::string_view, Node *> index_; // keys view into the nodes
    Node *lru_head_ = nullptr;
    Node *lru_tail_ = nullptr;

    std::string_view key_view(Node *node) const
    {
        return {reinterpret_cast<const char *>(node) + kKeyOffset, info().key_size};
    }
    uint8_t *value_of(Node *node, uint32_t cpu) const
    {
        return reinterpret_cast<uint8_t *>(node) + value_offset_ + cpu * stride_;
    }
    Node *find(const void *key) const
    {
        auto it = index_.find(std::string_view(static_cast<const char *>(key), info().key_size));
        return it == index_.end() ? nullptr : it->second;
    }

    /// Program updates of per-CPU maps write this CPU's value; the control plane writes all.
    void store_value(Node *node, const uint8_t *value, bool all_cpus)
    {
        if (cpus_ == 1) {
            std::memcpy(value_of(node, 0), value, info().value_size);
        } else if (!all_cpus) {
            std::memcpy(value_of(node, current_cpu()), value, info().value_size);
        } else {
            for (uint32_t cpu = 0; cpu < cpus_; cpu++) {
                std::memcpy(value_of(node, cpu), value + cpu * stride_, info().value_size);
            }
        }
    }

    long write(const uint8_t *key, const uint8_t *value, uint64_t flags, bool all_cpus)
    {
        if (!valid_update_flags(flags)) {
            return -EINVAL;
        }
        std::unique_lock lock(mutex_);
        if (Node *node = find(key)) {
            if (flags == BPF_NOEXIST) {
                return -EEXIST;
            }
            store_value(node, value, all_cpus);
            touch(node);
            return 0;
        }
        if (flags == BPF_EXIST) {
            return -ENOENT;
        }
        Node *node = allocate();
        if (!node) {
            return lru_ ? -ENOMEM : -E2BIG;
        }
        std::memcpy(reinterpret_cast<uint8_t *>(node) + kKeyOffset, key, info().key_size);
        store_value(node, value, all_cpus);
        index_.emplace(key_view(node), node);
        push_head(node);
        return 0;
    }

    Node *allocate()
    {
        if (index_.size() >= info().max_entries) {
            return lru_ ? evict() : nullptr;
        }
        uint8_t *memory = pool_.allocate();
        return memory ? new (memory) Node : nullptr;
    }

    /// Second chance from the tail; called with the lock held exclusively.
    Node *evict()
    {
        for (size_t tries = 0; lru_tail_ && tries <= index_.size(); tries++) {
            Node *candidate = lru_tail_;
            if (candidate->referenced.exchange(0, std::memory_order_relaxed)) {
                unlink(candidate);
                push_head(candidate);
                continue;
            }
            index_.erase(key_view(candidate));
            unlink(candidate);
            uint8_t *memory = reinterpret_cast<uint8_t *>(candidate);
            candidate->~Node();
            std::memset(memory, 0, value_offset_ + stride_ * cpus_);
            return new (memory) Node;
        }
        return nullptr;
    }

    void touch(Node *node)
    {
        if (lru_) {
            unlink(node);
            push_head(node);
        }
    }
    void push_head(Node *node)
    {
        if (!lru_) {
            return;
        }
        node->lru_prev = nullptr;
        node->lru_next = lru_head_;
        (lru_head_ ? lru_head_->lru_prev : lru_tail_) = node;
        lru_head_ = node;
    }
    void unlink(Node *node)
    {
        if (!lru_) {
            return;
        }
        (node->lru_prev ? node->lru_prev->lru_next : lru_head_) = node->lru_next;
        (node->lru_next ? node->lru_next->lru_prev : lru_tail_) = node->lru_prev;
        node->lru_prev = node->lru_next = nullptr;
    }
};

} // namespace

std::unique_ptr<HostMap> make_hash(const MapInfo &info, bool per_cpu, bool lru)
{
    return std::make_unique<HashMap>(info, per_cpu, lru);
}

} // namespace harmony::maps
