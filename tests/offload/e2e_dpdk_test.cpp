// End to end with the DUT on dpdk, as tests/xdp/e2e_test.cpp does it on XDP: client -> DUT
// -> server over veth, the DUT forwarding both ways through a DpdkService whose ports are
// DPDK's own drivers on the DUT's two veths (net_af_packet, then net_af_xdp), running
// dpi.bpf.o on Harmony's VM engine on the queues (rte_bpf cannot take it). Blocked sites time out,
// the others answer with their own page; a ClientHello naming a blocked site is dropped;
// a name added to the blocklist through the service's map is blocked from the next
// connection on. The EAL starts once per process, hence this test's own executable.
#include "netns.hpp"

#include "common/dpi_control.hpp"
#include "host-runtime/target/host_target.hpp"
#include "offload/dpdk.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace harmony;
using namespace harmony::dpdk;
using harmony::test::InNamespace;
using harmony::test::TestNetwork;
namespace fs = std::filesystem;

namespace {

const std::string kServerAddress = "10.78.0.2";
const std::vector<std::string> kBlocked = {"yahoo.com", "facebook.com", "example.com", "youtube.com"};
const std::vector<std::string> kAllowed = {"vmware.com", "google.com", "slashdot.org"};

struct TempDir {
    fs::path path = fs::temp_directory_path() / ("hx-dpdk-e2e-" + std::to_string(getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

// tests/xdp/vhost_server.py inside the server namespace until destroyed.
class VhostServer {
public:
    VhostServer(const std::string &ns, const fs::path &dir) : ready_(dir / "ready")
    {
        std::string cert = (dir / "cert.pem").string();
        std::string key = (dir / "key.pem").string();
        auto made = test::run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=harmony -keyout " +
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
        for (int i = 0; i < 100 && !fs::exists(ready_); i++) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!fs::exists(ready_)) {
            throw std::runtime_error("the virtual-host server did not start");
        }
    }
    ~VhostServer()
    {
        kill(pid_, SIGTERM);
        waitpid(pid_, nullptr, 0);
    }

private:
    fs::path ready_;
    pid_t pid_ = -1;
};

// client (c0 10.78.0.1) <-> (d0) dut (d1) <-> server (s0 10.78.0.2): one L2 segment that
// exists only through the DUT's forwarding.
struct Lab {
    TestNetwork net{"dpdk-e2e"};
    std::string client = net.add_namespace("client");
    std::string dut = net.add_namespace("dut");
    std::string server = net.add_namespace("server");
    TempDir temp;

    Lab()
    {
        net.add_veth("client", "c0", "dut", "d0");
        net.add_veth("dut", "d1", "server", "s0");
        net.exec("client", "ip addr add 10.78.0.1/24 dev c0");
        net.exec("server", "ip addr add " + kServerAddress + "/24 dev s0");
        // The DUT's ports copy frames as bytes: a checksum left to offload would stay
        // unfilled, and a TSO super-frame would not fit an mbuf, so the endpoints do both in
        // software.
        net.exec("client", "ethtool -K c0 tx off tso off gso off");
        net.exec("server", "ethtool -K s0 tx off tso off gso off");
    }

    // "BODY 200" on success, "curl exit N" on failure.
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

// Starts the DPI service in the DUT namespace: DPDK's AF_PACKET / AF_XDP drivers bind
// to the interfaces of the namespace the probing thread is in.
Result<std::unique_ptr<DpdkService>> start_dut(const Lab &lab, const std::string &driver)
{
    static int next = 0;
    std::string tag = fmt::format("e2e{}x{}", getpid() % 100000, next++);
    DpdkServiceOptions options;
    options.ingress = fmt::format("{}_{}a,iface=d0", driver, tag);
    options.egress = fmt::format("{}_{}b,iface=d1", driver, tag);
    options.both_directions = true;
    options.program.host_vm = [](const std::string &path, bool jit) {
        return host::load(path, jit ? host::ExecMode::Jit : host::ExecMode::Interpreter);
    };
    InNamespace inside(lab.dut);
    return DpdkService::start(std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o", options);
}

} // namespace

TEST_CASE("the DPI service on dpdk blocks live connections between two namespaces", "[dpdk][netns][e2e]")
{
    if (geteuid() != 0) {
        WARN("skipped: namespaces and AF_PACKET need root");
        return;
    }
    if (!fs::exists(std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o")) {
        WARN("skipped: dpi.bpf.o is not built");
        return;
    }
    auto eal = Eal::start(EalOptions{.memory_mb = 256});
    REQUIRE(eal.has_value());
    std::string driver = GENERATE(as<std::string>{}, "net_af_packet", "net_af_xdp");
    INFO("driver " << driver);
    Lab lab;
    VhostServer server(lab.server, lab.temp.path);
    CHECK(lab.fetch("http", "vmware.com") == "curl exit 28"); // no forwarding yet: no path to the server
    lab.net.exec("client", "ip neigh flush dev c0");          // forget the failed ARP

    auto service = start_dut(lab, driver);
    INFO((service ? std::string() : service.error().message()));
    REQUIRE(service.has_value());
    CHECK(((*service)->engine().engine == Engine::HarmonyJit));
    CHECK((*service)->engine().reason.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
    Map *blocklist = (*service)->map("blocklist");
    REQUIRE(blocklist != nullptr);
    REQUIRE(dpi::block(*blocklist, kBlocked).has_value());

    for (const auto &domain : kAllowed) {
        CHECK(lab.fetch("http", domain) == page(domain));
    }
    for (const auto &domain : kBlocked) {
        CHECK(lab.fetch("http", domain) == "curl exit 28"); // timed out: the request never arrived
    }
    CHECK(lab.fetch("https", "youtube.com") == "curl exit 28"); // ClientHello dropped: no handshake
    CHECK(lab.fetch("https", "vmware.com") == page("vmware.com"));

    // Blocked from the next connection on, while the service runs.
    REQUIRE(dpi::block(*blocklist, {"google.com"}).has_value());
    CHECK(lab.fetch("http", "google.com") == "curl exit 28");
    CHECK(lab.fetch("https", "google.com") == "curl exit 28");
    CHECK(lab.fetch("http", "slashdot.org") == page("slashdot.org"));

    auto counters = dpi::read_counters(*(*service)->map("counters"));
    REQUIRE(counters.has_value());
    CHECK((*counters)[DPI_CNT_DROP] > 0);
    CHECK((*counters)[DPI_CNT_PASS] > 0);
    (*service)->stop();
    const QueueCounters forward = (*service)->forwarder().total();
    const QueueCounters back = (*service)->reverse_forwarder()->total();
    INFO(fmt::format("client->server received {} passed {} dropped {}; server->client received {} passed {}",
                     forward.received, forward.passed, forward.dropped, back.received, back.passed));
    CHECK(forward.dropped > 0);
    CHECK(forward.passed > 0);
    CHECK(back.passed > 0);
}
