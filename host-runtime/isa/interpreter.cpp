// The interpreter: one switch over isa::Op, a few lines per case, on the decoded form.
// Semantics follow RFC 9669: 32-bit ALU results are zero-extended, shift counts are masked,
// division by zero gives 0 and modulo by zero leaves dst unchanged, INT_MIN / -1 is INT_MIN
// and INT_MIN % -1 is 0.
#include "host-runtime/vm.hpp"

#include <fmt/format.h>

#include <cstring>

namespace harmony::vm {
namespace {

using isa::AtomicOp;
using isa::Insn;
using isa::Op;

constexpr int kMaxFrames = 8; ///< as the kernel's MAX_CALL_FRAMES, the entry frame included
constexpr uint32_t kMaxStackPerFrame = 512;

constexpr uint64_t u32(uint64_t v) { return static_cast<uint32_t>(v); }
constexpr uint64_t alu(const Insn &i, uint64_t v) { return i.is64 ? v : u32(v); }

uint64_t sign_extend(uint64_t v, uint8_t bytes)
{
    switch (bytes) {
    case 1: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(v)));
    case 2: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(v)));
    case 4: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
    default: return v;
    }
}

uint64_t byte_swap(uint64_t v, int32_t width)
{
    switch (width) {
    case 16: return __builtin_bswap16(static_cast<uint16_t>(v));
    case 32: return __builtin_bswap32(static_cast<uint32_t>(v));
    default: return __builtin_bswap64(v);
    }
}

uint64_t truncate(uint64_t v, int32_t width)
{
    return width == 16 ? static_cast<uint16_t>(v) : width == 32 ? u32(v) : v;
}

uint64_t sdiv(const Insn &i, uint64_t dst, uint64_t src)
{
    if (i.is64) {
        auto d = static_cast<int64_t>(dst), s = static_cast<int64_t>(src);
        return s == 0 ? 0 : s == -1 ? 0 - dst : static_cast<uint64_t>(d / s);
    }
    auto d = static_cast<int32_t>(dst), s = static_cast<int32_t>(src);
    return s == 0 ? 0 : s == -1 ? u32(0 - dst) : u32(static_cast<uint32_t>(d / s));
}

uint64_t smod(const Insn &i, uint64_t dst, uint64_t src)
{
    if (i.is64) {
        auto d = static_cast<int64_t>(dst), s = static_cast<int64_t>(src);
        return s == 0 ? dst : s == -1 ? 0 : static_cast<uint64_t>(d % s);
    }
    auto d = static_cast<int32_t>(dst), s = static_cast<int32_t>(src);
    return s == 0 ? u32(dst) : s == -1 ? 0 : u32(static_cast<uint32_t>(d % s));
}

bool condition(const Insn &i, uint64_t dst, uint64_t src)
{
    uint64_t a = i.is64 ? dst : u32(dst), b = i.is64 ? src : u32(src);
    int64_t sa = i.is64 ? static_cast<int64_t>(dst) : static_cast<int32_t>(dst);
    int64_t sb = i.is64 ? static_cast<int64_t>(src) : static_cast<int32_t>(src);
    switch (i.op) {
    case Op::Jeq: return a == b;
    case Op::Jne: return a != b;
    case Op::Jgt: return a > b;
    case Op::Jge: return a >= b;
    case Op::Jlt: return a < b;
    case Op::Jle: return a <= b;
    case Op::Jset: return (a & b) != 0;
    case Op::Jsgt: return sa > sb;
    case Op::Jsge: return sa >= sb;
    case Op::Jslt: return sa < sb;
    case Op::Jsle: return sa <= sb;
    default: return false;
    }
}

uint64_t load(uint64_t address, uint8_t size)
{
    uint64_t v = 0;
    std::memcpy(&v, reinterpret_cast<const void *>(address), size); // little-endian host
    return v;
}

void store(uint64_t address, uint8_t size, uint64_t v)
{
    std::memcpy(reinterpret_cast<void *>(address), &v, size);
}

template <typename T>
void atomic(T *p, const Insn &i, uint64_t &src, uint64_t &r0)
{
    auto v = static_cast<T>(src);
    switch (i.atomic) {
    case AtomicOp::Add: __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Or: __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::And: __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Xor: __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchAdd: src = __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchOr: src = __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchAnd: src = __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::FetchXor: src = __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::Xchg: src = __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); break;
    case AtomicOp::CmpXchg: {
        auto expected = static_cast<T>(r0);
        __atomic_compare_exchange_n(p, &expected, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        r0 = expected; // the old value, whether or not it matched
        break;
    }
    }
}

// One run: registers, call frames and the stack all live on the C++ stack, so an executor
// may run on several threads at once.
class Machine {
public:
    Machine(const LinkedProgram &program, RunState &run, void *ctx, uint64_t ctx_len)
        : program_(&program), run_(run), ctx_(ctx), ctx_len_(ctx_len)
    {
    }

