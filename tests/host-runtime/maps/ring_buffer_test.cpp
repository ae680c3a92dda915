// The ring buffer: records in submission order, discards skipped, a busy record holding
// back later ones, wrap-around, no room -> NULL, as the kernel's.
#include "host-runtime/maps/maps.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cstring>

using namespace harmony;

namespace {

std::unique_ptr<maps::RingBuffer> make_ring(uint32_t size)
{
    auto map = maps::create_map(MapInfo{"events", BPF_MAP_TYPE_RINGBUF, 0, 0, size, 0});
    REQUIRE(map);
    auto *ring = dynamic_cast<maps::RingBuffer *>(map->get());
    REQUIRE(ring);
    map->release();
    return std::unique_ptr<maps::RingBuffer>(ring);
}

std::vector<std::string> drain(maps::RingBuffer &ring)
{
    std::vector<std::string> out;
    ring.consume([&](ByteView r) { out.emplace_back(reinterpret_cast<const char *>(r.data()), r.size()); });
    return out;
}

void *put(maps::RingBuffer &ring, const std::string &text)
{
    void *record = ring.reserve(text.size(), 0);
    REQUIRE(record);
    std::memcpy(record, text.data(), text.size());
    return record;
}

} // namespace

// Helpers find a map's type interface from info().type, not RTTI; a map of another type
// must never pass for a ring buffer, a program array or a device map.
TEST_CASE("typed map views match the map type only", "[maps][ringbuf]")
{
    auto ring = maps::create_map(MapInfo{"events", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0});
    auto array = maps::create_map(MapInfo{"values", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0});
    auto programs = maps::create_map(MapInfo{"jumps", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0});
    auto devices = maps::create_map(MapInfo{"ports", BPF_MAP_TYPE_DEVMAP, 4, 4, 4, 0});
    REQUIRE((ring && array && programs && devices));
    CHECK(maps::as_ring_buffer(ring->get()) == dynamic_cast<maps::RingBuffer *>(ring->get()));
    CHECK(maps::as_ring_buffer(ring->get()) != nullptr);
    CHECK(maps::as_ring_buffer(array->get()) == nullptr);
    CHECK(maps::as_program_array(programs->get()) == dynamic_cast<maps::ProgramArray *>(programs->get()));
    CHECK(maps::as_program_array(programs->get()) != nullptr);
    CHECK(maps::as_program_array(devices->get()) == nullptr);
    CHECK(maps::as_device_map(devices->get()) == dynamic_cast<maps::DeviceMap *>(devices->get()));
    CHECK(maps::as_device_map(devices->get()) != nullptr);
    CHECK(maps::as_device_map(ring->get()) == nullptr);
    CHECK(maps::as_ring_buffer(nullptr) == nullptr);
}

TEST_CASE("ring buffer hands out committed records in order", "[maps][ringbuf]")
{
    auto ring = make_ring(4096);
    void *a = put(*ring, "first");
    void *b = put(*ring, "second");
    void *c = put(*ring, "third");
    CHECK(maps::RingBuffer::owner(a) == ring.get());
    ring->submit(c, 0);
    CHECK(drain(*ring).empty()); // "first" is still being written
    ring->discard(b, 0);
    ring->submit(a, 0);
    CHECK(drain(*ring) == std::vector<std::string>{"first", "third"});
    REQUIRE(ring->output("out", 3, 0) == 0);
    CHECK(ring->output("x", 1, 7) == -EINVAL);
    CHECK(drain(*ring) == std::vector<std::string>{"out"});
}

TEST_CASE("ring buffer refuses what does not fit and wraps around", "[maps][ringbuf]")
{
    auto ring = make_ring(4096);
    CHECK(ring->reserve(4096, 0) == nullptr); // header included, too big
    CHECK(ring->reserve(8, 1) == nullptr);    // flags must be 0
    std::string big(1500, 'x');
    for (int round = 0; round < 20; round++) { // 20 * 1.5 KiB through 4 KiB: wraps several times
        big[0] = static_cast<char>('a' + round);
        ring->submit(put(*ring, big), 0);
        ring->submit(put(*ring, big), 0);
        CHECK(ring->reserve(1500, 0) == nullptr); // a third does not fit
        auto records = drain(*ring);
        REQUIRE(records.size() == 2);
        CHECK(records[1] == big);
    }
    CHECK(ring->lookup(ByteView{}).error().why.starts_with("-EOPNOTSUPP"));
}
