// Random XDP programs for differential fuzzing: snippets that touch exactly what the
// verifiers argue about (packet bounds checks and reads, stack slots near the 512-byte
// edge, map lookups with and without null checks, pointer stores, bounded and unbounded
// loops, early exits), stitched with forward jumps to a common exit.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace harmony::test {

struct GeneratedProgram {
    std::vector<bpf_insn> insns; ///< ld_imm64 map references carry imm = map index (patch per consumer)
    /// (slot, map index) of each ld_imm64 that loads a map: 0 the array map (4-byte keys,
    /// 8-byte values, 4 entries), 1 the ring buffer (4096 bytes).
    std::vector<std::pair<size_t, int>> map_refs;
    std::string recipe; ///< the snippets, for the failure message
};

GeneratedProgram generate_program(std::mt19937_64 &rng);

} // namespace harmony::test
