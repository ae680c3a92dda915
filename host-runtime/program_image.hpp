// What the loader makes of a clang-built BPF ELF object: the programs, decoded and
// relocated, and the maps they use. Shared by the host and dpdk targets, the verifier and
// the requirements scanner, so the ELF is read in exactly one place (loader.cpp).
#pragma once

#include "common/error.hpp"
#include "common/target.hpp"
#include "host-runtime/insn.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace harmony {

/// A map the program declares: from BTF in SEC(".maps"), or a global-data section
/// (.rodata, .data, .bss) turned into a one-entry array map as libbpf does.
struct MapSpec {
    MapInfo info;
    Bytes initial_value;      ///< global-data sections: the section's bytes (value of key 0)
    bool global_data = false; ///< .rodata/.data/.bss
    bool read_only = false;   ///< .rodata
};

/// One entry point (an ELF program section such as "xdp") with its subprograms appended,
/// as libbpf links them. After relocation a map reference is a LoadImm64 with
/// pseudo == isa::kMapIdx (imm = index into ProgramImage::maps) or isa::kMapIdxValue
/// (imm = map index, second-slot imm = offset into the value); bpf-to-bpf calls are
/// CallLocal with the offset fixed up.
struct ProgramSection {
    std::string name;    ///< the function symbol, e.g. "dpi"
    std::string section; ///< the ELF section, e.g. "xdp"
    uint32_t prog_type = 0; ///< BPF_PROG_TYPE_* from the section name
    std::vector<isa::Insn> insns;
};

struct ProgramImage {
    std::string path;
    std::string license;
    std::vector<MapSpec> maps;
    std::vector<ProgramSection> programs;

    const ProgramSection *program(std::string_view name) const; ///< by function or section name
    int map_index(std::string_view name) const;                 ///< -1 when absent
};

/// Reads a BPF ELF object. Corrupt or unsupported files are refused with the section,
/// the symbol and the reason.
Result<ProgramImage> load_program_image(const std::string &path);

} // namespace harmony
