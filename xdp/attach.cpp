#include "attach.hpp"
#include "kernel_program.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdarg>
#include <mutex>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace harmony::xdp {

namespace {

// libxdp logs through a process-wide callback; while a capture is active its lines are
// collected (they hold the dispatcher's and the driver's reasons), otherwise warnings go to
// stderr as libxdp would print them. libbpf's lines (the verifier's log) are collected by
// kernel_program's capture.
std::mutex log_mutex;
std::string *log_sink = nullptr;

int libxdp_log(enum libxdp_print_level level, const char *format, va_list args)
{
    if (level == LIBXDP_DEBUG) {
        return 0;
    }
    char line[4096];
    vsnprintf(line, sizeof(line), format, args);
    if (log_sink) {
        *log_sink += line;
    } else if (level == LIBXDP_WARN) {
        fputs(line, stderr);
    }
    return 0;
}

void install_loggers()
{
    static std::once_flag once;
    std::call_once(once, [] {
        install_libbpf_log_capture();
        libxdp_set_print(libxdp_log);
    });
}

enum xdp_attach_mode libxdp_mode(AttachMode mode)
{
    switch (mode) {
    case AttachMode::offload:
        return XDP_MODE_HW;
    case AttachMode::native:
        return XDP_MODE_NATIVE;
    case AttachMode::generic:
        return XDP_MODE_SKB;
    }
    return XDP_MODE_UNSPEC;
}

// The last few meaningful lines of a library log: the verifier's verdict or the driver's
// complaint are at its end.
std::string log_tail(const std::string &log, size_t max_lines)
{
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < log.size()) {
        size_t end = log.find('\n', start);
        if (end == std::string::npos) {
            end = log.size();
        }
        std::string line = log.substr(start, end - start);
        if (!line.empty() && line.find("BEGIN PROG LOAD LOG") == std::string::npos &&
            line.find("END PROG LOAD LOG") == std::string::npos) {
            lines.push_back(line);
        }
        start = end + 1;
    }
    std::string tail;
    size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
    for (size_t i = first; i < lines.size(); i++) {
        tail += (tail.empty() ? "" : " | ") + lines[i];
    }
    return tail;
}

std::string refusal_reason(int err, const std::string &log)
{
    std::string reason = errno_text(err);
    if (err == -EPERM || err == -EACCES) {
        reason += ", needs CAP_BPF and CAP_NET_ADMIN (run as root)";
    }
    std::string tail = log_tail(log, 6);
    return tail.empty() ? reason : reason + "; " + tail;
}

/// libxdp says why it fell back to a single program only the first time in a process (it
/// remembers the failed compatibility check), so later attachments get the general reason.
std::string why_without_dispatcher(const std::string &log)
{
    constexpr std::string_view kCheckFailed = "Compatibility check for dispatcher program failed: ";
    size_t at = log.find(kCheckFailed);
    if (at == std::string::npos) {
        return "libxdp's dispatcher cannot load on this kernel";
    }
    size_t from = at + kCheckFailed.size();
    return "libxdp's dispatcher refused: " + log.substr(from, log.find('\n', from) - from);
}

Result<bpf_object *> open_stage(const StageSpec &stage)
{
    bpf_object *object = nullptr;
    if (!stage.path.empty()) {
        if (!std::filesystem::exists(stage.path)) {
            return fail("open program", stage.path.string(), "no such file");
        }
        object = bpf_object__open_file(stage.path.c_str(), nullptr);
    } else {
        object = bpf_object__open_mem(stage.image.data(), stage.image.size(), nullptr);
    }
    if (!object) {
        return fail("open program", stage.label, errno_text(errno) + ": not a BPF ELF object libbpf can read");
    }
    bpf_program *first = bpf_object__next_program(object, nullptr);
    if (!first) {
        bpf_object__close(object);
        return fail("open program", stage.label, "the object holds no program");
    }
    bpf_program__set_type(first, BPF_PROG_TYPE_XDP);
    if (stage.prepare) {
        auto prepared = stage.prepare(object);
        if (!prepared) {
            bpf_object__close(object);
            return std::unexpected(prepared.error());
        }
    }
    return object;
}

} // namespace

