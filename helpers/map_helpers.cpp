// Map helpers: r1 is the address of the host map object the linker put in the ld_imm64.
#include "host-runtime/maps/maps.hpp"
#include "linux_helpers.hpp"

#include <linux/bpf.h>

namespace harmony::helpers {
namespace {

maps::HostMap *as_map(uint64_t r) { return reinterpret_cast<maps::HostMap *>(r); }
const void *as_ptr(uint64_t r) { return reinterpret_cast<const void *>(r); }

uint64_t map_lookup_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t)
{
    return reinterpret_cast<uint64_t>(as_map(map)->lookup_elem(as_ptr(key)));
}

uint64_t map_update_elem(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t)
{
    return static_cast<uint64_t>(as_map(map)->update_elem(as_ptr(key), as_ptr(value), flags));
}

uint64_t map_delete_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t)
{
    return static_cast<uint64_t>(as_map(map)->delete_elem(as_ptr(key)));
}

} // namespace

std::vector<Helper> map_helpers()
{
    using enum Arg;
    return {
        {BPF_FUNC_map_lookup_elem, {"map_lookup_elem", Ret::MapValueOrNull, {ConstMap, MapKey}}, map_lookup_elem},
        {BPF_FUNC_map_update_elem, {"map_update_elem", Ret::Integer, {ConstMap, MapKey, MapValue, Anything}},
         map_update_elem},
        {BPF_FUNC_map_delete_elem, {"map_delete_elem", Ret::Integer, {ConstMap, MapKey}}, map_delete_elem},
    };
}

} // namespace harmony::helpers
