// Disassembler: kernel verifier-log style text, one line per instruction.
#include "host-runtime/insn.hpp"
#include "host-runtime/isa/assembler.hpp"

#include <catch2/catch.hpp>

using namespace harmony;

namespace {

std::string text_of(const char *line)
{
    auto slots = isa::assemble(std::string(line) + "\nexit");
    REQUIRE(slots);
    auto insns = isa::decode(*slots);
    REQUIRE(insns);
    return isa::disassemble(insns->front());
}

} // namespace

TEST_CASE("disassemble: ALU in kernel style", "[isa][disassemble]")
{
    CHECK(text_of("mov %r0, 1") == "r0 = 1");
    CHECK(text_of("mov32 %r0, -1") == "w0 = -1");
    CHECK(text_of("add %r1, %r2") == "r1 += r2");
    CHECK(text_of("sub32 %r1, %r2") == "w1 -= w2");
    CHECK(text_of("sdiv %r1, 3") == "r1 s/= 3");
    CHECK(text_of("smod32 %r1, %r2") == "w1 s%= w2");
    CHECK(text_of("arsh %r3, 4") == "r3 s>>= 4");
    CHECK(text_of("neg32 %r4") == "w4 = -w4");
    CHECK(text_of("movsx832 %r0, %r1") == "w0 = (s8)w1");
    CHECK(text_of("movsx3264 %r0, %r1") == "r0 = (s32)r1");
    CHECK(text_of("be16 %r0") == "r0 = be16 r0");
    CHECK(text_of("le32 %r0") == "r0 = le32 r0");
    CHECK(text_of("swap64 %r0") == "r0 = bswap64 r0");
}

TEST_CASE("disassemble: memory and atomics", "[isa][disassemble]")
{
    CHECK(text_of("ldxw %r0, [%r1+4]") == "r0 = *(u32 *)(r1 +4)");
    CHECK(text_of("ldxsb %r0, [%r10-1]") == "r0 = *(s8 *)(r10 -1)");
    CHECK(text_of("stxdw [%r10-8], %r1") == "*(u64 *)(r10 -8) = r1");
    CHECK(text_of("sth [%r1+2], 7") == "*(u16 *)(r1 +2) = 7");
    CHECK(text_of("lock add [%r10-8], %r1") == "lock *(u64 *)(r10 -8) += r1");
    CHECK(text_of("lock fetch and32 [%r10-4], %r2") == "r2 = atomic_fetch_and((u32 *)(r10 -4), r2)");
    CHECK(text_of("lock xchg [%r10-8], %r3") == "r3 = atomic64_xchg((u64 *)(r10 -8), r3)");
    CHECK(text_of("lock cmpxchg [%r10-8], %r1") == "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)");
    CHECK(text_of("lddw %r2, 0x1122334455667788") == "r2 = 0x1122334455667788 ll");
    CHECK(text_of("ldabsh 12") == "r0 = *(u16 *)skb[12]");
}

TEST_CASE("disassemble: jumps and calls", "[isa][disassemble]")
{
    CHECK(text_of("jeq %r1, 0x10, +2") == "if r1 == 0x10 goto pc+2");
    CHECK(text_of("jsgt32 %r1, %r2, -1") == "if w1 s> w2 goto pc-1");
    CHECK(text_of("jset %r1, 1, +0") == "if r1 & 0x1 goto pc+0");
    CHECK(text_of("ja +3") == "goto pc+3");
    CHECK(text_of("ja32 +3") == "gotol pc+3");
    CHECK(text_of("call 5") == "call 5");
    CHECK(text_of("call local +1") == "call pc+1");
    CHECK(text_of("call %r2") == "callx r2");
    CHECK(text_of("exit") == "exit");
}

TEST_CASE("disassemble: lddw pseudo forms say what the immediate means", "[isa][disassemble]")
{
    auto line = [](uint8_t pseudo, int32_t low, int32_t high) {
        isa::RawInsn first{}, second{}, exit_insn{};
        first.code = 0x18;
        first.dst = 1;
        first.src = pseudo & 0xf;
        first.imm = low;
        second.imm = high;
        exit_insn.code = 0x95;
        auto insns = isa::decode(std::vector{first, second, exit_insn});
        REQUIRE(insns);
        return isa::disassemble(insns->front());
    };
    CHECK(line(isa::kMapFd, 3, 0) == "r1 = map[fd:3] ll");
    CHECK(line(isa::kMapValue, 3, 8) == "r1 = map[fd:3]+8 ll");
    CHECK(line(isa::kMapIdx, 0, 0) == "r1 = map[idx:0] ll");
    CHECK(line(isa::kMapIdxValue, 2, 16) == "r1 = map[idx:2]+16 ll");
    CHECK(line(isa::kFunc, 5, 0) == "r1 = func[pc+5] ll");
    CHECK(line(isa::kImm, -1, -1) == "r1 = 0xffffffffffffffff ll");
}
