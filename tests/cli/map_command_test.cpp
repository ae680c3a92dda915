// `harmony map` on running services, as a user runs it: an XDP service through its bpffs
// pins (started with `harmony run` in a namespace), and a host service through its control
// socket (common/map_control.hpp, served from this process); list, dump (decoded),
// update, delete, block and unblock, and bad input refused with a clear error.
#include "cli/services.hpp"
#include "common/dpi_control.hpp"
#include "common/map_control.hpp"
#include "tests/support/netns.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>
#include <unistd.h>

using namespace harmony::test;
using nlohmann::json;

namespace {

harmony::test::CommandResult map_command(const std::string &arguments)
{
    return run_command(kHarmony + " map " + arguments + " 2>&1");
}

json map_json(const std::string &arguments)
{
    auto result = run_command("(" + kHarmony + " map " + arguments + " --json 2>/dev/null)");
    INFO(result.output);
    REQUIRE(result.status == 0);
    return json::parse(result.output);
}

std::set<std::string> blocked_domains(const std::string &service)
{
    std::set<std::string> domains;
    json dump = map_json("dump --decode --map blocklist --service " + service);
    for (const auto &entry : dump["entries"]) {
        domains.insert(entry["decoded"]["domain"].get<std::string>());
    }
    return domains;
}

/// What every target must do the same: the DPI maps listed, dumped, changed and refused.
void exercise_dpi_maps(const std::string &service)
{
    auto listed = map_json("list --service " + service);
    std::set<std::string> names;
    for (const auto &m : listed["maps"]) {
        names.insert(m["name"].get<std::string>());
    }
    CHECK(names.count("blocklist") == 1);
    CHECK(names.count("counters") == 1);

    CHECK(blocked_domains(service) == std::set<std::string>{"blocked.test", "ads.example.net", "tracker.org",
                                                            "facebook.com", "x.io"});
    CHECK(map_command("block --service " + service + " Evil.Example.").status == 0);
    CHECK(blocked_domains(service).count("evil.example") == 1);
    CHECK(map_command("unblock --service " + service + " evil.example").status == 0);
    CHECK(blocked_domains(service).count("evil.example") == 0);

    std::string key = harmony::to_hex(harmony::dpi::blocklist_key("tracker.org"));
    CHECK(map_command("delete --service " + service + " --map blocklist --key " + key).status == 0);
    CHECK(blocked_domains(service).count("tracker.org") == 0);
    CHECK(map_command("update --service " + service + " --map blocklist --key " + key + " --value 01000000").status ==
          0);
    CHECK(blocked_domains(service).count("tracker.org") == 1);

    // counters: per-CPU, one slot given is set on every CPU; decoded by name. flow_drop: the one counter the
    // namespace's own chatter (IPv6 neighbour discovery) cannot move meanwhile.
    CHECK(map_command("update --service " + service + " --map counters --key 06000000 --value 2a00000000000000")
              .status == 0);
    auto counters = map_json("dump --decode --map counters --service " + service)["entries"];
    REQUIRE(counters.size() == 8);
    CHECK(counters[6]["decoded"]["counter"] == "flow_drop");
    CHECK(counters[6]["decoded"]["total"].get<uint64_t>() == 42 * counters[6]["values"].size());

    auto bad_hex = map_command("delete --service " + service + " --map blocklist --key 0g");
    CHECK(bad_hex.status == 1);
    CHECK(bad_hex.output.find("'g' is not a hex digit") != std::string::npos);
    auto short_key = map_command("delete --service " + service + " --map counters --key 000000");
    CHECK(short_key.status == 1);
    CHECK(short_key.output.find("3 bytes given, the map's keys are 4 bytes") != std::string::npos);
    auto no_map = map_command("dump --service " + service + " --map nosuch");
    CHECK(no_map.status == 1);
    CHECK(no_map.output.find("no such map (it has: ") != std::string::npos);
    auto bad_domain = map_command("block --service " + service + " 'not a domain'");
    CHECK(bad_domain.status == 1);
    CHECK(bad_domain.output.find("not a domain") != std::string::npos);
}

} // namespace

TEST_CASE("harmony map refuses an unknown service", "[cli][map]")
{
    if (!harmony_built()) {
        WARN("harmony not built; skipping");
        return;
    }
    auto result = map_command("list --service hx-no-such-service");
    CHECK(result.status == 1);
    CHECK(result.output.find("no running service of that name") != std::string::npos);
    CHECK(result.output.find("/run/harmony/ctl/hx-no-such-service.sock") != std::string::npos);
}

namespace {

/// `harmony run --target TARGET` in a namespace, the DPI maps exercised while it runs, then SIGINT.
void exercise_harmony_run(const std::string &target, const std::string &tag)
{
    TestNetwork net(tag);
    std::string ns = net.add_namespace("dut");
    net.add_namespace("peer");
    net.add_veth("dut", "in0", "peer", "out0");
    std::string service = "hx" + tag + std::to_string(getpid());
    Background run(ns,
                   kHarmony + " run " + kDpi + " --iface in0 --target " + target + " --service " + service +
                       " --blocklist " + kBlocklist,
                   "/tmp/" + service + ".out");
    run.wait_for("until SIGINT", std::chrono::seconds(15));
    INFO(run.output());
    exercise_dpi_maps(service);
    auto ring = map_command("dump --service " + service + " --map events");
    CHECK(ring.status == 1);
    CHECK(ring.output.find("a ring buffer has no entries") != std::string::npos);
    CHECK(run.interrupt() == 0); // exited by itself, with 0
}

} // namespace

TEST_CASE("harmony map on a running XDP service, through its pins", "[cli][map][xdp]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    exercise_harmony_run("xdp-generic", "map");
}

TEST_CASE("harmony map on `harmony run --target host`, through its control socket", "[cli][map][host]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    exercise_harmony_run("host", "maph");
}

TEST_CASE("harmony map on a host service served from this process", "[cli][map][host]")
{
    if (!harmony_built()) {
        WARN("harmony or dpi.bpf.o not built; skipping");
        return;
    }
    TestNetwork net("mapctl");
    net.add_namespace("dut");
    net.add_namespace("peer");
    net.add_veth("dut", "in0", "peer", "out0");
    std::string name = "hxctl" + std::to_string(getpid());
    std::unique_ptr<harmony::Service> service;
    {
        harmony::test::InNamespace inside(net.ns("dut"));
        auto started = harmony::cli::start_service("host", harmony::ServiceSpec{kDpi, name, "in0", "", false});
        REQUIRE(started.has_value());
        service = std::move(*started);
    }
    auto domains = harmony::dpi::read_blocklist(kBlocklist);
    REQUIRE(domains.has_value());
    REQUIRE(harmony::dpi::block(*service->map("blocklist"), *domains).has_value());

    auto server = harmony::MapControlServer::start(name, *service);
    REQUIRE(server.has_value());
    CHECK((*server)->socket_path() == harmony::control_socket_path(name));
    auto second = harmony::MapControlServer::start(name, *service);
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error().why.find("serves this service already") != std::string::npos);

    exercise_dpi_maps(name);
    // The change made through the socket is the service's own map.
    CHECK(service->map("blocklist")->lookup(harmony::dpi::blocklist_key("tracker.org")).has_value());

    server->reset();
    CHECK_FALSE(std::filesystem::exists(harmony::control_socket_path(name)));
    CHECK(service->stop().has_value());
}
