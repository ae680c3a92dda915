// libFuzzer: input bytes -> the choices of the program generator -> a program within the
// differential rules (checked) -> interpreter and JIT must give the same r0, fault and
// memory. Any difference aborts with the program's text, ready to paste into a test.
#include "differential.hpp"
#include "program_generator.hpp"

#include <cstdio>
#include <cstdlib>

using namespace harmony::jit::testing;

namespace {

[[noreturn]] void report(const char *what, const std::string &detail, const std::string &text)
{
    std::fprintf(stderr, "%s: %s\nprogram:\n%s", what, detail.c_str(), text.c_str());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ByteChoices choices({data, size});
    const GeneratedProgram generated = generate_program(choices, 32);
    auto program = link_test_program(generated.text);
    if (!program) {
        report("generator wrote a program that does not assemble", program.error().message(), generated.text);
    }
    if (auto rules = check_differential_program(*program, kMemorySize); !rules) {
        report("generator broke the differential rules", rules.error().message(), generated.text);
    }
    if (auto difference = compare_executors(*program, generated.memory)) {
        report("jit and interpreter differ", *difference, generated.text);
    }
    return 0;
}
