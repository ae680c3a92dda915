// The assembler: each mnemonic is a row of a table (opcode byte, operand shape, fixed
// offset or immediate), so adding a mnemonic is adding a row.
#include "host-runtime/isa/assembler.hpp"

#include "host-runtime/isa/opcodes.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <unordered_map>

namespace harmony::isa {
namespace {

using namespace bits;

enum class Shape : uint8_t {
    Alu,       ///< op dst, src|imm
    AluUnary,  ///< op dst
    MovSx,     ///< op dst, src
    LoadMem,   ///< op dst, [src+off]
    StoreImm,  ///< op [dst+off], imm
    StoreReg,  ///< op [dst+off], src
    Lddw,      ///< op dst, imm64
    LegacyAbs, ///< op imm
    LegacyInd, ///< op src, imm
    Jump,      ///< op dst, src|imm, target
    Ja,        ///< op target
    Ja32,      ///< op target (in imm)
    Call,      ///< call imm | call local target | call helper imm | call %reg
    Exit,
    Lock,      ///< lock [fetch] op [dst+off], src
};

struct Mnemonic {
    uint8_t code; ///< without the source flag; Alu and Jump add it from the operand
    Shape shape;
    int16_t off = 0;
    int32_t imm = 0;
};

using MnemonicTable = std::unordered_map<std::string, Mnemonic>;

void add_alu_rows(MnemonicTable &t)
{
    struct Row {
        const char *name;
        uint8_t op;
        int16_t off;
    };
    constexpr Row rows[] = {{"add", kAdd, 0}, {"sub", kSub, 0}, {"mul", kMul, 0},  {"div", kDiv, 0},
                            {"sdiv", kDiv, 1}, {"or", kOr, 0},   {"and", kAnd, 0},  {"lsh", kLsh, 0},
                            {"rsh", kRsh, 0}, {"mod", kMod, 0}, {"smod", kMod, 1}, {"xor", kXor, 0},
                            {"mov", kMov, 0}, {"arsh", kArsh, 0}};
    for (const Row &r : rows) {
        t[r.name] = {uint8_t(kAlu64 | r.op), Shape::Alu, r.off};
        t[std::string(r.name) + "64"] = {uint8_t(kAlu64 | r.op), Shape::Alu, r.off};
        t[std::string(r.name) + "32"] = {uint8_t(kAlu | r.op), Shape::Alu, r.off};
    }
    t["neg"] = t["neg64"] = {uint8_t(kAlu64 | kNeg), Shape::AluUnary};
    t["neg32"] = {uint8_t(kAlu | kNeg), Shape::AluUnary};
    for (int from : {8, 16, 32}) {
        t[fmt::format("movsx{}64", from)] = {uint8_t(kAlu64 | kMov | kX), Shape::MovSx, int16_t(from)};
        if (from != 32) {
            t[fmt::format("movsx{}32", from)] = {uint8_t(kAlu | kMov | kX), Shape::MovSx, int16_t(from)};
        }
    }
    for (int width : {16, 32, 64}) {
        t[fmt::format("le{}", width)] = {uint8_t(kAlu | kEnd | kToLe), Shape::AluUnary, 0, width};
        t[fmt::format("be{}", width)] = {uint8_t(kAlu | kEnd | kToBe), Shape::AluUnary, 0, width};
        t[fmt::format("swap{}", width)] = {uint8_t(kAlu64 | kEnd), Shape::AluUnary, 0, width};
        t[fmt::format("bswap{}", width)] = {uint8_t(kAlu64 | kEnd), Shape::AluUnary, 0, width};
    }
}

void add_memory_rows(MnemonicTable &t)
{
    struct Size {
        const char *suffix;
        uint8_t field;
    };
    constexpr Size sizes[] = {{"b", kB}, {"h", kH}, {"w", kW}, {"dw", kDw}};
    for (const Size &s : sizes) {
        t[fmt::format("ldx{}", s.suffix)] = {uint8_t(kLdx | kModeMem | s.field), Shape::LoadMem};
        t[fmt::format("st{}", s.suffix)] = {uint8_t(kSt | kModeMem | s.field), Shape::StoreImm};
        t[fmt::format("stx{}", s.suffix)] = {uint8_t(kStx | kModeMem | s.field), Shape::StoreReg};
        if (s.field != kDw) {
            t[fmt::format("ldxs{}", s.suffix)] = {uint8_t(kLdx | kModeMemSx | s.field), Shape::LoadMem};
            t[fmt::format("ldabs{}", s.suffix)] = {uint8_t(kLd | kModeAbs | s.field), Shape::LegacyAbs};
            t[fmt::format("ldind{}", s.suffix)] = {uint8_t(kLd | kModeInd | s.field), Shape::LegacyInd};
        }
    }
    t["lddw"] = {uint8_t(kLd | kModeImm | kDw), Shape::Lddw};
    t["lock"] = {uint8_t(kStx | kModeAtomic), Shape::Lock};
}

void add_jump_rows(MnemonicTable &t)
{
    struct Row {
        const char *name;
        uint8_t op;
    };
    constexpr Row rows[] = {{"jeq", kJeq},   {"jgt", kJgt},   {"jge", kJge}, {"jset", kJset},
                            {"jne", kJne},   {"jsgt", kJsgt}, {"jsge", kJsge}, {"jlt", kJlt},
                            {"jle", kJle},   {"jslt", kJslt}, {"jsle", kJsle}};
    for (const Row &r : rows) {
        t[r.name] = {uint8_t(kJmp | r.op), Shape::Jump};
        t[std::string(r.name) + "32"] = {uint8_t(kJmp32 | r.op), Shape::Jump};
    }
    t["ja"] = {uint8_t(kJmp | kJa), Shape::Ja};
    t["ja32"] = t["gotol"] = {uint8_t(kJmp32 | kJa), Shape::Ja32};
    t["call"] = {uint8_t(kJmp | kCall), Shape::Call};
    t["exit"] = {uint8_t(kJmp | kExit), Shape::Exit};
}

const MnemonicTable &mnemonics()
{
    static const MnemonicTable table = [] {
        MnemonicTable t;
        add_alu_rows(t);
        add_memory_rows(t);
        add_jump_rows(t);
        return t;
    }();
    return table;
}

std::string_view trim(std::string_view s)
{
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) {
        return {};
    }
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> out;
    while (!s.empty()) {
        size_t at = s.find(sep);
        out.push_back(trim(s.substr(0, at)));
        if (at == std::string_view::npos) {
            break;
        }
        s.remove_prefix(at + 1);
    }
    return out;
}

using Parsed = std::expected<int64_t, std::string>;

// A number as the suite writes them: decimal or 0x-hex, with an optional sign. Hex values
// may use the full unsigned width of the field (0xffffffff is -1 in a 32-bit field).
Parsed parse_number(std::string_view text, int bits)
{
    std::string_view s = text;
    bool negative = false;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        negative = s[0] == '-';
        s.remove_prefix(1);
    }
    bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex) {
        s.remove_prefix(2);
    }
    uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude, hex ? 16 : 10);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::unexpected(fmt::format("invalid number '{}'", text));
    }
    uint64_t signed_limit = uint64_t(1) << (bits - 1);
    uint64_t unsigned_max = bits == 64 ? std::numeric_limits<uint64_t>::max() : (uint64_t(1) << bits) - 1;
    uint64_t limit = negative ? signed_limit : (hex || bits == 64) ? unsigned_max : signed_limit - 1;
    if (magnitude > limit) {
        return std::unexpected(fmt::format("{} does not fit in {} bits", text, bits));
    }
    return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

