// The requirements scanner on hand-assembled instructions (the decoded isa::Insn form), so
// each expectation points at the instruction that causes it.
#include "capabilities/capabilities.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

using namespace harmony;
using namespace harmony::caps;
using isa::Insn;
using isa::Op;

namespace {

Insn make(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0, bool is64 = true)
{
    Insn insn;
    insn.op = op;
    insn.dst = dst;
    insn.src = src;
    insn.off = off;
    insn.imm = imm;
    insn.is64 = is64;
    return insn;
}

Insn mov_reg(uint8_t dst, uint8_t src)
{
    Insn insn = make(Op::Mov, dst, src);
    insn.src_is_reg = true;
    return insn;
}

Insn load(uint8_t size, uint8_t dst, uint8_t src, int16_t off)
{
    Insn insn = make(Op::Load, dst, src, off);
    insn.size = size;
    return insn;
}

Insn store_imm(uint8_t size, uint8_t dst, int16_t off, int32_t imm)
{
    Insn insn = make(Op::StoreImm, dst, 0, off, imm);
    insn.size = size;
    return insn;
}

Insn map_ref(uint8_t dst, int32_t index)
{
    Insn insn = make(Op::LoadImm64, dst, 0, 0, index);
    insn.pseudo = isa::kMapIdx;
    return insn;
}

MapSpec map_spec(const char *name, uint32_t type)
{
    MapSpec spec;
    spec.info = MapInfo{name, type, 4, 8, 16, 0};
    return spec;
}

/// A main program with a loop, a map lookup and a call to a subprogram that calls hs_match.
std::vector<Insn> sample_program()
{
    return {
        mov_reg(6, 1),                              // 0: r6 = ctx
        load(4, 2, 6, 0),                           // 1: r2 = ctx->data
        load(4, 3, 6, 4),                           // 2: r3 = ctx->data_end
        store_imm(8, 10, -16, 0),                   // 3: *(u64 *)(r10 - 16) = 0
        make(Op::Mov, 0, 0, 0, 1, false),           // 4: w0 = 1
        map_ref(1, 1),                              // 5: r1 = map 'flows'
        make(Op::Filler),                           // 6
        make(Op::Call, 0, 0, 0, BPF_FUNC_map_lookup_elem), // 7
        make(Op::Jeq, 0, 0, 1, 0, false),           // 8: if w0 == 0 goto 10
        make(Op::CallLocal, 0, 1, 0, 3),            // 9: call 13
        make(Op::Add, 0, 0, 0, 1),                  // 10: r0 += 1
        make(Op::Jlt, 0, 0, -2, 4),                 // 11: if r0 < 4 goto 10 (back edge)
        make(Op::Exit),                             // 12
        store_imm(8, 10, -32, 0),                   // 13: subprogram: 32 bytes of stack
        make(Op::Call, 0, 0, 0, 0x10001),           // 14: hs_match
        make(Op::Exit),                             // 15
    };
}

} // namespace

TEST_CASE("requirements: instruction classes, helpers, maps, loops, context fields, stack", "[capabilities]")
{
    std::vector<Insn> insns = sample_program();
    std::vector<MapSpec> maps = {map_spec("blocklist", BPF_MAP_TYPE_LPM_TRIE), map_spec("flows", BPF_MAP_TYPE_LRU_HASH)};
    auto req = scan_requirements(insns, maps);
    REQUIRE(req);
    CHECK(req->insn_count == 16);

    REQUIRE(req->uses(InsnClass::Alu32));
    CHECK(req->uses(InsnClass::Alu32)->pc == 4);
    REQUIRE(req->uses(InsnClass::Jmp32));
    CHECK(req->uses(InsnClass::Jmp32)->pc == 8);
    REQUIRE(req->uses(InsnClass::BpfCall));
    CHECK(req->uses(InsnClass::BpfCall)->pc == 9);
    REQUIRE(req->uses(InsnClass::MapReference));
    CHECK(req->uses(InsnClass::MapReference)->pc == 5);
    REQUIRE(req->uses(InsnClass::Loop));
    CHECK(req->uses(InsnClass::Loop)->pc == 11);
    CHECK(req->loops == 1);
    CHECK_FALSE(req->uses(InsnClass::AtomicAdd));
    CHECK_FALSE(req->uses(InsnClass::MovSx));

    REQUIRE(req->helpers.size() == 2);
    CHECK(req->helpers[0].name == "map_lookup_elem");
    CHECK(req->helpers[0].pc == 7);
    CHECK(req->helpers[1].id == 0x10001);
    CHECK(req->helpers[1].name == "hs_match");
    CHECK(req->calls_harmony_helper());

    // Only the referenced map counts.
    REQUIRE(req->maps.size() == 1);
    CHECK(req->maps[0].name == "flows");

    REQUIRE(req->ctx_fields.size() == 2);
    CHECK(req->ctx_fields[0].name == "data");
    CHECK(req->ctx_fields[1].name == "data_end");

    // Frames stack along the call chain: 16 (main) + 32 (subprogram).
    CHECK(req->stack_bytes == 48);
}

TEST_CASE("requirements: v4 instructions and atomics are told apart", "[capabilities]")
{
    Insn movsx = make(Op::MovSx, 0, 1);
    movsx.src_is_reg = true;
    movsx.size = 1;
    Insn xadd = make(Op::Atomic, 10, 1, -8);
    xadd.atomic = isa::AtomicOp::Add;
    xadd.size = 8;
    Insn fetch = xadd;
    fetch.atomic = isa::AtomicOp::FetchAdd;
    std::vector<Insn> insns = {store_imm(8, 10, -8, 0), movsx, xadd, fetch, make(Op::SDiv, 0, 0, 0, 2),
                               make(Op::Ja, 0, 0, 0, 0, false), make(Op::Exit)};
    auto req = scan_requirements(insns, {});
    REQUIRE(req);
    CHECK(req->uses(InsnClass::MovSx));
    CHECK(req->uses(InsnClass::AtomicAdd)->pc == 2);
    CHECK(req->uses(InsnClass::AtomicFetch)->pc == 3);
    CHECK(req->uses(InsnClass::SignedDiv));
    CHECK(req->uses(InsnClass::Ja32));
    CHECK_FALSE(req->uses(InsnClass::Loop));
    CHECK(req->stack_bytes == 8);
}

TEST_CASE("requirements: bad input is refused with the instruction named", "[capabilities]")
{
    std::vector<Insn> insns = {map_ref(1, 7), make(Op::Filler), make(Op::Exit)};
    auto req = scan_requirements(insns, {});
    REQUIRE_FALSE(req);
    CHECK(req.error().which == "insn 0");
    CHECK_THAT(req.error().why, Catch::Contains("map reference 7"));

    auto empty = scan_requirements({}, {});
    REQUIRE_FALSE(empty);

    auto missing = read_requirements(std::string("/nonexistent/x.bpf.o"));
    REQUIRE_FALSE(missing);
}
