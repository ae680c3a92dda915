#include "target.hpp"

#include <chrono>
#include <linux/bpf.h>

namespace harmony {

bool PacketOutcome::sends_frame_on() const
{
    return action == XDP_PASS || action == XDP_TX || action == XDP_REDIRECT;
}

Result<PacketOutcome> LoadedProgram::run_in_place(FrameInPlace &)
{
    return fail("run a frame in place", std::string(target()), "this target runs copies of frames only");
}

Result<double> LoadedProgram::time_per_run(ByteView frame, uint32_t repeat)
{
    if (repeat == 0) {
        return fail("time", std::string(target()), "repeat must be at least 1");
    }
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; i++) {
        auto outcome = run(frame);
        if (!outcome) {
            return std::unexpected(outcome.error());
        }
    }
    std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
    return spent.count() / repeat;
}

} // namespace harmony