std::expected<uint8_t, std::string> parse_register(std::string_view text)
{
    std::string_view s = text;
    if (s.starts_with('%')) {
        s.remove_prefix(1);
    }
    unsigned n = 0;
    const char *end = s.data() + s.size();
    if (s.size() < 2 || s[0] != 'r' || std::from_chars(s.data() + 1, end, n).ptr != end || n > 10) {
        return std::unexpected(fmt::format("invalid register '{}'", text));
    }
    return static_cast<uint8_t>(n);
}

bool is_register(std::string_view text) { return text.starts_with("%r") || text.starts_with("r"); }

struct MemOperand {
    uint8_t reg;
    int16_t off;
};

std::expected<MemOperand, std::string> parse_memory(std::string_view text)
{
    if (!text.starts_with('[') || !text.ends_with(']')) {
        return std::unexpected(fmt::format("expected a memory operand [%rN+off], got '{}'", text));
    }
    std::string_view inner = trim(text.substr(1, text.size() - 2));
    size_t sign = inner.find_first_of("+-");
    auto reg = parse_register(trim(inner.substr(0, sign)));
    if (!reg) {
        return std::unexpected(reg.error());
    }
    if (sign == std::string_view::npos) {
        return MemOperand{*reg, 0};
    }
    std::string off_text(inner.substr(sign, 1));
    off_text += trim(inner.substr(sign + 1));
    auto off = parse_number(off_text, 16);
    if (!off) {
        return std::unexpected("offset " + off.error());
    }
    return MemOperand{*reg, static_cast<int16_t>(*off)};
}

