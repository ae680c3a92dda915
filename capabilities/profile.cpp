// Capabilities as JSON: `harmony probe --json` writes it, `--profile` reads it back, so a
// decision for hardware this machine lacks (a SmartNIC, a DPDK NIC) can be made and tested.
#include "capabilities.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <fstream>

namespace harmony::caps {
namespace {

using nlohmann::json;

const char *support_name(Support s)
{
    return s == Support::Yes ? "yes" : s == Support::No ? "no" : "unknown";
}

json probe_json(const Probe &p)
{
    return json{{"state", support_name(p.state)}, {"detail", p.detail}};
}

/// Reading is strict about types and names: a typo in a profile is an error naming the field.
class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}

    Result<Probe> probe(const json &j, const std::string &field) const
    {
        if (!j.is_object() || !j.value("state", json()).is_string()) {
            return bad(field, "expected {\"state\": \"yes|no|unknown\", \"detail\": ...}");
        }
        std::string state = j["state"];
        Probe p;
        p.detail = j.value("detail", "");
        if (state == "yes") {
            p.state = Support::Yes;
        } else if (state == "no") {
            p.state = Support::No;
        } else if (state != "unknown") {
            return bad(field, "state '" + state + "' is not yes, no or unknown");
        }
        return p;
    }

    Result<EngineCaps> engine(const json &j, const std::string &field) const;

    std::unexpected<Error> bad(const std::string &field, const std::string &why) const
    {
        return fail("load profile", source_, fmt::format("{}: {}", field, why));
    }

private:
    std::string source_;
};

