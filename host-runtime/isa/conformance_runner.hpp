// Running a program as the bpf_conformance runner does, on any executor: the one helper
// the suite uses is id 5, "unwind" (returns its argument; a return of 0 ends the program
// at once with r0 = 0), reachable by `call 5` and by callx with 5 in the register.
#pragma once

#include "common/error.hpp"
#include "host-runtime/insn.hpp"
#include "host-runtime/vm.hpp"

#include <cstdint>
#include <vector>

namespace harmony::isa {

inline constexpr int32_t kConformanceUnwindHelper = 5;

/// Links a decoded conformance program: every `call 5` is resolved to the unwind helper.
/// Calls to other helper ids stay unresolved, so executors refuse them.
vm::LinkedProgram link_conformance_program(std::vector<Insn> insns);

/// Runs with r1 = memory (null when empty) and r2 = its size. Returns r0, or the fault
/// the executor recorded in vm::RunState.
Result<uint64_t> run_conformance_program(vm::Executor &executor, std::vector<uint8_t> &memory);

} // namespace harmony::isa
