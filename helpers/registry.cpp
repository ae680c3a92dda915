#include "linux_helpers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>

namespace harmony::helpers {
namespace {

/// Linux helpers are fixed at start-up; Harmony helpers are added at run time. Entries
/// live in a deque so the pointers find_helper hands out never move.
struct Registry {
    std::mutex mutex;
    std::deque<Helper> storage;
    std::map<uint32_t, const Helper *> by_id;
    std::function<void(std::string_view)> trace_sink;

    Registry()
    {
        for (auto group : {map_helpers, ringbuf_helpers, xdp_helpers, misc_helpers}) {
            for (Helper &h : group()) {
                storage.push_back(std::move(h));
                by_id[storage.back().id] = &storage.back();
            }
        }
    }
};

Registry &registry()
{
    static Registry instance;
    return instance;
}

} // namespace

const Helper *find_helper(uint32_t id)
{
    Registry &r = registry();
    std::lock_guard lock(r.mutex);
    auto it = r.by_id.find(id);
    return it == r.by_id.end() ? nullptr : it->second;
}

std::vector<const Helper *> all_helpers()
{
    Registry &r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<const Helper *> out;
    for (auto &[id, helper] : r.by_id) {
        out.push_back(helper);
    }
    return out;
}

Result<void> register_helper(Helper helper)
{
    std::string which = fmt::format("helper '{}' ({:#x})", helper.proto.name, helper.id);
    if (helper.id < kHarmonyBase) {
        return fail("register", which, fmt::format("Harmony helper ids start at {:#x}", kHarmonyBase));
    }
    if (!helper.fn) {
        return fail("register", which, "no function");
    }
    Registry &r = registry();
    std::lock_guard lock(r.mutex);
    if (r.by_id.contains(helper.id)) {
        return fail("register", which, "id already taken by '" + r.by_id[helper.id]->proto.name + "'");
    }
    r.storage.push_back(std::move(helper));
    r.by_id[r.storage.back().id] = &r.storage.back();
    return {};
}

void set_trace_output(std::function<void(std::string_view)> sink)
{
    Registry &r = registry();
    std::lock_guard lock(r.mutex);
    r.trace_sink = std::move(sink);
}

void emit_trace(std::string_view line)
{
    Registry &r = registry();
    std::function<void(std::string_view)> sink;
    {
        std::lock_guard lock(r.mutex);
        sink = r.trace_sink;
    }
    if (sink) {
        sink(line);
    } else {
        std::fprintf(stderr, "bpf_trace_printk: %.*s\n", static_cast<int>(line.size()), line.data());
    }
}

} // namespace harmony::helpers
