// libFuzzer entry: any byte string through the loader must come back as a ProgramImage or
// an Error, never a crash, hang or sanitizer report. Seed with bpf/*.bpf.o.
#include "host-runtime/loader/loader.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    auto image = harmony::parse_program_image(harmony::Bytes(data, data + size), "fuzz-input");
    if (!image && image.error().why.empty()) {
        __builtin_trap(); // every refusal must say why
    }
    return 0;
}
