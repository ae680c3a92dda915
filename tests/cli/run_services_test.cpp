// `harmony run` on the dpdk and host targets, as a user runs it, on a client -> DUT ->
// server veth lab: forwarding and dropping as on XDP, the same output lines, a clean exit
// on SIGINT; the host target also forwards both ways for real TCP (HTTP and TLS)
// connections; bad input ends at once with an error and nothing left attached.
#include "tests/support/lab.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>
#include <unistd.h>

using namespace harmony::test;

namespace {

// client (c0 10.77.0.1) <-> (in0) dut (out0) <-> server (s0 10.77.0.2), with what the DNS
// checks add to it.
struct ServicesLab : Lab {
    ServicesLab() : Lab({.tag = "svc", .dut_ingress = "in0", .dut_egress = "out0"}) {}

    /// One direction only: the client learns the server's MAC without ARP replies.
    void pin_server_mac()
    {
        std::string mac = net.exec("server", "cat /sys/class/net/s0/address");
        mac.erase(mac.find_last_not_of(" \n") + 1);
        net.exec("client", "ip neigh replace " + server_address() + " lladdr " + mac + " dev c0 nud permanent");
    }

    /// `count` DNS queries for `name` from the client to the server, port 53.
    void send_dns(const std::string &name, int count)
    {
        std::string script = "import socket,struct\n"
                             "q=struct.pack('>HHHHHH',0x1234,0x100,1,0,0,0)\n"
                             "q+=b''.join(bytes([len(p)])+p.encode() for p in '" + name + "'.split('.'))\n"
                             "q+=b'\\0'+struct.pack('>HH',1,1)\n"
                             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                             "for i in range(" + std::to_string(count) + "): s.sendto(q,('" + server_address() +
                             "',53))\n";
        std::ofstream(file("send.py")) << script;
        net.exec("client", "python3 " + file("send.py"));
    }
};

// Prints the name of every DNS query that reaches the server.
const char *kDnsReceiver = "import socket,sys\n"
                           "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                           "s.bind((sys.argv[1],53))\n"
                           "print('listening',flush=True)\n"
                           "while True:\n"
                           "    d=s.recv(2048)[12:]\n"
                           "    n=[]\n"
                           "    while d and d[0]:\n"
                           "        n.append(d[1:1+d[0]].decode()); d=d[1+d[0]:]\n"
                           "    print('query','.'.join(n),flush=True)\n";

std::string run_arguments(const std::string &target, const std::string &extra)
{
    return kHarmony + " run " + kDpi + " --iface in0 --egress out0 --interval 0.5 --blocklist " + kBlocklist +
           " --target " + target + " --service hxsvc" + std::to_string(getpid()) + extra;
}

} // namespace

