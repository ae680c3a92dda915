// harmony_conformance_plugin speaks the bpf_conformance plugin protocol: the suite's
// programs as hex on stdin, memory as hex in argv[1], r0 in hex on stdout; refused
// programs exit non-zero. Runs every shared test file (and our own) through the process.
#include "host-runtime/isa/conformance_data.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace harmony;

namespace {

std::string hex_of(const void *data, size_t size)
{
    std::string out;
    for (size_t i = 0; i < size; ++i) {
        out += fmt::format("{:02x} ", static_cast<const uint8_t *>(data)[i]);
    }
    return out;
}

struct PluginRun {
    int status = -1;
    std::string output;
};

PluginRun run_plugin(const std::vector<isa::RawInsn> &program, const std::vector<uint8_t> &memory)
{
    fs::path input = fs::temp_directory_path() / fmt::format("harmony-plugin-{}.hex", getpid());
    std::ofstream(input) << hex_of(program.data(), program.size() * sizeof(isa::RawInsn));
    std::string command = fmt::format("'{}' '{}' < '{}' 2>/dev/null", HARMONY_CONFORMANCE_PLUGIN,
                                      hex_of(memory.data(), memory.size()), input.string());
    PluginRun run;
    FILE *pipe = popen(command.c_str(), "r");
    REQUIRE(pipe);
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) {
        run.output += buffer;
    }
    run.status = pclose(pipe);
    fs::remove(input);
    return run;
}

} // namespace

TEST_CASE("conformance plugin: every shared test through the plugin protocol", "[conformance][plugin]")
{
    std::vector<fs::path> dirs = {fs::path(HARMONY_ISA_TEST_DATA)};
    fs::path shared = fs::path(HARMONY_SHARED_DIR) / "conformance" / "tests";
    if (fs::is_directory(shared)) {
        dirs.push_back(shared);
    } else {
        WARN("shared conformance data absent: only Harmony's own cases run");
    }
    size_t passed = 0, total = 0;
    for (const fs::path &dir : dirs) {
        for (const auto &entry : fs::directory_iterator(dir)) {
            if (entry.path().extension() != ".data") {
                continue;
            }
            auto c = isa::read_conformance_file(entry.path().string());
            REQUIRE(c);
            auto program = isa::conformance_program(*c);
            REQUIRE(program);
            PluginRun run = run_plugin(*program, c->memory);
            INFO(entry.path().filename().string() << ": status " << run.status << ", output '" << run.output << "'");
            bool ok = c->error ? run.status != 0
                               : run.status == 0 && run.output == fmt::format("{:x}\n", c->result.value_or(~0ull));
            CHECK(ok);
            passed += ok ? 1 : 0;
            ++total;
        }
    }
    WARN("plugin: " << passed << "/" << total << " cases pass");
}

TEST_CASE("conformance plugin: refused programs and bad input exit non-zero", "[conformance][plugin]")
{
    isa::RawInsn unknown{};
    unknown.code = 0xe7;
    CHECK(run_plugin({unknown}, {}).status != 0);
    isa::RawInsn exit_insn{};
    exit_insn.code = 0x95;
    isa::RawInsn lddw{};
    lddw.code = 0x18;
    CHECK(run_plugin({lddw}, {}).status != 0);
    CHECK(run_plugin({exit_insn}, {}).status == 0);
}
