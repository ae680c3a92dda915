#include "cfg.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <set>

namespace harmony::verifier {

using isa::Op;

bool is_cond_jump(Op op)
{
    return op >= Op::Jeq && op <= Op::Jsle;
}

namespace {

using Graph = std::vector<std::vector<uint32_t>>;

std::expected<void, CfgError> check_target(std::span<const isa::Insn> insns, size_t pc, int64_t target)
{
    if (target < 0 || target >= static_cast<int64_t>(insns.size())) {
        return std::unexpected(
            CfgError{static_cast<int64_t>(pc), fmt::format("jump out of range from insn {} to {}", pc, target)});
    }
    if (insns[target].op == Op::Filler) {
        return std::unexpected(
            CfgError{static_cast<int64_t>(pc), fmt::format("jump into the middle of ldimm64 insn {}", target - 1)});
    }
    return {};
}

/// Successors within the function: a call continues after itself.
Graph successors(std::span<const isa::Insn> insns)
{
    Graph g(insns.size());
    for (size_t pc = 0; pc < insns.size(); pc++) {
        const isa::Insn &in = insns[pc];
        auto add = [&](int64_t t) {
            if (t >= 0 && t < static_cast<int64_t>(insns.size())) {
                g[pc].push_back(static_cast<uint32_t>(t));
            }
        };
        if (in.op == Op::Exit || in.op == Op::Filler) {
            continue;
        }
        if (in.op == Op::Ja) {
            add(isa::jump_target(pc, in));
        } else if (is_cond_jump(in.op)) {
            add(isa::jump_target(pc, in));
            add(pc + 1);
        } else {
            add(pc + (in.op == Op::LoadImm64 ? 2 : 1));
        }
    }
    return g;
}

/// Kosaraju, iteratively: marks every node that lies on a cycle.
std::vector<bool> nodes_on_cycles(const Graph &g)
{
    size_t n = g.size();
    std::vector<uint32_t> order;
    std::vector<bool> done(n, false);
    for (size_t root = 0; root < n; root++) {
        if (done[root]) {
            continue;
        }
        std::vector<std::pair<uint32_t, size_t>> stack{{static_cast<uint32_t>(root), 0}};
        done[root] = true;
        while (!stack.empty()) {
            auto &[v, i] = stack.back();
            if (i < g[v].size()) {
                uint32_t w = g[v][i++];
                if (!done[w]) {
                    done[w] = true;
                    stack.push_back({w, 0});
                }
            } else {
                order.push_back(v);
                stack.pop_back();
            }
        }
    }
    Graph rev(n);
    for (size_t v = 0; v < n; v++) {
        for (uint32_t w : g[v]) {
            rev[w].push_back(static_cast<uint32_t>(v));
        }
    }
    std::vector<int64_t> comp(n, -1);
    std::vector<size_t> comp_size;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        if (comp[*it] >= 0) {
            continue;
        }
        int64_t c = static_cast<int64_t>(comp_size.size());
        comp_size.push_back(0);
        std::vector<uint32_t> stack{*it};
        comp[*it] = c;
        while (!stack.empty()) {
            uint32_t v = stack.back();
            stack.pop_back();
            comp_size[c]++;
            for (uint32_t w : rev[v]) {
                if (comp[w] < 0) {
                    comp[w] = c;
                    stack.push_back(w);
                }
            }
        }
    }
    std::vector<bool> on_cycle(n, false);
    for (size_t v = 0; v < n; v++) {
        bool self_loop = std::find(g[v].begin(), g[v].end(), v) != g[v].end();
        on_cycle[v] = comp_size[comp[v]] > 1 || self_loop;
    }
    return on_cycle;
}

std::expected<void, CfgError> check_reachable(std::span<const isa::Insn> insns, const Graph &g,
                                              const std::set<uint32_t> &entries)
{
    std::vector<bool> seen(g.size(), false);
    std::vector<uint32_t> stack(entries.begin(), entries.end());
    for (uint32_t e : entries) {
        seen[e] = true;
    }
    while (!stack.empty()) {
        uint32_t v = stack.back();
        stack.pop_back();
        for (uint32_t w : g[v]) {
            if (!seen[w]) {
                seen[w] = true;
                stack.push_back(w);
            }
        }
    }
    for (size_t pc = 0; pc < g.size(); pc++) {
        if (!seen[pc] && insns[pc].op != Op::Filler) {
            return std::unexpected(CfgError{static_cast<int64_t>(pc), fmt::format("unreachable insn {}", pc)});
        }
    }
    return {};
}

/// Back edges found depth-first from each entry; each head's body is every node that
/// reaches a back-edge source without passing through the head.
std::map<uint32_t, std::vector<bool>> natural_loops(const Graph &g, const std::set<uint32_t> &entries)
{
    size_t n = g.size();
    std::vector<uint8_t> state(n, 0); // 0 new, 1 on stack, 2 done
    std::vector<std::pair<uint32_t, uint32_t>> back_edges;
    for (uint32_t entry : entries) {
        if (state[entry] != 0) {
            continue;
        }
        std::vector<std::pair<uint32_t, size_t>> stack{{entry, 0}};
        state[entry] = 1;
        while (!stack.empty()) {
            auto &[v, i] = stack.back();
            if (i < g[v].size()) {
                uint32_t w = g[v][i++];
                if (state[w] == 1) {
                    back_edges.push_back({v, w});
                } else if (state[w] == 0) {
                    state[w] = 1;
                    stack.push_back({w, 0});
                }
            } else {
                state[v] = 2;
                stack.pop_back();
            }
        }
    }
    Graph rev(n);
    for (size_t v = 0; v < n; v++) {
        for (uint32_t w : g[v]) {
            rev[w].push_back(static_cast<uint32_t>(v));
        }
    }
    std::map<uint32_t, std::vector<bool>> loops;
    for (auto [src, head] : back_edges) {
        auto &body = loops.try_emplace(head, std::vector<bool>(n, false)).first->second;
        body[head] = true;
        std::vector<uint32_t> work;
        if (!body[src]) {
            body[src] = true;
            work.push_back(src);
        }
        while (!work.empty()) {
            uint32_t v = work.back();
            work.pop_back();
            for (uint32_t p : rev[v]) {
                if (!body[p]) {
                    body[p] = true;
                    work.push_back(p);
                }
            }
        }
    }
    return loops;
}

std::expected<void, CfgError> check_no_recursion(const std::map<uint32_t, std::vector<uint32_t>> &calls)
{
    // Depth-first over the call graph; a function met again while on the stack is recursion.
    std::map<uint32_t, int> mark; // 1: on stack, 2: done
    std::function<std::expected<void, CfgError>(uint32_t)> visit = [&](uint32_t f) -> std::expected<void, CfgError> {
        mark[f] = 1;
        auto it = calls.find(f);
        if (it != calls.end()) {
            for (uint32_t callee : it->second) {
                if (mark[callee] == 1) {
                    return std::unexpected(
                        CfgError{callee, fmt::format("recursive call to the function at insn {}", callee)});
                }
                if (mark[callee] == 0) {
                    if (auto r = visit(callee); !r) {
                        return r;
                    }
                }
            }
        }
        mark[f] = 2;
        return {};
    };
    return visit(0);
}

} // namespace

