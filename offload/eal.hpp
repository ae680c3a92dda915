// The DPDK Environment Abstraction Layer, once per process. rte_eal_init can run only
// once in a process (and not again after rte_eal_cleanup), so the EAL is a process-wide
// object: the first start() initialises it, later calls share it. Ports are hot-plugged
// afterwards (port.hpp), so one EAL serves every service and test in the process.
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace harmony::dpdk {

struct EalOptions {
    /// Memory for mbuf pools and rings. Without hugepages it comes from anonymous memory
    /// (--no-huge -m); with hugepages it is preallocated from them (-m).
    uint32_t memory_mb = 256;
    /// Use hugepages when the host has free ones mounted; otherwise --no-huge.
    bool use_hugepages_when_present = true;
    /// PCI devices to probe at start (-a ADDR); none means no PCI device is taken.
    std::vector<std::string> pci_devices;
    /// Virtual devices to create at start (--vdev), e.g. "net_pcap0,rx_pcap=a.pcap".
    std::vector<std::string> vdevs;
    /// Where the PMD plugins live; empty means found from pkg-config's install layout.
    std::string plugin_dir;
    /// EAL log level (--log-level), e.g. "notice", "error".
    std::string log_level = "error";
    /// Extra EAL arguments, passed last.
    std::vector<std::string> extra_args;
};

class Eal {
public:
    /// Starts the EAL or returns the one already running (options are then ignored; the
    /// arguments it runs with are in args()). Fails with EAL's own reason and leaves no
    /// EAL half-started; after a failed start this process cannot start the EAL again.
    static Result<Eal *> start(const EalOptions &options = {});
    /// The running EAL, or nullptr.
    static Eal *running();

    bool hugepages() const { return hugepages_; }
    const std::vector<std::string> &args() const { return args_; }
    const std::string &plugin_dir() const { return plugin_dir_; }

    /// rte_eal_cleanup. Ports must be closed first. The EAL cannot start again afterwards.
    Result<void> shutdown();

private:
    bool hugepages_ = false;
    std::vector<std::string> args_;
    std::string plugin_dir_;
};

/// Debian's PMD plugin folder (e.g. /usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0), found
/// from pkg-config's libdir or by looking for dpdk/pmds-* next to librte_eal.
Result<std::string> find_plugin_dir();

/// True when hugetlbfs is mounted and has free pages.
bool hugepages_available();

/// The EAL arguments start() would use for `options` (argv[0] included).
std::vector<std::string> eal_arguments(const EalOptions &options, const std::string &plugin_dir, bool hugepages);

} // namespace harmony::dpdk
