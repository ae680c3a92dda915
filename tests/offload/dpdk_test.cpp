// The dpdk target on a real EAL in this process (no hugepages needed): ports hot-plugged
// as net_null, net_ring, net_pcap and net_tap; programs on rte_bpf's JIT and interpreter;
// forwarding between ports; rte_flow rules against net_tap's validation. The EAL starts
// once per process, so every DPDK test lives in this one executable and shares it.
#include "offload/dpdk.hpp"
#include "tests/support/raw_insn.hpp"

#include "common/dpi_control.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"
#ifdef HARMONY_HAVE_HOSTRT
#include "host-runtime/target/host_target.hpp"
#endif

#include <catch2/catch.hpp>
#include <pcap/pcap.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace harmony;
using namespace harmony::dpdk;
using harmony::test::insn;
using harmony::test::kExit;
using harmony::test::kR0Pass;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kXdpAborted = 0, kXdpDrop = 1, kXdpPass = 2;

Eal &shared_eal()
{
    EalOptions options;
    options.memory_mb = 256;
    auto eal = Eal::start(options);
    if (!eal) {
        FAIL(eal.error().message());
    }
    return **eal;
}

std::string bpf_object(const std::string &name)
{
    return std::string(HARMONY_BPF_DIR) + "/" + name + ".bpf.o";
}

// Ethernet / IPv4 / UDP-or-TCP frame with the given ports and payload length.
Bytes ipv4_frame(uint8_t proto, uint16_t sport, uint16_t dport, uint32_t src = 0x0a000001, uint32_t dst = 0x0a000002,
                 size_t payload = 18)
{
    size_t l4 = proto == 6 ? 20 : 8;
    Bytes f(14 + 20 + l4 + payload, 0);
    for (int i = 0; i < 6; ++i) {
        f[i] = 0x02;
        f[6 + i] = 0x04;
    }
    f[12] = 0x08;
    f[13] = 0x00;
    uint8_t *ip = f.data() + 14;
    ip[0] = 0x45;
    uint16_t total = static_cast<uint16_t>(20 + l4 + payload);
    ip[2] = total >> 8;
    ip[3] = total & 0xff;
    ip[8] = 64;
    ip[9] = proto;
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
        ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
    }
    uint8_t *l4p = ip + 20;
    l4p[0] = sport >> 8;
    l4p[1] = sport & 0xff;
    l4p[2] = dport >> 8;
    l4p[3] = dport & 0xff;
    if (proto == 6) {
        l4p[12] = 0x50;
    }
    return f;
}

Bytes arp_frame()
{
    Bytes f(42, 0);
    f[12] = 0x08;
    f[13] = 0x06;
    return f;
}

struct Case {
    const char *description;
    Bytes frame;
    uint32_t action;
};

std::vector<Case> small_filter_cases()
{
    auto fragment = ipv4_frame(17, 1000, 9);
    auto runt = ipv4_frame(17, 1000, 9);
    runt.resize(30);
    fragment[14 + 7] = 0x10; // fragment offset != 0: no UDP header here
    return {
        {"UDP to the discard port", ipv4_frame(17, 1000, 9), kXdpDrop},
        {"UDP to DNS", ipv4_frame(17, 1000, 53), kXdpPass},
        {"TCP to port 9", ipv4_frame(6, 1000, 9), kXdpPass},
        {"UDP from port 9", ipv4_frame(17, 9, 1000), kXdpPass},
        {"ARP", arp_frame(), kXdpPass},
        {"non-first fragment", fragment, kXdpPass},
        {"runt frame shorter than the window", runt, kXdpPass},
    };
}

// Sends `frames` into `port` (a net_ring port loops its transmit queue back to receive).
void inject(Port &port, const std::vector<Bytes> &frames, uint16_t queue = 0)
{
    for (const auto &frame : frames) {
        rte_mbuf *m = rte_pktmbuf_alloc(port.pool());
        REQUIRE(m != nullptr);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
        REQUIRE(rte_eth_tx_burst(port.id(), queue, &m, 1) == 1);
    }
}

size_t drain(Port &port, uint16_t queue = 0)
{
    size_t count = 0;
    rte_mbuf *burst[32];
    while (uint16_t n = rte_eth_rx_burst(port.id(), queue, burst, 32)) {
        count += n;
        for (uint16_t i = 0; i < n; ++i) {
            rte_pktmbuf_free(burst[i]);
        }
    }
    return count;
}

size_t count_pcap(const std::string &path)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path.c_str(), errbuf);
    REQUIRE(p != nullptr);
    size_t count = 0;
    pcap_pkthdr *header = nullptr;
    const u_char *data = nullptr;
    while (pcap_next_ex(p, &header, &data) == 1) {
        ++count;
    }
    pcap_close(p);
    return count;
}

} // namespace

