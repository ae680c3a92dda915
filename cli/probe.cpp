// `harmony probe [--iface IF] [--dpdk-port DEV] [--json] [--save F]`: what every target can do here and now.
#include "capabilities/capabilities.hpp"
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>

namespace harmony::cli {
namespace {

struct ProbeArgs {
    std::vector<std::string> interfaces;
    std::vector<std::string> dpdk_ports;
    bool json = false;
    bool no_offload_attempt = false;
    std::string save;
};

std::string state(const caps::Probe &p)
{
    return p.yes() ? "yes" : p.no() ? "no" : "unknown";
}

void print_probe(const char *name, const caps::Probe &p)
{
    fmt::print("  {:<22} {:<8} {}\n", name, state(p), p.detail);
}

void print_engine(const caps::EngineCaps &e)
{
    std::string missing;
    for (const auto &[cls, p] : e.insns) {
        if (p.no()) {
            missing += fmt::format(" {}", caps::insn_class_name(cls));
        }
    }
    fmt::print("  {:<22} {}\n", "engine", e.name);
    fmt::print("  {:<22} {}\n", "instructions refused", missing.empty() ? " none" : missing);
    if (e.helpers_known) {
        fmt::print("  {:<22} {}\n", "helpers", e.helpers.size());
    }
    if (e.map_types_known) {
        std::string types;
        for (uint32_t t : e.map_types) {
            types += " " + caps::map_type_name(t);
        }
        fmt::print("  {:<22}{}\n", "map types", types);
    }
    if (e.max_insns) {
        fmt::print("  {:<22} {}\n", "max instructions", e.max_insns);
    }
}

void print_text(const caps::Capabilities &c)
{
    fmt::print("kernel {}\n", c.kernel.release);
    print_probe("bpf()", c.kernel.bpf_syscall);
    print_probe("JIT", c.kernel.jit);
    print_probe("JIT hardening", c.kernel.jit_hardened);
    print_probe("BTF", c.kernel.btf);
    print_probe("large programs", c.kernel.large_programs);
    print_engine(c.kernel.xdp);
    for (const caps::InterfaceCaps &i : c.interfaces) {
        fmt::print("interface {} (ifindex {})\n", i.name, i.ifindex);
        print_probe("driver", i.driver);
        std::string features;
        for (const std::string &f : caps::xdp_feature_names(i.xdp_feature_bits)) {
            features += " " + f;
        }
        print_probe("xdp-features", i.xdp_features);
        fmt::print("  {:<22}{}\n", "", features);
        fmt::print("  {:<22} rx {} tx {}\n", "queues", i.rx_queues, i.tx_queues);
        fmt::print("  {:<22} driver {} generic {} hw {}\n", "attached prog ids", i.attached.driver_prog,
                   i.attached.generic_prog, i.attached.hw_prog);
        print_probe("native XDP", i.native_xdp);
        print_probe("hardware offload", i.hw_offload);
    }
    fmt::print("dpdk {}\n", c.dpdk.version);
    print_probe("PMD directory", c.dpdk.pmd_dir);
    print_probe("hugepages", c.dpdk.hugepages);
    print_probe("EAL possible", c.dpdk.eal_possible);
    print_probe("rte_bpf JIT", c.dpdk.rte_bpf_jit);
    print_engine(c.dpdk.rte_bpf);
    for (const caps::DpdkPortCaps &p : c.dpdk.ports) {
        fmt::print("  port {} (driver {}, rx queues {})\n", p.name, p.driver, p.rx_queues);
        fmt::print("    rte_flow: steering {} ({}), drop {} ({})\n", state(p.steering), p.steering.detail,
                   state(p.drop), p.drop.detail);
    }
    fmt::print("hyperscan {}\n", c.hyperscan.version);
    print_probe("valid platform", c.hyperscan.valid_platform);
    fmt::print("host runtime\n");
    print_probe("JIT", c.host.jit);
    print_engine(c.host.vm);
}

void run_probe(const ProbeArgs &args)
{
    caps::ProbeOptions options;
    options.interfaces = args.interfaces;
    options.attempt_hw_offload = !args.no_offload_attempt;
    if (!args.dpdk_ports.empty()) {
        options.dpdk_ports = caps::dpdk_port_probe(args.dpdk_ports);
    }
    auto found = caps::probe(options);
    if (!found) {
        fail_command(found.error().message());
    }
    if (found->dpdk.ports.size() != args.dpdk_ports.size()) {
        const auto &notes = found->dpdk.rte_bpf.notes;
        fail_command(notes.empty() ? "the DPDK port probe failed" : notes.back());
    }
    if (!args.save.empty()) {
        if (auto saved = caps::save_profile(*found, args.save); !saved) {
            fail_command(saved.error().message());
        }
    }
    if (args.json) {
        fmt::print("{}\n", caps::to_json(*found).dump(2));
    } else {
        print_text(*found);
    }
}

} // namespace

void add_probe_command(CLI::App &app)
{
    auto args = std::make_shared<ProbeArgs>();
    CLI::App *cmd = app.add_subcommand("probe", "Probe what every target can do here (kernel, NICs, DPDK, host)");
    cmd->add_option("--iface", args->interfaces, "Interface(s) to probe")->take_all();
    cmd->add_option("--dpdk-port", args->dpdk_ports,
                    "DPDK device(s) whose rte_flow support to probe: a vdev with its arguments "
                    "(net_tap0,iface=htap0) or a PCI address; starts the EAL")
        ->take_all();
    cmd->add_flag("--json", args->json, "Print the capabilities as JSON (a profile)");
    cmd->add_option("--save", args->save, "Also save the capabilities as a profile file");
    cmd->add_flag("--no-offload-attempt", args->no_offload_attempt,
                  "Do not try to load and attach an offloaded program");
    cmd->footer("Example: harmony probe --iface eth0 --json\n"
                "Example: harmony probe --save host.profile.json");
    cmd->callback([args] { run_probe(*args); });
}

} // namespace harmony::cli
