// The one small interface every target implements: a program loaded on a target, its
// maps, and one frame at a time through it. Live attachment (interfaces, queues) builds
// on top of this in each target's folder.
#pragma once

#include "error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harmony {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

/// A map as the control plane sees it, with the kernel's numbering of types and flags.
struct MapInfo {
    std::string name;
    uint32_t type = 0; ///< BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0; ///< BPF_F_*
};

/// One map API for the control plane, whatever the target: kernel maps by fd, host and
/// dpdk maps in process. Per-CPU maps read and write one value per possible CPU,
/// concatenated, each rounded up to 8 bytes, as the bpf() syscall does.
class Map {
public:
    virtual ~Map() = default;
    virtual const MapInfo &info() const = 0;
    virtual Result<Bytes> lookup(ByteView key) = 0;
    virtual Result<void> update(ByteView key, ByteView value, uint64_t flags /* BPF_ANY... */) = 0;
    virtual Result<void> erase(ByteView key) = 0;
    /// The key after `key` (or the first key when empty); std::nullopt at the end.
    virtual Result<std::optional<Bytes>> next_key(std::optional<ByteView> key) = 0;
};

/// What one frame did: the XDP action the program returned, the ring-buffer records it
/// produced while handling that frame, and the frame as the program left it (data up to
/// data_end after its stores and bpf_xdp_adjust_head/tail), which PASS, TX and REDIRECT
/// send on.
struct PacketOutcome {
    uint32_t action = 0; ///< XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT
    std::vector<Bytes> events;
    Bytes frame;

    /// Whether the action sends the frame on (PASS, TX, REDIRECT).
    bool sends_frame_on() const;
};

/// A frame where a NIC received it: bytes `data`..`data_end` of a buffer that has headroom
/// from `start` and tailroom up to `end`.
struct FrameInPlace {
    uint8_t *start = nullptr;
    uint8_t *data = nullptr;
    uint8_t *data_end = nullptr;
    uint8_t *end = nullptr;
};

/// A program loaded on one target, ready to process frames offline (replay, bench).
class LoadedProgram {
public:
    virtual ~LoadedProgram() = default;
    virtual std::string_view target() const = 0;
    virtual Result<PacketOutcome> run(ByteView frame) = 0;
    /// The program's maps by name (nullptr when it has none of that name).
    virtual Map *map(std::string_view name) = 0;
    virtual std::vector<Map *> maps() = 0;
    /// Runs `frame` `repeat` times back to back and returns the mean nanoseconds per run;
    /// targets that can time inside their own loop (BPF_PROG_TEST_RUN) override this.
    virtual Result<double> time_per_run(ByteView frame, uint32_t repeat);
    /// Runs the program on `frame` where it lies, as a driver runs XDP on its receive
    /// buffer: the program's stores change the buffer, adjust_head/tail move `frame`'s
    /// data and data_end, and the outcome's frame stays empty. Only the host VM can (the
    /// others fail): it serves the dpdk target's queues without copying each frame.
    virtual Result<PacketOutcome> run_in_place(FrameInPlace &frame);
};

} // namespace harmony
