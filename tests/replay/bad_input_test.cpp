// Bad input to replay: each a clear error naming the file and the reason, never a crash.
#include <catch2/catch.hpp>

#include "cli/targets.hpp"
#include "common/dpi_control.hpp"
#include "common/pcap.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace harmony;

namespace {

std::string temp_file(const std::string &name, const std::string &content)
{
    auto path = std::filesystem::temp_directory_path() / ("harmony-test-" + name);
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
}

} // namespace

TEST_CASE("missing and malformed captures are refused with the file named", "[replay][bad-input]")
{
    auto missing = read_pcap("/nonexistent/x.pcap");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message().find("/nonexistent/x.pcap") != std::string::npos);

    auto garbage = temp_file("garbage.pcap", "this is not a capture file at all, just text");
    auto malformed = read_pcap(garbage);
    REQUIRE_FALSE(malformed.has_value());
    CHECK(malformed.error().message().find(garbage) != std::string::npos);

    // A real capture cut in the middle of a record.
    std::ifstream in(HARMONY_SOURCE_DIR "/tests/data/basic.pcap", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    auto cut = read_pcap(temp_file("cut.pcap", bytes.substr(0, bytes.size() / 2 + 7)));
    REQUIRE_FALSE(cut.has_value());
    CHECK(cut.error().why.find("packet") != std::string::npos);
}

TEST_CASE("blocklists: missing file and lines that are not domains", "[replay][bad-input]")
{
    CHECK_FALSE(dpi::read_blocklist("/nonexistent/blocklist.txt").has_value());
    auto ok = dpi::read_blocklist(temp_file("ok.txt", "# comment\n\nExample.COM.\n  yahoo.com  # trailing\n"));
    REQUIRE(ok.has_value());
    CHECK(*ok == std::vector<std::string>{"example.com", "yahoo.com"});

    for (auto bad : {"http://example.com/\n", "exa mple.com\n", "a..b\n", "x:80\n"}) {
        auto refused = dpi::read_blocklist(temp_file("bad.txt", std::string("good.com\n") + bad));
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error().which.find("line 2") != std::string::npos);
        CHECK(refused.error().why.find("is not a domain") != std::string::npos);
    }
}

TEST_CASE("programs that are not BPF objects or that the kernel refuses", "[replay][bad-input]")
{
    auto text = temp_file("notelf.o", "not an ELF file");
    for (auto target : {"xdp", "host"}) {
        auto loaded = cli::load_on_target(target, text);
        REQUIRE_FALSE(loaded.has_value());
        CHECK(loaded.error().message().find(text) != std::string::npos);
    }
    auto missing = cli::load_on_target("xdp", "/nonexistent/prog.o");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().why.find("ENOENT") != std::string::npos);

    // The kernel verifier's own words come back with the refusal.
    auto refused = cli::load_on_target("xdp", HARMONY_BPF_DIR "/xdp_test_refused.bpf.o");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().why.find("invalid access to packet") != std::string::npos);

    auto unknown = cli::load_on_target("nowhere", HARMONY_BPF_DIR "/dpi.bpf.o");
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().why.find("unknown target") != std::string::npos);
}

TEST_CASE("the harmony command exits non-zero with a message on bad input", "[replay][bad-input]")
{
    std::string harmony = HARMONY_BINARY_DIR "/cli/harmony";
    std::string dpi = HARMONY_BPF_DIR "/dpi.bpf.o";
    auto status = [](const std::string &cmd) { return WEXITSTATUS(std::system((cmd + " >/dev/null 2>&1").c_str())); };
    CHECK(status(harmony + " replay " + dpi + " --pcap /nonexistent.pcap --target native") == 1);
    CHECK(status(harmony + " replay " + dpi + " --pcap " HARMONY_SOURCE_DIR "/tests/data/basic.pcap --target bogus") != 0);
    CHECK(status(harmony + " replay " + dpi + " --pcap " HARMONY_SOURCE_DIR
                 "/tests/data/basic.pcap --target native --blocklist /nonexistent") == 1);
    // A wrong expectation file is reported as mismatches with exit status 1.
    CHECK(status(harmony + " replay " + dpi + " --pcap " HARMONY_SOURCE_DIR "/tests/data/basic.pcap --target native "
                 "--blocklist " HARMONY_SOURCE_DIR "/tests/data/blocklist.txt --expect " HARMONY_SOURCE_DIR
                 "/tests/data/layers.expect") == 1);
    CHECK(status(harmony + " replay " + dpi + " --pcap " HARMONY_SOURCE_DIR "/tests/data/basic.pcap --target native "
                 "--blocklist " HARMONY_SOURCE_DIR "/tests/data/blocklist.txt --expect " HARMONY_SOURCE_DIR
                 "/tests/data/basic.expect") == 0);
}
