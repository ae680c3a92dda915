// harmony verify PROG.o [--program NAME] [--json] [--privileged]: runs Harmony's verifier
// and prints its log; exit 0 when accepted, 1 when refused, 2 when the object cannot be read.
#include "commands.hpp"

#include "host-runtime/verifier/verifier.hpp"

#include <fmt/format.h>
#include <memory>

namespace harmony::cli {

namespace {

struct VerifyOptions {
    std::string object;
    std::string program;
    bool json = false;
    bool privileged = false;
};

void run_verify(const VerifyOptions &options)
{
    verifier::Options rules;
    rules.privileged = options.privileged;
    auto report = verifier::verify_object(options.object, options.program, rules);
    if (!report) {
        fail_command(report.error().message(), 2);
    }
    if (options.json) {
        fmt::print("{}\n", verifier::report_json(*report));
    } else {
        fmt::print("{}", report->log);
    }
    if (!report->accepted) {
        throw CLI::RuntimeError(1);
    }
}

} // namespace

void add_verify_command(CLI::App &app)
{
    auto options = std::make_shared<VerifyOptions>();
    auto *cmd = app.add_subcommand("verify", "Prove a BPF program safe with Harmony's verifier, or say why not");
    cmd->add_option("program", options->object, "BPF object (e.g. build/bpf/dpi.bpf.o)")->required();
    cmd->add_option("--program", options->program, "only this program (function or section name)");
    cmd->add_flag("--json", options->json, "print the report as JSON");
    cmd->add_flag("--privileged", options->privileged,
                  "root's rules: allow pointer leaks, pointer arithmetic, uninitialised stack reads");
    cmd->footer("Exit status: 0 accepted, 1 refused, 2 unreadable object.\n"
                "Example: harmony verify build/bpf/dpi.bpf.o --json");
    cmd->callback([options] { run_verify(*options); });
}

} // namespace harmony::cli
