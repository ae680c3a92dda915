#include "link_programs.hpp"

#include "program_types.hpp"

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

namespace harmony::loader {
namespace {

constexpr uint8_t kOpLoadImm64 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
constexpr uint8_t kOpCall = 0x85;      // BPF_JMP | BPF_CALL
constexpr uint8_t kPseudoCall = 1;     // BPF_PSEUDO_CALL in the src field of a call

/// A function symbol in a code section, in instruction slots.
struct Function {
    size_t section = 0;
    size_t start = 0;
    size_t length = 0;
    const ElfSymbol *symbol = nullptr;
};

/// An instruction's reference to code: a bpf-to-bpf call or a callback address (ld_imm64).
struct CodeRef {
    size_t section = 0;
    size_t target = 0; ///< slot index in that section
};

struct CodeSection {
    const ElfSection *elf = nullptr;
    std::vector<isa::RawInsn> insns;
    std::map<size_t, CodeRef> code_refs; ///< by slot index, from relocations
};

using CodeSections = std::map<size_t, CodeSection>;

std::string insn_where(const ElfObject &elf, const CodeSection &code, size_t slot)
{
    return fmt::format("{} insn {}", elf.where(*code.elf), slot);
}

Result<CodeSections> read_code(const ElfObject &elf)
{
    CodeSections sections;
    for (const auto &s : elf.sections()) {
        if (!s.is_code() || s.size == 0) {
            continue;
        }
        if (s.size % sizeof(isa::RawInsn) != 0) {
            return fail("load", elf.where(s), fmt::format("size {} is not a multiple of 8", s.size));
        }
        CodeSection code{&s, std::vector<isa::RawInsn>(s.size / sizeof(isa::RawInsn)), {}};
        std::memcpy(code.insns.data(), s.data.data(), s.size);
        sections.emplace(s.index, std::move(code));
    }
    return sections;
}

Result<void> relocate_map(const ElfObject &elf, const ObjectMaps &maps, CodeSection &code, size_t slot,
                          const ElfSymbol &sym)
{
    isa::RawInsn &insn = code.insns[slot];
    isa::RawInsn &next = code.insns[slot + 1];
    if (const MapPlacement *map = maps.find(sym.shndx, sym.value); map) {
        insn.src = isa::kMapIdx;
        insn.imm = static_cast<int32_t>(map->map);
        next.imm = 0;
        return {};
    }
    if (const MapPlacement *data = maps.data_section(sym.shndx); data) {
        int64_t offset = static_cast<int64_t>(sym.value) + insn.imm;
        if (offset < 0 || static_cast<uint64_t>(offset) >= data->size) {
            return fail("load", insn_where(elf, code, slot),
                        fmt::format("reference to '{}' at offset {}, outside its section", sym.name, offset));
        }
        insn.src = isa::kMapIdxValue;
        insn.imm = static_cast<int32_t>(data->map);
        next.imm = static_cast<int32_t>(offset);
        return {};
    }
    const ElfSection *target = elf.section(sym.shndx);
    return fail("load", insn_where(elf, code, slot),
                fmt::format("relocation to symbol '{}' in section '{}', which is neither a map nor global data",
                            sym.name, target ? target->name : "?"));
}

Result<void> relocate_one(const ElfObject &elf, const ObjectMaps &maps, const CodeSections &all, CodeSection &code,
                          const ElfRelocation &rel)
{
    const ElfSymbol &sym = elf.symbols()[rel.symbol];
    size_t slot = rel.offset / sizeof(isa::RawInsn);
    if (rel.offset % sizeof(isa::RawInsn) != 0 || slot >= code.insns.size()) {
        return fail("load", elf.where(*code.elf),
                    fmt::format("relocation for '{}' at byte {} is not on an instruction", sym.name, rel.offset));
    }
    if (sym.shndx == SHN_UNDEF || sym.shndx >= SHN_LORESERVE) {
        return fail("load", insn_where(elf, code, slot),
                    fmt::format("relocation to unknown symbol '{}' (externs are not supported)", sym.name));
    }
    isa::RawInsn &insn = code.insns[slot];
    bool target_is_code = all.contains(sym.shndx);
    if (insn.code == kOpCall && insn.src == kPseudoCall && target_is_code) {
        int64_t target = static_cast<int64_t>(sym.value / sizeof(isa::RawInsn)) + insn.imm + 1;
        code.code_refs[slot] = CodeRef{sym.shndx, static_cast<size_t>(std::max<int64_t>(target, -1))};
        return {};
    }
    if (insn.code != kOpLoadImm64 || slot + 1 >= code.insns.size()) {
        return fail("load", insn_where(elf, code, slot),
                    fmt::format("relocation to '{}' on an instruction that is neither ld_imm64 nor a bpf-to-bpf call",
                                sym.name));
    }
    if (target_is_code) {
        int64_t bytes = static_cast<int64_t>(sym.value) + insn.imm;
        if (bytes < 0 || bytes % sizeof(isa::RawInsn) != 0) {
            return fail("load", insn_where(elf, code, slot),
                        fmt::format("callback address '{}' + {} is not on an instruction", sym.name, insn.imm));
        }
        code.code_refs[slot] = CodeRef{sym.shndx, static_cast<size_t>(bytes) / sizeof(isa::RawInsn)};
        return {};
    }
    return relocate_map(elf, maps, code, slot, sym);
}

Result<void> relocate(const ElfObject &elf, const ObjectMaps &maps, CodeSections &sections)
{
    for (const auto &rel_section : elf.sections()) {
        if (rel_section.type != SHT_REL || !sections.contains(rel_section.info)) {
            continue; // relocations of debug info and BTF are not needed to run
        }
        auto relocations = elf.relocations(rel_section);
        if (!relocations) {
            return std::unexpected(relocations.error());
        }
        CodeSection &code = sections.at(rel_section.info);
        for (const auto &rel : *relocations) {
            if (auto ok = relocate_one(elf, maps, sections, code, rel); !ok) {
                return ok;
            }
        }
    }
    return {};
}

Result<std::vector<Function>> find_functions(const ElfObject &elf, const CodeSections &sections)
{
    std::vector<Function> functions;
    for (const auto &sym : elf.symbols()) {
        if (sym.type != STT_FUNC || !sections.contains(sym.shndx)) {
            continue;
        }
        const CodeSection &code = sections.at(sym.shndx);
        size_t slots = code.insns.size();
        constexpr size_t kSlot = sizeof(isa::RawInsn);
        if (sym.value % kSlot || sym.size % kSlot || sym.value / kSlot > slots || sym.size / kSlot > slots - sym.value / kSlot) {
            return fail("load", fmt::format("{} function '{}'", elf.where(*code.elf), sym.name),
                        "symbol offset or size is not within the section in whole instructions");
        }
        if (sym.size == 0) {
            continue;
        }
        functions.push_back({sym.shndx, sym.value / kSlot, sym.size / kSlot, &sym});
    }
    return functions;
}

const Function *function_at(const std::vector<Function> &functions, size_t section, size_t slot)
{
    for (const auto &f : functions) {
        if (f.section == section && slot >= f.start && slot < f.start + f.length) {
            return &f;
        }
    }
    return nullptr;
}

/// The code an instruction refers to: from a relocation, or a same-section pseudo call
/// that needed none.
std::optional<CodeRef> code_ref(const CodeSection &code, size_t slot)
{
    if (auto it = code.code_refs.find(slot); it != code.code_refs.end()) {
        return it->second;
    }
    const isa::RawInsn &insn = code.insns[slot];
    if (insn.code == kOpCall && insn.src == kPseudoCall) {
        int64_t target = static_cast<int64_t>(slot) + 1 + insn.imm;
        return CodeRef{code.elf->index, static_cast<size_t>(std::max<int64_t>(target, -1))};
    }
    return std::nullopt;
}

/// Appends `entry` and, transitively, every function it calls, like libbpf's
/// bpf_object__reloc_code: each callee once per program, after the caller.
Result<LinkedCode> link_one(const ElfObject &elf, const CodeSections &sections, const std::vector<Function> &functions,
                            const Function &entry)
{
    struct Placed {
        const Function *function;
        size_t base;
    };
    LinkedCode out;
    std::vector<Placed> placed;
    auto place = [&](const Function *f) {
        placed.push_back({f, out.insns.size()});
        const auto &insns = sections.at(f->section).insns;
        out.insns.insert(out.insns.end(), insns.begin() + f->start, insns.begin() + f->start + f->length);
        return placed.back().base;
    };
    place(&entry);
    for (size_t p = 0; p < placed.size(); p++) {
        const Function *f = placed[p].function;
        const CodeSection &code = sections.at(f->section);
        for (size_t j = 0; j < f->length; j++) {
            auto ref = code_ref(code, f->start + j);
            if (!ref) {
                continue;
            }
            const Function *callee = function_at(functions, ref->section, ref->target);
            if (!callee) {
                return fail("load", insn_where(elf, code, f->start + j),
                            fmt::format("call or callback target {} is not inside a function", ref->target));
            }
            size_t base = 0;
            auto it = std::ranges::find(placed, callee, &Placed::function);
            base = it != placed.end() ? it->base : place(callee);
            size_t pc = placed[p].base + j;
            int64_t rel = static_cast<int64_t>(base + (ref->target - callee->start)) - static_cast<int64_t>(pc + 1);
            isa::RawInsn &insn = out.insns[pc];
            insn.imm = static_cast<int32_t>(rel);
            if (insn.code == kOpLoadImm64) {
                if (j + 1 >= f->length) {
                    return fail("load", insn_where(elf, code, f->start + j), "ld_imm64 cut off by the function end");
                }
                insn.src = isa::kFunc;
                out.insns[pc + 1].imm = 0;
            }
        }
    }
    return out;
}

} // namespace

Result<std::vector<LinkedCode>> link_programs(const ElfObject &elf, const ObjectMaps &maps)
{
    auto sections = read_code(elf);
    if (!sections) {
        return std::unexpected(sections.error());
    }
    if (auto ok = relocate(elf, maps, *sections); !ok) {
        return std::unexpected(ok.error());
    }
    auto functions = find_functions(elf, *sections);
    if (!functions) {
        return std::unexpected(functions.error());
    }
    std::vector<LinkedCode> programs;
    for (const auto &f : *functions) {
        const ElfSection &section = *sections->at(f.section).elf;
        if (section.name == ".text") {
            continue; // subprograms only
        }
        std::string which = fmt::format("{} program '{}'", elf.where(section), f.symbol->name);
        if (f.symbol->bind == STB_LOCAL) {
            return fail("load", which, "static programs are not supported (libbpf refuses them too)");
        }
        // Like libbpf, an unknown section name opens fine with BPF_PROG_TYPE_UNSPEC (0);
        // whoever runs the program decides whether it can (rte_bpf takes any section).
        auto type = program_type_for_section(section.name).value_or(0);
        auto linked = link_one(elf, *sections, *functions, f);
        if (!linked) {
            return std::unexpected(linked.error());
        }
        linked->name = f.symbol->name;
        linked->section = section.name;
        linked->prog_type = type;
        programs.push_back(std::move(*linked));
    }
    return programs;
}

} // namespace harmony::loader
