// Harmony's own VM on DPDK queues, for programs rte_bpf refuses: the program is loaded on
// the host target (its maps, helpers and ring buffer) and each mbuf's bytes go through it.
// The VM runs on a copy with the kernel's headroom, so the frame it leaves (its stores and
// adjust_head/tail) is written back into the mbuf for every frame that is sent on.
#include "offload/queue_program.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <rte_mbuf.h>

#include <cstring>

namespace harmony::dpdk {
namespace {

class HostVmQueueProgram : public QueueProgram {
public:
    HostVmQueueProgram(std::unique_ptr<LoadedProgram> program, DpdkEngineChoice choice)
        : program_(std::move(program)), choice_(std::move(choice))
    {
    }

    void run_burst(rte_mbuf **mbufs, uint64_t *actions, uint16_t count) override
    {
        for (uint16_t i = 0; i < count; ++i) {
            auto outcome = program_->run(frame_of(mbufs[i]));
            actions[i] = outcome ? outcome->action : 0; // a failed run is XDP_ABORTED
            if (outcome && outcome->sends_frame_on() && !set_mbuf_frame(mbufs[i], outcome->frame)) {
                actions[i] = XDP_ABORTED; // the mbuf cannot hold what the program made of it
            }
        }
    }

    Result<PacketOutcome> run_one(rte_mbuf *mbuf) override
    {
        auto outcome = program_->run(frame_of(mbuf));
        if (!outcome) {
            return outcome;
        }
        if (auto written = set_mbuf_frame(mbuf, outcome->frame); !written) {
            return std::unexpected(written.error());
        }
        return outcome;
    }

    const DpdkEngineChoice &choice() const override { return choice_; }
    std::vector<Map *> maps() override { return program_->maps(); }

private:
    static ByteView frame_of(rte_mbuf *mbuf)
    {
        return {rte_pktmbuf_mtod(mbuf, const uint8_t *), mbuf->data_len};
    }

    std::unique_ptr<LoadedProgram> program_;
    DpdkEngineChoice choice_;
};

} // namespace

Result<void> set_mbuf_frame(rte_mbuf *mbuf, ByteView frame)
{
    auto *now = rte_pktmbuf_mtod(mbuf, const uint8_t *);
    if (frame.size() == mbuf->data_len) {
        if (frame.data() != now) {
            std::memmove(rte_pktmbuf_mtod(mbuf, uint8_t *), frame.data(), frame.size());
        }
        return {};
    }
    if (mbuf->nb_segs != 1) {
        return fail("rewrite mbuf", fmt::format("port {}", mbuf->port),
                    fmt::format("a {}-segment mbuf cannot change length", mbuf->nb_segs));
    }
    if (frame.size() < mbuf->data_len) {
        rte_pktmbuf_trim(mbuf, static_cast<uint16_t>(mbuf->data_len - frame.size()));
    } else {
        auto grow = static_cast<uint16_t>(frame.size() - mbuf->data_len);
        // Growth at the head (adjust_head < 0) uses the headroom, at the tail the tailroom;
        // which one the program grew does not matter once the bytes are copied in.
        if (rte_pktmbuf_tailroom(mbuf) >= grow) {
            rte_pktmbuf_append(mbuf, grow);
        } else if (rte_pktmbuf_headroom(mbuf) >= grow) {
            rte_pktmbuf_prepend(mbuf, grow);
        } else {
            return fail("rewrite mbuf", fmt::format("port {}", mbuf->port),
                        fmt::format("no room to grow a {}-byte frame to {} bytes", mbuf->data_len, frame.size()));
        }
    }
    std::memcpy(rte_pktmbuf_mtod(mbuf, uint8_t *), frame.data(), frame.size());
    return {};
}

std::unique_ptr<QueueProgram> run_on_queue(std::unique_ptr<LoadedProgram> program, DpdkEngineChoice choice)
{
    return std::make_unique<HostVmQueueProgram>(std::move(program), std::move(choice));
}

} // namespace harmony::dpdk
