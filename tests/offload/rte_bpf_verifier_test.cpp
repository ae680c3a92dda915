// Harmony's verifier in front of rte_bpf: programs rte_bpf's own validator accepts but
// that are unsafe (they leak addresses; rte_bpf itself catches uninitialised stack and
// out-of-window reads, measured on 22.11) never reach rte_bpf_load; the mbuf context is modelled (fields,
// buf_addr, BPF_LD_[ABS|IND]); registered Harmony helpers become rte_bpf external symbols
// with pointer arguments, so a program passes a frame pointer to one.
#include "offload/dpdk.hpp"
#include "tests/support/raw_insn.hpp"

#include "helpers/helper.hpp"

#include <catch2/catch.hpp>

#include <rte_bpf.h>
#include <rte_mbuf.h>

#include <numeric>
#include <vector>

using namespace harmony;
using namespace harmony::dpdk;
using harmony::test::insn;
using harmony::test::kExit;
using harmony::test::kR0Pass;

namespace {

constexpr uint32_t kXdpAborted = 0, kXdpDrop = 1, kXdpPass = 2;

// What rte_bpf's own validator says about `code` with the frame window as argument.
bool rte_bpf_alone_accepts(const std::vector<isa::RawInsn> &code, rte_bpf_arg argument)
{
    rte_bpf_prm prm{};
    prm.ins = reinterpret_cast<const ebpf_insn *>(code.data());
    prm.nb_ins = static_cast<uint32_t>(code.size());
    prm.prog_arg = argument;
    rte_bpf *bpf = rte_bpf_load(&prm);
    rte_bpf_destroy(bpf);
    return bpf != nullptr;
}

// An mbuf over a full-size buffer holding `frame` at the default headroom.
struct TestMbuf {
    std::vector<uint8_t> buffer = std::vector<uint8_t>(RTE_MBUF_DEFAULT_BUF_SIZE);
    rte_mbuf mbuf{};
    explicit TestMbuf(const std::vector<uint8_t> &frame)
    {
        mbuf.buf_addr = buffer.data();
        mbuf.buf_len = static_cast<uint16_t>(buffer.size());
        mbuf.data_off = RTE_PKTMBUF_HEADROOM;
        mbuf.data_len = static_cast<uint16_t>(frame.size());
        mbuf.pkt_len = mbuf.data_len;
        mbuf.nb_segs = 1;
        std::copy(frame.begin(), frame.end(), buffer.begin() + RTE_PKTMBUF_HEADROOM);
    }
};

// The test-only Harmony helper: the sum of `len` bytes at `data`.
constexpr uint32_t kSumBytesId = helpers::kHarmonyBase + 0x7e57;

uint64_t sum_bytes(uint64_t data, uint64_t len, uint64_t, uint64_t, uint64_t)
{
    auto *bytes = reinterpret_cast<const uint8_t *>(data);
    return std::accumulate(bytes, bytes + len, uint64_t{0});
}

void register_sum_bytes()
{
    static bool registered = [] {
        helpers::Prototype proto{"test_sum_bytes", helpers::Ret::Integer,
                                 {helpers::Arg::Mem, helpers::Arg::Size}};
        return helpers::register_helper({kSumBytesId, proto, sum_bytes}).has_value();
    }();
    REQUIRE(registered);
}

} // namespace

