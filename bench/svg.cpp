// The chart by hand: a few rects and texts, no plotting dependency.
#include "bench.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace harmony::bench {

namespace {

constexpr int kBarArea = 480;
constexpr int kValueWidth = 110;
constexpr int kBarHeight = 14;
constexpr int kGroupHeight = 2 * kBarHeight + 14;
constexpr int kTop = 56;
constexpr const char *kNsColour = "#4e79a7";
constexpr const char *kMppsColour = "#f28e2b";

std::string escape(std::string_view text)
{
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

double scale(double value, double largest)
{
    return largest > 0 ? value / largest * kBarArea : 0;
}

/// Room for the row labels: the label (12px) over its engine (10px), at about 0.6 em a character.
int label_width(const BenchReport &report)
{
    size_t widest = 0;
    for (const auto &row : report.rows) {
        widest = std::max({widest, row.what.label.size() * 7 + 16, row.what.engine.size() * 6 + 16});
    }
    return static_cast<int>(std::max<size_t>(widest, 120));
}

std::string bar(int bars_x, int y, double width, const char *colour, const std::string &value)
{
    return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>\n"
                       "<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\">{}</text>\n",
                       bars_x, y, width, kBarHeight, colour, bars_x + width + 4, y + kBarHeight - 3,
                       escape(value));
}

std::string whisker(int bars_x, int y, double from, double to)
{
    int middle = y + kBarHeight / 2;
    return fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{2:.1f}\" y2=\"{1}\" stroke=\"#222\"/>\n"
                       "<line x1=\"{0:.1f}\" y1=\"{3}\" x2=\"{0:.1f}\" y2=\"{4}\" stroke=\"#222\"/>\n"
                       "<line x1=\"{2:.1f}\" y1=\"{3}\" x2=\"{2:.1f}\" y2=\"{4}\" stroke=\"#222\"/>\n",
                       bars_x + from, middle, bars_x + to, middle - 4, middle + 4);
}

std::string group(int bars_x, const BenchRow &row, int y, double most_ns, double most_mpps)
{
    std::string out = fmt::format("<text x=\"{0}\" y=\"{1}\" font-size=\"12\" text-anchor=\"end\">{2}</text>\n"
                                  "<text x=\"{0}\" y=\"{3}\" font-size=\"10\" fill=\"#555\" "
                                  "text-anchor=\"end\">{4}</text>\n",
                                  bars_x - 8, y + kBarHeight - 2, escape(row.what.label), y + 2 * kBarHeight,
                                  escape(row.what.engine));
    if (row.skipped) {
        return out + fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#888\">skipped</text>\n",
                                 bars_x + 4, y + kBarHeight + 4);
    }
    const Spread &s = row.spread;
    out += bar(bars_x, y, scale(s.median, most_ns), kNsColour, fmt::format("{:.1f} ns", s.median));
    out += whisker(bars_x, y, scale(s.min, most_ns), scale(s.max, most_ns));
    out += bar(bars_x, y + kBarHeight, scale(row.mpps, most_mpps), kMppsColour,
               fmt::format("{:.2f} Mpps", row.mpps));
    return out;
}

} // namespace

std::string svg(const BenchReport &report)
{
    double most_ns = 0;
    double most_mpps = 0;
    for (const auto &row : report.rows) {
        if (!row.skipped) {
            most_ns = std::max(most_ns, row.spread.max);
            most_mpps = std::max(most_mpps, row.mpps);
        }
    }
    int labels = label_width(report);
    int width = labels + kBarArea + kValueWidth;
    int height = kTop + static_cast<int>(report.rows.size()) * kGroupHeight + 10;
    std::string out = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                                  "font-family=\"sans-serif\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n",
                                  width, height);
    out += fmt::format("<text x=\"8\" y=\"18\" font-size=\"13\">harmony bench: {} ({} packets), CPU {}</text>\n",
                       escape(report.trace), report.packets, report.cpu);
    out += fmt::format("<rect x=\"8\" y=\"30\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"24\" y=\"40\" "
                       "font-size=\"11\">ns/packet, median (whisker: min–max)</text>\n"
                       "<rect x=\"280\" y=\"30\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"296\" y=\"40\" "
                       "font-size=\"11\">Mpps per core</text>\n",
                       kNsColour, kMppsColour);
    int y = kTop;
    for (const auto &row : report.rows) {
        out += group(labels, row, y, most_ns, most_mpps);
        y += kGroupHeight;
    }
    return out + "</svg>\n";
}

} // namespace harmony::bench
