// rte_bpf runs on the mbuf's bytes: what a program stores into the frame is the frame the
// forwarder sends, short frames (run in a zero-padded copy of the window) included. rte_bpf
// has no xdp_adjust_head/tail, so the frame's length never changes there.
#include "offload/rte_bpf_program.hpp"
#include "tests/support/raw_insn.hpp"

#include <catch2/catch.hpp>
#include <rte_mbuf.h>

#include <vector>

using namespace harmony;
using namespace harmony::dpdk;
using harmony::test::insn;
using harmony::test::kExit;
using harmony::test::kR0Pass;

TEST_CASE("rte_bpf's stores into the frame stay in the mbuf, short frames included", "[dpdk][rte_bpf][rewrite]")
{
    bool jit = GENERATE(true, false);
    uint16_t length = GENERATE(as<uint16_t>{}, 100, 20);
    INFO((jit ? "JIT" : "interpreter") << ", " << length << "-byte frame");
    // *(u8 *)(r1 + 0) = 0x42; *(u8 *)(r1 + 13) = 0x24; r0 = XDP_PASS; exit
    std::vector<isa::RawInsn> code = {insn(0x72, 1, 0, 0, 0x42), insn(0x72, 1, 0, 13, 0x24), kR0Pass, kExit};
    auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .packet_window = 64}, "frame writer");
    INFO((program ? std::string() : program.error().message()));
    REQUIRE(program);
    std::vector<uint8_t> buffer(256, 0x11);
    rte_mbuf mbuf{};
    mbuf.buf_addr = buffer.data();
    mbuf.buf_len = static_cast<uint16_t>(buffer.size());
    mbuf.data_off = 16;
    mbuf.data_len = length;
    mbuf.pkt_len = length;
    mbuf.nb_segs = 1;
    REQUIRE((*program)->run_one(&mbuf).has_value());
    CHECK(buffer[16] == 0x42);
    CHECK(buffer[16 + 13] == 0x24);
    CHECK(buffer[16 + 1] == 0x11);
    CHECK(mbuf.data_off == 16);
    CHECK(mbuf.data_len == length);
    CHECK(buffer[16 + length] == 0x11); // nothing past the frame's end (the padding stays in the copy)
}
