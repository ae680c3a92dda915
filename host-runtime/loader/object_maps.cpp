#include "object_maps.hpp"

#include <bpf/btf.h>
#include <elf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>

namespace harmony::loader {
namespace {

constexpr int kMaxTypeDepth = 32;               // guards against reference loops in corrupt BTF
constexpr uint64_t kMaxGlobalData = 4u << 20;   // KMALLOC_MAX_SIZE: the kernel's limit on an array value

const struct btf_type *skip_modifiers(const struct btf *btf, uint32_t id, uint32_t *resolved_id = nullptr)
{
    const struct btf_type *t = btf__type_by_id(btf, id);
    for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)) && depth < kMaxTypeDepth; depth++) {
        id = t->type;
        t = btf__type_by_id(btf, id);
    }
    if (resolved_id) {
        *resolved_id = id;
    }
    return t && !btf_is_mod(t) && !btf_is_typedef(t) ? t : nullptr;
}

/// `__uint(name, N)` is `int (*name)[N]`: N is the element count of the pointed-to array.
Result<uint32_t> int_field(const struct btf *btf, const struct btf_member &member, const std::string &which,
                           std::string_view field)
{
    const struct btf_type *ptr = skip_modifiers(btf, member.type);
    if (!ptr || !btf_is_ptr(ptr)) {
        return fail("load", which, fmt::format("field '{}' is not a __uint() (pointer to array)", field));
    }
    const struct btf_type *array = skip_modifiers(btf, ptr->type);
    if (!array || !btf_is_array(array)) {
        return fail("load", which, fmt::format("field '{}' is not a __uint() (pointer to array)", field));
    }
    return btf_array(array)->nelems;
}

/// `__type(name, T)` is `T *name`: the size of T.
Result<uint32_t> type_field(const struct btf *btf, const struct btf_member &member, const std::string &which,
                            std::string_view field)
{
    const struct btf_type *ptr = skip_modifiers(btf, member.type);
    if (!ptr || !btf_is_ptr(ptr)) {
        return fail("load", which, fmt::format("field '{}' is not a __type() (pointer to a type)", field));
    }
    long long size = btf__resolve_size(btf, ptr->type);
    if (size <= 0 || size > UINT32_MAX) {
        return fail("load", which, fmt::format("field '{}': type has no usable size", field));
    }
    return static_cast<uint32_t>(size);
}

Result<void> set_size(uint32_t &slot, uint32_t size, const std::string &which, std::string_view field)
{
    if (slot != 0 && slot != size) {
        return fail("load", which, fmt::format("conflicting {} ({} and {})", field, slot, size));
    }
    slot = size;
    return {};
}

