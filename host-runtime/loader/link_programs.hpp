// Relocation and bpf-to-bpf linking, as libbpf does before loading: map references become
// LoadImm64 with pseudo kMapIdx / kMapIdxValue, callback addresses pseudo kFunc, and every
// subprogram a program calls is appended to that program with the call offsets fixed up.
// Internal to the loader.
#pragma once

#include "elf_object.hpp"
#include "object_maps.hpp"

namespace harmony::loader {

/// One entry point, relocated and linked, still in raw form (decoded by the caller).
struct LinkedCode {
    std::string name;
    std::string section;
    uint32_t prog_type = 0;
    std::vector<isa::RawInsn> insns;
};

Result<std::vector<LinkedCode>> link_programs(const ElfObject &elf, const ObjectMaps &maps);

} // namespace harmony::loader
