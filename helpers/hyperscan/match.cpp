// Block-mode matching and the BPF-facing helpers.
#include "database.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <mutex>

namespace harmony::hyperscan {

// Hyperscan reports matches in order of their end; the first one decides.
int on_first_match(unsigned id, unsigned long long, unsigned long long, unsigned, void *context)
{
    *static_cast<int64_t *>(context) = id;
    return 1; // stop scanning
}

int64_t match(uint32_t db_id, std::span<const uint8_t> data)
{
    auto db = installed(db_id);
    if (!db) {
        return -ENOENT;
    }
    if (data.empty()) {
        return 0;
    }
    hs_scratch_t *scratch = scratch_for(*db);
    if (!scratch) {
        return -ENOMEM;
    }
    int64_t first = 0;
    hs_error_t rc = hs_scan(db->block, reinterpret_cast<const char *>(data.data()), static_cast<unsigned>(data.size()),
                            0, scratch, on_first_match, &first);
    if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
        return -EIO;
    }
    return first;
}

namespace {

std::span<const uint8_t> bytes(uint64_t address, uint64_t size)
{
    return {reinterpret_cast<const uint8_t *>(address), static_cast<size_t>(size)};
}

uint64_t hs_match_helper(uint64_t db_id, uint64_t data, uint64_t size, uint64_t, uint64_t)
{
    return static_cast<uint64_t>(match(static_cast<uint32_t>(db_id), bytes(data, size)));
}

uint64_t hs_match_stream_helper(uint64_t db_id, uint64_t key, uint64_t key_size, uint64_t data, uint64_t size)
{
    return static_cast<uint64_t>(
        match_stream(static_cast<uint32_t>(db_id), bytes(key, key_size), bytes(data, size)));
}

uint64_t hs_stream_close_helper(uint64_t db_id, uint64_t key, uint64_t key_size, uint64_t, uint64_t)
{
    return static_cast<uint64_t>(close_stream(static_cast<uint32_t>(db_id), bytes(key, key_size)));
}

std::vector<helpers::Helper> hyperscan_helpers()
{
    using enum helpers::Arg;
    using helpers::Ret;
    return {
        {kHsMatch, {"hs_match", Ret::Integer, {Scalar, Mem, SizeOrZero}}, hs_match_helper},
        {kHsMatchStream, {"hs_match_stream", Ret::Integer, {Scalar, Mem, Size, Mem, SizeOrZero}},
         hs_match_stream_helper},
        {kHsStreamClose, {"hs_stream_close", Ret::Integer, {Scalar, Mem, Size}}, hs_stream_close_helper},
    };
}

} // namespace

Result<void> register_helpers()
{
    static std::mutex mutex;
    static bool done = false;
    std::lock_guard lock(mutex);
    if (done) {
        return {};
    }
    if (hs_valid_platform() != HS_SUCCESS) {
        return fail("register", "hs_match", "Hyperscan does not run on this CPU (needs SSSE3)");
    }
    for (helpers::Helper &helper : hyperscan_helpers()) {
        const helpers::Helper *taken = helpers::find_helper(helper.id);
        if (taken && taken->fn == helper.fn) {
            continue;
        }
        if (auto ok = helpers::register_helper(std::move(helper)); !ok) {
            return ok;
        }
    }
    done = true;
    return {};
}

} // namespace harmony::hyperscan
