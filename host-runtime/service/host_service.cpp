#include "host-runtime/service/service.hpp"

#include "host-runtime/service/packet_socket.hpp"
#include "host-runtime/vm.hpp"

#include "common/event_queue.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace harmony::host {
namespace {

constexpr auto kPollPeriod = std::chrono::milliseconds(100); // how quickly a direction thread notices stop()

struct AtomicCounters {
    std::atomic<uint64_t> received{0}, passed{0}, dropped{0}, bounced{0}, redirected{0}, failed{0};

    DirectionCounters snapshot() const
    {
        return {received.load(), passed.load(), dropped.load(), bounced.load(), redirected.load(), failed.load()};
    }
};

/// Frames arriving on `in`; PASS leaves through `out` (null: ingress-only mode). The
/// names outlive the sockets, which stop() closes.
struct Direction {
    PacketSocket *in = nullptr;
    PacketSocket *out = nullptr;
    std::string from;
    std::string to; ///< empty: ingress-only mode
    AtomicCounters counters;
    std::thread thread;
};

class HostLiveService final : public Service {
public:
    HostLiveService(std::unique_ptr<LoadedProgram> program, std::string target)
        : program_(std::move(program)), target_(std::move(target))
    {
    }
    ~HostLiveService() override { halt(); }

    Result<void> open(const ServiceSpec &spec)
    {
        auto ingress = PacketSocket::open(spec.ingress);
        if (!ingress) {
            return std::unexpected(ingress.error());
        }
        ingress_ = std::move(*ingress);
        if (!spec.egress.empty()) {
            auto egress = PacketSocket::open(spec.egress);
            if (!egress) {
                return std::unexpected(egress.error());
            }
            egress_ = std::move(*egress);
        }
        add_direction(ingress_.get(), egress_.get());
        if (spec.both_directions && egress_) {
            add_direction(egress_.get(), ingress_.get());
        }
        return {};
    }

    void start_threads()
    {
        for (auto &direction : directions_) {
            direction->thread = std::thread([this, d = direction.get()] { forward(*d); });
        }
    }

    std::string_view target() const override { return target_; }

    std::vector<std::string> describe() const override
    {
        std::vector<std::string> lines;
        for (const auto &direction : directions_) {
            lines.push_back(describe_direction(*direction));
        }
        if (directions_.empty() || directions_.front()->to.empty()) {
            lines.push_back("ingress only: the kernel stack receives every frame as well (AF_PACKET copies); PASS "
                            "leaves it there, DROP only means not forwarded");
        } else {
            lines.push_back("the kernel stack sees every frame too (AF_PACKET copies): forwarding ports should have "
                            "no IP addresses");
        }
        for (const auto &direction : directions_) {
            DirectionCounters c = direction->counters.snapshot();
            lines.push_back(fmt::format("forwarded from {}: received {} passed {} dropped {} bounced {} redirected {} "
                                        "failed {}",
                                        direction->from, c.received, c.passed, c.dropped, c.bounced,
                                        c.redirected, c.failed));
        }
        return lines;
    }

    Map *map(std::string_view name) override { return program_->map(name); }
    std::vector<Map *> maps() override { return program_->maps(); }

    Result<size_t> poll_events(const std::function<void(ByteView)> &sink, std::chrono::milliseconds timeout) override
    {
        return events_.drain(sink, timeout);
    }

    Result<void> stop() override
    {
        halt();
        return {};
    }

private:
    void add_direction(PacketSocket *in, PacketSocket *out)
    {
        auto direction = std::make_unique<Direction>();
        direction->in = in;
        direction->out = out;
        direction->from = in->interface();
        direction->to = out ? out->interface() : "";
        directions_.push_back(std::move(direction));
    }

    std::string describe_direction(const Direction &direction) const
    {
        std::string engine = target_ == "host" ? "Harmony's x86-64 JIT" : "Harmony's interpreter";
        std::string to = direction.to.empty() ? "observing (no egress)" : "PASS out of " + direction.to;
        return fmt::format("attached: {} on {} via AF_PACKET ({}), {}, TX back out of {}", target_, direction.from,
                           engine, to, direction.from);
    }

    /// Joins the direction threads and closes the sockets (which ends promiscuous mode);
    /// the program and its maps stay readable.
    void halt()
    {
        stopping_ = true;
        for (auto &direction : directions_) {
            if (direction->thread.joinable()) {
                direction->thread.join();
            }
            direction->in = direction->out = nullptr;
        }
        ingress_.reset();
        egress_.reset();
    }

