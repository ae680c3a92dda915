// The maps an object declares: BTF-defined maps in SEC(".maps") and global-data sections
// (.rodata*, .data*, .bss*) as one-entry arrays, each with where it sits in the ELF so
// relocations can find it. Internal to the loader.
#pragma once

#include "elf_object.hpp"
#include "host-runtime/program_image.hpp"

struct btf;

namespace harmony::loader {

/// Where a map lives in the ELF: its symbol in .maps, or its whole data section.
struct MapPlacement {
    size_t section = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    size_t map = 0; ///< index into ObjectMaps::specs
    bool global_data = false;
};

struct ObjectMaps {
    std::vector<MapSpec> specs;
    std::vector<MapPlacement> placements;

    /// The map a symbol at (section, offset) refers to, or nullptr.
    const MapPlacement *find(size_t section, uint64_t offset) const;
    /// The global-data map of a section, or nullptr.
    const MapPlacement *data_section(size_t section) const;
};

/// Reads every map. `btf` is the object's .BTF (nullptr when it has none, which is an
/// error only if the object declares maps in .maps).
Result<ObjectMaps> read_maps(const ElfObject &elf, const struct btf *btf);

} // namespace harmony::loader
