// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH.
//
// Lookups from programs take no lock and allocate nothing: each bucket is a chain of pool
// elements linked by atomic words, which writers (one at a time, under the map's mutex)
// publish with release stores after filling the element. As in the kernel's preallocated
// hash maps, a deleted element's memory may be reused at once, so a reader walking it may
// land on another bucket's chain; every chain ends in a "nulls" marker naming its bucket
// (the kernel's hlist_nulls), and a reader that ends on another bucket's marker starts over.
// Elements live in a pool that is never freed while the map exists, so a stale pointer is
// still valid memory. Fields a reader may see while a writer changes them (links, hash, key
// words, the LRU reference bit) are only accessed with atomic operations.
//
// LRU eviction is the kernel's approximation: a lookup sets a reference bit, and eviction
// takes the least recently inserted element whose bit is clear, giving referenced ones a
// second chance at the head of the list.
#include "map_types.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <bit>

namespace harmony::maps {
namespace {

/// Element header; the key (as 8-byte words, zero-padded) and the values follow it.
struct Node {
    uintptr_t next;     ///< atomic: the next Node, or the chain's nulls marker
    uint64_t hash;      ///< atomic
    uint8_t referenced; ///< atomic: LRU second chance
    Node *lru_prev;     ///< under the mutex only
    Node *lru_next;
};
constexpr size_t kKeyOffset = round_up8(sizeof(Node));
constexpr size_t kMaxKeyWords = kMaxHashKeySize / 8;

uintptr_t load_acquire(const uintptr_t *link) { return __atomic_load_n(link, __ATOMIC_ACQUIRE); }
void store_release(uintptr_t *link, uintptr_t value) { __atomic_store_n(link, value, __ATOMIC_RELEASE); }
constexpr uintptr_t nulls_marker(size_t bucket) { return (uintptr_t(bucket) << 1) | 1; }
constexpr bool is_nulls(uintptr_t link) { return link & 1; }
Node *as_node(uintptr_t link) { return reinterpret_cast<Node *>(link); }

/// A key as the map compares it: zero-padded words and their hash.
struct Probe {
    uint64_t words[kMaxKeyWords];
    uint64_t hash;
};

class HashMap final : public HostMap {
public:
    HashMap(const MapInfo &info, bool per_cpu, bool lru)
        : HostMap(info), cpus_(per_cpu ? possible_cpus() : 1),
          stride_(per_cpu ? round_up8(info.value_size) : info.value_size), key_words_(round_up8(info.key_size) / 8),
          value_offset_(kKeyOffset + key_words_ * 8), lru_(lru),
          bucket_count_(std::bit_ceil(std::clamp<size_t>(info.max_entries, 16, size_t(1) << 22))),
          buckets_(std::make_unique<uintptr_t[]>(bucket_count_)),
          pool_(value_offset_ + stride_ * cpus_, info.max_entries)
    {
        for (size_t b = 0; b < bucket_count_; b++) {
            buckets_[b] = nulls_marker(b);
        }
    }

    void *lookup_elem(const void *key) override
    {
        Probe probe;
        make_probe(key, probe);
        Node *node = find(probe);
        if (!node) {
            return nullptr;
        }
        if (lru_ && !__atomic_load_n(&node->referenced, __ATOMIC_RELAXED)) {
            __atomic_store_n(&node->referenced, 1, __ATOMIC_RELAXED);
        }
        return value_of(node, cpus_ == 1 ? 0 : current_cpu());
    }

    long update_elem(const void *key, const void *value, uint64_t flags) override
    {
        return write(static_cast<const uint8_t *>(key), static_cast<const uint8_t *>(value), flags, false);
    }

    long delete_elem(const void *key) override
    {
        Probe probe;
        make_probe(key, probe);
        std::lock_guard lock(mutex_);
        Node *node = find(probe);
        if (!node) {
            return -ENOENT;
        }
        remove(node, probe.hash);
        pool_.release(reinterpret_cast<uint8_t *>(node));
        return 0;
    }

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        Probe probe;
        make_probe(key, probe);
        std::lock_guard lock(mutex_);
        Node *node = find(probe);
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

    /// Bucket order, then chain order; an unknown key starts over, as the kernel does.
    long next(const uint8_t *key, uint8_t *next_key) override
    {
        std::lock_guard lock(mutex_);
        size_t bucket = 0;
        if (key) {
            Probe probe;
            make_probe(key, probe);
            if (Node *node = find(probe)) {
                if (!is_nulls(node->next)) {
                    return copy_key(as_node(node->next), next_key);
                }
                bucket = bucket_of(probe.hash) + 1;
            }
        }
        for (; bucket < bucket_count_; bucket++) {
            if (!is_nulls(buckets_[bucket])) {
                return copy_key(as_node(buckets_[bucket]), next_key);
            }
        }
        return -ENOENT;
    }

private:
    uint32_t cpus_;
    uint64_t stride_;
    size_t key_words_;
    size_t value_offset_;
    bool lru_;
    size_t bucket_count_;
    std::unique_ptr<uintptr_t[]> buckets_; // atomic words: first Node or the bucket's nulls marker
    ElementPool pool_;
    std::mutex mutex_; // writers only
    size_t count_ = 0;
    Node *lru_head_ = nullptr;
    Node *lru_tail_ = nullptr;

