// The xdp_md -> XdpBuff rewrite: which loads it finds through moves, spills and calls,
// and the accesses it must refuse.
#include "host-runtime/isa/assembler.hpp"
#include "host-runtime/target/link.hpp"

#include <catch2/catch.hpp>

#include <cstddef>

using namespace harmony;

namespace {

std::vector<isa::Insn> program(std::string_view text)
{
    auto raw = isa::assemble(text);
    INFO((raw ? std::string() : raw.error().message()));
    REQUIRE(raw);
    auto insns = isa::decode(*raw);
    REQUIRE(insns);
    return *insns;
}

Result<std::vector<isa::Insn>> rewritten(std::string_view text)
{
    auto insns = program(text);
    if (auto ok = host::rewrite_xdp_context(insns, "test"); !ok) {
        return std::unexpected(ok.error());
    }
    return insns;
}

} // namespace

TEST_CASE("ctx loads are rewritten to XdpBuff fields", "[host][link]")
{
    auto insns = rewritten(R"(
        ldxw %r2, [%r1+0]
        ldxw %r3, [%r1+4]
        ldxw %r4, [%r1+12]
        ldxw %r5, [%r1+16]
        exit
    )");
    REQUIRE(insns);
    const auto &i = *insns;
    CHECK((i[0].size == 8 && i[0].off == offsetof(vm::XdpBuff, data)));
    CHECK((i[1].size == 8 && i[1].off == offsetof(vm::XdpBuff, data_end)));
    CHECK((i[2].size == 4 && i[2].off == offsetof(vm::XdpBuff, ingress_ifindex)));
    CHECK((i[3].size == 4 && i[3].off == offsetof(vm::XdpBuff, rx_queue_index)));
}

TEST_CASE("ctx is followed through moves, spills, fills and calls", "[host][link]")
{
    auto insns = rewritten(R"(
        mov %r6, %r1
        stxdw [%r10-8], %r6
        mov %r1, 0
        call 5
        ldxdw %r7, [%r10-8]
        ldxw %r2, [%r7+4]
        ldxw %r3, [%r6+0]
        mov %r1, %r6
        call local sub
        ldxw %r4, [%r0+4]
        exit
    sub:
        ldxw %r0, [%r1+20]
        exit
    )");
    REQUIRE(insns);
    const auto &i = *insns;
    CHECK(i[5].off == offsetof(vm::XdpBuff, data_end)); // via the spill slot
    CHECK(i[6].off == offsetof(vm::XdpBuff, data));     // r6 survives the helper call
    CHECK(i[9].off == 4);                               // r0 is not ctx: untouched
    CHECK(i[11].off == offsetof(vm::XdpBuff, egress_ifindex)); // ctx passed to a subprogram
}

TEST_CASE("ctx rewrite refuses what the kernel refuses", "[host][link]")
{
    SECTION("modified ctx pointer")
    {
        auto insns = rewritten("add %r1, 4\nldxw %r0, [%r1+0]\nexit");
        REQUIRE_FALSE(insns);
        CHECK_THAT(insns.error().why, Catch::Contains("modified ctx"));
        CHECK_THAT(insns.error().which, Catch::Contains("insn 1"));
    }
    SECTION("ctx on some paths only")
    {
        auto insns = rewritten("jeq %r2, 0, +1\nmov %r1, %r10\nldxw %r0, [%r1-4]\nexit");
        REQUIRE_FALSE(insns);
        CHECK_THAT(insns.error().why, Catch::Contains("some paths"));
    }
    SECTION("write to ctx")
    {
        auto insns = rewritten("stw [%r1+0], 1\nexit");
        REQUIRE_FALSE(insns);
        CHECK_THAT(insns.error().why, Catch::Contains("write to the xdp_md"));
    }
    SECTION("field outside xdp_md")
    {
        auto insns = rewritten("ldxw %r0, [%r1+24]\nexit");
        REQUIRE_FALSE(insns);
        CHECK_THAT(insns.error().why, Catch::Contains("invalid access to xdp_md at offset 24"));
    }
    SECTION("narrow load of a pointer field")
    {
        auto insns = rewritten("ldxh %r0, [%r1+0]\nexit");
        REQUIRE_FALSE(insns);
    }
}
