// What a program needs, read off its decoded instructions (isa::Insn, decoded once by the
// shared decoder) and the maps it references.
#include "capabilities.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace harmony::caps {
namespace {

using isa::Insn;
using isa::Op;

constexpr uint8_t kFramePointer = 10;
constexpr uint8_t kCtxArg = 1;

/// struct xdp_md fields by offset (include/uapi/linux/bpf.h).
constexpr std::pair<uint32_t, const char *> kXdpMdFields[] = {
    {0, "data"}, {4, "data_end"}, {8, "data_meta"}, {12, "ingress_ifindex"}, {16, "rx_queue_index"},
    {20, "egress_ifindex"},
};

std::string xdp_md_field(uint32_t offset)
{
    for (auto [off, name] : kXdpMdFields) {
        if (off == offset) {
            return name;
        }
    }
    return fmt::format("xdp_md+{}", offset);
}

std::string insn_text(const Insn &insn)
{
#ifdef HAVE_HARMONY_ISA
    return isa::disassemble(insn);
#else
    return fmt::format("opcode {:#04x}", insn.raw.code);
#endif
}

bool is_alu(Op op)
{
    return op <= Op::Bswap;
}

bool writes_dst(const Insn &insn)
{
    return is_alu(insn.op) || insn.op == Op::Load || insn.op == Op::LoadSx || insn.op == Op::LoadImm64 ||
           insn.op == Op::LoadAbs || insn.op == Op::LoadInd;
}

/// The instruction classes one instruction uses (at most three).
std::vector<InsnClass> classes_of(const Insn &insn)
{
    std::vector<InsnClass> out;
    if (is_alu(insn.op) && !insn.is64 && insn.op != Op::Le && insn.op != Op::Be) {
        out.push_back(InsnClass::Alu32);
    }
    switch (insn.op) {
    case Op::MovSx: out.push_back(InsnClass::MovSx); break;
    case Op::SDiv:
    case Op::SMod: out.push_back(InsnClass::SignedDiv); break;
    case Op::LoadSx: out.push_back(InsnClass::LoadSx); break;
    case Op::Bswap: out.push_back(InsnClass::Bswap); break;
    case Op::Atomic:
        out.push_back(insn.atomic == isa::AtomicOp::Add ? InsnClass::AtomicAdd : InsnClass::AtomicFetch);
        break;
    case Op::LoadAbs:
    case Op::LoadInd: out.push_back(InsnClass::LegacyPacket); break;
    case Op::CallLocal: out.push_back(InsnClass::BpfCall); break;
    case Op::CallReg: out.push_back(InsnClass::CallReg); break;
    case Op::Ja:
        if (!insn.is64) {
            out.push_back(InsnClass::Ja32);
        }
        break;
    case Op::LoadImm64:
        if (insn.pseudo == isa::kMapFd || insn.pseudo == isa::kMapIdx) {
            out.push_back(InsnClass::MapReference);
        } else if (insn.pseudo == isa::kMapValue || insn.pseudo == isa::kMapIdxValue) {
            out.push_back(InsnClass::MapValueReference);
        }
        break;
    default: break;
    }
    if (isa::is_conditional_jump(insn.op) && !insn.is64) {
        out.push_back(InsnClass::Jmp32);
    }
    return out;
}

/// Registers known to hold the context pointer or a stack address (r10 + offset), tracked
/// along the instruction order: a linear approximation, as clang reads the context early
/// and addresses the stack through r10 or one copy of it.
struct RegisterTracker {
    std::map<uint8_t, bool> ctx;
    std::map<uint8_t, int64_t> stack{{kFramePointer, 0}};

    void enter_function(bool main)
    {
        ctx.clear();
        stack = {{kFramePointer, 0}};
        if (main) {
            ctx[kCtxArg] = true;
        }
    }

    void step(const Insn &insn)
    {
        if (insn.op == Op::Mov && insn.is64 && insn.src_is_reg) {
            bool was_ctx = ctx.contains(insn.src);
            auto sp = stack.find(insn.src);
            std::optional<int64_t> stack_off = sp == stack.end() ? std::nullopt : std::optional(sp->second);
            forget(insn.dst);
            if (was_ctx) {
                ctx[insn.dst] = true;
            }
            if (stack_off) {
                stack[insn.dst] = *stack_off;
            }
            return;
        }
        if (insn.op == Op::Add && insn.is64 && !insn.src_is_reg && stack.contains(insn.dst) &&
            insn.dst != kFramePointer) {
            stack[insn.dst] += insn.imm;
            return;
        }
        if (insn.op == Op::Call || insn.op == Op::CallLocal) {
            for (uint8_t r = 0; r <= 5; ++r) {
                forget(r);
            }
            return;
        }
        if (writes_dst(insn)) {
            forget(insn.dst);
        }
    }