    uint64_t execute()
    {
        start(program_);
        reg_[2] = ctx_len_;
        const Insn *code = program_->insns.data();
        size_t pc = 0;
        for (;;) {
            const Insn &i = code[pc++];
            uint64_t &dst = reg_[i.dst];
            const uint64_t src = i.src_is_reg ? reg_[i.src] : static_cast<uint64_t>(static_cast<int64_t>(i.imm));
            switch (i.op) {
            case Op::Add: dst = alu(i, dst + src); break;
            case Op::Sub: dst = alu(i, dst - src); break;
            case Op::Mul: dst = alu(i, dst * src); break;
            case Op::Div: dst = i.is64 ? (src ? dst / src : 0) : (u32(src) ? u32(dst) / u32(src) : 0); break;
            case Op::SDiv: dst = sdiv(i, dst, src); break;
            case Op::Mod: dst = i.is64 ? (src ? dst % src : dst) : (u32(src) ? u32(dst) % u32(src) : u32(dst)); break;
            case Op::SMod: dst = smod(i, dst, src); break;
            case Op::Or: dst = alu(i, dst | src); break;
            case Op::And: dst = alu(i, dst & src); break;
            case Op::Xor: dst = alu(i, dst ^ src); break;
            case Op::Lsh: dst = i.is64 ? dst << (src & 63) : u32(dst << (src & 31)); break;
            case Op::Rsh: dst = i.is64 ? dst >> (src & 63) : u32(dst) >> (src & 31); break;
            case Op::Arsh:
                dst = i.is64 ? static_cast<uint64_t>(static_cast<int64_t>(dst) >> (src & 63))
                             : u32(static_cast<uint32_t>(static_cast<int32_t>(dst) >> (src & 31)));
                break;
            case Op::Neg: dst = alu(i, 0 - dst); break;
            case Op::Mov: dst = alu(i, src); break;
            case Op::MovSx: dst = alu(i, sign_extend(src, i.size)); break;
            case Op::Le: dst = truncate(dst, i.imm); break;
            case Op::Be:
            case Op::Bswap: dst = byte_swap(dst, i.imm); break;
            case Op::Load: dst = load(reg_[i.src] + i.off, i.size); break;
            case Op::LoadSx: dst = sign_extend(load(reg_[i.src] + i.off, i.size), i.size); break;
            case Op::Store: store(dst + i.off, i.size, reg_[i.src]); break;
            case Op::StoreImm: store(dst + i.off, i.size, src); break;
            case Op::Atomic: atomic_at(i); break;
            case Op::LoadImm64:
                dst = i.imm64;
                ++pc; // over the second slot
                break;
            case Op::LoadAbs:
            case Op::LoadInd:
                if (!legacy_load(i)) {
                    return 0; // out of bounds ends the program with 0, as in the kernel
                }
                break;
            case Op::Ja: pc += i.is64 ? i.off : i.imm; break;
            case Op::Jeq:
            case Op::Jgt:
            case Op::Jge:
            case Op::Jset:
            case Op::Jne:
            case Op::Jsgt:
            case Op::Jsge:
            case Op::Jlt:
            case Op::Jle:
            case Op::Jslt:
            case Op::Jsle: pc += condition(i, dst, src) ? i.off : 0; break;
            case Op::Call:
                reg_[0] = call(program_->helper_by_slot[pc - 1]);
                if (run_.tail_call) {
                    code = tail_call();
                    pc = 0;
                }
                break;
            case Op::CallReg: {
                helpers::HelperFn fn = program_->helper_by_id ? program_->helper_by_id(dst) : nullptr;
                if (!fn) {
                    return abort(fmt::format("insn {}: callx to unknown helper {}", pc - 1, dst));
                }
                reg_[0] = call(fn);
                break;
            }
            case Op::CallLocal:
                if (depth_ + 1 >= kMaxFrames) {
                    return abort(fmt::format("insn {}: call depth exceeds {} frames", pc - 1, kMaxFrames));
                }
                push_frame(pc);
                pc += i.imm;
                break;
            case Op::Exit:
                if (depth_ == 0) {
                    return reg_[0];
                }
                pc = pop_frame();
                break;
            case Op::Filler: return abort(fmt::format("insn {}: executed the second slot of lddw", pc - 1));
            }
        }
    }

private:
    struct Frame {
        size_t return_pc;
        uint64_t callee_saved[4]; ///< r6-r9
        uint64_t frame_pointer;
    };

    const LinkedProgram *program_;
    RunState &run_;
    void *ctx_;
    uint64_t ctx_len_;
    uint64_t reg_[11] = {};
    Frame frames_[kMaxFrames];
    int depth_ = 0;
    alignas(16) uint8_t stack_[kMaxFrames * kMaxStackPerFrame];

    void start(const LinkedProgram *program)
    {
        program_ = program;
        run_.program = program;
        depth_ = 0;
        reg_[1] = reinterpret_cast<uint64_t>(ctx_);
        reg_[10] = reinterpret_cast<uint64_t>(stack_ + sizeof stack_);
    }

    uint64_t call(helpers::HelperFn fn) { return fn(reg_[1], reg_[2], reg_[3], reg_[4], reg_[5]); }

