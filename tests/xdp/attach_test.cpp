// The XDP target on real (veth) interfaces: mode fallback with the kernel's reasons,
// pinned maps, stale attachments, and bad input — each failure clear, nothing left attached.
#include "tests/support/netns.hpp"

#include "xdp/xdp.hpp"

#include "common/dpi_control.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

using namespace harmony;
using namespace harmony::xdp;
using harmony::test::InNamespace;
using harmony::test::TestNetwork;

// REQUIRE a Result holds a value, printing its error otherwise.
#define REQUIRE_OK(result)                                                                                             \
    do {                                                                                                               \
        auto &&checked_ = (result);                                                                                    \
        INFO((checked_.has_value() ? std::string() : checked_.error().message()));                                     \
        REQUIRE(checked_.has_value());                                                                                 \
    } while (0)

namespace {

const std::filesystem::path kBpfDir = HARMONY_BPF_DIR;
// A few datagrams from the peer to dut0 (ARP first, so frames arrive either way).
const std::string kSendUdp = "/usr/bin/python3 -c \"import socket, time\n"
                             "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                             "for _ in range(3): s.sendto(b'harmony', ('10.99.0.1', 9)); time.sleep(0.1)\"";

// A namespace "dut" with dut0 (10.99.0.1) <-> peer0 (10.99.0.2, in "peer"), and dut1 down.
struct VethBench {
    TestNetwork net{"at"};
    std::string dut = net.add_namespace("dut");
    std::string peer = net.add_namespace("peer");
    VethBench()
    {
        net.add_veth("dut", "dut0", "peer", "peer0");
        net.add_veth("dut", "dut1", "peer", "peer1");
        net.exec("dut", "ip link set dut1 down");
        net.exec("dut", "ip addr add 10.99.0.1/24 dev dut0");
        net.exec("peer", "ip addr add 10.99.0.2/24 dev peer0");
    }
    std::string link(const std::string &interface) { return net.exec("dut", "ip link show " + interface); }
};

ServiceOptions options_for(const std::filesystem::path &program, const std::string &service)
{
    ServiceOptions options;
    options.program = program;
    options.service = service + std::to_string(getpid());
    options.ingress = "dut0";
    return options;
}

bool has_xdp(const std::string &link_text)
{
    return link_text.find("xdp") != std::string::npos;
}

} // namespace

TEST_CASE("modes are tried offload, native, generic; veth refuses offload and takes native", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto service = Service::start(options_for(kBpfDir / "pass.bpf.o", "modes"));
    REQUIRE_OK(service);
    const auto &attachments = (*service)->attachments();
    REQUIRE(attachments.size() == 1);
    CHECK(attachments[0].mode == AttachMode::native);
    CHECK(attachments[0].interface == "dut0");
    REQUIRE((*service)->refusals().size() == 1);
    CHECK((*service)->refusals()[0].mode == AttachMode::offload);
    INFO((*service)->refusals()[0].reason);
    CHECK((*service)->refusals()[0].reason.find("-E") != std::string::npos); // the kernel's errno
    CHECK(has_xdp(bench.link("dut0")));
    REQUIRE_OK((*service)->stop());
    CHECK_FALSE(has_xdp(bench.link("dut0")));
}

TEST_CASE("a forced mode is the only one tried", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto options = options_for(kBpfDir / "pass.bpf.o", "forced");
    options.modes = *modes_for_target("xdp-generic");
    auto service = Service::start(options);
    REQUIRE_OK(service);
    CHECK((*service)->attachments()[0].mode == AttachMode::generic);
    CHECK((*service)->refusals().empty());
    CHECK(bench.link("dut0").find("xdpgeneric") != std::string::npos);
    service->reset();
    CHECK_FALSE(has_xdp(bench.link("dut0")));
}

