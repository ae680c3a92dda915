// Packet captures in and out, through libpcap.
#pragma once

#include "error.hpp"
#include "target.hpp"

#include <string>
#include <vector>

namespace harmony {

/// Every frame of a pcap file, as captured (caplen bytes). Errors name the file and
/// libpcap's reason (missing, not a capture, truncated record).
Result<std::vector<Bytes>> read_pcap(const std::string &path);

/// Writes Ethernet frames to a new pcap file.
Result<void> write_pcap(const std::string &path, const std::vector<Bytes> &frames);

} // namespace harmony
