// `harmony place PROG.o [--iface IF] [--profile F] [--policy a,b,c] [--json]`: where the
// program would run, best first, and why every other target is left out.
#include "capabilities/capabilities.hpp"
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace harmony::cli {
namespace {

struct PlaceArgs {
    std::string program;
    std::string section;
    std::string interface;
    std::string profile;
    std::string policy;
    bool json = false;
};

void run_place(const PlaceArgs &args)
{
    caps::PlaceOptions options;
    options.interface = args.interface;
    if (!args.policy.empty()) {
        auto policy = caps::Policy::parse(args.policy);
        if (!policy) {
            fail_command(policy.error().message(), 2);
        }
        options.policy = *policy;
    }
    options.section = args.section;
    options.profile = args.profile;
    auto placement = caps::place_program(args.program, options);
    if (!placement) {
        fail_command(placement.error().message());
    }
    if (args.json) {
        nlohmann::json doc = caps::to_json(*placement);
        if (auto req = caps::read_requirements(args.program, args.section)) {
            doc["requirements"] = caps::to_json(*req);
        }
        fmt::print("{}\n", doc.dump(2));
    } else {
        fmt::print("{}", placement->text());
    }
    if (placement->candidates.empty()) {
        fail_command(fmt::format("no target can run {}", placement->program), 3);
    }
}

} // namespace

void add_place_command(CLI::App &app)
{
    auto args = std::make_shared<PlaceArgs>();
    CLI::App *cmd = app.add_subcommand("place", "Decide where a BPF program runs, and say why");
    cmd->add_option("program", args->program, "BPF object (*.bpf.o)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--prog", args->section, "Program (function or section) in the object; the first by default");
    cmd->add_option("--iface", args->interface, "Interface the XDP targets would attach to");
    cmd->add_option("--profile", args->profile, "Capability profile (JSON) instead of probing this machine")
        ->check(CLI::ExistingFile);
    cmd->add_option("--policy", args->policy,
                    "Targets by preference, e.g. host,dpdk (default xdp-offload,xdp-native,dpdk,xdp-generic,host)");
    cmd->add_flag("--json", args->json, "Print the decision as JSON");
    cmd->footer("Example: harmony place build/bpf/dpi.bpf.o --iface eth0\n"
                "Example: harmony place build/bpf/dpi.bpf.o --profile host.profile.json --policy host,dpdk --json");
    cmd->callback([args] { run_place(*args); });
}

} // namespace harmony::cli
