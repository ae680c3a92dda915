// Assembler: the uBPF-style syntax of the conformance suite, encoded bit for bit, and
// errors that name the line.
#include "host-runtime/isa/assembler.hpp"
#include "host-runtime/isa/conformance_data.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace harmony;

namespace {

uint64_t word(const isa::RawInsn &r)
{
    uint64_t w = 0;
    std::memcpy(&w, &r, sizeof w);
    return w;
}

std::string error_of(const char *text)
{
    auto slots = isa::assemble(text);
    return slots ? std::string("(accepted)") : slots.error().message();
}

} // namespace

TEST_CASE("assemble: encodings match the kernel's", "[isa][assembler]")
{
    auto slots = isa::assemble("mov32 %r0, 0\n"                 // b4 00 .. 00
                               "ldxw %r0, [%r1+4]\n"            // 61 10 04 00
                               "jeq %r1, 0x10, +2\n"            // 15 01 02 00 10 00 00 00
                               "lock fetch add [%r10-8], %r1\n" // db 1a f8 ff 01 00 00 00
                               "movsx1632 %r2, %r3\n"           // bc 32 10 00
                               "sdiv32 %r2, 3\n"                // 34 02 01 00 03 00 00 00
                               "call %r2\n"                     // 8d 02
                               "lddw %r0, 0x1122334455667788\n"
                               "exit");
    REQUIRE(slots);
    REQUIRE(slots->size() == 10);
    CHECK(word((*slots)[0]) == 0x00000000000000b4ull);
    CHECK(word((*slots)[1]) == 0x0000000000041061ull);
    CHECK(word((*slots)[2]) == 0x0000001000020115ull);
    CHECK(word((*slots)[3]) == 0x00000001fff81adbull);
    CHECK(word((*slots)[4]) == 0x00000000001032bcull);
    CHECK(word((*slots)[5]) == 0x0000000300010234ull);
    CHECK(word((*slots)[6]) == 0x000000000000028dull);
    CHECK(word((*slots)[7]) == 0x5566778800000018ull);
    CHECK(word((*slots)[8]) == 0x1122334400000000ull);
    CHECK(word((*slots)[9]) == 0x0000000000000095ull);
}

TEST_CASE("assemble: labels, the implicit exit label and local calls", "[isa][assembler]")
{
    auto slots = isa::assemble("start:\n  jne %r1, 0, exit # comment\n  call local f\n  ja32 start\n"
                               "exit\nf:\n  exit");
    REQUIRE(slots);
    CHECK((*slots)[0].off == 2);  // to the first exit
    CHECK((*slots)[1].src == 1);  // local call
    CHECK((*slots)[1].imm == 2);  // to f
    CHECK((*slots)[2].imm == -3); // back to start, in imm for ja32
}

TEST_CASE("assemble: errors name the line and the reason", "[isa][assembler]")
{
    CHECK(error_of("mov %r0, 1\nldxq %r0, %r1") == "assemble line 2: unknown mnemonic 'ldxq'");
    CHECK(error_of("or %r0, %r50") == "assemble line 1: invalid register '%r50'");
    CHECK(error_of("mov32 %r0, 2147483648") == "assemble line 1: immediate 2147483648 does not fit in 32 bits");
    CHECK(error_of("mov32 %r0, 0x100000000") == "assemble line 1: immediate 0x100000000 does not fit in 32 bits");
    CHECK(error_of("ldxb %r0, [%r1+0x10000]") == "assemble line 1: offset +0x10000 does not fit in 16 bits");
    CHECK(error_of("ldxb %r0, %r1") == "assemble line 1: expected a memory operand [%rN+off], got '%r1'");
    CHECK(error_of("lddw %r0") == "assemble line 1: 'lddw' takes 2 operands, got 1");
    CHECK(error_of("ja nowhere\nexit") == "assemble line 1: undefined label 'nowhere'");
    CHECK(error_of("x:\nx:\nexit") == "assemble line 2: duplicate label 'x'");
    CHECK(error_of("lock or [%r10-8]") ==
          "assemble line 1: invalid number of operands for lock: expected 'lock [fetch] op [dst+off], src'");
    CHECK(error_of("lock nand [%r10-8], %r1") == "assemble line 1: unknown atomic operation 'nand'");
    CHECK(error_of("# nothing\n") == "assemble program: no instructions");
    CHECK(isa::assemble("mov %r0", 40).error().message() == "assemble line 40: 'mov' takes 2 operands, got 1");
}

TEST_CASE("conformance data: sections are parsed", "[isa][conformance-data]")
{
    auto c = isa::parse_conformance_data("# header\n-- asm\nmov %r0, %r2\nexit\n-- mem\n00 01\n02\n"
                                         "-- result\n0xFF\n-- no register offset\ncall instruction\n",
                                         "sample");
    REQUIRE(c);
    CHECK(c->name == "sample");
    CHECK(c->asm_first_line == 3);
    CHECK(c->memory == std::vector<uint8_t>{0, 1, 2});
    CHECK(c->result == 0xff);
    CHECK_FALSE(c->error);
    CHECK(c->notes.size() == 1);
    auto program = isa::conformance_program(*c);
    REQUIRE(program);
    CHECK(program->size() == 2);
}

TEST_CASE("conformance data: raw sections in bytes and in words agree", "[isa][conformance-data]")
{
    auto bytes = isa::parse_conformance_data("-- raw\nb7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n");
    auto words = isa::parse_conformance_data("-- raw\n0x0000002a000000b7\n0x0000000000000095\n");
    REQUIRE(bytes);
    REQUIRE(words);
    REQUIRE(bytes->raw->size() == 2);
    CHECK(std::memcmp(bytes->raw->data(), words->raw->data(), 16) == 0);
    CHECK(bytes->error == std::string());
}

TEST_CASE("conformance data: bad files are refused with the line", "[isa][conformance-data]")
{
    CHECK(isa::parse_conformance_data("-- asm\nexit\n-- Unknown directive\n", "f").error().message() ==
          "parse conformance data f line 3: unknown section '-- Unknown directive'");
    CHECK(isa::parse_conformance_data("-- mem\n0g\n", "f").error().message() ==
          "parse conformance data f line 2: invalid memory byte '0g'");
    CHECK(isa::conformance_program(*isa::parse_conformance_data("-- result\n0x0\n", "e")).error().message() ==
          "conformance case e: no program (neither -- asm nor -- raw)");
    auto c = isa::parse_conformance_data("# one\n-- asm\nmov %r0, 1\nbogus\n", "f");
    REQUIRE(c);
    CHECK(isa::conformance_program(*c).error().message() == "assemble line 4: unknown mnemonic 'bogus'");
}
