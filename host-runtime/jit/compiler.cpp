#include "host-runtime/jit/compiler.hpp"

#include "host-runtime/jit/emitter.hpp"

#include <fmt/format.h>

#include <string>

namespace harmony::jit {

namespace {

/// Keeps asmjit's first error (it reports per instruction and carries on).
class FirstError : public asmjit::ErrorHandler {
public:
    void handleError(asmjit::Error err, const char *message, asmjit::BaseEmitter *) override
    {
        if (error == asmjit::kErrorOk) {
            error = err;
            text = message;
        }
    }
    asmjit::Error error = asmjit::kErrorOk;
    std::string text;
};

bool host_has_bmi2()
{
    return asmjit::CpuInfo::host().hasFeature(asmjit::CpuFeatures::X86::kBMI2);
}

std::vector<const void *> instruction_addresses(const vm::LinkedProgram &program, const asmjit::CodeHolder &code,
                                                const Emitter &emitter, const void *base)
{
    std::vector<const void *> addresses(program.insns.size(), nullptr);
    for (size_t pc = 0; pc < addresses.size(); ++pc) {
        if (program.insns[pc].op != isa::Op::Filler) {
            addresses[pc] = static_cast<const uint8_t *>(base) + code.labelOffsetFromBase(emitter.insn_label(pc));
        }
    }
    return addresses;
}

} // namespace

Result<CompiledProgram> compile(const vm::LinkedProgram &program, asmjit::JitRuntime &runtime)
{
    if (auto ok = check_structure(program); !ok) {
        return std::unexpected(ok.error());
    }
    asmjit::CodeHolder code;
    FirstError errors;
    code.init(runtime.environment());
    code.setErrorHandler(&errors);
    x86::Assembler as(&code);
    Emitter emitter(as, program, host_has_bmi2());
    emitter.emit_program();
    if (errors.error != asmjit::kErrorOk) {
        return fail("jit", "program", fmt::format("asmjit: {}", errors.text));
    }
    CompiledProgram compiled;
    if (asmjit::Error err = runtime.add(&compiled.enter, &code); err != asmjit::kErrorOk) {
        return fail("jit", "program", fmt::format("cannot map code: {}", asmjit::DebugUtils::errorAsString(err)));
    }
    compiled.insn_code = instruction_addresses(program, code, emitter, reinterpret_cast<const void *>(compiled.enter));
    compiled.stack_size = program.stack_size;
    return compiled;
}

} // namespace harmony::jit