struct Line {
    size_t number;
    std::string_view mnemonic;
    std::vector<std::string_view> operands;
};

// Assembles one program; jump targets naming labels are resolved once every label is known.
class Assembler {
public:
    Result<std::vector<RawInsn>> run(std::string_view source, size_t first_line)
    {
        size_t number = first_line;
        for (std::string_view rest = source; !rest.empty(); ++number) {
            size_t eol = rest.find('\n');
            std::string_view text = rest.substr(0, eol);
            rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
            if (auto why = line(number, text)) {
                return fail("assemble", fmt::format("line {}", number), *why);
            }
        }
        return resolve();
    }

private:
    struct Fixup {
        size_t slot;
        size_t line;
        std::string label;
        bool in_imm;
    };

    std::vector<RawInsn> out_;
    std::unordered_map<std::string, size_t> labels_;
    std::optional<size_t> first_exit_;
    std::vector<Fixup> fixups_;

    using Why = std::optional<std::string>;

    Why line(size_t number, std::string_view text)
    {
        text = trim(text.substr(0, text.find('#')));
        while (!text.empty()) {
            size_t word_end = text.find_first_of(" \t");
            std::string_view word = text.substr(0, word_end);
            if (!word.ends_with(':')) {
                break;
            }
            std::string label(word.substr(0, word.size() - 1));
            if (!labels_.emplace(label, out_.size()).second) {
                return fmt::format("duplicate label '{}'", label);
            }
            text = word_end == std::string_view::npos ? std::string_view{} : trim(text.substr(word_end));
        }
        if (text.empty()) {
            return {};
        }
        size_t word_end = text.find_first_of(" \t");
        Line l{number, text.substr(0, word_end), {}};
        std::string_view operands =
            word_end == std::string_view::npos ? std::string_view{} : trim(text.substr(word_end));
        if (!operands.empty()) {
            l.operands = split(operands, ',');
        }
        return instruction(l);
    }

    Why instruction(const Line &l)
    {
        auto it = mnemonics().find(std::string(l.mnemonic));
        if (it == mnemonics().end()) {
            return fmt::format("unknown mnemonic '{}'", l.mnemonic);
        }
        if (it->second.shape == Shape::Exit && !first_exit_) {
            first_exit_ = out_.size();
        }
        return encode(l, it->second);
    }

    static Why count(const Line &l, size_t n)
    {
        if (l.operands.size() != n) {
            return fmt::format("'{}' takes {} operand{}, got {}", l.mnemonic, n, n == 1 ? "" : "s", l.operands.size());
        }
        return {};
    }

    RawInsn &emit(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0)
    {
        RawInsn raw{};
        raw.code = code;
        raw.dst = dst & 0xf;
        raw.src = src & 0xf;
        raw.off = off;
        raw.imm = imm;
        out_.push_back(raw);
        return out_.back();
    }

    // A jump target: "+N" / "-N" / "N" is a slot offset, anything else a label.
    Why target(const Line &l, std::string_view text, bool in_imm)
    {
        if (!text.empty() && (text[0] == '+' || text[0] == '-' || std::isdigit(static_cast<unsigned char>(text[0])))) {
            auto off = parse_number(text, in_imm ? 32 : 16);
            if (!off) {
                return "jump offset " + off.error();
            }
            if (in_imm) {
                out_.back().imm = static_cast<int32_t>(*off);
            } else {
                out_.back().off = static_cast<int16_t>(*off);
            }
            return {};
        }
        fixups_.push_back({out_.size() - 1, l.number, std::string(text), in_imm});
        return {};
    }

