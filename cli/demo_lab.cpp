// The demo's lab: three network namespaces joined by veth pairs, made and removed with
// iproute2, and the leftovers of killed runs found by the pid in their names.
#include "demo_lab.hpp"

#include "common/shell.hpp"
#include "xdp/xdp.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace harmony::cli::demo {
namespace {

namespace fs = std::filesystem;

Result<std::string> run_checked(const std::string &command)
{
    ShellResult result = run_shell(command);
    if (result.status != 0) {
        std::string why = result.output.empty() ? fmt::format("exit {}", result.status) : result.output;
        return fail("demo setup", command, why);
    }
    return result.output;
}

/// The pid in "hdemo-<pid>-...", or 0 when the name is not a demo's.
pid_t owner_pid(const std::string &name)
{
    if (!name.starts_with(kPrefix)) {
        return 0;
    }
    std::string rest = name.substr(std::strlen(kPrefix));
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) {
        ++digits;
    }
    return digits == 0 ? 0 : static_cast<pid_t>(std::stol(rest.substr(0, digits)));
}

bool is_leftover(const std::string &name)
{
    pid_t pid = owner_pid(name);
    return pid > 0 && pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

std::vector<std::string> remove_leftovers()
{
    std::vector<std::string> removed;
    std::istringstream names(run_shell("ip netns list").output);
    std::string line;
    while (std::getline(names, line)) {
        std::string name = line.substr(0, line.find(' '));
        if (is_leftover(name) && run_shell("ip netns del " + name).status == 0) {
            removed.push_back("namespace " + name);
        }
    }
    std::error_code ec;
    fs::path pins = xdp::pin_dir("x").parent_path();
    for (const auto &entry : fs::directory_iterator(pins, ec)) {
        if (is_leftover(entry.path().filename().string()) && fs::remove_all(entry.path(), ec) > 0) {
            removed.push_back("pins " + entry.path().string());
        }
    }
    return removed;
}

Lab::Lab() : prefix_(fmt::format("{}{}-", kPrefix, getpid())) {}

Lab::~Lab()
{
    for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
        run_shell("ip netns del " + *it); // takes its veth ends, their peers and their XDP programs along
    }
}

Result<std::unique_ptr<Lab>> Lab::create()
{
    std::unique_ptr<Lab> lab(new Lab());
    for (const char *role : {"client", "dut", "server"}) {
        if (auto added = run_checked("ip netns add " + lab->ns(role)); !added) {
            return std::unexpected(added.error());
        }
        lab->namespaces_.push_back(lab->ns(role));
    }
    std::string client = lab->ns("client"), dut = lab->ns("dut"), server = lab->ns("server");
    // Frames forwarded by XDP or by a packet socket lose the skb's pending checksum, so the
    // endpoints compute theirs in software; GRO gives their veth a NAPI context to receive
    // frames an XDP program redirected.
    const std::vector<std::string> steps = {
        "ip -n " + client + " link add c0 type veth peer name d0 netns " + dut,
        "ip -n " + dut + " link add d1 type veth peer name s0 netns " + server,
        "ip -n " + client + " addr add 10.77.9.1/24 dev c0",
        "ip -n " + server + " addr add " + lab->server_address_ + "/24 dev s0",
        "ip netns exec " + client + " ethtool -K c0 tx off gro on",
        "ip netns exec " + server + " ethtool -K s0 tx off gro on",
    };
    for (const auto &step : steps) {
        if (auto done = run_checked(step); !done) {
            return std::unexpected(done.error());
        }
    }
    for (const auto &[ns, iface] : std::vector<std::pair<std::string, std::string>>{
             {client, "lo"}, {client, "c0"}, {dut, "lo"}, {dut, "d0"}, {dut, "d1"}, {server, "lo"}, {server, "s0"}}) {
        if (auto up = run_checked("ip -n " + ns + " link set " + iface + " up"); !up) {
            return std::unexpected(up.error());
        }
    }
    return lab;
}

Result<std::string> Lab::exec(const std::string &role, const std::string &command) const
{
    return run_checked("ip netns exec " + ns(role) + " " + command);
}

Result<std::unique_ptr<InNamespace>> InNamespace::enter(const std::string &name)
{
    int original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    int err = errno;
    bool entered = original >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
    err = entered ? 0 : (target >= 0 ? errno : err);
    if (target >= 0) {
        close(target);
    }
    if (!entered) {
        if (original >= 0) {
            close(original);
        }
        return fail("enter namespace", name, std::strerror(err));
    }
    return std::unique_ptr<InNamespace>(new InNamespace(original));
}

InNamespace::~InNamespace()
{
    setns(original_, CLONE_NEWNET);
    close(original_);
}

} // namespace harmony::cli::demo
