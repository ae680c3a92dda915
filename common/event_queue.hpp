// What a live service's threads hand to Service::poll_events(): the ring-buffer records its
// program produced, queued between the threads that run the program and the caller that polls.
#pragma once

#include "target.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace harmony {

/// Ring-buffer records from the threads running a program to poll_events(); thread-safe.
class EventQueue {
public:
    void push(std::vector<Bytes> &&events)
    {
        {
            std::lock_guard lock(mutex_);
            for (auto &event : events) {
                if (queue_.size() < kLimit) {
                    queue_.push_back(std::move(event));
                }
            }
        }
        ready_.notify_one();
    }

    /// Hands every queued record to `sink`, waiting up to `timeout` for the first; returns how many.
    size_t drain(const std::function<void(ByteView)> &sink, std::chrono::milliseconds timeout)
    {
        std::deque<Bytes> taken;
        {
            std::unique_lock lock(mutex_);
            ready_.wait_for(lock, timeout, [this] { return !queue_.empty(); });
            taken.swap(queue_);
        }
        for (const auto &event : taken) {
            sink(event);
        }
        return taken.size();
    }

private:
    static constexpr size_t kLimit = 65536; // a caller that never polls must not grow memory without end
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Bytes> queue_;
};

} // namespace harmony
