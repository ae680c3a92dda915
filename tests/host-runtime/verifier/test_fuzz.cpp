// Differential fuzzing against the kernel of this machine. Each generated program goes to
// both verifiers, with Harmony in privileged mode (the kernel loads as root):
//  - Harmony accepts, kernel refuses for a safety reason: a soundness bug, the test fails;
//  - kernel accepts, Harmony refuses: a completeness gap, counted and reported.
// Refusals the kernel makes for its own budget ("too large", "too complex") are not safety
// reasons. HARMONY_FUZZ_PROGRAMS sets the count (default 3000), HARMONY_FUZZ_SEED the seed.
#include "host-runtime/verifier/verifier.hpp"
#include "kernel_oracle.hpp"
#include "program_generator.hpp"

#include <bpf/bpf.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <unistd.h>

using namespace harmony;

namespace {

uint64_t env_or(const char *name, uint64_t fallback)
{
    const char *v = std::getenv(name);
    return v ? std::strtoull(v, nullptr, 10) : fallback;
}

ProgramSection harmony_section(const test::GeneratedProgram &p)
{
    std::vector<isa::RawInsn> raw(p.insns.size());
    static_assert(sizeof(isa::RawInsn) == sizeof(bpf_insn));
    std::memcpy(raw.data(), p.insns.data(), raw.size() * sizeof(bpf_insn));
    for (auto [i, map] : p.map_refs) {
        raw[i].src = isa::kMapIdx;
        raw[i].imm = map;
    }
    auto decoded = isa::decode(raw);
    REQUIRE(decoded);
    return ProgramSection{"fuzz", "xdp", BPF_PROG_TYPE_XDP, std::move(*decoded)};
}

bool budget_refusal(const std::string &log)
{
    return log.find("too large") != std::string::npos || log.find("too complex") != std::string::npos;
}

} // namespace

TEST_CASE("differential fuzzing against the kernel verifier", "[verifier][fuzz][kernel]")
{
    if (!test::kernel_available()) {
        WARN("not root: differential fuzzing against the kernel is skipped");
        return;
    }
    int map_fds[2] = {bpf_map_create(BPF_MAP_TYPE_ARRAY, "fuzz_values", 4, 8, 4, nullptr),
                      bpf_map_create(BPF_MAP_TYPE_RINGBUF, "fuzz_events", 0, 0, 4096, nullptr)};
    REQUIRE(map_fds[0] >= 0);
    REQUIRE(map_fds[1] >= 0);
    std::vector<MapSpec> maps(2);
    maps[0].info = MapInfo{"fuzz_values", BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0};
    maps[1].info = MapInfo{"fuzz_events", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0};

    uint64_t count = env_or("HARMONY_FUZZ_PROGRAMS", 3000);
    std::mt19937_64 rng(env_or("HARMONY_FUZZ_SEED", 4));
    verifier::Options root;
    root.privileged = true;
    uint64_t kernel_accepts = 0, kernel_safety_refusals = 0, unsound = 0, gaps = 0, agree = 0, budget = 0;
    for (uint64_t n = 0; n < count; n++) {
        test::GeneratedProgram p = test::generate_program(rng);
        ProgramSection section = harmony_section(p);
        verifier::Report harmony = verifier::verify(section, maps, root);
        for (auto [i, map] : p.map_refs) {
            p.insns[i].imm = map_fds[map];
        }
        test::KernelVerdict kernel = test::kernel_verify_insns(p.insns);
        if (!kernel.accepted && budget_refusal(kernel.log)) {
            budget++;
            continue;
        }
        kernel.accepted ? kernel_accepts++ : kernel_safety_refusals++;
        if (harmony.accepted == kernel.accepted) {
            agree++;
        } else if (harmony.accepted) {
            unsound++;
            FAIL_CHECK("soundness bug: Harmony accepts what the kernel refuses\nrecipe: "
                       << p.recipe
                       << "\nkernel: " << kernel.log.substr(kernel.log.size() > 1500 ? kernel.log.size() - 1500 : 0)
                       << "\nharmony: " << harmony.log);
        } else {
            gaps++;
            if (gaps <= 3) {
                WARN("completeness gap: kernel accepts, Harmony refuses\nrecipe: " << p.recipe
                                                                                   << "\nharmony: " << harmony.log);
            }
        }
    }
    close(map_fds[0]);
    close(map_fds[1]);
    double judged = static_cast<double>(count - budget);
    std::cout << "differential fuzzing: " << count << " programs, " << kernel_accepts << " accepted and "
              << kernel_safety_refusals << " refused by the kernel (" << budget << " refused for its budget only)\n"
              << "  agreement " << agree << " / " << judged << "\n"
              << "  soundness: " << unsound << " accepted by Harmony but refused by the kernel ("
              << (kernel_safety_refusals ? 100.0 * (kernel_safety_refusals - unsound) / kernel_safety_refusals : 100.0)
              << "% of kernel refusals also refused)\n"
              << "  completeness: " << gaps << " refused by Harmony but accepted by the kernel ("
              << (kernel_accepts ? 100.0 * (kernel_accepts - gaps) / kernel_accepts : 100.0)
              << "% of kernel acceptances also accepted)\n";
    CHECK(unsound == 0);
    CHECK(kernel_accepts > count / 40);
    CHECK(kernel_safety_refusals > count / 40);
}