TEST_CASE("Harmony's verifier refuses what rte_bpf alone would run", "[dpdk][rte_bpf][verifier][bad-input]")
{
    struct Unsafe {
        const char *description;
        std::vector<isa::RawInsn> code;
        const char *log; ///< the verifier's instruction index, instruction and reason
    };
    std::vector<Unsafe> programs = {
        // *(u64 *)(r1 + 0) = r10; r0 = PASS; exit: the stack address leaks into the frame
        {"stack address written into the frame", {insn(0x7b, 1, 10, 0, 0), kR0Pass, kExit},
         "0: *(u64 *)(r1 +0) = r10\nR1 leaks addr into mem"},
        // r0 = r1; exit: the frame address is the verdict
        {"frame address returned", {insn(0xbf, 0, 1, 0, 0), kExit}, "R0 leaks addr as return value"},
    };
    for (const auto &p : programs) {
        INFO(p.description);
        CHECK(rte_bpf_alone_accepts(p.code, {RTE_BPF_ARG_PTR, 64, 0}));
        auto loaded = RteBpfProgram::load(p.code, RteBpfOptions{}, p.description);
        REQUIRE_FALSE(loaded);
        INFO(loaded.error().message());
        CHECK(loaded.error().why.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
        CHECK(loaded.error().why.find(p.log) != std::string::npos);
    }
}

TEST_CASE("rte_bpf window: the verifier checks reads against packet_window", "[dpdk][rte_bpf][verifier]")
{
    // r0 = *(u8 *)(r1 + 100); exit
    std::vector<isa::RawInsn> code = {insn(0x71, 0, 1, 100, 0), kExit};
    auto small = RteBpfProgram::load(code, RteBpfOptions{.packet_window = 64}, "byte 100 of 64");
    REQUIRE_FALSE(small);
    CHECK(small.error().why.find("0: r0 = *(u8 *)(r1 +100)\ninvalid access to memory, mem_size=64 off=100 size=1") !=
          std::string::npos);
    auto large = RteBpfProgram::load(code, RteBpfOptions{.packet_window = 128}, "byte 100 of 128");
    REQUIRE(large);
}

TEST_CASE("rte_bpf mbuf context: fields, buf_addr + data_off and BPF_LD_ABS, verified then run",
          "[dpdk][rte_bpf][verifier]")
{
    bool jit = GENERATE(true, false);
    INFO((jit ? "JIT" : "interpreter"));
    std::vector<uint8_t> frame(60, 0);
    frame[12] = 0x08; // IPv4
    TestMbuf m(frame);
    auto buf_addr = static_cast<int16_t>(offsetof(rte_mbuf, buf_addr));
    auto data_off = static_cast<int16_t>(offsetof(rte_mbuf, data_off));

    SECTION("the frame through buf_addr + data_off, bounded by a check")
    {
        // r2 = buf_addr; r3 = data_off; r0 = PASS; if r3 > 1024 goto exit; r2 += r3;
        // r3 = *(u8 *)(r2 + 12); if r3 == 8 goto exit; r0 = DROP; exit
        std::vector<isa::RawInsn> code = {insn(0x79, 2, 1, buf_addr, 0), insn(0x69, 3, 1, data_off, 0), kR0Pass,
                                          insn(0x25, 3, 0, 4, 1024),      insn(0x0f, 2, 3, 0, 0),
                                          insn(0x71, 3, 2, 12, 0),        insn(0x15, 3, 0, 1, 8),
                                          insn(0xb7, 0, 0, 0, kXdpDrop),  kExit};
        auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "mtod");
        INFO((program ? std::string() : program.error().message()));
        REQUIRE(program);
        CHECK((*program)->run(&m.mbuf) == kXdpPass);
        m.buffer[RTE_PKTMBUF_HEADROOM + 12] = 0x86;
        CHECK((*program)->run(&m.mbuf) == kXdpDrop);

        // Without the check data_off may reach 65535, past the buffer.
        code.erase(code.begin() + 3);
        auto unchecked = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "mtod");
        REQUIRE_FALSE(unchecked);
        CHECK(unchecked.error().why.find("invalid access to memory, mem_size=2176") != std::string::npos);
    }
    SECTION("BPF_LD_ABS reads the frame; r6 must hold the mbuf")
    {
        // r6 = r1; r0 = ld_abs_b[12]; if r0 == 8 goto +1; r0 = DROP... : PASS when byte 12 is 8
        std::vector<isa::RawInsn> code = {insn(0xbf, 6, 1, 0, 0), insn(0x30, 0, 0, 0, 12),
                                          insn(0x15, 0, 0, 2, 8), insn(0xb7, 0, 0, 0, kXdpDrop), kExit, kR0Pass,
                                          kExit};
        auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "ld_abs");
        INFO((program ? std::string() : program.error().message()));
        REQUIRE(program);
        CHECK((*program)->run(&m.mbuf) == kXdpPass);
        m.buffer[RTE_PKTMBUF_HEADROOM + 12] = 0x86;
        CHECK((*program)->run(&m.mbuf) == kXdpDrop);

        code.erase(code.begin()); // r6 no longer the mbuf
        auto refused = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "no r6");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().why.find("R6 != pointer to skb") != std::string::npos);
    }
    SECTION("mbuf fields are read-only")
    {
        // *(u16 *)(r1 + data_off) = 0
        std::vector<isa::RawInsn> code = {insn(0x6a, 1, 0, data_off, 0), kR0Pass, kExit};
        auto refused = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "store");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().why.find("rte_mbuf.data_off is read-only") != std::string::npos);
    }
    SECTION("BPF_LD_ABS is refused on the frame window")
    {
        std::vector<isa::RawInsn> code = {insn(0xbf, 6, 1, 0, 0), insn(0x30, 0, 0, 0, 12), kExit};
        auto refused = RteBpfProgram::load(code, RteBpfOptions{.jit = jit}, "ld_abs on window");
        REQUIRE_FALSE(refused);
        CHECK(refused.error().why.find("BPF_LD_[ABS|IND] instructions not allowed") != std::string::npos);
    }
}

