// check_differential_program(): the generator's promises, checked on the decoded program,
// so the fuzzer never runs raw memory accesses the rules do not allow.
#include "program_generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

namespace harmony::jit::testing {

namespace {

using isa::Op;

constexpr uint8_t kBufferReg = 1;
constexpr uint8_t kFrameReg = 10;
constexpr int kWindowStores = (kPointerSlot - kStackWindowLow) / 8;

bool is_pointer_reg(uint8_t r) { return r == kBufferReg || r == kFrameReg; }
bool is_jump(Op op) { return op >= Op::Ja && op <= Op::Jsle; }

struct Rules {
    const vm::LinkedProgram &program;
    uint32_t memory_size;
    std::set<size_t> function_starts;

    size_t function_end(size_t pc) const
    {
        auto next = function_starts.upper_bound(pc);
        return next == function_starts.end() ? program.insns.size() : *next;
    }

    bool restores_pointer(size_t pc) const
    {
        const isa::Insn &i = program.insns[pc];
        return pc > 0 && program.insns[pc - 1].op == Op::Call && i.op == Op::Load && i.size == 8 &&
               i.dst == kBufferReg && i.src == kFrameReg && i.off == kPointerSlot;
    }

    std::optional<std::string> check_access(uint8_t base, int16_t off, uint8_t size, bool aligned) const
    {
        if (aligned && off % size != 0) {
            return fmt::format("atomic access at offset {} is not {}-byte aligned", off, size);
        }
        if (base == kBufferReg && off >= 0 && off + size <= static_cast<int>(memory_size)) {
            return std::nullopt;
        }
        if (base == kFrameReg && off >= kStackWindowLow && off + size <= kPointerSlot) {
            return std::nullopt;
        }
        return fmt::format("access r{}{:+} size {} is outside the buffer and the stack window", base, off, size);
    }

    std::optional<std::string> check_prologue(size_t start) const
    {
        const auto &insns = program.insns;
        if (start + kWindowStores >= insns.size()) {
            return "function too short for its prologue";
        }
        const isa::Insn &save = insns[start];
        if (save.op != Op::Store || save.size != 8 || save.dst != kFrameReg || save.src != kBufferReg ||
            save.off != kPointerSlot) {
            return "function does not start by saving r1 at [r10-8]";
        }
        for (int k = 1; k <= kWindowStores; ++k) {
            const isa::Insn &init = insns[start + k];
            const bool initialises_slot = init.op == Op::StoreImm && init.size == 8 && init.dst == kFrameReg &&
                                          init.off == kPointerSlot - 8 * k;
            if (!initialises_slot) {
                return "function does not initialise its stack window";
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> check_control(size_t pc, const isa::Insn &i) const
    {
        if (is_jump(i.op)) {
            const int64_t target = isa::jump_target(pc, i);
            if (target <= static_cast<int64_t>(pc) || target >= static_cast<int64_t>(function_end(pc))) {
                return "jump is not forward inside its function";
            }
            if (i.op != Op::Ja && (is_pointer_reg(i.dst) || (i.src_is_reg && is_pointer_reg(i.src)))) {
                return "jump compares a pointer";
            }
        }
        if (i.op == Op::CallLocal && static_cast<int64_t>(pc) + 1 + i.imm <= static_cast<int64_t>(pc)) {
            return "local call is not forward";
        }
        const bool restored = pc + 1 < program.insns.size() && restores_pointer(pc + 1);
        if (i.op == Op::Call && (i.imm != kTestHelperId || !restored)) {
            return "helper call is not the test helper followed by r1's restore";
        }
        if (i.op == Op::LoadAbs || i.op == Op::LoadInd || i.op == Op::CallReg) {
            return "instruction outside the differential subset";
        }
        return std::nullopt;
    }

    std::optional<std::string> check_data(size_t pc, const isa::Insn &i) const
    {
        switch (i.op) {
        case Op::Load:
        case Op::LoadSx:
            if (is_pointer_reg(i.dst) && !restores_pointer(pc)) {
                return "load overwrites r1 or r10";
            }
            return restores_pointer(pc) ? std::nullopt : check_access(i.src, i.off, i.size, false);
        case Op::Store:
            if (is_pointer_reg(i.src)) {
                return "store writes a pointer";
            }
            return check_access(i.dst, i.off, i.size, false);
        case Op::StoreImm:
            return check_access(i.dst, i.off, i.size, false);
        case Op::Atomic:
            if (is_pointer_reg(i.src)) {
                return "atomic operand is a pointer";
            }
            return check_access(i.dst, i.off, i.size, true);
        case Op::LoadImm64:
            return is_pointer_reg(i.dst) ? std::optional<std::string>("lddw overwrites r1 or r10") : std::nullopt;
        default:
            break;
        }
        if (i.op >= Op::Add && i.op <= Op::Bswap &&
            (is_pointer_reg(i.dst) || (i.src_is_reg && is_pointer_reg(i.src)))) {
            return "ALU operation on r1 or r10";
        }
        return std::nullopt;
    }
};

} // namespace

Result<void> check_differential_program(const vm::LinkedProgram &program, uint32_t memory_size)
{
    Rules rules{program, memory_size, {0}};
    for (size_t pc = 0; pc < program.insns.size(); ++pc) {
        if (program.insns[pc].op == Op::CallLocal) {
            rules.function_starts.insert(static_cast<size_t>(static_cast<int64_t>(pc) + 1 + program.insns[pc].imm));
        }
    }
    for (size_t start : rules.function_starts) {
        if (start >= program.insns.size()) {
            return fail("differential rules", fmt::format("function at {}", start), "outside the program");
        }
        if (auto why = rules.check_prologue(start)) {
            return fail("differential rules", fmt::format("function at {}", start), *why);
        }
    }
    for (size_t pc = 0; pc < program.insns.size(); ++pc) {
        const isa::Insn &i = program.insns[pc];
        const bool prologue_save = rules.function_starts.contains(pc);
        auto why = rules.check_control(pc, i);
        if (!why && !prologue_save) {
            why = rules.check_data(pc, i);
        }
        if (why) {
            return fail("differential rules", fmt::format("insn {} ({})", pc, isa::disassemble(i)), *why);
        }
    }
    return {};
}

} // namespace harmony::jit::testing
