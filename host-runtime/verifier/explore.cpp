// The worklist: states wait at join points, lowest instruction first, so that all the
// paths of one loop iteration arrive before any goes on; then they are merged and run on.
#include "explorer.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace harmony::verifier {

namespace {

constexpr size_t kMergeTarget = 8;  ///< states kept apart at one pc before joins are forced
constexpr size_t kSeenPerInsn = 64; ///< states remembered per pc for pruning

} // namespace

Explorer::Explorer(const ProgramSection &program, std::span<const MapSpec> maps, const Options &options, Cfg cfg,
                   const CtxLayout &ctx)
    : program_(program), insns_(program.insns), maps_(maps), options_(options), cfg_(std::move(cfg)), ctx_(ctx),
      seen_(program.insns.size()), visits_(program.insns.size(), 0)
{
}

State Explorer::initial_state() const
{
    State s;
    s.frames.resize(1);
    s.top().regs[1] = Reg::pointer(Kind::Ctx);
    if (&ctx_ == raw_window_layout()) {
        s.top().regs[1] = Reg::pointer(Kind::Mem);
        s.top().regs[1].mem_size = options_.raw_window;
    }
    s.top().regs[10] = Reg{.kind = Kind::Stack, .val = Scalar::constant(0)};
    return s;
}

bool Explorer::fail(std::string reason)
{
    error_ = std::move(reason);
    return false;
}

bool Explorer::read_ok(const State &s, int regno)
{
    if (!s.top().regs[regno].readable()) {
        return fail(fmt::format("R{} !read_ok", regno));
    }
    return true;
}

void Explorer::push(uint32_t from, uint32_t pc, State s)
{
    auto &iters = s.iterations;
    std::erase_if(iters, [&](const auto &it) { return !cfg_.loops.at(it.first)[pc]; });
    if (auto loop = cfg_.loops.find(pc); loop != cfg_.loops.end()) {
        auto it = std::find_if(iters.begin(), iters.end(), [&](const auto &x) { return x.first == pc; });
        if (it == iters.end()) {
            iters.push_back({pc, 0});
        } else if (loop->second[from]) {
            it->second++;
        }
    }
    pending_[pc].push_back(std::move(s));
    pending_count_++;
    report_->peak_states = std::max<uint64_t>(report_->peak_states, pending_count_);
}

std::vector<State> Explorer::merge(std::vector<State> states)
{
    std::vector<State> out;
    for (State &s : states) {
        bool merged = false;
        for (State &o : out) {
            if (join(o, s, false, id_gen_, o)) {
                merged = true;
                break;
            }
        }
        if (!merged) {
            out.push_back(std::move(s));
        }
    }
    // Too many shapes at one point: join them anyway; kinds that disagree become unreadable.
    while (out.size() > kMergeTarget) {
        State last = std::move(out.back());
        out.pop_back();
        bool merged = false;
        for (State &o : out) {
            if (join(o, last, true, id_gen_, o)) {
                merged = true;
                break;
            }
        }
        if (!merged) {
            out.push_back(std::move(last));
            break;
        }
    }
    return out;
}

bool Explorer::prunable(uint32_t pc, const State &s) const
{
    if (cfg_.in_loop[pc]) {
        return false;
    }
    for (const Frame &f : s.frames) {
        if (f.callsite != UINT32_MAX && cfg_.in_loop[f.callsite]) {
            return false;
        }
    }
    return true;
}

bool Explorer::repeats_itself(uint32_t pc, const State &s)
{
    // The same state back at its loop head a later iteration: the path can go round forever.
    // (Refusing here only saves time: such a loop would also exhaust the budget.)
    constexpr size_t kHistory = 4;
    if (!cfg_.loops.contains(pc)) {
        return false;
    }
    auto &history = head_history_[pc];
    for (const State &old : history) {
        if (old.iterations != s.iterations && covers(old, s) && covers(s, old)) {
            return true;
        }
    }
    if (history.size() == kHistory) {
        history.erase(history.begin());
    }
    history.push_back(s);
    return false;
}

void Explorer::refuse(uint32_t pc, const State &at)
{
    failed_ = true;
    report_->refusal = Refusal{pc, isa::disassemble(insns_[pc]), error_, state_text(at)};
}