TEST_CASE("registered Harmony helpers are rte_bpf external symbols, frame pointers included",
          "[dpdk][rte_bpf][helpers]")
{
    register_sum_bytes();
    bool jit = GENERATE(true, false);
    INFO((jit ? "JIT" : "interpreter"));
    // r2 = 16; call test_sum_bytes(r1 = frame, r2); exit
    std::vector<isa::RawInsn> code = {insn(0xb7, 2, 0, 0, 16), insn(0x85, 0, 0, 0, static_cast<int32_t>(kSumBytesId)),
                                      kExit};
    auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit}, "sum of 16 bytes");
    INFO((program ? std::string() : program.error().message()));
    REQUIRE(program);
    CHECK((*program)->jitted() == jit);
    std::vector<uint8_t> frame(64);
    std::iota(frame.begin(), frame.end(), uint8_t{1});
    TestMbuf m(frame);
    CHECK((*program)->run(&m.mbuf) == 136); // 1 + 2 + ... + 16

    SECTION("a size past the window is the verifier's refusal")
    {
        code[0] = insn(0xb7, 2, 0, 0, 65);
        auto refused = RteBpfProgram::load(code, RteBpfOptions{.jit = jit}, "sum of 65 bytes");
        REQUIRE_FALSE(refused);
        INFO(refused.error().message());
        CHECK(refused.error().why.find("1: call") != std::string::npos);
        CHECK(refused.error().why.find("mem_size=64") != std::string::npos);
    }
    SECTION("a stack buffer works too")
    {
        // *(u64 *)(r10 - 8) = 0x0102; r1 = r10; r1 += -8; r2 = 8; call; exit
        std::vector<isa::RawInsn> stack = {insn(0x7a, 10, 0, -8, 0x0102), insn(0xbf, 1, 10, 0, 0),
                                           insn(0x07, 1, 0, 0, -8),       insn(0xb7, 2, 0, 0, 8),
                                           code[1],                       kExit};
        auto on_stack = RteBpfProgram::load(stack, RteBpfOptions{.jit = jit}, "sum of the stack");
        INFO((on_stack ? std::string() : on_stack.error().message()));
        REQUIRE(on_stack);
        CHECK((*on_stack)->run(&m.mbuf) == 3);
    }
}
