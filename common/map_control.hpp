// Reaching the maps of a running service from another process. XDP services pin their
// maps in bpffs; dpdk and host services keep them in process, so the process that runs
// one serves them on a Unix socket, /run/harmony/ctl/<service>.sock, one JSON object a
// line each way:
//   {"op":"list"}                                      -> {"ok":true,"maps":[{name,type,key_size,...}]}
//   {"op":"lookup","map":M,"key":HEX}                  -> {"ok":true,"value":HEX}
//   {"op":"update","map":M,"key":HEX,"value":HEX,"flags":N} -> {"ok":true}
//   {"op":"delete","map":M,"key":HEX}                  -> {"ok":true}
//   {"op":"next_key","map":M[,"key":HEX]}              -> {"ok":true,"key":HEX|null}
// and on failure {"ok":false,"error":{"what":..,"which":..,"why":..}}. The client side
// turns the socket back into harmony::Map objects, so `harmony map` handles every target
// with the same code.
#pragma once

#include "error.hpp"
#include "service.hpp"
#include "target.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace harmony {

/// /run/harmony/ctl/<service>.sock
std::filesystem::path control_socket_path(std::string_view service);

/// Lower-case hex, no separators; and back (spaces, ':' and a leading 0x allowed).
std::string to_hex(ByteView bytes);
Result<Bytes> from_hex(std::string_view text);

/// Serves a service's maps on its control socket from a thread, until destroyed. A stale
/// socket file (no one listening) is replaced; a live one is an error.
class MapControlServer {
public:
    static Result<std::unique_ptr<MapControlServer>> start(const std::string &service_name, Service &service);
    virtual ~MapControlServer() = default;
    virtual const std::filesystem::path &socket_path() const = 0;
};

/// The maps a service serves on its control socket, as Map objects sharing one connection.
Result<std::vector<std::unique_ptr<Map>>> open_remote_maps(std::string_view service);

} // namespace harmony
