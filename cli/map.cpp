// `harmony map list|dump|update|delete|block|unblock --service S`: the maps of a running
// service, whatever its target — XDP services through their bpffs pins, dpdk and host
// services through their control socket (common/map_control.hpp).
#include "commands.hpp"

#include "common/dpi_control.hpp"
#include "common/map_control.hpp"
#include "xdp/xdp.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace harmony::cli {

namespace {

using nlohmann::json;

struct MapOptions {
    std::string service;
    std::string map;
    std::string key;
    std::string value;
    std::vector<std::string> domains;
    bool decode = false;
    bool json = false;
};

Result<std::vector<std::unique_ptr<Map>>> open_service_maps(const std::string &service)
{
    std::error_code error;
    if (std::filesystem::exists(xdp::pin_dir(service), error)) {
        return xdp::open_pinned_maps(service);
    }
    auto socket = control_socket_path(service);
    if (std::filesystem::exists(socket, error)) {
        return open_remote_maps(service);
    }
    return fail("open maps of service", "'" + service + "'",
                fmt::format("no running service of that name: no pins under {} and no control socket {}",
                            xdp::pin_dir(service).string(), socket.string()));
}

std::vector<std::unique_ptr<Map>> service_maps(const std::string &service)
{
    auto maps = open_service_maps(service);
    if (!maps) {
        fail_command(maps.error().message());
    }
    return std::move(*maps);
}

Map &find_map(std::vector<std::unique_ptr<Map>> &maps, const MapOptions &o)
{
    std::string names;
    for (auto &m : maps) {
        if (m->info().name == o.map) {
            return *m;
        }
        names += (names.empty() ? "" : ", ") + m->info().name;
    }
    fail_command(fmt::format("find map '{}' of service '{}': no such map (it has: {})", o.map, o.service, names));
}

bool per_cpu(const MapInfo &info)
{
    return info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
           info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/// A per-CPU value as the syscall returns it: one slot per CPU, each rounded up to 8 bytes.
std::vector<Bytes> per_cpu_slots(const MapInfo &info, const Bytes &value)
{
    size_t slot = (info.value_size + 7) / 8 * 8;
    std::vector<Bytes> slots;
    for (size_t at = 0; slot > 0 && at + slot <= value.size(); at += slot) {
        auto first = value.begin() + static_cast<long>(at);
        slots.emplace_back(first, first + info.value_size);
    }
    return slots;
}

uint64_t little_endian(const Bytes &bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), 8); i++) {
        v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    }
    return v;
}

/// The DPI maps' entries in words: a blocked domain, a named counter summed over CPUs.
json decoded(const MapInfo &info, const Bytes &key, const Bytes &value)
{
    if (info.name == "blocklist") {
        return {{"domain", dpi::domain_of_key(key)}};
    }
    if (info.name == "counters") {
        uint64_t total = 0;
        for (const auto &slot : per_cpu(info) ? per_cpu_slots(info, value) : std::vector<Bytes>{value}) {
            total += little_endian(slot);
        }
        return {{"counter", std::string(dpi::counter_name(little_endian(key)))}, {"total", total}};
    }
    return nullptr;
}

json entry_json(const MapInfo &info, const Bytes &key, const Bytes &value, bool decode)
{
    json entry = {{"key", to_hex(key)}};
    if (per_cpu(info)) {
        json values = json::array();
        for (const auto &slot : per_cpu_slots(info, value)) {
            values.push_back(to_hex(slot));
        }
        entry["values"] = values;
    } else {
        entry["value"] = to_hex(value);
    }
    if (decode) {
        entry["decoded"] = decoded(info, key, value);
    }
    return entry;
}

std::string entry_text(const json &entry)
{
    std::string text = "key " + entry["key"].get<std::string>();
    if (entry.contains("values")) {
        for (size_t cpu = 0; cpu < entry["values"].size(); cpu++) {
            text += fmt::format("\n  cpu{} {}", cpu, entry["values"][cpu].get<std::string>());
        }
    } else {
        text += " value " + entry["value"].get<std::string>();
    }
    if (entry.contains("decoded") && !entry["decoded"].is_null()) {
        for (const auto &[field, v] : entry["decoded"].items()) {
            text += fmt::format("  {} {}", field, v.is_string() ? v.get<std::string>() : v.dump());
        }
    }
    return text;
}