TEST_CASE("harmony run on dpdk and host forwards allowed names and drops blocked ones", "[cli][service]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    const std::string target = GENERATE("host", "host-interp", "dpdk");
    INFO("target " << target);
    ServicesLab lab;
    lab.pin_server_mac();
    if (target.starts_with("dpdk")) {
        // net_af_packet forwards frames as read, and a veth sender leaves its checksums to
        // the receiver (host's PACKET_VNET_HDR carries that on; DPDK's PMD cannot).
        lab.net.exec("client", "ethtool -K c0 tx off");
    }
    std::ofstream(lab.file("receiver.py")) << kDnsReceiver;
    Background receiver(lab.server, "python3 -u " + lab.file("receiver.py") + " " + lab.server_address(),
                        lab.file("received"));
    REQUIRE(receiver.wait_for("listening"));

    Background run(lab.dut, run_arguments(target, ""), lab.file("run"));
    REQUIRE(run.wait_for("running on"));
    lab.send_dns("vmware.com", 3);
    lab.send_dns("facebook.com", 3);
    lab.send_dns("slashdot.org", 3);
    CHECK(receiver.wait_for("query slashdot.org", std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(700)); // a counters line after the last frame
    int status = run.interrupt();
    std::string printed = run.output();
    std::string received = receiver.output();
    INFO(printed);
    INFO(received);
    CHECK(status == 0); // exited by itself, with 0
    CHECK(contains(received, "query vmware.com"));
    CHECK_FALSE(contains(received, "query facebook.com"));
    CHECK(contains(printed, "attached: "));
    CHECK(contains(printed, "blocking 5 domains"));
    CHECK(contains(printed, "event: passed dns vmware.com client 10.77.0.1:"));
    CHECK(contains(printed, "event: BLOCKED dns facebook.com client 10.77.0.1:"));
    CHECK(contains(printed, "counters: packets"));
    CHECK(contains(printed, "detached from in0 and out0"));
    CHECK(contains(printed, "forwarded from in0: received"));
    if (target.starts_with("dpdk")) {
        CHECK(contains(printed, "engine: "));
    } else {
        CHECK(contains(printed, "attached: " + target + " on in0 via AF_PACKET"));
    }
    CHECK(contains(lab.net.exec("dut", "ip -d link show in0"), "promiscuity 0")); // the sockets are gone
}

TEST_CASE("harmony run on host and dpdk forwards TCP both ways: blocked sites time out, others answer",
          "[cli][service][e2e]")
{
    if (!harmony_built() || run_command("which curl openssl").status != 0) {
        WARN("harmony, dpi.bpf.o, curl or openssl missing; skipping");
        return;
    }
    const std::string target = GENERATE("host", "dpdk");
    INFO("target " << target);
    ServicesLab lab;
    if (target == "dpdk") {
        // net_af_packet forwards frames as read: the endpoints must fill in their checksums
        // (and so send no 64 KiB segments either) before the frames reach the DUT.
        lab.set_endpoint_offloads("tx off");
    }
    VhostServer server(lab);
    Background run(lab.dut, run_arguments(target, " --both-directions"), lab.file("run"));
    REQUIRE(run.wait_for("running on"));

    check_allowed(lab, "http", {"vmware.com"});
    check_allowed(lab, "https", {"slashdot.org"});
    check_blocked(lab, "http", {"facebook.com"}); // the request never arrived
    check_blocked(lab, "https", {"tracker.org"}); // ClientHello dropped: no handshake
    // Blocked from the next connection on, through the service's map control socket.
    auto blocked = run_command(kHarmony + " map block --service hxsvc" + std::to_string(getpid()) + " google.com");
    INFO(blocked.output);
    CHECK(blocked.status == 0);
    check_blocked(lab, "http", {"google.com"});
    int status = run.interrupt();
    std::string printed = run.output();
    INFO(printed);
    CHECK(status == 0);
    CHECK(contains(printed, "event: BLOCKED http facebook.com client 10.77.0.1:"));
    CHECK(contains(printed, "event: BLOCKED tls tracker.org client 10.77.0.1:"));
    CHECK(contains(printed, "event: passed http vmware.com client 10.77.0.1:"));
    CHECK(contains(printed, "forwarded from out0: received"));
}

TEST_CASE("harmony run on dpdk and host refuses bad input at once and leaves nothing running", "[cli][service]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    ServicesLab lab;
    auto in_dut = [&lab](const std::string &arguments) {
        return run_command("timeout 20 nsenter --net=/run/netns/" + lab.dut + " " + kHarmony + " run " + arguments);
    };
    for (const std::string target : {"host", "host-interp", "dpdk"}) {
        INFO("target " << target);
        auto missing = in_dut(kDpi + " --iface nosuch0 --target " + target);
        INFO(missing.output);
        CHECK(missing.status == 1);
        CHECK(contains(missing.output, "no such interface"));
        auto missing_egress = in_dut(kDpi + " --iface in0 --egress nosuch1 --target " + target);
        INFO(missing_egress.output);
        CHECK(missing_egress.status == 1);
        CHECK(contains(missing_egress.output, "nosuch1"));
        CHECK(contains(lab.net.exec("dut", "ip -d link show in0"), "promiscuity 0"));
    }
    const std::string refused = std::string(HARMONY_BPF_DIR) + "/xdp_test_refused.bpf.o";
    if (access(refused.c_str(), R_OK) == 0) {
        auto verdict = in_dut(refused + " --iface in0 --egress out0 --target host");
        INFO(verdict.output);
        CHECK(verdict.status == 1);
        CHECK(contains(verdict.output, "verify"));
        CHECK(contains(verdict.output, "xdp_test_refused.bpf.o program 'refused'"));
    }
    for (const std::string target : {"host", "dpdk"}) {
        auto both = in_dut(kDpi + " --iface in0 --both-directions --target " + target);
        INFO(both.output);
        CHECK(both.status == 1);
        CHECK(contains(both.output, "--both-directions needs an egress interface"));
    }
}

TEST_CASE("harmony run --target auto runs a program XDP cannot take on dpdk or host, ingress only", "[cli][service]")
{
    const std::string regex = std::string(HARMONY_BPF_DIR) + "/dpi_regex.bpf.o"; // calls Harmony's hs_match
    if (!harmony_built() || access(regex.c_str(), R_OK) != 0) {
        WARN("harmony or dpi_regex.bpf.o not built; skipping");
        return;
    }
    ServicesLab lab;
    Background run(lab.dut, kHarmony + " run " + regex + " --iface in0 --target auto --service hxsvcauto" +
                                std::to_string(getpid()),
                   lab.file("run"));
    bool running = run.wait_for("running on");
    int status = run.interrupt();
    std::string printed = run.output();
    INFO(printed);
    REQUIRE(running);
    CHECK(status == 0);
    CHECK((contains(printed, "placed on dpdk") || contains(printed, "placed on host")));
    CHECK((contains(printed, "attached: dpdk net_af_packet on in0 (ingress only") ||
           contains(printed, "attached: host on in0 via AF_PACKET")));
    CHECK(contains(printed, "detached from in0"));
}