    uint64_t *key_of(Node *node) const
    {
        return reinterpret_cast<uint64_t *>(reinterpret_cast<uint8_t *>(node) + kKeyOffset);
    }
    uint8_t *value_of(Node *node, uint32_t cpu) const
    {
        return reinterpret_cast<uint8_t *>(node) + value_offset_ + cpu * stride_;
    }
    size_t bucket_of(uint64_t hash) const { return (hash ^ (hash >> 32)) & (bucket_count_ - 1); }

    void make_probe(const void *key, Probe &probe) const
    {
        probe.words[key_words_ - 1] = 0;
        std::memcpy(probe.words, key, info().key_size);
        uint64_t hash = 0x9e3779b97f4a7c15ull ^ key_words_;
        for (size_t i = 0; i < key_words_; i++) {
            hash = (hash ^ probe.words[i]) * 0xff51afd7ed558ccdull;
            hash ^= hash >> 29;
        }
        probe.hash = hash;
    }

    bool matches(Node *node, const Probe &probe) const
    {
        if (__atomic_load_n(&node->hash, __ATOMIC_RELAXED) != probe.hash) {
            return false;
        }
        const uint64_t *words = key_of(node);
        for (size_t i = 0; i < key_words_; i++) {
            if (__atomic_load_n(&words[i], __ATOMIC_RELAXED) != probe.words[i]) {
                return false;
            }
        }
        return true;
    }

    /// Lock-free; writers call it under the mutex too, where no restart can happen.
    Node *find(const Probe &probe) const
    {
        const size_t bucket = bucket_of(probe.hash);
        for (;;) {
            uintptr_t link = load_acquire(&buckets_[bucket]);
            while (!is_nulls(link)) {
                Node *node = as_node(link);
                if (matches(node, probe)) {
                    return node;
                }
                link = load_acquire(&node->next);
            }
            if (link == nulls_marker(bucket)) {
                return nullptr;
            }
            // The chain led into another bucket (an element was reused under us): start over.
        }
    }

    long copy_key(Node *node, uint8_t *out) const
    {
        std::memcpy(out, key_of(node), info().key_size);
        return 0;
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
        Probe probe;
        make_probe(key, probe);
        std::lock_guard lock(mutex_);
        if (Node *node = find(probe)) {
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
        store_value(node, value, all_cpus);
        insert(node, probe);
        return 0;
    }

    /// Fills the header and key, then publishes the element at the head of its chain.
    void insert(Node *node, const Probe &probe)
    {
        uint64_t *words = key_of(node);
        for (size_t i = 0; i < key_words_; i++) {
            __atomic_store_n(&words[i], probe.words[i], __ATOMIC_RELAXED);
        }
        __atomic_store_n(&node->hash, probe.hash, __ATOMIC_RELAXED);
        __atomic_store_n(&node->referenced, 0, __ATOMIC_RELAXED);
        uintptr_t *head = &buckets_[bucket_of(probe.hash)];
        __atomic_store_n(&node->next, *head, __ATOMIC_RELAXED);
        store_release(head, reinterpret_cast<uintptr_t>(node));
        count_++;
        push_head(node);
    }

    /// Unlinks from the chain (the element's own link stays, for readers still on it) and
    /// from the LRU list.
    void remove(Node *node, uint64_t hash)
    {
        uintptr_t *link = &buckets_[bucket_of(hash)];
        while (as_node(*link) != node) {
            link = &as_node(*link)->next;
        }
        store_release(link, node->next);
        unlink(node);
        count_--;
    }

    Node *allocate()
    {
        if (count_ >= info().max_entries) {
            return lru_ ? evict() : nullptr;
        }
        return reinterpret_cast<Node *>(pool_.allocate(value_offset_));
    }

    /// Second chance from the tail; called with the mutex held.
    Node *evict()
    {
        for (size_t tries = 0; lru_tail_ && tries <= count_; tries++) {
            Node *candidate = lru_tail_;
            if (__atomic_exchange_n(&candidate->referenced, 0, __ATOMIC_RELAXED)) {
                unlink(candidate);
                push_head(candidate);
                continue;
            }
            remove(candidate, candidate->hash);
            std::memset(value_of(candidate, 0), 0, stride_ * cpus_);
            return candidate;
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
