#include "offload/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

namespace harmony::dpdk {
namespace {

namespace fs = std::filesystem;

// rte_eal_init may run once per process; these record that it did and how it ended.
std::mutex eal_mutex;
std::unique_ptr<Eal> eal_instance;
bool eal_attempted = false;
std::string eal_failure;

std::vector<std::string> pmd_dirs_under(const fs::path &libdir)
{
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(libdir / "dpdk", ec)) {
        if (entry.is_directory() && entry.path().filename().string().starts_with("pmds-")) {
            found.push_back(entry.path().string());
        }
    }
    std::ranges::sort(found);
    return found;
}

// The folder of the librte_eal this process actually runs, which is where Debian puts
// dpdk/pmds-<abi> beside it.
std::string running_eal_libdir()
{
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&rte_eal_init), &info) == 0 || info.dli_fname == nullptr) {
        return {};
    }
    return fs::path(info.dli_fname).parent_path().string();
}

} // namespace

Result<std::string> find_plugin_dir()
{
    std::vector<std::string> libdirs = {running_eal_libdir(), HARMONY_DPDK_LIBDIR};
    for (const auto &libdir : libdirs) {
        if (libdir.empty()) {
            continue;
        }
        auto dirs = pmd_dirs_under(libdir);
        if (!dirs.empty()) {
            return dirs.back(); // the newest ABI when several are installed
        }
    }
    return fail("find DPDK PMD plugins", fmt::format("{}/dpdk/pmds-*", HARMONY_DPDK_LIBDIR),
                "no plugin folder found (is dpdk installed?)");
}

bool hugepages_available()
{
    std::ifstream mounts("/proc/mounts");
    std::string line;
    bool mounted = false;
    while (std::getline(mounts, line)) {
        mounted = mounted || line.find(" hugetlbfs ") != std::string::npos;
    }
    std::ifstream meminfo("/proc/meminfo");
    uint64_t free_pages = 0;
    while (std::getline(meminfo, line)) {
        if (line.starts_with("HugePages_Free:")) {
            free_pages = std::stoull(line.substr(line.find(':') + 1));
        }
    }
    return mounted && free_pages > 0;
}

std::vector<std::string> eal_arguments(const EalOptions &options, const std::string &plugin_dir, bool hugepages)
{
    std::vector<std::string> args = {"harmony", "--no-pci", "--no-telemetry",
                                     "--log-level", options.log_level, "-m", std::to_string(options.memory_mb),
                                     // one lcore: Harmony polls from its own threads
                                     "-l", "0"};
    if (hugepages) {
        args.push_back("--in-memory"); // no hugepage files or shared config left behind
    } else {
        // --in-memory implies hugepages; without them, private anonymous memory and no
        // shared config, so concurrent processes never meet in /var/run/dpdk.
        args.insert(args.end(), {"--no-huge", "--no-shconf", "--file-prefix", fmt::format("harmony-{}", getpid())});
    }
    if (!options.pci_devices.empty()) {
        args.erase(std::ranges::find(args, "--no-pci"));
        for (const auto &address : options.pci_devices) {
            args.insert(args.end(), {"-a", address});
        }
    }
    if (!plugin_dir.empty()) {
        args.insert(args.end(), {"-d", plugin_dir});
    }
    for (const auto &vdev : options.vdevs) {
        args.insert(args.end(), {"--vdev", vdev});
    }
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    return args;
}

Result<Eal *> Eal::start(const EalOptions &options)
{
    std::lock_guard lock(eal_mutex);
    if (eal_instance) {
        return eal_instance.get();
    }
    if (eal_attempted) {
        return fail("start DPDK EAL", "", "it cannot start again in this process: " + eal_failure);
    }
    if (options.memory_mb == 0) {
        return fail("start DPDK EAL", "-m 0", "memory must be at least 1 MiB");
    }
    auto plugin_dir = options.plugin_dir.empty() ? find_plugin_dir() : Result<std::string>(options.plugin_dir);
    if (!plugin_dir) {
        return std::unexpected(plugin_dir.error());
    }
    if (!fs::is_directory(*plugin_dir)) {
        return fail("start DPDK EAL", "-d " + *plugin_dir, "no such plugin folder");
    }
    auto eal = std::make_unique<Eal>();
    eal->hugepages_ = options.use_hugepages_when_present && hugepages_available();
    eal->plugin_dir_ = *plugin_dir;
    eal->args_ = eal_arguments(options, eal->plugin_dir_, eal->hugepages_);

    std::vector<char *> argv;
    for (auto &arg : eal->args_) {
        argv.push_back(arg.data());
    }
    eal_attempted = true;
    // rte_eal_init permutes argv; our copy of the strings stays intact.
    std::vector<std::string> keep = eal->args_;
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        int err = rte_errno;
        eal_failure = fmt::format("rte_eal_init: {}", errno_text(err));
        return fail("start DPDK EAL", fmt::format("(args: {})", fmt::join(keep, " ")), eal_failure);
    }
    eal->args_ = keep;
    // DPDK creates /var/run/dpdk/<prefix> and never removes it; with Harmony's options it
    // stays empty, so it goes now (remove() refuses a folder that holds anything).
    std::error_code ignored;
    fs::remove(rte_eal_get_runtime_dir(), ignored);
    eal_instance = std::move(eal);
    return eal_instance.get();
}

Eal *Eal::running()
{
    std::lock_guard lock(eal_mutex);
    return eal_instance.get();
}

Result<void> Eal::shutdown()
{
    std::lock_guard lock(eal_mutex);
    int rc = rte_eal_cleanup();
    eal_failure = "the EAL was shut down";
    eal_instance.reset(); // `this` is gone after this line
    if (rc != 0) {
        return fail("shut down DPDK EAL", "", fmt::format("rte_eal_cleanup: {}", errno_text(-rc)));
    }
    return {};
}

} // namespace harmony::dpdk
