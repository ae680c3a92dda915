// Harmony's own VM on DPDK queues, for programs rte_bpf refuses: the program is loaded on
// the host target (its maps, helpers and ring buffer) and runs on each mbuf's own buffer,
// as a driver runs XDP: its stores land in the mbuf, and adjust_head/tail move the mbuf's
// data offset and length, within its headroom and tailroom.
#include "offload/queue_program.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <rte_mbuf.h>

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
            auto outcome = run_one(mbufs[i]);
            actions[i] = outcome ? outcome->action : uint64_t(XDP_ABORTED); // a failed run is aborted
        }
    }

    Result<PacketOutcome> run_one(rte_mbuf *mbuf) override
    {
        auto *start = static_cast<uint8_t *>(mbuf->buf_addr);
        auto *data = rte_pktmbuf_mtod(mbuf, uint8_t *);
        FrameInPlace frame{.start = start, .data = data, .data_end = data + mbuf->data_len,
                           .end = start + mbuf->buf_len};
        auto outcome = program_->run_in_place(frame);
        if (!outcome) {
            return outcome;
        }
        auto length = static_cast<uint16_t>(frame.data_end - frame.data);
        if (mbuf->nb_segs != 1 && length != mbuf->data_len) {
            return fail("run on mbuf", fmt::format("port {}", mbuf->port),
                        fmt::format("a {}-segment mbuf cannot change length", mbuf->nb_segs));
        }
        mbuf->pkt_len = mbuf->pkt_len - mbuf->data_len + length;
        mbuf->data_len = length;
        mbuf->data_off = static_cast<uint16_t>(frame.data - start);
        return outcome;
    }

    const DpdkEngineChoice &choice() const override { return choice_; }
    std::vector<Map *> maps() override { return program_->maps(); }

private:
    std::unique_ptr<LoadedProgram> program_;
    DpdkEngineChoice choice_;
};

} // namespace

std::unique_ptr<QueueProgram> run_on_queue(std::unique_ptr<LoadedProgram> program, DpdkEngineChoice choice)
{
    return std::make_unique<HostVmQueueProgram>(std::move(program), std::move(choice));
}

} // namespace harmony::dpdk
