#include "offload/live_service.hpp"

#include "offload/dpdk_service.hpp"

#include "common/event_queue.hpp"

#include <fmt/format.h>
#include <net/if.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <atomic>

namespace harmony::dpdk {
namespace {

/// The host-VM program the queues run, passing each run's ring-buffer records on
/// (HostVmQueueProgram keeps only the action).
class EventCollectingProgram final : public LoadedProgram {
public:
    EventCollectingProgram(std::unique_ptr<LoadedProgram> program, std::shared_ptr<EventQueue> events)
        : program_(std::move(program)), events_(std::move(events))
    {
    }

    std::string_view target() const override { return program_->target(); }
    Result<PacketOutcome> run(ByteView frame) override { return passing_events_on(program_->run(frame)); }
    Result<PacketOutcome> run_in_place(FrameInPlace &frame) override
    {
        return passing_events_on(program_->run_in_place(frame));
    }
    Map *map(std::string_view name) override { return program_->map(name); }
    std::vector<Map *> maps() override { return program_->maps(); }

private:
    Result<PacketOutcome> passing_events_on(Result<PacketOutcome> outcome)
    {
        if (outcome && !outcome->events.empty()) {
            events_->push(std::move(outcome->events));
        }
        return outcome;
    }

    std::unique_ptr<LoadedProgram> program_;
    std::shared_ptr<EventQueue> events_;
};

std::string counters_line(const std::string &from, const QueueCounters &totals)
{
    return fmt::format("forwarded from {}: received {} passed {} dropped {} bounced {} tx_failed {} other {}", from,
                       totals.received, totals.passed, totals.dropped, totals.bounced, totals.tx_failed, totals.other);
}

/// The engine and why, one describe line per line of rte_bpf's refusal (a validator log).
void describe_engine(const DpdkEngineChoice &choice, std::vector<std::string> &lines)
{
    lines.push_back(fmt::format("engine: {}", engine_name(choice.engine)));
    std::string_view reason = choice.reason;
    for (std::string_view prefix = "engine reason: "; !reason.empty(); prefix = "  ") {
        size_t end = std::min(reason.find('\n'), reason.size());
        lines.push_back(std::string(prefix) + std::string(reason.substr(0, end)));
        reason.remove_prefix(std::min(end + 1, reason.size()));
    }
}

class DpdkLiveService final : public Service {
public:
    DpdkLiveService(std::string target, const ServiceSpec &spec, std::vector<std::string> lines,
                    std::shared_ptr<EventQueue> events)
        : target_(std::move(target)), ingress_(spec.ingress), egress_(spec.egress), lines_(std::move(lines)),
          events_(std::move(events))
    {
    }

    void attach(std::unique_ptr<DpdkService> service, LoadedProgram *vm_program)
    {
        service_ = std::move(service);
        vm_program_ = vm_program;
        describe_engine(service_->engine(), lines_);
        if (!vm_program_) {
            lines_.push_back("maps: none (rte_bpf runs programs without maps)");
        }
    }

    std::string_view target() const override { return target_; }

    std::vector<std::string> describe() const override
    {
        std::vector<std::string> lines = lines_;
        auto counters = service_ ? live_counters() : final_counters_;
        lines.insert(lines.end(), counters.begin(), counters.end());
        return lines;
    }

    Map *map(std::string_view name) override { return vm_program_ ? vm_program_->map(name) : nullptr; }
    std::vector<Map *> maps() override { return vm_program_ ? vm_program_->maps() : std::vector<Map *>{}; }

    Result<size_t> poll_events(const std::function<void(ByteView)> &sink, std::chrono::milliseconds timeout) override
    {
        return events_->drain(sink, timeout);
    }