    Why encode(const Line &l, const Mnemonic &m)
    {
        switch (m.shape) {
        case Shape::Alu: return alu(l, m);
        case Shape::AluUnary: return unary(l, m);
        case Shape::MovSx: return movsx(l, m);
        case Shape::LoadMem: return load(l, m);
        case Shape::StoreImm:
        case Shape::StoreReg: return store(l, m);
        case Shape::Lddw: return lddw(l, m);
        case Shape::LegacyAbs:
        case Shape::LegacyInd: return legacy(l, m);
        case Shape::Jump: return jump(l, m);
        case Shape::Ja:
        case Shape::Ja32: return ja(l, m);
        case Shape::Call: return call(l, m);
        case Shape::Exit: return count(l, 0) ? count(l, 0) : (emit(m.code), Why{});
        case Shape::Lock: return lock(l, m);
        }
        return "unhandled mnemonic";
    }

    // "dst, src" or "dst, imm": the source flag follows the second operand.
    Why reg_or_imm(std::string_view text, uint8_t code, uint8_t dst, int16_t off)
    {
        if (is_register(text)) {
            auto src = parse_register(text);
            if (!src) {
                return src.error();
            }
            emit(code | kX, dst, *src, off);
            return {};
        }
        auto imm = parse_number(text, 32);
        if (!imm) {
            return "immediate " + imm.error();
        }
        emit(code | kK, dst, 0, off, static_cast<int32_t>(*imm));
        return {};
    }