json info_json(const MapInfo &info)
{
    return {{"name", info.name},         {"type", info.type},
            {"key_size", info.key_size}, {"value_size", info.value_size},
            {"max_entries", info.max_entries}, {"flags", info.flags}};
}

void list_maps(const MapOptions &o)
{
    auto maps = service_maps(o.service);
    json all = json::array();
    for (auto &m : maps) {
        all.push_back(info_json(m->info()));
    }
    if (o.json) {
        fmt::print("{}\n", json{{"service", o.service}, {"maps", all}}.dump());
        return;
    }
    for (const auto &m : all) {
        const char *type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(m["type"].get<uint32_t>()));
        fmt::print("{:<12} {:<14} key {:<4} value {:<4} max_entries {}\n", m["name"].get<std::string>(),
                   type ? type : "unknown", m["key_size"].get<uint32_t>(), m["value_size"].get<uint32_t>(),
                   m["max_entries"].get<uint32_t>());
    }
}

json dump_entries(Map &map, bool decode)
{
    const MapInfo &info = map.info();
    if (info.type == BPF_MAP_TYPE_RINGBUF) {
        fail_command(fmt::format("dump map '{}': a ring buffer has no entries (read its events with harmony run)",
                                 info.name));
    }
    json entries = json::array();
    std::optional<Bytes> key;
    while (true) {
        auto next = key ? map.next_key(ByteView(*key)) : map.next_key(std::nullopt);
        if (!next) {
            fail_command(next.error().message());
        }
        if (!*next) {
            return entries;
        }
        key = std::move(**next);
        auto value = map.lookup(*key);
        if (!value) {
            continue; // deleted between next_key and lookup
        }
        entries.push_back(entry_json(info, *key, *value, decode));
    }
}

void dump_map(const MapOptions &o)
{
    auto maps = service_maps(o.service);
    json entries = dump_entries(find_map(maps, o), o.decode);
    if (o.json) {
        fmt::print("{}\n", json{{"service", o.service}, {"map", o.map}, {"entries", entries}}.dump());
        return;
    }
    for (const auto &entry : entries) {
        fmt::print("{}\n", entry_text(entry));
    }
    fmt::print("{} entries\n", entries.size());
}

/// Parses --key / --value and checks the size against the map's.
Bytes sized_hex(const std::string &option, const std::string &text, const MapInfo &info, bool is_key)
{
    auto bytes = from_hex(text);
    if (!bytes) {
        fail_command(fmt::format("{}: {}", option, bytes.error().message()));
    }
    size_t want = is_key ? info.key_size : info.value_size;
    bool fits = bytes->size() == want || (!is_key && per_cpu(info) && bytes->size() % ((want + 7) / 8 * 8) == 0);
    if (!fits) {
        fail_command(fmt::format("{} for map '{}': {} bytes given, the map's {} are {} bytes{}", option, info.name,
                                 bytes->size(), is_key ? "keys" : "values", want,
                                 per_cpu(info) && !is_key ? " (per CPU, each slot rounded up to 8)" : ""));
    }
    return std::move(*bytes);
}

void print_done(const MapOptions &o, const std::string &op)
{
    if (o.json) {
        fmt::print("{}\n", json{{"service", o.service}, {"map", o.map}, {"op", op}, {"ok", true}}.dump());
    } else {
        fmt::print("{} done on map '{}' of service '{}'\n", op, o.map, o.service);
    }
}

/// One slot given for a per-CPU entry that exists: the same value on every CPU.
Bytes for_every_cpu(Map &map, const Bytes &key, Bytes value)
{
    size_t slot = (map.info().value_size + 7) / 8 * 8;
    auto current = map.lookup(key);
    if (!per_cpu(map.info()) || value.size() != map.info().value_size || !current || current->size() <= slot) {
        return value;
    }
    Bytes all;
    for (size_t at = 0; at < current->size(); at += slot) {
        value.resize(slot);
        all.insert(all.end(), value.begin(), value.end());
    }
    return all;
}

