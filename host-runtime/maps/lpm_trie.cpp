// BPF_MAP_TYPE_LPM_TRIE: keys are {u32 prefixlen; u8 data[]} and a lookup returns the
// entry with the longest prefix that matches the key's first `prefixlen` bits, as the
// kernel's trie does. Stored as one exact-match table per prefix length, probed from the
// longest length down: simple, and fast for the few distinct lengths real tables have.
//
// Lookups take no lock (read-copy-update, see grace_period.hpp): the index and its nodes
// are immutable once published. A writer (one at a time) copies the index with the one
// changed table, publishes it, waits out a grace period and only then frees the old index
// and returns a replaced or deleted node to the pool. An update of an existing key
// replaces its node, as the kernel's trie does, so readers never see a value half-written.
#include "grace_period.hpp"
#include "map_types.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace harmony::maps {
namespace {

constexpr size_t kPrefixBytes = sizeof(uint32_t);

using Table = std::unordered_map<std::string_view, uint8_t *>; // masked prefix bytes -> node

/// One published version: a table per prefix length, longest first. Tables unchanged by an
/// update are shared with the previous version.
struct Index {
    std::map<uint32_t, std::shared_ptr<const Table>, std::greater<>> tables;
};

class LpmTrie final : public HostMap {
public:
    // One node beyond max_entries: an update of a full trie's key needs the replacement
    // before the replaced node can go back to the pool.
    explicit LpmTrie(const MapInfo &info)
        : HostMap(info), data_size_(info.key_size - kPrefixBytes), value_offset_(round_up8(info.key_size)),
          pool_(value_offset_ + info.value_size, info.max_entries + size_t(1)), current_(std::make_unique<Index>())
    {
        published_.store(current_.get());
    }

    void *lookup_elem(const void *key) override
    {
        ReadSection section(grace_);
        uint8_t *node = longest_match(*published_.load(), static_cast<const uint8_t *>(key));
        return node ? node + value_offset_ : nullptr;
    }

    long update_elem(const void *key, const void *value, uint64_t flags) override
    {
        return copy_in(static_cast<const uint8_t *>(key), static_cast<const uint8_t *>(value), flags);
    }

    long delete_elem(const void *raw_key) override
    {
        auto key = static_cast<const uint8_t *>(raw_key);
        uint32_t length = prefix_length(key);
        if (length > max_bits()) {
            return -EINVAL;
        }
        std::lock_guard lock(writer_);
        uint8_t masked[4 + 256];
        std::string_view wanted = masked_key(key, length, masked);
        uint8_t *node = find(length, wanted);
        if (!node) {
            return -ENOENT;
        }
        Table table = *current_->tables.at(length);
        table.erase(wanted);
        publish(length, std::move(table));
        count_--;
        pool_.release(node);
        return 0;
    }

protected:
    long copy_out(const uint8_t *key, uint8_t *value) override
    {
        ReadSection section(grace_);
        uint8_t *node = longest_match(*published_.load(), key);
        if (!node) {
            return -ENOENT;
        }
        std::memcpy(value, node + value_offset_, info().value_size);
        return 0;
    }

    long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) override
    {
        uint32_t length = prefix_length(key);
        if (!valid_update_flags(flags) || length > max_bits()) {
            return -EINVAL;
        }
        std::lock_guard lock(writer_);
        uint8_t masked[4 + 256];
        std::string_view wanted = masked_key(key, length, masked);
        uint8_t *replaced = find(length, wanted);
        if (replaced ? flags == BPF_NOEXIST : flags == BPF_EXIST) {
            return replaced ? -EEXIST : -ENOENT;
        }
        if (!replaced && count_ >= info().max_entries) {
            return -ENOSPC; // a full trie says -ENOSPC
        }
        uint8_t *node = pool_.allocate();
        if (!node) {
            return -ENOMEM;
        }
        std::memcpy(node, key, kPrefixBytes);
        std::memcpy(node + kPrefixBytes, wanted.data(), wanted.size());
        std::memcpy(node + value_offset_, value, info().value_size);
        auto old = current_->tables.find(length);
        Table table = old == current_->tables.end() ? Table{} : *old->second;
        table.erase(wanted);
        table.emplace(std::string_view(reinterpret_cast<const char *>(node) + kPrefixBytes, wanted.size()), node);
        publish(length, std::move(table));
        if (replaced) {
            pool_.release(replaced);
        } else {
            count_++;
        }
        return 0;
    }

