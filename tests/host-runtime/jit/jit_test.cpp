// The JIT's own contract: refusals that name the instruction, tail calls, the call-depth
// fault, callx, the XDP context and legacy packet loads — each checked against a stated
// value and against the interpreter.
#include "differential.hpp"
#include "program_generator.hpp"

#include "host-runtime/isa/assembler.hpp"
#include "host-runtime/jit/jit.hpp"

#include <catch2/catch.hpp>

#include <array>

using namespace harmony;
using namespace harmony::jit::testing;

namespace {

vm::LinkedProgram linked(const std::string &text)
{
    auto program = link_test_program(text);
    REQUIRE(program);
    return std::move(*program);
}

std::string refusal(const vm::LinkedProgram &program)
{
    auto jit = vm::make_jit(program);
    REQUIRE_FALSE(jit);
    return jit.error().message();
}

uint64_t run_jit(const vm::LinkedProgram &program, void *ctx = nullptr, uint64_t ctx_len = 0)
{
    auto jit = vm::make_jit(program);
    REQUIRE(jit);
    return (*jit)->run(ctx, ctx_len);
}

// A tail-call helper for the tests: continues in `next_program` when r1 is non-zero.
const vm::LinkedProgram *next_program = nullptr;
uint64_t tail_call_to_next(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t)
{
    if (r1 != 0) {
        vm::current_run().tail_call = next_program;
        vm::current_run().tail_calls_done++;
    }
    return 0xdead;
}

uint64_t weigh_arguments(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
    return r1 + 10 * r2 + 100 * r3 + 1000 * r4 + 10000 * r5;
}

// bpf_loop's shape: callback(i, ctx) for i < count, through the executor's callback hook;
// returns the sum of the callbacks' results.
uint64_t sum_of_callbacks(uint64_t count, uint64_t callback, uint64_t ctx, uint64_t, uint64_t)
{
    vm::RunState &run = vm::current_run();
    uint64_t sum = 0;
    for (uint64_t i = 0; i < count; ++i) {
        const uint64_t args[5] = {i, ctx, 0, 0, 0};
        sum += run.call_subprogram(run.executor, callback, args);
    }
    return sum;
}

vm::LinkedProgram with_helper(vm::LinkedProgram program, helpers::HelperFn fn)
{
    for (auto &slot : program.helper_by_slot) {
        slot = slot ? fn : nullptr;
    }
    return program;
}

} // namespace

TEST_CASE("the JIT refuses malformed programs naming the instruction", "[jit]")
{
    vm::LinkedProgram program = linked("mov %r0, 0\nja +5\nexit\n");
    CHECK_THAT(refusal(program), Catch::Contains("insn 1") && Catch::Contains("outside the program"));

    program = linked("ja +1\nlddw %r0, 1\nexit\n");
    CHECK_THAT(refusal(program), Catch::Contains("insn 0") && Catch::Contains("second slot of lddw"));

    program = linked("call 1\nexit\n");
    program.helper_by_slot[0] = nullptr;
    CHECK_THAT(refusal(program), Catch::Contains("insn 0") && Catch::Contains("unresolved helper 1"));

    program = linked("exit\nmov %r0, 1\n");
    CHECK_THAT(refusal(program), Catch::Contains("fall off"));

    program = linked("exit\n");
    program.stack_size = 4096;
    CHECK_THAT(refusal(program), Catch::Contains("stack size 4096"));
}

