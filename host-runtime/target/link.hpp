// Linking a ProgramSection for the host VM (vm::LinkedProgram), as the kernel does after
// verification: map references become the addresses of host map objects (or of a byte of
// a global-data value), BPF_PSEUDO_FUNC references become the callback's absolute
// instruction index (vm::RunState::call_subprogram), helper ids resolve through the helper
// table, and loads of struct xdp_md fields are rewritten to loads of vm::XdpBuff.
//
// Which loads read the context: a forward dataflow over the program tracks which
// registers and 8-byte stack slots (spills through r10) hold the unmodified ctx pointer,
// from r1 at entry through moves, spills and fills, joined at merges, through bpf-to-bpf
// calls into callees' arguments. The kernel gets the same fact from its verifier; doing it
// here keeps linking independent of the verifier. A load whose base may or may not be ctx
// depending on the path, or from a ctx pointer that was moved by arithmetic, is refused
// (the kernel refuses both too).
#pragma once

#include "host-runtime/maps/maps.hpp"
#include "host-runtime/program_image.hpp"
#include "host-runtime/vm.hpp"

#include <vector>

namespace harmony::host {

/// `maps[i]` is the host object for ProgramImage::maps[i].
Result<vm::LinkedProgram> link_program(const ProgramSection &program, const std::vector<maps::HostMap *> &maps);

/// The ctx rewrite alone, in place (exposed for tests).
Result<void> rewrite_xdp_context(std::vector<isa::Insn> &insns, const std::string &program_name);

} // namespace harmony::host
