#include "elf_object.hpp"

#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>

namespace harmony::loader {
namespace {

struct ElfCloser {
    void operator()(Elf *elf) const { elf_end(elf); }
};

std::string elf_reason() { return elf_errmsg(-1) ? elf_errmsg(-1) : "libelf error"; }

Result<void> check_header(Elf *elf, const std::string &name)
{
    if (elf_kind(elf) != ELF_K_ELF) {
        return fail("load", name, "not an ELF file");
    }
    GElf_Ehdr ehdr;
    if (!gelf_getehdr(elf, &ehdr)) {
        return fail("load", name, "bad ELF header: " + elf_reason());
    }
    if (ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
        return fail("load", name, "not a 64-bit little-endian ELF object");
    }
    if (ehdr.e_machine != EM_BPF) {
        return fail("load", name, fmt::format("not a BPF object: e_machine is {}, not EM_BPF ({})",
                                               ehdr.e_machine, EM_BPF));
    }
    if (ehdr.e_type != ET_REL) {
        return fail("load", name, "not a relocatable object (e_type is not ET_REL)");
    }
    return {};
}

Result<ElfSection> read_section(Elf *elf, Elf_Scn *scn, size_t index, size_t names_index, const std::string &name)
{
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) {
        return fail("load", fmt::format("{} section #{}", name, index), "bad section header: " + elf_reason());
    }
    ElfSection section;
    section.index = index;
    const char *section_name = elf_strptr(elf, names_index, shdr.sh_name);
    if (!section_name) {
        return fail("load", fmt::format("{} section #{}", name, index), "section name out of the string table");
    }
    section.name = section_name;
    section.type = shdr.sh_type;
    section.flags = shdr.sh_flags;
    section.link = shdr.sh_link;
    section.info = shdr.sh_info;
    section.size = shdr.sh_size;
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_type == SHT_NULL || shdr.sh_size == 0) {
        return section;
    }
    Elf_Data *raw = elf_rawdata(scn, nullptr);
    if (!raw || raw->d_size != shdr.sh_size || (!raw->d_buf && raw->d_size)) {
        return fail("load", fmt::format("{} section '{}'", name, section.name),
                    "truncated section: " + (raw ? std::string("size mismatch") : elf_reason()));
    }
    section.data = ByteView(static_cast<const uint8_t *>(raw->d_buf), raw->d_size);
    return section;
}

} // namespace

bool ElfSection::is_code() const
{
    return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0;
}

const ElfSection *ElfObject::section(std::string_view wanted) const
{
    for (const auto &s : sections_) {
        if (s.name == wanted) {
            return &s;
        }
    }
    return nullptr;
}

const ElfSection *ElfObject::section(size_t index) const
{
    return index < sections_.size() ? &sections_[index] : nullptr;
}

std::string ElfObject::where(const ElfSection &section) const
{
    return fmt::format("{} section '{}'", name_, section.name);
}

Result<ElfObject> ElfObject::parse(Bytes bytes, std::string name)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        return fail("load", name, "libelf initialisation failed: " + elf_reason());
    }
    ElfObject object;
    object.name_ = std::move(name);
    object.bytes_ = std::make_shared<const Bytes>(std::move(bytes));
    auto *image = const_cast<char *>(reinterpret_cast<const char *>(object.bytes_->data()));
    // elf_memory only reads the image (no ELF_C_RDWR), so the cast above never writes.
    object.elf_.reset(elf_memory(image, object.bytes_->size()), ElfCloser{});
    Elf *elf = object.elf_.get();
    if (!elf) {
        return fail("load", object.name_, "not an ELF file: " + elf_reason());
    }
    if (auto ok = check_header(elf, object.name_); !ok) {
        return std::unexpected(ok.error());
    }
    size_t names_index = 0;
    if (elf_getshdrstrndx(elf, &names_index) != 0) {
        return fail("load", object.name_, "no section name table: " + elf_reason());
    }
    size_t count = 0;
    if (elf_getshdrnum(elf, &count) != 0) {
        return fail("load", object.name_, "bad section count: " + elf_reason());
    }
    for (size_t i = 0; i < count; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        if (!scn) {
            return fail("load", fmt::format("{} section #{}", object.name_, i), "missing: " + elf_reason());
        }
        auto section = read_section(elf, scn, i, names_index, object.name_);
        if (!section) {
            return std::unexpected(section.error());
        }
        object.sections_.push_back(std::move(*section));
    }
    if (auto ok = object.read_symbols(); !ok) {
        return std::unexpected(ok.error());
    }
    return object;
}

Result<void> ElfObject::read_symbols()
{
    const ElfSection *symtab = nullptr;
    for (const auto &s : sections_) {
        if (s.type == SHT_SYMTAB) {
            if (symtab) {
                return fail("load", where(s), "more than one symbol table");
            }
            symtab = &s;
        }
    }
    if (!symtab) {
        return fail("load", name_, "no symbol table (.symtab)");
    }
    if (symtab->link >= sections_.size() || sections_[symtab->link].type != SHT_STRTAB) {
        return fail("load", where(*symtab), "symbol names are not in a string table");
    }
    Elf_Data *data = elf_getdata(elf_getscn(elf_.get(), symtab->index), nullptr);
    if (!data) {
        return fail("load", where(*symtab), "unreadable: " + elf_reason());
    }
    size_t count = data->d_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) {
            return fail("load", fmt::format("{} symbol #{}", name_, i), "unreadable: " + elf_reason());
        }
        const char *sym_name = elf_strptr(elf_.get(), symtab->link, sym.st_name);
        if (!sym_name) {
            return fail("load", fmt::format("{} symbol #{}", name_, i), "name out of the string table");
        }
        if (sym.st_shndx != SHN_UNDEF && sym.st_shndx < SHN_LORESERVE && sym.st_shndx >= sections_.size()) {
            return fail("load", fmt::format("{} symbol '{}'", name_, sym_name),
                        fmt::format("in section #{}, which does not exist", sym.st_shndx));
        }
        ElfSymbol symbol{i, sym_name, sym.st_shndx, sym.st_value, sym.st_size,
                         static_cast<uint8_t>(GELF_ST_TYPE(sym.st_info)),
                         static_cast<uint8_t>(GELF_ST_BIND(sym.st_info))};
        symbols_.push_back(std::move(symbol));
    }
    return {};
}

Result<std::vector<ElfRelocation>> ElfObject::relocations(const ElfSection &rel) const
{
    Elf_Data *data = elf_getdata(elf_getscn(elf_.get(), rel.index), nullptr);
    if (!data && rel.size) {
        return fail("load", where(rel), "unreadable relocations: " + elf_reason());
    }
    std::vector<ElfRelocation> out;
    size_t count = data ? data->d_size / sizeof(Elf64_Rel) : 0;
    for (size_t i = 0; i < count; i++) {
        GElf_Rel r;
        if (!gelf_getrel(data, static_cast<int>(i), &r)) {
            return fail("load", where(rel), fmt::format("relocation #{} unreadable: {}", i, elf_reason()));
        }
        auto symbol = static_cast<uint32_t>(GELF_R_SYM(r.r_info));
        if (symbol >= symbols_.size()) {
            return fail("load", where(rel), fmt::format("relocation #{} names symbol #{}, which does not exist", i,
                                                        symbol));
        }
        out.push_back({r.r_offset, symbol, static_cast<uint32_t>(GELF_R_TYPE(r.r_info))});
    }
    return out;
}

} // namespace harmony::loader
