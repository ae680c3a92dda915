// The Linux helpers Harmony implements, grouped by what they touch. Internal to helpers/:
// registry.cpp collects them into the table find_helper() searches.
#pragma once

#include "helper.hpp"

#include <vector>

namespace harmony::helpers {

std::vector<Helper> map_helpers();     ///< map_lookup/update/delete_elem
std::vector<Helper> ringbuf_helpers(); ///< ringbuf_reserve/submit/discard/output
std::vector<Helper> xdp_helpers();     ///< xdp_adjust_head/tail/meta, redirect, redirect_map, tail_call
std::vector<Helper> misc_helpers();    ///< time, random, cpu, trace_printk, csum_diff, loop

/// Writes one bpf_trace_printk line to the current sink.
void emit_trace(std::string_view line);

} // namespace harmony::helpers
