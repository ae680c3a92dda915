// Every bpf_conformance data file (../shared/conformance) and every case of our own (data/)
// through every executor: assemble -> decode -> link -> run with the file's memory, then
// compare r0 or the expected refusal. Negative files must not pass.
#include "executors.hpp"

#include "host-runtime/isa/assembler.hpp"
#include "host-runtime/isa/conformance_data.hpp"
#include "host-runtime/isa/conformance_runner.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

namespace fs = std::filesystem;
using namespace harmony;

namespace {

/// Files expected to fail on an executor, with the reason (uBPF's WILL_FAIL). A listed file
/// that passes fails the test, so the list cannot go stale.
const std::map<std::string, std::string> kKnownFailures = {};

/// Negative files that no parser, assembler or decoder can refuse, with the reason; they
/// must still not pass (their outcome differs from what the file claims). Every other
/// negative file must be refused before it runs.
const std::map<std::string, std::string> kNegativesOnlyAVerifierRefuses = {
    {"error", "'or %r0, %r10' reads r0 before writing it: well-formed, refused only by a verifier"},
    {"incorrect_return_value_high_bits", "a valid program whose file claims a wrong r0"},
};

/// What happened to one case: r0, or the stage that refused it and why.
struct Outcome {
    std::optional<uint64_t> r0;
    std::string stage;
    std::string why;
};

Outcome run_case(const isa::ConformanceCase &c, const test::ExecutorFactory &executor)
{
    auto slots = isa::conformance_program(c);
    if (!slots) {
        return {{}, c.raw ? "raw" : c.asm_text ? "assemble" : "parse", slots.error().message()};
    }
    auto insns = isa::decode(*slots);
    if (!insns) {
        return {{}, "decode", insns.error().message()};
    }
    auto prepared = executor.make(isa::link_conformance_program(std::move(*insns)));
    if (!prepared) {
        return {{}, "prepare", prepared.error().message()};
    }
    std::vector<uint8_t> memory = c.memory;
    auto r0 = isa::run_conformance_program(**prepared, memory);
    if (!r0) {
        return {{}, "run", r0.error().message()};
    }
    return {*r0, "", ""};
}

std::string describe(const Outcome &o)
{
    return o.r0 ? fmt::format("r0 = {:#x}", *o.r0) : fmt::format("refused at {}: {}", o.stage, o.why);
}

/// Whether the outcome is what the case expects; `why` says how it differs.
bool passes(const isa::ConformanceCase &c, const Outcome &o, std::string &why)
{
    if (c.error) {
        why = o.r0 ? "expected a refusal, got " + describe(o) : "";
        return !o.r0;
    }
    if (!c.result) {
        why = "the case states neither a result nor an error";
        return false;
    }
    why = fmt::format("expected r0 = {:#x}, {}", *c.result, describe(o));
    return o.r0 == c.result;
}

// When a file gives both, the assembler must produce exactly the raw bytes.
bool asm_matches_raw(const isa::ConformanceCase &c)
{
    if (!c.asm_text || !c.raw) {
        return true;
    }
    auto assembled = isa::assemble(*c.asm_text, c.asm_first_line);
    return assembled && assembled->size() == c.raw->size() &&
           std::memcmp(assembled->data(), c.raw->data(), c.raw->size() * sizeof(isa::RawInsn)) == 0;
}

std::vector<fs::path> data_files(const fs::path &dir)
{
    std::vector<fs::path> files;
    if (fs::is_directory(dir)) {
        for (const auto &entry : fs::directory_iterator(dir)) {
            if (entry.path().extension() == ".data") {
                files.push_back(entry.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

struct Tally {
    size_t passed = 0;     ///< positive: as expected; negative: refused
    size_t mismatched = 0; ///< negative: ran, and the outcome differs from the file's claim
    size_t total = 0;
};

Tally run_positive_suite(const fs::path &dir, const test::ExecutorFactory &executor)
{
    Tally tally;
    for (const fs::path &file : data_files(dir)) {
        ++tally.total;
        auto c = isa::read_conformance_file(file.string());
        INFO(executor.name << " " << file.filename().string());
        REQUIRE(c);
        CHECK(asm_matches_raw(*c));
        std::string why;
        bool ok = passes(*c, run_case(*c, executor), why);
        auto known = kKnownFailures.find(executor.name + "/" + c->name);
        if (known != kKnownFailures.end()) {
            INFO("listed as a known failure (" << known->second << ") but passes");
            CHECK_FALSE(ok);
            continue;
        }
        INFO(why);
        CHECK(ok);
        tally.passed += ok ? 1 : 0;
    }
    return tally;
}

// A negative file must not pass: it is refused (parser, assembler, decoder or executor), or
// it runs and its outcome differs from what the file claims (a wrong result, or an error
// that only a verifier could raise).
Tally run_negative_suite(const fs::path &dir, const test::ExecutorFactory &executor)
{
    Tally tally;
    for (const fs::path &file : data_files(dir)) {
        ++tally.total;
        auto c = isa::read_conformance_file(file.string());
        Outcome o = c ? run_case(*c, executor) : Outcome{{}, "parse", c.error().message()};
        std::string why;
        bool refused = !o.r0;
        bool mismatched = o.r0 && !passes(*c, o, why);
        INFO(executor.name << " " << file.filename().string() << ": " << describe(o));
        if (kNegativesOnlyAVerifierRefuses.contains(file.stem().string())) {
            CHECK(mismatched);
        } else {
            CHECK(refused);
        }
        tally.passed += refused ? 1 : 0;
        tally.mismatched += mismatched ? 1 : 0;
    }
    return tally;
}

fs::path shared_conformance() { return fs::path(HARMONY_SHARED_DIR) / "conformance"; }

} // namespace

TEST_CASE("bpf_conformance tests pass", "[conformance]")
{
    auto executor = GENERATE(from_range(test::conformance_executors()));
    if (!fs::is_directory(shared_conformance() / "tests")) {
        WARN("skipped: " << shared_conformance() << " is absent");
        return;
    }
    Tally t = run_positive_suite(shared_conformance() / "tests", executor);
    WARN(executor.name << ": " << t.passed << "/" << t.total << " conformance tests pass");
    CHECK(t.total > 0);
}

TEST_CASE("bpf_conformance negative tests are refused", "[conformance]")
{
    auto executor = GENERATE(from_range(test::conformance_executors()));
    if (!fs::is_directory(shared_conformance() / "negative")) {
        WARN("skipped: " << shared_conformance() << " is absent");
        return;
    }
    Tally t = run_negative_suite(shared_conformance() / "negative", executor);
    WARN(executor.name << ": " << t.passed + t.mismatched << "/" << t.total << " negative tests do not pass ("
                       << t.passed << " refused, " << t.mismatched << " run with an outcome other than claimed)");
    CHECK(t.total > 0);
}

TEST_CASE("Harmony's own ISA data cases pass", "[conformance]")
{
    auto executor = GENERATE(from_range(test::conformance_executors()));
    Tally t = run_positive_suite(fs::path(HARMONY_ISA_TEST_DATA), executor);
    CHECK(t.total >= 5);
    Tally n = run_negative_suite(fs::path(HARMONY_ISA_TEST_DATA) / "negative", executor);
    CHECK(n.total >= 3);
}
