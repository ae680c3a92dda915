#include "offload/rte_bpf_program.hpp"

#include "host-runtime/program_image.hpp"
#include "host-runtime/verifier/verifier.hpp"
#include "offload/rte_bpf_helpers.hpp"

#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

namespace harmony::dpdk {
namespace {

constexpr uint8_t kCallOpcode = 0x85;   // BPF_JMP | BPF_CALL
constexpr uint32_t kMaxPacketWindow = 1 << 16;
constexpr uint16_t kBurstMax = 64;
constexpr uint64_t kXdpAborted = 0;

// Harmony's verifier models struct rte_mbuf by these offsets (host-runtime/verifier/context.cpp).
static_assert(offsetof(rte_mbuf, buf_addr) == 0 && offsetof(rte_mbuf, data_off) == 16);
static_assert(offsetof(rte_mbuf, nb_segs) == 20 && offsetof(rte_mbuf, port) == 22);
static_assert(offsetof(rte_mbuf, ol_flags) == 24 && offsetof(rte_mbuf, packet_type) == 32);
static_assert(offsetof(rte_mbuf, pkt_len) == 36 && offsetof(rte_mbuf, data_len) == 40);
static_assert(offsetof(rte_mbuf, vlan_tci) == 42 && offsetof(rte_mbuf, hash.rss) == 44);
static_assert(offsetof(rte_mbuf, vlan_tci_outer) == 52 && offsetof(rte_mbuf, buf_len) == 54);

// rte_bpf's x86 JIT calls external functions with a stack that is not 16-byte aligned
// (measured: SSE stores in a helper fault), so every helper realigns on entry.
#define HARMONY_RTE_BPF_HELPER __attribute__((force_align_arg_pointer))

HARMONY_RTE_BPF_HELPER uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

HARMONY_RTE_BPF_HELPER uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    return static_cast<uint32_t>(rte_rand());
}

HARMONY_RTE_BPF_HELPER uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    return rte_lcore_id();
}

const RteBpfHelper kScalarHelpers[] = {
    {5, "bpf_ktime_get_ns", ktime_get_ns, 0},
    {7, "bpf_get_prandom_u32", get_prandom_u32, 0},
    {8, "bpf_get_smp_processor_id", get_smp_processor_id, 0},
};

// rte_bpf logs its validator's reasons through rte_log; while loading, those lines are
// captured so a refusal can say why. rte_log's stream is process-wide, hence the lock.
class RteLogCapture {
public:
    RteLogCapture() : lock_(mutex_), previous_(rte_log_get_stream())
    {
        stream_ = open_memstream(&text_, &size_);
        if (stream_ != nullptr) {
            rte_openlog_stream(stream_);
        }
    }
    ~RteLogCapture()
    {
        restore();
        free(text_);
    }
    std::string text()
    {
        restore();
        std::string lines = text_ ? std::string(text_, size_) : std::string();
        while (!lines.empty() && lines.back() == '\n') {
            lines.pop_back();
        }
        return lines;
    }

private:
    void restore()
    {
        if (stream_ != nullptr) {
            rte_openlog_stream(previous_ == stderr ? nullptr : previous_);
            fclose(stream_);
            stream_ = nullptr;
        }
    }
    static inline std::mutex mutex_;
    std::lock_guard<std::mutex> lock_;
    FILE *previous_;
    FILE *stream_ = nullptr;
    char *text_ = nullptr;
    size_t size_ = 0;
};

// rte_bpf numbers calls by their index in the external-symbol table, not by helper id:
// every known helper becomes a symbol and each `call id` is rewritten to its index.
// Harmony's verifier has already refused calls to helpers not in the table.
std::vector<rte_bpf_xsym> bind_helper_calls(std::vector<ebpf_insn> &code, const std::vector<BoundHelper> &helpers)
{
    std::vector<rte_bpf_xsym> symbols;
    for (const auto &helper : helpers) {
        symbols.push_back(helper_symbol(helper));
    }
    for (auto &insn : code) {
        if (insn.code != kCallOpcode || insn.src_reg != 0) {
            continue; // bpf-to-bpf calls (src 1) are left for rte_bpf to refuse
        }
        auto helper = std::ranges::find(helpers, static_cast<uint32_t>(insn.imm), &BoundHelper::id);
        insn.imm = static_cast<int32_t>(helper - helpers.begin()); // out of the table when unknown
    }
    return symbols;
}

