// End to end, as the paper's correctness test: client -> DUT -> server over veth, the DUT
// forwarding both ways with the DPI program on XDP. Blocked sites time out, the others
// answer with their own page; a ClientHello naming a blocked site is dropped; a name added
// to the pinned blocklist while the service runs is blocked from the next connection on.
#include "netns.hpp"

#include "xdp/xdp.hpp"

#include "common/dpi_control.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <chrono>
#include <cstring>
#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace harmony;
using namespace harmony::xdp;
using harmony::test::InNamespace;
using harmony::test::TestNetwork;

namespace {

const std::filesystem::path kBpfDir = HARMONY_BPF_DIR;
const std::string kServerAddress = "10.77.0.2";
const std::vector<std::string> kBlocked = {"yahoo.com", "facebook.com", "example.com", "youtube.com"};
const std::vector<std::string> kAllowed = {"vmware.com", "google.com", "slashdot.org"};

// A temporary folder removed at the end.
struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("hx-e2e-" + std::to_string(getpid()));
    TempDir() { std::filesystem::create_directories(path); }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// The virtual-host server, running inside the server namespace until destroyed.
class VhostServer {
public:
    VhostServer(const std::string &ns, const std::filesystem::path &dir) : ready_(dir / "ready")
    {
        std::string cert = (dir / "cert.pem").string();
        std::string key = (dir / "key.pem").string();
        auto made = harmony::test::run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=harmony -keyout " +
                                               key + " -out " + cert);
        if (made.status != 0) {
            throw std::runtime_error("openssl: " + made.output);
        }
        std::string script = std::string(HARMONY_SOURCE_DIR) + "/tests/xdp/vhost_server.py";
        pid_ = fork();
        if (pid_ == 0) {
            execlp("ip", "ip", "netns", "exec", ns.c_str(), "/usr/bin/python3", script.c_str(), kServerAddress.c_str(),
                   cert.c_str(), key.c_str(), ready_.c_str(), nullptr);
            _exit(127);
        }
        for (int i = 0; i < 100 && !std::filesystem::exists(ready_); i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!std::filesystem::exists(ready_)) {
            throw std::runtime_error("the virtual-host server did not start");
        }
    }
    ~VhostServer()
    {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }

private:
    std::filesystem::path ready_;
    pid_t pid_ = -1;
};

// client (c0 10.77.0.1) <-> (d0) dut (d1) <-> server (s0 10.77.0.2): one L2 segment that
// exists only through the DUT's forwarding.
struct Lab {
    TestNetwork net{"e2e"};
    std::string client = net.add_namespace("client");
    std::string dut = net.add_namespace("dut");
    std::string server = net.add_namespace("server");
    TempDir temp;

    Lab()
    {
        net.add_veth("client", "c0", "dut", "d0");
        net.add_veth("dut", "d1", "server", "s0");
        net.exec("client", "ip addr add 10.77.0.1/24 dev c0");
        net.exec("server", "ip addr add " + kServerAddress + "/24 dev s0");
        // Frames redirected by XDP lose the skb's pending checksum, so the endpoints compute
        // theirs in software; GRO gives their veth a NAPI context to receive redirected frames.
        net.exec("client", "ethtool -K c0 tx off gro on");
        net.exec("server", "ethtool -K s0 tx off gro on");
    }

    // "200 BODY" on success, "curl exit N" on failure.
    std::string fetch(const std::string &scheme, const std::string &domain)
    {
        std::string port = scheme == "https" ? "443" : "80";
        auto result = net.try_exec("client", "curl -sk -m 2 -w ' %{http_code}' --resolve " + domain + ":" + port +
                                                 ":" + kServerAddress + " " + scheme + "://" + domain + "/");
        if (result.status != 0) {
            return "curl exit " + std::to_string(result.status);
        }
        return result.output;
    }
};

std::string page(const std::string &domain)
{
    return "harmony page for " + domain + "\n 200";
}

Map *find(std::vector<std::unique_ptr<Map>> &maps, std::string_view name)
{
    for (auto &map : maps) {
        if (map->info().name == name) {
            return map.get();
        }
    }
    return nullptr;
}

} // namespace

