// `harmony run` as a user runs it: attached until SIGINT, counters and placement printed,
// detached on exit; a killed run is replaced by the next one; bad input exits non-zero.
#include "tests/support/netns.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <memory>
#include <thread>
#include <unistd.h>


using namespace harmony::test;

namespace {

// `harmony run ARGUMENTS` inside a namespace (nsenter keeps the host's bpffs), output to a file.
std::unique_ptr<Background> start_run(const std::string &ns, const std::string &arguments, const std::string &output)
{
    return std::make_unique<Background>(ns, kHarmony + " run " + arguments, output);
}

/// A DUT namespace whose in0 faces a peer namespace; returns the DUT namespace's name.
std::string add_dut(TestNetwork &net)
{
    std::string ns = net.add_namespace("dut");
    net.add_namespace("peer");
    net.add_veth("dut", "in0", "peer", "out0");
    return ns;
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

    auto killed = start_run(ns, arguments, output);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    killed->signal(SIGKILL);
    CHECK(killed->finish() == 128 + SIGKILL);
    killed.reset();
    CHECK(net.exec("dut", "ip link show in0").find("xdpgeneric") != std::string::npos);

    auto run = start_run(ns, arguments, output);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    int status = run->interrupt();
    std::string printed = run->output();
    INFO(printed);
    CHECK(status == 0); // exited by itself, with 0
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
    auto run = start_run(ns, kDpi + " --iface in0 --target auto --interval 0.5 --service " + service, output);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    CHECK(net.exec("dut", "ip link show in0").find("xdp") != std::string::npos);
    int status = run->interrupt();
    std::string printed = run->output();
    INFO(printed);
    CHECK(status == 0); // exited by itself, with 0
    CHECK(printed.find("xdp-offload: kernel refused hardware offload on in0") != std::string::npos);
    CHECK(printed.find("placed on xdp-native") != std::string::npos);
    CHECK(printed.find("attached: xdp-native on in0") != std::string::npos);
    CHECK(net.exec("dut", "ip link show in0").find("xdp") == std::string::npos);
}
