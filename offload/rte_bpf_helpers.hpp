// The helpers a program on rte_bpf may call, as one table: rte_bpf's external symbols
// (function, argument types) and the prototypes Harmony's verifier checks calls against.
// Internal to offload/.
#pragma once

#include "helpers/helper.hpp"
#include "offload/rte_bpf_program.hpp"

#include <rte_bpf.h>

#include <span>
#include <string>
#include <vector>

namespace harmony::dpdk {

struct BoundHelper {
    uint32_t id = 0;
    helpers::Prototype proto;
    uint64_t (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) = nullptr;
};

/// scalar_helpers(), then every registered Harmony helper (id >= helpers::kHarmonyBase),
/// then `extra`. Harmony helpers are called through stack-realigning trampolines; the
/// error names a Harmony helper that cannot get one (more than the trampolines there are).
Result<std::vector<BoundHelper>> rte_bpf_helper_table(std::span<const RteBpfHelper> extra);

/// The external symbol rte_bpf binds `call <index>` to. Pointer arguments (memory,
/// context) become RTE_BPF_ARG_PTR of one byte: rte_bpf then checks that a pointer (to the
/// frame, the stack or the mbuf) is passed, and Harmony's verifier, which ran first, has
/// proven the whole size against the prototype's size argument; everything else is RAW.
rte_bpf_xsym helper_symbol(const BoundHelper &helper);

} // namespace harmony::dpdk
