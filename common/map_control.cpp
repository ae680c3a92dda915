#include "map_control.hpp"
#include "map_control_wire.hpp"

#include <fmt/format.h>

#include <atomic>
#include <list>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace harmony {

std::filesystem::path control_socket_path(std::string_view service)
{
    return std::filesystem::path("/run/harmony/ctl") / (std::string(service) + ".sock");
}

std::string to_hex(ByteView bytes)
{
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out += fmt::format("{:02x}", b);
    }
    return out;
}

Result<Bytes> from_hex(std::string_view text)
{
    if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
    }
    std::string digits;
    for (char c : text) {
        if (c == ' ' || c == ':') {
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return fail("parse hex", "'" + std::string(text) + "'", fmt::format("'{}' is not a hex digit", c));
        }
        digits += c;
    }
    if (digits.empty() || digits.size() % 2 != 0) {
        return fail("parse hex", "'" + std::string(text) + "'",
                    "expected a whole number of bytes (pairs of hex digits)");
    }
    Bytes bytes;
    for (size_t i = 0; i < digits.size(); i += 2) {
        bytes.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return bytes;
}

namespace map_control {

LineSocket::~LineSocket()
{
    if (fd_ >= 0) {
        close(fd_);
    }
}

Result<void> LineSocket::send(const nlohmann::json &message)
{
    std::string line = message.dump() + "\n";
    size_t sent = 0;
    while (sent < line.size()) {
        ssize_t n = ::send(fd_, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return fail("send", "control socket", errno_text(errno));
        }
        sent += static_cast<size_t>(n);
    }
    return {};
}

Result<std::optional<nlohmann::json>> LineSocket::receive(std::chrono::milliseconds timeout)
{
    while (pending_.find('\n') == std::string::npos) {
        pollfd p{fd_, POLLIN, 0};
        int ready = poll(&p, 1, static_cast<int>(timeout.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return fail("receive", "control socket", ready == 0 ? kTimedOut : errno_text(errno));
        }
        char chunk[4096];
        ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
        if (n == 0) {
            return std::nullopt;
        }
        if (n < 0) {
            return fail("receive", "control socket", errno_text(errno));
        }
        pending_.append(chunk, static_cast<size_t>(n));
    }
    size_t end = pending_.find('\n');
    std::string line = pending_.substr(0, end);
    pending_.erase(0, end + 1);
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return fail("receive", "control socket", "not a JSON object: " + line.substr(0, 80));
    }
    return std::optional<nlohmann::json>(std::move(parsed));
}

nlohmann::json error_json(const Error &error)
{
    return {{"ok", false}, {"error", {{"what", error.what}, {"which", error.which}, {"why", error.why}}}};
}

Error error_from_json(const nlohmann::json &reply)
{
    const auto &e = reply.value("error", nlohmann::json::object());
    return Error{e.value("what", "control request"), e.value("which", ""), e.value("why", "no reason given")};
}

} // namespace map_control

namespace {

using map_control::error_json;
using map_control::LineSocket;
using nlohmann::json;

constexpr auto kPollPeriod = std::chrono::milliseconds(200);

json map_info_json(const MapInfo &info)
{
    return {{"name", info.name},
            {"type", info.type},
            {"key_size", info.key_size},
            {"value_size", info.value_size},
            {"max_entries", info.max_entries},
            {"flags", info.flags}};
}

Result<Bytes> hex_field(const json &request, const char *field)
{
    if (!request.contains(field) || !request[field].is_string()) {
        return fail("control request", request.value("op", "?"), fmt::format("'{}' (hex string) is missing", field));
    }
    return from_hex(request[field].get<std::string>());
}

/// One request against the service's maps; the reply to send back.
class RequestHandler {
public:
    explicit RequestHandler(Service &service) : service_(service) {}

    json handle(const json &request)
    {
        std::string op = request.value("op", "");
        if (op == "list") {
            json maps = json::array();
            for (Map *m : service_.maps()) {
                maps.push_back(map_info_json(m->info()));
            }
            return {{"ok", true}, {"maps", maps}};
        }
        std::string name = request.value("map", "");
        Map *map = service_.map(name);
        if (map == nullptr) {
            return error_json({"find map", "'" + name + "'", "the service has no map of that name"});
        }
        if (op == "lookup" || op == "update" || op == "delete") {
            return keyed(op, *map, request);
        }
        if (op == "next_key") {
            return next_key(*map, request);
        }
        return error_json({"control request", "'" + op + "'", "unknown op (list, lookup, update, delete, next_key)"});
    }

private:
    json keyed(const std::string &op, Map &map, const json &request)
    {
        auto key = hex_field(request, "key");
        if (!key) {
            return error_json(key.error());
        }
        if (op == "lookup") {
            auto value = map.lookup(*key);
            return value ? json{{"ok", true}, {"value", to_hex(*value)}} : error_json(value.error());
        }
        if (op == "delete") {
            auto erased = map.erase(*key);
            return erased ? json{{"ok", true}} : error_json(erased.error());
        }
        auto value = hex_field(request, "value");
        if (!value) {
            return error_json(value.error());
        }
        auto updated = map.update(*key, *value, request.value("flags", uint64_t{0}));
        return updated ? json{{"ok", true}} : error_json(updated.error());
    }

