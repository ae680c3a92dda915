// The client side of the control socket: the maps of a service in another process, as Map objects.
#include "map_control.hpp"
#include "map_control_wire.hpp"

#include <fmt/format.h>

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace harmony {

namespace {

using map_control::LineSocket;
using nlohmann::json;

constexpr auto kReplyTimeout = std::chrono::seconds(5);

/// One connection, one request at a time.
class ControlConnection {
public:
    static Result<std::shared_ptr<ControlConnection>> connect_to(std::string_view service)
    {
        auto path = control_socket_path(service);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return fail("connect", path.string(), errno_text(errno));
        }
        auto connection = std::make_shared<ControlConnection>(fd);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
        if (connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
            return fail("connect", path.string(),
                        fmt::format("no running service '{}' serves its maps here: {}", service, errno_text(errno)));
        }
        return connection;
    }

    explicit ControlConnection(int fd) : socket_(fd) {}

    Result<json> request(const json &message)
    {
        if (auto sent = socket_.send(message); !sent) {
            return std::unexpected(sent.error());
        }
        auto reply = socket_.receive(kReplyTimeout);
        if (!reply) {
            return std::unexpected(reply.error());
        }
        if (!*reply) {
            return fail("receive", "control socket", "the service closed the connection");
        }
        if (!(*reply)->value("ok", false)) {
            return std::unexpected(map_control::error_from_json(**reply));
        }
        return std::move(**reply);
    }

private:
    LineSocket socket_;
};

Result<Bytes> hex_reply(const json &reply, const char *field)
{
    if (!reply.contains(field) || !reply[field].is_string()) {
        return fail("control reply", field, "missing or not a hex string");
    }
    return from_hex(reply[field].get<std::string>());
}

class RemoteMap final : public Map {
public:
    RemoteMap(std::shared_ptr<ControlConnection> connection, MapInfo info)
        : connection_(std::move(connection)), info_(std::move(info))
    {
    }

    const MapInfo &info() const override { return info_; }

    Result<Bytes> lookup(ByteView key) override
    {
        auto reply = connection_->request({{"op", "lookup"}, {"map", info_.name}, {"key", to_hex(key)}});
        if (!reply) {
            return std::unexpected(reply.error());
        }
        return hex_reply(*reply, "value");
    }

    Result<void> update(ByteView key, ByteView value, uint64_t flags) override
    {
        auto reply = connection_->request(
            {{"op", "update"}, {"map", info_.name}, {"key", to_hex(key)}, {"value", to_hex(value)}, {"flags", flags}});
        return reply ? Result<void>{} : std::unexpected(reply.error());
    }

    Result<void> erase(ByteView key) override
    {
        auto reply = connection_->request({{"op", "delete"}, {"map", info_.name}, {"key", to_hex(key)}});
        return reply ? Result<void>{} : std::unexpected(reply.error());
    }

    Result<std::optional<Bytes>> next_key(std::optional<ByteView> key) override
    {
        json message = {{"op", "next_key"}, {"map", info_.name}};
        if (key) {
            message["key"] = to_hex(*key);
        }
        auto reply = connection_->request(message);
        if (!reply) {
            return std::unexpected(reply.error());
        }
        if ((*reply)["key"].is_null()) {
            return std::optional<Bytes>{};
        }
        auto next = hex_reply(*reply, "key");
        if (!next) {
            return std::unexpected(next.error());
        }
        return std::optional<Bytes>{std::move(*next)};
    }

private:
    std::shared_ptr<ControlConnection> connection_;
    MapInfo info_;
};

MapInfo map_info_from(const json &j)
{
    return MapInfo{j.value("name", ""), j.value("type", 0u), j.value("key_size", 0u), j.value("value_size", 0u),
                   j.value("max_entries", 0u), j.value("flags", 0u)};
}

} // namespace

Result<std::vector<std::unique_ptr<Map>>> open_remote_maps(std::string_view service)
{
    auto connection = ControlConnection::connect_to(service);
    if (!connection) {
        return std::unexpected(connection.error());
    }
    auto reply = (*connection)->request({{"op", "list"}});
    if (!reply) {
        return std::unexpected(reply.error());
    }
    std::vector<std::unique_ptr<Map>> maps;
    for (const auto &info : (*reply)["maps"]) {
        maps.push_back(std::make_unique<RemoteMap>(*connection, map_info_from(info)));
    }
    return maps;
}

} // namespace harmony
