// The x86-64 JIT. vm::make_jit (host-runtime/vm.hpp) is the way in for users; this header
// offers the layer below it — the structural check and the limits — to the JIT's tests
// and fuzzer.
#pragma once

#include "common/error.hpp"
#include "host-runtime/vm.hpp"

#include <cstdint>

namespace harmony::jit {

/// Nesting of bpf-to-bpf calls (and callbacks) a run may reach, main program included
/// (the kernel's MAX_CALL_FRAMES). Each frame is LinkedProgram::stack_size bytes of stack;
/// a call that would go deeper ends the run with a fault, as in the interpreter.
inline constexpr uint32_t kMaxCallFrames = 8;

/// Largest per-frame stack a program may ask for.
inline constexpr uint32_t kMaxFrameBytes = 512;

/// What the JIT needs of a program before it emits a byte: every register, size and
/// atomic operation in range, every jump and local call landing on an instruction, every
/// helper call resolved, and no path falling off the end. Errors name the pc and why,
/// e.g. "insn 7: jump lands on the second slot of lddw at 9".
Result<void> check_structure(const vm::LinkedProgram &program);

} // namespace harmony::jit
