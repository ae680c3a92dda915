// Read-copy-update for maps whose readers must not block: readers mark themselves inside a
// read section on a per-thread counter; a writer publishes a new version, then waits out a
// grace period (every counter seen at zero once) before freeing what it replaced. Internal
// to maps/.
//
// Why one instant of zero per counter is enough: all operations are sequentially
// consistent, so a reader whose increment comes after the writer saw its counter at zero
// also loads the published pointer after the writer stored the new one, and never sees
// the old version.
#pragma once

#include "maps.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>

namespace harmony::maps {

class GracePeriod {
public:
    /// Marks a read section; the returned token is passed to leave.
    uint32_t enter()
    {
        uint32_t stripe = current_cpu() % kStripes;
        readers_[stripe].count.fetch_add(1);
        return stripe;
    }
    void leave(uint32_t stripe) { readers_[stripe].count.fetch_sub(1); }

    /// Returns once every read section that began before the call has ended. Writers only.
    void synchronize()
    {
        for (auto &stripe : readers_) {
            while (stripe.count.load() != 0) {
                std::this_thread::yield();
            }
        }
    }

private:
    static constexpr uint32_t kStripes = 64;
    struct alignas(64) Stripe {
        std::atomic<uint64_t> count{0};
    };
    std::array<Stripe, kStripes> readers_;
};

/// A read section for the scope's lifetime.
class ReadSection {
public:
    explicit ReadSection(GracePeriod &grace) : grace_(grace), stripe_(grace.enter()) {}
    ~ReadSection() { grace_.leave(stripe_); }
    ReadSection(const ReadSection &) = delete;
    ReadSection &operator=(const ReadSection &) = delete;

private:
    GracePeriod &grace_;
    uint32_t stripe_;
};

} // namespace harmony::maps