    /// Stops polling and closes the ports; the program and its maps go with them.
    Result<void> stop() override
    {
        if (service_) {
            service_->stop();
            final_counters_ = live_counters();
            // net_af_packet leaves the interface promiscuous when its port closes.
            rte_eth_promiscuous_disable(service_->ingress().id());
            rte_eth_promiscuous_disable(service_->egress().id());
            vm_program_ = nullptr;
            service_.reset();
        }
        return {};
    }

private:
    std::vector<std::string> live_counters() const
    {
        std::vector<std::string> lines{counters_line(ingress_, service_->forwarder().total())};
        if (const QueueForwarder *reverse = service_->reverse_forwarder()) {
            lines.push_back(counters_line(egress_, reverse->total()));
        }
        return lines;
    }

    std::string target_;
    std::string ingress_;
    std::string egress_;
    std::vector<std::string> lines_;
    std::shared_ptr<EventQueue> events_;
    std::unique_ptr<DpdkService> service_;
    LoadedProgram *vm_program_ = nullptr; ///< owned by service_'s queue program; null on rte_bpf
    std::vector<std::string> final_counters_;
};

Result<void> check_spec(const ServiceSpec &spec)
{
    if (spec.both_directions && spec.egress.empty()) {
        return fail("start dpdk service", spec.ingress, "--both-directions needs an egress interface");
    }
    for (const std::string &iface : {spec.ingress, spec.egress}) {
        if (!iface.empty() && (iface.size() >= IFNAMSIZ || if_nametoindex(iface.c_str()) == 0)) {
            return fail("start dpdk service", "interface '" + iface + "'",
                        "no such interface in this network namespace");
        }
    }
    if (spec.ingress.empty()) {
        return fail("start dpdk service", spec.program, "an ingress interface is needed");
    }
    return {};
}

/// Unique vdev names: DPDK refuses a second device of the same name in one process.
std::string vdev_name(std::string_view kind)
{
    static std::atomic<unsigned> next{0};
    return fmt::format("{}_hs{}", kind, next++);
}

} // namespace

Result<std::unique_ptr<Service>> start_service(const ServiceSpec &spec, bool jit, HostVmLoader host_vm)
{
    if (auto ok = check_spec(spec); !ok) {
        return std::unexpected(ok.error());
    }
    auto events = std::make_shared<EventQueue>();
    LoadedProgram *vm_program = nullptr;
    DpdkServiceOptions options;
    options.ingress = fmt::format("{},iface={}", vdev_name("net_af_packet"), spec.ingress);
    options.egress = spec.egress.empty() ? vdev_name("net_null")
                                         : fmt::format("{},iface={}", vdev_name("net_af_packet"), spec.egress);
    options.program.jit = jit;
    options.both_directions = spec.both_directions;
    if (host_vm) {
        // Called within DpdkService::start below, which keeps no copy of the options.
        options.program.host_vm = [&](const std::string &path, bool vm_jit) -> Result<std::unique_ptr<LoadedProgram>> {
            auto loaded = host_vm(path, vm_jit);
            if (!loaded) {
                return std::unexpected(loaded.error());
            }
            auto program = std::make_unique<EventCollectingProgram>(std::move(*loaded), events);
            vm_program = program.get();
            return std::unique_ptr<LoadedProgram>(std::move(program));
        };
    }
    auto started = DpdkService::start(spec.program, options);
    if (!started) {
        return std::unexpected(started.error());
    }
    std::vector<std::string> lines;
    lines.push_back(fmt::format("attached: dpdk net_af_packet on {}{}", spec.ingress,
                                spec.egress.empty() ? " (ingress only: PASS goes to net_null, the kernel still "
                                                      "delivers every frame)"
                                                    : ", PASS out of net_af_packet on " + spec.egress));
    if (spec.both_directions) {
        lines.push_back(fmt::format("attached: dpdk net_af_packet on {}, PASS out of {} (both directions, one state)",
                                    spec.egress, spec.ingress));
    }
    auto service = std::make_unique<DpdkLiveService>(jit ? "dpdk" : "dpdk-interp", spec, std::move(lines), events);
    service->attach(std::move(*started), vm_program);
    return std::unique_ptr<Service>(std::move(service));
}

} // namespace harmony::dpdk