std::string capture_library_log(const std::function<void()> &body)
{
    install_loggers();
    std::string captured;
    std::lock_guard lock(log_mutex);
    (void)take_libbpf_log(); // what came before is not this operation's
    log_sink = &captured;
    body();
    log_sink = nullptr;
    return take_libbpf_log() + captured;
}

std::string_view mode_name(AttachMode mode)
{
    switch (mode) {
    case AttachMode::offload:
        return "xdp-offload";
    case AttachMode::native:
        return "xdp-native";
    case AttachMode::generic:
        return "xdp-generic";
    }
    return "?";
}

Result<std::vector<AttachMode>> modes_for_target(std::string_view target)
{
    if (target == "xdp") {
        return std::vector{AttachMode::offload, AttachMode::native, AttachMode::generic};
    }
    for (AttachMode mode : {AttachMode::offload, AttachMode::native, AttachMode::generic}) {
        if (target == mode_name(mode)) {
            return std::vector{mode};
        }
    }
    return fail("choose target", std::string(target), "not an XDP target (xdp, xdp-offload, xdp-native, xdp-generic)");
}

Result<int> usable_interface(const std::string &interface)
{
    if (interface.empty() || interface.size() >= IFNAMSIZ) {
        return fail("use interface", "'" + interface + "'", "not a valid interface name");
    }
    unsigned ifindex = if_nametoindex(interface.c_str());
    if (ifindex == 0) {
        return fail("use interface", "'" + interface + "'", "no such interface in this network namespace");
    }
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        return fail("use interface", "'" + interface + "'", errno_text(errno));
    }
    ifreq request{};
    interface.copy(request.ifr_name, IFNAMSIZ - 1);
    int rc = ioctl(sock, SIOCGIFFLAGS, &request);
    int err = errno;
    close(sock);
    if (rc < 0) {
        return fail("use interface", "'" + interface + "'", errno_text(err));
    }
    if (!(request.ifr_flags & IFF_UP)) {
        return fail("use interface", "'" + interface + "'", "interface is down (ip link set " + interface + " up)");
    }
    return static_cast<int>(ifindex);
}

Result<void> check_privilege()
{
    // The smallest XDP program: r0 = XDP_PASS; exit. Loading it is what the service needs.
    const bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = XDP_PASS},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    int fd = -1;
    capture_library_log([&] { fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "harmony_probe", "GPL", insns, 2, nullptr); });
    if (fd >= 0) {
        close(fd);
        return {};
    }
    int err = errno;
    if (err == EPERM || err == EACCES) {
        return fail("load BPF programs", "", errno_text(err) + ": needs CAP_BPF and CAP_NET_ADMIN (run as root)");
    }
    return fail("load BPF programs", "", errno_text(err) + ": the kernel refuses even a trivial XDP program");
}

AttachedChain::~AttachedChain()
{
    if (attached_) {
        (void)detach();
    }
    close_all();
}

void AttachedChain::close_all()
{
    for (xdp_program *program : programs_) {
        xdp_program__close(program);
    }
    for (bpf_object *object : objects_) {
        bpf_object__close(object);
    }
    programs_.clear();
    objects_.clear();
}

std::vector<uint32_t> AttachedChain::program_ids() const
{
    std::vector<uint32_t> ids;
    for (xdp_program *program : programs_) {
        ids.push_back(xdp_program__id(program));
    }
    return ids;
}

Result<void> AttachedChain::detach()
{
    if (!attached_) {
        return {};
    }
    attached_ = false;
    int err = 0;
    std::string log = capture_library_log([&] {
        err = xdp_program__detach_multi(programs_.data(), programs_.size(), attachment_.ifindex,
                                        libxdp_mode(attachment_.mode), 0);
    });
    if (err) {
        return fail("detach", "from " + attachment_.interface, refusal_reason(err, log));
    }
    return {};
}

