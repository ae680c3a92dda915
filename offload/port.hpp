// An ethdev port Harmony drives: a virtual device hot-plugged into the running EAL
// (net_pcap, net_af_packet, net_af_xdp, net_tap, net_ring, net_null) or a PCI device,
// configured with its receive and transmit queues and a pool of mbufs, and started.
// Closing the Port stops it and removes the device again.
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <memory>
#include <string>

struct rte_mempool;
struct rte_device;

namespace harmony::dpdk {

struct PortOptions {
    uint16_t rx_queues = 1;
    uint16_t tx_queues = 1;
    uint16_t ring_size = 512;   ///< descriptors per queue
    uint32_t pool_mbufs = 4095; ///< mbufs in this port's pool
    bool promiscuous = true;
};

class Port {
public:
    /// Creates the virtual device `name` ("net_ring0", "net_pcap1", ...) with `args`
    /// ("rx_pcap=a.pcap,tx_pcap=b.pcap", "iface=veth0", ...) and starts it.
    static Result<std::unique_ptr<Port>> open_vdev(const std::string &name, const std::string &args,
                                                   const PortOptions &options = {});
    /// Probes the PCI device at `address` ("0000:00:04.0") and starts it.
    static Result<std::unique_ptr<Port>> open_pci(const std::string &address, const PortOptions &options = {});
    ~Port();
    Port(const Port &) = delete;
    Port &operator=(const Port &) = delete;

    uint16_t id() const { return port_id_; }
    const std::string &name() const { return name_; }
    const std::string &driver() const { return driver_; }
    uint16_t rx_queues() const { return options_.rx_queues; }
    uint16_t tx_queues() const { return options_.tx_queues; }
    rte_mempool *pool() const { return pool_; }

private:
    Port() = default;
    static Result<std::unique_ptr<Port>> configure(std::unique_ptr<Port> port);
    Result<void> setup_queues();

    uint16_t port_id_ = 0;
    std::string name_;
    std::string driver_;
    bool is_vdev_ = false;
    bool has_port_ = false;
    rte_device *device_ = nullptr; ///< PCI devices: removed on close
    bool started_ = false;
    PortOptions options_;
    rte_mempool *pool_ = nullptr;
};

} // namespace harmony::dpdk
