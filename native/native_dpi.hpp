// The DPI service written directly in C++: the oracle for differential tests and the
// "native" row of the benchmark. It implements ../shared/corpus/README.md on its own and
// shares no code with bpf/dpi.bpf.c (only the event layout of bpf/dpi.h, so its output
// goes through the same replay path).
#pragma once

#include "common/target.hpp"

#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>

struct dpi_event;

namespace harmony::native {

using Address = std::array<uint8_t, 16>; ///< IPv6, or IPv4 mapped (::ffff:a.b.c.d)
/// Names compared as string_views, so a lookup allocates nothing.
using DomainSet = std::set<std::string, std::less<>>;
/// Both endpoints (address, port), the lower first, and the L4 protocol.
using ConnectionKey = std::array<uint8_t, 37>;
struct ConnectionKeyHash {
    size_t operator()(const ConnectionKey &key) const
    {
        return std::hash<std::string_view>{}({reinterpret_cast<const char *>(key.data()), key.size()});
    }
};

/// What the packet parser found: the connection and, when the packet carries one, a name.
struct Classification {
    ConnectionKey connection{}; ///< canonical: the same for both directions
    uint8_t proto = 0;      ///< enum dpi_proto
    std::string name;
    Address src_addr{}, dst_addr{};
    uint16_t src_port = 0, dst_port = 0;
    uint8_t family = 0, l4_proto = 0;
};

/// Parses one Ethernet frame; std::nullopt when it has no TCP/UDP layer to classify.
std::optional<Classification> classify(ByteView frame);

/// True when `name` or one of its parent domains (on a label boundary) is in `blocked`.
bool is_blocked(const DomainSet &blocked, std::string_view name);

class NativeDpi final : public LoadedProgram {
public:
    NativeDpi();
    ~NativeDpi() override;
    std::string_view target() const override { return "native"; }
    Result<PacketOutcome> run(ByteView frame) override;
    /// As the other targets time themselves: the same judgement as run(), `repeat` times,
    /// into one reused event record instead of a fresh outcome per run.
    Result<double> time_per_run(ByteView frame, uint32_t repeat) override;
    Map *map(std::string_view name) override;
    std::vector<Map *> maps() override;

private:
    class BlocklistMap;
    /// The verdict for one frame; fills `event` and returns true in `named` when the frame carries a name.
    uint32_t judge(ByteView frame, dpi_event &event, bool &named);
    DomainSet blocked_;
    std::unordered_set<ConnectionKey, ConnectionKeyHash> dead_connections_; // a hash map, as the BPF program's
    std::unique_ptr<BlocklistMap> blocklist_map_;
};

} // namespace harmony::native
