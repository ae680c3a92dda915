// The live benchmark: client -> DUT -> server network namespaces joined by veth pairs; the
// DUT forwards with the DPI service on one target at a time while the client replays the
// trace with AF_PACKET sendmmsg for a fixed time; packets per second judged by the DUT
// (its DPI 'packets' counter) and received by the server.
#pragma once

#include "bench.hpp"

#include "common/service.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace harmony::bench {

using ServiceStarter = std::function<Result<std::unique_ptr<Service>>(const std::string &target,
                                                                      const ServiceSpec &spec)>;

struct LiveOptions {
    std::string program;      ///< dpi.bpf.o
    std::string blocklist;    ///< loaded into the service's 'blocklist' map
    std::vector<std::string> targets;
    std::chrono::milliseconds duration{3000};
    /// Called with (target, milliseconds sent so far, duration) while sending.
    std::function<void(const std::string &, size_t, size_t)> progress;
};

struct LiveRow {
    std::string target;
    std::string attached;               ///< the service's describe() lines, joined
    std::optional<std::string> skipped; ///< why there are no figures
    double seconds = 0;
    uint64_t sent = 0;     ///< frames the client's socket accepted
    uint64_t judged = 0;   ///< the DPI 'packets' counter's increase
    uint64_t passed = 0;   ///< the DPI 'pass' counter's increase: what should reach the server
    uint64_t received = 0; ///< frames the server's interface received
    double judged_pps = 0;
    double received_pps = 0;
};

struct LiveReport {
    std::string trace;
    std::vector<LiveRow> rows;
};

/// Builds the namespaces, runs every target in turn, removes the namespaces. Needs root.
Result<LiveReport> run_live(const Trace &trace, const ServiceStarter &start, const LiveOptions &options);

std::string markdown(const LiveReport &report);
nlohmann::json to_json(const LiveReport &report);

} // namespace harmony::bench
