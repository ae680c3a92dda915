// The host service as a library: Harmony's VM between two veth ports through AF_PACKET,
// frames in and out by raw sockets on the peers, events and maps through the Service
// interface, and the errors a bad start gives.
#include "host-runtime/service/service.hpp"

#include "common/dpi_control.hpp"
#include "tests/support/netns.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace harmony;
using harmony::test::InNamespace;
using harmony::test::TestNetwork;

namespace {

const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";

/// A raw socket on one veth end: frames sent into the DUT port, or read from it.
class RawPort {
public:
    explicit RawPort(const std::string &interface)
    {
        fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
            throw std::runtime_error("raw socket on " + interface);
        }
    }
    ~RawPort() { close(fd_); }
    void send(const Bytes &frame) { REQUIRE(::send(fd_, frame.data(), frame.size(), 0) == ssize_t(frame.size())); }
    /// The DNS names of the test's frames that arrive within `wait`.
    std::vector<std::string> received_names(std::chrono::milliseconds wait)
    {
        std::vector<std::string> names;
        auto end = std::chrono::steady_clock::now() + wait;
        Bytes buffer(2048);
        while (std::chrono::steady_clock::now() < end) {
            ssize_t n = recv(fd_, buffer.data(), buffer.size(), 0);
            if (n < 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            if (n > 55 && buffer[12] == 0x08 && buffer[13] == 0x00 && buffer[36] == 0 && buffer[37] == 53) {
                names.push_back(std::string(reinterpret_cast<char *>(&buffer[55]), buffer[54]));
            }
        }
        return names;
    }

private:
    int fd_ = -1;
};

/// Ethernet + IPv4 + UDP from `port` to 53 + a DNS query for `label`.com. The DPI program
/// remembers a verdict per connection: each name gets its own source port.
Bytes dns_query(const std::string &label, uint16_t port)
{
    Bytes dns = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(label.size())};
    dns.insert(dns.end(), label.begin(), label.end());
    dns.insert(dns.end(), {3, 'c', 'o', 'm', 0, 0, 1, 0, 1});
    uint16_t udp_length = static_cast<uint16_t>(8 + dns.size());
    uint16_t ip_length = static_cast<uint16_t>(20 + udp_length);
    Bytes header = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
                   0x45, 0, uint8_t(ip_length >> 8), uint8_t(ip_length), 0, 1, 0x40, 0, 64, 17, 0, 0,
                   10, 0, 0, 1, 10, 0, 0, 2,
                   uint8_t(port >> 8), uint8_t(port), 0, 53, uint8_t(udp_length >> 8), uint8_t(udp_length), 0, 0};
    Bytes frame(header.size() + dns.size());
    std::copy(dns.begin(), dns.end(), std::copy(header.begin(), header.end(), frame.begin()));
    return frame;
}

/// DUT namespace with in0 <-> feed0 and out0 <-> sink0, all ends up.
struct Bench {
    TestNetwork net{"hsvc"};
    std::string dut = net.add_namespace("dut");

    Bench()
    {
        // No IPv6 link-local chatter: the counters must see the test's frames only.
        net.exec("dut", "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        net.exec("dut", "ip link add in0 type veth peer name feed0");
        net.exec("dut", "ip link add out0 type veth peer name sink0");
        for (const char *port : {"in0", "feed0", "out0", "sink0"}) {
            net.exec("dut", std::string("ip link set ") + port + " up");
        }
    }
};

} // namespace

TEST_CASE("the host service forwards what the program passes and reports its events", "[host][service]")
{
    if (geteuid() != 0 || access(kDpi.c_str(), R_OK) != 0) {
        WARN("needs root and dpi.bpf.o; skipping");
        return;
    }
    auto mode = GENERATE(host::ExecMode::Jit, host::ExecMode::Interpreter);
    Bench bench;
    InNamespace inside(bench.dut);
    auto started = host::start_service(ServiceSpec{.program = kDpi, .ingress = "in0", .egress = "out0"}, mode);
    INFO((started ? std::string() : started.error().message()));
    REQUIRE(started);
    Service &service = **started;
    CHECK(service.target() == (mode == host::ExecMode::Jit ? "host" : "host-interp"));
    REQUIRE(service.map("blocklist"));
    REQUIRE(dpi::block(*service.map("blocklist"), {"facebook.com"}));

    RawPort feed("feed0");
    RawPort sink("sink0");
    for (int i = 0; i < 3; i++) {
        feed.send(dns_query("vmware", 40001));
        feed.send(dns_query("facebook", 40002));
    }
    auto names = sink.received_names(std::chrono::milliseconds(500));
    CHECK(std::count(names.begin(), names.end(), "vmware") == 3);
    CHECK(std::count(names.begin(), names.end(), "facebook") == 0);

    std::vector<std::string> events;
    auto polled = service.poll_events(
        [&events](ByteView record) {
            auto event = dpi::decode_event(record);
            events.push_back(event ? (event->dropped ? "BLOCKED " : "passed ") + event->name : "undecodable");
        },
        std::chrono::milliseconds(200));
    REQUIRE(polled);
    CHECK(*polled == 6);
    CHECK(std::count(events.begin(), events.end(), "BLOCKED facebook.com") == 3);
    CHECK(std::count(events.begin(), events.end(), "passed vmware.com") == 3);

    CHECK(bench.net.exec("dut", "ip -d link show in0").find("promiscuity 1") != std::string::npos);
    REQUIRE(service.stop());
    feed.send(dns_query("vmware", 40001));
    CHECK(sink.received_names(std::chrono::milliseconds(200)).empty()); // stopped: nothing forwards
    CHECK(bench.net.exec("dut", "ip -d link show in0").find("promiscuity 0") != std::string::npos); // closed
    bool counted = false;
    for (const auto &line : service.describe()) {
        UNSCOPED_INFO(line);
        counted |= line.starts_with("forwarded from in0: received 6 passed 3 dropped 3");
    }
    CHECK(counted);
}

TEST_CASE("the host service refuses a missing interface and a program the verifier refuses", "[host][service]")
{
    if (geteuid() != 0 || access(kDpi.c_str(), R_OK) != 0) {
        WARN("needs root and dpi.bpf.o; skipping");
        return;
    }
    Bench bench;
    InNamespace inside(bench.dut);
    auto missing = host::start_service(ServiceSpec{.program = kDpi, .ingress = "in0", .egress = "nosuch1"},
                                       host::ExecMode::Jit);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().which == "interface 'nosuch1'");
    CHECK(missing.error().why == "no such interface in this network namespace");
    CHECK(bench.net.exec("dut", "ip -d link show in0").find("promiscuity 0") != std::string::npos);

    auto lonely = host::start_service(ServiceSpec{.program = kDpi, .ingress = "in0", .both_directions = true},
                                      host::ExecMode::Jit);
    REQUIRE_FALSE(lonely);
    CHECK(lonely.error().why.find("needs an egress") != std::string::npos);

    const std::string refused = std::string(HARMONY_BPF_DIR) + "/xdp_test_refused.bpf.o";
    if (access(refused.c_str(), R_OK) == 0) {
        auto verdict = host::start_service(ServiceSpec{.program = refused, .ingress = "in0", .egress = "out0"},
                                           host::ExecMode::Interpreter);
        REQUIRE_FALSE(verdict);
        CHECK(verdict.error().what == "verify");
    }
}
