// Corrupted copies of a real object must come back as errors that say why, never crash:
// truncations, byte flips, a wrong machine, dangling symbol indexes, a missing .BTF.
#include "host-runtime/loader/loader.hpp"

#include <catch2/catch.hpp>
#include <gelf.h>
#include <libelf.h>

#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

using namespace harmony;

namespace {

Bytes read_object(const std::string &name)
{
    std::ifstream file(std::string(HARMONY_BPF_DIR) + "/" + name + ".bpf.o", std::ios::binary);
    REQUIRE(file);
    return Bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

/// Loads `bytes` and requires either an image or an error that names the cause.
bool loads(const Bytes &bytes)
{
    auto image = parse_program_image(bytes, "corrupt.bpf.o");
    if (!image) {
        INFO(image.error().message());
        CHECK_FALSE(image.error().why.empty());
        CHECK_FALSE(image.error().which.empty());
    }
    return image.has_value();
}

/// File offset and size of a section, found with libelf.
std::pair<size_t, size_t> section_extent(Bytes &bytes, const char *wanted)
{
    REQUIRE(elf_version(EV_CURRENT) != EV_NONE);
    Elf *elf = elf_memory(reinterpret_cast<char *>(bytes.data()), bytes.size());
    REQUIRE(elf);
    size_t names = 0;
    REQUIRE(elf_getshdrstrndx(elf, &names) == 0);
    std::pair<size_t, size_t> extent{0, 0};
    for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        REQUIRE(gelf_getshdr(scn, &shdr));
        if (std::strcmp(elf_strptr(elf, names, shdr.sh_name), wanted) == 0) {
            extent = {shdr.sh_offset, shdr.sh_size};
        }
    }
    elf_end(elf);
    REQUIRE(extent.second > 0);
    return extent;
}

} // namespace

TEST_CASE("loader accepts the pristine object", "[loader][corrupt]")
{
    CHECK(loads(read_object("loader_features")));
}

TEST_CASE("loader refuses non-ELF input and a wrong machine", "[loader][corrupt]")
{
    auto empty = parse_program_image({}, "empty");
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error().why, Catch::Contains("not an ELF"));

    auto text = parse_program_image(Bytes{'h', 'e', 'l', 'l', 'o'}, "text");
    REQUIRE_FALSE(text);
    CHECK_THAT(text.error().why, Catch::Contains("not an ELF"));

    Bytes bytes = read_object("loader_features");
    bytes[18] = 62; // e_machine = EM_X86_64
    bytes[19] = 0;
    auto x86 = parse_program_image(bytes, "x86.o");
    REQUIRE_FALSE(x86);
    CHECK_THAT(x86.error().why, Catch::Contains("not a BPF object"));
}

TEST_CASE("loader refuses a relocation to a symbol that does not exist", "[loader][corrupt]")
{
    Bytes bytes = read_object("loader_features");
    auto [offset, size] = section_extent(bytes, ".relxdp");
    // r_info of the first relocation: symbol index in the high 32 bits
    uint32_t bogus = 0xfffff;
    std::memcpy(&bytes[offset + 8 + 4], &bogus, sizeof(bogus));
    auto image = parse_program_image(bytes, "bad-rel.o");
    REQUIRE_FALSE(image);
    CHECK_THAT(image.error().which, Catch::Contains("section '.relxdp'"));
    CHECK_THAT(image.error().why, Catch::Contains("does not exist"));
}

TEST_CASE("loader refuses maps without BTF", "[loader][corrupt]")
{
    Bytes bytes = read_object("loader_features");
    auto [offset, size] = section_extent(bytes, ".strtab");
    // rename .BTF to .BTX in the section name table: the object then has no BTF
    auto names = std::string(reinterpret_cast<const char *>(&bytes[offset]), size);
    size_t at = names.find(std::string(".BTF\0", 5));
    REQUIRE(at != std::string::npos);
    bytes[offset + at + 3] = 'X';
    auto image = parse_program_image(bytes, "no-btf.o");
    REQUIRE_FALSE(image);
    CHECK_THAT(image.error().which, Catch::Contains("map 'hash'"));
    CHECK_THAT(image.error().why, Catch::Contains("map without BTF"));
}

TEST_CASE("loader refuses a global-data section larger than any map value", "[loader][corrupt]")
{
    // Found by fuzz_loader: a .bss whose sh_size claims gigabytes made the loader allocate them.
    Bytes bytes = read_object("loader_features");
    REQUIRE(elf_version(EV_CURRENT) != EV_NONE);
    Elf *elf = elf_memory(reinterpret_cast<char *>(bytes.data()), bytes.size());
    REQUIRE(elf);
    size_t names = 0, bss = 0;
    REQUIRE(elf_getshdrstrndx(elf, &names) == 0);
    for (Elf_Scn *scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        REQUIRE(gelf_getshdr(scn, &shdr));
        if (std::strcmp(elf_strptr(elf, names, shdr.sh_name), ".bss") == 0) {
            bss = elf_ndxscn(scn);
        }
    }
    GElf_Ehdr ehdr;
    REQUIRE(gelf_getehdr(elf, &ehdr));
    elf_end(elf);
    REQUIRE(bss > 0);
    uint64_t huge = uint64_t(3) << 30;
    std::memcpy(&bytes[ehdr.e_shoff + bss * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_size)], &huge, 8);
    auto image = parse_program_image(bytes, "huge-bss.o");
    REQUIRE_FALSE(image);
    CHECK_THAT(image.error().which, Catch::Contains("section '.bss'"));
    CHECK_THAT(image.error().why, Catch::Contains("larger than the kernel's largest map value"));
}

TEST_CASE("loader survives every truncation", "[loader][corrupt]")
{
    Bytes bytes = read_object("loader_features");
    for (size_t length = 0; length < bytes.size(); length += 7) {
        Bytes cut(bytes.begin(), bytes.begin() + static_cast<long>(length));
        INFO("truncated to " << length);
        CHECK_FALSE(loads(cut));
    }
}

TEST_CASE("loader survives random byte flips", "[loader][corrupt]")
{
    Bytes pristine = read_object("loader_features");
    std::mt19937 random(1234); // fixed seed: a failure reproduces
    size_t refused = 0;
    constexpr int kRounds = 3000;
    for (int round = 0; round < kRounds; round++) {
        Bytes bytes = pristine;
        int flips = 1 + round % 4;
        for (int i = 0; i < flips; i++) {
            bytes[random() % bytes.size()] ^= static_cast<uint8_t>(1 + random() % 255);
        }
        INFO("round " << round);
        refused += loads(bytes) ? 0 : 1;
    }
    CHECK(refused > 0); // some flips hit headers, relocations or BTF
}