    void forget(uint8_t reg)
    {
        ctx.erase(reg);
        if (reg != kFramePointer) {
            stack.erase(reg);
        }
    }

    /// The stack offset `insn` touches, when it addresses the stack.
    std::optional<int64_t> stack_access(const Insn &insn) const
    {
        uint8_t base = 0;
        switch (insn.op) {
        case Op::Load:
        case Op::LoadSx: base = insn.src; break;
        case Op::Store:
        case Op::StoreImm:
        case Op::Atomic: base = insn.dst; break;
        default: return std::nullopt;
        }
        auto it = stack.find(base);
        if (it == stack.end()) {
            return std::nullopt;
        }
        return it->second + insn.off;
    }
};

class Scanner {
public:
    Scanner(std::span<const Insn> insns, std::span<const MapSpec> maps) : insns_(insns), maps_(maps) {}

    Result<Requirements> run()
    {
        req_.insn_count = insns_.size();
        find_functions();
        size_t fn = 0;
        for (size_t pc = 0; pc < insns_.size(); ++pc) {
            if (fn < functions_.size() && functions_[fn] == pc) {
                tracker_.enter_function(fn == 0);
                ++fn;
            }
            if (auto err = visit(pc); !err) {
                return std::unexpected(err.error());
            }
        }
        req_.stack_bytes = deepest_stack(0, 0);
        return std::move(req_);
    }

private:
    void find_functions()
    {
        functions_.push_back(0);
        for (size_t pc = 0; pc < insns_.size(); ++pc) {
            if (insns_[pc].op == Op::CallLocal) {
                int64_t target = static_cast<int64_t>(pc) + 1 + insns_[pc].imm;
                if (target >= 0 && static_cast<size_t>(target) < insns_.size()) {
                    functions_.push_back(static_cast<size_t>(target));
                }
            }
        }
        std::sort(functions_.begin(), functions_.end());
        functions_.erase(std::unique(functions_.begin(), functions_.end()), functions_.end());
        frames_.assign(functions_.size(), 0);
    }

    size_t function_of(size_t pc) const
    {
        auto it = std::upper_bound(functions_.begin(), functions_.end(), pc);
        return static_cast<size_t>(it - functions_.begin()) - 1;
    }

    Result<void> visit(size_t pc)
    {
        const Insn &insn = insns_[pc];
        if (insn.op == Op::Filler) {
            return {};
        }
        for (InsnClass cls : classes_of(insn)) {
            note_class(cls, pc);
        }
        if (insn.op == Op::Call) {
            note_helper(static_cast<uint32_t>(insn.imm), pc);
        }
        if (insn.op == Op::LoadImm64 && insn.pseudo != isa::kImm && insn.pseudo != isa::kBtfId &&
            insn.pseudo != isa::kFunc) {
            if (auto err = note_map(insn.imm, pc); !err) {
                return err;
            }
        }
        if ((insn.op == Op::Ja || isa::is_conditional_jump(insn.op)) && isa::jump_target(pc, insn) <= static_cast<int64_t>(pc)) {
            ++req_.loops;
            note_class(InsnClass::Loop, pc);
        }
        if ((insn.op == Op::Load) && tracker_.ctx.contains(insn.src)) {
            note_ctx_field(static_cast<uint32_t>(insn.off), pc);
        }
        if (auto off = tracker_.stack_access(insn); off && *off < 0) {
            uint32_t &frame = frames_[function_of(pc)];
            frame = std::max(frame, static_cast<uint32_t>(-*off));
        }
        tracker_.step(insn);
        return {};
    }

    void note_class(InsnClass cls, size_t pc)
    {
        for (InsnUse &use : req_.insns) {
            if (use.cls == cls) {
                ++use.count;
                return;
            }
        }
        req_.insns.push_back(InsnUse{cls, pc, 1, insn_text(insns_[pc])});
    }

    void note_helper(uint32_t id, size_t pc)
    {
        for (HelperUse &use : req_.helpers) {
            if (use.id == id) {
                ++use.count;
                return;
            }
        }
        req_.helpers.push_back(HelperUse{id, helper_name(id), pc, 1});
    }

    Result<void> note_map(int32_t index, size_t pc)
    {
        if (index < 0 || static_cast<size_t>(index) >= maps_.size()) {
            return fail("read requirements", fmt::format("insn {}", pc),
                        fmt::format("map reference {} but the object has {} maps", index, maps_.size()));
        }
        const MapInfo &info = maps_[static_cast<size_t>(index)].info;
        bool known = std::any_of(req_.maps.begin(), req_.maps.end(), [&](const MapInfo &m) { return m.name == info.name; });
        if (!known) {
            req_.maps.push_back(info);
        }
        return {};
    }

