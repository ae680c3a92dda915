// The control socket of common/map_control.hpp end to end: a real program's maps (dpi.bpf.o
// on Harmony's VM) served from a thread, reached through open_remote_maps and through raw
// JSON lines; bad requests answered with what/which/why; stale sockets replaced, live ones
// refused, the socket removed when the server ends.
#include "common/dpi_control.hpp"
#include "common/map_control.hpp"
#include "host-runtime/target/host_target.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace harmony;

namespace {

const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";

// The server serves a Service; a loaded program's maps are all it reads from one.
class ProgramService final : public Service {
public:
    explicit ProgramService(std::unique_ptr<LoadedProgram> program) : program_(std::move(program)) {}
    std::string_view target() const override { return program_->target(); }
    std::vector<std::string> describe() const override { return {}; }
    Map *map(std::string_view name) override { return program_->map(name); }
    std::vector<Map *> maps() override { return program_->maps(); }
    Result<size_t> poll_events(const std::function<void(ByteView)> &, std::chrono::milliseconds) override
    {
        return 0;
    }
    Result<void> stop() override { return {}; }

private:
    std::unique_ptr<LoadedProgram> program_;
};

int connect_to(const std::filesystem::path &path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0);
    return fd;
}

nlohmann::json ask(int fd, const std::string &line)
{
    std::string request = line + "\n";
    REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    std::string reply;
    char c = 0;
    while (recv(fd, &c, 1, 0) == 1 && c != '\n') {
        reply += c;
    }
    return nlohmann::json::parse(reply);
}

std::string service_name()
{
    return "hxctltest" + std::to_string(getpid());
}

} // namespace

TEST_CASE("hex keys and values", "[map_control]")
{
    CHECK(to_hex(Bytes{0x00, 0xab, 0x10}) == "00ab10");
    CHECK(from_hex("0x00:AB 10") == Bytes{0x00, 0xab, 0x10});
    CHECK_FALSE(from_hex("abc").has_value());
    CHECK_FALSE(from_hex("").has_value());
    CHECK(from_hex("zz").error().why == "'z' is not a hex digit");
}

TEST_CASE("a service's maps over its control socket", "[map_control]")
{
    auto program = host::load(kDpi, host::ExecMode::Jit);
    REQUIRE(program.has_value());
    ProgramService service(std::move(*program));
    std::string name = service_name();
    auto server = MapControlServer::start(name, service);
    REQUIRE(server.has_value());

    auto maps = open_remote_maps(name);
    REQUIRE(maps.has_value());
    Map *blocklist = nullptr;
    for (auto &m : *maps) {
        if (m->info().name == "blocklist") {
            blocklist = m.get();
        }
    }
    REQUIRE(blocklist != nullptr);
    CHECK(blocklist->info().key_size == service.map("blocklist")->info().key_size);
    REQUIRE(dpi::block(*blocklist, {"example.com", "example.org"}).has_value());
    CHECK(service.map("blocklist")->lookup(dpi::blocklist_key("example.org")).has_value()); // the real map changed
    size_t keys = 0;
    for (auto key = blocklist->next_key(std::nullopt); key && *key; key = blocklist->next_key(ByteView(**key))) {
        keys++;
    }
    CHECK(keys == 2);
    REQUIRE(dpi::unblock(*blocklist, "example.com").has_value());
    auto gone = blocklist->lookup(dpi::blocklist_key("example.com"));
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().which.find("blocklist") != std::string::npos);

    int fd = connect_to((*server)->socket_path());
    CHECK(ask(fd, R"({"op":"list"})")["maps"].size() == service.maps().size());
    auto unknown_op = ask(fd, R"({"op":"frobnicate","map":"blocklist"})");
    CHECK(unknown_op["ok"] == false);
    CHECK(unknown_op["error"]["why"].get<std::string>().find("unknown op") != std::string::npos);
    auto no_map = ask(fd, R"({"op":"lookup","map":"nosuch","key":"00"})");
    CHECK(no_map["error"]["which"] == "'nosuch'");
    auto bad_hex = ask(fd, R"({"op":"lookup","map":"blocklist","key":"xy"})");
    CHECK(bad_hex["error"]["why"] == "'x' is not a hex digit");
    auto no_value = ask(fd, R"({"op":"update","map":"counters","key":"00000000"})");
    CHECK(no_value["error"]["why"].get<std::string>().find("'value'") != std::string::npos);
    auto not_json = ask(fd, "this is not json");
    CHECK(not_json["ok"] == false);
    close(fd);
    fd = connect_to((*server)->socket_path()); // the server is back to accepting after a bad client
    CHECK(ask(fd, R"({"op":"list"})")["ok"] == true);
    close(fd);

    auto second = MapControlServer::start(name, service);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().why == "another process serves this service already");
    auto path = (*server)->socket_path();
    server->reset();
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("a stale control socket is replaced; bad names are refused", "[map_control]")
{
    auto program = host::load(kDpi, host::ExecMode::Interpreter);
    REQUIRE(program.has_value());
    ProgramService service(std::move(*program));
    std::string name = service_name() + "stale";
    auto path = control_socket_path(name);
    std::filesystem::create_directories(path.parent_path());
    int stale = socket(AF_UNIX, SOCK_STREAM, 0); // bound, never listening: what a killed server leaves
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    REQUIRE(bind(stale, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0);
    close(stale);
    auto server = MapControlServer::start(name, service);
    REQUIRE(server.has_value());
    CHECK(open_remote_maps(name).has_value());
    server->reset();

    CHECK_FALSE(MapControlServer::start("", service).has_value());
    CHECK_FALSE(MapControlServer::start("a/b", service).has_value());
    auto nobody = open_remote_maps(name);
    REQUIRE_FALSE(nobody.has_value());
    CHECK(nobody.error().why.find("no running service") != std::string::npos);
}
