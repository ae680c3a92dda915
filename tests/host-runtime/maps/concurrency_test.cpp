// Several packet threads and a control-plane thread on the same maps at once. Under
// ThreadSanitizer (-DHARMONY_TSAN=ON) any data race fails the run; without it the final
// counts still have to be exact.
#include "host-runtime/maps/maps.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <atomic>
#include <cstring>
#include <thread>

using namespace harmony;

namespace {

constexpr int kThreads = 4;
constexpr uint32_t kOpsPerThread = 20000;

std::unique_ptr<maps::HostMap> make(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                                    uint32_t flags = 0)
{
    auto map = maps::create_map(MapInfo{"shared", type, key_size, value_size, max_entries, flags});
    REQUIRE(map);
    return std::move(*map);
}

template <typename Body>
void in_threads(Body body)
{
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back(body, t);
    }
    for (auto &thread : threads) {
        thread.join();
    }
}

} // namespace

TEST_CASE("hash and LRU maps under concurrent updates, lookups and deletes", "[maps][concurrency]")
{
    auto type = GENERATE(BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH);
    auto map = make(type, 4, 8, 1024);
    std::atomic<uint64_t> failures{0};
    in_threads([&](int t) {
        // each thread owns keys t, t+4, ...: it alone writes their values, everyone churns the shared ones
        for (uint32_t i = 0; i < kOpsPerThread; i++) {
            uint32_t own = static_cast<uint32_t>(t) + kThreads * (i % 64);
            uint64_t value = i;
            if (map->update_elem(&own, &value, BPF_ANY) != 0) {
                failures++;
            }
            // the packet path's lock-free lookup: this thread's own value is exactly what it wrote
            auto *seen = static_cast<const uint64_t *>(map->lookup_elem(&own));
            if (!seen || __atomic_load_n(seen, __ATOMIC_RELAXED) != value) {
                failures++;
            }
            uint32_t shared = 10000 + i % 128;
            map->update_elem(&shared, &value, BPF_ANY);
            map->lookup_elem(&shared); // may or may not be there: must not crash or race
            map->lookup(Bytes{reinterpret_cast<uint8_t *>(&shared), reinterpret_cast<uint8_t *>(&shared) + 4});
            if (i % 3 == 0) {
                map->delete_elem(&shared);
            }
        }
        uint32_t own = static_cast<uint32_t>(t);
        auto value = map->lookup(Bytes{reinterpret_cast<uint8_t *>(&own), reinterpret_cast<uint8_t *>(&own) + 4});
        if (type == BPF_MAP_TYPE_HASH && !value) {
            failures++;
        }
    });
    CHECK(failures == 0);
}

TEST_CASE("LPM trie lookups while the control plane edits it", "[maps][concurrency]")
{
    auto map = make(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 256, BPF_F_NO_PREALLOC);
    auto key = [](uint32_t prefix, uint32_t data) {
        Bytes k(8);
        std::memcpy(k.data(), &prefix, 4);
        std::memcpy(k.data() + 4, &data, 4);
        return k;
    };
    REQUIRE(map->update(key(8, 10), Bytes{8, 0, 0, 0}, BPF_ANY)); // 10.0.0.0/8 always there
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> misses{0};
    std::thread editor([&] {
        for (uint32_t i = 0; !stop; i++) {
            map->update(key(24, 10 | ((i % 200) << 8)), Bytes{24, 0, 0, 0}, BPF_ANY);
            map->erase(key(24, 10 | (((i + 100) % 200) << 8)));
        }
    });
    in_threads([&](int t) {
        for (uint32_t i = 0; i < kOpsPerThread; i++) {
            Bytes probe = key(32, 10 | ((i % 256) << 8) | (uint32_t(t) << 24));
            auto value = map->lookup(probe);
            if (!value || ((*value)[0] != 8 && (*value)[0] != 24)) {
                misses++;
            }
        }
    });
    stop = true;
    editor.join();
    CHECK(misses == 0);
}

TEST_CASE("ring buffer with several producers and one consumer", "[maps][concurrency]")
{
    auto created = maps::create_map(MapInfo{"events", BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 16, 0});
    REQUIRE(created);
    auto *ring = dynamic_cast<maps::RingBuffer *>(created->get());
    std::atomic<int> producing{kThreads};
    std::atomic<uint64_t> produced{0};
    uint64_t consumed = 0, sum = 0;
    std::thread consumer([&] {
        while (producing > 0 || consumed < produced) {
            ring->consume([&](ByteView r) {
                uint64_t v;
                std::memcpy(&v, r.data(), 8);
                sum += v;
                consumed++;
            });
        }
    });
    in_threads([&](int) {
        for (uint64_t i = 1; i <= kOpsPerThread; i++) {
            void *record = nullptr;
            while (!(record = ring->reserve(8 + i % 24, 0))) {
                std::this_thread::yield(); // full: the consumer catches up
            }
            std::memcpy(record, &i, 8);
            maps::RingBuffer::owner(record)->submit(record, 0);
            produced++;
        }
        producing--;
    });
    consumer.join();
    CHECK(consumed == uint64_t(kThreads) * kOpsPerThread);
    CHECK(sum == uint64_t(kThreads) * kOpsPerThread * (kOpsPerThread + 1) / 2);
}
