// The executors every ISA-level suite runs against (Catch2 GENERATE over this list).
// Adding an executor is adding a line here (and linking its library in CMakeLists.txt).
#pragma once

#include "host-runtime/vm.hpp"

#include <string>
#include <vector>

namespace harmony::test {

struct ExecutorFactory {
    std::string name;
    Result<std::unique_ptr<vm::Executor>> (*make)(const vm::LinkedProgram &);
};

inline std::vector<ExecutorFactory> conformance_executors()
{
    return {
        {"interpreter", vm::make_interpreter},
        {"jit", vm::make_jit},
    };
}

} // namespace harmony::test