    void forward(Direction &direction)
    {
        while (!stopping_) {
            auto frames = direction.in->receive(kPollPeriod);
            if (!frames) {
                direction.counters.failed++;
                std::this_thread::sleep_for(kPollPeriod); // a broken socket must not spin
                continue;
            }
            for (const ReceivedFrame &frame : *frames) {
                handle(direction, frame);
            }
        }
    }

    void handle(Direction &direction, const ReceivedFrame &frame)
    {
        direction.counters.received++;
        if (frame.truncated) {
            direction.counters.failed++;
            return;
        }
        uint32_t action = XDP_ABORTED;
        uint32_t redirect_ifindex = 0;
        Bytes rewritten;
        {
            // One program state for both directions; the ring buffer has one consumer.
            std::lock_guard lock(run_mutex_);
            auto outcome = program_->run(frame.bytes);
            if (!outcome) {
                direction.counters.failed++;
                return;
            }
            action = outcome->action;
            redirect_ifindex = vm::current_run().redirect_ifindex;
            rewritten = std::move(outcome->frame);
            if (!outcome->events.empty()) {
                events_.push(std::move(outcome->events));
            }
        }
        apply(direction, as_left(frame, rewritten), action, redirect_ifindex);
    }

    /// The frame as the program left it, to be sent with the received frame's offload
    /// header. A length change is taken as one at the head (a tag or tunnel header pushed
    /// or popped): the pending checksum's start and the GSO header length move with it.
    static ReceivedFrame as_left(const ReceivedFrame &received, const Bytes &rewritten)
    {
        ReceivedFrame out = received;
        out.bytes = rewritten;
        auto moved = static_cast<int>(rewritten.size()) - static_cast<int>(received.bytes.size());
        if (moved != 0 && (out.vnet.flags & kVnetNeedsChecksum)) {
            out.vnet.csum_start = static_cast<uint16_t>(out.vnet.csum_start + moved);
        }
        if (moved != 0 && out.vnet.hdr_len != 0) {
            out.vnet.hdr_len = static_cast<uint16_t>(out.vnet.hdr_len + moved);
        }
        return out;
    }

    void apply(Direction &direction, const ReceivedFrame &frame, uint32_t action, uint32_t redirect_ifindex)
    {
        switch (action) {
        case XDP_PASS:
            direction.counters.passed++;
            send(direction, direction.out, frame);
            return;
        case XDP_TX:
            direction.counters.bounced++;
            send(direction, direction.in, frame);
            return;
        case XDP_REDIRECT:
            if (PacketSocket *to = socket_for(redirect_ifindex)) {
                direction.counters.redirected++;
                send(direction, to, frame);
            } else {
                direction.counters.dropped++;
            }
            return;
        default:
            direction.counters.dropped++;
        }
    }

    PacketSocket *socket_for(uint32_t ifindex) const
    {
        for (PacketSocket *socket : {ingress_.get(), egress_.get()}) {
            if (socket && static_cast<uint32_t>(socket->ifindex()) == ifindex) {
                return socket;
            }
        }
        return nullptr;
    }

    static void send(Direction &direction, PacketSocket *to, const ReceivedFrame &frame)
    {
        if (to && !to->send(frame)) {
            direction.counters.failed++;
        }
    }

    std::unique_ptr<LoadedProgram> program_;
    std::string target_;
    std::mutex run_mutex_;
    EventQueue events_;
    std::unique_ptr<PacketSocket> ingress_;
    std::unique_ptr<PacketSocket> egress_;
    std::vector<std::unique_ptr<Direction>> directions_;
    std::atomic<bool> stopping_{false};
};

} // namespace

Result<std::unique_ptr<Service>> start_service(const ServiceSpec &spec, ExecMode mode)
{
    if (spec.ingress.empty()) {
        return fail("start host service", spec.program, "an ingress interface is needed");
    }
    if (spec.both_directions && spec.egress.empty()) {
        return fail("start host service", spec.ingress, "--both-directions needs an egress interface");
    }
    auto program = load(spec.program, mode);
    if (!program) {
        return std::unexpected(program.error());
    }
    std::string target(program->get()->target());
    auto service = std::make_unique<HostLiveService>(std::move(*program), std::move(target));
    if (auto opened = service->open(spec); !opened) {
        return std::unexpected(opened.error());
    }
    service->start_threads();
    return std::unique_ptr<Service>(std::move(service));
}

} // namespace harmony::host
