#include "link.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

namespace harmony::host {
namespace {

void set_imm64(isa::Insn &insn, isa::Insn &filler, uint64_t value)
{
    insn.pseudo = isa::kImm;
    insn.imm64 = value;
    insn.imm = static_cast<int32_t>(value);
    filler.imm = static_cast<int32_t>(value >> 32);
    insn.raw.src = isa::kImm;
    insn.raw.imm = insn.imm;
    filler.raw.imm = filler.imm;
}

Result<void> link_load_imm64(std::vector<isa::Insn> &insns, size_t pc, const std::vector<maps::HostMap *> &maps,
                             const std::string &name)
{
    isa::Insn &insn = insns[pc];
    auto where = [&] { return fmt::format("program '{}' insn {}", name, pc); };
    if (pc + 1 >= insns.size()) {
        return fail("link", where(), "ld_imm64 without its second slot");
    }
    isa::Insn &filler = insns[pc + 1];
    switch (insn.pseudo) {
    case isa::kImm: return {};
    case isa::kFunc: set_imm64(insn, filler, static_cast<uint64_t>(static_cast<int64_t>(pc) + 1 + insn.imm)); return {};
    case isa::kMapIdx:
    case isa::kMapIdxValue: break;
    default: return fail("link", where(), fmt::format("unsupported ld_imm64 source {}", insn.pseudo));
    }
    if (insn.imm < 0 || static_cast<size_t>(insn.imm) >= maps.size()) {
        return fail("link", where(), fmt::format("reference to map #{}, which does not exist", insn.imm));
    }
    maps::HostMap *map = maps[insn.imm];
    if (insn.pseudo == isa::kMapIdx) {
        set_imm64(insn, filler, reinterpret_cast<uint64_t>(map));
        return {};
    }
    // Global data: the address of a byte inside the single value, as BPF_PSEUDO_MAP_VALUE.
    auto offset = static_cast<uint32_t>(insn.imm64 >> 32);
    uint32_t key = 0;
    auto *value = static_cast<uint8_t *>(map->lookup_elem(&key));
    if (map->info().type != BPF_MAP_TYPE_ARRAY || !value || offset >= map->info().value_size) {
        return fail("link", where(), fmt::format("value reference at offset {} into map '{}', which is not an array "
                                                 "value of that size", offset, map->info().name));
    }
    set_imm64(insn, filler, reinterpret_cast<uint64_t>(value + offset));
    return {};
}

} // namespace

Result<vm::LinkedProgram> link_program(const ProgramSection &program, const std::vector<maps::HostMap *> &maps)
{
    if (program.prog_type != BPF_PROG_TYPE_XDP) {
        return fail("link", "program '" + program.name + "'",
                    fmt::format("the host target runs XDP programs; section '{}' is program type {}", program.section,
                                program.prog_type));
    }
    vm::LinkedProgram linked;
    linked.insns = program.insns;
    if (auto ok = rewrite_xdp_context(linked.insns, program.name); !ok) {
        return std::unexpected(ok.error());
    }
    linked.helper_by_slot.assign(linked.insns.size(), nullptr);
    for (size_t pc = 0; pc < linked.insns.size(); pc++) {
        isa::Insn &insn = linked.insns[pc];
        if (insn.op == isa::Op::LoadImm64) {
            if (auto ok = link_load_imm64(linked.insns, pc, maps, program.name); !ok) {
                return std::unexpected(ok.error());
            }
        } else if (insn.op == isa::Op::Call) {
            const helpers::Helper *helper = helpers::find_helper(static_cast<uint32_t>(insn.imm));
            if (!helper) {
                return fail("link", fmt::format("program '{}' insn {}", program.name, pc),
                            fmt::format("unknown helper {}", insn.imm));
            }
            linked.helper_by_slot[pc] = helper->fn;
        }
    }
    linked.helper_by_id = [](uint64_t id) -> helpers::HelperFn {
        const helpers::Helper *helper = id <= UINT32_MAX ? helpers::find_helper(static_cast<uint32_t>(id)) : nullptr;
        return helper ? helper->fn : nullptr;
    };
    return linked;
}

} // namespace harmony::host
