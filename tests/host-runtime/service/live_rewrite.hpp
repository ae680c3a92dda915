// Test scaffolding for live rewrites: rewrite.bpf.o on a DUT between two veth pairs in one
// namespace (in0 <-> feed0 the client side, out0 <-> sink0 the server side), frames from
// tests/data/rewrite/rewrite.pcap sent on feed0 by a raw socket, and what comes back on
// feed0 or out on sink0 compared with rewrite.out.pcap (the generator's scapy model).
// Shared by the host service test and the dpdk service test.
#pragma once

#include "common/pcap.hpp"
#include "tests/support/lab.hpp"
#include "tests/support/netns.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <thread>

namespace harmony::test {

inline const std::string kRewriteProgram = std::string(HARMONY_BPF_DIR) + "/rewrite.bpf.o";
inline const std::string kRewriteData = std::string(HARMONY_SOURCE_DIR) + "/tests/data/rewrite";

/// Whether a live rewrite test can run here (root for namespaces, rewrite.bpf.o built);
/// warns that it skips when not.
inline bool live_rewrite_runs()
{
    if (geteuid() != 0 || access(kRewriteProgram.c_str(), R_OK) != 0) {
        WARN("needs root and rewrite.bpf.o; skipping");
        return false;
    }
    return true;
}

/// Indexes into rewrite.pcap (see gen_rewrite.py).
constexpr size_t kEchoFrame = 0;   ///< UDP to port 7: comes back with everything swapped
constexpr size_t kTaggedFrame = 3; ///< 802.1Q, VLAN 100: leaves untagged
constexpr size_t kLongDiscard = 6; ///< UDP to port 9, 200 bytes: leaves with 64

/// A raw socket on one veth end that sees only frames arriving there, each with the VLAN
/// tag the kernel moved into metadata put back in place, so a tag that arrived is seen.
class RewritePort {
public:
    explicit RewritePort(const std::string &interface)
    {
        fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
        int one = 1;
        sockaddr_ll address{};
        address.sll_family = AF_PACKET;
        address.sll_protocol = htons(ETH_P_ALL);
        address.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
        if (fd_ < 0 || setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 ||
            setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0 ||
            bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
            throw std::runtime_error("raw socket on " + interface);
        }
    }
    ~RewritePort() { close(fd_); }
    RewritePort(const RewritePort &) = delete;
    RewritePort &operator=(const RewritePort &) = delete;

    void send(const Bytes &frame) { REQUIRE(::send(fd_, frame.data(), frame.size(), 0) == ssize_t(frame.size())); }

    /// The first arriving frame equal to `wanted` within `wait`, else every frame that came.
    std::vector<Bytes> wait_for(const Bytes &wanted, std::chrono::milliseconds wait)
    {
        std::vector<Bytes> seen;
        auto end = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < end) {
            auto frame = receive();
            if (!frame) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            if (*frame == wanted) {
                return {*frame};
            }
            seen.push_back(std::move(*frame));
        }
        return seen;
    }

private:
    std::optional<Bytes> receive()
    {
        Bytes buffer(4 + 2048);
        alignas(8) uint8_t control[64];
        iovec iov{buffer.data() + 4, buffer.size() - 4};
        msghdr message{};
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof(control);
        ssize_t n = recvmsg(fd_, &message, 0);
        if (n < 12) {
            return std::nullopt;
        }
        for (cmsghdr *c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) {
                continue;
            }
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
            if (aux.tp_status & TP_STATUS_VLAN_VALID) {
                std::memmove(buffer.data(), buffer.data() + 4, 12);
                uint16_t tag[2] = {htons(ETH_P_8021Q), htons(aux.tp_vlan_tci)};
                std::memcpy(buffer.data() + 12, tag, sizeof(tag));
                return Bytes(buffer.begin(), buffer.begin() + n + 4);
            }
        }
        return Bytes(buffer.begin() + 4, buffer.begin() + 4 + n);
    }

    int fd_ = -1;
};

inline std::string hex(const Bytes &frame)
{
    std::string text;
    for (uint8_t b : frame) {
        text += "0123456789abcdef"[b >> 4];
        text += "0123456789abcdef"[b & 15];
    }
    return text;
}

/// The DUT namespace: in0 <-> feed0 and out0 <-> sink0, all ends up, no IPv6 chatter.
struct RewriteBench {
    explicit RewriteBench(const std::string &tag) : net(tag), dut(net.add_namespace("dut"))
    {
        net.exec("dut", "sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        net.exec("dut", "ip link add in0 type veth peer name feed0");
        net.exec("dut", "ip link add out0 type veth peer name sink0");
        for (const char *port : {"in0", "feed0", "out0", "sink0"}) {
            net.exec("dut", std::string("ip link set ") + port + " up");
        }
    }
    TestNetwork net;
    std::string dut;
};

/// With the service running in `bench`'s DUT (the calling thread inside its namespace):
/// the echo comes back to the client swapped, the tagged frame reaches the server
/// untagged, the long discard frame reaches it trimmed.
inline void check_live_rewrites()
{
    auto in = read_pcap(kRewriteData + "/rewrite.pcap");
    auto out = read_pcap(kRewriteData + "/rewrite.out.pcap");
    REQUIRE(in.has_value());
    REQUIRE(out.has_value());
    RewritePort client("feed0");
    RewritePort server("sink0");
    struct Case {
        const char *what;
        size_t index;
        RewritePort &sender;
        RewritePort &receiver;
    };
    for (const Case &c : {Case{"echo back to the client, swapped (XDP_TX)", kEchoFrame, client, client},
                          Case{"VLAN tag popped on the way to the server", kTaggedFrame, client, server},
                          Case{"long discard datagram trimmed to 64 bytes", kLongDiscard, client, server}}) {
        INFO(c.what);
        bool arrived = false;
        std::string others;
        // The first frames may race the service's sockets coming up: retry a few times.
        for (int attempt = 0; attempt < 5 && !arrived; attempt++) {
            c.sender.send((*in)[c.index]);
            auto seen = c.receiver.wait_for((*out)[c.index], std::chrono::milliseconds(400));
            arrived = seen.size() == 1 && seen.front() == (*out)[c.index];
            for (const auto &other : seen) {
                others += "\n  " + hex(other);
                CHECK(other != (*in)[c.index]); // never the original frame
            }
        }
        INFO("expected " << hex((*out)[c.index]) << "; other frames that arrived:" << others);
        CHECK(arrived);
    }
}

/// With the service forwarding both ways in `lab`'s DUT: a datagram the client's own UDP
/// socket sends to the server's port 7 comes back to that socket from the server's address
/// and port 7, its payload intact. Nothing listens on port 7 anywhere: only the DUT's
/// XDP_TX can have answered, and the client's kernel accepted the answer, so its
/// addresses, ports and checksums were right.
inline void check_udp_echo(Lab &lab)
{
    std::string script = fmt::format(
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.settimeout(1)\n"
        "s.bind(('{}', 40777))\n"
        "for attempt in range(5):\n"
        "    s.sendto(b'harmony echo', ('{}', 7))\n"
        "    try:\n"
        "        data, peer = s.recvfrom(2048)\n"
        "        print('ECHO', data.decode(), peer[0], peer[1])\n"
        "        break\n"
        "    except socket.timeout:\n"
        "        pass\n",
        lab.client_address(), lab.server_address());
    auto result = lab.net.try_exec("client", "/usr/bin/python3 -c \"" + script + "\"");
    INFO(result.output);
    CHECK(result.status == 0);
    CHECK(contains(result.output, fmt::format("ECHO harmony echo {} 7", lab.server_address())));
}

} // namespace harmony::test