    json next_key(Map &map, const json &request)
    {
        std::optional<Bytes> after;
        if (request.contains("key") && !request["key"].is_null()) {
            auto key = hex_field(request, "key");
            if (!key) {
                return error_json(key.error());
            }
            after = std::move(*key);
        }
        auto next = after ? map.next_key(ByteView(*after)) : map.next_key(std::nullopt);
        if (!next) {
            return error_json(next.error());
        }
        return {{"ok", true}, {"key", *next ? json(to_hex(**next)) : json(nullptr)}};
    }

    Service &service_;
};

Result<int> listen_on(const std::filesystem::path &path)
{
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    if (error) {
        return fail("create", path.parent_path().string(), error.message());
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.string().size() >= sizeof(address.sun_path)) {
        return fail("listen", path.string(), "the path is too long for a Unix socket");
    }
    std::strcpy(address.sun_path, path.c_str());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return fail("listen", path.string(), errno_text(errno));
    }
    auto *sa = reinterpret_cast<sockaddr *>(&address);
    if (connect(fd, sa, sizeof(address)) == 0) {
        close(fd);
        return fail("listen", path.string(), "another process serves this service already");
    }
    std::filesystem::remove(path, error); // stale: nobody listens on it
    if (bind(fd, sa, sizeof(address)) != 0 || listen(fd, 8) != 0) {
        int err = errno;
        close(fd);
        return fail("listen", path.string(), errno_text(err));
    }
    return fd;
}

class SocketServer final : public MapControlServer {
public:
    SocketServer(std::filesystem::path path, int listener, Service &service)
        : path_(std::move(path)), listener_(listener), handler_(service), thread_([this] { serve(); })
    {
    }

    ~SocketServer() override
    {
        stop_ = true;
        thread_.join();
        for (auto &client : clients_) {
            client.thread.join();
        }
        close(listener_);
        std::error_code error;
        std::filesystem::remove(path_, error);
    }

    const std::filesystem::path &socket_path() const override { return path_; }

private:
    struct Client {
        std::thread thread;
        std::atomic<bool> done{false};
    };

    /// Accepts clients, each served on its own thread (a tool holding a connection open
    /// must not shut others out); joins the ones that have finished.
    void serve()
    {
        while (!stop_) {
            clients_.remove_if([](Client &client) {
                if (!client.done) {
                    return false;
                }
                client.thread.join();
                return true;
            });
            pollfd p{listener_, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(kPollPeriod.count())) <= 0) {
                continue;
            }
            int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                Client &client = clients_.emplace_back();
                client.thread = std::thread([this, fd, &client] {
                    serve_client(fd);
                    client.done = true;
                });
            }
        }
    }

    /// One client until it hangs up, misbehaves, or the server stops.
    void serve_client(int fd)
    {
        LineSocket client(fd);
        while (!stop_) {
            auto request = client.receive(kPollPeriod);
            if (!request) {
                if (request.error().why == map_control::kTimedOut) {
                    continue;
                }
                client.send(error_json(request.error()));
                return;
            }
            if (!*request) {
                return;
            }
            json reply;
            {
                std::lock_guard lock(handler_mutex_); // one control request at a time on the maps
                reply = handler_.handle(**request);
            }
            if (!client.send(reply)) {
                return;
            }
        }
    }

    std::filesystem::path path_;
    int listener_;
    RequestHandler handler_;
    std::mutex handler_mutex_;
    std::atomic<bool> stop_{false};
    std::list<Client> clients_; ///< touched by the accepting thread only
    std::thread thread_;
};

} // namespace

Result<std::unique_ptr<MapControlServer>> MapControlServer::start(const std::string &service_name, Service &service)
{
    if (service_name.empty() || service_name.find('/') != std::string::npos) {
        return fail("serve maps", "service '" + service_name + "'", "a service name is a non-empty file name");
    }
    auto path = control_socket_path(service_name);
    auto listener = listen_on(path);
    if (!listener) {
        return std::unexpected(listener.error());
    }
    return std::make_unique<SocketServer>(path, *listener, service);
}

} // namespace harmony
