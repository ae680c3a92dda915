// An assembler for the uBPF-style text of the bpf_conformance suite ("-- asm" sections):
//   mov32 %r0, 0          ldxw %r0, [%r1+4]       stxdw [%r10-8], %r1     lddw %r0, 0x1122334455667788
//   jeq %r1, 0x10, +2     ja32 label              call 5 | call local f   call %r2 (callx)
//   lock fetch add32 [%r10-4], %r1                movsx832 %r0, %r1       le16 / be32 / swap64 %r0
// Labels ("name:") may be jump and local-call targets; "exit" also names the first exit.
// Comments start with '#'. Used by the conformance tests, the plugin and unit tests to write
// programs as text.
#pragma once

#include "common/error.hpp"
#include "host-runtime/insn.hpp"

#include <string_view>
#include <vector>

namespace harmony::isa {

/// Assembles `source` into raw slots (lddw takes two). Errors name the line, counted from
/// `first_line`, and the reason: "line 3: unknown mnemonic 'ldxq'".
Result<std::vector<RawInsn>> assemble(std::string_view source, size_t first_line = 1);

} // namespace harmony::isa
