// The host target end to end on a purpose-built program: verdicts, events, per-CPU and
// hash maps through the Map API, bpf_loop, adjust_head/tail, redirect_map, tail calls.
#include "host-runtime/target/host_target.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <cstring>

using namespace harmony;

namespace {

struct Event {
    uint32_t length;
    uint32_t ingress_ifindex;
    uint32_t loop_sum;
    uint32_t command;
};

enum Command : uint8_t { kPass = 0, kDrop = 1, kRedirect = 2, kTailCall = 3, kShrink = 4, kPush = 5 };

const std::string kObject = std::string(HARMONY_BPF_DIR) + "/target_features.bpf.o";

Bytes frame(uint8_t command, size_t length = 60)
{
    Bytes f(length, 0xab);
    f[0] = command;
    return f;
}

Bytes u32_bytes(uint32_t v)
{
    Bytes b(4);
    std::memcpy(b.data(), &v, 4);
    return b;
}

std::unique_ptr<LoadedProgram> load(host::ExecMode mode)
{
    // Unverified: this test is about the runtime; Harmony's verifier does not yet follow
    // bpf_loop callbacks (it calls the callback body unreachable).
    host::LoadOptions options;
    options.verify = false;
    auto program = host::load(kObject, mode, "features", options);
    INFO((program ? std::string() : program.error().message()));
    REQUIRE(program);
    return std::move(*program);
}

PacketOutcome run(LoadedProgram &program, const Bytes &f)
{
    auto outcome = program.run(f);
    INFO((outcome ? std::string() : outcome.error().message()));
    REQUIRE(outcome);
    return *outcome;
}

Event only_event(const PacketOutcome &outcome)
{
    REQUIRE(outcome.events.size() == 1);
    REQUIRE(outcome.events[0].size() == sizeof(Event));
    Event e;
    std::memcpy(&e, outcome.events[0].data(), sizeof(e));
    return e;
}

} // namespace

TEST_CASE("host target runs a program with maps, helpers and events", "[host][target]")
{
    auto mode = GENERATE(host::ExecMode::Interpreter, host::ExecMode::Jit);
    auto program = load(mode);
    CHECK(program->target() == (mode == host::ExecMode::Jit ? "host" : "host-interp"));

    SECTION("pass with an event carrying ctx fields")
    {
        PacketOutcome outcome = run(*program, frame(kPass, 60));
        CHECK(outcome.action == XDP_PASS);
        Event e = only_event(outcome);
        CHECK(e.length == 60);
        CHECK(e.ingress_ifindex == 1);
        CHECK(e.command == kPass);
    }
    SECTION("drop, no event")
    {
        PacketOutcome outcome = run(*program, frame(kDrop));
        CHECK(outcome.action == XDP_DROP);
        CHECK(outcome.events.empty());
    }
    SECTION("adjust_tail and adjust_head change the length the program sees")
    {
        CHECK(only_event(run(*program, frame(kShrink, 60))).length == 56);
        CHECK(only_event(run(*program, frame(kPush, 60))).length == 76);
    }
    SECTION("in place, as on a NIC buffer: the same outcome, the frame's bounds moved")
    {
        for (uint8_t command : {kPass, kShrink, kPush}) {
            INFO("command " << int(command));
            const Bytes f = frame(command, 60);
            PacketOutcome copied = run(*program, f);
            Bytes buffer(128 + f.size() + 64, 0);
            std::copy(f.begin(), f.end(), buffer.begin() + 128);
            FrameInPlace in_place{.start = buffer.data(), .data = buffer.data() + 128,
                                  .data_end = buffer.data() + 128 + f.size(), .end = buffer.data() + buffer.size()};
            auto outcome = program->run_in_place(in_place);
            REQUIRE(outcome);
            CHECK(outcome->action == copied.action);
            CHECK(outcome->events == copied.events);
            CHECK(outcome->frame.empty());
            CHECK(Bytes(in_place.data, in_place.data_end) == copied.frame);
            CHECK(in_place.data == buffer.data() + (command == kPush ? 112 : 128));
        }
        // Less headroom than the push needs beyond the kernel's xdp_frame reserve: the helper fails.
        Bytes small(40 + 60, 0);
        small[40] = kPush;
        FrameInPlace tight{.start = small.data(), .data = small.data() + 40, .data_end = small.data() + small.size(),
                           .end = small.data() + small.size()};
        auto outcome = program->run_in_place(tight);
        REQUIRE(outcome);
        CHECK(outcome->action == XDP_ABORTED);
        CHECK(tight.data == small.data() + 40);
    }
    SECTION("redirect_map falls back until the devmap has the port")
    {
        CHECK(run(*program, frame(kRedirect)).action == XDP_PASS);
        Map *ports = program->map("ports");
        REQUIRE(ports);
        REQUIRE(ports->update(u32_bytes(0), u32_bytes(7), BPF_ANY));
        CHECK(run(*program, frame(kRedirect)).action == XDP_REDIRECT);
    }
    SECTION("tail call falls through on an empty slot, jumps once filled")
    {
        CHECK(run(*program, frame(kTailCall)).action == XDP_ABORTED);
        Map *jumps = program->map("jumps");
        REQUIRE(jumps);
        CHECK_FALSE(jumps->update(u32_bytes(0), u32_bytes(99), BPF_ANY)); // no program 99
        REQUIRE(jumps->update(u32_bytes(0), u32_bytes(1), BPF_ANY));      // tail_target
        CHECK(run(*program, frame(kTailCall)).action == XDP_TX);
    }
    SECTION("maps count through the control plane")
    {
        for (int i = 0; i < 3; i++) {
            run(*program, frame(kPass));
        }
        run(*program, frame(kDrop));
        auto per_command = program->map("by_command");
        REQUIRE(per_command);
        auto passes = per_command->lookup(u32_bytes(kPass));
        REQUIRE(passes);
        uint64_t count;
        std::memcpy(&count, passes->data(), 8);
        CHECK(count == 3);

        auto packets = program->map("packets")->lookup(u32_bytes(0));
        REQUIRE(packets);
        uint64_t total = 0;
        for (size_t off = 0; off < packets->size(); off += 8) {
            uint64_t v;
            std::memcpy(&v, packets->data() + off, 8);
            total += v;
        }
        CHECK(total == 4);
    }
}

// bpf_loop reaches its callback through vm::RunState::call_subprogram, which both
// executors fill; without the hook the helper returns -EINVAL and the sum stays 0.
TEST_CASE("bpf_loop runs its callback through the executor hook", "[host][target]")
{
    auto mode = GENERATE(host::ExecMode::Interpreter, host::ExecMode::Jit);
    auto program = load(mode);
    CHECK(only_event(run(*program, frame(kPass))).loop_sum == 10); // 0+1+2+3+4
}

TEST_CASE("host target refuses what it cannot run", "[host][target]")
{
    SECTION("unknown program")
    {
        auto program = host::load(kObject, host::ExecMode::Interpreter, "nothing");
        REQUIRE_FALSE(program);
        CHECK_THAT(program.error().why, Catch::Contains("no such program"));
    }
    SECTION("missing object")
    {
        auto program = host::load("/nonexistent.bpf.o", host::ExecMode::Interpreter);
        REQUIRE_FALSE(program);
    }
}
