// A placed, running program (DESIGN.md "Service"): attached to live interfaces on one
// target, with its maps and events, until it is stopped. xdp/, offload/ and host-runtime/
// each implement it, so `harmony run`, `harmony demo` and the live benchmark drive every
// target through the same few calls.
#pragma once

#include "target.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace harmony {

/// Where and how a service runs, whatever the target.
struct ServiceSpec {
    std::string program;          ///< BPF object path
    std::string name;             ///< service name (pins, control socket); empty: the object's stem
    std::string ingress;          ///< interface the program sees frames from
    std::string egress;           ///< forwarding mode: PASS leaves through this interface; empty: none
    bool both_directions = false; ///< forwarding egress -> ingress too, one shared program state
};

class Service {
public:
    virtual ~Service() = default;
    /// The target it runs on, as placement names it ("xdp-native", "dpdk", "host", ...).
    virtual std::string_view target() const = 0;
    /// Human-readable lines on how it is attached: modes, engines, refusals on the way.
    virtual std::vector<std::string> describe() const = 0;
    virtual Map *map(std::string_view name) = 0;
    virtual std::vector<Map *> maps() = 0;
    /// Hands every ring-buffer record produced since the last call to `sink`, waiting up
    /// to `timeout` for the first; returns how many were handed over.
    virtual Result<size_t> poll_events(const std::function<void(ByteView)> &sink, std::chrono::milliseconds timeout) = 0;
    /// Detaches and releases everything; the service is inert afterwards.
    virtual Result<void> stop() = 0;
};

} // namespace harmony
