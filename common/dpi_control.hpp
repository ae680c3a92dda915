// The control plane of the DPI service (bpf/dpi.bpf.c): the blocklist file and its map
// keys, the ring-buffer events, and the counters — the same on every target, through
// the common Map API.
#pragma once

#include "dpi.h"
#include "error.hpp"
#include "target.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::dpi {

/// A blocklist file: one domain a line; blank lines and '#' comments ignored. Domains are
/// lower-cased and a trailing dot dropped; a line that is not a domain is an error naming
/// the file, the line number and the reason.
Result<std::vector<std::string>> read_blocklist(const std::string &path);

/// Checks one domain and returns it normalised ("Example.COM." -> "example.com").
Result<std::string> normalise_domain(std::string_view text);

/// The LPM-trie key of a blocked domain: reversed, with a trailing dot (see dpi.h).
Bytes blocklist_key(std::string_view domain);
/// The domain a blocklist key stands for.
std::string domain_of_key(ByteView key);

/// Adds (or removes) domains in a program's 'blocklist' map; takes effect at once.
Result<void> block(Map &blocklist, const std::vector<std::string> &domains);
Result<void> unblock(Map &blocklist, std::string_view domain);
/// Loads the blocklist file into the program's 'blocklist' map.
Result<void> apply_blocklist(LoadedProgram &program, const std::string &path);

enum class Proto : uint8_t { None = DPI_PROTO_NONE, Http = DPI_PROTO_HTTP, Tls = DPI_PROTO_TLS, Dns = DPI_PROTO_DNS };
std::string_view proto_name(Proto proto); ///< "http", "tls", "dns", "-"

/// A decoded ring-buffer record.
struct Event {
    Proto proto = Proto::None;
    bool dropped = false;
    std::string name;
    std::string client; ///< "10.1.2.3:4567" or "[fd00::1]:4567": the packet's source
    std::string server; ///< the packet's destination
};
Result<Event> decode_event(ByteView record);

/// The 'counters' map summed over CPUs, indexed by enum dpi_counter.
using Counters = std::array<uint64_t, DPI_CNT_MAX>;
Result<Counters> read_counters(Map &counters);
std::string_view counter_name(size_t index);

} // namespace harmony::dpi
