// Helpers called as the VM calls them (by id, through the table): the registry, and each
// helper's results and errors against the kernel's.
#include "helpers/helper.hpp"
#include "host-runtime/maps/maps.hpp"
#include "host-runtime/vm.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cstring>

using namespace harmony;

namespace {

uint64_t call(uint32_t id, uint64_t r1 = 0, uint64_t r2 = 0, uint64_t r3 = 0, uint64_t r4 = 0, uint64_t r5 = 0)
{
    const helpers::Helper *helper = helpers::find_helper(id);
    INFO("helper " << id);
    REQUIRE(helper);
    return helper->fn(r1, r2, r3, r4, r5);
}

template <typename T>
uint64_t addr(T *p)
{
    return reinterpret_cast<uint64_t>(p);
}

int64_t as_errno(uint64_t r) { return static_cast<int64_t>(r); }

uint64_t answer(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return 42; }

/// A frame in a 4 KiB buffer with 256 bytes of headroom, as the host target lays it out.
struct Frame {
    uint8_t buffer[4096] = {};
    vm::XdpBuff xdp;
    explicit Frame(size_t length)
    {
        xdp.data_hard_start = buffer;
        xdp.data = buffer + 256;
        xdp.data_end = xdp.data + length;
        xdp.data_meta = xdp.data;
        xdp.frame_end = buffer + 4096 - 320;
    }
};

} // namespace

TEST_CASE("the table has the Linux helpers with their prototypes", "[helpers]")
{
    for (uint32_t id : {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem,
                        BPF_FUNC_ktime_get_ns, BPF_FUNC_trace_printk, BPF_FUNC_get_prandom_u32,
                        BPF_FUNC_get_smp_processor_id, BPF_FUNC_tail_call, BPF_FUNC_redirect, BPF_FUNC_csum_diff,
                        BPF_FUNC_xdp_adjust_head, BPF_FUNC_redirect_map, BPF_FUNC_xdp_adjust_meta,
                        BPF_FUNC_xdp_adjust_tail, BPF_FUNC_ringbuf_output, BPF_FUNC_ringbuf_reserve,
                        BPF_FUNC_ringbuf_submit, BPF_FUNC_ringbuf_discard, BPF_FUNC_loop}) {
        const helpers::Helper *h = helpers::find_helper(id);
        INFO(id);
        REQUIRE(h);
        CHECK(h->id == id);
        CHECK(h->fn);
        CHECK_FALSE(h->proto.name.empty());
    }
    CHECK(helpers::find_helper(BPF_FUNC_map_lookup_elem)->proto.ret == helpers::Ret::MapValueOrNull);
    CHECK(helpers::find_helper(BPF_FUNC_loop)->proto.args[1] == helpers::Arg::Func);
    CHECK(helpers::find_helper(BPF_FUNC_trace_printk)->proto.gpl_only);
    CHECK(helpers::find_helper(9999) == nullptr);
}

TEST_CASE("Harmony helpers register above kHarmonyBase", "[helpers]")
{
    helpers::Helper mine{helpers::kHarmonyBase + 77, {"answer", helpers::Ret::Integer, {}}, answer};
    REQUIRE(helpers::register_helper(mine));
    CHECK(call(helpers::kHarmonyBase + 77) == 42);
    auto again = helpers::register_helper(mine);
    REQUIRE_FALSE(again);
    CHECK_THAT(again.error().why, Catch::Contains("already taken by 'answer'"));
    auto low = helpers::register_helper({5, {"clash", helpers::Ret::Integer, {}}, answer});
    REQUIRE_FALSE(low);
    CHECK_THAT(low.error().why, Catch::Contains("start at 0x10000"));
    CHECK_FALSE(helpers::register_helper({helpers::kHarmonyBase + 78, {"none", helpers::Ret::Integer, {}}, nullptr}));
    CHECK(helpers::all_helpers().back()->id == helpers::kHarmonyBase + 77);
}

