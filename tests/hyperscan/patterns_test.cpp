// Pattern files: the format, and bad files reported with their line and Hyperscan's message
// (cases in tests/data/regex/bad_patterns.txt: add a case by adding a line).
#include "helpers/hyperscan/hyperscan.hpp"

#include <catch2/catch.hpp>
#include <hs.h>

#include <fstream>
#include <sstream>

using namespace harmony;

namespace {

struct BadCase {
    size_t line = 0;
    std::string expected;
    std::string content;
};

std::string unescape(const std::string &s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            out += s[i + 1] == 'n' ? '\n' : s[i + 1];
            i++;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<BadCase> bad_cases()
{
    std::ifstream in(HARMONY_SOURCE_DIR "/tests/data/regex/bad_patterns.txt");
    std::vector<BadCase> cases;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        size_t tab1 = line.find('\t'), tab2 = line.find('\t', tab1 + 1);
        cases.push_back({std::stoul(line.substr(0, tab1)), line.substr(tab1 + 1, tab2 - tab1 - 1),
                         unescape(line.substr(tab2 + 1))});
    }
    return cases;
}

} // namespace

TEST_CASE("pattern lines give id, regex and Hyperscan flags", "[hyperscan][patterns]")
{
    auto patterns = hyperscan::parse_patterns("# comment\n\n7:/^ads?[0-9]*\\./i\n 8:/a/b/ms \r\n9:/x/H8", "test");
    REQUIRE(patterns.has_value());
    REQUIRE(patterns->size() == 3);
    CHECK((*patterns)[0].id == 7);
    CHECK((*patterns)[0].regex == "^ads?[0-9]*\\.");
    CHECK((*patterns)[0].flags == HS_FLAG_CASELESS);
    CHECK((*patterns)[0].line == 3);
    CHECK((*patterns)[1].regex == "a/b"); // the last '/' ends the regex
    CHECK((*patterns)[1].flags == (HS_FLAG_MULTILINE | HS_FLAG_DOTALL));
    CHECK((*patterns)[2].flags == (HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8));
}

TEST_CASE("bad pattern files are refused with the line and the reason", "[hyperscan][patterns]")
{
    auto cases = bad_cases();
    REQUIRE(cases.size() >= 8);
    for (const auto &c : cases) {
        DYNAMIC_SECTION(c.expected)
        {
            auto ok = hyperscan::install_patterns(3, c.content, "bad.patterns");
            REQUIRE_FALSE(ok.has_value());
            std::string message = ok.error().message();
            INFO(message);
            CHECK(message.find(c.expected) != std::string::npos);
            CHECK(message.find("bad.patterns") != std::string::npos);
            if (c.line > 0) {
                CHECK(message.find("line " + std::to_string(c.line)) != std::string::npos);
            }
        }
    }
}

TEST_CASE("pattern files: missing file, bad option, database id out of range", "[hyperscan][patterns]")
{
    auto missing = hyperscan::install_pattern_file(1, "/nonexistent/x.patterns");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message().find("/nonexistent/x.patterns") != std::string::npos);

    auto option = hyperscan::install_pattern_option("one=" HARMONY_SOURCE_DIR "/tests/data/regex/names.patterns");
    REQUIRE_FALSE(option.has_value());
    CHECK(option.error().message().find("ID=FILE") != std::string::npos);

    auto range = hyperscan::install_patterns(hyperscan::kMaxDatabases, "1:/a/", "x");
    REQUIRE_FALSE(range.has_value());
    CHECK(range.error().message().find("database 64") != std::string::npos);

    REQUIRE(hyperscan::install_pattern_option("9=" HARMONY_SOURCE_DIR "/tests/data/regex/names.patterns"));
    std::string name = "ads.example.com";
    CHECK(hyperscan::match(9, {reinterpret_cast<const uint8_t *>(name.data()), name.size()}) == 10);
}
