#include "bench.hpp"

#include <filesystem>

namespace harmony::bench {

namespace {

bool readable(const std::string &path)
{
    std::error_code error;
    return std::filesystem::is_regular_file(path, error);
}

} // namespace

Result<Trace> default_trace()
{
    std::string bench_pcap =
        std::filesystem::path(HARMONY_BENCH_SHARED_DIR "/corpus/bench.pcap").lexically_normal().string();
    if (readable(bench_pcap)) {
        return read_trace(bench_pcap);
    }
    // Without the shared corpus, the project's own captures, one after the other.
    std::string data = std::string(HARMONY_BENCH_SOURCE_DIR) + "/tests/data/";
    return concatenate_traces({data + "basic.pcap", data + "layers.pcap", data + "tricky.pcap"});
}

std::string default_blocklist()
{
    std::string shared = std::string(HARMONY_BENCH_SHARED_DIR) + "/corpus/blocklist.txt";
    return readable(shared) ? shared : std::string(HARMONY_BENCH_SOURCE_DIR) + "/tests/data/blocklist.txt";
}

std::string project_file(const std::string &relative)
{
    return std::string(HARMONY_BENCH_SOURCE_DIR) + "/" + relative;
}

} // namespace harmony::bench