    // The helper asked to continue in another program: this one ends here, frames and all.
    const Insn *tail_call()
    {
        const LinkedProgram *next = run_.tail_call;
        run_.tail_call = nullptr;
        start(next);
        return next->insns.data();
    }

    void push_frame(size_t return_pc)
    {
        Frame &f = frames_[depth_++];
        f.return_pc = return_pc;
        std::memcpy(f.callee_saved, &reg_[6], sizeof f.callee_saved);
        f.frame_pointer = reg_[10];
        reg_[10] -= program_->stack_size;
    }

    size_t pop_frame()
    {
        Frame &f = frames_[--depth_];
        std::memcpy(&reg_[6], f.callee_saved, sizeof f.callee_saved);
        reg_[10] = f.frame_pointer;
        return f.return_pc;
    }

    void atomic_at(const Insn &i)
    {
        uint64_t address = reg_[i.dst] + i.off;
        if (i.size == 8) {
            atomic(reinterpret_cast<uint64_t *>(address), i, reg_[i.src], reg_[0]);
        } else {
            atomic(reinterpret_cast<uint32_t *>(address), i, reg_[i.src], reg_[0]);
        }
    }

    // Legacy packet access: r0 = ntohN(packet[src + imm]), bounds-checked at run time.
    bool legacy_load(const Insn &i)
    {
        const uint8_t *data = static_cast<const uint8_t *>(ctx_);
        uint64_t len = ctx_len_;
        if (run_.xdp) {
            data = run_.xdp->data;
            len = static_cast<uint64_t>(run_.xdp->data_end - run_.xdp->data);
        }
        int64_t at = static_cast<int64_t>(i.imm) + (i.op == Op::LoadInd ? static_cast<int64_t>(reg_[i.src]) : 0);
        if (at < 0 || static_cast<uint64_t>(at) + i.size > len) {
            reg_[0] = 0;
            return false;
        }
        reg_[0] = i.size == 1 ? data[at] : byte_swap(load(reinterpret_cast<uint64_t>(data + at), i.size), i.size * 8);
        return true;
    }

    uint64_t abort(std::string why)
    {
        run_.fault = std::move(why);
        return 0;
    }
};

// Structural checks the switch relies on: every jump and call lands on an instruction,
// every helper call is resolved, and the program cannot run off its end.
Result<void> check_structure(const LinkedProgram &program)
{
    const auto &insns = program.insns;
    auto refused = [](size_t pc, std::string why) {
        return fail("prepare interpreter", fmt::format("insn {}", pc), std::move(why));
    };
    if (insns.empty()) {
        return fail("prepare interpreter", "program", "no instructions");
    }
    if (program.stack_size == 0 || program.stack_size > kMaxStackPerFrame) {
        return fail("prepare interpreter", "program",
                    fmt::format("stack size {} is not in 1..512", program.stack_size));
    }
    auto lands = [&](int64_t target) {
        return target >= 0 && static_cast<size_t>(target) < insns.size() && insns[target].op != Op::Filler;
    };
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        const Insn &i = insns[pc];
        bool jumps = (i.op >= Op::Ja && i.op <= Op::Jsle);
        if (jumps && !lands(isa::jump_target(pc, i))) {
            return refused(pc, fmt::format("jump to {} lands outside the program or inside lddw",
                                           isa::jump_target(pc, i)));
        }
        if (i.op == Op::CallLocal && !lands(static_cast<int64_t>(pc) + 1 + i.imm)) {
            return refused(pc, fmt::format("local call to pc{:+d} lands outside the program", i.imm));
        }
        if (i.op == Op::Call && (pc >= program.helper_by_slot.size() || !program.helper_by_slot[pc])) {
            return refused(pc, fmt::format("call to unresolved helper {}", i.imm));
        }
        bool lddw_pair = i.op == Op::LoadImm64 ? pc + 1 < insns.size() && insns[pc + 1].op == Op::Filler
                                                : i.op != Op::Filler || (pc > 0 && insns[pc - 1].op == Op::LoadImm64);
        if (!lddw_pair) {
            return refused(pc, "lddw without its second slot");
        }
    }
    if (insns.back().op != Op::Exit && insns.back().op != Op::Ja) {
        return refused(insns.size() - 1,
                       "the last instruction is neither exit nor a jump, so execution runs off the end");
    }
    return {};
}

class Interpreter final : public Executor {
public:
    explicit Interpreter(LinkedProgram program) : program_(std::move(program)) {}

    uint64_t run(void *ctx, uint64_t ctx_len) override
    {
        RunState &run = current_run();
        run = RunState{};
        run.xdp = ctx_len == 0 ? static_cast<XdpBuff *>(ctx) : nullptr;
        Machine machine(program_, run, ctx, ctx_len);
        return machine.execute();
    }

private:
    LinkedProgram program_;
};

} // namespace

Result<std::unique_ptr<Executor>> make_interpreter(const LinkedProgram &program)
{
    if (auto ok = check_structure(program); !ok) {
        return std::unexpected(ok.error());
    }
    return std::make_unique<Interpreter>(program);
}

} // namespace harmony::vm
