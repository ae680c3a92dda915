// The JIT against the interpreter: identical r0, fault and memory on every bpf_conformance
// program and on seeded random programs; and the JIT's own pass count on the suite.
#include "differential.hpp"
#include "program_generator.hpp"

#include "host-runtime/isa/conformance_data.hpp"
#include "host-runtime/isa/conformance_runner.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using namespace harmony;
using namespace harmony::jit::testing;

namespace {

std::vector<fs::path> conformance_files()
{
    std::vector<fs::path> files;
    const fs::path dir = fs::path(HARMONY_SHARED_DIR) / "conformance" / "tests";
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

Result<vm::LinkedProgram> conformance_linked(const isa::ConformanceCase &c)
{
    auto insns = isa::conformance_insns(c);
    if (!insns) {
        return std::unexpected(insns.error());
    }
    return isa::link_conformance_program(std::move(*insns));
}

/// Whether the JIT alone gives what the file expects (a result, or a refusal or fault).
bool jit_passes(const isa::ConformanceCase &c, const Result<vm::LinkedProgram> &program)
{
    if (!program) {
        return c.error.has_value();
    }
    auto jit = vm::make_jit(*program);
    if (!jit) {
        return c.error.has_value();
    }
    std::vector<uint8_t> memory = c.memory;
    auto r0 = isa::run_conformance_program(**jit, memory);
    return c.error ? !r0.has_value() : r0 && c.result && *r0 == *c.result;
}

} // namespace

TEST_CASE("the JIT passes the bpf_conformance suite and agrees with the interpreter on it", "[jit][conformance]")
{
    const auto files = conformance_files();
    if (files.empty()) {
        WARN("skipped: " << HARMONY_SHARED_DIR << "/conformance is absent");
        return;
    }
    size_t passed = 0;
    size_t compared = 0;
    for (const fs::path &file : files) {
        auto c = isa::read_conformance_file(file.string());
        INFO(file.filename().string());
        REQUIRE(c);
        auto program = conformance_linked(*c);
        const bool ok = jit_passes(*c, program);
        CHECK((ok || c->error.has_value()));
        passed += ok ? 1 : 0;
        if (program && vm::make_interpreter(*program) && vm::make_jit(*program)) {
            auto difference = compare_executors(*program, c->memory);
            INFO(difference.value_or(""));
            CHECK_FALSE(difference);
            ++compared;
        }
    }
    WARN("jit: " << passed << "/" << files.size() << " conformance programs pass; " << compared
                 << " compared with the interpreter (r0, fault, memory)");
    CHECK(passed == files.size());
}

TEST_CASE("the JIT agrees with the interpreter on seeded random programs", "[jit][differential]")
{
    constexpr uint64_t kPrograms = 20000;
    size_t with_difference = 0;
    for (uint64_t seed = 1; seed <= kPrograms; ++seed) {
        SeededChoices choices(seed);
        const GeneratedProgram generated = generate_program(choices);
        auto program = link_test_program(generated.text);
        INFO("seed " << seed << ":\n" << generated.text);
        REQUIRE(program);
        auto rules = check_differential_program(*program, kMemorySize);
        INFO((rules ? "" : rules.error().message()));
        REQUIRE(rules);
        auto difference = compare_executors(*program, generated.memory);
        INFO(difference.value_or(""));
        CHECK_FALSE(difference);
        with_difference += difference ? 1 : 0;
        if (with_difference >= 5) {
            FAIL("stopping after 5 differing programs");
        }
    }
}

TEST_CASE("generated programs exercise every instruction family", "[jit][differential]")
{
    std::set<isa::Op> seen;
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        SeededChoices choices(seed);
        auto program = link_test_program(generate_program(choices).text);
        REQUIRE(program);
        for (const isa::Insn &insn : program->insns) {
            seen.insert(insn.op);
        }
    }
    for (isa::Op op : {isa::Op::Div, isa::Op::SMod, isa::Op::Arsh, isa::Op::MovSx, isa::Op::Be, isa::Op::Bswap,
                       isa::Op::LoadSx, isa::Op::StoreImm, isa::Op::Atomic, isa::Op::LoadImm64, isa::Op::Ja,
                       isa::Op::Jsle, isa::Op::Call, isa::Op::CallLocal, isa::Op::Exit}) {
        INFO("op " << static_cast<int>(op));
        CHECK(seen.contains(op));
    }
}

TEST_CASE("the differential rules refuse programs that could differ or stray", "[jit][differential]")
{
    const std::string prologue = "stxdw [%r10-8], %r1\n"
                                 "stdw [%r10-16], 0\nstdw [%r10-24], 0\nstdw [%r10-32], 0\nstdw [%r10-40], 0\n"
                                 "stdw [%r10-48], 0\nstdw [%r10-56], 0\nstdw [%r10-64], 0\nstdw [%r10-72], 0\n";
    auto refused = [&](const std::string &body) {
        auto program = link_test_program(prologue + body);
        REQUIRE(program);
        return !check_differential_program(*program, kMemorySize).has_value();
    };
    CHECK_FALSE(refused("ldxdw %r0, [%r1+56]\nexit\n"));
    CHECK(refused("ldxdw %r0, [%r1+60]\nexit\n"));        // past the buffer
    CHECK(refused("ldxw %r0, [%r10-8]\nexit\n"));         // the saved pointer
    CHECK(refused("mov %r1, 0\nexit\n"));                 // r1 overwritten
    CHECK(refused("stxdw [%r1+0], %r10\nexit\n"));        // a pointer stored
    CHECK(refused("lock add [%r1+4], %r0\nexit\n"));      // misaligned atomic
    CHECK(refused("back: mov %r0, 1\nja back\nexit\n"));  // backward jump
    CHECK(refused("call 1\nexit\n"));                     // r1 not restored
    CHECK(refused("call 2\nldxdw %r1, [%r10-8]\nexit\n")); // another helper
}
