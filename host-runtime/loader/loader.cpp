#include "loader.hpp"

#include "elf_object.hpp"
#include "link_programs.hpp"
#include "object_maps.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

namespace harmony {
namespace {

struct BtfDeleter {
    void operator()(struct btf *btf) const { btf__free(btf); }
};
using BtfPtr = std::unique_ptr<struct btf, BtfDeleter>;

thread_local std::string libbpf_log;

int capture_libbpf_log(enum libbpf_print_level level, const char *format, va_list args)
{
    if (level != LIBBPF_DEBUG) {
        char line[512];
        vsnprintf(line, sizeof(line), format, args);
        libbpf_log += line;
    }
    return 0;
}

/// The object's .BTF through libbpf (which validates it), or null when there is none.
/// libbpf's complaint about a bad BTF goes into the error rather than to stderr.
Result<BtfPtr> parse_btf(const loader::ElfObject &elf)
{
    const loader::ElfSection *section = elf.section(".BTF");
    if (!section) {
        return BtfPtr{};
    }
    libbpf_log.clear();
    libbpf_print_fn_t previous = libbpf_set_print(capture_libbpf_log);
    struct btf *btf = btf__new(section->data.data(), static_cast<uint32_t>(section->data.size()));
    int err = errno;
    libbpf_set_print(previous);
    if (!btf) {
        std::string log = libbpf_log.empty() ? "" : " (" + libbpf_log.substr(0, libbpf_log.find_last_not_of('\n') + 1) + ")";
        return fail("load", elf.where(*section), "invalid BTF: " + errno_text(err) + log);
    }
    return BtfPtr{btf};
}

std::string read_license(const loader::ElfObject &elf)
{
    const loader::ElfSection *section = elf.section("license");
    if (!section || section->data.empty()) {
        return {};
    }
    auto chars = reinterpret_cast<const char *>(section->data.data());
    return std::string(chars, strnlen(chars, section->data.size()));
}

Result<std::vector<ProgramSection>> decode_programs(std::vector<loader::LinkedCode> linked, const std::string &name)
{
    std::vector<ProgramSection> programs;
    for (auto &code : linked) {
        auto insns = isa::decode(code.insns);
        if (!insns) {
            Error e = insns.error();
            return fail("load", fmt::format("{} section '{}' program '{}'", name, code.section, code.name),
                        e.why.empty() ? e.message() : e.why);
        }
        programs.push_back({std::move(code.name), std::move(code.section), code.prog_type, std::move(*insns)});
    }
    return programs;
}

} // namespace

Result<ProgramImage> parse_program_image(Bytes elf_bytes, std::string name)
{
    auto elf = loader::ElfObject::parse(std::move(elf_bytes), name);
    if (!elf) {
        return std::unexpected(elf.error());
    }
    if (elf->section("maps")) {
        return fail("load", name + " section 'maps'", "legacy map definitions are not supported; use BTF maps in .maps");
    }
    auto btf = parse_btf(*elf);
    if (!btf) {
        return std::unexpected(btf.error());
    }
    auto maps = loader::read_maps(*elf, btf->get());
    if (!maps) {
        return std::unexpected(maps.error());
    }
    auto linked = loader::link_programs(*elf, *maps);
    if (!linked) {
        return std::unexpected(linked.error());
    }
    if (linked->empty()) {
        return fail("load", name, "no program: no function in a program section such as SEC(\"xdp\")");
    }
    auto programs = decode_programs(std::move(*linked), name);
    if (!programs) {
        return std::unexpected(programs.error());
    }
    return ProgramImage{std::move(name), read_license(*elf), std::move(maps->specs), std::move(*programs)};
}

Result<ProgramImage> load_program_image(const std::string &path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        return fail("load", path, "cannot open: " + errno_text(errno));
    }
    Bytes bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) {
        return fail("load", path, "read error: " + errno_text(errno));
    }
    return parse_program_image(std::move(bytes), path);
}

const ProgramSection *ProgramImage::program(std::string_view wanted) const
{
    for (const auto &p : programs) {
        if (p.name == wanted) {
            return &p;
        }
    }
    for (const auto &p : programs) {
        if (p.section == wanted) {
            return &p;
        }
    }
    return nullptr;
}

int ProgramImage::map_index(std::string_view wanted) const
{
    for (size_t i = 0; i < maps.size(); i++) {
        if (maps[i].info.name == wanted) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

} // namespace harmony