std::expected<Cfg, CfgError> build_cfg(std::span<const isa::Insn> insns)
{
    size_t n = insns.size();
    if (n == 0) {
        return std::unexpected(CfgError{-1, "empty program"});
    }
    Cfg cfg;
    cfg.prune_point.assign(n, false);
    std::set<uint32_t> entries{0};
    for (size_t pc = 0; pc < n; pc++) {
        const isa::Insn &in = insns[pc];
        if (in.op == Op::LoadImm64 && in.pseudo == isa::kFunc) {
            // A callback's address (bpf_loop): the function it names is an entry too.
            int64_t target = static_cast<int64_t>(pc) + 1 + in.imm;
            if (auto ok = check_target(insns, pc, target); !ok) {
                return std::unexpected(ok.error());
            }
            entries.insert(static_cast<uint32_t>(target));
            cfg.callbacks.insert(static_cast<uint32_t>(target));
            cfg.prune_point[target] = true;
            continue;
        }
        if (in.op == Op::Ja || is_cond_jump(in.op) || in.op == Op::CallLocal) {
            int64_t target = in.op == Op::CallLocal ? static_cast<int64_t>(pc) + 1 + in.imm : isa::jump_target(pc, in);
            if (auto ok = check_target(insns, pc, target); !ok) {
                return std::unexpected(ok.error());
            }
            cfg.prune_point[target] = true;
            if (in.op == Op::CallLocal) {
                entries.insert(static_cast<uint32_t>(target));
            }
            if (is_cond_jump(in.op) && pc + 1 < n) {
                cfg.prune_point[pc + 1] = true;
            }
        }
    }
    Op last = insns[n - 1].op;
    if (last != Op::Exit && last != Op::Ja) {
        return std::unexpected(CfgError{static_cast<int64_t>(n - 1), "last insn is not an exit or jmp"});
    }
    cfg.func_of.assign(n, 0);
    for (size_t pc = 0; pc < n; pc++) {
        cfg.func_of[pc] = *std::prev(entries.upper_bound(static_cast<uint32_t>(pc)));
    }
    for (size_t pc = 0; pc < n; pc++) {
        const isa::Insn &in = insns[pc];
        if (in.op == Op::Ja || is_cond_jump(in.op)) {
            int64_t target = isa::jump_target(pc, in);
            if (cfg.func_of[target] != cfg.func_of[pc]) {
                return std::unexpected(CfgError{static_cast<int64_t>(pc),
                                                fmt::format("jump out of range from insn {} to {}", pc, target)});
            }
        }
        if (in.op == Op::CallLocal) {
            cfg.calls[cfg.func_of[pc]].push_back(static_cast<uint32_t>(pc + 1 + in.imm));
        }
        if (in.op == Op::LoadImm64 && in.pseudo == isa::kFunc) {
            // Stack depth: the function taking a callback's address is the one calling it.
            cfg.calls[cfg.func_of[pc]].push_back(static_cast<uint32_t>(pc + 1 + in.imm));
        }
        // A function must end before the next begins: falling into it is a jump out of range.
        bool falls_through = in.op != Op::Exit && in.op != Op::Ja;
        if (falls_through && pc + 1 < n && entries.contains(static_cast<uint32_t>(pc + 1)) && in.op != Op::LoadImm64) {
            return std::unexpected(
                CfgError{static_cast<int64_t>(pc), fmt::format("jump out of range from insn {} to {}", pc, pc + 1)});
        }
    }
    Graph g = successors(insns);
    if (auto ok = check_reachable(insns, g, entries); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = check_no_recursion(cfg.calls); !ok) {
        return std::unexpected(ok.error());
    }
    cfg.in_loop = nodes_on_cycles(g);
    cfg.loops = natural_loops(g, entries);
    return cfg;
}

} // namespace harmony::verifier
