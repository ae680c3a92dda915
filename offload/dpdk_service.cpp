#include "offload/dpdk_service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <regex>

namespace harmony::dpdk {
namespace {

bool is_pci_address(const std::string &device)
{
    static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$)");
    return std::regex_match(device, pci);
}

Result<void> check_options(const DpdkServiceOptions &options)
{
    if (options.ingress.empty() || options.egress.empty()) {
        return fail("start dpdk service", "", "both an ingress and an egress device are needed");
    }
    if (options.queues == 0) {
        return fail("start dpdk service", options.ingress, "at least one receive queue is needed");
    }
    return {};
}

} // namespace

Result<std::unique_ptr<Port>> open_port(const std::string &device, const PortOptions &options)
{
    if (is_pci_address(device)) {
        return Port::open_pci(device, options);
    }
    auto comma = device.find(',');
    std::string name = device.substr(0, comma);
    std::string args = comma == std::string::npos ? "" : device.substr(comma + 1);
    return Port::open_vdev(name, args, options);
}

Result<std::unique_ptr<DpdkService>> DpdkService::start(const std::string &object_path,
                                                        const DpdkServiceOptions &options)
{
    if (auto ok = check_options(options); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto eal = Eal::start(options.program.eal); !eal) {
        return std::unexpected(eal.error());
    }
    // Everything below is owned by `service`: an early return closes what was opened.
    auto service = std::unique_ptr<DpdkService>(new DpdkService());
    // One program for all queues: with Harmony's VM its maps must be one set, and the
    // poller is one thread.
    auto program = load_queue_program(object_path, options.program);
    if (!program) {
        return std::unexpected(program.error());
    }
    service->program_ = std::move(*program);
    auto ingress = open_port(options.ingress, PortOptions{.rx_queues = options.queues, .tx_queues = options.queues});
    if (!ingress) {
        return std::unexpected(ingress.error());
    }
    service->ingress_ = std::move(*ingress);
    uint16_t egress_rx = options.both_directions ? options.queues : 1;
    auto egress = open_port(options.egress, PortOptions{.rx_queues = egress_rx, .tx_queues = options.queues});
    if (!egress) {
        return std::unexpected(egress.error());
    }
    service->egress_ = std::move(*egress);
    if (options.steering) {
        auto steering = install_steering(service->ingress_->id(), *options.steering);
        if (!steering) {
            return std::unexpected(steering.error());
        }
        if (steering->place == RulePlace::Software) {
            fmt::print(stderr, "harmony dpdk: {}: no steering rules on the port, every queue runs the program ({})\n",
                       service->ingress_->name(), steering->reason);
        }
        service->steering_ = std::move(*steering);
    }
    service->flows_ =
        std::make_unique<FlowDropOffload>(service->ingress_->id(), options.flow_drops, service->ingress_->name());
    std::vector<QueueProgram *> per_queue(options.queues, service->program_.get());
    if (service->steering_ && service->steering_->place == RulePlace::Nic) {
        // The NIC sends only DPI-relevant traffic to the DPI queues; the others forward.
        for (uint16_t q = 0; q < options.queues; ++q) {
            if (std::ranges::find(options.steering->dpi_queues, q) == options.steering->dpi_queues.end()) {
                per_queue[q] = nullptr;
            }
        }
    }
    service->forwarder_ = std::make_unique<QueueForwarder>(*service->ingress_, *service->egress_, per_queue,
                                                           service->flows_.get());
    if (options.both_directions) {
        // Steering and flow drops are the ingress port's; the way back runs the program only.
        service->reverse_ = std::make_unique<QueueForwarder>(
            *service->egress_, *service->ingress_, std::vector<QueueProgram *>{service->program_.get()});
    }
    service->poller_ = std::thread([raw = service.get()] { raw->poll_until_stopped(); });
    return service;
}

void DpdkService::poll_until_stopped()
{
    // Busy polling, as DPDK does, but a long idle spell sleeps briefly so that an idle
    // service does not hold a core (this adds at most kIdleSleep to the first frame).
    constexpr uint32_t kIdleRounds = 1024;
    constexpr auto kIdleSleep = std::chrono::microseconds(100);
    uint32_t idle = 0;
    while (!stopping_.load(std::memory_order_relaxed)) {
        uint32_t received = 0;
        for (uint16_t q = 0; q < ingress_->rx_queues(); ++q) {
            received += forwarder_->poll(q);
        }
        for (uint16_t q = 0; reverse_ && q < egress_->rx_queues(); ++q) {
            received += reverse_->poll(q);
        }
        idle = received ? 0 : idle + 1;
        if (idle >= kIdleRounds) {
            std::this_thread::sleep_for(kIdleSleep);
        }
    }
}

Map *DpdkService::map(std::string_view name)
{
    return program_->map(name);
}

void DpdkService::stop()
{
    stopping_ = true;
    if (poller_.joinable()) {
        poller_.join();
    }
}

DpdkService::~DpdkService()
{
    stop();
    reverse_.reset();
    forwarder_.reset();
    flows_.reset(); // its rules go before the port does
    egress_.reset();
    ingress_.reset();
}

} // namespace harmony::dpdk