// Harmony's verifier, in rte_bpf's view of r1 and with exactly the helpers bound here, so
// that nothing runs on rte_bpf that Harmony has not proven safe: rte_bpf's validator alone
// lets, for instance, a stack address leak into the frame or the verdict.
Result<void> verify_for_rte_bpf(std::span<const isa::RawInsn> insns, const RteBpfOptions &options,
                                const std::vector<BoundHelper> &helpers, const std::string &which)
{
    auto decoded = isa::decode(insns);
    if (!decoded) {
        return fail("load on rte_bpf", which, decoded.error().why);
    }
    ProgramSection section{which, "", 0, std::move(*decoded)};
    verifier::Options checks;
    checks.raw_window = options.packet_window;
    checks.raw_context =
        options.context == RteBpfContext::Mbuf ? verifier::RawContext::Mbuf : verifier::RawContext::Window;
    checks.mbuf_buffer = RTE_MBUF_DEFAULT_BUF_SIZE;
    checks.prototypes = [&helpers](uint32_t id) -> const helpers::Prototype * {
        auto helper = std::ranges::find(helpers, id, &BoundHelper::id);
        return helper == helpers.end() ? nullptr : &helper->proto;
    };
    auto report = verifier::verify(section, {}, checks);
    if (!report.accepted) {
        std::string log = report.log;
        while (!log.empty() && log.back() == '\n') {
            log.pop_back();
        }
        return fail("load on rte_bpf", which, "Harmony's verifier refused it before rte_bpf_load:\n" + log);
    }
    return {};
}

rte_bpf_arg program_argument(const RteBpfOptions &options)
{
    if (options.context == RteBpfContext::Mbuf) {
        return {RTE_BPF_ARG_PTR_MBUF, sizeof(rte_mbuf), RTE_MBUF_DEFAULT_BUF_SIZE};
    }
    return {RTE_BPF_ARG_PTR, options.packet_window, 0};
}

} // namespace

std::span<const RteBpfHelper> scalar_helpers()
{
    return kScalarHelpers;
}

std::string_view engine_name(Engine engine)
{
    switch (engine) {
    case Engine::RteBpfJit:
        return "rte_bpf-jit";
    case Engine::RteBpfInterpreter:
        return "rte_bpf-interpreter";
    case Engine::HarmonyJit:
        return "harmony-jit";
    case Engine::HarmonyInterpreter:
        return "harmony-interpreter";
    }
    return "unknown";
}

Result<std::unique_ptr<RteBpfProgram>> RteBpfProgram::load(std::span<const isa::RawInsn> insns,
                                                           const RteBpfOptions &options, const std::string &which)
{
    static_assert(sizeof(ebpf_insn) == sizeof(isa::RawInsn));
    if (insns.empty()) {
        return fail("load on rte_bpf", which, "the program has no instructions");
    }
    if (options.context == RteBpfContext::Packet &&
        (options.packet_window == 0 || options.packet_window > kMaxPacketWindow)) {
        return fail("load on rte_bpf", which, fmt::format("packet window {} is not in 1..{}", options.packet_window,
                                                          kMaxPacketWindow));
    }
    auto helpers = rte_bpf_helper_table(options.helpers);
    if (!helpers) {
        return std::unexpected(helpers.error());
    }
    if (auto verified = verify_for_rte_bpf(insns, options, *helpers, which); !verified) {
        return std::unexpected(verified.error());
    }
    std::vector<ebpf_insn> code(insns.size());
    std::memcpy(code.data(), insns.data(), insns.size_bytes());
    auto symbols = bind_helper_calls(code, *helpers);

    rte_bpf_prm prm{};
    prm.ins = code.data();
    prm.nb_ins = static_cast<uint32_t>(code.size());
    prm.xsym = symbols.data();
    prm.nb_xsym = static_cast<uint32_t>(symbols.size());
    prm.prog_arg = program_argument(options);

    RteLogCapture log;
    rte_bpf *bpf = rte_bpf_load(&prm);
    int err = rte_errno;
    std::string validator_log = log.text();
    if (bpf == nullptr) {
        return fail("load on rte_bpf", which,
                    fmt::format("rte_bpf_load: {}{}{}", errno_text(err), validator_log.empty() ? "" : ": ",
                                validator_log));
    }
    auto program = std::unique_ptr<RteBpfProgram>(new RteBpfProgram());
    program->bpf_ = bpf;
    program->options_ = options;
    program->choice_ = {Engine::RteBpfInterpreter, "rte_bpf accepted the program; interpreter asked for"};
    if (options.jit) {
        rte_bpf_jit jit{};
        if (rte_bpf_get_jit(bpf, &jit) == 0 && jit.func != nullptr) {
            program->jit_ = jit.func;
            program->choice_ = {Engine::RteBpfJit,
                                fmt::format("rte_bpf accepted the program; JIT code {} bytes", jit.sz)};
        } else {
            program->choice_.reason = "rte_bpf accepted the program but produced no JIT code; interpreting";
        }
    }
    return program;
}

