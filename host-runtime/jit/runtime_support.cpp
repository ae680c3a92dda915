#include "host-runtime/jit/runtime_support.hpp"

#include "host-runtime/jit/jit.hpp"

#include <fmt/format.h>

#include <cstring>

namespace harmony::jit {

int32_t tail_call_offset()
{
    // RunState holds a std::string, so offsetof() is not portable; measure an instance.
    static const vm::RunState probe{};
    return static_cast<int32_t>(reinterpret_cast<const char *>(&probe.tail_call) -
                                reinterpret_cast<const char *>(&probe));
}

void record_call_too_deep(vm::RunState *run, uint64_t pc)
{
    run->fault = fmt::format("insn {}: call depth exceeds {} frames", pc, kMaxCallFrames);
}

void record_unknown_callx(vm::RunState *run, uint64_t pc, uint64_t id)
{
    run->fault = fmt::format("insn {}: callx to unknown helper {}", pc, id);
}

helpers::HelperFn resolve_callx(const vm::LinkedProgram *program, uint64_t id)
{
    return program->helper_by_id ? program->helper_by_id(id) : nullptr;
}

LegacyLoad legacy_load(const RunContext *context, int64_t at, uint64_t size)
{
    const uint8_t *data = static_cast<const uint8_t *>(context->ctx);
    uint64_t len = context->ctx_len;
    if (const vm::XdpBuff *xdp = context->run->xdp) {
        data = xdp->data;
        len = static_cast<uint64_t>(xdp->data_end - xdp->data);
    }
    if (at < 0 || static_cast<uint64_t>(at) + size > len) {
        return {0, 0};
    }
    uint64_t value = 0;
    std::memcpy(&value, data + at, size);
    switch (size) {
    case 2:
        value = __builtin_bswap16(static_cast<uint16_t>(value));
        break;
    case 4:
        value = __builtin_bswap32(static_cast<uint32_t>(value));
        break;
    case 8:
        value = __builtin_bswap64(value);
        break;
    default:
        break;
    }
    return {value, 1};
}

// As a CallLocal to `pc` from the instruction that called the helper: a new frame below
// the caller's (depth-checked), r6-r9 kept (the trampoline saves them), r0 returned. The
// callback runs under its own RunContext, so a tail call or fault inside it unwinds only
// to here, never across the helper's C++ frames.
uint64_t call_subprogram(void *context, uint64_t pc, const uint64_t args[5])
{
    auto *caller = static_cast<RunContext *>(context);
    const CompiledProgram &program = *caller->program;
    vm::RunState &run = *caller->run;
    if (pc >= program.insn_code.size() || program.insn_code[pc] == nullptr) {
        run.fault = fmt::format("callback at insn {} is not an instruction of the program", pc);
        return 0;
    }
    uint8_t *frame_pointer = caller->frame_pointer - program.stack_size;
    if (frame_pointer < caller->stack_floor) {
        record_call_too_deep(&run, pc);
        return 0;
    }
    RunContext callee = *caller;
    run.executor = &callee;
    const uint64_t r0 = program.enter(&callee, args, frame_pointer, program.insn_code[pc]);
    run.executor = caller;
    return r0;
}

} // namespace harmony::jit