    Why alu(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 2)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        if (!dst) {
            return dst.error();
        }
        return reg_or_imm(l.operands[1], m.code, *dst, m.off);
    }

    Why unary(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 1)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        if (!dst) {
            return dst.error();
        }
        emit(m.code, *dst, 0, 0, m.imm);
        return {};
    }

    Why movsx(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 2)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        auto src = dst ? parse_register(l.operands[1]) : dst;
        if (!src) {
            return src.error();
        }
        emit(m.code, *dst, *src, m.off);
        return {};
    }

    Why load(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 2)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        if (!dst) {
            return dst.error();
        }
        auto mem = parse_memory(l.operands[1]);
        if (!mem) {
            return mem.error();
        }
        emit(m.code, *dst, mem->reg, mem->off);
        return {};
    }

    Why store(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 2)) {
            return why;
        }
        auto mem = parse_memory(l.operands[0]);
        if (!mem) {
            return mem.error();
        }
        if (m.shape == Shape::StoreReg) {
            auto src = parse_register(l.operands[1]);
            if (!src) {
                return src.error();
            }
            emit(m.code, mem->reg, *src, mem->off);
            return {};
        }
        auto imm = parse_number(l.operands[1], 32);
        if (!imm) {
            return "immediate " + imm.error();
        }
        emit(m.code, mem->reg, 0, mem->off, static_cast<int32_t>(*imm));
        return {};
    }

    Why lddw(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 2)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        if (!dst) {
            return dst.error();
        }
        auto imm = parse_number(l.operands[1], 64);
        if (!imm) {
            return "immediate " + imm.error();
        }
        auto value = static_cast<uint64_t>(*imm);
        emit(m.code, *dst, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(value)));
        emit(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(value >> 32)));
        return {};
    }

    Why legacy(const Line &l, const Mnemonic &m)
    {
        size_t n = m.shape == Shape::LegacyInd ? 2 : 1;
        if (auto why = count(l, n)) {
            return why;
        }
        uint8_t src = 0;
        if (n == 2) {
            auto reg = parse_register(l.operands[0]);
            if (!reg) {
                return reg.error();
            }
            src = *reg;
        }
        auto imm = parse_number(l.operands[n - 1], 32);
        if (!imm) {
            return "immediate " + imm.error();
        }
        emit(m.code, 0, src, 0, static_cast<int32_t>(*imm));
        return {};
    }

    Why jump(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 3)) {
            return why;
        }
        auto dst = parse_register(l.operands[0]);
        if (!dst) {
            return dst.error();
        }
        if (auto why = reg_or_imm(l.operands[1], m.code, *dst, 0)) {
            return why;
        }
        return target(l, l.operands[2], false);
    }

    Why ja(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 1)) {
            return why;
        }
        emit(m.code);
        return target(l, l.operands[0], m.shape == Shape::Ja32);
    }

    // call N | call helper N | call local target | call %rN
    Why call(const Line &l, const Mnemonic &m)
    {
        if (auto why = count(l, 1)) {
            return why;
        }
        std::vector<std::string_view> words = split(l.operands[0], ' ');
        std::erase(words, std::string_view{});
        if (words.size() == 2 && words[0] == "local") {
            emit(m.code, 0, 1);
            return target(l, words[1], true);
        }
        if (words.size() == 2 && words[0] == "helper") {
            words.erase(words.begin());
        }
        if (words.size() != 1) {
            return fmt::format("cannot read call operand '{}'", l.operands[0]);
        }
        if (is_register(words[0])) {
            auto reg = parse_register(words[0]);
            if (!reg) {
                return reg.error();
            }
            emit(m.code | kX, *reg);
            return {};
        }
        auto imm = parse_number(words[0], 32);
        if (!imm) {
            return "helper id " + imm.error();
        }
        emit(m.code, 0, 0, 0, static_cast<int32_t>(*imm));
        return {};
    }

    // lock [fetch] op[32] [dst+off], src
    Why lock(const Line &l, const Mnemonic &m)
    {
        if (l.operands.size() != 2) {
            return fmt::format("invalid number of operands for lock: expected 'lock [fetch] op [dst+off], src'");
        }
        std::vector<std::string_view> words = split(l.operands[0], ' ');
        std::erase(words, std::string_view{});
        bool fetch = !words.empty() && words[0] == "fetch";
        if (fetch) {
            words.erase(words.begin());
        }
        if (words.size() != 2) {
            return fmt::format("cannot read atomic operation '{}'", l.operands[0]);
        }
        std::string_view op = words[0];
        bool wide = !op.ends_with("32");
        if (!wide) {
            op.remove_suffix(2);
        }
        auto imm = atomic_imm(op, fetch);
        if (!imm) {
            return fmt::format("unknown atomic operation '{}{}'", fetch ? "fetch " : "", words[0]);
        }
        auto mem = parse_memory(words[1]);
        if (!mem) {
            return mem.error();
        }
        auto src = parse_register(l.operands[1]);
        if (!src) {
            return src.error();
        }
        emit(m.code | (wide ? kDw : kW), mem->reg, *src, mem->off, *imm);
        return {};
    }

    static std::optional<int32_t> atomic_imm(std::string_view op, bool fetch)
    {
        int32_t f = fetch ? kFetch : 0;
        if (op == "add") {
            return kAdd | f;
        }
        if (op == "or") {
            return kOr | f;
        }
        if (op == "and") {
            return kAnd | f;
        }
        if (op == "xor") {
            return kXor | f;
        }
        if (op == "xchg") {
            return kAtomicXchg;
        }
        if (op == "cmpxchg") {
            return kAtomicCmpXchg;
        }
        return {};
    }

    Result<std::vector<RawInsn>> resolve()
    {
        if (first_exit_ && !labels_.contains("exit")) {
            labels_["exit"] = *first_exit_;
        }
        for (const Fixup &f : fixups_) {
            auto it = labels_.find(f.label);
            if (it == labels_.end()) {
                return fail("assemble", fmt::format("line {}", f.line), fmt::format("undefined label '{}'", f.label));
            }
            int64_t delta = static_cast<int64_t>(it->second) - static_cast<int64_t>(f.slot) - 1;
            if (f.in_imm) {
                out_[f.slot].imm = static_cast<int32_t>(delta);
            } else if (delta < std::numeric_limits<int16_t>::min() || delta > std::numeric_limits<int16_t>::max()) {
                return fail("assemble", fmt::format("line {}", f.line),
                            fmt::format("label '{}' out of reach", f.label));
            } else {
                out_[f.slot].off = static_cast<int16_t>(delta);
            }
        }
        if (out_.empty()) {
            return fail("assemble", "program", "no instructions");
        }
        return std::move(out_);
    }
};

} // namespace

Result<std::vector<RawInsn>> assemble(std::string_view source, size_t first_line)
{
    return Assembler{}.run(source, first_line);
}

} // namespace harmony::isa
