// Parser of bpf_conformance .data files.
#include "host-runtime/isa/conformance_data.hpp"

#include "host-runtime/isa/assembler.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace harmony::isa {
namespace {

std::string_view trim(std::string_view s)
{
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::optional<uint64_t> parse_hex(std::string_view s)
{
    if (s.starts_with("0x") || s.starts_with("0X")) {
        s.remove_prefix(2);
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return {};
    }
    return v;
}

std::vector<std::string_view> words(std::string_view line)
{
    std::vector<std::string_view> out;
    size_t i = 0;
    while ((i = line.find_first_not_of(" \t\r", i)) != std::string_view::npos) {
        size_t end = line.find_first_of(" \t\r", i);
        out.push_back(line.substr(i, end - i));
        i = end;
    }
    return out;
}

enum class Section { None, Asm, Raw, Mem, Result, Error, Note };

Section section_kind(std::string_view name)
{
    if (name == "asm") {
        return Section::Asm;
    }
    if (name == "raw") {
        return Section::Raw;
    }
    if (name == "mem") {
        return Section::Mem;
    }
    if (name == "result") {
        return Section::Result;
    }
    if (name == "error") {
        return Section::Error;
    }
    if (name == "c" || name == "no register offset") {
        return Section::Note;
    }
    return Section::None;
}

class Parser {
public:
    explicit Parser(std::string name) { case_.name = std::move(name); }

    Result<ConformanceCase> run(std::string_view text)
    {
        size_t number = 0;
        for (std::string_view rest = text; !rest.empty();) {
            ++number;
            size_t eol = rest.find('\n');
            std::string_view line = rest.substr(0, eol);
            rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
            if (auto why = feed(number, line)) {
                return fail("parse conformance data", fmt::format("{} line {}", case_.name, number), *why);
            }
        }
        return std::move(case_);
    }

private:
    ConformanceCase case_;
    Section section_ = Section::None;

    using Why = std::optional<std::string>;

    Why feed(size_t number, std::string_view line)
    {
        if (line.starts_with("-- ")) {
            return open(number, trim(line.substr(3)));
        }
        switch (section_) {
        case Section::Asm: *case_.asm_text += std::string(line) + "\n"; return {};
        case Section::Note: case_.notes.back() += std::string(line) + "\n"; return {};
        case Section::Error: *case_.error += std::string(trim(line)); return {};
        default: break;
        }
        std::string_view content = trim(line);
        if (content.empty() || content.starts_with('#')) {
            return {};
        }
        switch (section_) {
        case Section::Raw: return raw(content);
        case Section::Mem: return mem(content);
        case Section::Result: return result(content);
        default: return fmt::format("text outside any section: '{}'", content);
        }
    }

    Why open(size_t number, std::string_view name)
    {
        section_ = section_kind(name);
        switch (section_) {
        case Section::None: return fmt::format("unknown section '-- {}'", name);
        case Section::Asm:
            case_.asm_text.emplace();
            case_.asm_first_line = number + 1;
            return {};
        case Section::Raw: case_.raw.emplace(); return {};
        case Section::Error: case_.error.emplace(); return {};
        case Section::Note: case_.notes.push_back(std::string(name) + ":\n"); return {};
        default: return {};
        }
    }

    // A raw line is eight hex bytes in memory order, or one 0x-prefixed little-endian word.
    Why raw(std::string_view content)
    {
        auto ws = words(content);
        uint64_t word = 0;
        if (ws.size() == 1 && ws[0].starts_with("0x")) {
            auto v = parse_hex(ws[0]);
            if (!v) {
                return fmt::format("invalid raw instruction '{}'", content);
            }
            word = *v;
        } else if (ws.size() == 8) {
            for (size_t i = 0; i < 8; ++i) {
                auto b = parse_hex(ws[i]);
                if (!b || *b > 0xff) {
                    return fmt::format("invalid byte '{}' in raw instruction", ws[i]);
                }
                word |= *b << (8 * i);
            }
        } else {
            return fmt::format("a raw instruction is 8 bytes or one 0x word, got '{}'", content);
        }
        RawInsn insn{};
        std::memcpy(&insn, &word, sizeof insn);
        case_.raw->push_back(insn);
        return {};
    }

    Why mem(std::string_view content)
    {
        for (std::string_view w : words(content)) {
            auto b = parse_hex(w);
            if (!b || *b > 0xff) {
                return fmt::format("invalid memory byte '{}'", w);
            }
            case_.memory.push_back(static_cast<uint8_t>(*b));
        }
        return {};
    }

    Why result(std::string_view content)
    {
        auto v = parse_hex(content);
        if (!v || case_.result) {
            return fmt::format("invalid result '{}'", content);
        }
        case_.result = *v;
        return {};
    }
};

} // namespace

Result<ConformanceCase> parse_conformance_data(std::string_view text, std::string name)
{
    return Parser(std::move(name)).run(text);
}

Result<ConformanceCase> read_conformance_file(const std::string &path)
{
    std::ifstream in(path);
    if (!in) {
        return fail("read conformance data", path, "cannot open");
    }
    std::stringstream text;
    text << in.rdbuf();
    return parse_conformance_data(text.str(), std::filesystem::path(path).stem().string());
}

Result<std::vector<RawInsn>> conformance_program(const ConformanceCase &c)
{
    if (c.raw) {
        if (c.raw->empty()) {
            return fail("conformance case", c.name, "empty -- raw section");
        }
        return *c.raw;
    }
    if (c.asm_text) {
        return assemble(*c.asm_text, c.asm_first_line);
    }
    return fail("conformance case", c.name, "no program (neither -- asm nor -- raw)");
}

Result<std::vector<Insn>> conformance_insns(const ConformanceCase &c)
{
    auto slots = conformance_program(c);
    if (!slots) {
        return std::unexpected(slots.error());
    }
    return decode(*slots);
}

} // namespace harmony::isa