RteBpfProgram::~RteBpfProgram()
{
    rte_bpf_destroy(bpf_);
}

void *RteBpfProgram::context_of(rte_mbuf *mbuf, uint8_t *scratch) const
{
    if (options_.context == RteBpfContext::Mbuf) {
        // Both verifiers assumed RTE_MBUF_DEFAULT_BUF_SIZE bytes behind buf_addr.
        return mbuf->buf_len >= RTE_MBUF_DEFAULT_BUF_SIZE ? mbuf : nullptr;
    }
    auto *data = rte_pktmbuf_mtod(mbuf, uint8_t *);
    if (mbuf->data_len >= options_.packet_window) {
        return data;
    }
    // The validator assumed packet_window readable bytes: give short frames zeros after
    // their end rather than whatever the buffer held before.
    std::memset(scratch, 0, options_.packet_window);
    std::memcpy(scratch, data, mbuf->data_len);
    return scratch;
}

uint64_t RteBpfProgram::run(rte_mbuf *mbuf)
{
    std::vector<uint8_t> scratch(options_.packet_window);
    void *ctx = context_of(mbuf, scratch.data());
    if (ctx == nullptr) {
        return kXdpAborted;
    }
    uint64_t action = jit_ ? jit_(ctx) : rte_bpf_exec(bpf_, ctx);
    keep_stores(mbuf, ctx);
    return action;
}

void RteBpfProgram::keep_stores(rte_mbuf *mbuf, const void *ctx) const
{
    // A short frame ran in the zero-padded scratch window: what the program stored into
    // the frame's own bytes goes back into the mbuf. rte_bpf has no xdp_adjust_head/tail:
    // the frame's length is never changed here.
    if (options_.context == RteBpfContext::Packet && ctx != rte_pktmbuf_mtod(mbuf, void *)) {
        std::memcpy(rte_pktmbuf_mtod(mbuf, uint8_t *), ctx, mbuf->data_len);
    }
}

void RteBpfProgram::run_burst(rte_mbuf **mbufs, uint64_t *actions, uint16_t count)
{
    thread_local std::vector<uint8_t> scratch;
    scratch.resize(static_cast<size_t>(options_.packet_window) * kBurstMax);
    void *contexts[kBurstMax];
    for (uint16_t done = 0; done < count;) {
        uint16_t n = std::min<uint16_t>(count - done, kBurstMax);
        for (uint16_t i = 0; i < n; ++i) {
            contexts[i] = context_of(mbufs[done + i], scratch.data() + size_t(i) * options_.packet_window);
        }
        for (uint16_t i = 0; i < n; ++i) {
            if (contexts[i] == nullptr) {
                actions[done + i] = kXdpAborted;
            } else {
                actions[done + i] = jit_ ? jit_(contexts[i]) : rte_bpf_exec(bpf_, contexts[i]);
                keep_stores(mbufs[done + i], contexts[i]);
            }
        }
        done += n;
    }
}

Result<PacketOutcome> RteBpfProgram::run_one(rte_mbuf *mbuf)
{
    return PacketOutcome{static_cast<uint32_t>(run(mbuf)), {}, {}}; // the frame: the mbuf, stored into in place
}

Result<std::vector<isa::RawInsn>> read_program_insns(const std::string &object_path, const std::string &program)
{
    auto image = load_program_image(object_path);
    if (!image) {
        return std::unexpected(image.error());
    }
    const ProgramSection *section = program.empty() ? nullptr : image->program(program);
    if (program.empty() && !image->programs.empty()) {
        section = &image->programs.front();
    }
    if (section == nullptr) {
        return fail("read BPF object", object_path,
                    fmt::format("no program '{}' in it", program.empty() ? "(any)" : program));
    }
    // rte_bpf takes the 8-byte slots; the loader keeps each one as read (Insn::raw).
    std::vector<isa::RawInsn> slots;
    slots.reserve(section->insns.size());
    for (const auto &insn : section->insns) {
        slots.push_back(insn.raw);
    }
    return slots;
}

} // namespace harmony::dpdk
