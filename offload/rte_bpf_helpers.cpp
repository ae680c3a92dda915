#include "offload/rte_bpf_helpers.hpp"

#include "host-runtime/verifier/verifier.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>

namespace harmony::dpdk {
namespace {

using HelperFn = uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

// rte_bpf's JIT calls external functions with a misaligned stack (see rte_bpf_program.hpp)
// and Harmony helpers are ordinary functions: each one gets a trampoline slot that
// realigns the stack and calls it. Slots are handed out once per helper id for the life of
// the process, as registered helpers are never removed.
constexpr size_t kTrampolines = 64;
std::array<std::atomic<HelperFn>, kTrampolines> g_trampoline_target{};

template <size_t N>
__attribute__((force_align_arg_pointer)) uint64_t trampoline(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                                                             uint64_t e)
{
    return g_trampoline_target[N].load(std::memory_order_acquire)(a, b, c, d, e);
}

template <size_t... N> constexpr std::array<HelperFn, sizeof...(N)> make_trampolines(std::index_sequence<N...>)
{
    return {&trampoline<N>...};
}
constexpr auto kTrampolineFns = make_trampolines(std::make_index_sequence<kTrampolines>{});

Result<HelperFn> trampoline_for(const helpers::Helper &helper)
{
    static std::mutex mutex;
    static std::map<uint32_t, size_t> slot_of_id;
    std::lock_guard lock(mutex);
    auto [it, added] = slot_of_id.try_emplace(helper.id, slot_of_id.size());
    if (it->second >= kTrampolines) {
        slot_of_id.erase(it);
        return fail("bind helper for rte_bpf", helper.proto.name,
                    fmt::format("more than {} Harmony helpers are registered", kTrampolines));
    }
    g_trampoline_target[it->second].store(helper.fn, std::memory_order_release);
    return kTrampolineFns[it->second];
}

helpers::Prototype scalar_prototype(const RteBpfHelper &helper)
{
    helpers::Prototype proto{helper.name};
    for (uint32_t i = 0; i < helper.nb_args && i < 5; ++i) {
        proto.args[i] = helpers::Arg::Scalar;
    }
    return proto;
}

bool is_pointer_arg(helpers::Arg arg)
{
    using helpers::Arg;
    return arg == Arg::Mem || arg == Arg::MemWritable || arg == Arg::MemUninit || arg == Arg::Ctx ||
           arg == Arg::MapKey || arg == Arg::MapValue;
}

} // namespace

Result<std::vector<BoundHelper>> rte_bpf_helper_table(std::span<const RteBpfHelper> extra)
{
    std::vector<BoundHelper> table;
    for (const auto &helper : scalar_helpers()) {
        const helpers::Prototype *linux_proto = verifier::builtin_prototype(helper.id);
        table.push_back({helper.id, linux_proto ? *linux_proto : scalar_prototype(helper), helper.fn});
    }
    for (const helpers::Helper *helper : helpers::all_helpers()) {
        if (helper->id < helpers::kHarmonyBase) {
            continue;
        }
        auto fn = trampoline_for(*helper);
        if (!fn) {
            return std::unexpected(fn.error());
        }
        table.push_back({helper->id, helper->proto, *fn});
    }
    for (const auto &helper : extra) {
        table.push_back({helper.id, scalar_prototype(helper), helper.fn});
    }
    return table;
}

rte_bpf_xsym helper_symbol(const BoundHelper &helper)
{
    rte_bpf_xsym symbol{};
    symbol.name = helper.proto.name.c_str();
    symbol.type = RTE_BPF_XTYPE_FUNC;
    symbol.func.val = helper.fn;
    uint32_t nb_args = 0;
    for (uint32_t i = 0; i < 5; ++i) {
        if (helper.proto.args[i] != helpers::Arg::None) {
            nb_args = i + 1;
        }
    }
    symbol.func.nb_args = nb_args;
    for (uint32_t i = 0; i < nb_args; ++i) {
        bool pointer = is_pointer_arg(helper.proto.args[i]);
        symbol.func.args[i] = {pointer ? RTE_BPF_ARG_PTR : RTE_BPF_ARG_RAW, pointer ? 1 : sizeof(uint64_t), 0};
    }
    symbol.func.ret = {RTE_BPF_ARG_RAW, sizeof(uint64_t), 0};
    return symbol;
}

} // namespace harmony::dpdk
