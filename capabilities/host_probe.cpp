// The host runtime (always there: it is this process) and Hyperscan.
#include "capabilities.hpp"
#include "helpers/helper.hpp"

#include <hs/hs.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>

namespace harmony::caps {

/// Harmony's helper table (host target; dpdk through rte_bpf external symbols), read from
/// the helpers registry so a helper registered at run time (hs_match) counts as soon as it
/// is there.
std::set<uint32_t> harmony_vm_helpers()
{
    std::set<uint32_t> ids;
    for (const helpers::Helper *helper : helpers::all_helpers()) {
        ids.insert(helper->id);
    }
    return ids;
}

namespace {

std::set<uint32_t> harmony_vm_map_types()
{
    return {BPF_MAP_TYPE_HASH,     BPF_MAP_TYPE_ARRAY,           BPF_MAP_TYPE_PERCPU_HASH,
            BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_LRU_HASH,    BPF_MAP_TYPE_LRU_PERCPU_HASH,
            BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_DEVMAP,          BPF_MAP_TYPE_XSKMAP,
            BPF_MAP_TYPE_RINGBUF};
}

/// The JIT writes machine code into memory it then makes executable; some hardened hosts
/// (SELinux execmem, PaX) refuse that, so try it.
Probe probe_executable_memory()
{
    long page = sysconf(_SC_PAGESIZE);
    void *mem = mmap(nullptr, static_cast<size_t>(page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return Probe::missing(fmt::format("mmap: {}", errno_text(errno)));
    }
    int ret = mprotect(mem, static_cast<size_t>(page), PROT_READ | PROT_EXEC);
    int err = errno;
    munmap(mem, static_cast<size_t>(page));
    if (ret != 0) {
        return Probe::missing(fmt::format("executable memory refused: {} (interpreter only)", errno_text(err)));
    }
#if defined(__x86_64__)
    return Probe::supported("x86-64");
#else
    return Probe::missing("no Harmony JIT for this architecture (interpreter only)");
#endif
}

} // namespace

HostCaps probe_host()
{
    HostCaps host;
    host.jit = probe_executable_memory();
    host.vm.name = "harmony-vm";
    for (InsnClass cls : kAllInsnClasses) {
        host.vm.insns[cls] = Probe::supported("Harmony VM: the whole RFC 9669 instruction set");
    }
    host.vm.insns[InsnClass::CallReg] = Probe::missing("Harmony VM: callx is not supported");
    host.vm.insns[InsnClass::LegacyPacket] = Probe::missing("Harmony VM: ld_abs/ld_ind need an skb context");
    host.vm.helpers = harmony_vm_helpers();
    host.vm.helpers_known = true;
    host.vm.map_types = harmony_vm_map_types();
    host.vm.map_types_known = true;
    host.vm.stack_bytes = 512;
    host.vm.notes.push_back(fmt::format("helpers: the {} helpers of Harmony's registry (helpers/); map types: its "
                                        "map library (host-runtime/maps)",
                                        host.vm.helpers.size()));
    return host;
}

HyperscanCaps probe_hyperscan()
{
    HyperscanCaps hs;
    hs.version = hs_version();
    hs.valid_platform = hs_valid_platform() == HS_SUCCESS
                            ? Probe::supported("hs_valid_platform: HS_SUCCESS")
                            : Probe::missing("hs_valid_platform: this CPU lacks SSSE3 (HS_ARCH_ERROR)");
    return hs;
}

} // namespace harmony::caps