TEST_CASE("EAL runs in process without hugepages and finds Debian's PMD plugins", "[dpdk][eal]")
{
    Eal &eal = shared_eal();
    REQUIRE(Eal::running() == &eal);
    CHECK(fs::path(eal.plugin_dir()).filename().string().starts_with("pmds-"));
    CHECK(std::ranges::find(eal.args(), "-d") != eal.args().end());
    bool no_huge = std::ranges::find(eal.args(), "--no-huge") != eal.args().end();
    CHECK(no_huge == !hugepages_available());
    CHECK(eal.hugepages() == hugepages_available());

    SECTION("a second start shares the running EAL")
    {
        auto again = Eal::start({});
        REQUIRE(again);
        CHECK(*again == &eal);
    }
    SECTION("net_null and net_ring ports open, run and close")
    {
        auto null_port = Port::open_vdev("net_null_eal0", "");
        REQUIRE(null_port);
        CHECK((*null_port)->driver() == "net_null");
        auto ring_port = Port::open_vdev("net_ring_eal0", "", PortOptions{.rx_queues = 2, .tx_queues = 2});
        REQUIRE(ring_port);
        inject(**ring_port, {arp_frame(), arp_frame()}, 1);
        CHECK(drain(**ring_port, 1) == 2);
        uint16_t id = (*ring_port)->id();
        ring_port->reset();
        CHECK_FALSE(rte_eth_dev_is_valid_port(id));
    }
}

TEST_CASE("EAL arguments: hugepages when present, --no-huge otherwise", "[dpdk][eal]")
{
    EalOptions options;
    options.memory_mb = 64;
    options.pci_devices = {"0000:00:04.0"};
    options.vdevs = {"net_null0"};
    auto with_huge = eal_arguments(options, "/plugins", true);
    auto without = eal_arguments(options, "/plugins", false);
    auto has = [](const std::vector<std::string> &args, const std::string &arg) {
        return std::ranges::find(args, arg) != args.end();
    };
    CHECK(has(with_huge, "--in-memory"));
    CHECK_FALSE(has(with_huge, "--no-huge"));
    CHECK(has(without, "--no-huge"));
    CHECK_FALSE(has(without, "--in-memory")); // EAL refuses the two together
    for (const auto &args : {with_huge, without}) {
        CHECK(has(args, "64"));
        CHECK(has(args, "0000:00:04.0"));
        CHECK_FALSE(has(args, "--no-pci"));
        CHECK(has(args, "net_null0"));
        CHECK(has(args, "/plugins"));
    }
    CHECK(has(eal_arguments({}, "", false), "--no-pci"));
}

// Runs in a child process (a fresh one, since the EAL starts once per process).
TEST_CASE("child: EAL refuses an unknown virtual device", "[.][dpdk-child]")
{
    EalOptions options;
    options.vdevs = {"net_no_such_driver0"};
    auto eal = Eal::start(options);
    REQUIRE_FALSE(eal);
    INFO(eal.error().message());
    CHECK(eal.error().why.find("rte_eal_init") != std::string::npos);
    CHECK(Eal::running() == nullptr);
    auto again = Eal::start({});
    REQUIRE_FALSE(again);
    CHECK(again.error().why.find("cannot start again") != std::string::npos);
}

TEST_CASE("child: EAL refuses a plugin folder that does not exist", "[.][dpdk-child]")
{
    EalOptions options;
    options.plugin_dir = "/nonexistent/pmds";
    auto eal = Eal::start(options);
    REQUIRE_FALSE(eal);
    CHECK(eal.error().message().find("/nonexistent/pmds") != std::string::npos);
}

TEST_CASE("child: EAL shuts down cleanly and does not start twice", "[.][dpdk-child]")
{
    auto eal = Eal::start({});
    REQUIRE(eal);
    {
        auto port = Port::open_vdev("net_null_down0", "");
        REQUIRE(port);
    }
    REQUIRE((*eal)->shutdown());
    CHECK(Eal::running() == nullptr);
    auto again = Eal::start({});
    REQUIRE_FALSE(again);
    CHECK(again.error().why.find("shut down") != std::string::npos);
}

