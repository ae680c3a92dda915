// A one-line progress indicator on stderr for long work (bench, large replays): drawn only
// when stderr is a terminal or --progress asks for it, so pipes and logs stay clean.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace harmony::cli {

class ProgressBar {
public:
    /// `forced`: draw even when stderr is not a terminal (--progress).
    explicit ProgressBar(bool forced);
    ProgressBar(const ProgressBar &) = delete;
    ProgressBar &operator=(const ProgressBar &) = delete;
    /// Ends the line if anything was drawn.
    ~ProgressBar();

    bool enabled() const { return enabled_; }
    /// Redraws at most ten times a second, and always at done == total.
    void update(std::string_view what, size_t done, size_t total);
    /// Ends the bar's line, so that what is printed next starts on a fresh one.
    void finish();

private:
    bool enabled_ = false;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

} // namespace harmony::cli
