// Pattern files: one `ID:/regex/flags` a line, the format of Hyperscan's own tools.
#include "hyperscan.hpp"

#include <hs.h>

#include <fmt/format.h>

#include <charconv>

namespace harmony::hyperscan {
namespace {

Result<unsigned> parse_flags(std::string_view letters, const std::string &where)
{
    unsigned flags = 0;
    for (char c : letters) {
        switch (c) {
        case 'i': flags |= HS_FLAG_CASELESS; break;
        case 'm': flags |= HS_FLAG_MULTILINE; break;
        case 's': flags |= HS_FLAG_DOTALL; break;
        case 'H': flags |= HS_FLAG_SINGLEMATCH; break;
        case '8': flags |= HS_FLAG_UTF8; break;
        case 'W': flags |= HS_FLAG_UCP; break;
        default: return fail("parse", where, fmt::format("unknown flag '{}' (known: i m s H 8 W)", c));
        }
    }
    return flags;
}

Result<Pattern> parse_line(std::string_view line, size_t number, const std::string &source)
{
    std::string where = fmt::format("{} line {}", source, number);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon + 1 >= line.size() || line[colon + 1] != '/') {
        return fail("parse", where, "expected 'ID:/regex/flags'");
    }
    Pattern p;
    p.line = number;
    auto [end, ec] = std::from_chars(line.data(), line.data() + colon, p.id);
    if (ec != std::errc{} || end != line.data() + colon || p.id == 0) {
        return fail("parse", where,
                    fmt::format("pattern id '{}' is not a number from 1 (0 means no match)", line.substr(0, colon)));
    }
    size_t last_slash = line.rfind('/');
    if (last_slash <= colon + 1) {
        return fail("parse", where, "regex has no closing '/'");
    }
    p.regex = std::string(line.substr(colon + 2, last_slash - colon - 2));
    if (p.regex.empty()) {
        return fail("parse", where, "empty regex");
    }
    auto flags = parse_flags(line.substr(last_slash + 1), where);
    if (!flags) {
        return std::unexpected(flags.error());
    }
    p.flags = *flags;
    return p;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    return s;
}

} // namespace

Result<std::vector<Pattern>> parse_patterns(std::string_view text, const std::string &source)
{
    std::vector<Pattern> patterns;
    size_t number = 0;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = trim(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        number++;
        if (line.empty() || line.front() == '#') {
            continue;
        }
        auto pattern = parse_line(line, number, source);
        if (!pattern) {
            return std::unexpected(pattern.error());
        }
        patterns.push_back(std::move(*pattern));
    }
    if (patterns.empty()) {
        return fail("parse", source, "no patterns");
    }
    return patterns;
}

} // namespace harmony::hyperscan
