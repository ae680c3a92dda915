#include "offload/dpdk_target.hpp"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstring>

namespace harmony::dpdk {
namespace {

std::string program_label(const std::string &object_path, const std::string &program)
{
    return program.empty() ? object_path : fmt::format("{} program '{}'", object_path, program);
}

Result<std::unique_ptr<QueueProgram>> load_on_host_vm(const std::string &object_path, const DpdkOptions &options,
                                                       const Error &refusal)
{
    auto host = options.host_vm(object_path, options.jit);
    if (!host) {
        return fail("load on dpdk", object_path,
                    fmt::format("rte_bpf cannot run it ({}) and Harmony's VM failed too: {}", refusal.why,
                                host.error().message()));
    }
    DpdkEngineChoice choice{options.jit ? Engine::HarmonyJit : Engine::HarmonyInterpreter,
                            "rte_bpf cannot run the program: " + refusal.why};
    return run_on_queue(std::move(*host), std::move(choice));
}

// The replay program: a net_ring port is a loopback (transmit queue i feeds receive queue
// i), so each frame is copied into an mbuf, sent, and judged when rte_eth_rx_burst hands
// it back — the same receive path a NIC queue takes.
class DpdkLoadedProgram : public LoadedProgram {
public:
    DpdkLoadedProgram(std::unique_ptr<Port> port, std::unique_ptr<QueueProgram> program, bool jit)
        : port_(std::move(port)), program_(std::move(program)), target_(jit ? "dpdk" : "dpdk-interp")
    {
    }

    std::string_view target() const override { return target_; }

    Result<PacketOutcome> run(ByteView frame) override { return through_port(frame, true); }

    /// As LoadedProgram's, without handing each frame back (bench times the judging).
    Result<double> time_per_run(ByteView frame, uint32_t repeat) override
    {
        if (repeat == 0) {
            return fail("time", target_, "repeat must be at least 1");
        }
        auto start = std::chrono::steady_clock::now();
        for (uint32_t i = 0; i < repeat; i++) {
            if (auto outcome = through_port(frame, false); !outcome) {
                return std::unexpected(outcome.error());
            }
        }
        std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
        return spent.count() / repeat;
    }

    Map *map(std::string_view name) override { return program_->map(name); }
    std::vector<Map *> maps() override { return program_->maps(); }

    const DpdkEngineChoice &choice() const { return program_->choice(); }

private:
    Result<PacketOutcome> through_port(ByteView frame, bool keep_frame)
    {
        rte_mbuf *mbuf = rte_pktmbuf_alloc(port_->pool());
        if (mbuf == nullptr) {
            return fail("run frame", port_->name(), "mbuf pool exhausted");
        }
        char *data = rte_pktmbuf_append(mbuf, static_cast<uint16_t>(frame.size()));
        if (data == nullptr || frame.size() > UINT16_MAX) {
            rte_pktmbuf_free(mbuf);
            return fail("run frame", port_->name(), fmt::format("a {}-byte frame does not fit an mbuf", frame.size()));
        }
        std::memcpy(data, frame.data(), frame.size());
        if (rte_eth_tx_burst(port_->id(), 0, &mbuf, 1) != 1) {
            rte_pktmbuf_free(mbuf);
            return fail("run frame", port_->name(), "the transmit ring is full");
        }
        rte_mbuf *received = nullptr;
        if (rte_eth_rx_burst(port_->id(), 0, &received, 1) != 1) {
            return fail("run frame", port_->name(), "the frame did not come back on the receive queue");
        }
        auto outcome = program_->run_one(received);
        if (outcome && keep_frame) {
            // The frame as the mbuf now holds it, as a forwarder would send it on.
            const auto *data = rte_pktmbuf_mtod(received, const uint8_t *);
            outcome->frame.assign(data, data + received->data_len);
        }
        rte_pktmbuf_free(received);
        return outcome;
    }

    std::unique_ptr<Port> port_;
    std::unique_ptr<QueueProgram> program_;
    std::string target_;
};

std::string next_ring_name()
{
    static std::atomic<uint32_t> counter{0};
    return fmt::format("net_ring_hmy{}", counter++);
}

} // namespace

Result<std::unique_ptr<QueueProgram>> load_queue_program(const std::string &object_path, const DpdkOptions &options)
{
    auto insns = read_program_insns(object_path, options.program);
    if (!insns) {
        return std::unexpected(insns.error());
    }
    RteBpfOptions rte{options.jit, options.context, options.packet_window, {}};
    auto on_rte_bpf = RteBpfProgram::load(*insns, rte, program_label(object_path, options.program));
    if (on_rte_bpf) {
        return std::unique_ptr<QueueProgram>(std::move(*on_rte_bpf));
    }
    if (!options.host_vm) {
        return fail("load on dpdk", object_path,
                    fmt::format("rte_bpf cannot run it and no Harmony VM fallback is linked: {}",
                                on_rte_bpf.error().why));
    }
    return load_on_host_vm(object_path, options, on_rte_bpf.error());
}

Result<DpdkEngineChoice> choose_engine(const std::string &object_path, const DpdkOptions &options)
{
    auto program = load_queue_program(object_path, options);
    if (!program) {
        return std::unexpected(program.error());
    }
    return (*program)->choice();
}

Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, const DpdkOptions &options)
{
    auto eal = Eal::start(options.eal);
    if (!eal) {
        return std::unexpected(eal.error());
    }
    auto program = load_queue_program(object_path, options);
    if (!program) {
        return std::unexpected(program.error());
    }
    PortOptions small_port{1, 1, 64, 255, false};
    auto port = Port::open_vdev(next_ring_name(), "", small_port);
    if (!port) {
        return std::unexpected(port.error());
    }
    return std::make_unique<DpdkLoadedProgram>(std::move(*port), std::move(*program), options.jit);
}

} // namespace harmony::dpdk