void Explorer::run_block(uint32_t pc, State s)
{
    const State entry = s;
    const uint32_t entry_pc = pc;
    const uint32_t entry_ids = id_gen_;
    while (true) {
        if (++report_->insns_processed > options_.insn_limit) {
            auto head = std::max_element(visits_.begin(), visits_.end());
            uint32_t loop_pc = static_cast<uint32_t>(head - visits_.begin());
            error_ =
                fmt::format("BPF program is too large. Processed {} insn; the loop at insn {} was entered {} times "
                            "without every path leaving it (unbounded loop?)",
                            report_->insns_processed - 1, loop_pc, *head);
            refuse(loop_pc, s);
            return;
        }
        visits_[pc]++;
        std::optional<Next> next = step(s, pc);
        if (!next) {
            // Replay the block up to pc so the log shows the state before the instruction.
            State before = entry;
            id_gen_ = entry_ids; // the replay hands out the same ids as the run it repeats
            for (uint32_t p = entry_pc; p != pc;) {
                p = step(before, p)->pc;
            }
            refuse(pc, before);
            return;
        }
        if (next->kind == Next::Stop) {
            return;
        }
        uint32_t from = pc;
        pc = next->pc;
        if (cfg_.prune_point[pc]) {
            push(from, pc, std::move(s));
            return;
        }
    }
}

std::map<uint32_t, std::vector<State>>::iterator Explorer::next_ready()
{
    // A loop head waits while states are still inside its body, so that one iteration's
    // paths all arrive before the next iteration starts and merge into one state.
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        auto loop = cfg_.loops.find(it->first);
        if (loop == cfg_.loops.end()) {
            return it;
        }
        const std::vector<bool> &body = loop->second;
        bool waiting = std::any_of(pending_.begin(), pending_.end(),
                                   [&](const auto &other) { return other.first != it->first && body[other.first]; });
        if (!waiting) {
            return it;
        }
    }
    return pending_.begin();
}

void Explorer::run(Report &report)
{
    report_ = &report;
    push(0, 0, initial_state());
    while (!pending_.empty() && !failed_) {
        auto node = pending_.extract(next_ready());
        uint32_t pc = node.key();
        pending_count_ -= node.mapped().size();
        for (State &s : merge(std::move(node.mapped()))) {
            if (prunable(pc, s)) {
                auto &seen = seen_[pc];
                if (std::any_of(seen.begin(), seen.end(), [&](const State &old) { return covers(old, s); })) {
                    report.pruned++;
                    continue;
                }
                if (seen.size() < kSeenPerInsn) {
                    seen.push_back(s);
                    report.total_states++;
                    report.max_states_per_insn = std::max<uint64_t>(report.max_states_per_insn, seen.size());
                }
            } else {
                report.total_states++;
            }
            if (repeats_itself(pc, s)) {
                error_ = fmt::format(
                    "infinite loop detected at insn {}: the state repeats from one iteration to the next", pc);
                refuse(pc, s);
                return;
            }
            run_block(pc, std::move(s));
            if (failed_) {
                return;
            }
        }
    }
    check_stack_depth();
}

std::optional<Next> Explorer::step(State &s, uint32_t pc)
{
    using isa::Op;
    const isa::Insn &in = insns_[pc];
    bool ok = true;
    if (isa::is_conditional_jump(in.op)) {
        branch(s, pc, in);
        return failed_ || !error_.empty() ? std::nullopt : std::optional(Next{Next::Stop, 0});
    }
    switch (in.op) {
    case Op::LoadImm64: return ld_imm64(s, pc, in) ? std::optional(Next{Next::Go, pc + 2}) : std::nullopt;
    case Op::Load:
    case Op::LoadSx:
    case Op::Store:
    case Op::StoreImm: ok = memory(s, in); break;
    case Op::Atomic: ok = atomic(s, in); break;
    case Op::LoadAbs:
    case Op::LoadInd: ok = legacy_packet_load(s, in); break;
    case Op::Ja: return Next{Next::Go, static_cast<uint32_t>(isa::jump_target(pc, in))};
    case Op::Call: ok = call_helper(s, pc, in); break;
    case Op::CallLocal: return call_local(s, pc);
    case Op::CallReg: return fail("callx (call by register) is not supported"), std::nullopt;
    case Op::Exit: return exit(s, pc);
    case Op::Filler: return fail("invalid bpf_ld_imm64 insn (second slot executed)"), std::nullopt;
    default: ok = alu(s, in); break;
    }
    return ok ? std::optional(Next{Next::Go, pc + 1}) : std::nullopt;
}

