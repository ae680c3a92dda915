// Capability profiles: a probe result survives JSON, shipped profiles load, and a profile
// with a mistake is refused naming the field.
#include "capabilities/capabilities.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>

using namespace harmony::caps;

namespace {

const std::string kProfiles = HARMONY_CAPABILITIES_PROFILES;

std::string write_temp(const std::string &text)
{
    std::string path = "/tmp/harmony-profile-test-" + std::to_string(getpid()) + ".json";
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST_CASE("profile: the live probe result round-trips through JSON", "[capabilities]")
{
    auto live = probe(ProbeOptions{});
    REQUIRE(live);
    std::string path = write_temp("");
    REQUIRE(save_profile(*live, path));
    auto loaded = load_profile(path);
    REQUIRE(loaded);
    CHECK(loaded->kernel.xdp.helpers == live->kernel.xdp.helpers);
    CHECK(loaded->kernel.xdp.map_types == live->kernel.xdp.map_types);
    CHECK(loaded->dpdk.rte_bpf.insns.at(InsnClass::Jmp32).no());
    CHECK(loaded->dpdk.rte_bpf.insns.at(InsnClass::Jmp32).detail == live->dpdk.rte_bpf.insns.at(InsnClass::Jmp32).detail);
    loaded->source = live->source;
    CHECK(to_json(*loaded) == to_json(*live));
    unlink(path.c_str());
}

TEST_CASE("profile: the Netronome NFP profile describes an offload engine, with references", "[capabilities]")
{
    auto nfp = load_profile(kProfiles + "/netronome-nfp.json");
    REQUIRE(nfp);
    CHECK(nfp->references.size() >= 3);
    const InterfaceCaps *iface = nfp->interface("nfp0");
    REQUIRE(iface);
    CHECK(iface->hw_offload.yes());
    REQUIRE(iface->offload_engine);
    const EngineCaps &engine = *iface->offload_engine;
    CHECK(engine.name == "nfp");
    CHECK(engine.helpers == std::set<uint32_t>{1, 2, 3, 7, 25, 44, 65});
    CHECK(engine.map_types ==
          std::set<uint32_t>{BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERF_EVENT_ARRAY});
    CHECK(engine.insns.at(InsnClass::BpfCall).no());
    CHECK(engine.insns.at(InsnClass::AtomicAdd).yes());
    CHECK(engine.insns.at(InsnClass::AtomicFetch).no());
    CHECK(engine.stack_bytes == 512);
    CHECK(engine.max_map_entry_bytes == 64);
}

TEST_CASE("profile: sections a profile leaves out come from the live probe", "[capabilities]")
{
    auto live = probe(ProbeOptions{});
    REQUIRE(live);
    auto i40e = load_profile(kProfiles + "/dpdk-i40e.json", &*live);
    REQUIRE(i40e);
    REQUIRE(i40e->dpdk.ports.size() == 2);
    CHECK(i40e->dpdk.ports[0].driver == "net_i40e");
    CHECK(i40e->dpdk.ports[0].rte_flow.yes());
    CHECK(i40e->dpdk.hugepages.yes());
    CHECK(i40e->kernel.xdp.helpers == live->kernel.xdp.helpers); // not in the profile: probed here
    CHECK(i40e->host.jit.yes());
}

TEST_CASE("profile: mistakes are refused with the file and the field", "[capabilities]")
{
    auto missing = load_profile("/nonexistent/profile.json");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().which == "/nonexistent/profile.json");

    std::string path = write_temp("{ not json");
    auto garbage = load_profile(path);
    REQUIRE_FALSE(garbage);
    CHECK_THAT(garbage.error().why, Catch::Contains("not valid JSON"));

    std::ofstream(path) << R"({"kernel": {"xdp": {"insns": {"jmp33": {"state": "yes"}}}}})";
    auto typo = load_profile(path);
    REQUIRE_FALSE(typo);
    CHECK_THAT(typo.error().why, Catch::Contains("kernel.xdp.insns.jmp33"));

    std::ofstream(path) << R"({"interfaces": [{"name": "x", "hw_offload": {"state": "maybe"}}]})";
    auto state = load_profile(path);
    REQUIRE_FALSE(state);
    CHECK_THAT(state.error().why, Catch::Contains("interfaces[0].hw_offload"));

    std::ofstream(path) << R"({"host": {"vm": {"map_types": ["hashh"]}}})";
    auto map_type = load_profile(path);
    REQUIRE_FALSE(map_type);
    CHECK_THAT(map_type.error().why, Catch::Contains("unknown map type \"hashh\""));
    unlink(path.c_str());
}
