// What every command with structured output offers: --json that parses, a progress bar on
// stderr only when asked (or on a terminal), and --help with an example.
#include "tests/support/netns.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sstream>
#include <unistd.h>

using harmony::test::kDpi;
using harmony::test::kHarmony;
using harmony::test::run_command;

namespace {

const std::string kData = std::string(HARMONY_SOURCE_DIR) + "/tests/data/";

} // namespace

TEST_CASE("harmony replay --json prints one object a line, the same verdicts as the text", "[cli]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    std::string replay = kHarmony + " replay " + kDpi + " --pcap " + kData + "basic.pcap --target host --blocklist " +
                         kData + "blocklist.txt";
    auto text = run_command(replay + " 2>/dev/null");
    auto json = run_command(replay + " --json 2>/dev/null");
    REQUIRE(text.status == 0);
    REQUIRE(json.status == 0);
    std::istringstream text_lines(text.output);
    std::istringstream json_lines(json.output);
    std::string t;
    std::string j;
    size_t lines = 0;
    while (std::getline(text_lines, t) && std::getline(json_lines, j)) {
        auto object = nlohmann::json::parse(j);
        std::string rebuilt = std::to_string(object["index"].get<size_t>()) + "\t" +
                              object["verdict"].get<std::string>() + "\t" + object["proto"].get<std::string>() + "\t" +
                              object["name"].get<std::string>();
        CHECK(rebuilt == t);
        lines++;
    }
    CHECK(lines == 118);
}

TEST_CASE("the progress bar goes to stderr only when asked for off a terminal", "[cli]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    std::string replay = kHarmony + " replay " + kDpi + " --pcap " + kData + "basic.pcap --target host";
    // The subshell: stderr alone is captured (run_command adds its own 2>&1 after the command).
    auto quiet = run_command("(" + replay + " 2>&1 >/dev/null)");
    CHECK(quiet.output.empty());
    auto drawn = run_command("(" + replay + " --progress 2>&1 >/dev/null)");
    CHECK(drawn.output.find("] 100% replay") != std::string::npos);
}

TEST_CASE("every command's --help ends with an example", "[cli]")
{
    if (access(kHarmony.c_str(), X_OK) != 0) {
        WARN("harmony not built; skipping");
        return;
    }
    for (std::string command : {"replay", "probe", "place", "verify", "run", "bench", "map", "map dump"}) {
        INFO(command);
        auto help = run_command(kHarmony + " " + command + " --help 2>&1");
        CHECK(help.status == 0);
        CHECK(help.output.find("Example: harmony " + command.substr(0, command.find(' '))) != std::string::npos);
    }
}
