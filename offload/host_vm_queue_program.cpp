// Harmony's own VM on DPDK queues, for programs rte_bpf refuses: the program is loaded on
// the host target (its maps, helpers and ring buffer) and each mbuf's bytes go through it.
#include "offload/queue_program.hpp"

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
            auto outcome = program_->run(frame_of(mbufs[i]));
            actions[i] = outcome ? outcome->action : 0; // a failed run is XDP_ABORTED
        }
    }

    Result<PacketOutcome> run_one(rte_mbuf *mbuf) override { return program_->run(frame_of(mbuf)); }
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

std::unique_ptr<QueueProgram> run_on_queue(std::unique_ptr<LoadedProgram> program, DpdkEngineChoice choice)
{
    return std::make_unique<HostVmQueueProgram>(std::move(program), std::move(choice));
}

} // namespace harmony::dpdk
