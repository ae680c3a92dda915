// `harmony run` as a user runs it: attached until SIGINT, counters and placement printed,
// detached on exit; a killed run is replaced by the next one; bad input exits non-zero.
#include "netns.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using harmony::test::run_command;
using harmony::test::TestNetwork;

namespace {

const std::string kHarmony = std::string(HARMONY_BINARY_DIR) + "/cli/harmony";
const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";

// Starts `harmony run ...` inside a namespace (nsenter keeps the host's bpffs), output to a file.
pid_t start_run(const std::string &ns, const std::string &arguments, const std::string &output)
{
    pid_t pid = fork();
    if (pid == 0) {
        std::string command = "exec nsenter --net=/run/netns/" + ns + " " + kHarmony + " run " + arguments + " > " +
                              output + " 2>&1";
        execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
        _exit(127);
    }
    return pid;
}

std::string read_file(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool harmony_built()
{
    return access(kHarmony.c_str(), X_OK) == 0 && access(kDpi.c_str(), R_OK) == 0;
}

/// A DUT namespace whose in0 faces a peer namespace; returns the DUT namespace's name.
std::string add_dut(TestNetwork &net)
{
    std::string ns = net.add_namespace("dut");
    net.add_namespace("peer");
    net.add_veth("dut", "in0", "peer", "out0");
    return ns;
}

/// Ends a run with SIGINT as a user would; its exit status and what it printed.
struct Finished {
    int status = -1;
    std::string printed;
};
Finished interrupt_run(pid_t run, const std::string &output)
{
    kill(run, SIGINT);
    Finished finished;
    waitpid(run, &finished.status, 0);
    finished.printed = read_file(output);
    std::remove(output.c_str());
    return finished;
}

} // namespace

TEST_CASE("harmony run attaches until SIGINT, replaces a killed run, refuses bad input", "[xdp][cli]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    TestNetwork net("cli");
    std::string ns = add_dut(net);
    std::string service = "hxcli" + std::to_string(getpid());
    std::string output = "/tmp/" + service + ".out";
    std::string arguments = kDpi + " --iface in0 --target xdp-generic --interval 0.5 --service " + service +
                            " --blocklist " + HARMONY_SOURCE_DIR + "/../shared/corpus/blocklist.txt";
    if (access((std::string(HARMONY_SOURCE_DIR) + "/../shared/corpus/blocklist.txt").c_str(), R_OK) != 0) {
        arguments = kDpi + " --iface in0 --target xdp-generic --interval 0.5 --service " + service;
    }

    pid_t killed = start_run(ns, arguments, output);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    kill(killed, SIGKILL);
    waitpid(killed, nullptr, 0);
    CHECK(net.exec("dut", "ip link show in0").find("xdpgeneric") != std::string::npos);

    pid_t run = start_run(ns, arguments, output);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto [status, printed] = interrupt_run(run, output);
    INFO(printed);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(printed.find("replaced: detached stale program id") != std::string::npos);
    CHECK(printed.find("attached: xdp-generic on in0") != std::string::npos);
    CHECK(printed.find("counters: packets") != std::string::npos);
    CHECK(printed.find("detached from in0") != std::string::npos);
    CHECK(net.exec("dut", "ip link show in0").find("xdp") == std::string::npos);

    auto missing = run_command("nsenter --net=/run/netns/" + ns + " " + kHarmony + " run " + kDpi + " --iface nosuch0");
    CHECK(missing.status == 1);
    CHECK(missing.output.find("no such interface") != std::string::npos);
    auto offload = run_command("nsenter --net=/run/netns/" + ns + " " + kHarmony + " run " + kDpi +
                               " --iface in0 --target xdp-offload --service " + service);
    CHECK(offload.status == 1);
    CHECK(offload.output.find("xdp-offload: -E") != std::string::npos);
    CHECK(net.exec("dut", "ip link show in0").find("xdp") == std::string::npos);
}

TEST_CASE("harmony run --target auto places the program, logs the offload refusal, attaches natively", "[xdp][cli]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    TestNetwork net("auto");
    std::string ns = add_dut(net);
    std::string service = "hxauto" + std::to_string(getpid());
    std::string output = "/tmp/" + service + ".out";
    pid_t run = start_run(ns, kDpi + " --iface in0 --target auto --interval 0.5 --service " + service, output);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    CHECK(net.exec("dut", "ip link show in0").find("xdp") != std::string::npos);
    auto [status, printed] = interrupt_run(run, output);
    INFO(printed);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(printed.find("xdp-offload: kernel refused hardware offload on in0") != std::string::npos);
    CHECK(printed.find("placed on xdp-native") != std::string::npos);
    CHECK(printed.find("attached: xdp-native on in0") != std::string::npos);
    CHECK(net.exec("dut", "ip link show in0").find("xdp") == std::string::npos);
}
