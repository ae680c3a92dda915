#include "kernel_oracle.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <regex>
#include <unistd.h>

namespace harmony::test {

namespace {

constexpr size_t kLogSize = 16 * 1024 * 1024;

int silent(enum libbpf_print_level, const char *, va_list)
{
    return 0;
}

std::optional<long> verification_time(const std::string &log)
{
    static const std::regex time_re("verification time ([0-9]+) usec");
    std::smatch m;
    if (std::regex_search(log, m, time_re)) {
        return std::stol(m[1]);
    }
    return std::nullopt;
}

} // namespace

bool kernel_available()
{
    return geteuid() == 0;
}

KernelVerdict kernel_verify_object(const std::string &path)
{
    libbpf_set_print(silent);
    KernelVerdict verdict;
    bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
        verdict.log = "libbpf could not open " + path;
        return verdict;
    }
    std::vector<char> log(kLogSize, 0);
    bpf_program *prog = nullptr;
    bpf_object__for_each_program(prog, obj)
    {
        bpf_program__set_log_buf(prog, log.data(), log.size());
        bpf_program__set_log_level(prog, 1 | 4);
    }
    verdict.accepted = bpf_object__load(obj) == 0;
    verdict.log = log.data();
    verdict.verification_usec = verification_time(verdict.log);
    bpf_object__close(obj);
    return verdict;
}

KernelVerdict kernel_verify_insns(const std::vector<bpf_insn> &insns)
{
    KernelVerdict verdict;
    std::vector<char> log(1 << 20, 0);
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = static_cast<__u32>(log.size()),
                .log_buf = log.data());
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "fuzz", "GPL", insns.data(), insns.size(), &opts);
    verdict.accepted = fd >= 0;
    if (fd >= 0) {
        close(fd);
    }
    verdict.log = log.data();
    return verdict;
}

} // namespace harmony::test
