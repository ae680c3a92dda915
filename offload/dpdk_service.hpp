// A program running as a service on DPDK ports: EAL started, ingress and egress ports
// opened, the program loaded on every ingress queue (rte_bpf or Harmony's VM, as
// load_queue_program decides), optional rte_flow steering, per-connection drop offload,
// optionally the reverse direction too, and one polling thread for all queues. start()
// either brings all of it up or tears down what it opened and returns why: the service
// never half-starts.
#pragma once

#include "offload/dpdk_target.hpp"

#include <atomic>
#include <optional>
#include <thread>

namespace harmony::dpdk {

struct DpdkServiceOptions {
    /// Devices: a PCI address ("0000:00:04.0") or a vdev "name,args"
    /// ("net_af_packet0,iface=veth0", "net_pcap0,rx_pcap=in.pcap").
    std::string ingress;
    std::string egress;
    uint16_t queues = 1; ///< receive queues on the ingress port, each running the program
    DpdkOptions program;
    std::optional<SteeringPlan> steering; ///< none: no steering rules
    FlowDropOptions flow_drops;
    /// Also forward egress -> ingress through the same program (one state, one polling
    /// thread): a bump in the wire. Each interface has one port, and a port never receives
    /// what it transmitted itself, so nothing loops.
    bool both_directions = false;
};

class DpdkService {
public:
    static Result<std::unique_ptr<DpdkService>> start(const std::string &object_path,
                                                      const DpdkServiceOptions &options);
    ~DpdkService();

    /// Stops polling; counters are final afterwards.
    void stop();
    const DpdkEngineChoice &engine() const { return program_->choice(); }
    const std::optional<SteeringResult> &steering() const { return steering_; }
    FlowDropOffload &flow_drops() { return *flows_; }
    /// Per-queue counters; read them after stop() for exact values.
    const QueueForwarder &forwarder() const { return *forwarder_; }
    /// egress -> ingress when both_directions, else null.
    const QueueForwarder *reverse_forwarder() const { return reverse_.get(); }
    /// The program's maps (Harmony's VM engine; rte_bpf programs have none). Safe to use
    /// while the service runs, as the host maps are.
    std::vector<Map *> maps() { return program_->maps(); }
    Map *map(std::string_view name);
    Port &ingress() { return *ingress_; }
    Port &egress() { return *egress_; }

private:
    DpdkService() = default;
    /// One thread polls every queue of both forwarders until stop().
    void poll_until_stopped();

    std::unique_ptr<Port> ingress_;
    std::unique_ptr<Port> egress_;
    std::unique_ptr<QueueProgram> program_;
    std::optional<SteeringResult> steering_;
    std::unique_ptr<FlowDropOffload> flows_;
    std::unique_ptr<QueueForwarder> forwarder_;
    std::unique_ptr<QueueForwarder> reverse_;
    std::atomic<bool> stopping_{false};
    std::thread poller_;
};

/// Opens a device named as in DpdkServiceOptions.
Result<std::unique_ptr<Port>> open_port(const std::string &device, const PortOptions &options = {});

} // namespace harmony::dpdk
