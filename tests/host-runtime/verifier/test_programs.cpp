// Every program under bpf/ is accepted, quickly; the time against the kernel's verifier on
// the same object is printed (a benchmark figure, not a pass/fail criterion).
#include "host-runtime/verifier/verifier.hpp"
#include "kernel_oracle.hpp"
#ifdef HARMONY_HAVE_HYPERSCAN
#include "helpers/hyperscan/hyperscan.hpp"
#endif

#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>

using namespace harmony;

namespace {

std::vector<std::string> project_programs()
{
    std::vector<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(std::string(HARMONY_SOURCE_DIR) + "/bpf")) {
        std::string file = entry.path().filename().string();
        if (file.ends_with(".bpf.c")) {
            names.push_back(file.substr(0, file.size() - 6));
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

TEST_CASE("every program under bpf/ is accepted", "[verifier][programs]")
{
#ifdef HARMONY_HAVE_HYPERSCAN
    REQUIRE(hyperscan::register_helpers()); // hs_match and friends, as the host target registers them
#endif
    auto names = project_programs();
    REQUIRE_FALSE(names.empty());
    for (const std::string &name : names) {
        DYNAMIC_SECTION(name)
        {
            std::string object = std::string(HARMONY_BPF_DIR) + "/" + name + ".bpf.o";
            REQUIRE(std::filesystem::exists(object));
            auto report = verifier::verify_object(object);
            REQUIRE(report);
            INFO(report->log);
            CHECK(report->accepted);
            CHECK(report->log.find("verification time") != std::string::npos);
        }
    }
}

TEST_CASE("dpi.bpf.o: Harmony's verification time against the kernel's", "[verifier][programs][bench]")
{
    std::string object = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";
    REQUIRE(std::filesystem::exists(object));
    auto report = verifier::verify_object(object);
    REQUIRE(report);
    REQUIRE(report->accepted);
    auto harmony_usec = std::chrono::duration_cast<std::chrono::microseconds>(report->time).count();
    std::cout << "dpi.bpf.o: harmony verifier " << harmony_usec << " usec, " << report->insns_processed
              << " insns processed, " << report->total_states << " states\n";
    if (test::kernel_available()) {
        test::KernelVerdict kernel = test::kernel_verify_object(object);
        CHECK(kernel.accepted);
        if (kernel.verification_usec) {
            std::cout << "dpi.bpf.o: kernel verifier " << *kernel.verification_usec << " usec\n";
        }
    }
}

TEST_CASE("a refusal names the instruction, the reason and the register state", "[verifier][log]")
{
    std::string object = std::string(HARMONY_BPF_DIR) + "/verifier_case_map_null_check_missing.bpf.o";
    auto report = verifier::verify_object(object);
    REQUIRE(report);
    REQUIRE_FALSE(report->accepted);
    REQUIRE(report->refusal);
    CHECK(report->refusal->pc >= 0);
    CHECK_THAT(report->refusal->insn, Catch::Contains("*(u64 *)(r0"));
    CHECK_THAT(report->refusal->state, Catch::Contains("R0=map_value_or_null"));
    CHECK_THAT(report->log, Catch::Contains("rules: unprivileged"));
    CHECK_THAT(verifier::report_json(*report), Catch::Contains("\"accepted\": false"));
}

TEST_CASE("privileged mode relaxes exactly the unprivileged rules", "[verifier][rules]")
{
    verifier::Options root;
    root.privileged = true;
    for (std::string name : {"stack_uninit_read", "packet_ptr_into_map", "stack_ptr_into_map"}) {
        std::string object = std::string(HARMONY_BPF_DIR) + "/verifier_case_" + name + ".bpf.o";
        auto unprivileged = verifier::verify_object(object);
        auto privileged = verifier::verify_object(object, "", root);
        REQUIRE(unprivileged);
        REQUIRE(privileged);
        INFO(name << "\n" << privileged->log);
        CHECK_FALSE(unprivileged->accepted);
        CHECK(privileged->accepted);
    }
    auto still_refused =
        verifier::verify_object(std::string(HARMONY_BPF_DIR) + "/verifier_case_map_null_check_missing.bpf.o", "", root);
    REQUIRE(still_refused);
    CHECK_FALSE(still_refused->accepted);
}
