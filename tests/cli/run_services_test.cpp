// `harmony run` on the dpdk and host targets, as a user runs it, on a client -> DUT ->
// server veth lab: forwarding and dropping as on XDP, the same output lines, a clean exit
// on SIGINT; the host target also forwards both ways for real TCP (HTTP and TLS)
// connections; bad input ends at once with an error and nothing left attached.
#include "tests/xdp/netns.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using harmony::test::run_command;
using harmony::test::TestNetwork;

namespace {

const std::string kHarmony = std::string(HARMONY_BINARY_DIR) + "/cli/harmony";
const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";
const std::string kBlocklist = std::string(HARMONY_SOURCE_DIR) + "/tests/data/blocklist.txt"; // facebook.com ...
const std::string kServerAddress = "10.77.0.2";

std::string read_file(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool contains(const std::string &text, const std::string &part)
{
    return text.find(part) != std::string::npos;
}

bool harmony_built()
{
    return access(kHarmony.c_str(), X_OK) == 0 && access(kDpi.c_str(), R_OK) == 0;
}

// A temporary folder removed at the end.
struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("hx-svc-" + std::to_string(getpid()));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// A process started in a namespace with `sh -c`, output to a file; SIGTERMed when destroyed.
class Background {
public:
    Background(const std::string &ns, const std::string &command, const std::string &output) : output_(output)
    {
        pid_ = fork();
        if (pid_ == 0) {
            std::string line = "exec nsenter --net=/run/netns/" + ns + " " + command + " > " + output + " 2>&1";
            execl("/bin/sh", "sh", "-c", line.c_str(), nullptr);
            _exit(127);
        }
    }
    ~Background()
    {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
    }
    /// Waits until the output shows `text` or the process ends; false on timeout.
    bool wait_for(const std::string &text, std::chrono::seconds limit = std::chrono::seconds(15)) const
    {
        auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (contains(read_file(output_), text)) {
                return true;
            }
            if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    /// SIGINT, as a user ends a run; its exit status.
    int interrupt()
    {
        kill(pid_, SIGINT);
        int status = -1;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        return status;
    }
    std::string output() const { return read_file(output_); }

private:
    std::string output_;
    pid_t pid_ = -1;
};

// client (c0 10.77.0.1) <-> (in0) dut (out0) <-> server (s0 10.77.0.2): one L2 segment that
// exists only through the DUT's forwarding.
struct Lab {
    TestNetwork net{"svc"};
    std::string client = net.add_namespace("client");
    std::string dut = net.add_namespace("dut");
    std::string server = net.add_namespace("server");
    TempDir temp;

    Lab()
    {
        net.add_veth("client", "c0", "dut", "in0");
        net.add_veth("dut", "out0", "server", "s0");
        net.exec("client", "ip addr add 10.77.0.1/24 dev c0");
        net.exec("server", "ip addr add " + kServerAddress + "/24 dev s0");
    }

    std::string file(const std::string &name) const { return (temp.path / name).string(); }

    /// One direction only: the client learns the server's MAC without ARP replies.
    void pin_server_mac()
    {
        std::string mac = net.exec("server", "cat /sys/class/net/s0/address");
        mac.erase(mac.find_last_not_of(" \n") + 1);
        net.exec("client", "ip neigh replace " + kServerAddress + " lladdr " + mac + " dev c0 nud permanent");
    }

    /// `count` DNS queries for `name` from the client to the server, port 53.
    void send_dns(const std::string &name, int count)
    {
        std::string script = "import socket,struct\n"
                             "q=struct.pack('>HHHHHH',0x1234,0x100,1,0,0,0)\n"
                             "q+=b''.join(bytes([len(p)])+p.encode() for p in '" + name + "'.split('.'))\n"
                             "q+=b'\\0'+struct.pack('>HH',1,1)\n"
                             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                             "for i in range(" + std::to_string(count) + "): s.sendto(q,('" + kServerAddress +
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
    Lab lab;
    lab.pin_server_mac();
    if (target.starts_with("dpdk")) {
        // net_af_packet forwards frames as read, and a veth sender leaves its checksums to
        // the receiver (host's PACKET_VNET_HDR carries that on; DPDK's PMD cannot).
        lab.net.exec("client", "ethtool -K c0 tx off");
    }
    std::ofstream(lab.file("receiver.py")) << kDnsReceiver;
    Background receiver(lab.server, "python3 -u " + lab.file("receiver.py") + " " + kServerAddress,
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
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(contains(received, "query vmware.com"));
    CHECK_FALSE(contains(received, "query facebook.com"));
    CHECK(contains(printed, "attached: "));
    CHECK(contains(printed, "blocking 4 domains"));
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
    Lab lab;
    if (target == "dpdk") {
        // net_af_packet forwards frames as read: the endpoints must fill in their checksums
        // (and so send no 64 KiB segments either) before the frames reach the DUT.
        lab.net.exec("client", "ethtool -K c0 tx off");
        lab.net.exec("server", "ethtool -K s0 tx off");
    }
    std::string cert = lab.file("cert.pem");
    std::string key = lab.file("key.pem");
    auto made = run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=harmony -keyout " + key +
                            " -out " + cert);
    REQUIRE(made.status == 0);
    std::string script = std::string(HARMONY_SOURCE_DIR) + "/tests/xdp/vhost_server.py";
    Background server(lab.server, "python3 " + script + " " + kServerAddress + " " + cert + " " + key + " " +
                                      lab.file("ready"),
                      lab.file("server"));
    for (int i = 0; i < 100 && !std::filesystem::exists(lab.file("ready")); i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(std::filesystem::exists(lab.file("ready")));
    Background run(lab.dut, run_arguments(target, " --both-directions"), lab.file("run"));
    REQUIRE(run.wait_for("running on"));

    auto fetch = [&lab](const std::string &scheme, const std::string &domain) {
        std::string port = scheme == "https" ? "443" : "80";
        auto result = lab.net.try_exec("client", "curl -sk -m 2 --resolve " + domain + ":" + port + ":" +
                                                     kServerAddress + " " + scheme + "://" + domain + "/");
        return result.status != 0 ? "curl exit " + std::to_string(result.status) : result.output;
    };
    CHECK(fetch("http", "vmware.com") == "harmony page for vmware.com\n");
    CHECK(fetch("https", "slashdot.org") == "harmony page for slashdot.org\n");
    CHECK(fetch("http", "facebook.com") == "curl exit 28");  // the request never arrived
    CHECK(fetch("https", "tracker.org") == "curl exit 28");  // ClientHello dropped: no handshake
    // Blocked from the next connection on, through the service's map control socket.
    auto blocked = run_command(kHarmony + " map block --service hxsvc" + std::to_string(getpid()) + " google.com");
    INFO(blocked.output);
    CHECK(blocked.status == 0);
    CHECK(fetch("http", "google.com") == "curl exit 28");
    int status = run.interrupt();
    std::string printed = run.output();
    INFO(printed);
    CHECK(WEXITSTATUS(status) == 0);
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
    Lab lab;
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
    Lab lab;
    Background run(lab.dut, kHarmony + " run " + regex + " --iface in0 --target auto --service hxsvcauto" +
                                std::to_string(getpid()),
                   lab.file("run"));
    bool running = run.wait_for("running on");
    int status = run.interrupt();
    std::string printed = run.output();
    INFO(printed);
    REQUIRE(running);
    CHECK(WEXITSTATUS(status) == 0);
    CHECK((contains(printed, "placed on dpdk") || contains(printed, "placed on host")));
    CHECK((contains(printed, "attached: dpdk net_af_packet on in0 (ingress only") ||
           contains(printed, "attached: host on in0 via AF_PACKET")));
    CHECK(contains(printed, "detached from in0"));
}
