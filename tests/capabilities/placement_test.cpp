// Placement against live capabilities (a veth pair in a private netns) and against the
// shipped profiles, on hand-written requirements and on real BPF objects.
#include "capabilities/capabilities.hpp"
#include "helpers/hyperscan/hyperscan.hpp"
#include "netns_fixture.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <filesystem>

using namespace harmony;
using namespace harmony::caps;

namespace {

const std::string kProfiles = HARMONY_CAPABILITIES_PROFILES;
const std::string kBpfDir = HARMONY_BPF_DIR;

Capabilities live_on_veth(const char *iface)
{
    ProbeOptions options;
    options.interfaces = {iface};
    auto caps = probe(options);
    REQUIRE(caps);
    return *caps;
}

Capabilities nfp_profile()
{
    auto live = probe(ProbeOptions{});
    REQUIRE(live);
    auto nfp = load_profile(kProfiles + "/netronome-nfp.json", &*live);
    REQUIRE(nfp);
    return *nfp;
}

/// Requirements of a small filter: a hash and an array map, a lookup, an atomic add.
Requirements small_filter()
{
    Requirements req;
    req.object = "small_filter";
    req.insn_count = 48;
    req.insns = {{InsnClass::MapReference, 20, 3, "r1 = map[blocked_ports]"}, {InsnClass::AtomicAdd, 43, 1, "lock"}};
    req.helpers = {{BPF_FUNC_map_lookup_elem, "map_lookup_elem", 23, 3}};
    req.maps = {{"blocked_ports", BPF_MAP_TYPE_HASH, 4, 4, 1024, 0}, {"verdicts", BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0}};
    req.ctx_fields = {{0, "data", 0}, {4, "data_end", 1}};
    req.stack_bytes = 8;
    return req;
}

/// Requirements shaped like dpi.bpf.o's: LPM trie, LRU hash, per-CPU arrays, ring buffer.
Requirements dpi_like()
{
    Requirements req = small_filter();
    req.object = "dpi_like";
    req.helpers.push_back({BPF_FUNC_ringbuf_output, "ringbuf_output", 900, 1});
    req.maps = {{"blocklist", BPF_MAP_TYPE_LPM_TRIE, 260, 4, 65536, 1},
                {"flows", BPF_MAP_TYPE_LRU_HASH, 40, 8, 65536, 0},
                {"events", BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 20, 0}};
    return req;
}

/// hs_match as a program calls it; registered first, since the VM's helpers are the registry's.
Requirements calls_hs_match()
{
    REQUIRE(harmony::hyperscan::register_helpers());
    Requirements req;
    req.object = "hs_call";
    req.insn_count = 12;
    req.helpers = {{0x10001, "hs_match", 8, 1}};
    req.ctx_fields = {{0, "data", 0}, {4, "data_end", 1}};
    return req;
}

bool has_reason(const Placement &p, Target t, const std::string &text)
{
    const Exclusion *e = p.exclusion(t);
    if (!e) {
        return false;
    }
    for (const std::string &r : e->reasons) {
        if (r.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

/// Reads an object with the shared loader; false (with a warning) until the loader is built.
bool read_object(const std::string &path, Requirements &out)
{
    auto req = read_requirements(path);
    if (!req && req.error().why.find("built without the shared loader") != std::string::npos) {
        WARN("skipped: " << req.error().message());
        return false;
    }
    INFO((req ? "" : req.error().message()));
    REQUIRE(req);
    out = *req;
    return true;
}

std::string dpi_object()
{
    std::string dpi = kBpfDir + "/dpi.bpf.o";
    return std::filesystem::exists(dpi) ? dpi : kBpfDir + "/pass.bpf.o";
}

} // namespace

TEST_CASE("placement on veth: xdp-native first, the kernel's refusal of offload among the reasons",
          "[capabilities][netns]")
{
    probe_kernel();
    harmony::test::VethNetns netns;
    Capabilities caps = live_on_veth(netns.kA);
    PlaceOptions options{netns.kA, {}};

    Placement placement = place(small_filter(), caps, options);
    INFO(placement.text());
    REQUIRE_FALSE(placement.candidates.empty());
    CHECK(placement.candidates[0].target == Target::XdpNative);
    CHECK(placement.candidates[0].engine == "linux");
    CHECK(has_reason(placement, Target::XdpOffload, "kernel refused hardware offload on hpl0: -EINVAL"));
    CHECK(placement.candidate(Target::XdpGeneric));
    CHECK(placement.candidate(Target::Host));

    Requirements dpi;
    if (read_object(dpi_object(), dpi)) {
        Placement real = place(dpi, caps, options);
        INFO(real.text());
        REQUIRE_FALSE(real.candidates.empty());
        CHECK(real.candidates[0].target == Target::XdpNative);
        CHECK(has_reason(real, Target::XdpOffload, "kernel refused hardware offload on hpl0"));
    }
}

TEST_CASE("placement: a Harmony helper keeps a program off XDP, naming the helper", "[capabilities][netns]")
{
    probe_kernel();
    harmony::test::VethNetns netns;
    Capabilities caps = live_on_veth(netns.kA);
    PlaceOptions options{netns.kA, {}};

    auto check = [&](const Requirements &req) {
        Placement placement = place(req, caps, options);
        INFO(placement.text());
        REQUIRE_FALSE(placement.candidates.empty());
        Target first = placement.candidates[0].target;
        CHECK((first == Target::Dpdk || first == Target::Host));
        for (Target xdp : {Target::XdpNative, Target::XdpGeneric}) {
            CHECK(has_reason(placement, xdp, "helper 0x10001 hs_match"));
            CHECK(has_reason(placement, xdp, "is a Harmony helper the kernel cannot call"));
        }
    };
    check(calls_hs_match());
    Requirements real;
    if (read_object(kBpfDir + "/cap_hs_call.bpf.o", real)) {
        check(real);
    }
}

TEST_CASE("placement under the NFP profile: a small filter is offloaded, dpi is not", "[capabilities]")
{
    Capabilities nfp = nfp_profile();
    PlaceOptions options{"nfp0", {}};

    Placement filter = place(small_filter(), nfp, options);
    INFO(filter.text());
    REQUIRE_FALSE(filter.candidates.empty());
    CHECK(filter.candidates[0].target == Target::XdpOffload);
    CHECK(filter.candidates[0].engine == "nfp");

    Placement dpi = place(dpi_like(), nfp, options);
    INFO(dpi.text());
    REQUIRE_FALSE(dpi.candidates.empty());
    CHECK(dpi.candidates[0].target != Target::XdpOffload);
    CHECK(has_reason(dpi, Target::XdpOffload, "map 'blocklist' has type lpm_trie, which nfp does not support"));
    CHECK(has_reason(dpi, Target::XdpOffload, "map 'flows' has type lru_hash"));
    CHECK(has_reason(dpi, Target::XdpOffload, "helper 130 ringbuf_output"));

    Requirements real_filter;
    if (read_object(kBpfDir + "/cap_small_filter.bpf.o", real_filter)) {
        Placement p = place(real_filter, nfp, options);
        INFO(p.text());
        CHECK(p.candidates.at(0).target == Target::XdpOffload);
        Requirements real_dpi;
        REQUIRE(read_object(dpi_object(), real_dpi));
        if (!real_dpi.maps.empty()) {
            Placement d = place(real_dpi, nfp, options);
            INFO(d.text());
            CHECK(d.exclusion(Target::XdpOffload));
        }
    }
}

TEST_CASE("placement: NFP size limits and context fields are reasons too", "[capabilities]")
{
    Capabilities nfp = nfp_profile();
    Requirements req = small_filter();
    req.maps[0].key_size = 260;
    req.ctx_fields.push_back({16, "rx_queue_index", 5});
    req.insn_count = 5000;
    Placement p = place(req, nfp, PlaceOptions{"nfp0", {}});
    INFO(p.text());
    CHECK(has_reason(p, Target::XdpOffload, "map 'blocked_ports' entries are 264 bytes"));
    CHECK(has_reason(p, Target::XdpOffload, "over nfp's limit of 64"));
    CHECK(has_reason(p, Target::XdpOffload, "xdp_md->rx_queue_index"));
    CHECK(has_reason(p, Target::XdpOffload, "program has 5000 instructions, over nfp's limit of 2800"));
}

TEST_CASE("placement on dpdk: rte_bpf when it can, Harmony's VM on the queues when it cannot", "[capabilities]")
{
    auto caps = probe(ProbeOptions{});
    REQUIRE(caps);
    Placement hs = place(calls_hs_match(), *caps, PlaceOptions{});
    const Candidate *on_rte = hs.candidate(Target::Dpdk);
    REQUIRE(on_rte);
    CHECK(on_rte->engine == "rte_bpf");

    Placement maps = place(small_filter(), *caps, PlaceOptions{});
    INFO(maps.text());
    const Candidate *on_vm = maps.candidate(Target::Dpdk);
    REQUIRE(on_vm);
    CHECK(on_vm->engine == "harmony-vm");
    bool names_map_reference = false;
    for (const std::string &n : on_vm->notes) {
        names_map_reference |= n.find("map-reference") != std::string::npos;
    }
    CHECK(names_map_reference);
}

TEST_CASE("placement: no interface, and the policy", "[capabilities]")
{
    auto caps = probe(ProbeOptions{});
    REQUIRE(caps);
    Placement bare = place(small_filter(), *caps, PlaceOptions{});
    CHECK(has_reason(bare, Target::XdpNative, "no interface given (--iface)"));
    CHECK(bare.candidates.at(0).target == Target::Dpdk);

    auto policy = Policy::parse("host,dpdk");
    REQUIRE(policy);
    Placement chosen = place(small_filter(), *caps, PlaceOptions{"", *policy});
    REQUIRE(chosen.candidates.size() == 2);
    CHECK(chosen.candidates[0].target == Target::Host);
    CHECK(chosen.candidates[1].target == Target::Dpdk);
    CHECK(has_reason(chosen, Target::XdpOffload, "not in the policy"));

    CHECK_FALSE(Policy::parse("host,quantum"));
    CHECK(Policy::parse("host,quantum").error().which == "quantum");
    CHECK_FALSE(Policy::parse("host,host"));
    CHECK_FALSE(Policy::parse(""));
}