TEST_CASE("a helper call passes r1-r5 and keeps r6-r9", "[jit]")
{
    const vm::LinkedProgram program = with_helper(linked(R"(
        mov %r1, 1
        mov %r2, 2
        mov %r3, 3
        mov %r4, 4
        mov %r5, 5
        mov %r6, 6
        mov %r7, 7
        mov %r8, 8
        mov %r9, 9
        call 1
        add %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        exit
    )"), weigh_arguments);
    CHECK(run_jit(program) == 54321 + 30);
    CHECK_FALSE(compare_executors(program, {}));
}

TEST_CASE("a tail call leaves the program at once and continues in the next", "[jit]")
{
    const vm::LinkedProgram second = linked("mov %r0, 0x22\nexit\n");
    const vm::LinkedProgram first = with_helper(linked(R"(
        mov %r1, 1
        call 12
        mov %r0, 0x11
        exit
    )"), tail_call_to_next);
    next_program = &second;
    CHECK(run_jit(first) == 0x22);
    CHECK(vm::current_run().program == &second);
    CHECK(vm::current_run().tail_calls_done == 1);
    CHECK_FALSE(compare_executors(first, {}));

    // A declined tail call (r1 = 0) returns to the caller, which goes on.
    const vm::LinkedProgram declined = with_helper(linked("mov %r1, 0\ncall 12\nmov %r0, 0x11\nexit\n"),
                                                   tail_call_to_next);
    CHECK(run_jit(declined) == 0x11);
}

TEST_CASE("a tail call from inside a subprogram ends every frame", "[jit]")
{
    const vm::LinkedProgram second = linked("mov %r0, 0x33\nexit\n");
    const vm::LinkedProgram first = with_helper(linked(R"(
        call local f
        mov %r0, 0x11
        exit
    f:
        mov %r1, 1
        call 12
        mov %r0, 0x44
        exit
    )"), tail_call_to_next);
    next_program = &second;
    CHECK(run_jit(first) == 0x33);
    CHECK_FALSE(compare_executors(first, {}));
}

TEST_CASE("runaway bpf-to-bpf recursion is a fault, not a stack overrun", "[jit]")
{
    const vm::LinkedProgram program = linked("f: stdw [%r10-512], 1\ncall local f\nexit\n");
    CHECK(run_jit(program) == 0);
    CHECK(vm::current_run().fault == "insn 1: call depth exceeds 8 frames");
    CHECK_FALSE(compare_executors(program, {}));

    // Seven nested calls (eight frames) are allowed, each frame 512 bytes below the last.
    const vm::LinkedProgram deep = linked(R"(
        mov %r0, 0
        mov %r6, 7
        call local f
        exit
    f:
        stxdw [%r10-512], %r6
        add %r0, 1
        jeq %r6, 1, done
        sub %r6, 1
        call local f
    done:
        exit
    )");
    CHECK(run_jit(deep) == 7);
    CHECK(vm::current_run().fault.empty());
}

TEST_CASE("a helper runs a callback subprogram in a frame of its own", "[jit]")
{
    const vm::LinkedProgram program = with_helper(linked(R"(
        lddw %r2, 11
        mov %r1, 4
        mov %r3, 100
        mov %r6, 7
        stdw [%r10-8], 1000
        call 181
        add %r0, %r6
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
    cb:
        mov %r0, %r1
        add %r0, %r2
        mov %r6, 99
        stxdw [%r10-8], %r0
        ldxdw %r0, [%r10-8]
        exit
    )"), sum_of_callbacks);
    REQUIRE(program.insns[11].op == isa::Op::Mov); // "cb" is at instruction 11
    // (0+100) + (1+100) + (2+100) + (3+100), r6 kept, the caller's stack slot untouched.
    CHECK(run_jit(program) == 406 + 7 + 1000);
    CHECK(vm::current_run().fault.empty());

    // A callback counts as a call level: endless recursion inside it is a fault.
    const vm::LinkedProgram deep = with_helper(linked(R"(
        lddw %r2, 5
        mov %r1, 1
        call 181
        exit
    cb:
        call local cb
        exit
    )"), sum_of_callbacks);
    CHECK(run_jit(deep) == 0);
    CHECK_THAT(vm::current_run().fault, Catch::Contains("call depth exceeds 8 frames"));
}

TEST_CASE("callx calls the helper whose id the register holds", "[jit]")
{
    vm::LinkedProgram program = linked("mov %r1, 21\nmov %r4, 7\ncall %r4\nexit\n");
    program.helper_by_id = [](uint64_t id) -> helpers::HelperFn {
        return id == 7 ? +[](uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t) { return r1 * 2; } : nullptr;
    };
    CHECK(run_jit(program) == 42);
    CHECK_FALSE(compare_executors(program, {}));

    program = linked("mov %r3, 9\ncall %r3\nexit\n");
    program.helper_by_id = [](uint64_t) -> helpers::HelperFn { return nullptr; };
    CHECK(run_jit(program) == 0);
    CHECK(vm::current_run().fault == "insn 1: callx to unknown helper 9");
    CHECK_FALSE(compare_executors(program, {}));
}

TEST_CASE("an XDP program reads the frame through the native context", "[jit]")
{
    std::array<uint8_t, 6> frame = {0xaa, 0xbb, 0x12, 0x34, 0x56, 0x78};
    vm::XdpBuff xdp;
    xdp.data = frame.data();
    xdp.data_end = frame.data() + frame.size();
    const vm::LinkedProgram program = linked(R"(
        ldxdw %r2, [%r1+0]
        ldxdw %r3, [%r1+8]
        mov %r0, %r3
        sub %r0, %r2
        ldxb %r4, [%r2+1]
        lsh %r4, 8
        or %r0, %r4
        exit
    )");
    CHECK(run_jit(program, &xdp, 0) == (0xbbu << 8 | 6));
    CHECK(vm::current_run().xdp == &xdp);

    // Legacy loads: big-endian, bounds-checked; out of bounds ends the run with 0.
    const vm::LinkedProgram legacy = linked("mov %r6, 2\nldindh %r6, 1\nexit\n");
    CHECK(run_jit(legacy, &xdp, 0) == 0x3456);
    const vm::LinkedProgram beyond = linked("ldabsw 4\nmov %r0, 1\nexit\n");
    CHECK(run_jit(beyond, &xdp, 0) == 0);
}

TEST_CASE("an executor's run is independent of the previous one", "[jit]")
{
    const vm::LinkedProgram program = linked("ldxw %r0, [%r1+0]\nadd %r0, %r2\nstxw [%r1+0], %r0\nexit\n");
    auto jit = vm::make_jit(program);
    REQUIRE(jit);
    uint32_t word = 5;
    CHECK((*jit)->run(&word, 4) == 9);
    CHECK((*jit)->run(&word, 4) == 13);
    CHECK(word == 13);
}