TEST_CASE("map helpers reach host maps by address", "[helpers]")
{
    auto map = maps::create_map(MapInfo{"h", BPF_MAP_TYPE_HASH, 4, 8, 4, 0});
    REQUIRE(map);
    uint64_t m = addr(map->get());
    uint32_t key = 7;
    uint64_t value = 99;
    CHECK(call(BPF_FUNC_map_lookup_elem, m, addr(&key)) == 0);
    CHECK(call(BPF_FUNC_map_update_elem, m, addr(&key), addr(&value), BPF_NOEXIST) == 0);
    CHECK(as_errno(call(BPF_FUNC_map_update_elem, m, addr(&key), addr(&value), BPF_NOEXIST)) == -EEXIST);
    auto *found = reinterpret_cast<uint64_t *>(call(BPF_FUNC_map_lookup_elem, m, addr(&key)));
    REQUIRE(found);
    CHECK(*found == 99);
    CHECK(call(BPF_FUNC_map_delete_elem, m, addr(&key)) == 0);
    CHECK(as_errno(call(BPF_FUNC_map_delete_elem, m, addr(&key))) == -ENOENT);
}

TEST_CASE("ring buffer helpers", "[helpers]")
{
    auto map = maps::create_map(MapInfo{"rb", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0});
    REQUIRE(map);
    auto *ring = dynamic_cast<maps::RingBuffer *>(map->get());
    uint64_t record = call(BPF_FUNC_ringbuf_reserve, addr(ring), 4, 0);
    REQUIRE(record);
    std::memcpy(reinterpret_cast<void *>(record), "abcd", 4);
    call(BPF_FUNC_ringbuf_submit, record, 0);
    uint64_t dropped = call(BPF_FUNC_ringbuf_reserve, addr(ring), 4, 0);
    call(BPF_FUNC_ringbuf_discard, dropped, 0);
    CHECK(call(BPF_FUNC_ringbuf_output, addr(ring), addr("xyz"), 3, 0) == 0);
    CHECK(call(BPF_FUNC_ringbuf_reserve, addr(ring), 8192, 0) == 0);
    std::vector<std::string> seen;
    ring->consume([&](ByteView r) { seen.emplace_back(reinterpret_cast<const char *>(r.data()), r.size()); });
    CHECK(seen == std::vector<std::string>{"abcd", "xyz"});
}

TEST_CASE("xdp_adjust_head, _tail and _meta keep the kernel's bounds", "[helpers]")
{
    Frame f(100);
    uint64_t ctx = addr(&f.xdp);
    CHECK(call(BPF_FUNC_xdp_adjust_head, ctx, static_cast<uint64_t>(-200)) == 0);
    CHECK(f.xdp.data == f.buffer + 56);
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_head, ctx, static_cast<uint64_t>(-20))) == -EINVAL); // into xdp_frame
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_head, ctx, 290)) == -EINVAL); // less than an Ethernet header left
    CHECK(call(BPF_FUNC_xdp_adjust_head, ctx, 200) == 0);

    f.xdp.data_end[0] = 0x5a;
    CHECK(call(BPF_FUNC_xdp_adjust_tail, ctx, 10) == 0);
    CHECK(f.xdp.data_end - f.xdp.data == 110);
    CHECK(f.xdp.data_end[-10] == 0); // grown bytes are cleared
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_tail, ctx, static_cast<uint64_t>(-100))) == -EINVAL);
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_tail, ctx, 4000)) == -EINVAL);

    CHECK(call(BPF_FUNC_xdp_adjust_meta, ctx, static_cast<uint64_t>(-8)) == 0);
    CHECK(f.xdp.data - f.xdp.data_meta == 8);
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_meta, ctx, static_cast<uint64_t>(-2))) == -EACCES);
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_meta, ctx, static_cast<uint64_t>(-40))) == -EACCES); // > 32 bytes
    CHECK(as_errno(call(BPF_FUNC_xdp_adjust_meta, ctx, 16)) == -EINVAL); // past data
}

