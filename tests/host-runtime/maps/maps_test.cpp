// Map semantics against the kernel's: flags, errno values, per-CPU layout, LRU eviction,
// longest-prefix match, iteration.
#include "host-runtime/maps/maps.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <array>
#include <cstring>
#include <set>

using namespace harmony;

namespace {

std::unique_ptr<maps::HostMap> make(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                    uint32_t flags = 0)
{
    auto map = maps::create_map(MapInfo{"test", type, key_size, value_size, max_entries, flags});
    INFO((map ? std::string() : map.error().message()));
    REQUIRE(map);
    return std::move(*map);
}

template <typename T>
Bytes bytes(T v)
{
    Bytes b(sizeof(T));
    std::memcpy(b.data(), &v, sizeof(T));
    return b;
}

template <typename T>
T value_of(const Bytes &b)
{
    T v;
    REQUIRE(b.size() >= sizeof(T));
    std::memcpy(&v, b.data(), sizeof(T));
    return v;
}

/// The errno text an operation failed with, e.g. "-EEXIST".
std::string err(const Result<void> &r)
{
    REQUIRE_FALSE(r);
    return r.error().why.substr(0, r.error().why.find(' '));
}

} // namespace

TEST_CASE("hash map follows BPF_ANY, BPF_NOEXIST and BPF_EXIST", "[maps]")
{
    auto map = make(BPF_MAP_TYPE_HASH, 4, 8, 2);
    CHECK(err(map->update(bytes(1u), bytes(10ull), BPF_EXIST)) == "-ENOENT");
    REQUIRE(map->update(bytes(1u), bytes(10ull), BPF_NOEXIST));
    CHECK(err(map->update(bytes(1u), bytes(11ull), BPF_NOEXIST)) == "-EEXIST");
    REQUIRE(map->update(bytes(1u), bytes(12ull), BPF_EXIST));
    CHECK(value_of<uint64_t>(*map->lookup(bytes(1u))) == 12);
    REQUIRE(map->update(bytes(2u), bytes(20ull), BPF_ANY));
    CHECK(err(map->update(bytes(3u), bytes(30ull), BPF_ANY)) == "-E2BIG"); // full
    CHECK(err(map->update(bytes(1u), bytes(1ull), 4 /* BPF_F_LOCK */)) == "-EINVAL");
    CHECK_FALSE(map->lookup(bytes(3u)));
    REQUIRE(map->erase(bytes(1u)));
    CHECK(err(map->erase(bytes(1u))) == "-ENOENT");
    REQUIRE(map->update(bytes(3u), bytes(30ull), BPF_ANY)); // room again

    uint32_t key = 3;
    auto *value = static_cast<uint64_t *>(map->lookup_elem(&key));
    REQUIRE(value);
    *value = 33; // the helper's pointer writes the map's value
    CHECK(value_of<uint64_t>(*map->lookup(bytes(3u))) == 33);
    CHECK_FALSE(map->update(Bytes{1, 2}, bytes(1ull), BPF_ANY)); // wrong key size
}

TEST_CASE("next_key walks every key once, starting over on an unknown key", "[maps]")
{
    auto type = GENERATE(BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_ARRAY);
    auto map = make(type, 4, 8, 16);
    for (uint32_t k = 0; k < 16; k++) {
        REQUIRE(map->update(bytes(k), bytes(uint64_t(k)), BPF_ANY));
    }
    std::set<uint32_t> seen;
    std::optional<Bytes> key;
    for (;;) {
        auto next = map->next_key(key ? std::optional<ByteView>(*key) : std::nullopt);
        REQUIRE(next);
        if (!*next) {
            break;
        }
        CHECK(seen.insert(value_of<uint32_t>(**next)).second);
        key = *next;
    }
    CHECK(seen.size() == 16);
    auto restart = map->next_key(bytes(1000u));
    REQUIRE(restart);
    CHECK(restart->has_value());
}

