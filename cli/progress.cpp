#include "progress.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace harmony::cli {

namespace {

constexpr size_t kWidth = 30;
constexpr auto kRedrawPeriod = std::chrono::milliseconds(100);

} // namespace

ProgressBar::ProgressBar(bool forced) : enabled_(forced || isatty(STDERR_FILENO) == 1)
{
}

ProgressBar::~ProgressBar()
{
    finish();
}

void ProgressBar::finish()
{
    if (drawn_) {
        fmt::print(stderr, "\n");
        drawn_ = false;
    }
}

void ProgressBar::update(std::string_view what, size_t done, size_t total)
{
    if (!enabled_ || total == 0) {
        return;
    }
    auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < kRedrawPeriod) {
        return;
    }
    last_ = now;
    size_t filled = std::min(kWidth, done * kWidth / total);
    // \r and clear-to-end-of-line: the bar rewrites itself in place.
    fmt::print(stderr, "\r[{}{}] {:3}% {}\x1b[K", std::string(filled, '#'), std::string(kWidth - filled, ' '),
               done * 100 / total, what);
    std::fflush(stderr);
    drawn_ = true;
}

} // namespace harmony::cli
