// The XDP target used for real: a BPF program attached to live interfaces with libxdp
// (coexisting with other XDP programs through its dispatcher), maps pinned per service so
// other processes can reach them, forwarding between two ports, the DPI program's counters
// and events, and the AF_XDP hand-off that feeds the host target.
#pragma once

#include "common/target.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::xdp {

/// Where on an interface a program runs, in the order they are tried.
enum class AttachMode { offload, native, generic };

/// "xdp-offload", "xdp-native", "xdp-generic".
std::string_view mode_name(AttachMode mode);

/// The modes a --target value allows, in trial order: "xdp" tries offload, native, generic;
/// "xdp-native" (etc.) forces one.
Result<std::vector<AttachMode>> modes_for_target(std::string_view target);

/// A mode the kernel refused, with its own words (libbpf/libxdp log and errno).
struct ModeRefusal {
    std::string interface;
    AttachMode mode;
    std::string reason;
};

/// Where pinned maps of a service live: /sys/fs/bpf/harmony/<service>.
std::filesystem::path pin_dir(std::string_view service);

struct ServiceOptions {
    std::filesystem::path program;  ///< the .bpf.o, loaded unmodified
    std::string service;            ///< names the pin folder; the program's file stem when empty
    std::string ingress;            ///< interface the program is attached to
    /// Forwarding mode: PASS leaves through this port (devmap redirect added at load time,
    /// see forward.cpp), DROP is dropped.
    std::optional<std::string> egress;
    bool both_directions = false;   ///< forwarding both ways, one DPI state shared by both ports
    std::vector<AttachMode> modes = {AttachMode::offload, AttachMode::native, AttachMode::generic};
};

/// One interface the service is attached to, and how.
struct Attachment {
    std::string interface;
    int ifindex = 0;
    AttachMode mode = AttachMode::generic;
    bool dispatcher = false; ///< through libxdp's dispatcher (shared with other programs) or alone
    std::string why_alone;   ///< libxdp's reason when it fell back to attaching without the dispatcher
    uint32_t program_id = 0;
};

/// A placed, running program on XDP. Detaches and unpins when destroyed.
class Service {
public:
    /// Loads, pins and attaches. A stale attachment left by a killed run of the same
    /// service is detached first; a live run of it is an error.
    static Result<std::unique_ptr<Service>> start(const ServiceOptions &options);
    virtual ~Service() = default;

    virtual const std::string &name() const = 0;
    virtual const std::vector<Attachment> &attachments() const = 0;
    virtual const std::vector<ModeRefusal> &refusals() const = 0;
    /// What start() found and replaced, one line each (empty when nothing was stale).
    virtual const std::vector<std::string> &replaced() const = 0;
    virtual Map *map(std::string_view name) = 0;
    virtual std::vector<Map *> maps() = 0;
    /// Detaches everything and removes the pins; the destructor does the same quietly.
    virtual Result<void> stop() = 0;
};

/// The maps a running service pinned, opened from another process (blocklist, counters...).
Result<std::vector<std::unique_ptr<Map>>> open_pinned_maps(std::string_view service);

/// Consumes a ring buffer map (the DPI program's 'events') and hands each record to a
/// callback; dpi::decode_event (common/dpi_control.hpp) reads DPI records.
class RingBufferReader {
public:
    using Callback = std::function<void(ByteView record)>;
    static Result<std::unique_ptr<RingBufferReader>> open(int map_fd, Callback callback);
    virtual ~RingBufferReader() = default;
    /// Waits up to `timeout` for records and delivers them; returns how many.
    virtual Result<int> poll(std::chrono::milliseconds timeout) = 0;
};

/// The fd behind a kernel map of this target (pinned or loaded), -1 for other maps.
int map_fd(Map &map);

/// Hand-off to the host: frames of one receive queue go to an AF_XDP socket and from
/// there to a callback, in user space. Attaches its own redirecting program (through the
/// dispatcher when possible); frames arrive in copy mode unless zero-copy is asked for.
struct XskOptions {
    std::string interface;
    uint32_t queue = 0;
    std::vector<AttachMode> modes = {AttachMode::native, AttachMode::generic};
    bool zero_copy = false;
    uint32_t frame_count = 4096;
};

class XskReceiver {
public:
    using FrameCallback = std::function<void(ByteView frame)>;
    static Result<std::unique_ptr<XskReceiver>> open(const XskOptions &options);
    virtual ~XskReceiver() = default;
    virtual const Attachment &attachment() const = 0;
    virtual const std::vector<ModeRefusal> &refusals() const = 0;
    /// Waits up to `timeout` for frames, hands each to `callback`, returns how many.
    virtual Result<int> poll(std::chrono::milliseconds timeout, const FrameCallback &callback) = 0;
    /// Sends one frame out of the same queue (the host target's TX/PASS-to-wire path).
    virtual Result<void> send(ByteView frame) = 0;
};

} // namespace harmony::xdp
