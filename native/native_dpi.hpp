// The DPI service written directly in C++: the oracle for differential tests and the
// "native" row of the benchmark. It implements ../shared/corpus/README.md on its own and
// shares no code with bpf/dpi.bpf.c (only the event layout of bpf/dpi.h, so its output
// goes through the same replay path).
#pragma once

#include "common/target.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace harmony::native {

/// What the packet parser found: the connection and, when the packet carries one, a name.
struct Classification {
    std::string connection; ///< canonical: the same for both directions
    uint8_t proto = 0;      ///< enum dpi_proto
    std::string name;
    Bytes src_addr, dst_addr; ///< 16 bytes, IPv4 mapped
    uint16_t src_port = 0, dst_port = 0;
    uint8_t family = 0, l4_proto = 0;
};

/// Parses one Ethernet frame; std::nullopt when it has no TCP/UDP layer to classify.
std::optional<Classification> classify(ByteView frame);

/// True when `name` or one of its parent domains (on a label boundary) is in `blocked`.
bool is_blocked(const std::set<std::string> &blocked, const std::string &name);

class NativeDpi final : public LoadedProgram {
public:
    NativeDpi();
    ~NativeDpi() override;
    std::string_view target() const override { return "native"; }
    Result<PacketOutcome> run(ByteView frame) override;
    Map *map(std::string_view name) override;
    std::vector<Map *> maps() override;

private:
    class BlocklistMap;
    std::set<std::string> blocked_;
    std::set<std::string> dead_connections_;
    std::unique_ptr<BlocklistMap> blocklist_map_;
};

} // namespace harmony::native
