// One interface as the host service sees it: an AF_PACKET socket bound to it, promiscuous,
// receiving only frames that arrive (PACKET_IGNORE_OUTGOING: what the service itself sends
// is never read back), in recvmmsg batches, with each frame's virtio-net header
// (PACKET_VNET_HDR) kept so a frame sent on keeps its GSO layout and pending checksum —
// veth hands over 64 KiB TCP segments whose checksum is not yet filled in. A VLAN tag the
// receive path moved into metadata (PACKET_AUXDATA) is put back into the frame, where XDP
// sees it.
#pragma once

#include "common/target.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct msghdr;

namespace harmony::host {

/// struct VnetHeader (linux/virtio_net.h does not compile as C++: a member is named
/// `class`): how the kernel describes a frame's pending segmentation and checksum.
struct VnetHeader {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr uint8_t kVnetNeedsChecksum = 1; ///< VIRTIO_NET_HDR_F_NEEDS_CSUM

/// A received frame: its bytes and the header to send it on with.
struct ReceivedFrame {
    VnetHeader vnet{};
    ByteView bytes;
    bool truncated = false; ///< longer than the receive buffer; bytes hold the start only
};

class PacketSocket {
public:
    static Result<std::unique_ptr<PacketSocket>> open(const std::string &interface);
    ~PacketSocket();
    PacketSocket(const PacketSocket &) = delete;
    PacketSocket &operator=(const PacketSocket &) = delete;

    const std::string &interface() const { return interface_; }
    int ifindex() const { return ifindex_; }
    /// Waits up to `timeout` for frames and returns the batch received (valid until the
    /// next call); empty on timeout.
    Result<std::vector<ReceivedFrame>> receive(std::chrono::milliseconds timeout);
    /// Sends one frame out of this interface.
    Result<void> send(const ReceivedFrame &frame);

private:
    PacketSocket() = default;
    Result<void> configure();
    static void with_vlan_tag(msghdr &message, ReceivedFrame &frame);

    /// Control room for one PACKET_AUXDATA message.
    struct AuxControl {
        alignas(8) uint8_t bytes[64];
    };
    static constexpr size_t kVlanTag = 4;

    static constexpr size_t kBatch = 16;
    static constexpr int kReceiveQueueBytes = 16 << 20;
    static constexpr size_t kFrameRoom = 65536 + 256; // a GSO frame up to 64 KiB plus its headers

    std::string interface_;
    int ifindex_ = 0;
    int fd_ = -1;
    std::vector<VnetHeader> headers_;
    std::vector<Bytes> buffers_;
};

} // namespace harmony::host
