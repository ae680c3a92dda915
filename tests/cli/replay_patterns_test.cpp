// `harmony replay --patterns ID=FILE`: the databases a program's hs_match calls use, as a user
// runs it; a bad pattern file stops the command with the file, the line and Hyperscan's message.
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

using harmony::test::CommandResult;
using harmony::test::run_command;

namespace {

const std::string kHarmony = std::string(HARMONY_BINARY_DIR) + "/cli/harmony";
const std::string kData = HARMONY_SOURCE_DIR "/tests/data/regex";

std::string replay(const std::string &capture, const std::string &target, const std::string &patterns)
{
    return kHarmony + " replay " HARMONY_BPF_DIR "/dpi_regex.bpf.o --pcap " + kData + "/" + capture +
           ".pcap --target " + target + " " + patterns + " --expect " + kData + "/" + capture + ".expect";
}

} // namespace

TEST_CASE("harmony replay --patterns runs dpi_regex.bpf.o to its expectations", "[cli][hyperscan]")
{
    std::string patterns = "--patterns 1=" + kData + "/request.patterns --patterns 2=" + kData + "/names.patterns";
    auto target = GENERATE(as<std::string>{}, "host", "host-interp");
    for (std::string capture : {"regex", "stream"}) {
        CommandResult ran = run_command(replay(capture, target, patterns));
        INFO(ran.output);
        CHECK(ran.status == 0);
        CHECK(ran.output.find("0 mismatches") != std::string::npos);
    }
    // Without the names database, the names it would drop pass: the expectations no longer hold.
    CommandResult partial = run_command(replay("regex", target, "--patterns 1=" + kData + "/request.patterns"));
    CHECK(partial.status == 1);
}

TEST_CASE("harmony replay --patterns with a bad file names the file, the line and the reason", "[cli][hyperscan]")
{
    std::string bad = "/tmp/harmony-bad-" + std::to_string(getpid()) + ".patterns";
    FILE *f = fopen(bad.c_str(), "w");
    REQUIRE(f);
    fputs("# fine\n1:/fine/\n2:/(unclosed/\n", f);
    fclose(f);
    CommandResult ran = run_command(replay("regex", "host", "--patterns 1=" + bad));
    std::remove(bad.c_str());
    INFO(ran.output);
    CHECK(ran.status == 1);
    CHECK(ran.output.find(bad + " line 3") != std::string::npos);
    CHECK(ran.output.find("Missing close parenthesis") != std::string::npos);

    CommandResult option = run_command(replay("regex", "host", "--patterns x=" + kData + "/names.patterns"));
    CHECK(option.status == 1);
    CHECK(option.output.find("ID=FILE") != std::string::npos);
}