TEST_CASE("EAL start failures and shutdown, each in a fresh process", "[dpdk][eal][bad-input]")
{
    auto name = GENERATE(as<std::string>{}, "child: EAL refuses an unknown virtual device",
                         "child: EAL refuses a plugin folder that does not exist",
                         "child: EAL shuts down cleanly and does not start twice");
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        execl("/proc/self/exe", "dpdk_test", name.c_str(), nullptr);
        _exit(127);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    INFO(name);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("small filter runs on rte_bpf itself, JIT and interpreter", "[dpdk][rte_bpf]")
{
    shared_eal();
    bool jit = GENERATE(true, false);
    DpdkOptions options;
    options.jit = jit;
    auto program = load(bpf_object("small_filter"), options);
    REQUIRE(program);
    CHECK((*program)->target() == (jit ? "dpdk" : "dpdk-interp"));
    auto choice = choose_engine(bpf_object("small_filter"), options);
    REQUIRE(choice);
    CHECK(choice->engine == (jit ? Engine::RteBpfJit : Engine::RteBpfInterpreter));
    CHECK((*program)->maps().empty());
    for (const auto &c : small_filter_cases()) {
        INFO(c.description << (jit ? " (JIT)" : " (interpreter)"));
        auto outcome = (*program)->run(c.frame);
        REQUIRE(outcome);
        CHECK(outcome->action == c.action);
        CHECK(outcome->events.empty());
    }
}

TEST_CASE("helper calls bind to rte_bpf external symbols", "[dpdk][rte_bpf]")
{
    bool jit = GENERATE(true, false);
    // r0 = bpf_ktime_get_ns(); if r0 == 0 goto +1 (abort); r0 = XDP_PASS; exit ... abort: r0 = 0
    std::vector<isa::RawInsn> code = {insn(0x85, 0, 0, 0, 5), insn(0x15, 0, 0, 2, 0), kR0Pass, kExit,
                                      insn(0xb7, 0, 0, 0, 0), kExit};
    auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit}, "ktime caller");
    REQUIRE(program);
    CHECK((*program)->jitted() == jit);
    std::array<uint8_t, 64> frame{};
    rte_mbuf mbuf{};
    mbuf.buf_addr = frame.data();
    mbuf.data_off = 0;
    mbuf.data_len = frame.size();
    CHECK((*program)->run(&mbuf) == kXdpPass);

    std::vector<isa::RawInsn> unknown = {insn(0x85, 0, 0, 0, 999), kExit};
    auto refused = RteBpfProgram::load(unknown, {}, "unknown helper");
    REQUIRE_FALSE(refused);
    INFO(refused.error().message());
    CHECK(refused.error().why.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
    CHECK(refused.error().why.find("0: call 999") != std::string::npos);
    CHECK(refused.error().why.find("invalid func unknown#999") != std::string::npos);
}

TEST_CASE("rte_bpf with the mbuf itself as context (RTE_BPF_ARG_PTR_MBUF)", "[dpdk][rte_bpf]")
{
    bool jit = GENERATE(true, false);
    // r2 = mbuf->data_len; r0 = PASS; if r2 > 60 goto exit; r0 = DROP; exit
    auto data_len = static_cast<int16_t>(offsetof(rte_mbuf, data_len));
    std::vector<isa::RawInsn> code = {insn(0x69, 2, 1, data_len, 0), kR0Pass, insn(0x25, 2, 0, 1, 60),
                                      insn(0xb7, 0, 0, 0, kXdpDrop), kExit};
    auto program = RteBpfProgram::load(code, RteBpfOptions{.jit = jit, .context = RteBpfContext::Mbuf}, "data_len");
    REQUIRE(program);
    std::vector<uint8_t> buffer(RTE_MBUF_DEFAULT_BUF_SIZE);
    rte_mbuf mbuf{};
    mbuf.buf_addr = buffer.data();
    mbuf.buf_len = static_cast<uint16_t>(buffer.size());
    mbuf.data_len = 100;
    CHECK((*program)->run(&mbuf) == kXdpPass);
    mbuf.data_len = 40;
    CHECK((*program)->run(&mbuf) == kXdpDrop);
    // Both verifiers assumed a full-size buffer behind buf_addr: a smaller one never runs.
    mbuf.buf_len = 256;
    CHECK((*program)->run(&mbuf) == kXdpAborted);
}

TEST_CASE("rte_bpf refusals carry errno and the validator's reason", "[dpdk][rte_bpf][bad-input]")
{
    struct Refused {
        const char *description;
        std::vector<isa::RawInsn> code;
        const char *reason; ///< rte_bpf's own words (measured on DPDK 22.11) or Harmony's verifier's
        bool by_harmony;    ///< Harmony's verifier refuses it before rte_bpf_load sees it
    };
    std::vector<Refused> programs = {
        {"JMP32 class", {kR0Pass, insn(0x16, 0, 0, 0, 1), kExit}, "invalid opcode at pc: 1", false},
        {"map-fd ld_imm64", {insn(0x18, 1, 1, 0, 3), insn(0, 0, 0, 0, 0), kR0Pass, kExit},
         "0: r1 = map[fd:3] ll\nmap index 3 is not a map of this object", true},
        {"bpf-to-bpf call", {insn(0x85, 0, 1, 0, 1), kExit, kR0Pass, kExit}, "invalid src-reg field at pc: 0", false},
        // r2 = *(u64 *)(r1 + 0); r0 = *(u8 *)(r2 + 0): a pointer loaded from plain ARG_PTR
        {"access through a loaded pointer", {insn(0x79, 2, 1, 0, 0), insn(0x71, 0, 2, 0, 0), kExit},
         "1: r0 = *(u8 *)(r2 +0)\nR2 invalid mem access 'scalar'", true},
        // r2 = 1; r2 += r1: scalar += pointer, which Harmony's verifier follows and rte_bpf does not
        {"scalar += pointer", {insn(0xb7, 2, 0, 0, 1), insn(0x0f, 2, 1, 0, 0), insn(0x71, 0, 2, 0, 0), kExit},
         "destination is not a pointer at pc: 2", false},
    };
    for (const auto &p : programs) {
        INFO(p.description);
        auto loaded = RteBpfProgram::load(p.code, {}, p.description);
        REQUIRE_FALSE(loaded);
        INFO(loaded.error().message());
        CHECK(loaded.error().what == "load on rte_bpf");
        CHECK(loaded.error().which == p.description);
        auto source = p.by_harmony ? "Harmony's verifier refused it before rte_bpf_load" : "rte_bpf_load: -EINVAL";
        CHECK(loaded.error().why.find(source) != std::string::npos);
        CHECK(loaded.error().why.find(p.reason) != std::string::npos);
    }
}