#define HARMONY_TRY(var, expr)                                                                                     \
    auto var##_result = (expr);                                                                                    \
    if (!var##_result) {                                                                                           \
        return std::unexpected(var##_result.error());                                                              \
    }                                                                                                              \
    auto var = std::move(*var##_result)

json engine_json(const EngineCaps &e)
{
    json insns = json::object();
    for (const auto &[cls, probe] : e.insns) {
        insns[std::string(insn_class_name(cls))] = probe_json(probe);
    }
    json j{{"name", e.name}, {"insns", insns}, {"notes", e.notes}};
    if (e.helpers_known) {
        json helpers = json::array();
        for (uint32_t id : e.helpers) {
            helpers.push_back(json{{"id", id}, {"name", helper_name(id)}});
        }
        j["helpers"] = helpers;
    }
    if (e.map_types_known) {
        json types = json::array();
        for (uint32_t t : e.map_types) {
            types.push_back(map_type_name(t));
        }
        j["map_types"] = types;
    }
    if (!e.ctx_fields.empty()) {
        j["ctx_fields"] = e.ctx_fields;
    }
    j["limits"] = json{{"max_insns", e.max_insns},
                       {"stack_bytes", e.stack_bytes},
                       {"max_map_entry_bytes", e.max_map_entry_bytes},
                       {"max_map_entries_total", e.max_map_entries_total}};
    return j;
}

/// A map type by libbpf's name ("lpm_trie") or number.
std::optional<uint32_t> map_type_from(const json &j)
{
    if (j.is_number_unsigned()) {
        return j.get<uint32_t>();
    }
    if (!j.is_string()) {
        return std::nullopt;
    }
    for (uint32_t t = 1; t < 64; ++t) {
        if (map_type_name(t) == j.get<std::string>()) {
            return t;
        }
    }
    return std::nullopt;
}

Result<EngineCaps> Reader::engine(const json &j, const std::string &field) const
{
    if (!j.is_object()) {
        return bad(field, "expected an object");
    }
    EngineCaps e;
    e.name = j.value("name", "");
    const json insns = j.value("insns", json::object());
    for (const auto &[name, value] : insns.items()) {
        auto cls = parse_insn_class(name);
        if (!cls) {
            return bad(field + ".insns." + name, "unknown instruction class");
        }
        HARMONY_TRY(p, probe(value, field + ".insns." + name));
        e.insns[*cls] = p;
    }
    if (j.contains("helpers")) {
        e.helpers_known = true;
        for (const json &h : j["helpers"]) {
            const json &id = h.is_object() ? h.value("id", json()) : h;
            if (!id.is_number_unsigned()) {
                return bad(field + ".helpers", "each helper needs a numeric id: " + h.dump());
            }
            e.helpers.insert(id.get<uint32_t>());
        }
    }
    if (j.contains("map_types")) {
        e.map_types_known = true;
        for (const json &t : j["map_types"]) {
            auto type = map_type_from(t);
            if (!type) {
                return bad(field + ".map_types", "unknown map type " + t.dump());
            }
            e.map_types.insert(*type);
        }
    }
    for (const json &off : j.value("ctx_fields", json::array())) {
        e.ctx_fields.insert(off.get<uint32_t>());
    }
    const json limits = j.value("limits", json::object());
    e.max_insns = limits.value("max_insns", 0U);
    e.stack_bytes = limits.value("stack_bytes", 0U);
    e.max_map_entry_bytes = limits.value("max_map_entry_bytes", 0U);
    e.max_map_entries_total = limits.value("max_map_entries_total", uint64_t{0});
    e.notes = j.value("notes", std::vector<std::string>{});
    return e;
}

json interface_json(const InterfaceCaps &i)
{
    json j{{"name", i.name},
           {"ifindex", i.ifindex},
           {"driver", probe_json(i.driver)},
           {"driver_version", i.driver_version},
           {"bus_info", i.bus_info},
           {"xdp_features", probe_json(i.xdp_features)},
           {"xdp_feature_names", xdp_feature_names(i.xdp_feature_bits)},
           {"xdp_feature_bits", i.xdp_feature_bits},
           {"rx_queues", i.rx_queues},
           {"tx_queues", i.tx_queues},
           {"attached", {{"mode", i.attached.mode}, {"driver_prog", i.attached.driver_prog},
                         {"generic_prog", i.attached.generic_prog}, {"hw_prog", i.attached.hw_prog}}},
           {"native_xdp", probe_json(i.native_xdp)},
           {"hw_offload", probe_json(i.hw_offload)}};
    if (i.offload_engine) {
        j["offload_engine"] = engine_json(*i.offload_engine);
    }
    return j;
}

Result<InterfaceCaps> interface_from(const Reader &r, const json &j, const std::string &field)
{
    InterfaceCaps i;
    i.name = j.value("name", "");
    if (i.name.empty()) {
        return r.bad(field, "an interface needs a name");
    }
    i.ifindex = j.value("ifindex", 0U);
    for (auto [key, dst] : {std::pair{"driver", &i.driver}, {"xdp_features", &i.xdp_features},
                            {"native_xdp", &i.native_xdp}, {"hw_offload", &i.hw_offload}}) {
        if (j.contains(key)) {
            HARMONY_TRY(p, r.probe(j[key], field + "." + key));
            *dst = p;
        }
    }
    i.driver_version = j.value("driver_version", "");
    i.bus_info = j.value("bus_info", "");
    i.xdp_feature_bits = j.value("xdp_feature_bits", uint64_t{0});
    i.rx_queues = j.value("rx_queues", 0U);
    i.tx_queues = j.value("tx_queues", 0U);
    const json attached = j.value("attached", json::object());
    i.attached = XdpAttachment{attached.value("mode", 0U), attached.value("driver_prog", 0U),
                               attached.value("generic_prog", 0U), attached.value("hw_prog", 0U)};
    if (j.contains("offload_engine")) {
        HARMONY_TRY(e, r.engine(j["offload_engine"], field + ".offload_engine"));
        i.offload_engine = e;
    }
    return i;
}

json kernel_json(const KernelCaps &k)
{
    return json{{"release", k.release},         {"bpf_syscall", probe_json(k.bpf_syscall)},
                {"jit", probe_json(k.jit)},     {"jit_hardened", probe_json(k.jit_hardened)},
                {"btf", probe_json(k.btf)},     {"large_programs", probe_json(k.large_programs)},
                {"xdp", engine_json(k.xdp)}};
}

Result<KernelCaps> kernel_from(const Reader &r, const json &j)
{
    KernelCaps k;
    k.release = j.value("release", "");
    for (auto [key, dst] : {std::pair{"bpf_syscall", &k.bpf_syscall}, {"jit", &k.jit}, {"jit_hardened", &k.jit_hardened},
                            {"btf", &k.btf}, {"large_programs", &k.large_programs}}) {
        if (j.contains(key)) {
            HARMONY_TRY(p, r.probe(j[key], std::string("kernel.") + key));
            *dst = p;
        }
    }
    HARMONY_TRY(xdp, r.engine(j.value("xdp", json::object()), "kernel.xdp"));
    k.xdp = xdp;
    return k;
}

json dpdk_json(const DpdkCaps &d)
{
    json ports = json::array();
    for (const DpdkPortCaps &p : d.ports) {
        ports.push_back(json{{"name", p.name}, {"driver", p.driver}, {"rx_queues", p.rx_queues},
                             {"rte_flow", probe_json(p.rte_flow)}, {"flow_actions", p.flow_actions},
                             {"steering", probe_json(p.steering)}, {"drop", probe_json(p.drop)}});
    }
    return json{{"version", d.version},         {"pmd_dir", probe_json(d.pmd_dir)},
                {"hugepages", probe_json(d.hugepages)}, {"eal_possible", probe_json(d.eal_possible)},
                {"rte_bpf_jit", probe_json(d.rte_bpf_jit)}, {"rte_bpf", engine_json(d.rte_bpf)},
                {"ports", ports}};
}

Result<DpdkCaps> dpdk_from(const Reader &r, const json &j)
{
    DpdkCaps d;
    d.version = j.value("version", "");
    for (auto [key, dst] : {std::pair{"pmd_dir", &d.pmd_dir}, {"hugepages", &d.hugepages},
                            {"eal_possible", &d.eal_possible}, {"rte_bpf_jit", &d.rte_bpf_jit}}) {
        if (j.contains(key)) {
            HARMONY_TRY(p, r.probe(j[key], std::string("dpdk.") + key));
            *dst = p;
        }
    }
    HARMONY_TRY(engine, r.engine(j.value("rte_bpf", json::object()), "dpdk.rte_bpf"));
    d.rte_bpf = engine;
    for (const json &pj : j.value("ports", json::array())) {
        DpdkPortCaps port;
        port.name = pj.value("name", "");
        port.driver = pj.value("driver", "");
        port.rx_queues = pj.value("rx_queues", uint16_t{0});
        for (auto [key, dst] : {std::pair{"rte_flow", &port.rte_flow}, {"steering", &port.steering},
                                {"drop", &port.drop}}) {
            if (pj.contains(key)) {
                HARMONY_TRY(p, r.probe(pj[key], "dpdk.ports." + port.name + "." + key));
                *dst = p;
            }
        }
        port.flow_actions = pj.value("flow_actions", std::vector<std::string>{});
        d.ports.push_back(std::move(port));
    }
    return d;
}

} // namespace

nlohmann::json to_json(const Capabilities &caps)
{
    json interfaces = json::array();
    for (const InterfaceCaps &i : caps.interfaces) {
        interfaces.push_back(interface_json(i));
    }
    return json{{"source", caps.source},
                {"kernel", kernel_json(caps.kernel)},
                {"interfaces", interfaces},
                {"dpdk", dpdk_json(caps.dpdk)},
                {"hyperscan", {{"version", caps.hyperscan.version},
                               {"valid_platform", probe_json(caps.hyperscan.valid_platform)}}},
                {"host", {{"jit", probe_json(caps.host.jit)}, {"vm", engine_json(caps.host.vm)}}},
                {"references", caps.references}};
}

Result<Capabilities> from_json(const nlohmann::json &doc, std::string source)
{
    Reader r(source);
    if (!doc.is_object()) {
        return r.bad("(top)", "expected an object");
    }
    Capabilities caps;
    caps.source = doc.value("source", source);
    if (doc.contains("kernel")) {
        HARMONY_TRY(k, kernel_from(r, doc["kernel"]));
        caps.kernel = k;
    }
    for (size_t n = 0; n < doc.value("interfaces", json::array()).size(); ++n) {
        HARMONY_TRY(i, interface_from(r, doc["interfaces"][n], fmt::format("interfaces[{}]", n)));
        caps.interfaces.push_back(std::move(i));
    }
    if (doc.contains("dpdk")) {
        HARMONY_TRY(d, dpdk_from(r, doc["dpdk"]));
        caps.dpdk = d;
    }
    if (doc.contains("hyperscan")) {
        caps.hyperscan.version = doc["hyperscan"].value("version", "");
        if (doc["hyperscan"].contains("valid_platform")) {
            HARMONY_TRY(p, r.probe(doc["hyperscan"]["valid_platform"], "hyperscan.valid_platform"));
            caps.hyperscan.valid_platform = p;
        }
    }
    if (doc.contains("host")) {
        if (doc["host"].contains("jit")) {
            HARMONY_TRY(p, r.probe(doc["host"]["jit"], "host.jit"));
            caps.host.jit = p;
        }
        HARMONY_TRY(vm, r.engine(doc["host"].value("vm", json::object()), "host.vm"));
        caps.host.vm = vm;
    }
    caps.references = doc.value("references", std::vector<std::string>{});
    return caps;
}

Result<void> save_profile(const Capabilities &caps, const std::string &path)
{
    std::ofstream out(path);
    if (!out) {
        return fail("save profile", path, errno_text(errno));
    }
    out << to_json(caps).dump(2) << '\n';
    if (!out) {
        return fail("save profile", path, "write failed");
    }
    return {};
}

Result<Capabilities> load_profile(const std::string &path, const Capabilities *live)
{
    std::ifstream in(path);
    if (!in) {
        return fail("load profile", path, errno_text(errno));
    }
    json doc = json::parse(in, nullptr, false, true);
    if (doc.is_discarded()) {
        return fail("load profile", path, "not valid JSON");
    }
    HARMONY_TRY(caps, from_json(doc, path));
    caps.source = path;
    if (live) {
        for (auto [key, apply] : std::initializer_list<std::pair<const char *, void (*)(Capabilities &, const Capabilities &)>>{
                 {"kernel", [](Capabilities &c, const Capabilities &l) { c.kernel = l.kernel; }},
                 {"dpdk", [](Capabilities &c, const Capabilities &l) { c.dpdk = l.dpdk; }},
                 {"hyperscan", [](Capabilities &c, const Capabilities &l) { c.hyperscan = l.hyperscan; }},
                 {"host", [](Capabilities &c, const Capabilities &l) { c.host = l.host; }}}) {
            if (!doc.contains(key)) {
                apply(caps, *live);
            }
        }
        for (const InterfaceCaps &iface : live->interfaces) {
            if (!caps.interface(iface.name)) {
                caps.interfaces.push_back(iface);
            }
        }
    }
    return caps;
}

} // namespace harmony::caps
