#include "offload/port.hpp"

#include "offload/eal.hpp"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>

#include <fmt/format.h>

#include <atomic>

namespace harmony::dpdk {
namespace {

constexpr uint16_t kMbufCache = 64;
constexpr size_t kMaxRingPortName = 19;

std::string unique_pool_name(const std::string &port)
{
    static std::atomic<uint32_t> counter{0};
    // rte_mempool names are at most RTE_MEMPOOL_NAMESIZE - 1 characters.
    return fmt::format("hmy{}_{}", counter++, port).substr(0, RTE_MEMPOOL_NAMESIZE - 1);
}

Result<void> require_eal(const std::string &which)
{
    if (Eal::running() == nullptr) {
        return fail("open port", which, "the DPDK EAL is not started (dpdk::Eal::start)");
    }
    return {};
}

} // namespace

Result<std::unique_ptr<Port>> Port::open_vdev(const std::string &name, const std::string &args,
                                              const PortOptions &options)
{
    if (auto eal = require_eal(name); !eal) {
        return std::unexpected(eal.error());
    }
    // net_ring names its rings "ETH_RXTX<q>_<name>" within RTE_RING_NAMESIZE; a longer
    // name fails deep inside the driver with no reason given.
    if (name.starts_with("net_ring") && name.size() > kMaxRingPortName) {
        return fail("open port", name, fmt::format("net_ring port names have at most {} characters",
                                                   kMaxRingPortName));
    }
    int rc = rte_vdev_init(name.c_str(), args.c_str());
    if (rc != 0) {
        std::string cause = rc < -1 ? errno_text(rc) : fmt::format("rc {}", rc);
        return fail("open port", args.empty() ? name : fmt::format("{},{}", name, args),
                    fmt::format("rte_vdev_init: {} (the driver refused the arguments or is not loaded)", cause));
    }
    auto port = std::unique_ptr<Port>(new Port());
    port->name_ = name;
    port->is_vdev_ = true;
    port->options_ = options;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port->port_id_) != 0) {
        return fail("open port", name, "the device has no ethdev port (not a network driver?)");
    }
    port->has_port_ = true;
    return configure(std::move(port));
}

Result<std::unique_ptr<Port>> Port::open_pci(const std::string &address, const PortOptions &options)
{
    if (auto eal = require_eal(address); !eal) {
        return std::unexpected(eal.error());
    }
    int rc = rte_dev_probe(address.c_str());
    if (rc != 0) {
        return fail("open port", address, fmt::format("rte_dev_probe: {} (is the device bound to vfio-pci?)",
                                                      errno_text(rc)));
    }
    auto port = std::unique_ptr<Port>(new Port());
    port->name_ = address;
    port->options_ = options;
    if (rte_eth_dev_get_port_by_name(address.c_str(), &port->port_id_) != 0) {
        return fail("open port", address, "the device has no ethdev port");
    }
    port->has_port_ = true;
    return configure(std::move(port));
}

Result<std::unique_ptr<Port>> Port::configure(std::unique_ptr<Port> port)
{
    rte_eth_dev_info info{};
    if (int rc = rte_eth_dev_info_get(port->port_id_, &info); rc != 0) {
        return fail("open port", port->name_, fmt::format("rte_eth_dev_info_get: {}", errno_text(rc)));
    }
    port->driver_ = info.driver_name ? info.driver_name : "";
    if (!port->is_vdev_) {
        port->device_ = info.device;
    }
    if (port->options_.rx_queues > info.max_rx_queues || port->options_.tx_queues > info.max_tx_queues) {
        return fail("open port", port->name_,
                    fmt::format("{} rx / {} tx queues asked, driver {} has at most {} / {}", port->options_.rx_queues,
                                port->options_.tx_queues, port->driver_, info.max_rx_queues, info.max_tx_queues));
    }
    port->pool_ = rte_pktmbuf_pool_create(unique_pool_name(port->name_).c_str(), port->options_.pool_mbufs,
                                          kMbufCache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (port->pool_ == nullptr) {
        return fail("open port", port->name_,
                    fmt::format("mbuf pool of {} buffers: {} (too little EAL memory? raise -m / memory_mb)",
                                port->options_.pool_mbufs, errno_text(rte_errno)));
    }
    if (auto queues = port->setup_queues(); !queues) {
        return std::unexpected(queues.error());
    }
    if (int rc = rte_eth_dev_start(port->port_id_); rc != 0) {
        return fail("open port", port->name_, fmt::format("rte_eth_dev_start: {}", errno_text(rc)));
    }
    port->started_ = true;
    if (port->options_.promiscuous) {
        rte_eth_promiscuous_enable(port->port_id_); // not every PMD has it; not an error
    }
    return port;
}

Result<void> Port::setup_queues()
{
    rte_eth_conf conf{};
    if (options_.rx_queues > 1) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        rte_eth_dev_info info{};
        rte_eth_dev_info_get(port_id_, &info);
        conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & RTE_ETH_RSS_IP;
        if (conf.rx_adv_conf.rss_conf.rss_hf == 0) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
        }
    }
    if (int rc = rte_eth_dev_configure(port_id_, options_.rx_queues, options_.tx_queues, &conf); rc != 0) {
        return fail("open port", name_, fmt::format("rte_eth_dev_configure: {}", errno_text(rc)));
    }
    int socket = rte_eth_dev_socket_id(port_id_);
    for (uint16_t q = 0; q < options_.rx_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(port_id_, q, options_.ring_size, socket, nullptr, pool_); rc != 0) {
            return fail("open port", name_, fmt::format("rx queue {}: {}", q, errno_text(rc)));
        }
    }
    for (uint16_t q = 0; q < options_.tx_queues; ++q) {
        if (int rc = rte_eth_tx_queue_setup(port_id_, q, options_.ring_size, socket, nullptr); rc != 0) {
            return fail("open port", name_, fmt::format("tx queue {}: {}", q, errno_text(rc)));
        }
    }
    return {};
}

Port::~Port()
{
    if (has_port_) {
        rte_flow_error ignored{};
        rte_flow_flush(port_id_, &ignored); // steering and drop rules go with the port
    }
    if (started_) {
        rte_eth_dev_stop(port_id_);
    }
    if (has_port_) {
        rte_eth_dev_close(port_id_);
    }
    if (is_vdev_) {
        rte_vdev_uninit(name_.c_str());
    } else if (device_ != nullptr) {
        rte_dev_remove(device_);
    }
    if (pool_ != nullptr) {
        rte_mempool_free(pool_);
    }
}

} // namespace harmony::dpdk