void update_entry(const MapOptions &o)
{
    auto maps = service_maps(o.service);
    Map &map = find_map(maps, o);
    Bytes key = sized_hex("--key", o.key, map.info(), true);
    Bytes value = for_every_cpu(map, key, sized_hex("--value", o.value, map.info(), false));
    if (auto updated = map.update(key, value, BPF_ANY); !updated) {
        fail_command(updated.error().message());
    }
    print_done(o, "update");
}

void delete_entry(const MapOptions &o)
{
    auto maps = service_maps(o.service);
    Map &map = find_map(maps, o);
    Bytes key = sized_hex("--key", o.key, map.info(), true);
    if (auto erased = map.erase(key); !erased) {
        fail_command(erased.error().message());
    }
    print_done(o, "delete");
}

void change_blocklist(MapOptions o, bool block)
{
    o.map = "blocklist";
    auto maps = service_maps(o.service);
    Map &blocklist = find_map(maps, o);
    std::vector<std::string> domains;
    for (const auto &text : o.domains) {
        auto domain = dpi::normalise_domain(text);
        if (!domain) {
            fail_command(domain.error().message());
        }
        domains.push_back(*domain);
    }
    for (const auto &domain : domains) {
        auto done = block ? dpi::block(blocklist, {domain}) : dpi::unblock(blocklist, domain);
        if (!done) {
            fail_command(done.error().message());
        }
    }
    print_done(o, block ? "block" : "unblock");
}

CLI::App *add_action(CLI::App &map_cmd, const std::string &name, const std::string &help, MapOptions &o)
{
    auto *cmd = map_cmd.add_subcommand(name, help);
    cmd->add_option("--service", o.service, "the running service (harmony run --service, or the program's name)")
        ->required();
    cmd->add_flag("--json", o.json, "print one JSON object");
    return cmd;
}

} // namespace

void add_map_command(CLI::App &app)
{
    auto o = std::make_shared<MapOptions>();
    auto *cmd = app.add_subcommand("map", "Read and change the maps of a running service (any target)");
    cmd->require_subcommand(1);
    cmd->footer("Keys and values are hex; per-CPU values print one line per CPU.\n"
                "Example: harmony map list --service dpi\n"
                "Example: harmony map dump --service dpi --map counters --decode --json\n"
                "Example: harmony map update --service dpi --map counters --key 00000000 --value 0000000000000000\n"
                "Example: harmony map block --service dpi example.com");

    add_action(*cmd, "list", "The service's maps: name, type, sizes", *o)->callback([o] { list_maps(*o); });
    auto *dump = add_action(*cmd, "dump", "Every entry of one map", *o);
    dump->add_option("--map", o->map, "map name")->required();
    dump->add_flag("--decode", o->decode, "also show the DPI maps' entries in words (domains, counter names)");
    dump->callback([o] { dump_map(*o); });

    auto *update = add_action(*cmd, "update", "Set one entry (takes effect at once)", *o);
    update->add_option("--map", o->map, "map name")->required();
    update->add_option("--key", o->key, "key, hex")->required();
    update->add_option("--value", o->value, "value, hex")->required();
    update->callback([o] { update_entry(*o); });

    auto *erase = add_action(*cmd, "delete", "Remove one entry", *o);
    erase->add_option("--map", o->map, "map name")->required();
    erase->add_option("--key", o->key, "key, hex")->required();
    erase->callback([o] { delete_entry(*o); });

    auto *block = add_action(*cmd, "block", "Add domains to the DPI blocklist", *o);
    block->add_option("domains", o->domains, "domains")->required();
    block->callback([o] { change_blocklist(*o, true); });
    auto *unblock = add_action(*cmd, "unblock", "Remove domains from the DPI blocklist", *o);
    unblock->add_option("domains", o->domains, "domains")->required();
    unblock->callback([o] { change_blocklist(*o, false); });
}

} // namespace harmony::cli
