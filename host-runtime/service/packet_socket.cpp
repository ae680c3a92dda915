#include "host-runtime/service/packet_socket.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace harmony::host {
namespace {

Result<void> set_option(int fd, int option, const void *value, socklen_t size, const std::string &which,
                        const char *name)
{
    if (setsockopt(fd, SOL_PACKET, option, value, size) != 0) {
        return fail(std::string("set ") + name, which, errno_text(errno));
    }
    return {};
}

constexpr size_t kMacs = 2 * ETH_ALEN;

} // namespace

void PacketSocket::with_vlan_tag(msghdr &message, ReceivedFrame &frame)
{
    for (cmsghdr *c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) {
            continue;
        }
        tpacket_auxdata aux;
        std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
        if (!(aux.tp_status & TP_STATUS_VLAN_VALID) || frame.bytes.size() < kMacs) {
            return;
        }
        // The receive path moved the outermost tag into the skb's metadata; XDP sees it in
        // the frame, so the program gets it back where it was.
        auto *start = const_cast<uint8_t *>(frame.bytes.data()) - kVlanTag;
        std::memmove(start, start + kVlanTag, kMacs);
        uint16_t tpid = htons((aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : ETH_P_8021Q);
        uint16_t tci = htons(aux.tp_vlan_tci);
        std::memcpy(start + kMacs, &tpid, sizeof(tpid));
        std::memcpy(start + kMacs + sizeof(tpid), &tci, sizeof(tci));
        frame.bytes = ByteView(start, frame.bytes.size() + kVlanTag);
        if (frame.vnet.flags & kVnetNeedsChecksum) {
            frame.vnet.csum_start = static_cast<uint16_t>(frame.vnet.csum_start + kVlanTag);
        }
        return;
    }
}

Result<std::unique_ptr<PacketSocket>> PacketSocket::open(const std::string &interface)
{
    if (interface.empty() || interface.size() >= IFNAMSIZ) {
        return fail("open packet socket", "'" + interface + "'", "not a valid interface name");
    }
    auto socket = std::unique_ptr<PacketSocket>(new PacketSocket());
    socket->interface_ = interface;
    socket->ifindex_ = static_cast<int>(if_nametoindex(interface.c_str()));
    if (socket->ifindex_ == 0) {
        return fail("open packet socket", "interface '" + interface + "'", "no such interface in this network namespace");
    }
    // Protocol 0 until bound: no frame of another interface is queued in between.
    socket->fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (socket->fd_ < 0) {
        return fail("open packet socket", "interface '" + interface + "'", errno_text(errno));
    }
    if (auto ok = socket->configure(); !ok) {
        return std::unexpected(ok.error());
    }
    socket->headers_.resize(kBatch);
    socket->buffers_.assign(kBatch, Bytes(kFrameRoom));
    return socket;
}

Result<void> PacketSocket::configure()
{
    const std::string which = "packet socket on " + interface_;
    int one = 1;
    if (auto ok = set_option(fd_, PACKET_IGNORE_OUTGOING, &one, sizeof(one), which, "PACKET_IGNORE_OUTGOING"); !ok) {
        return ok;
    }
    if (auto ok = set_option(fd_, PACKET_VNET_HDR, &one, sizeof(one), which, "PACKET_VNET_HDR"); !ok) {
        return ok;
    }
    if (auto ok = set_option(fd_, PACKET_AUXDATA, &one, sizeof(one), which, "PACKET_AUXDATA"); !ok) {
        return ok;
    }
    // Bursts outrun one thread running the VM: a deep queue absorbs them (root may go past
    // rmem_max; for anyone else the ordinary limit applies).
    int queue_bytes = kReceiveQueueBytes;
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &queue_bytes, sizeof(queue_bytes)) != 0) {
        (void)setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &queue_bytes, sizeof(queue_bytes));
    }
    packet_mreq promisc{};
    promisc.mr_ifindex = ifindex_;
    promisc.mr_type = PACKET_MR_PROMISC;
    if (auto ok = set_option(fd_, PACKET_ADD_MEMBERSHIP, &promisc, sizeof(promisc), which, "promiscuous mode"); !ok) {
        return ok;
    }
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
        return fail("bind", which, errno_text(errno));
    }
    return {};
}

PacketSocket::~PacketSocket()
{
    if (fd_ >= 0) {
        close(fd_); // closing drops the promiscuous membership too
    }
}

Result<std::vector<ReceivedFrame>> PacketSocket::receive(std::chrono::milliseconds timeout)
{
    pollfd ready{fd_, POLLIN, 0};
    int polled = poll(&ready, 1, static_cast<int>(timeout.count()));
    if (polled < 0) {
        return errno == EINTR ? Result<std::vector<ReceivedFrame>>{} : fail("poll", "packet socket on " + interface_,
                                                                             errno_text(errno));
    }
    if (polled == 0) {
        return std::vector<ReceivedFrame>{};
    }
    std::vector<iovec> iov(2 * kBatch);
    std::vector<mmsghdr> messages(kBatch);
    std::vector<AuxControl> controls(kBatch);
    for (size_t i = 0; i < kBatch; i++) {
        iov[2 * i] = {&headers_[i], sizeof(VnetHeader)};
        // Room in front for a VLAN tag the kernel took out of the frame (see with_vlan_tag).
        iov[2 * i + 1] = {buffers_[i].data() + kVlanTag, buffers_[i].size() - kVlanTag};
        messages[i].msg_hdr.msg_iov = &iov[2 * i];
        messages[i].msg_hdr.msg_iovlen = 2;
        messages[i].msg_hdr.msg_control = controls[i].bytes;
        messages[i].msg_hdr.msg_controllen = sizeof(controls[i].bytes);
    }
    int count = recvmmsg(fd_, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (count < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return std::vector<ReceivedFrame>{};
        }
        return fail("receive", "packet socket on " + interface_, errno_text(errno));
    }
    std::vector<ReceivedFrame> frames;
    for (int i = 0; i < count; i++) {
        size_t length = messages[i].msg_len < sizeof(VnetHeader) ? 0 : messages[i].msg_len - sizeof(VnetHeader);
        ReceivedFrame frame;
        frame.vnet = headers_[i];
        frame.truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        frame.bytes = ByteView(buffers_[i].data() + kVlanTag, std::min(length, buffers_[i].size() - kVlanTag));
        with_vlan_tag(messages[i].msg_hdr, frame);
        frames.push_back(frame);
    }
    return frames;
}

Result<void> PacketSocket::send(const ReceivedFrame &frame)
{
    iovec iov[2] = {{const_cast<VnetHeader *>(&frame.vnet), sizeof(VnetHeader)},
                    {const_cast<uint8_t *>(frame.bytes.data()), frame.bytes.size()}};
    msghdr message{};
    message.msg_iov = iov;
    message.msg_iovlen = 2;
    if (sendmsg(fd_, &message, 0) < 0) {
        return fail("send", "packet socket on " + interface_, errno_text(errno));
    }
    return {};
}

} // namespace harmony::host
