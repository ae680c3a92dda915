#include "targets.hpp"

#include "helpers/hyperscan/hyperscan.hpp"
#include "host-runtime/target/host_target.hpp"
#include "native/native_dpi.hpp"
#include "offload/dpdk_target.hpp"
#include "xdp/kernel_program.hpp"

#include <filesystem>

namespace harmony::cli {

std::vector<std::string> offline_targets()
{
    return {"native", "xdp", "dpdk", "dpdk-interp", "host", "host-interp"};
}

namespace {

Result<std::unique_ptr<LoadedProgram>> load_native(const std::string &program_path)
{
    // The native target is the DPI written in C++: it stands in for dpi.bpf.o only.
    if (std::filesystem::path(program_path).filename() != "dpi.bpf.o") {
        return fail("load", program_path, "the native target implements dpi.bpf.o only");
    }
    return std::make_unique<native::NativeDpi>();
}

} // namespace

Result<void> install_patterns(const std::vector<std::string> &patterns)
{
    for (const std::string &option : patterns) {
        if (auto ok = hyperscan::install_pattern_option(option); !ok) {
            return ok;
        }
    }
    return {};
}

Result<std::unique_ptr<LoadedProgram>> load_on_target(const std::string &target, const std::string &program_path)
{
    if (target == "native") {
        return load_native(program_path);
    }
    if (target == "xdp") {
        return xdp::KernelProgram::load(program_path);
    }
    if (target == "dpdk" || target == "dpdk-interp") {
        // rte_bpf when it accepts the program; Harmony's VM on the dpdk queues otherwise.
        dpdk::DpdkOptions options{.jit = target == "dpdk"};
        options.host_vm = host::load_vm;
        return dpdk::load(program_path, options);
    }
    if (target == "host" || target == "host-interp") {
        return host::load(program_path, target == "host" ? host::ExecMode::Jit : host::ExecMode::Interpreter);
    }
    return fail("load", program_path, "unknown target '" + target + "'");
}

} // namespace harmony::cli
