#include "program_generator.hpp"

#include "host-runtime/isa/assembler.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <limits>

namespace harmony::jit::testing {

uint64_t ByteChoices::next()
{
    if (exhausted()) {
        return 0;
    }
    return bytes_[pos_++];
}

uint64_t test_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
    // r1 is the buffer pointer, whose address differs between runs: use what it points at.
    // Every argument changes the result, in a different way, so a misplaced one shows.
    uint64_t first_word = 0;
    std::memcpy(&first_word, reinterpret_cast<const void *>(r1), sizeof first_word);
    return (first_word * 3) ^ (r2 << 7) ^ (r3 * 0x9e3779b97f4a7c15ULL) ^ (r4 >> 3) ^ (r5 + 0x1234);
}

namespace {

constexpr std::array<uint8_t, 9> kDataRegs = {0, 2, 3, 4, 5, 6, 7, 8, 9};
constexpr std::array<const char *, 14> kAluNames = {"add", "sub", "mul", "div", "sdiv", "or",  "and",
                                                    "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"};
constexpr std::array<const char *, 11> kJumpNames = {"jeq", "jgt",  "jge", "jset", "jne", "jsgt",
                                                     "jsge", "jlt", "jle", "jslt", "jsle"};
constexpr std::array<const char *, 4> kSizeSuffix = {"b", "h", "w", "dw"};
constexpr std::array<uint8_t, 4> kSizes = {1, 2, 4, 8};

/// Writes the assembly of one function (main or the subprogram), unit by unit.
class FunctionWriter {
public:
    FunctionWriter(ChoiceSource &choices, std::string label_prefix, size_t units, bool may_call_local)
        : c_(choices), prefix_(std::move(label_prefix)), units_(units), may_call_local_(may_call_local)
    {
    }

    std::string write(std::initializer_list<uint8_t> regs_to_init)
    {
        prologue(regs_to_init);
        for (unit_ = 0; unit_ < units_ && !c_.exhausted(); ++unit_) {
            line("{}{}:", prefix_, unit_);
            random_unit();
        }
        if (may_call_local_ && !called_local_) { // the subprogram must be reachable
            line("call local sub");
        }
        for (; unit_ <= units_; ++unit_) { // a source that ran dry still needs every jump's label
            line("{}{}:", prefix_, unit_);
        }
        line("exit");
        return std::move(text_);
    }

private:
    template <typename... Args>
    void line(fmt::format_string<Args...> format, Args &&...args)
    {
        text_ += fmt::format(format, std::forward<Args>(args)...);
        text_ += '\n';
    }

    std::string reg() { return fmt::format("%r{}", kDataRegs[c_.below(kDataRegs.size())]); }

    int32_t imm()
    {
        switch (c_.below(8)) {
        case 0:
            return 0;
        case 1:
            return 1;
        case 2:
            return -1;
        case 3:
            return std::numeric_limits<int32_t>::min();
        case 4:
            return static_cast<int32_t>(c_.below(64));
        case 5:
            return -static_cast<int32_t>(c_.below(64));
        default:
            return static_cast<int32_t>(c_.next() << 24 ^ c_.next() << 16 ^ c_.next() << 8 ^ c_.next());
        }
    }

    uint64_t imm64()
    {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i) {
            v = v << 8 | (c_.next() & 0xff);
        }
        return c_.below(4) == 0 ? static_cast<uint64_t>(static_cast<int64_t>(imm())) : v;
    }

    void prologue(std::initializer_list<uint8_t> regs_to_init)
    {
        line("stxdw [%r10{}], %r1", kPointerSlot);
        for (int off = kPointerSlot - 8; off >= kStackWindowLow; off -= 8) {
            line("stdw [%r10{}], {}", off, imm());
        }
        for (uint8_t r : regs_to_init) {
            line("lddw %r{}, {:#x}", r, imm64());
        }
    }

    /// A memory operand: [r1+off] inside the buffer or [r10+off] inside the stack window;
    /// `aligned` for atomics.
    std::string memory(uint8_t size, bool aligned)
    {
        if (c_.below(2) == 0) {
            const uint32_t off = aligned ? size * c_.below(kMemorySize / size) : c_.below(kMemorySize - size + 1);
            return fmt::format("[%r1+{}]", off);
        }
        const uint32_t window = static_cast<uint32_t>(kPointerSlot - kStackWindowLow);
        const int32_t off = kStackWindowLow + static_cast<int32_t>(aligned ? size * c_.below(window / size)
                                                                           : c_.below(window - size + 1));
        return fmt::format("[%r10{}]", off);
    }

    std::string forward_label()
    {
        const size_t reach = std::min<size_t>(8, units_ - unit_);
        return fmt::format("{}{}", prefix_, unit_ + 1 + c_.below(reach));
    }

