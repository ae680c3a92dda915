// Per-connection streams: a pattern split across TCP segments is still found. A stream is
// freed when the program closes it (FIN, RST) or when it has not been used for the
// maximum age. Streams live in shards by key hash, each with its own lock.
#include "database.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <functional>
#include <map>
#include <mutex>

namespace harmony::hyperscan {

namespace {

using Clock = std::chrono::steady_clock;

struct Stream {
    std::shared_ptr<const Database> db; ///< the database it was opened on, even if replaced since
    hs_stream_t *state = nullptr;
    int64_t first_match = 0;
    Clock::time_point last_used;
};

void free_stream(Stream &stream)
{
    // No scratch: matches at the end of the data are not reported for a stream being dropped.
    hs_close_stream(stream.state, nullptr, nullptr, nullptr);
}

/// One shard of the stream table: connections are spread over kShards by key hash, so
/// packets of different connections on different threads rarely wait on one another.
struct Shard {
    std::mutex mutex;
    std::map<std::pair<uint32_t, std::string>, Stream> streams;

    ~Shard()
    {
        for (auto &[key, stream] : streams) {
            free_stream(stream);
        }
    }
};

constexpr size_t kShards = 16;

struct StreamTable {
    std::array<Shard, kShards> shards;
    std::atomic<Clock::rep> max_age{std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(120)).count()};
    std::atomic<Clock::rep> last_sweep{0}; ///< Clock time since epoch of the last sweep

    Clock::duration age() const { return Clock::duration(max_age.load(std::memory_order_relaxed)); }
};

StreamTable &table()
{
    static StreamTable instance;
    return instance;
}

std::pair<uint32_t, std::string> stream_key(uint32_t db_id, std::span<const uint8_t> key)
{
    return {db_id, std::string(reinterpret_cast<const char *>(key.data()), key.size())};
}

Shard &shard_of(StreamTable &t, const std::pair<uint32_t, std::string> &key)
{
    size_t h = std::hash<std::string>{}(key.second) ^ (size_t{key.first} * 0x9e3779b97f4a7c15ull);
    return t.shards[h % kShards];
}

size_t sweep(Shard &shard, Clock::duration max_age, Clock::time_point now)
{
    size_t freed = 0;
    for (auto it = shard.streams.begin(); it != shard.streams.end();) {
        if (now - it->second.last_used > max_age) {
            free_stream(it->second);
            it = shard.streams.erase(it);
            freed++;
        } else {
            ++it;
        }
    }
    return freed;
}

/// Runs `fn` on every shard in turn, each under its own lock (never two at once); sums what
/// it returns.
template <typename Fn> size_t for_each_shard(Fn fn)
{
    size_t total = 0;
    for (Shard &shard : table().shards) {
        std::lock_guard lock(shard.mutex);
        total += fn(shard);
    }
    return total;
}

/// Sweeps every shard's aged streams at most once per second (or per max age, when
/// shorter), so a busy table is not walked on every packet; one thread sweeps at a time.
void sweep_if_due(StreamTable &t, Clock::time_point now)
{
    Clock::duration max_age = t.age();
    Clock::rep last = t.last_sweep.load(std::memory_order_relaxed);
    if (now - Clock::time_point(Clock::duration(last)) <= std::min<Clock::duration>(max_age, std::chrono::seconds(1)) ||
        !t.last_sweep.compare_exchange_strong(last, now.time_since_epoch().count())) {
        return;
    }
    for_each_shard([&](Shard &shard) { return sweep(shard, max_age, now); });
}

/// Opens the stream on first use.
Stream *find_or_open(Shard &shard, std::pair<uint32_t, std::string> key, Clock::time_point now)
{
    uint32_t db_id = key.first;
    auto [it, inserted] = shard.streams.try_emplace(std::move(key));
    if (inserted) {
        it->second.db = installed(db_id);
        if (!it->second.db || hs_open_stream(it->second.db->stream, 0, &it->second.state) != HS_SUCCESS) {
            shard.streams.erase(it);
            return nullptr;
        }
    }
    it->second.last_used = now;
    return &it->second;
}

} // namespace

int64_t match_stream(uint32_t db_id, std::span<const uint8_t> key, std::span<const uint8_t> data)
{
    if (!installed(db_id)) {
        return -ENOENT;
    }
    StreamTable &t = table();
    Clock::time_point now = Clock::now();
    sweep_if_due(t, now);
    auto name = stream_key(db_id, key);
    Shard &shard = shard_of(t, name);
    std::lock_guard lock(shard.mutex);
    Stream *stream = find_or_open(shard, std::move(name), now);
    if (!stream) {
        return -ENOMEM;
    }
    if (stream->first_match != 0 || data.empty()) {
        return stream->first_match; // a stream stops at its first match: the connection is decided
    }
    hs_scratch_t *scratch = scratch_for(*stream->db);
    if (!scratch) {
        return -ENOMEM;
    }
    hs_error_t rc = hs_scan_stream(stream->state, reinterpret_cast<const char *>(data.data()),
                                   static_cast<unsigned>(data.size()), 0, scratch, on_first_match,
                                   &stream->first_match);
    if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
        return -EIO;
    }
    return stream->first_match;
}

int64_t close_stream(uint32_t db_id, std::span<const uint8_t> key)
{
    auto name = stream_key(db_id, key);
    Shard &shard = shard_of(table(), name);
    std::lock_guard lock(shard.mutex);
    auto it = shard.streams.find(name);
    if (it == shard.streams.end()) {
        return -ENOENT;
    }
    free_stream(it->second);
    shard.streams.erase(it);
    return 0;
}

void set_stream_max_age(std::chrono::milliseconds age)
{
    table().max_age.store(std::chrono::duration_cast<Clock::duration>(age).count(), std::memory_order_relaxed);
}

size_t expire_streams()
{
    Clock::duration max_age = table().age();
    Clock::time_point now = Clock::now();
    table().last_sweep.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    return for_each_shard([&](Shard &shard) { return sweep(shard, max_age, now); });
}

size_t open_streams()
{
    return for_each_shard([](Shard &shard) { return shard.streams.size(); });
}

void close_all_streams()
{
    for_each_shard([](Shard &shard) {
        for (auto &[key, stream] : shard.streams) {
            free_stream(stream);
        }
        shard.streams.clear();
        return size_t{0};
    });
}

} // namespace harmony::hyperscan
