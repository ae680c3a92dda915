// Decoder: every form decodes to the expected Insn, and malformed slots are refused with
// "insn N: <reason>".
#include "host-runtime/insn.hpp"
#include "host-runtime/isa/assembler.hpp"
#include "tests/support/raw_insn.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using isa::Op;

using test::insn;
using test::kExit;

namespace {

std::string decode_error(std::vector<isa::RawInsn> slots)
{
    auto insns = isa::decode(slots);
    return insns ? std::string("(accepted)") : insns.error().message();
}

std::vector<isa::Insn> decode_asm(const char *text)
{
    auto slots = isa::assemble(text);
    REQUIRE(slots);
    auto insns = isa::decode(*slots);
    REQUIRE(insns);
    return *insns;
}

} // namespace

TEST_CASE("decode: ALU forms and their offset variants", "[isa][decode]")
{
    auto insns = decode_asm("add32 %r1, 5\nsdiv %r2, %r3\nsmod32 %r2, -1\nmovsx1664 %r4, %r5\nneg %r6\nexit");
    CHECK(insns[0].op == Op::Add);
    CHECK_FALSE(insns[0].is64);
    CHECK_FALSE(insns[0].src_is_reg);
    CHECK(insns[0].imm == 5);
    CHECK(insns[1].op == Op::SDiv);
    CHECK(insns[1].src_is_reg);
    CHECK(insns[2].op == Op::SMod);
    CHECK(insns[3].op == Op::MovSx);
    CHECK(insns[3].size == 2);
    CHECK(insns[4].op == Op::Neg);
    CHECK(insns[5].op == Op::Exit);
}

TEST_CASE("decode: memory, atomics, lddw and jumps", "[isa][decode]")
{
    auto insns = decode_asm("ldxsh %r0, [%r1+2]\nstw [%r10-4], 7\nlock fetch xor32 [%r10-4], %r2\n"
                            "lddw %r3, 0x1122334455667788\nja32 +0\njslt32 %r0, %r1, -1\ncall local +0\nexit");
    CHECK(insns[0].op == Op::LoadSx);
    CHECK(insns[0].size == 2);
    CHECK(insns[0].off == 2);
    CHECK(insns[1].op == Op::StoreImm);
    CHECK(insns[1].size == 4);
    CHECK(insns[2].op == Op::Atomic);
    CHECK(insns[2].atomic == isa::AtomicOp::FetchXor);
    CHECK(insns[2].size == 4);
    CHECK(insns[3].op == Op::LoadImm64);
    CHECK(insns[3].imm64 == 0x1122334455667788ull);
    CHECK(insns[4].op == Op::Filler);
    CHECK(insns[5].op == Op::Ja);
    CHECK_FALSE(insns[5].is64);
    CHECK(insns[6].op == Op::Jslt);
    CHECK(isa::jump_target(6, insns[6]) == 6);
    CHECK(insns[7].op == Op::CallLocal);
}

TEST_CASE("decode: lddw keeps its pseudo source", "[isa][decode]")
{
    auto insns = isa::decode(std::vector{insn(0x18, 1, isa::kMapIdxValue, 0, 3), insn(0, 0, 0, 0, 16), kExit});
    REQUIRE(insns);
    CHECK((*insns)[0].pseudo == isa::kMapIdxValue);
    CHECK((*insns)[0].src == 0);
    CHECK((*insns)[0].imm64 == (16ull << 32 | 3));
}

TEST_CASE("decode: callx takes its register from dst or, as older LLVM wrote it, imm", "[isa][decode]")
{
    auto from_dst = isa::decode(std::vector{insn(0x8d, 2, 0, 0, 0), kExit});
    auto from_imm = isa::decode(std::vector{insn(0x8d, 0, 0, 0, 2), kExit});
    REQUIRE(from_dst);
    REQUIRE(from_imm);
    CHECK((*from_dst)[0].op == Op::CallReg);
    CHECK((*from_dst)[0].dst == 2);
    CHECK((*from_imm)[0].dst == 2);
}

TEST_CASE("decode: malformed instructions are refused with the slot and the reason", "[isa][decode]")
{
    CHECK(decode_error({kExit, insn(0xe7, 0, 0, 0, 0)}) == "decode insn 1: unknown opcode 0xe7");
    CHECK(decode_error({insn(0x07, 0, 1, 0, 1), kExit}) ==
          "decode insn 0: opcode 0x07 has an unused src register field set to 1");
    CHECK(decode_error({insn(0x95, 0, 0, 1, 0)}) == "decode insn 0: opcode 0x95 has an unused offset set to 1");
    CHECK(decode_error({insn(0x0f, 0, 1, 0, 1), kExit}) ==
          "decode insn 0: opcode 0x0f has an unused immediate set to 1");
    CHECK(decode_error({insn(0x85, 1, 0, 0, 5), kExit}) ==
          "decode insn 0: opcode 0x85 has an unused dst register field set to 1");
    CHECK(decode_error({insn(0x18, 0, 0, 0, 1)}) == "decode insn 0: lddw is missing its second slot");
    CHECK(decode_error({insn(0x18, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0)}) ==
          "decode insn 1: second slot of lddw must have opcode, registers and offset zero");
    CHECK(decode_error({insn(0xb7, 11, 0, 0, 0), kExit}) == "decode insn 0: invalid register r11");
    CHECK(decode_error({insn(0xb7, 10, 0, 0, 0), kExit}) == "decode insn 0: r10 is the read-only frame pointer");
    CHECK(decode_error({insn(0x3f, 0, 1, 2, 0), kExit}) == "decode insn 0: opcode 0x3f does not take offset 2");
    CHECK(decode_error({insn(0xbc, 0, 1, 32, 0), kExit}) == "decode insn 0: opcode 0xbc does not take offset 32");
    CHECK(decode_error({insn(0xd4, 0, 0, 0, 8), kExit}) == "decode insn 0: byte swap width 8 is not 16, 32 or 64");
    CHECK(decode_error({insn(0xdb, 10, 1, -8, 0x10), kExit}) == "decode insn 0: unknown atomic operation 0x10");
    CHECK(decode_error({insn(0x85, 0, 2, 0, 5), kExit}) == "decode insn 0: unsupported call kind (src 2)");
    CHECK(decode_error({insn(0x18, 0, 7, 0, 0), insn(0, 0, 0, 0, 0)}) == "decode insn 0: unknown lddw pseudo source 7");
    CHECK(decode_error({insn(0x99, 0, 1, 0, 0), kExit}) == "decode insn 0: unknown opcode 0x99");
    CHECK(decode_error({}) == "decode program: no instructions");
}