TEST_CASE("target names map to modes", "[xdp]")
{
    CHECK(modes_for_target("xdp")->size() == 3);
    CHECK(modes_for_target("xdp-native")->front() == AttachMode::native);
    auto bad = modes_for_target("dpdk");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().message().find("not an XDP target") != std::string::npos);
}

TEST_CASE("Harmony shares the interface through the dispatcher, or says why it cannot", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto first = Service::start(options_for(kBpfDir / "pass.bpf.o", "share-a"));
    REQUIRE_OK(first);
    auto second = Service::start(options_for(kBpfDir / "pass.bpf.o", "share-b"));
    if (!(*first)->attachments()[0].dispatcher) {
        // Kernels that refuse freplace (libxdp's compatibility check) get one program alone;
        // libxdp's reason is kept, and a second program is refused without harm to the first.
        CHECK((*first)->attachments()[0].why_alone.find("dispatcher") != std::string::npos);
        REQUIRE_FALSE(second.has_value());
        CHECK(second.error().message().find("-EBUSY") != std::string::npos);
        CHECK(has_xdp(bench.link("dut0")));
        REQUIRE_OK((*first)->stop());
        CHECK_FALSE(has_xdp(bench.link("dut0")));
        return;
    }
    REQUIRE_OK(second);
    CHECK((*second)->attachments()[0].dispatcher);
    REQUIRE_OK((*first)->stop());
    CHECK(has_xdp(bench.link("dut0"))); // the other one is still there
    REQUIRE_OK((*second)->stop());
    CHECK_FALSE(has_xdp(bench.link("dut0")));
}

TEST_CASE("bad input is a clear error and leaves nothing attached", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto options = options_for(kBpfDir / "pass.bpf.o", "bad");

    SECTION("missing interface")
    {
        options.ingress = "nosuch0";
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        CHECK(service.error().message() == "use interface 'nosuch0': no such interface in this network namespace");
    }
    SECTION("interface down")
    {
        options.ingress = "dut1";
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        CHECK(service.error().message().find("interface is down") != std::string::npos);
        CHECK_FALSE(has_xdp(bench.link("dut1")));
    }
    SECTION("egress down")
    {
        options.egress = "dut1";
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        CHECK(service.error().message().find("'dut1'") != std::string::npos);
        CHECK_FALSE(has_xdp(bench.link("dut0")));
    }
    SECTION("missing program file")
    {
        options.program = kBpfDir / "nosuch.bpf.o";
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        CHECK(service.error().message().find("no such file") != std::string::npos);
    }
    SECTION("a program the kernel verifier refuses")
    {
        options.program = kBpfDir / "xdp_test_refused.bpf.o";
        options.modes = {AttachMode::native, AttachMode::generic};
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        std::string message = service.error().message();
        INFO(message);
        CHECK(message.find("every mode refused") != std::string::npos);
        CHECK(message.find("xdp-native: -EACCES") != std::string::npos);
        CHECK(message.find("invalid access to packet") != std::string::npos); // the verifier's own words
        CHECK_FALSE(has_xdp(bench.link("dut0")));
        CHECK_FALSE(std::filesystem::exists(pin_dir(options.service)));
    }
    SECTION("offload on veth")
    {
        options.modes = {AttachMode::offload};
        auto service = Service::start(options);
        REQUIRE_FALSE(service.has_value());
        std::string message = service.error().message();
        INFO(message);
        CHECK(message.find("xdp-offload: -E") != std::string::npos);
        CHECK_FALSE(has_xdp(bench.link("dut0")));
    }
    SECTION("no privilege")
    {
        int pipe_fds[2];
        REQUIRE(pipe(pipe_fds) == 0);
        pid_t child = fork();
        if (child == 0) {
            close(pipe_fds[0]);
            // Leaving uid 0 drops every capability.
            if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) {
                _exit(2);
            }
            auto service = Service::start(options);
            std::string message = service ? std::string("started") : service.error().message();
            (void)!write(pipe_fds[1], message.data(), message.size());
            _exit(0);
        }
        close(pipe_fds[1]);
        std::string message(512, '\0');
        ssize_t got = read(pipe_fds[0], message.data(), message.size());
        close(pipe_fds[0]);
        int status = 0;
        waitpid(child, &status, 0);
        message.resize(got > 0 ? static_cast<size_t>(got) : 0);
        INFO(message);
        CHECK(message.find("-EPERM") != std::string::npos);
        CHECK(message.find("CAP_BPF") != std::string::npos);
        CHECK_FALSE(has_xdp(bench.link("dut0")));
    }
}

