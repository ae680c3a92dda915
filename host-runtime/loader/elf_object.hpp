// A read-only view of a BPF ELF relocatable object through libelf: its sections and its
// symbol table, with every offset and size checked against the file so that later stages
// can index the data without re-checking. Internal to the loader.
#pragma once

#include "common/error.hpp"
#include "common/target.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct Elf;

namespace harmony::loader {

struct ElfSection {
    size_t index = 0;
    std::string name;
    uint32_t type = 0;  ///< SHT_*
    uint64_t flags = 0; ///< SHF_*
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t size = 0;  ///< sh_size; for SHT_NOBITS the data is empty
    ByteView data;      ///< the bytes in the file (empty for SHT_NOBITS)

    bool is_code() const;
};

struct ElfSymbol {
    size_t index = 0;
    std::string name;
    uint16_t shndx = 0; ///< SHN_UNDEF for externs
    uint64_t value = 0;
    uint64_t size = 0;
    uint8_t type = 0; ///< STT_*
    uint8_t bind = 0; ///< STB_*
};

struct ElfRelocation {
    uint64_t offset = 0; ///< byte offset in the section it applies to
    uint32_t symbol = 0;
    uint32_t type = 0; ///< R_BPF_*
};

/// The parsed object. Keeps the bytes it was parsed from alive: sections view into them.
class ElfObject {
public:
    /// `name` is used in error messages only.
    static Result<ElfObject> parse(Bytes bytes, std::string name);

    const std::string &name() const { return name_; }
    const std::vector<ElfSection> &sections() const { return sections_; }
    const std::vector<ElfSymbol> &symbols() const { return symbols_; }
    const ElfSection *section(std::string_view name) const;
    const ElfSection *section(size_t index) const;
    /// The relocations of an SHT_REL section, each checked to name an existing symbol.
    Result<std::vector<ElfRelocation>> relocations(const ElfSection &rel) const;

    /// "dpi.bpf.o section 'xdp'", for Error::which.
    std::string where(const ElfSection &section) const;

private:
    Result<void> read_symbols();

    std::string name_;
    std::shared_ptr<const Bytes> bytes_; // declared before elf_: libelf reads from it until elf_end
    std::shared_ptr<struct Elf> elf_;
    std::vector<ElfSection> sections_;
    std::vector<ElfSymbol> symbols_;
};

} // namespace harmony::loader
