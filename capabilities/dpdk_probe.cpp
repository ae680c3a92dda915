// DPDK's capabilities without starting EAL (EAL starts once per process, and the dpdk
// target owns that): the PMD plugin directory, hugepages, and rte_bpf itself — which needs
// no EAL, so the probe loads tiny programs through it to learn its JIT and instruction set.
// Per-port facts (rte_flow) come from the dpdk target's hook, run with EAL up.
#include "capabilities.hpp"
#include "probe_programs.hpp"

#include <rte_bpf.h>
#include <rte_build_config.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

namespace harmony::caps {

// Harmony's helper table as the dpdk target registers it with rte_bpf (xsyms) and the host
// target links it: see host_probe.cpp.
std::set<uint32_t> harmony_vm_helpers();

namespace {

namespace fs = std::filesystem;

Probe probe_pmd_dir()
{
    std::error_code ec;
    size_t drivers = 0;
    for (const auto &entry : fs::directory_iterator(RTE_EAL_PMD_PATH, ec)) {
        drivers += entry.path().filename().string().starts_with("librte_") ? 1 : 0;
    }
    if (ec || drivers == 0) {
        return Probe::missing(fmt::format("{}: {}", RTE_EAL_PMD_PATH, ec ? ec.message() : "no drivers"));
    }
    return Probe::supported(fmt::format("{} ({} drivers)", RTE_EAL_PMD_PATH, drivers));
}

bool hugetlbfs_mounted()
{
    std::ifstream mounts("/proc/mounts");
    std::string device, mountpoint, type;
    while (mounts >> device >> mountpoint >> type) {
        if (type == "hugetlbfs") {
            return true;
        }
        mounts.ignore(4096, '\n');
    }
    return false;
}

Probe probe_hugepages()
{
    std::error_code ec;
    std::string free_pages;
    uint64_t total_free = 0;
    for (const auto &entry : fs::directory_iterator("/sys/kernel/mm/hugepages", ec)) {
        std::ifstream in(entry.path() / "free_hugepages");
        uint64_t n = 0;
        in >> n;
        total_free += n;
        free_pages += fmt::format("{}{}: {} free", free_pages.empty() ? "" : ", ", entry.path().filename().string(), n);
    }
    if (total_free == 0) {
        return Probe::missing(free_pages.empty() ? "no hugepage sizes" : free_pages + " (EAL needs --no-huge)");
    }
    if (!hugetlbfs_mounted()) {
        return Probe::missing(free_pages + ", but no hugetlbfs mounted (EAL needs --no-huge)");
    }
    return Probe::supported(free_pages);
}

/// rte_bpf's validator writes its refusal to the EAL log; capture it as the probe's detail.
struct LogCapture {
    char *text = nullptr;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    FILE *previous = rte_log_get_stream();

    LogCapture() { rte_openlog_stream(stream); }
    ~LogCapture()
    {
        rte_openlog_stream(previous == stderr ? nullptr : previous);
        fclose(stream);
        free(text);
    }
    std::string words()
    {
        fflush(stream);
        std::string s(text, size);
        std::replace(s.begin(), s.end(), '\n', ' ');
        s = std::regex_replace(s, std::regex(R"(\(0x[0-9a-f]+\))"), ""); // the validator prints its own address
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
            s.pop_back();
        }
        return s;
    }
};

struct RteBpfLoad {
    Probe probe;
    bool jit = false;
};

RteBpfLoad load_rte_bpf(const std::vector<bpf_insn> &insns, const std::string &what)
{
    static_assert(sizeof(ebpf_insn) == sizeof(bpf_insn));
    rte_bpf_prm prm{};
    prm.ins = reinterpret_cast<const ebpf_insn *>(insns.data());
    prm.nb_ins = static_cast<uint32_t>(insns.size());
    prm.prog_arg.type = RTE_BPF_ARG_PTR_MBUF;
    prm.prog_arg.size = sizeof(rte_mbuf);
    prm.prog_arg.buf_size = RTE_MBUF_DEFAULT_BUF_SIZE;
    LogCapture log;
    rte_bpf *bpf = rte_bpf_load(&prm);
    if (!bpf) {
        std::string words = log.words();
        return {Probe::missing(fmt::format("rte_bpf_load {}: {}{}", what, errno_text(-rte_errno),
                                           words.empty() ? "" : " (" + words + ")")),
                false};
    }
    rte_bpf_jit jit{};
    bool jitted = rte_bpf_get_jit(bpf, &jit) == 0 && jit.func != nullptr;
    rte_bpf_destroy(bpf);
    return {Probe::supported("rte_bpf_load " + what + ": loaded"), jitted};
}

const char *build_arch()
{
#if defined(RTE_ARCH_X86_64)
    return "x86-64";
#elif defined(RTE_ARCH_ARM64)
    return "arm64";
#else
    return "none";
#endif
}

EngineCaps probe_rte_bpf(Probe &jit)
{
    EngineCaps engine;
    engine.name = "rte_bpf";
    for (InsnClass cls : kAllInsnClasses) {
        engine.insns[cls] = load_rte_bpf(probe_programs::using_class(cls, -1), fmt::format("of a {} probe program", insn_class_name(cls))).probe;
    }
    RteBpfLoad trivial =
        load_rte_bpf({probe_programs::mov_imm(0, 2), probe_programs::exit_insn()}, "of a trivial program");
    if (!trivial.probe.yes()) {
        jit = Probe::missing(trivial.probe.detail);
    } else {
        jit = trivial.jit ? Probe::supported(build_arch())
                          : Probe::missing(fmt::format("rte_bpf has no JIT for {} (interpreter only)", build_arch()));
    }
    // rte_bpf calls only what the dpdk target registers as external symbols: Harmony's helpers.
    engine.helpers = harmony_vm_helpers();
    engine.helpers_known = true;
    engine.notes.push_back("instruction classes: tiny programs loaded through rte_bpf_load");
    engine.notes.push_back("helpers: Harmony's helper table, registered as rte_bpf external symbols");
    return engine;
}

} // namespace

DpdkCaps probe_dpdk(const DpdkPortProbe &ports)
{
    DpdkCaps dpdk;
    dpdk.version = rte_version();
    dpdk.pmd_dir = probe_pmd_dir();
    dpdk.hugepages = probe_hugepages();
    if (!dpdk.pmd_dir.yes()) {
        dpdk.eal_possible = Probe::missing("no poll-mode drivers: " + dpdk.pmd_dir.detail);
    } else {
        dpdk.eal_possible =
            Probe::supported(dpdk.hugepages.yes() ? "with hugepages" : "with --no-huge (no free hugepages)");
    }
    dpdk.rte_bpf = probe_rte_bpf(dpdk.rte_bpf_jit);
    if (ports) {
        if (auto found = ports()) {
            dpdk.ports = std::move(*found);
        } else {
            dpdk.rte_bpf.notes.push_back("port probe failed: " + found.error().message());
        }
    }
    return dpdk;
}

} // namespace harmony::caps