TEST_CASE("dpi.bpf.o: rte_bpf refuses it and the dpdk target records why", "[dpdk][rte_bpf][dpi]")
{
    if (!fs::exists(bpf_object("dpi"))) {
        WARN("skipped: dpi.bpf.o not built");
        return;
    }
    shared_eal();
    DpdkOptions options;
    auto program = load_queue_program(bpf_object("dpi"), options);
    REQUIRE_FALSE(program); // no host VM fallback linked into this test (yet)
    INFO(program.error().message());
    CHECK(program.error().why.find("rte_bpf cannot run it") != std::string::npos);
    // Map references: the window context has no maps, so Harmony's verifier refuses first.
    CHECK(program.error().why.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
}

TEST_CASE("queues forward PASS to the egress port and free DROP, counted per queue", "[dpdk][forward]")
{
    shared_eal();
    bool jit = GENERATE(true, false);
    auto filter = load_queue_program(bpf_object("small_filter"), DpdkOptions{.jit = jit});
    REQUIRE(filter);
    PortOptions two_queues{.rx_queues = 2, .tx_queues = 2};
    auto ingress = Port::open_vdev("net_ring_fwd_in", "", two_queues);
    REQUIRE(ingress);
    auto egress = Port::open_vdev("net_ring_fwd_out", "", two_queues);
    REQUIRE(egress);
    QueueForwarder forwarder(**ingress, **egress, {filter->get(), filter->get()});

    // Queue 0: 3 dropped + 2 passed; queue 1: 4 passed.
    inject(**ingress, {ipv4_frame(17, 1, 9), ipv4_frame(17, 2, 9), ipv4_frame(17, 3, 9), ipv4_frame(17, 4, 53),
                       arp_frame()}, 0);
    inject(**ingress, {ipv4_frame(6, 1, 80), ipv4_frame(6, 2, 443), ipv4_frame(17, 5, 53), arp_frame()}, 1);
    CHECK(forwarder.poll(0) == 5);
    CHECK(forwarder.poll(1) == 4);
    CHECK(forwarder.poll(0) == 0);

    auto q0 = forwarder.counters(0);
    CHECK(q0.received == 5);
    CHECK(q0.dropped == 3);
    CHECK(q0.passed == 2);
    auto q1 = forwarder.counters(1);
    CHECK(q1.received == 4);
    CHECK(q1.passed == 4);
    CHECK(q1.dropped == 0);
    CHECK(forwarder.total().tx_failed == 0);
    CHECK(drain(**egress, 0) == 2);
    CHECK(drain(**egress, 1) == 4);
    CHECK(drain(**ingress, 0) == 0); // nothing bounced back
}

TEST_CASE("net_pcap: a capture through the receive path, PASS written to the egress capture", "[dpdk][forward][pcap]")
{
    shared_eal();
    auto dir = fs::temp_directory_path() / fmt::format("harmony-dpdk-{}", getpid());
    fs::create_directories(dir);
    std::vector<Bytes> frames;
    for (int i = 0; i < 30; ++i) {
        frames.push_back(ipv4_frame(17, static_cast<uint16_t>(1000 + i), i % 3 == 0 ? 9 : 53));
    }
    REQUIRE(write_pcap((dir / "in.pcap").string(), frames));
    auto filter = load_queue_program(bpf_object("small_filter"), {});
    REQUIRE(filter);
    {
        auto ingress = Port::open_vdev("net_pcap_in0", "rx_pcap=" + (dir / "in.pcap").string());
        REQUIRE(ingress);
        auto egress = Port::open_vdev("net_pcap_out0", "tx_pcap=" + (dir / "out.pcap").string());
        REQUIRE(egress);
        QueueForwarder forwarder(**ingress, **egress, {filter->get()});
        for (int spins = 0; spins < 1000 && forwarder.total().received < frames.size(); ++spins) {
            forwarder.poll(0);
        }
        CHECK(forwarder.total().received == 30);
        CHECK(forwarder.total().dropped == 10);
        CHECK(forwarder.total().passed == 20);
    } // closing the egress port flushes its capture
    CHECK(count_pcap((dir / "out.pcap").string()) == 20);
    fs::remove_all(dir);
}

TEST_CASE("flow drop verdicts fall back to the software flow map where the PMD has no rte_flow", "[dpdk][rte_flow]")
{
    shared_eal();
    auto filter = load_queue_program(bpf_object("small_filter"), {});
    REQUIRE(filter);
    auto ingress = Port::open_vdev("net_ring_flow_in", "");
    REQUIRE(ingress);
    auto egress = Port::open_vdev("net_ring_flow_out", "");
    REQUIRE(egress);
    FlowDropOffload flows((*ingress)->id(), FlowDropOptions{.max_rules = 2, .idle_timeout = std::chrono::seconds(10)},
                          "net_ring_flow_in");
    FlowKey blocked{0x0a000001, 0x0a000002, 4444, 80, 6};
    auto t0 = FlowDropOffload::Clock::now();
    auto placed = flows.drop(blocked, t0);
    REQUIRE(placed);
    CHECK(*placed == RulePlace::Software);
    CHECK_FALSE(flows.fallback_reason().empty());
    CHECK(flows.on_nic() == 0);

    SECTION("the forwarder drops the connection before the program runs")
    {
        QueueForwarder forwarder(**ingress, **egress, {filter->get()}, &flows);
        inject(**ingress, {ipv4_frame(6, 4444, 80), ipv4_frame(6, 4445, 80)});
        CHECK(forwarder.poll(0) == 2);
        CHECK(forwarder.counters(0).flow_dropped == 1);
        CHECK(forwarder.counters(0).passed == 1);
        CHECK(drain(**egress) == 1);
    }
    SECTION("the cap refuses more verdicts; removal and ageing free them")
    {
        REQUIRE(flows.drop(FlowKey{1, 2, 3, 4, 17}, t0));
        auto over = flows.drop(FlowKey{5, 6, 7, 8, 17}, t0);
        REQUIRE_FALSE(over);
        CHECK(over.error().why.find("cap") != std::string::npos);
        CHECK(flows.drop(blocked, t0 + std::chrono::seconds(8))); // refresh, not a new entry
        CHECK(flows.size() == 2);
        CHECK(flows.expire(t0 + std::chrono::seconds(12)) == 1); // {1,2,3,4} idle 12 s
        CHECK(flows.size() == 1);
        CHECK(flows.remove(blocked));
        CHECK_FALSE(flows.remove(blocked));
        CHECK(flows.size() == 0);
    }
}

TEST_CASE("rte_flow rules are built right: net_tap validates them", "[dpdk][rte_flow][tap]")
{
    if (geteuid() != 0) {
        WARN("skipped: net_tap needs root");
        return;
    }
    shared_eal();
    const std::string iface = "hmytap0";
    {
        auto tap = Port::open_vdev("net_tap_flow0", "iface=" + iface, PortOptions{.rx_queues = 4, .tx_queues = 4});
        REQUIRE(tap);
        CHECK(fs::exists("/sys/class/net/" + iface));
        uint16_t id = (*tap)->id();

        FlowKey tcp{0xc0a80001, 0xc0a80002, 40000, 443, 6};
        FlowKey udp{0xc0a80001, 0xc0a80003, 40001, 53, 17};
        auto tcp_valid = validate_drop_rule(id, tcp);
        INFO((tcp_valid ? std::string("valid") : tcp_valid.error().message()));
        CHECK(tcp_valid);
        CHECK(validate_drop_rule(id, udp));

        SteeringPlan plan{.dpi_queues = {0}, .other_queues = {1}};
        auto steering_valid = validate_steering(id, plan);
        INFO((steering_valid ? std::string("valid") : steering_valid.error().message()));
        CHECK(steering_valid);
        CHECK_FALSE(validate_steering(id, SteeringPlan{.dpi_queues = {}}));
        // A queue the port does not have is refused by the PMD.
        CHECK_FALSE(validate_steering(id, SteeringPlan{.dpi_queues = {9}}));

        auto steering = install_steering(id, plan);
        REQUIRE(steering);
        INFO("steering: " << steering->reason);
        if (steering->place == RulePlace::Software) {
            CHECK(steering->reason.find("rte_flow_create") != std::string::npos);
            CHECK(steering->rules_created == 0);
        } else {
            CHECK(steering->rules_created == 4);
        }

        FlowDropOffload flows(id, {}, "net_tap_flow0");
        auto placed = flows.drop(tcp);
        REQUIRE(placed);
        INFO("drop rule: " << flows.fallback_reason());
        CHECK((*placed == RulePlace::Nic) == flows.fallback_reason().empty());
    }
    CHECK_FALSE(fs::exists("/sys/class/net/" + iface)); // closing the port removed the interface
}

TEST_CASE("bad input: missing port, too little memory, no half-started port", "[dpdk][bad-input]")
{
    shared_eal();
    SECTION("a capture file that does not exist")
    {
        auto port = Port::open_vdev("net_pcap_missing0", "rx_pcap=/nonexistent/in.pcap");
        REQUIRE_FALSE(port);
        CHECK(port.error().which.find("/nonexistent/in.pcap") != std::string::npos);
        CHECK(port.error().why.find("rte_vdev_init") != std::string::npos);
        // Nothing was left behind: the same name opens once the arguments are right.
        auto retry = Port::open_vdev("net_pcap_missing0", "rx_pcap=/dev/null");
        CHECK_FALSE(retry); // /dev/null is no capture either, still refused cleanly
        auto ring = Port::open_vdev("net_ring_after", "");
        INFO((ring ? std::string("opened") : ring.error().message()));
        CHECK(ring);
    }
    SECTION("a net_ring name too long for its rings")
    {
        auto port = Port::open_vdev("net_ring_with_a_long_name", "");
        REQUIRE_FALSE(port);
        CHECK(port.error().why.find("at most 19 characters") != std::string::npos);
    }
    SECTION("a driver that is not there")
    {
        auto port = Port::open_vdev("net_nosuchdriver0", "");
        REQUIRE_FALSE(port);
        CHECK(port.error().why.find("rte_vdev_init") != std::string::npos);
    }
    SECTION("a PCI address with no device")
    {
        auto port = Port::open_pci("0000:7f:1f.7");
        REQUIRE_FALSE(port);
        CHECK(port.error().which == "0000:7f:1f.7");
    }
    SECTION("more mbufs than the EAL has memory for")
    {
        auto port = Port::open_vdev("net_ring_bigpool", "", PortOptions{.pool_mbufs = 4'000'000});
        REQUIRE_FALSE(port);
        CHECK(port.error().why.find("too little EAL memory") != std::string::npos);
        auto retry = Port::open_vdev("net_ring_bigpool", "");
        CHECK(retry); // the failed open removed its device
    }
    SECTION("more queues than the driver has")
    {
        auto port = Port::open_vdev("net_null_manyq", "", PortOptions{.rx_queues = 4000});
        REQUIRE_FALSE(port);
        CHECK(port.error().why.find("queues asked") != std::string::npos);
    }
    SECTION("a program file that is not there")
    {
        auto program = load("/nonexistent/prog.bpf.o");
        REQUIRE_FALSE(program);
        CHECK(program.error().which == "/nonexistent/prog.bpf.o");
    }
}

TEST_CASE("a service forwards a capture through its queues and stops cleanly", "[dpdk][service]")
{
    shared_eal();
    auto dir = fs::temp_directory_path() / fmt::format("harmony-dpdk-svc-{}", getpid());
    fs::create_directories(dir);
    std::vector<Bytes> frames;
    for (int i = 0; i < 40; ++i) {
        frames.push_back(ipv4_frame(17, static_cast<uint16_t>(2000 + i), i % 4 == 0 ? 9 : 53));
    }
    REQUIRE(write_pcap((dir / "in.pcap").string(), frames));
    DpdkServiceOptions options;
    options.ingress = "net_pcap_svc_in,rx_pcap=" + (dir / "in.pcap").string();
    options.egress = "net_pcap_svc_out,tx_pcap=" + (dir / "out.pcap").string();
    options.steering = SteeringPlan{.dpi_queues = {0}};
    {
        auto service = DpdkService::start(bpf_object("small_filter"), options);
        REQUIRE(service);
        CHECK((*service)->engine().engine == Engine::RteBpfJit);
        REQUIRE((*service)->steering());
        CHECK((*service)->steering()->place == RulePlace::Software); // net_pcap has no rte_flow
        for (int waited = 0; waited < 200 && (*service)->forwarder().total().received < 40; ++waited) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        (*service)->stop();
        auto total = (*service)->forwarder().total();
        CHECK(total.received == 40);
        CHECK(total.dropped == 10);
        CHECK(total.passed == 30);
    }
    CHECK(count_pcap((dir / "out.pcap").string()) == 30);
    fs::remove_all(dir);
}

TEST_CASE("a service that cannot start leaves no port behind", "[dpdk][service][bad-input]")
{
    shared_eal();
    uint16_t ports_before = rte_eth_dev_count_avail();
    DpdkServiceOptions options;
    options.ingress = "net_ring_svc_in";
    options.egress = "net_pcap_svc_bad,tx_pcap=/nonexistent/dir/out.pcap";
    SECTION("the egress device is refused after the ingress opened")
    {
        auto service = DpdkService::start(bpf_object("small_filter"), options);
        REQUIRE_FALSE(service);
        CHECK(service.error().which.find("/nonexistent/dir/out.pcap") != std::string::npos);
    }
    SECTION("the program is refused by rte_bpf and no fallback is linked")
    {
        options.egress = "net_ring_svc_out";
        auto refused = fs::temp_directory_path() / fmt::format("harmony-refused-{}.bpf.o", getpid());
        // dpi.bpf.o when built; otherwise any object rte_bpf refuses is not at hand here.
        if (!fs::exists(bpf_object("dpi"))) {
            WARN("skipped: dpi.bpf.o not built");
            return;
        }
        auto service = DpdkService::start(bpf_object("dpi"), options);
        REQUIRE_FALSE(service);
        CHECK(service.error().why.find("rte_bpf cannot run it") != std::string::npos);
        // The verifier's log: instruction index, instruction and reason.
        CHECK(service.error().why.find("Harmony's verifier refused it before rte_bpf_load") != std::string::npos);
        CHECK(service.error().why.find("is not a map of this object (0 maps)") != std::string::npos);
    }
    SECTION("no ingress device")
    {
        options.ingress = "";
        auto service = DpdkService::start(bpf_object("small_filter"), options);
        REQUIRE_FALSE(service);
        CHECK(service.error().why.find("ingress and an egress") != std::string::npos);
    }
    CHECK(rte_eth_dev_count_avail() == ports_before);
    CHECK(Port::open_vdev("net_ring_svc_in", "")); // the name is free again
}

namespace {

// Two veth pairs for a live service: frames sent into `feed` arrive on the service's
// ingress, what it forwards leaves on its egress and is read at `sink`.
struct VethPairs {
    static constexpr const char *ingress = "hmyva", *feed = "hmyvb", *egress = "hmyvc", *sink = "hmyvd";
    bool ok = false;
    VethPairs()
    {
        remove();
        ok = std::system("ip link add hmyva type veth peer name hmyvb && ip link add hmyvc type veth peer name hmyvd"
                         " && for i in hmyva hmyvb hmyvc hmyvd; do"
                         " echo 1 > /proc/sys/net/ipv6/conf/$i/disable_ipv6; ip link set $i up; done") == 0;
    }
    ~VethPairs() { remove(); }
    static void remove()
    {
        [[maybe_unused]] int rc = std::system("ip link del hmyva 2>/dev/null; ip link del hmyvc 2>/dev/null");
    }
};

int packet_socket(const char *iface)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
    REQUIRE(fd >= 0);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = static_cast<int>(if_nametoindex(iface));
    REQUIRE(bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) == 0);
    return fd;
}

} // namespace

