// The bpf_conformance ".data" file format, shared by the conformance tests (interpreter and
// JIT), the plugin and any test that keeps BPF programs as data. A file is a list of
// sections, each opened by a "-- name" line:
//   -- asm      uBPF-style assembly (see assembler.hpp)
//   -- raw      the program as bytes ("07 00 01 00 01 00 00 00") or 64-bit words ("0x...95")
//   -- mem      initial memory as hex bytes; r1 points at it, r2 holds its length
//   -- result   the expected r0, hex
//   -- error    the expected refusal or fault (text may be empty)
//   -- c, -- no register offset   informational, kept but not interpreted
#pragma once

#include "common/error.hpp"
#include "host-runtime/insn.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::isa {

struct ConformanceCase {
    std::string name;                        ///< file stem, e.g. "lock_add32"
    std::optional<std::string> asm_text;     ///< "-- asm"
    size_t asm_first_line = 1;               ///< file line of the first asm line, for errors
    std::optional<std::vector<RawInsn>> raw; ///< "-- raw"
    std::vector<uint8_t> memory;             ///< "-- mem"
    std::optional<uint64_t> result;          ///< "-- result"
    std::optional<std::string> error;        ///< "-- error"
    std::vector<std::string> notes;          ///< informational sections, by name
};

/// Parses the text of a .data file. Unknown sections and malformed hex are refused with
/// the line number.
Result<ConformanceCase> parse_conformance_data(std::string_view text, std::string name = {});

/// Reads and parses a .data file; the case is named after the file's stem.
Result<ConformanceCase> read_conformance_file(const std::string &path);

/// The program of a case: the raw section when present (it is what the file pins down
/// byte for byte), else the assembled asm section.
Result<std::vector<RawInsn>> conformance_program(const ConformanceCase &c);
/// The same program, decoded.
Result<std::vector<Insn>> conformance_insns(const ConformanceCase &c);

} // namespace harmony::isa