// BPF_LD_[ABS|IND], as rte_bpf runs them on an mbuf: the runtime bounds-checks each load
// and ends the program with 0 when it fails, so only the operands need proving. Like the
// kernel, r6 must hold the context and r1-r5 are clobbered.
bool Explorer::legacy_packet_load(State &s, const isa::Insn &in)
{
    if (&ctx_ != mbuf_layout()) {
        return fail("BPF_LD_[ABS|IND] instructions not allowed for this program type");
    }
    const Reg &r6 = s.reg(6);
    if (r6.kind != Kind::Ctx || r6.off != 0 || !r6.val.is_const() || r6.val.umin != 0) {
        return fail("at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    }
    if (in.op == isa::Op::LoadInd) {
        if (!read_ok(s, in.src)) {
            return false;
        }
        if (s.reg(in.src).kind != Kind::Scalar) {
            return fail(fmt::format("R{} pointer used as BPF_LD_IND offset", in.src));
        }
    }
    for (int r = 1; r <= 5; ++r) {
        s.reg(r) = Reg{};
    }
    s.reg(0) = Reg::scalar(Scalar::of_width(in.size));
    return true;
}

std::optional<Next> Explorer::exit(State &s, uint32_t pc)
{
    if (!read_ok(s, 0)) {
        return std::nullopt;
    }
    Reg r0 = s.reg(0);
    if (s.top().callback) {
        return exit_callback(s);
    }
    if (s.frames.size() > 1) {
        uint8_t frameno = static_cast<uint8_t>(s.frames.size() - 1);
        if (r0.kind == Kind::Stack && r0.frame == frameno) {
            return fail("cannot return stack pointer to the caller"), std::nullopt;
        }
        uint32_t callsite = s.top().callsite;
        s.frames.pop_back();
        s.for_each_reg([&](Reg &r) {
            if (r.kind == Kind::Stack && r.frame == frameno) {
                r = Reg{};
            }
        });
        s.reg(0) = r0;
        for (int i = 1; i <= 5; i++) {
            s.reg(i) = Reg{};
        }
        return Next{Next::Go, callsite + 1};
    }
    if (r0.is_pointer() && !options_.privileged) {
        return fail("R0 leaks addr as return value (unprivileged rule)"), std::nullopt;
    }
    if (!s.refs.empty()) {
        return fail(fmt::format("Unreleased reference id={} alloc_insn={}", s.refs[0].id, s.refs[0].pc)), std::nullopt;
    }
    (void)pc;
    return Next{Next::Stop, 0};
}

std::optional<Next> Explorer::exit_callback(State &s)
{
    const Reg &r0 = s.reg(0);
    if (r0.kind != Kind::Scalar || r0.val.umax > 1) {
        return fail(fmt::format("At callback return the register R0 has value {} should have been in [0, 1]",
                                r0.kind == Kind::Scalar ? r0.val.text() : kind_name(r0.kind))),
               std::nullopt;
    }
    Frame callback = s.top();
    uint8_t frameno = static_cast<uint8_t>(s.frames.size() - 1);
    s.frames.pop_back();
    s.for_each_reg([&](Reg &r) {
        if (r.kind == Kind::Stack && r.frame == frameno) {
            r = Reg{};
        }
    });
    // Another iteration starts from the caller's state as this one left it; covering
    // (pruning at the callback's entry) ends the unrolling once an iteration adds nothing.
    if (!enter_callback(s, callback.callsite, callback.func, callback.callback_ctx, true)) {
        return std::nullopt;
    }
    s.reg(0) = Reg::scalar(Scalar::unknown()); // the iterations run, or an error code
    for (int i = 1; i <= 5; i++) {
        s.reg(i) = Reg{};
    }
    return Next{Next::Go, callback.callsite + 1};
}

std::optional<Next> Explorer::call_local(State &s, uint32_t pc)
{
    if (s.frames.size() >= kMaxFrames) {
        return fail(fmt::format("the call stack of {} frames is too deep", s.frames.size() + 1)), std::nullopt;
    }
    uint32_t target = static_cast<uint32_t>(pc + 1 + insns_[pc].imm);
    Frame callee;
    for (int i = 1; i <= 5; i++) {
        callee.regs[i] = s.reg(i);
    }
    callee.regs[10] =
        Reg{.kind = Kind::Stack, .val = Scalar::constant(0), .frame = static_cast<uint8_t>(s.frames.size())};
    callee.callsite = pc;
    callee.func = target;
    s.frames.push_back(callee);
    return Next{Next::Go, target};
}

bool Explorer::check_stack_depth()
{
    // As the kernel with its JIT on: each frame rounded up to 16 bytes, summed along the
    // deepest call chain.
    std::function<uint32_t(uint32_t, int)> deepest = [&](uint32_t func, int depth) -> uint32_t {
        uint32_t own = (func_depth_[func] + 15) / 16 * 16;
        uint32_t below = 0;
        if (depth < kMaxFrames) {
            if (auto it = cfg_.calls.find(func); it != cfg_.calls.end()) {
                for (uint32_t callee : it->second) {
                    below = std::max(below, deepest(callee, depth + 1));
                }
            }
        }
        return own + below;
    };
    uint32_t total = deepest(0, 1);
    report_->stack_depth = func_depth_[0];
    if (!cfg_.calls.empty()) {
        report_->stack_depth = total;
    }
    if (total > kStackSize) {
        failed_ = true;
        report_->refusal =
            Refusal{-1, "", fmt::format("combined stack size of the call chain is {}. Too large", total), ""};
        return false;
    }
    return true;
}

} // namespace harmony::verifier