Result<std::unique_ptr<AttachedChain>> attach_chain(const std::string &interface, const std::vector<StageSpec> &stages,
                                                    const std::vector<AttachMode> &modes,
                                                    std::vector<ModeRefusal> &refusals)
{
    auto ifindex = usable_interface(interface);
    if (!ifindex) {
        return std::unexpected(ifindex.error());
    }
    if (modes.empty()) {
        return fail("attach", "to " + interface, "no attach mode allowed");
    }
    std::string refused;
    for (AttachMode mode : modes) {
        if (mode == AttachMode::offload && stages.size() > 1) {
            refusals.push_back({interface, mode, "a chain of programs needs the dispatcher, which offload cannot run"});
            refused += fmt::format("; {}: {}", mode_name(mode), refusals.back().reason);
            continue;
        }
        // A fresh object per mode: a refused load leaves libbpf's object unusable.
        auto chain = std::make_unique<AttachedChain>();
        for (const StageSpec &stage : stages) {
            auto object = open_stage(stage);
            if (!object) {
                return std::unexpected(object.error());
            }
            chain->objects_.push_back(*object);
            xdp_program *program = xdp_program__from_bpf_obj(*object, nullptr);
            if (libxdp_get_error(program)) {
                return fail("open program", stage.label, errno_text(static_cast<int>(libxdp_get_error(program))));
            }
            chain->programs_.push_back(program);
            xdp_program__set_run_prio(program, stage.priority);
        }
        int err = 0;
        std::string log = capture_library_log([&] {
            err = xdp_program__attach_multi(chain->programs_.data(), chain->programs_.size(), *ifindex,
                                            libxdp_mode(mode), 0);
        });
        if (err) {
            refusals.push_back({interface, mode, refusal_reason(err, log)});
            refused += fmt::format("; {}: {}", mode_name(mode), refusals.back().reason);
            continue;
        }
        chain->attached_ = true;
        chain->attachment_ = {interface, *ifindex, mode, false, {}, xdp_program__id(chain->programs_.front())};
        if (log.find("without dispatcher") != std::string::npos) {
            chain->attachment_.why_alone = why_without_dispatcher(log);
        }
        xdp_multiprog *multiprog = xdp_multiprog__get_from_ifindex(*ifindex);
        if (!libxdp_get_error(multiprog) && multiprog) {
            chain->attachment_.dispatcher = !xdp_multiprog__is_legacy(multiprog);
            xdp_multiprog__close(multiprog);
        }
        return chain;
    }
    return fail("attach " + stages.front().label, "to " + interface, "every mode refused" + refused);
}

Result<bool> detach_program_id(int ifindex, uint32_t program_id)
{
    xdp_multiprog *multiprog = xdp_multiprog__get_from_ifindex(ifindex);
    if (libxdp_get_error(multiprog) || !multiprog) {
        return false;
    }
    enum xdp_attach_mode mode = xdp_multiprog__attach_mode(multiprog);
    bool found = false;
    int err = 0;
    std::string log = capture_library_log([&] {
        if (xdp_multiprog__is_legacy(multiprog)) {
            xdp_program *main = xdp_multiprog__main_prog(multiprog);
            if (main && xdp_program__id(main) == program_id) {
                found = true;
                err = xdp_multiprog__detach(multiprog);
            }
        } else {
            for (xdp_program *program = xdp_multiprog__next_prog(nullptr, multiprog); program;
                 program = xdp_multiprog__next_prog(program, multiprog)) {
                if (xdp_program__id(program) == program_id) {
                    found = true;
                    err = xdp_program__detach(program, ifindex, mode, 0);
                    break;
                }
            }
        }
    });
    xdp_multiprog__close(multiprog);
    if (err) {
        return fail("detach stale program", fmt::format("id {} from ifindex {}", program_id, ifindex),
                    refusal_reason(err, log));
    }
    return found;
}

} // namespace harmony::xdp
