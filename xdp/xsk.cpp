// Hand-off to the host target through AF_XDP: our redirect program sends one queue's
// frames to an XSK socket; frames are read from its RX ring and given back through the
// fill ring once the callback returns.
#include "attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cstring>

namespace harmony::xdp {

namespace {

constexpr uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;
constexpr uint32_t kRingSize = XSK_RING_CONS__DEFAULT_NUM_DESCS;
constexpr uint32_t kBatch = 64;

class AfXdpReceiver final : public XskReceiver {
public:
    ~AfXdpReceiver() override;

    static Result<std::unique_ptr<XskReceiver>> open(const XskOptions &options);
    const Attachment &attachment() const override { return chain_->attachment(); }
    const std::vector<ModeRefusal> &refusals() const override { return refusals_; }
    Result<int> poll(std::chrono::milliseconds timeout, const FrameCallback &callback) override;
    Result<void> send(ByteView frame) override;

private:
    Result<void> create_socket(const XskOptions &options);
    void refill(uint32_t count);
    void reclaim_sent();

    std::unique_ptr<AttachedChain> chain_;
    std::vector<ModeRefusal> refusals_;
    void *area_ = MAP_FAILED;
    size_t area_size_ = 0;
    xsk_umem *umem_ = nullptr;
    xsk_socket *socket_ = nullptr;
    xsk_ring_prod fill_{};
    xsk_ring_cons completion_{};
    xsk_ring_cons rx_{};
    xsk_ring_prod tx_{};
    std::vector<uint64_t> free_frames_; ///< frames neither in the fill ring nor in flight on TX
    std::string interface_;
};

AfXdpReceiver::~AfXdpReceiver()
{
    if (socket_) {
        xsk_socket__delete(socket_);
    }
    if (umem_) {
        xsk_umem__delete(umem_);
    }
    if (area_ != MAP_FAILED) {
        munmap(area_, area_size_);
    }
    chain_.reset(); // detaches the redirect program
}

Result<void> AfXdpReceiver::create_socket(const XskOptions &options)
{
    uint32_t frames = std::max(options.frame_count, 2 * kRingSize);
    area_size_ = static_cast<size_t>(frames) * kFrameSize;
    area_ = mmap(nullptr, area_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area_ == MAP_FAILED) {
        return fail("allocate AF_XDP umem", interface_, errno_text(errno));
    }
    xsk_umem_config umem_config{kRingSize, kRingSize, kFrameSize, XSK_UMEM__DEFAULT_FRAME_HEADROOM, 0};
    if (int err = xsk_umem__create(&umem_, area_, area_size_, &fill_, &completion_, &umem_config); err) {
        return fail("create AF_XDP umem", interface_, errno_text(err));
    }
    xsk_socket_config socket_config{};
    socket_config.rx_size = kRingSize;
    socket_config.tx_size = kRingSize;
    socket_config.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD; // ours is attached already
    socket_config.bind_flags = static_cast<uint16_t>(options.zero_copy ? XDP_ZEROCOPY : XDP_COPY);
    int err = xsk_socket__create(&socket_, interface_.c_str(), options.queue, umem_, &rx_, &tx_, &socket_config);
    if (err) {
        return fail("create AF_XDP socket", interface_ + " queue " + std::to_string(options.queue),
                    errno_text(err) + (options.zero_copy ? " (zero-copy needs driver support)" : ""));
    }
    bpf_map *sockets = bpf_object__find_map_by_name(chain_->object(0), "xsk_sockets");
    if (!sockets || (err = xsk_socket__update_xskmap(socket_, bpf_map__fd(sockets))) != 0) {
        return fail("register AF_XDP socket", interface_, errno_text(err));
    }
    for (uint32_t frame = 0; frame < frames; frame++) {
        free_frames_.push_back(static_cast<uint64_t>(frame) * kFrameSize);
    }
    refill(kRingSize);
    return {};
}

void AfXdpReceiver::refill(uint32_t count)
{
    count = std::min<uint32_t>(count, static_cast<uint32_t>(free_frames_.size()));
    uint32_t index = 0;
    uint32_t reserved = xsk_ring_prod__reserve(&fill_, count, &index);
    for (uint32_t i = 0; i < reserved; i++) {
        *xsk_ring_prod__fill_addr(&fill_, index + i) = free_frames_.back();
        free_frames_.pop_back();
    }
    xsk_ring_prod__submit(&fill_, reserved);
}

void AfXdpReceiver::reclaim_sent()
{
    uint32_t index = 0;
    uint32_t done = xsk_ring_cons__peek(&completion_, kBatch, &index);
    for (uint32_t i = 0; i < done; i++) {
        free_frames_.push_back(*xsk_ring_cons__comp_addr(&completion_, index + i));
    }
    xsk_ring_cons__release(&completion_, done);
}

Result<int> AfXdpReceiver::poll(std::chrono::milliseconds timeout, const FrameCallback &callback)
{
    reclaim_sent();
    uint32_t index = 0;
    uint32_t received = xsk_ring_cons__peek(&rx_, kBatch, &index);
    if (received == 0) {
        pollfd waiter{xsk_socket__fd(socket_), POLLIN, 0};
        if (::poll(&waiter, 1, static_cast<int>(timeout.count())) < 0 && errno != EINTR) {
            return fail("poll AF_XDP socket", interface_, errno_text(errno));
        }
        received = xsk_ring_cons__peek(&rx_, kBatch, &index);
    }
    for (uint32_t i = 0; i < received; i++) {
        const xdp_desc *descriptor = xsk_ring_cons__rx_desc(&rx_, index + i);
        const auto *data = static_cast<const uint8_t *>(xsk_umem__get_data(area_, descriptor->addr));
        callback(ByteView(data, descriptor->len));
        free_frames_.push_back(xsk_umem__extract_addr(descriptor->addr));
    }
    xsk_ring_cons__release(&rx_, received);
    refill(received);
    return static_cast<int>(received);
}

Result<void> AfXdpReceiver::send(ByteView frame)
{
    reclaim_sent();
    if (frame.size() > kFrameSize) {
        return fail("send on AF_XDP socket", interface_, "frame is larger than one umem frame");
    }
    uint32_t index = 0;
    if (free_frames_.empty() || xsk_ring_prod__reserve(&tx_, 1, &index) != 1) {
        return fail("send on AF_XDP socket", interface_, "transmit ring is full");
    }
    uint64_t address = free_frames_.back();
    free_frames_.pop_back();
    std::memcpy(xsk_umem__get_data(area_, address), frame.data(), frame.size());
    *xsk_ring_prod__tx_desc(&tx_, index) = {address, static_cast<uint32_t>(frame.size()), 0};
    xsk_ring_prod__submit(&tx_, 1);
    // Copy mode transmits only when kicked.
    if (sendto(xsk_socket__fd(socket_), nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0 && errno != EAGAIN &&
        errno != EBUSY && errno != ENOBUFS) {
        return fail("send on AF_XDP socket", interface_, errno_text(errno));
    }
    return {};
}

Result<std::unique_ptr<XskReceiver>> AfXdpReceiver::open(const XskOptions &options)
{
    if (auto allowed = check_privilege(); !allowed) {
        return std::unexpected(allowed.error());
    }
    auto receiver = std::make_unique<AfXdpReceiver>();
    receiver->interface_ = options.interface;
    std::vector<StageSpec> stages{{"AF_XDP redirect", {}, xsk_program_image(), 50, nullptr}};
    auto chain = attach_chain(options.interface, stages, options.modes, receiver->refusals_);
    if (!chain) {
        return std::unexpected(chain.error());
    }
    receiver->chain_ = std::move(*chain);
    if (auto created = receiver->create_socket(options); !created) {
        return std::unexpected(created.error());
    }
    return std::unique_ptr<XskReceiver>(std::move(receiver));
}

} // namespace

Result<std::unique_ptr<XskReceiver>> XskReceiver::open(const XskOptions &options)
{
    return AfXdpReceiver::open(options);
}

} // namespace harmony::xdp