TEST_CASE("maps are pinned per service and reachable from another handle", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto options = options_for(kBpfDir / "xdp_test_counting.bpf.o", "pins");
    auto service = Service::start(options);
    REQUIRE_OK(service);
    CHECK(std::filesystem::exists(pin_dir(options.service) / "settings"));
    CHECK(std::filesystem::exists(pin_dir(options.service) / "counters"));

    auto pinned = open_pinned_maps(options.service);
    REQUIRE_OK(pinned);
    Map *counters = nullptr;
    for (auto &map : *pinned) {
        if (map->info().name == "counters") {
            counters = map.get();
        }
    }
    REQUIRE(counters != nullptr);
    CHECK(counters->info().type == BPF_MAP_TYPE_PERCPU_ARRAY);
    // A write through the pinned handle is seen by the service's own handle: one map.
    auto totals = dpi::read_counters(*counters);
    REQUIRE_OK(totals);
    uint32_t slot = 0;
    Bytes key(reinterpret_cast<uint8_t *>(&slot), reinterpret_cast<uint8_t *>(&slot) + 4);
    Bytes values(counters->lookup(key)->size(), 0);
    uint64_t marker = 4242;
    std::memcpy(values.data(), &marker, sizeof(marker));
    REQUIRE(counters->update(key, values, BPF_ANY).has_value());
    auto seen = dpi::read_counters(*(*service)->map("counters"));
    REQUIRE_OK(seen);
    CHECK((*seen)[0] == 4242);
    // Traffic through the interface is counted in the same map.
    bench.net.exec("peer", kSendUdp);
    auto counted = dpi::read_counters(*counters);
    REQUIRE_OK(counted);
    CHECK((*counted)[0] > 4242);

    REQUIRE_OK((*service)->stop());
    CHECK_FALSE(std::filesystem::exists(pin_dir(options.service)));
    auto gone = open_pinned_maps(options.service);
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().message().find("not running") != std::string::npos);
}

TEST_CASE("a live run is refused; a killed run's attachment is detected and replaced", "[xdp]")
{
    VethBench bench;
    InNamespace inside(bench.dut);
    auto options = options_for(kBpfDir / "pass.bpf.o", "stale");
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    if (child == 0) {
        close(ready[0]);
        auto service = Service::start(options);
        char status = service ? 'y' : 'n';
        (void)!write(ready[1], &status, 1);
        pause(); // killed with SIGKILL: no cleanup runs
        _exit(0);
    }
    close(ready[1]);
    char status = 0;
    REQUIRE(read(ready[0], &status, 1) == 1);
    close(ready[0]);
    REQUIRE(status == 'y');

    auto while_alive = Service::start(options);
    REQUIRE_FALSE(while_alive.has_value());
    CHECK(while_alive.error().message().find("already running as pid " + std::to_string(child)) != std::string::npos);

    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    CHECK(has_xdp(bench.link("dut0"))); // the killed run left its program attached

    auto service = Service::start(options);
    REQUIRE_OK(service);
    REQUIRE_FALSE((*service)->replaced().empty());
    CHECK((*service)->replaced()[0].find("detached stale program") != std::string::npos);
    REQUIRE_OK((*service)->stop());
    CHECK_FALSE(has_xdp(bench.link("dut0"))); // the stale one is gone, not just ours
}
