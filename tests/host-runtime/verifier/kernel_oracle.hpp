// The kernel of this machine as the verifier's oracle: load an object (or raw
// instructions) with libbpf and report whether the kernel's verifier accepted it, with its
// log. Needs root; callers skip when kernel_available() is false.
#pragma once

#include <linux/bpf.h>

#include <optional>
#include <string>
#include <vector>

namespace harmony::test {

struct KernelVerdict {
    bool accepted = false;
    std::string log;
    std::optional<long> verification_usec; ///< "verification time N usec", at BPF_LOG_STATS
};

bool kernel_available();

/// Loads every program of the object (log level 1 + stats) and unloads it again.
KernelVerdict kernel_verify_object(const std::string &path);

/// Loads raw XDP instructions, with `map_fd` available to ld_imm64 pseudo map fd.
KernelVerdict kernel_verify_insns(const std::vector<bpf_insn> &insns);

} // namespace harmony::test
