// Hand-off to the host: frames of an interface reach a user-space callback over AF_XDP,
// and a frame sent from user space leaves through the interface.
#include "tests/support/netns.hpp"

#include "xdp/xdp.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <string_view>

using namespace harmony;
using namespace harmony::xdp;
using harmony::test::InNamespace;
using harmony::test::TestNetwork;

namespace {

bool contains(ByteView frame, std::string_view text)
{
    return std::search(frame.begin(), frame.end(), text.begin(), text.end()) != frame.end();
}

} // namespace

TEST_CASE("frames of an interface reach a callback through AF_XDP", "[xdp][xsk]")
{
    auto mode = GENERATE(AttachMode::native, AttachMode::generic);
    TestNetwork net("xs");
    std::string host = net.add_namespace("host");
    net.add_namespace("peer");
    net.add_veth("host", "host0", "peer", "peer0");
    net.exec("host", "ip addr add 10.98.0.1/24 dev host0");
    net.exec("peer", "ip addr add 10.98.0.2/24 dev peer0");
    std::string host_mac = net.exec("host", "cat /sys/class/net/host0/address");
    host_mac.erase(host_mac.find_last_not_of("\n") + 1);
    // No ARP answer will come (every frame goes to the socket), so the peer is told the MAC.
    net.exec("peer", "ip neigh add 10.98.0.1 lladdr " + host_mac + " dev peer0");

    InNamespace inside(host);
    XskOptions options;
    options.interface = "host0";
    options.modes = {mode};
    auto receiver = XskReceiver::open(options);
    INFO((receiver ? std::string() : receiver.error().message()));
    REQUIRE(receiver.has_value());
    CHECK((*receiver)->attachment().mode == mode);

    net.exec("peer", "/usr/bin/python3 -c \"import socket\n"
                     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                     "for _ in range(5): s.sendto(b'harmony-xsk-probe', ('10.98.0.1', 9999))\"");
    int seen = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (seen < 5 && std::chrono::steady_clock::now() < deadline) {
        auto polled = (*receiver)->poll(std::chrono::milliseconds(100), [&](ByteView frame) {
            if (contains(frame, "harmony-xsk-probe")) {
                seen++;
            }
        });
        REQUIRE(polled.has_value());
    }
    CHECK(seen == 5);

    SECTION("a frame sent from user space leaves through the interface")
    {
        auto capture = std::async(std::launch::async, [&] {
            return net.try_exec("peer", "timeout 3 /usr/bin/python3 -c \"import socket\n"
                                        "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88b5))\n"
                                        "s.bind(('peer0', 0))\n"
                                        "print(s.recv(2048)[14:].decode(errors='replace'))\"");
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(700)); // the capture socket is bound
        Bytes frame(64, 0);
        std::fill(frame.begin(), frame.begin() + 6, 0xff); // broadcast
        frame[12] = 0x88;                                  // local experimental ethertype
        frame[13] = 0xb5;
        std::string_view payload = "harmony-xsk-sent";
        std::copy(payload.begin(), payload.end(), frame.begin() + 14);
        REQUIRE((*receiver)->send(frame).has_value());
        auto captured = capture.get();
        INFO(captured.output);
        CHECK(captured.output.find("harmony-xsk-sent") != std::string::npos);
    }

    receiver->reset();
    CHECK(net.exec("host", "ip link show host0").find("xdp") == std::string::npos);
}
