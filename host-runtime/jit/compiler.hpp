// Program -> machine code in an asmjit runtime. Internal to the JIT.
#pragma once

#include "host-runtime/jit/jit.hpp"
#include "host-runtime/jit/runtime_support.hpp"

#include <asmjit/x86.h>

namespace harmony::jit {

/// Checks `program` structurally and compiles it into `runtime`, which owns the code.
Result<CompiledProgram> compile(const vm::LinkedProgram &program, asmjit::JitRuntime &runtime);

} // namespace harmony::jit
