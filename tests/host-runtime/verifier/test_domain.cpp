// The interval domain on its own: arithmetic stays sound at the edges, and branch
// refinement narrows only what the condition proves.
#include "host-runtime/verifier/scalar.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using verifier::Scalar;

TEST_CASE("constants stay constants through add, sub and shifts", "[verifier][domain]")
{
    isa::Insn add{.op = isa::Op::Add};
    Scalar minus_one = verifier::alu(isa::Op::Add, true, Scalar::constant(0), Scalar::constant(~uint64_t{0}), add);
    CHECK(minus_one.is_const());
    CHECK(minus_one.smin == -1);
    Scalar shifted = verifier::alu(isa::Op::Lsh, true, Scalar::constant(31), Scalar::constant(32), add);
    CHECK(shifted.is_const());
    CHECK(shifted.umin == (uint64_t{31} << 32));
}

TEST_CASE("overflow widens instead of wrapping silently", "[verifier][domain]")
{
    isa::Insn add{.op = isa::Op::Add};
    Scalar big = Scalar::urange(0, ~uint64_t{0} - 1);
    Scalar sum = verifier::alu(isa::Op::Add, true, big, Scalar::constant(2), add);
    CHECK(sum.umin == 0);
    CHECK(sum.umax == ~uint64_t{0});
}

TEST_CASE("32-bit results are truncated to 32 bits", "[verifier][domain]")
{
    isa::Insn add{.op = isa::Op::Add, .is64 = false};
    Scalar r = verifier::alu(isa::Op::Add, false, Scalar::constant(0xffffffff), Scalar::constant(1), add);
    CHECK(r.is_const());
    CHECK(r.umin == 0);
}

TEST_CASE("branches refine both sides and detect impossible ones", "[verifier][domain]")
{
    Scalar a = Scalar::urange(0, 1000), b = Scalar::constant(256);
    REQUIRE(verifier::refine(isa::Op::Jlt, true, true, a, b));
    CHECK(a.umax == 255);
    Scalar c = Scalar::constant(5), d = Scalar::constant(5);
    CHECK_FALSE(verifier::refine(isa::Op::Jne, true, true, c, d));
    Scalar e = Scalar::urange(10, 20), f = Scalar::constant(5);
    CHECK_FALSE(verifier::refine(isa::Op::Jlt, true, true, e, f));
}
