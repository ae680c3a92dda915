// Each cases/*.case names a program from progs/ and states what Harmony's verifier and
// the kernel (loading as root) must say about it. Both are run; where they disagree the
// case must say why in 'difference:' (e.g. the unprivileged rule, the kernel's budget).
#include "host-runtime/verifier/verifier.hpp"
#include "kernel_oracle.hpp"
#ifdef HARMONY_HAVE_HYPERSCAN
#include "helpers/hyperscan/hyperscan.hpp"
#endif

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace {

using namespace harmony;

struct Case {
    std::string name;
    std::map<std::string, std::string> fields;

    const std::string &at(const std::string &key) const
    {
        static const std::string empty;
        auto it = fields.find(key);
        return it == fields.end() ? empty : it->second;
    }
};

Case read_case(const std::filesystem::path &path)
{
    Case c{path.stem().string(), {}};
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos) {
            continue;
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        c.fields[line.substr(0, colon)] = value;
    }
    return c;
}

std::vector<Case> all_cases()
{
    std::vector<Case> cases;
    for (const auto &entry : std::filesystem::directory_iterator(VERIFIER_CASES_DIR)) {
        if (entry.path().extension() == ".case") {
            cases.push_back(read_case(entry.path()));
        }
    }
    std::sort(cases.begin(), cases.end(), [](const Case &a, const Case &b) { return a.name < b.name; });
    return cases;
}

std::string object_of(const Case &c)
{
    return std::string(HARMONY_BPF_DIR) + "/verifier_case_" + c.at("program") + ".bpf.o";
}

/// Harmony's verdict; a loader refusal (e.g. a jump out of the program) counts as a refusal.
std::pair<bool, std::string> harmony_verdict(const std::string &object)
{
#ifdef HARMONY_HAVE_HYPERSCAN
    REQUIRE(hyperscan::register_helpers()); // the hs_match_packet_* cases call hs_match
#endif
    auto report = verifier::verify_object(object);
    if (!report) {
        return {false, report.error().message()};
    }
    return {report->accepted, report->log};
}

} // namespace

TEST_CASE("every case file names a program and both verdicts", "[verifier][cases]")
{
    auto cases = all_cases();
    REQUIRE(cases.size() >= 15);
    for (const Case &c : cases) {
        INFO("case " << c.name);
        CHECK(std::filesystem::exists(object_of(c)));
        CHECK((c.at("harmony") == "accept" || c.at("harmony") == "refuse"));
        CHECK((c.at("kernel") == "accept" || c.at("kernel") == "refuse"));
        if (c.at("harmony") == "refuse") {
            CHECK_FALSE(c.at("message").empty());
        }
        if (c.at("harmony") != c.at("kernel")) {
            CHECK_FALSE(c.at("difference").empty());
        }
    }
}

TEST_CASE("Harmony's verdict and message match each case", "[verifier][cases]")
{
    for (const Case &c : all_cases()) {
#ifndef HARMONY_HAVE_HYPERSCAN
        if (c.at("needs") == "hyperscan") {
            WARN("case " << c.name << " skipped: built without Hyperscan, its helpers are unknown");
            continue;
        }
#endif
        DYNAMIC_SECTION(c.name)
        {
            auto [accepted, log] = harmony_verdict(object_of(c));
            INFO(log);
            CHECK(accepted == (c.at("harmony") == "accept"));
            if (!c.at("message").empty()) {
                CHECK_THAT(log, Catch::Contains(c.at("message")));
            }
        }
    }
}

TEST_CASE("the kernel of this machine agrees with each case", "[verifier][cases][kernel]")
{
    if (!test::kernel_available()) {
        WARN("not root: the kernel oracle is skipped");
        return;
    }
    for (const Case &c : all_cases()) {
        DYNAMIC_SECTION(c.name)
        {
            test::KernelVerdict kernel = test::kernel_verify_object(object_of(c));
            INFO(kernel.log.substr(kernel.log.size() > 3000 ? kernel.log.size() - 3000 : 0));
            CHECK(kernel.accepted == (c.at("kernel") == "accept"));
            if (!c.at("kernel_message").empty()) {
                CHECK_THAT(kernel.log, Catch::Contains(c.at("kernel_message")));
            }
        }
    }
}