    void note_ctx_field(uint32_t offset, size_t pc)
    {
        for (const CtxFieldUse &use : req_.ctx_fields) {
            if (use.offset == offset) {
                return;
            }
        }
        req_.ctx_fields.push_back(CtxFieldUse{offset, xdp_md_field(offset), pc});
    }

    /// Frames along the deepest call chain from function `fn` (the verifier's own rule:
    /// a callee's frame stacks on its caller's), each rounded up to 8 bytes.
    uint32_t deepest_stack(size_t fn, int depth)
    {
        if (depth > 8) { // the kernel allows 8 frames; deeper means a cycle
            return 0;
        }
        uint32_t deepest_callee = 0;
        size_t end = fn + 1 < functions_.size() ? functions_[fn + 1] : insns_.size();
        for (size_t pc = functions_[fn]; pc < end; ++pc) {
            if (insns_[pc].op == Op::CallLocal) {
                size_t callee = function_of(static_cast<size_t>(static_cast<int64_t>(pc) + 1 + insns_[pc].imm));
                deepest_callee = std::max(deepest_callee, deepest_stack(callee, depth + 1));
            }
        }
        return (frames_[fn] + 7) / 8 * 8 + deepest_callee;
    }

    std::span<const Insn> insns_;
    std::span<const MapSpec> maps_;
    Requirements req_;
    RegisterTracker tracker_;
    std::vector<size_t> functions_; ///< entry pcs, sorted; [0] is the program's entry
    std::vector<uint32_t> frames_;  ///< stack bytes per function
};

} // namespace

Result<Requirements> scan_requirements(std::span<const Insn> insns, std::span<const MapSpec> maps)
{
    if (insns.empty()) {
        return fail("read requirements", "program", "no instructions");
    }
    return Scanner(insns, maps).run();
}

Result<Requirements> read_requirements(const ProgramImage &image, std::string_view program)
{
    if (image.programs.empty()) {
        return fail("read requirements", image.path, "the object has no program");
    }
    const ProgramSection *section = program.empty() ? &image.programs.front() : image.program(program);
    if (!section) {
        return fail("read requirements", image.path, fmt::format("no program named '{}'", program));
    }
    auto req = scan_requirements(section->insns, image.maps);
    if (!req) {
        Error e = req.error();
        e.which = fmt::format("{} prog '{}' {}", image.path, section->name, e.which);
        return std::unexpected(e);
    }
    req->object = image.path;
    req->program = section->name;
    req->section = section->section;
    req->prog_type = section->prog_type;
    return req;
}

Result<Requirements> read_requirements(const std::string &path, std::string_view program)
{
#ifdef HAVE_HARMONY_LOADER
    auto image = load_program_image(path);
    if (!image) {
        return std::unexpected(image.error());
    }
    return read_requirements(*image, program);
#else
    (void)program;
    return fail("read requirements", path, "built without the shared loader (host-runtime/loader)");
#endif
}

nlohmann::json to_json(const Requirements &req)
{
    nlohmann::json insns = nlohmann::json::array();
    for (const InsnUse &u : req.insns) {
        insns.push_back({{"class", insn_class_name(u.cls)}, {"first_pc", u.pc}, {"count", u.count}, {"insn", u.text}});
    }
    nlohmann::json helpers = nlohmann::json::array();
    for (const HelperUse &h : req.helpers) {
        helpers.push_back({{"id", h.id}, {"name", h.name}, {"first_pc", h.pc}, {"count", h.count}});
    }
    nlohmann::json maps = nlohmann::json::array();
    for (const MapInfo &m : req.maps) {
        maps.push_back({{"name", m.name}, {"type", map_type_name(m.type)}, {"key_size", m.key_size},
                        {"value_size", m.value_size}, {"max_entries", m.max_entries}});
    }
    nlohmann::json ctx = nlohmann::json::array();
    for (const CtxFieldUse &f : req.ctx_fields) {
        ctx.push_back({{"field", f.name}, {"offset", f.offset}, {"first_pc", f.pc}});
    }
    return {{"object", req.object}, {"program", req.program}, {"section", req.section},
            {"prog_type", req.prog_type}, {"insn_count", req.insn_count}, {"insns", insns},
            {"helpers", helpers}, {"maps", maps}, {"loops", req.loops}, {"ctx_fields", ctx},
            {"stack_bytes", req.stack_bytes}};
}

} // namespace harmony::caps