TEST_CASE("redirect and redirect_map record where the frame goes", "[helpers]")
{
    vm::RunState &run = vm::current_run();
    run = vm::RunState{};
    CHECK(call(BPF_FUNC_redirect, 5, 0) == XDP_REDIRECT);
    CHECK(run.redirect_ifindex == 5);
    CHECK(call(BPF_FUNC_redirect, 5, 1) == XDP_ABORTED);

    auto map = maps::create_map(MapInfo{"ports", BPF_MAP_TYPE_DEVMAP, 4, 4, 2, 0});
    REQUIRE(map);
    CHECK(call(BPF_FUNC_redirect_map, addr(map->get()), 1, XDP_DROP) == XDP_DROP); // fallback
    uint32_t key = 1, ifindex = 9;
    REQUIRE((*map)->update(ByteView(reinterpret_cast<uint8_t *>(&key), 4),
                           ByteView(reinterpret_cast<uint8_t *>(&ifindex), 4), BPF_ANY));
    CHECK(call(BPF_FUNC_redirect_map, addr(map->get()), 1, 0) == XDP_REDIRECT);
    CHECK(run.redirect_ifindex == 9);
    CHECK(run.redirect_key == 1);
}

TEST_CASE("csum_diff matches a one's-complement sum", "[helpers]")
{
    uint32_t from[2] = {0x11112222, 0x33334444};
    uint32_t to[2] = {0x55556666, 0x77778888};
    uint64_t expected = 0;
    for (uint32_t w : from) {
        expected += ~w;
    }
    for (uint32_t w : to) {
        expected += w;
    }
    while (expected >> 32) {
        expected = (expected & 0xffffffff) + (expected >> 32);
    }
    CHECK(call(BPF_FUNC_csum_diff, addr(from), 8, addr(to), 8, 0) == expected);
    CHECK(call(BPF_FUNC_csum_diff, 0, 0, addr(to), 4, 0) == to[0]);
    CHECK(as_errno(call(BPF_FUNC_csum_diff, addr(from), 3, addr(to), 4, 0)) == -EINVAL);
}

TEST_CASE("trace_printk formats like the kernel and goes to the sink", "[helpers]")
{
    std::vector<std::string> lines;
    helpers::set_trace_output([&](std::string_view line) { lines.emplace_back(line); });
    const char format[] = "pkt %d len %u flags %x %s\n";
    call(BPF_FUNC_trace_printk, addr(format), sizeof(format), static_cast<uint64_t>(-3), 60, 0xbeef);
    helpers::set_trace_output({});
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "pkt -3 len 60 flags beef (null)");
}

TEST_CASE("time, random and CPU helpers", "[helpers]")
{
    uint64_t t1 = call(BPF_FUNC_ktime_get_ns);
    uint64_t t2 = call(BPF_FUNC_ktime_get_ns);
    CHECK(t2 >= t1);
    CHECK(call(BPF_FUNC_get_smp_processor_id) < maps::possible_cpus());
    uint64_t differs = 0;
    for (int i = 0; i < 8; i++) {
        differs |= call(BPF_FUNC_get_prandom_u32) ^ call(BPF_FUNC_get_prandom_u32);
    }
    CHECK(differs != 0);
    CHECK(call(BPF_FUNC_get_prandom_u32) <= UINT32_MAX);
}

TEST_CASE("bpf_loop without an executor hook fails cleanly", "[helpers]")
{
    vm::current_run() = vm::RunState{};
    CHECK(as_errno(call(BPF_FUNC_loop, 4, 0, 0, 0)) == -EINVAL);
}

namespace {

uint64_t counting_callback(void *executor, uint64_t pc, const uint64_t args[5])
{
    auto *calls = static_cast<std::vector<std::pair<uint64_t, uint64_t>> *>(executor);
    calls->emplace_back(pc, args[0]);
    return args[0] == 2 ? 1 : 0; // stop after the third iteration
}

} // namespace

TEST_CASE("bpf_loop calls the subprogram through the hook until it returns non-zero", "[helpers]")
{
    std::vector<std::pair<uint64_t, uint64_t>> calls;
    vm::RunState &run = vm::current_run();
    run = vm::RunState{};
    run.call_subprogram = counting_callback;
    run.executor = &calls;
    CHECK(call(BPF_FUNC_loop, 10, 42, 0, 0) == 3);
    CHECK(calls == std::vector<std::pair<uint64_t, uint64_t>>{{42, 0}, {42, 1}, {42, 2}});
    CHECK(as_errno(call(BPF_FUNC_loop, 1u << 24, 42, 0, 0)) == -E2BIG);
    CHECK(as_errno(call(BPF_FUNC_loop, 1, 42, 0, 1)) == -EINVAL);
    run = vm::RunState{};
}
