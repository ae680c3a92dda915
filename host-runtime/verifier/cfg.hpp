// The program's shape, checked before any state is explored: jump and call targets
// inside the program and inside their function, the last instruction an exit or a jump,
// no unreachable instruction, no recursion; and what the explorer needs from it: where
// states meet (prune points), which instructions lie on a cycle (no pruning there, so
// loops are unrolled until they end), and which function each instruction belongs to.
#pragma once

#include "host-runtime/insn.hpp"

#include <cstdint>
#include <expected>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace harmony::verifier {

struct Cfg {
    std::vector<bool> prune_point;                   ///< a jump target or the fall-through of a conditional jump
    std::vector<bool> in_loop;                       ///< on a cycle of its function's control flow
    std::vector<uint32_t> func_of;                   ///< entry pc of the function holding each pc
    std::map<uint32_t, std::vector<uint32_t>> calls; ///< function entry -> entries it calls (callbacks too)
    std::set<uint32_t> callbacks;                    ///< functions whose address is taken (bpf_loop callbacks)
    /// Loop head -> its natural loop body (the explorer lets a head wait for its body).
    std::map<uint32_t, std::vector<bool>> loops;
};

struct CfgError {
    int64_t pc = -1;
    std::string reason;
};

std::expected<Cfg, CfgError> build_cfg(std::span<const isa::Insn> insns);

bool is_cond_jump(isa::Op op);

} // namespace harmony::verifier