TEST_CASE("the DPI service on XDP blocks live connections between two namespaces", "[xdp][netns][e2e]")
{
    std::filesystem::path dpi = kBpfDir / "dpi.bpf.o";
    if (!std::filesystem::exists(dpi)) {
        WARN("dpi.bpf.o is not built; skipping");
        return;
    }
    auto mode = GENERATE(AttachMode::native, AttachMode::generic);
    Lab lab;
    VhostServer server(lab.server, lab.temp.path);
    CHECK(lab.fetch("http", "vmware.com") != page("vmware.com")); // no forwarding yet: no path to the server
    lab.net.exec("client", "ip neigh flush dev c0");                 // forget the failed ARP

    std::unique_ptr<Service> service;
    {
        InNamespace inside(lab.dut);
        ServiceOptions options;
        options.program = dpi;
        options.service = "hxe2e" + std::to_string(getpid());
        options.ingress = "d0";
        options.egress = "d1";
        options.both_directions = true;
        options.modes = {mode};
        auto started = Service::start(options);
        INFO((started ? std::string() : started.error().message()));
        REQUIRE(started.has_value());
        service = std::move(*started);
    }
    REQUIRE(service->attachments().size() == 2);
    CHECK(service->attachments()[0].mode == mode);

    // The control plane reaches the maps through their pins, as a second process would.
    auto pinned = open_pinned_maps(service->name());
    REQUIRE(pinned.has_value());
    Map *blocklist = find(*pinned, "blocklist");
    REQUIRE(blocklist != nullptr);
    auto blocked = dpi::block(*blocklist, kBlocked);
    INFO((blocked ? std::string() : blocked.error().message()));
    REQUIRE(blocked.has_value());
    std::vector<std::string> events;
    auto reader = RingBufferReader::open(map_fd(*service->map("events")), [&](ByteView record) {
        auto event = dpi::decode_event(record);
        REQUIRE(event.has_value());
        events.push_back(fmt::format("{} {} {} {} -> {}", event->dropped ? "DROP" : "PASS",
                                     dpi::proto_name(event->proto), event->name, event->client, event->server));
    });
    REQUIRE(reader.has_value());

    for (const auto &domain : kAllowed) {
        CHECK(lab.fetch("http", domain) == page(domain));
    }
    for (const auto &domain : kBlocked) {
        CHECK(lab.fetch("http", domain) == "curl exit 28"); // timed out: the request never arrived
    }
    CHECK(lab.fetch("https", "youtube.com") == "curl exit 28"); // ClientHello dropped: no handshake
    CHECK(lab.fetch("https", "vmware.com") == page("vmware.com"));

    // Blocked from the next connection on, while the service runs.
    auto added = dpi::block(*blocklist, {"google.com"});
    REQUIRE(added.has_value());
    CHECK(lab.fetch("http", "google.com") == "curl exit 28");
    CHECK(lab.fetch("https", "google.com") == "curl exit 28");
    CHECK(lab.fetch("http", "slashdot.org") == page("slashdot.org"));

    REQUIRE((*reader)->poll(std::chrono::milliseconds(100)).has_value());
    std::string all_events;
    for (const auto &line : events) {
        all_events += line + "\n";
    }
    INFO(all_events);
    CHECK(all_events.find("DROP http yahoo.com 10.77.0.1:") != std::string::npos);
    CHECK(all_events.find("DROP tls youtube.com 10.77.0.1:") != std::string::npos);
    CHECK(all_events.find("PASS http vmware.com 10.77.0.1:") != std::string::npos);
    auto counters = dpi::read_counters(*service->map("counters"));
    REQUIRE(counters.has_value());
    CHECK((*counters)[DPI_CNT_DROP] > 0);
    CHECK((*counters)[DPI_CNT_PASS] > 0);

    REQUIRE(service->stop().has_value());
    CHECK(lab.net.exec("dut", "ip link show d0").find("xdp") == std::string::npos);
    CHECK(lab.net.exec("dut", "ip link show d1").find("xdp") == std::string::npos);
}
