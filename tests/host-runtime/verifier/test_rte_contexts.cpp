// rte_bpf's two program arguments, as Harmony's verifier models them for programs of no
// known type: the frame window (RawContext::Window, raw_window bytes) and the read-only
// struct rte_mbuf (RawContext::Mbuf: scalar fields, buf_addr as mbuf_buffer bytes,
// BPF_LD_[ABS|IND] with the mbuf in r6). offload/ runs these checks before rte_bpf_load.
#include "host-runtime/isa/assembler.hpp"
#include "host-runtime/verifier/verifier.hpp"

#include <catch2/catch.hpp>

using namespace harmony;
using verifier::RawContext;

namespace {

verifier::Report check(const char *source, RawContext context, uint32_t window = 64)
{
    auto slots = isa::assemble(source);
    REQUIRE(slots.has_value());
    auto insns = isa::decode(*slots);
    REQUIRE(insns.has_value());
    ProgramSection section{"rte", "", 0, std::move(*insns)};
    verifier::Options options;
    options.raw_context = context;
    options.raw_window = window;
    options.mbuf_buffer = 2176;
    return verifier::verify(section, {}, options);
}

void refused_with(const verifier::Report &report, const std::string &fragment)
{
    INFO(report.log);
    REQUIRE_FALSE(report.accepted);
    CHECK(report.log.find(fragment) != std::string::npos);
}

} // namespace

TEST_CASE("mbuf context: the frame through buf_addr + data_off, bounded", "[verifier][rte_bpf]")
{
    const char *checked = "ldxdw %r2, [%r1+0]\n ldxh %r3, [%r1+16]\n mov %r0, 2\n jgt %r3, 1024, +3\n"
                          " add %r2, %r3\n ldxb %r0, [%r2+12]\n ldxh %r4, [%r1+40]\n exit\n";
    auto accepted = check(checked, RawContext::Mbuf);
    INFO(accepted.log);
    CHECK(accepted.accepted);
    // Without the check, data_off reaches 65535.
    const char *unchecked = "ldxdw %r2, [%r1+0]\n ldxh %r3, [%r1+16]\n add %r2, %r3\n ldxb %r0, [%r2+12]\n exit\n";
    refused_with(check(unchecked, RawContext::Mbuf),
                 "3: r0 = *(u8 *)(r2 +12)\ninvalid access to memory, mem_size=2176");
    // Past the buffer with a constant offset.
    refused_with(check("ldxdw %r2, [%r1+0]\n ldxb %r0, [%r2+2176]\n exit\n", RawContext::Mbuf),
                 "invalid access to memory, mem_size=2176 off=2176 size=1");
}

TEST_CASE("mbuf context: only the modelled fields, at their size, read-only", "[verifier][rte_bpf]")
{
    CHECK(check("ldxw %r0, [%r1+36]\n exit\n", RawContext::Mbuf).accepted); // pkt_len
    refused_with(check("ldxw %r0, [%r1+40]\n exit\n", RawContext::Mbuf), "invalid bpf_context access off=40 size=4");
    refused_with(check("ldxdw %r0, [%r1+56]\n exit\n", RawContext::Mbuf), "invalid bpf_context access off=56 size=8");
    refused_with(check("sth [%r1+40], 0\n mov %r0, 2\n exit\n", RawContext::Mbuf), "rte_mbuf.data_len is read-only");
    // The window context has no fields: r1 is the frame.
    CHECK(check("ldxw %r0, [%r1+36]\n exit\n", RawContext::Window).accepted);
    refused_with(check("ldxw %r0, [%r1+62]\n exit\n", RawContext::Window), "mem_size=64 off=62 size=4");
}

TEST_CASE("BPF_LD_[ABS|IND]: on the mbuf with r6 = ctx only", "[verifier][rte_bpf]")
{
    auto accepted = check("mov %r6, %r1\n ldabsh 12\n ldindb %r0, 14\n mov %r0, 2\n exit\n", RawContext::Mbuf);
    INFO(accepted.log);
    CHECK(accepted.accepted);
    refused_with(check("ldabsb 12\n exit\n", RawContext::Mbuf), "R6 != pointer to skb");
    refused_with(check("mov %r6, %r1\n ldindb %r1, 14\n exit\n", RawContext::Mbuf),
                 "R1 pointer used as BPF_LD_IND offset");
    // r1-r5 do not survive the load.
    refused_with(check("mov %r6, %r1\n ldabsb 12\n mov %r0, %r2\n exit\n", RawContext::Mbuf), "R2 !read_ok");
    refused_with(check("mov %r6, %r1\n ldabsb 12\n exit\n", RawContext::Window),
                 "BPF_LD_[ABS|IND] instructions not allowed");
}
