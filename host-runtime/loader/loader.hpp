// The loader: a clang-built BPF ELF object -> ProgramImage (see host-runtime/program_image.hpp
// for the result's contract). This header adds the in-memory entry point, for callers that
// already hold the bytes (the fuzzer, tests that corrupt a copy of an object).
#pragma once

#include "host-runtime/program_image.hpp"

namespace harmony {

/// As load_program_image, from the object's bytes; `name` is used in error messages.
Result<ProgramImage> parse_program_image(Bytes elf_bytes, std::string name);

} // namespace harmony
