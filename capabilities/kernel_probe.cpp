// The kernel's capabilities, after libbpf's src/features.c: a table of {description, probe},
// each probe run at most once per process, its tri-state result cached; a probe that fails
// counts as missing and keeps the kernel's errno and verifier message as its detail.
#include "capabilities.hpp"
#include "probe_programs.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <mutex>

namespace harmony::caps {
namespace {

// The kernel's limits that no syscall reports (include/linux/bpf.h, kernel/bpf/verifier.c):
// BPF_COMPLEXITY_LIMIT_INSNS — instructions the verifier may process — is 1M for privileged
// loaders since 5.2, which is also their program-size limit; BPF_MAXINSNS (4096) applies
// before that. MAX_BPF_STACK is 512 bytes across a call chain.
constexpr uint32_t kComplexityLimitInsns = 1'000'000;
constexpr uint32_t kMaxInsnsUnprivileged = 4096;
constexpr uint32_t kMaxBpfStack = 512;

std::string read_first_line(const char *path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

Probe probe_bpf_syscall()
{
    int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr);
    if (ret == 1) {
        return Probe::supported("BPF_PROG_LOAD of an XDP program succeeded");
    }
    return Probe::missing(ret < 0 ? fmt::format("BPF_PROG_LOAD: {}", errno_text(ret)) : "XDP program type refused");
}

/// Loads a trivial program and asks the kernel whether it was JIT-compiled: this works from
/// any network namespace, while the bpf_jit_enable sysctl exists in the initial one only.
Probe probe_jit()
{
    std::vector<bpf_insn> insns = {probe_programs::mov_imm(0, 2), probe_programs::exit_insn()};
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_jit", "GPL", insns.data(), insns.size(), nullptr);
    if (fd < 0) {
        return {Support::Unknown, fmt::format("cannot load a program to look: {}", errno_text(-errno))};
    }
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    close(fd);
    if (err) {
        return {Support::Unknown, fmt::format("BPF_OBJ_GET_INFO_BY_FD: {}", errno_text(err))};
    }
    std::string sysctl = read_first_line("/proc/sys/net/core/bpf_jit_enable");
    std::string detail = fmt::format("a loaded program has {} bytes of native code{}", info.jited_prog_len,
                                     sysctl.empty() ? "" : ", bpf_jit_enable=" + sysctl);
    return info.jited_prog_len > 0 ? Probe::supported(detail) : Probe::missing(detail + " (interpreter)");
}

Probe probe_jit_hardened()
{
    std::string value = read_first_line("/proc/sys/net/core/bpf_jit_harden");
    if (value.empty()) {
        return {Support::Unknown, "/proc/sys/net/core/bpf_jit_harden unreadable (not the initial netns?)"};
    }
    if (value == "0") {
        return Probe::missing("bpf_jit_harden=0");
    }
    return Probe::supported(value == "1" ? "bpf_jit_harden=1 (unprivileged programs)" : "bpf_jit_harden=2 (all programs)");
}

Probe probe_btf()
{
    struct btf *btf = btf__parse("/sys/kernel/btf/vmlinux", nullptr);
    if (!btf) {
        return Probe::missing(fmt::format("/sys/kernel/btf/vmlinux: {}", errno_text(errno)));
    }
    Probe probe = Probe::supported(fmt::format("/sys/kernel/btf/vmlinux: {} types", btf__type_cnt(btf)));
    btf__free(btf);
    return probe;
}

Probe probe_large_programs()
{
    std::vector<bpf_insn> insns(kMaxInsnsUnprivileged + 1, probe_programs::mov_imm(0, 2));
    insns.back() = probe_programs::exit_insn();
    return probe_programs::load_xdp(insns, "program of 4097 instructions");
}

struct KernelFeature {
    const char *description;
    Probe (*probe)();
};

const KernelFeature kFeatures[] = {
    {"bpf() syscall loads XDP programs", probe_bpf_syscall},
    {"BPF JIT enabled", probe_jit},
    {"BPF JIT hardening", probe_jit_hardened},
    {"kernel BTF", probe_btf},
    {"programs beyond 4096 instructions", probe_large_programs},
};

enum FeatureIndex { kBpfSyscall, kJit, kJitHardened, kBtf, kLargePrograms };

/// The cached result of one feature, probed on first use.
const Probe &feature(FeatureIndex index)
{
    static std::mutex lock;
    static std::optional<Probe> cache[std::size(kFeatures)];
    std::lock_guard guard(lock);
    if (!cache[index]) {
        cache[index] = kFeatures[index].probe();
    }
    return *cache[index];
}

/// libbpf_probe_bpf_helper() of libbpf 1.1 does not know this kernel's words for a helper
/// of another program type ("program of this type cannot use helper"), so it would count
/// every helper as present. The same probe as libbpf's, with all three refusals recognised:
/// a call that fails for any other reason (its arguments) still shows the helper exists.
bool xdp_can_call(uint32_t id)
{
    std::vector<bpf_insn> insns = {bpf_insn{BPF_JMP | BPF_CALL, 0, 0, 0, static_cast<int32_t>(id)},
                                   probe_programs::mov_imm(0, 2), probe_programs::exit_insn()};
    std::string log(4096, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = static_cast<uint32_t>(log.size()),
                .log_buf = log.data());
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_helper", "GPL", insns.data(), insns.size(), &opts);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    for (const char *refusal : {"invalid func ", "unknown func ", "program of this type cannot use helper "}) {
        if (log.find(refusal) != std::string::npos) {
            return false;
        }
    }
    return true;
}

std::set<uint32_t> probe_xdp_helpers()
{
    std::set<uint32_t> helpers;
    for (uint32_t id = 1; id < __BPF_FUNC_MAX_ID; ++id) {
        if (xdp_can_call(id)) {
            helpers.insert(id);
        }
    }
    return helpers;
}

std::set<uint32_t> probe_map_types()
{
    std::set<uint32_t> types;
    for (uint32_t type = 1; libbpf_bpf_map_type_str(static_cast<enum bpf_map_type>(type)); ++type) {
        if (libbpf_probe_bpf_map_type(static_cast<enum bpf_map_type>(type), nullptr) == 1) {
            types.insert(type);
        }
    }
    return types;
}

EngineCaps probe_xdp_engine(bool large_programs)
{
    EngineCaps engine;
    engine.name = "linux";
    for (InsnClass cls : kAllInsnClasses) {
        engine.insns[cls] = probe_programs::load_xdp_with(cls);
    }
    engine.helpers = probe_xdp_helpers();
    engine.helpers_known = true;
    engine.map_types = probe_map_types();
    engine.map_types_known = true;
    engine.max_insns = large_programs ? kComplexityLimitInsns : kMaxInsnsUnprivileged;
    engine.stack_bytes = kMaxBpfStack;
    engine.notes.push_back(large_programs
                               ? "max_insns: BPF_COMPLEXITY_LIMIT_INSNS (1M, kernel >= 5.2, privileged)"
                               : "max_insns: BPF_MAXINSNS (4096): a longer program was refused");
    engine.notes.push_back("stack_bytes: MAX_BPF_STACK (512) across the call chain");
    return engine;
}

KernelCaps probe_kernel_once()
{
    KernelCaps kernel;
    struct utsname uts {};
    if (uname(&uts) == 0) {
        kernel.release = uts.release;
    }
    kernel.bpf_syscall = feature(kBpfSyscall);
    kernel.jit = feature(kJit);
    kernel.jit_hardened = feature(kJitHardened);
    kernel.btf = feature(kBtf);
    if (!kernel.bpf_syscall.yes()) {
        kernel.xdp.name = "linux";
        kernel.xdp.notes.push_back("bpf() unavailable: nothing else probed");
        return kernel;
    }
    kernel.large_programs = feature(kLargePrograms);
    kernel.xdp = probe_xdp_engine(kernel.large_programs.yes());
    return kernel;
}

} // namespace

KernelCaps probe_kernel()
{
    static std::once_flag once;
    static KernelCaps cached;
    std::call_once(once, [] { cached = probe_kernel_once(); });
    return cached;
}

} // namespace harmony::caps
