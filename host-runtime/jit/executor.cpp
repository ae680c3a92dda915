// vm::make_jit: an Executor over compiled code. run() owns what the compiled code cannot
// do by itself: the stack, the per-thread RunState with its callback hook, and continuing
// in the program a helper named as tail-call target (compiled on first use, then cached).
#include "host-runtime/jit/compiler.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace harmony::vm {

namespace {

class JitExecutor final : public Executor {
public:
    JitExecutor(std::unique_ptr<LinkedProgram> program, std::unique_ptr<asmjit::JitRuntime> runtime,
                jit::CompiledProgram compiled)
        : program_(std::move(program)), runtime_(std::move(runtime))
    {
        main_ = &compiled_.emplace(program_.get(), std::move(compiled)).first->second;
    }

    // As the interpreter: a fresh RunState, ctx taken for an XdpBuff when there is no
    // length, and after a tail call the new program starts over with r1 = ctx and the
    // stack reset (registers other than r1, r2, r10 start at zero rather than carrying
    // over, which no verified program can observe).
    uint64_t run(void *ctx, uint64_t ctx_len) override
    {
        RunState &state = current_run();
        state = RunState{};
        state.xdp = ctx_len == 0 ? static_cast<XdpBuff *>(ctx) : nullptr;
        state.program = program_.get();
        // Room for the deepest chain of calls; frames grow down from the top.
        alignas(16) std::array<uint8_t, jit::kMaxCallFrames * jit::kMaxFrameBytes> stack;
        uint8_t *top = stack.data() + stack.size();
        const uint64_t args[5] = {reinterpret_cast<uint64_t>(ctx), ctx_len, 0, 0, 0};
        const jit::CompiledProgram *program = main_;
        for (;;) {
            jit::RunContext context{.run = &state,
                                    .stack_floor = top - (jit::kMaxCallFrames - 1) * program->stack_size,
                                    .ctx = ctx,
                                    .ctx_len = ctx_len,
                                    .program = program};
            state.call_subprogram = jit::call_subprogram;
            state.executor = &context;
            const uint64_t r0 = program->enter(&context, args, top, program->insn_code[0]);
            const LinkedProgram *next = state.tail_call;
            if (next == nullptr) {
                return r0;
            }
            state.tail_call = nullptr;
            state.program = next;
            program = compiled_for(*next, state);
            if (program == nullptr) {
                return 0;
            }
        }
    }

private:
    /// Compiled code of a tail-call target; null, with the run's fault set, if it cannot
    /// be compiled.
    const jit::CompiledProgram *compiled_for(const LinkedProgram &program, RunState &state)
    {
        std::lock_guard lock(compiled_mutex_); // runs may share the executor across threads
        auto found = compiled_.find(&program);
        if (found != compiled_.end()) {
            return &found->second;
        }
        auto compiled = jit::compile(program, *runtime_);
        if (!compiled) {
            state.fault = "tail call: " + compiled.error().message();
            return nullptr;
        }
        return &compiled_.emplace(&program, std::move(*compiled)).first->second;
    }

    std::unique_ptr<LinkedProgram> program_; ///< a copy: compiled code points into it (callx)
    std::unique_ptr<asmjit::JitRuntime> runtime_;
    /// By program address (tail-call targets must outlive the executor, as programs in a
    /// program-array map do); nodes are stable, so the pointers below stay valid.
    std::unordered_map<const LinkedProgram *, jit::CompiledProgram> compiled_;
    const jit::CompiledProgram *main_ = nullptr;
    std::mutex compiled_mutex_;
};

} // namespace

Result<std::unique_ptr<Executor>> make_jit(const LinkedProgram &program)
{
    auto copy = std::make_unique<LinkedProgram>(program);
    auto runtime = std::make_unique<asmjit::JitRuntime>();
    auto compiled = jit::compile(*copy, *runtime);
    if (!compiled) {
        return std::unexpected(compiled.error());
    }
    return std::make_unique<JitExecutor>(std::move(copy), std::move(runtime), std::move(*compiled));
}

} // namespace harmony::vm
