// Entry points: structure checks, exploration, and the kernel-style log.
#include "verifier.hpp"

#include "cfg.hpp"
#include "context.hpp"
#include "explorer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace harmony::verifier {

namespace {

std::string rules_line(const Options &options)
{
    if (options.privileged) {
        return "rules: privileged (pointer leaks, pointer arithmetic and uninitialised stack reads allowed, as for "
               "root)";
    }
    return "rules: unprivileged (pointer leaks, pointer arithmetic beyond add/sub and uninitialised stack reads are "
           "refused; the kernel allows them to root)";
}

std::string stats_line(const Report &r, const Options &options)
{
    return fmt::format("processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {} pruned {}",
                       r.insns_processed, options.insn_limit, r.max_states_per_insn, r.total_states, r.peak_states,
                       r.pruned);
}

void write_log(Report &r, const Options &options)
{
    std::string log;
    if (r.refusal) {
        const Refusal &f = *r.refusal;
        if (f.pc >= 0) {
            if (!f.state.empty()) {
                log += fmt::format("{}: {}\n", f.pc, f.state);
            }
            log += fmt::format("{}: {}\n", f.pc, f.insn);
        }
        log += f.reason + "\n";
    }
    log += stats_line(r, options) + "\n";
    log += fmt::format("verification time {} usec\n",
                       std::chrono::duration_cast<std::chrono::microseconds>(r.time).count());
    log += fmt::format("stack depth {}\n", r.stack_depth);
    log += rules_line(options) + "\n";
    log += r.accepted ? "accepted\n" : "refused\n";
    r.log = std::move(log);
}

} // namespace

Report verify(const ProgramSection &program, std::span<const MapSpec> maps, const Options &options)
{
    auto start = std::chrono::steady_clock::now();
    Report report;
    const CtxLayout *ctx = ctx_layout(program.prog_type);
    if (!ctx && program.prog_type == 0) {
        ctx = options.raw_context == RawContext::Mbuf ? mbuf_layout() : raw_window_layout();
    }
    auto cfg = build_cfg(program.insns);
    if (!ctx) {
        report.refusal = Refusal{
            -1, "", fmt::format("program type {} is not supported by Harmony's verifier (XDP only)", program.prog_type),
            ""};
    } else if (!cfg) {
        const CfgError &e = cfg.error();
        std::string insn = e.pc >= 0 ? isa::disassemble(program.insns[e.pc]) : "";
        report.refusal = Refusal{e.pc, insn, e.reason, ""};
    } else {
        Explorer explorer(program, maps, options, std::move(*cfg), *ctx);
        explorer.run(report);
    }
    report.accepted = !report.refusal.has_value();
    report.time = std::chrono::steady_clock::now() - start;
    write_log(report, options);
    return report;
}

Result<Report> verify_object(const std::string &path, const std::string &name, const Options &options)
{
    auto image = load_program_image(path);
    if (!image) {
        return std::unexpected(image.error());
    }
    if (image->programs.empty()) {
        return fail("verify", path, "the object has no program");
    }
    Report last;
    bool found = false;
    for (const ProgramSection &p : image->programs) {
        if (!name.empty() && p.name != name && p.section != name) {
            continue;
        }
        found = true;
        last = verify(p, image->maps, options);
        last.log = fmt::format("program '{}' (section '{}'):\n", p.name, p.section) + last.log;
        if (!last.accepted) {
            return last;
        }
    }
    if (!found) {
        return fail("verify", path, fmt::format("no program named '{}'", name));
    }
    return last;
}

std::string report_json(const Report &r)
{
    nlohmann::json j;
    j["accepted"] = r.accepted;
    if (r.refusal) {
        j["pc"] = r.refusal->pc;
        j["insn"] = r.refusal->insn;
        j["reason"] = r.refusal->reason;
        j["state"] = r.refusal->state;
    }
    j["insns_processed"] = r.insns_processed;
    j["total_states"] = r.total_states;
    j["peak_states"] = r.peak_states;
    j["max_states_per_insn"] = r.max_states_per_insn;
    j["pruned"] = r.pruned;
    j["stack_depth"] = r.stack_depth;
    j["verification_time_usec"] = std::chrono::duration_cast<std::chrono::microseconds>(r.time).count();
    j["log"] = r.log;
    return j.dump(2);
}

} // namespace harmony::verifier