    void random_unit()
    {
        switch (c_.below(20)) {
        case 0 ... 4:
            return alu();
        case 5:
            return unary();
        case 6:
            return line("lddw {}, {:#x}", reg(), imm64());
        case 7 ... 8:
            return load();
        case 9 ... 10:
            return store();
        case 11 ... 12:
            return atomic();
        case 13 ... 15:
            return conditional_jump();
        case 16:
            return c_.below(2) ? line("ja {}", forward_label()) : line("ja32 {}", forward_label());
        case 17:
            return helper_call();
        case 18:
            return may_call_local_ ? local_call() : alu();
        default:
            return c_.below(4) == 0 ? line("exit") : alu();
        }
    }

    void alu()
    {
        const char *name = kAluNames[c_.below(kAluNames.size())];
        const char *width = c_.below(2) ? "32" : "";
        const bool shift = std::string_view(name).ends_with("sh"); // lsh, rsh, arsh
        if (c_.below(2)) {
            return line("{}{} {}, {}", name, width, reg(), reg());
        }
        const int32_t value = shift ? static_cast<int32_t>(c_.below(*width ? 32 : 64)) : imm();
        line("{}{} {}, {}", name, width, reg(), value);
    }

    void unary()
    {
        static constexpr std::array<const char *, 17> kNames = {
            "neg",     "neg32",   "movsx864", "movsx1664", "movsx3264", "movsx832", "movsx1632", "le16", "le32",
            "le64",    "be16",    "be32",     "be64",      "swap16",    "swap32",   "swap64",    "neg"};
        const char *name = kNames[c_.below(kNames.size())];
        if (std::string_view(name).starts_with("movsx")) {
            return line("{} {}, {}", name, reg(), reg());
        }
        line("{} {}", name, reg());
    }

    void load()
    {
        const size_t s = c_.below(4);
        const bool sign_extend = s < 3 && c_.below(2);
        line("ldx{}{} {}, {}", sign_extend ? "s" : "", kSizeSuffix[s], reg(), memory(kSizes[s], false));
    }

    void store()
    {
        const size_t s = c_.below(4);
        if (c_.below(2)) {
            return line("st{} {}, {}", kSizeSuffix[s], memory(kSizes[s], false), imm());
        }
        line("stx{} {}, {}", kSizeSuffix[s], memory(kSizes[s], false), reg());
    }

    void atomic()
    {
        static constexpr std::array<const char *, 10> kOps = {
            "add", "or", "and", "xor", "fetch add", "fetch or", "fetch and", "fetch xor", "xchg", "cmpxchg"};
        const bool wide = c_.below(2);
        line("lock {}{} {}, {}", kOps[c_.below(kOps.size())], wide ? "" : "32", memory(wide ? 8 : 4, true), reg());
    }

    void conditional_jump()
    {
        const char *name = kJumpNames[c_.below(kJumpNames.size())];
        const char *width = c_.below(2) ? "32" : "";
        const std::string source = c_.below(2) ? reg() : std::to_string(imm());
        line("{}{} {}, {}, {}", name, width, reg(), source, forward_label());
    }

    void local_call()
    {
        called_local_ = true;
        line("call local sub");
    }

    // r1-r5 are clobbered by a call: restore the buffer pointer and give r2-r5 known values.
    void helper_call()
    {
        line("call {}", kTestHelperId);
        line("ldxdw %r1, [%r10{}]", kPointerSlot);
        for (int r = 2; r <= 5; ++r) {
            line("mov %r{}, {}", r, imm());
        }
    }

    ChoiceSource &c_;
    std::string prefix_;
    size_t units_;
    bool may_call_local_;
    size_t unit_ = 0;
    bool called_local_ = false;
    std::string text_;
};

} // namespace

GeneratedProgram generate_program(ChoiceSource &choices, size_t max_units)
{
    GeneratedProgram program;
    const bool with_subprogram = choices.below(2) == 0;
    const size_t main_units = 1 + choices.below(max_units);
    const size_t sub_units = with_subprogram ? 1 + choices.below(max_units) : 0;
    // One choice seeds the buffer, so a fuzzer's bytes go to the instructions.
    SeededChoices memory_choices(choices.next());
    program.memory.resize(kMemorySize);
    for (auto &byte : program.memory) {
        byte = static_cast<uint8_t>(memory_choices.next());
    }
    program.text = FunctionWriter(choices, "m", main_units, with_subprogram).write({0, 3, 4, 5, 6, 7, 8, 9});
    if (with_subprogram) {
        program.text += "sub:\n";
        program.text += FunctionWriter(choices, "s", sub_units, false).write({0, 6, 7, 8, 9});
    }
    return program;
}

Result<vm::LinkedProgram> link_test_program(const std::string &text)
{
    auto raw = isa::assemble(text);
    if (!raw) {
        return std::unexpected(raw.error());
    }
    auto insns = isa::decode(*raw);
    if (!insns) {
        return std::unexpected(insns.error());
    }
    vm::LinkedProgram program;
    program.insns = std::move(*insns);
    program.helper_by_slot.resize(program.insns.size());
    for (size_t pc = 0; pc < program.insns.size(); ++pc) {
        if (program.insns[pc].op == isa::Op::Call) {
            program.helper_by_slot[pc] = test_helper;
        }
    }
    return program;
}

} // namespace harmony::jit::testing