TEST_CASE("array map: fixed entries, bounds and no delete", "[maps]")
{
    auto map = make(BPF_MAP_TYPE_ARRAY, 4, 4, 4);
    CHECK(value_of<uint32_t>(*map->lookup(bytes(3u))) == 0);
    CHECK(err(map->update(bytes(4u), bytes(1u), BPF_ANY)) == "-E2BIG");
    CHECK(err(map->update(bytes(0u), bytes(1u), BPF_NOEXIST)) == "-EEXIST");
    CHECK(err(map->erase(bytes(0u))) == "-EINVAL");
    CHECK_FALSE(map->lookup(bytes(4u)));
    CHECK(maps::create_map(MapInfo{"bad", BPF_MAP_TYPE_ARRAY, 8, 4, 4, 0}).error().why.starts_with("-EINVAL"));
}

TEST_CASE("per-CPU maps hold one 8-byte-aligned value per CPU", "[maps]")
{
    uint32_t cpus = maps::possible_cpus();
    auto type = GENERATE(BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    auto map = make(type, 4, 4, 4);
    CHECK(map->control_value_size() == 8 * cpus);
    Bytes all(8 * cpus, 0);
    for (uint32_t cpu = 0; cpu < cpus; cpu++) {
        all[cpu * 8] = static_cast<uint8_t>(cpu + 1);
    }
    REQUIRE(map->update(bytes(1u), all, BPF_ANY));
    uint32_t key = 1;
    auto *mine = static_cast<uint32_t *>(map->lookup_elem(&key));
    REQUIRE(mine);
    CHECK(*mine == maps::current_cpu() + 1); // the helper sees this CPU's value
    *mine = 100;
    auto back = map->lookup(bytes(1u));
    REQUIRE(back);
    CHECK(value_of<uint32_t>(Bytes(back->begin() + 8 * maps::current_cpu(), back->end())) == 100);
}

TEST_CASE("LRU hash evicts the least recently used entry when full", "[maps]")
{
    auto map = make(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4);
    for (uint32_t k = 0; k < 4; k++) {
        REQUIRE(map->update(bytes(k), bytes(uint64_t(k)), BPF_ANY));
    }
    uint32_t oldest = 0;
    REQUIRE(map->lookup_elem(&oldest)); // 0 is used again: 1 is now the least recent
    REQUIRE(map->update(bytes(4u), bytes(4ull), BPF_ANY));
    CHECK(map->lookup(bytes(0u)));
    CHECK_FALSE(map->lookup(bytes(1u)));
    CHECK(map->lookup(bytes(4u)));
    REQUIRE(map->update(bytes(5u), bytes(5ull), BPF_ANY));
    CHECK_FALSE(map->lookup(bytes(2u)));
}

namespace {

Bytes lpm_key(uint32_t prefix, std::initializer_list<uint8_t> data)
{
    Bytes key(4 + 4, 0);
    std::memcpy(key.data(), &prefix, 4);
    std::copy(data.begin(), data.end(), key.begin() + 4);
    return key;
}

} // namespace

TEST_CASE("LPM trie returns the longest matching prefix", "[maps]")
{
    CHECK_FALSE(maps::create_map(MapInfo{"lpm", BPF_MAP_TYPE_LPM_TRIE, 8, 4, 8, 0})); // needs NO_PREALLOC
    auto map = make(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 3, BPF_F_NO_PREALLOC);
    REQUIRE(map->update(lpm_key(8, {10}), bytes(8u), BPF_ANY));
    REQUIRE(map->update(lpm_key(16, {10, 1}), bytes(16u), BPF_ANY));
    REQUIRE(map->update(lpm_key(24, {10, 1, 2, 99 /* beyond the prefix: ignored */}), bytes(24u), BPF_ANY));
    CHECK(err(map->update(lpm_key(32, {1, 2, 3, 4}), bytes(0u), BPF_ANY)) == "-ENOSPC");
    CHECK(err(map->update(lpm_key(33, {1, 2, 3, 4}), bytes(0u), BPF_ANY)) == "-EINVAL");
    CHECK(err(map->update(lpm_key(16, {10, 1}), bytes(0u), BPF_NOEXIST)) == "-EEXIST");
    // Updating a key of a full trie replaces its node: it must still find room.
    REQUIRE(map->update(lpm_key(16, {10, 1}), bytes(17u), BPF_EXIST));
    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(32, {10, 1, 3, 3}))) == 17);
    REQUIRE(map->update(lpm_key(16, {10, 1}), bytes(16u), BPF_ANY));
    CHECK(err(map->update(lpm_key(8, {11}), bytes(0u), BPF_EXIST)) == "-ENOENT");

    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(32, {10, 1, 2, 3}))) == 24);
    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(32, {10, 1, 3, 3}))) == 16);
    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(32, {10, 9, 9, 9}))) == 8);
    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(20, {10, 1, 2, 3}))) == 16); // key's own prefix limits the match
    CHECK_FALSE(map->lookup(lpm_key(32, {11, 1, 2, 3})));

    Bytes probe = lpm_key(32, {10, 1, 2, 200});
    auto *value = static_cast<uint32_t *>(map->lookup_elem(probe.data()));
    REQUIRE(value);
    CHECK(*value == 24);

    REQUIRE(map->erase(lpm_key(24, {10, 1, 2})));
    CHECK(err(map->erase(lpm_key(24, {10, 1, 2}))) == "-ENOENT");
    CHECK(value_of<uint32_t>(*map->lookup(lpm_key(32, {10, 1, 2, 3}))) == 16);

    size_t keys = 0;
    std::optional<Bytes> key;
    while (auto next = map->next_key(key ? std::optional<ByteView>(*key) : std::nullopt)) {
        if (!*next) {
            break;
        }
        keys++;
        key = *next;
    }
    CHECK(keys == 2);
}