TEST_CASE("a live service on veth through net_af_packet", "[dpdk][service][af_packet]")
{
    if (geteuid() != 0) {
        WARN("skipped: veth and AF_PACKET need root");
        return;
    }
    shared_eal();
    VethPairs veth;
    REQUIRE(veth.ok);
    int sink = packet_socket(VethPairs::sink);
    int feed = packet_socket(VethPairs::feed);
    DpdkServiceOptions options;
    options.ingress = std::string("net_af_packet_a,iface=") + VethPairs::ingress;
    options.egress = std::string("net_af_packet_b,iface=") + VethPairs::egress;
    auto service = DpdkService::start(bpf_object("small_filter"), options);
    REQUIRE(service);

    const uint8_t marker = 0xa5; // first payload byte of our frames, to tell them from stray traffic
    for (int i = 0; i < 20; ++i) {
        auto frame = ipv4_frame(17, static_cast<uint16_t>(3000 + i), i % 2 == 0 ? 9 : 53);
        frame[42] = marker;
        REQUIRE(send(feed, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
    }
    size_t forwarded = 0;
    std::array<uint8_t, 2048> buffer{};
    for (int waited = 0; waited < 400 && forwarded < 10; ++waited) {
        ssize_t n = recv(sink, buffer.data(), buffer.size(), 0);
        if (n < 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        auto key = flow_key_of(buffer.data(), static_cast<size_t>(n));
        forwarded += n > 42 && buffer[42] == marker && key && key->dst_port == 53;
        CHECK_FALSE((n > 42 && buffer[42] == marker && key && key->dst_port == 9));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*service)->stop();
    CHECK(forwarded == 10);
    CHECK((*service)->forwarder().total().dropped == 10);
    close(sink);
    close(feed);
}

// Figures for the report, not a check: `dpdk_test "[dpdk-measure]"`.
TEST_CASE("measure: rte_bpf JIT and interpreter per packet, forwarding on net_ring", "[.][dpdk-measure]")
{
    shared_eal();
    auto port = Port::open_vdev("net_ring_meas", "", PortOptions{.pool_mbufs = 8191});
    REQUIRE(port);
    std::vector<rte_mbuf *> mbufs(32);
    for (auto &m : mbufs) {
        m = rte_pktmbuf_alloc((*port)->pool());
        auto frame = ipv4_frame(17, 1000, 53);
        std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    }
    for (bool jit : {true, false}) {
        auto program = load_queue_program(bpf_object("small_filter"), DpdkOptions{.jit = jit});
        REQUIRE(program);
        uint64_t actions[32];
        constexpr int kRounds = 100'000;
        auto start = std::chrono::steady_clock::now();
        for (int r = 0; r < kRounds; ++r) {
            (*program)->run_burst(mbufs.data(), actions, 32);
        }
        double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        WARN(fmt::format("small_filter on {}: {:.1f} ns/packet", engine_name((*program)->choice().engine),
                         ns / (kRounds * 32.0)));
    }
    for (auto *m : mbufs) {
        rte_pktmbuf_free(m);
    }
    auto filter = load_queue_program(bpf_object("small_filter"), {});
    REQUIRE(filter);
    auto egress = Port::open_vdev("net_ring_meas2", "", PortOptions{.pool_mbufs = 8191});
    REQUIRE(egress);
    QueueForwarder forwarder(**port, **egress, {filter->get()});
    std::vector<Bytes> burst(32, ipv4_frame(17, 1000, 53));
    constexpr int kBursts = 20'000;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kBursts; ++i) {
        inject(**port, burst);
        forwarder.poll(0);
        drain(**egress);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WARN(fmt::format("net_ring -> rte_bpf JIT -> net_ring: {:.2f} Mpps (including the test's injection and drain)",
                     kBursts * 32 / seconds / 1e6));
}

#ifdef HARMONY_HAVE_HOSTRT
namespace {

DpdkOptions with_host_vm(bool jit)
{
    DpdkOptions options{.jit = jit};
    options.host_vm = host::load_vm;
    return options;
}

} // namespace

TEST_CASE("dpi.bpf.o on dpdk: Harmony's VM on the queues, replay equals the corpus", "[dpdk][dpi][corpus]")
{
    std::string corpus = std::string(HARMONY_SHARED_DIR) + "/corpus";
    if (!fs::exists(corpus + "/seed.pcap") || !fs::exists(bpf_object("dpi"))) {
        WARN("skipped: no shared corpus or dpi.bpf.o");
        return;
    }
    shared_eal();
    bool jit = GENERATE(true, false);
    auto name = GENERATE(as<std::string>{}, "seed", "edge", "variants", "bench");
    INFO(name << (jit ? " (JIT)" : " (interpreter)"));

    auto choice = choose_engine(bpf_object("dpi"), with_host_vm(jit));
    REQUIRE(choice);
    CHECK(choice->engine == (jit ? Engine::HarmonyJit : Engine::HarmonyInterpreter));
    CHECK(choice->reason.find("rte_bpf cannot run the program: Harmony's verifier refused it before rte_bpf_load") !=
          std::string::npos);

    auto program = load(bpf_object("dpi"), with_host_vm(jit));
    REQUIRE(program);
    CHECK((*program)->target() == (jit ? "dpdk" : "dpdk-interp"));
    CHECK_FALSE((*program)->maps().empty()); // the host VM's maps, reachable through the dpdk target
    REQUIRE(dpi::apply_blocklist(**program, corpus + "/blocklist.txt"));
    auto frames = read_pcap(corpus + "/" + name + ".pcap");
    REQUIRE(frames);
    auto lines = replay(**program, *frames);
    REQUIRE(lines);
    auto expected = read_expect(corpus + "/" + name + ".expect");
    REQUIRE(expected);
    auto differences = compare_replay(*lines, *expected);
    for (size_t i = 0; i < std::min<size_t>(differences.size(), 5); ++i) {
        UNSCOPED_INFO(differences[i]);
    }
    CHECK(differences.empty());
}

TEST_CASE("dpi.bpf.o as a service on dpdk queues drops blocklisted flows", "[dpdk][dpi][service]")
{
    std::string corpus = std::string(HARMONY_SHARED_DIR) + "/corpus";
    if (!fs::exists(corpus + "/seed.pcap") || !fs::exists(bpf_object("dpi"))) {
        WARN("skipped: no shared corpus or dpi.bpf.o");
        return;
    }
    shared_eal();
    auto expected = read_expect(corpus + "/seed.expect");
    REQUIRE(expected);
    auto dir = fs::temp_directory_path() / fmt::format("harmony-dpdk-dpi-{}", getpid());
    fs::create_directories(dir);
    DpdkServiceOptions options;
    options.ingress = "net_pcap_dpi_in,rx_pcap=" + corpus + "/seed.pcap";
    options.egress = "net_pcap_dpi_out,tx_pcap=" + (dir / "out.pcap").string();
    options.program = with_host_vm(true);
    {
        auto service = DpdkService::start(bpf_object("dpi"), options);
        REQUIRE(service);
        CHECK((*service)->engine().engine == Engine::HarmonyJit);
        // net_pcap starts reading at once, before any blocklist could go in: this run
        // checks that every frame was judged on the queue, the replay test checks verdicts.
        for (int waited = 0; waited < 400 && (*service)->forwarder().total().received < expected->size(); ++waited) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        (*service)->stop();
        auto total = (*service)->forwarder().total();
        CHECK(total.received == expected->size());
        CHECK(total.passed + total.dropped + total.bounced + total.other == expected->size());
    }
    fs::remove_all(dir);
}
#endif