bool is_map_in_map(uint32_t type)
{
    return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

Result<void> read_member(const struct btf *btf, const struct btf_member &member, MapInfo &info,
                         const std::string &which)
{
    const char *raw_name = btf__name_by_offset(btf, member.name_off);
    std::string_view field = raw_name ? raw_name : "";
    auto number = [&](uint32_t &slot) -> Result<void> {
        auto value = int_field(btf, member, which, field);
        if (!value) {
            return std::unexpected(value.error());
        }
        return set_size(slot, *value, which, field);
    };
    auto size_of = [&](uint32_t &slot) -> Result<void> {
        auto value = type_field(btf, member, which, field);
        if (!value) {
            return std::unexpected(value.error());
        }
        return set_size(slot, *value, which, field == "key" ? "key_size" : "value_size");
    };
    uint32_t ignored = 0;
    if (field == "type") {
        return number(info.type);
    } else if (field == "max_entries") {
        return number(info.max_entries);
    } else if (field == "map_flags") {
        return number(info.flags);
    } else if (field == "key_size") {
        return number(info.key_size);
    } else if (field == "value_size") {
        return number(info.value_size);
    } else if (field == "key") {
        return size_of(info.key_size);
    } else if (field == "value") {
        return size_of(info.value_size);
    } else if (field == "pinning" || field == "numa_node" || field == "map_extra") {
        return number(ignored); // meaningful to the kernel only; host maps are never pinned
    } else if (field == "values") {
        return fail("load", which, "initial 'values' (map-in-map, prog array slots) are not supported");
    }
    return fail("load", which, fmt::format("unknown map definition field '{}'", field));
}

Result<MapInfo> map_from_btf(const struct btf *btf, const struct btf_type *var, const std::string &name,
                             const std::string &which)
{
    const struct btf_type *def = skip_modifiers(btf, var->type);
    if (!def || !btf_is_struct(def)) {
        return fail("load", which, "map definition is not a struct");
    }
    MapInfo info;
    info.name = name;
    const struct btf_member *members = btf_members(def);
    for (uint16_t i = 0; i < btf_vlen(def); i++) {
        if (auto ok = read_member(btf, members[i], info, which); !ok) {
            return std::unexpected(ok.error());
        }
    }
    if (info.type == BPF_MAP_TYPE_UNSPEC) {
        return fail("load", which, "map definition has no 'type'");
    }
    if (info.type > BPF_MAP_TYPE_USER_RINGBUF) {
        return fail("load", which, fmt::format("unknown map type {}", info.type));
    }
    if (is_map_in_map(info.type)) {
        return fail("load", which, fmt::format("unsupported map type {} (map-in-map)", info.type));
    }
    return info;
}

/// The VAR of DATASEC ".maps" named `name`.
const struct btf_type *find_map_var(const struct btf *btf, const std::string &name)
{
    int datasec_id = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
    const struct btf_type *datasec = datasec_id > 0 ? btf__type_by_id(btf, datasec_id) : nullptr;
    if (!datasec) {
        return nullptr;
    }
    const struct btf_var_secinfo *vars = btf_var_secinfos(datasec);
    for (uint16_t i = 0; i < btf_vlen(datasec); i++) {
        const struct btf_type *var = btf__type_by_id(btf, vars[i].type);
        const char *var_name = var ? btf__name_by_offset(btf, var->name_off) : nullptr;
        if (var && btf_is_var(var) && var_name && name == var_name) {
            return var;
        }
    }
    return nullptr;
}

Result<void> read_btf_maps(const ElfObject &elf, const struct btf *btf, ObjectMaps &out)
{
    const ElfSection *maps = elf.section(".maps");
    if (!maps) {
        return {};
    }
    std::vector<const ElfSymbol *> symbols;
    for (const auto &sym : elf.symbols()) {
        if (sym.shndx == maps->index && sym.type != STT_SECTION) {
            symbols.push_back(&sym);
        }
    }
    std::ranges::sort(symbols, {}, &ElfSymbol::value);
    for (const ElfSymbol *sym : symbols) {
        std::string which = fmt::format("{} map '{}'", elf.name(), sym->name);
        if (sym->value > maps->size || sym->size > maps->size - sym->value) {
            return fail("load", which, "symbol lies outside section '.maps'");
        }
        if (!btf) {
            return fail("load", which, "map without BTF: the object has no .BTF section (compile with -g)");
        }
        const struct btf_type *var = find_map_var(btf, sym->name);
        if (!var) {
            return fail("load", which, "map without BTF: no variable of that name in DATASEC '.maps'");
        }
        auto info = map_from_btf(btf, var, sym->name, which);
        if (!info) {
            return std::unexpected(info.error());
        }
        out.placements.push_back({maps->index, sym->value, sym->size, out.specs.size(), false});
        out.specs.push_back(MapSpec{std::move(*info), {}, false, false});
    }
    return {};
}

bool is_global_data(const ElfSection &s)
{
    bool data_kind = s.type == SHT_PROGBITS || s.type == SHT_NOBITS;
    bool named = s.name.starts_with(".rodata") || s.name.starts_with(".data") || s.name.starts_with(".bss");
    return data_kind && named && (s.flags & SHF_ALLOC) && !(s.flags & SHF_EXECINSTR) && s.size > 0;
}

Result<void> read_global_data(const ElfObject &elf, ObjectMaps &out)
{
    for (const auto &s : elf.sections()) {
        if (!is_global_data(s)) {
            continue;
        }
        if (s.size > kMaxGlobalData) {
            return fail("load", elf.where(s), fmt::format("global data section of {} bytes is larger than the "
                                                          "kernel's largest map value ({} bytes)", s.size,
                                                          kMaxGlobalData));
        }
        MapSpec spec;
        spec.global_data = true;
        spec.read_only = s.name.starts_with(".rodata");
        spec.info = MapInfo{s.name, BPF_MAP_TYPE_ARRAY, 4, static_cast<uint32_t>(s.size), 1,
                            BPF_F_MMAPABLE | (spec.read_only ? uint32_t(BPF_F_RDONLY_PROG) : 0u)};
        spec.initial_value.assign(s.data.begin(), s.data.end());
        spec.initial_value.resize(s.size, 0); // .bss: zeroes
        out.placements.push_back({s.index, 0, s.size, out.specs.size(), true});
        out.specs.push_back(std::move(spec));
    }
    return {};
}

} // namespace

const MapPlacement *ObjectMaps::find(size_t section, uint64_t offset) const
{
    for (const auto &p : placements) {
        if (p.section == section && !p.global_data && p.offset == offset) {
            return &p;
        }
    }
    return nullptr;
}

const MapPlacement *ObjectMaps::data_section(size_t section) const
{
    for (const auto &p : placements) {
        if (p.section == section && p.global_data) {
            return &p;
        }
    }
    return nullptr;
}

Result<ObjectMaps> read_maps(const ElfObject &elf, const struct btf *btf)
{
    ObjectMaps maps;
    if (auto ok = read_btf_maps(elf, btf, maps); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = read_global_data(elf, maps); !ok) {
        return std::unexpected(ok.error());
    }
    return maps;
}

} // namespace harmony::loader
