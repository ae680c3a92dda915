// End to end, as the paper's correctness test: client -> DUT -> server over veth, the DUT
// forwarding both ways with the DPI program on XDP. Blocked sites time out, the others
// answer with their own page; a ClientHello naming a blocked site is dropped; a name added
// to the pinned blocklist while the service runs is blocked from the next connection on.
#include "tests/support/lab.hpp"

#include "xdp/xdp.hpp"

#include "common/dpi_control.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <unistd.h>

using namespace harmony;
using namespace harmony::xdp;
using namespace harmony::test;

namespace {

const std::filesystem::path kBpfDir = HARMONY_BPF_DIR;

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
    Lab lab({.tag = "e2e"});
    // Frames redirected by XDP lose the skb's pending checksum, so the endpoints compute
    // theirs in software; GRO gives their veth a NAPI context to receive redirected frames.
    lab.set_endpoint_offloads("tx off gro on");
    VhostServer server(lab);
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
    auto blocked = dpi::block(*blocklist, kBlockedSites);
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

    check_allowed(lab, "http", kAllowedSites);
    check_blocked(lab, "http", kBlockedSites);
    check_blocked(lab, "https", {"youtube.com"}); // ClientHello dropped: no handshake
    check_allowed(lab, "https", {"vmware.com"});

    // Blocked from the next connection on, while the service runs.
    auto added = dpi::block(*blocklist, {"google.com"});
    REQUIRE(added.has_value());
    check_blocked(lab, "http", {"google.com"});
    check_blocked(lab, "https", {"google.com"});
    check_allowed(lab, "http", {"slashdot.org"});

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