TEST_CASE("unsupported and malformed maps are refused with the reason", "[maps]")
{
    auto stack = maps::create_map(MapInfo{"s", BPF_MAP_TYPE_STACK, 0, 4, 4, 0});
    REQUIRE_FALSE(stack);
    CHECK_THAT(stack.error().which, Catch::Contains("map 's'"));
    auto empty = maps::create_map(MapInfo{"e", BPF_MAP_TYPE_HASH, 4, 4, 0, 0});
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error().why, Catch::Contains("max_entries"));
    auto ring = maps::create_map(MapInfo{"r", BPF_MAP_TYPE_RINGBUF, 0, 0, 5000, 0});
    REQUIRE_FALSE(ring);
    CHECK_THAT(ring.error().why, Catch::Contains("power of 2"));
    auto wide = maps::create_map(MapInfo{"w", BPF_MAP_TYPE_LRU_HASH, 513, 4, 4, 0}); // keys live on the BPF stack
    REQUIRE_FALSE(wide);
    CHECK_THAT(wide.error().why, Catch::Contains("at most 512 bytes"));
    CHECK(maps::create_map(MapInfo{"k", BPF_MAP_TYPE_HASH, 512, 4, 4, 0}));
}

// The lock-free lookup path: many keys (so chains form in the buckets), deletes in the
// middle of chains, reuse of freed elements, and a full walk with next_key afterwards.
TEST_CASE("hash map keeps every live key reachable through inserts, deletes and reuse", "[maps]")
{
    auto created = maps::create_map(MapInfo{"h", BPF_MAP_TYPE_HASH, 12, 8, 64, 0});
    REQUIRE(created);
    maps::HostMap &map = **created;
    auto key_of = [](uint64_t n) {
        std::array<uint8_t, 12> key{};
        std::memcpy(key.data() + 4, &n, sizeof n);
        return key;
    };
    for (uint64_t round = 0; round < 20; round++) {
        for (uint64_t n = 0; n < 64; n++) {
            uint64_t value = n * 1000 + round;
            REQUIRE(map.update_elem(key_of(n + round).data(), &value, BPF_ANY) == 0);
        }
        for (uint64_t n = 0; n < 64; n += 3) {
            REQUIRE(map.delete_elem(key_of(n + round).data()) == 0);
        }
        for (uint64_t n = 0; n < 64; n++) {
            auto *value = static_cast<uint64_t *>(map.lookup_elem(key_of(n + round).data()));
            if (n % 3 == 0) {
                CHECK(value == nullptr);
            } else {
                REQUIRE(value != nullptr);
                CHECK(*value == n * 1000 + round);
            }
        }
        size_t walked = 0;
        for (auto key = map.next_key(std::nullopt); key && *key; key = map.next_key(ByteView(**key))) {
            walked++;
        }
        CHECK(walked == 64 - 22);
        for (uint64_t n = 0; n < 64; n++) {
            map.delete_elem(key_of(n + round).data());
        }
    }
    uint64_t value = 1;
    CHECK(map.update_elem(key_of(1).data(), &value, BPF_EXIST) == -ENOENT);
}
