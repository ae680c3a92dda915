// Reading a running service: its pinned maps from any process, and its ring buffer of
// events (decoded by common/dpi_control.hpp).
#include "fd_map.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>

namespace harmony::xdp {

Result<std::vector<std::unique_ptr<Map>>> open_pinned_maps(std::string_view service)
{
    std::filesystem::path dir = pin_dir(service);
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return fail("open maps of service", "'" + std::string(service) + "'",
                    "not running: nothing pinned under " + dir.string());
    }
    std::vector<std::filesystem::path> pins;
    for (const auto &entry : std::filesystem::directory_iterator(dir, ec)) {
        pins.push_back(entry.path());
    }
    std::sort(pins.begin(), pins.end());
    std::vector<std::unique_ptr<Map>> maps;
    for (const auto &pin : pins) {
        int fd = bpf_obj_get(pin.c_str());
        if (fd < 0) {
            return fail("open pinned map", pin.string(), errno_text(errno));
        }
        auto map = make_fd_map(fd, true, pin.filename().string());
        if (!map) {
            return std::unexpected(map.error());
        }
        maps.push_back(std::move(*map));
    }
    return maps;
}

namespace {

class LibbpfRingBufferReader final : public RingBufferReader {
public:
    explicit LibbpfRingBufferReader(Callback callback) : callback_(std::move(callback)) {}
    ~LibbpfRingBufferReader() override { ring_buffer__free(ring_); }

    static int deliver(void *context, void *data, size_t size)
    {
        auto *self = static_cast<LibbpfRingBufferReader *>(context);
        self->callback_(ByteView(static_cast<const uint8_t *>(data), size));
        return 0;
    }

    /// Programs may write with BPF_RB_NO_WAKEUP (a wakeup per record costs more than the
    /// DPI itself, measured), so records can be waiting without the epoll fd ever firing:
    /// drain first, wait only when empty, and drain again when the wait timed out.
    Result<int> poll(std::chrono::milliseconds timeout) override
    {
        int delivered = ring_buffer__consume(ring_);
        if (delivered == 0) {
            delivered = ring_buffer__poll(ring_, static_cast<int>(timeout.count()));
            if (delivered == 0) {
                delivered = ring_buffer__consume(ring_);
            }
        }
        if (delivered < 0 && delivered != -EINTR) {
            return fail("poll ring buffer", "", errno_text(delivered));
        }
        return std::max(delivered, 0);
    }

    ring_buffer *ring_ = nullptr;

private:
    Callback callback_;
};

} // namespace

Result<std::unique_ptr<RingBufferReader>> RingBufferReader::open(int map_fd, Callback callback)
{
    auto reader = std::make_unique<LibbpfRingBufferReader>(std::move(callback));
    reader->ring_ = ring_buffer__new(map_fd, &LibbpfRingBufferReader::deliver, reader.get(), nullptr);
    if (!reader->ring_) {
        return fail("open ring buffer", "fd " + std::to_string(map_fd), errno_text(errno));
    }
    return std::unique_ptr<RingBufferReader>(std::move(reader));
}

} // namespace harmony::xdp