    /// Order: longest prefixes first, then by data bytes; an unknown key starts over.
    long next(const uint8_t *key, uint8_t *next_key) override
    {
        std::lock_guard lock(writer_);
        std::vector<uint8_t *> nodes;
        for (auto &[length, table] : current_->tables) {
            std::vector<uint8_t *> level;
            for (auto &[data, node] : *table) {
                level.push_back(node);
            }
            std::ranges::sort(level, [&](uint8_t *a, uint8_t *b) {
                return std::memcmp(a + kPrefixBytes, b + kPrefixBytes, data_size_) < 0;
            });
            nodes.insert(nodes.end(), level.begin(), level.end());
        }
        size_t at = 0;
        if (key) {
            uint8_t masked[4 + 256];
            uint32_t length = std::min(prefix_length(key), max_bits());
            std::memcpy(masked, key, kPrefixBytes);
            std::string_view data = masked_key(key, length, masked + kPrefixBytes);
            auto same = [&](uint8_t *node) {
                return prefix_length(node) == prefix_length(key) &&
                       std::string_view(reinterpret_cast<const char *>(node) + kPrefixBytes, data.size()) == data;
            };
            auto it = std::ranges::find_if(nodes, same);
            at = it == nodes.end() ? 0 : static_cast<size_t>(it - nodes.begin()) + 1;
        }
        if (at >= nodes.size()) {
            return -ENOENT;
        }
        std::memset(next_key, 0, info().key_size);
        std::memcpy(next_key, nodes[at], kPrefixBytes + (prefix_length(nodes[at]) + 7) / 8);
        return 0;
    }

private:
    size_t data_size_;
    size_t value_offset_;
    ElementPool pool_;
    GracePeriod grace_;
    std::mutex writer_;                   // writers one at a time; readers never take it
    std::unique_ptr<Index> current_;      // the writer's view: what published_ points to
    std::atomic<const Index *> published_; // the readers' view
    size_t count_ = 0;

    uint32_t max_bits() const { return static_cast<uint32_t>(data_size_ * 8); }
    static uint32_t prefix_length(const uint8_t *key)
    {
        uint32_t length;
        std::memcpy(&length, key, sizeof(length));
        return length;
    }

    /// The first `length` bits of the key's data, the rest of the last byte cleared.
    static std::string_view masked_key(const uint8_t *key, uint32_t length, uint8_t *out)
    {
        size_t bytes = (length + 7) / 8;
        std::memcpy(out, key + kPrefixBytes, bytes);
        if (length % 8) {
            out[bytes - 1] &= static_cast<uint8_t>(0xff00 >> (length % 8));
        }
        return {reinterpret_cast<const char *>(out), bytes};
    }

    uint8_t *longest_match(const Index &index, const uint8_t *key) const
    {
        uint32_t limit = std::min(prefix_length(key), max_bits());
        uint8_t masked[256];
        for (const auto &[length, table] : index.tables) {
            if (length > limit) {
                continue;
            }
            if (auto it = table->find(masked_key(key, length, masked)); it != table->end()) {
                return it->second;
            }
        }
        return nullptr;
    }

    /// The node stored for exactly this prefix, in the writer's view.
    uint8_t *find(uint32_t length, std::string_view masked) const
    {
        auto table = current_->tables.find(length);
        if (table == current_->tables.end()) {
            return nullptr;
        }
        auto it = table->second->find(masked);
        return it == table->second->end() ? nullptr : it->second;
    }

    /// Publishes a version with `table` as the tables for `length` (none if empty), then
    /// waits until no reader can still be in the old one, which it frees.
    void publish(uint32_t length, Table table)
    {
        auto next = std::make_unique<Index>(*current_);
        if (table.empty()) {
            next->tables.erase(length);
        } else {
            next->tables[length] = std::make_shared<const Table>(std::move(table));
        }
        published_.store(next.get());
        grace_.synchronize();
        current_ = std::move(next);
    }
};

} // namespace

std::unique_ptr<HostMap> make_lpm_trie(const MapInfo &info)
{
    return std::make_unique<LpmTrie>(info);
}

} // namespace harmony::maps
