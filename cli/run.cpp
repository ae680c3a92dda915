// `harmony run PROG.o --iface IF [--egress IF2] [--target T] [--blocklist F]`: the program
// running on a live interface (or forwarding between two) on any target, through
// cli/services.hpp, until SIGINT or SIGTERM, with its counters and DPI events as they come.
#include "commands.hpp"

#include "services.hpp"
#include "targets.hpp"

#include "capabilities/capabilities.hpp"
#include "common/dpi_control.hpp"
#include "common/map_control.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

namespace harmony::cli {

namespace {

struct RunOptions {
    std::string program;
    std::string iface;
    std::string egress;
    bool both_directions = false;
    std::string target = "xdp";
    std::string blocklist;
    std::string service;
    std::vector<std::string> patterns; ///< ID=FILE: Hyperscan databases, recompiled on SIGHUP
    double interval = 2.0;
};

std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};

void request_stop(int)
{
    stop_requested = true;
}

void request_reload(int)
{
    reload_requested = true;
}

void install_stop_handlers()
{
    struct sigaction action{};
    action.sa_handler = request_stop; // no SA_RESTART: a blocking poll returns at once
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    struct sigaction reload{};
    reload.sa_handler = request_reload;
    sigaction(SIGHUP, &reload, nullptr);
}

/// SIGHUP: the pattern files are compiled again and each database replaced while packets
/// flow; a file that no longer compiles leaves the running database in place.
void reload_patterns(const std::vector<std::string> &patterns)
{
    if (auto installed = install_patterns(patterns); !installed) {
        fmt::print(stderr, "harmony: reload kept the running databases: {}\n", installed.error().message());
        return;
    }
    fmt::print("reloaded {} pattern database(s)\n", patterns.size());
}

void print_description(const Service &service, std::string_view prefix = "")
{
    for (const auto &line : service.describe()) {
        if (line.starts_with(prefix)) {
            fmt::print("{}\n", line);
        }
    }
}

void print_counters(Map &counters)
{
    auto totals = dpi::read_counters(counters);
    if (!totals) {
        fmt::print(stderr, "harmony: {}\n", totals.error().message());
        return;
    }
    std::string line;
    for (size_t index = 0; index < totals->size(); index++) {
        line += fmt::format("{}{} {}", line.empty() ? "" : "  ", dpi::counter_name(index), (*totals)[index]);
    }
    fmt::print("counters: {}\n", line);
}

void print_event(ByteView record)
{
    auto event = dpi::decode_event(record);
    if (!event) {
        fmt::print(stderr, "harmony: {}\n", event.error().message());
        return;
    }
    fmt::print("event: {} {} {} client {} server {}\n", event->dropped ? "BLOCKED" : "passed",
               dpi::proto_name(event->proto), event->name, event->client, event->server);
}

/// The service's name: --service, else the object's name without ".bpf.o" (as XDP pins it).
std::string service_name(const RunOptions &o)
{
    return o.service.empty() ? std::filesystem::path(o.program).stem().stem().string() : o.service;
}

ServiceSpec spec_of(const RunOptions &o)
{
    return ServiceSpec{.program = o.program, .name = service_name(o), .ingress = o.iface, .egress = o.egress,
                       .both_directions = o.both_directions};
}

/// --target auto: place the program from live probes, then try every candidate in order
/// (XDP modes, dpdk, host), moving on (and saying why) when one refuses at load or attach.
Result<std::unique_ptr<Service>> start_placed(const RunOptions &o)
{
    caps::PlaceOptions place_options;
    place_options.interface = o.iface;
    auto placement = caps::place_program(o.program, place_options);
    if (!placement) {
        return std::unexpected(placement.error());
    }
    fmt::print("{}", placement->text());
    auto attach = [&o](const caps::Candidate &candidate) {
        return start_service(std::string(caps::target_name(candidate.target)), spec_of(o));
    };
    auto log = [](const caps::Refusal &refusal) {
        fmt::print("refused: {}: {}; trying the next candidate\n", caps::target_name(refusal.target),
                   refusal.error.message());
    };
    auto placed = caps::run_auto<std::unique_ptr<Service>>(*placement, attach, log);
    if (!placed) {
        return std::unexpected(placed.error());
    }
    fmt::print("placed on {}\n", caps::target_name(placed->target));
    return std::move(placed->service);
}

Result<void> apply_blocklist(Service &service, const std::string &path)
{
    Map *blocklist = service.map("blocklist");
    if (!blocklist) {
        return fail("apply blocklist", path, "the program has no 'blocklist' map on " + std::string(service.target()));
    }
    auto domains = dpi::read_blocklist(path);
    if (!domains) {
        return std::unexpected(domains.error());
    }
    if (auto blocked = dpi::block(*blocklist, *domains); !blocked) {
        return std::unexpected(blocked.error());
    }
    fmt::print("blocking {} domains from {}\n", domains->size(), path);
    return {};
}

/// Events and counters as they come, until SIGINT or SIGTERM.
void report_until_stopped(Service &service, const RunOptions &o)
{
    double interval = o.interval;
    Map *counters = service.map("counters");
    auto period =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(interval));
    auto next_report = std::chrono::steady_clock::now() + period;
    while (!stop_requested) {
        if (reload_requested.exchange(false) && !o.patterns.empty()) {
            reload_patterns(o.patterns);
        }
        if (auto polled = service.poll_events(print_event, std::chrono::milliseconds(200)); !polled) {
            fmt::print(stderr, "harmony: {}\n", polled.error().message());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (counters && std::chrono::steady_clock::now() >= next_report) {
            print_counters(*counters);
            next_report += period;
        }
        std::fflush(stdout);
    }
    (void)service.poll_events(print_event, std::chrono::milliseconds(0)); // what came in while stopping
    if (counters) {
        print_counters(*counters);
    }
}

void run_service(const RunOptions &o)
{
    if (auto installed = install_patterns(o.patterns); !installed) {
        fail_command(installed.error().message());
    }
    auto started = o.target == "auto" ? start_placed(o) : start_service(o.target, spec_of(o));
    if (!started) {
        fail_command(started.error().message());
    }
    Service &service = **started;
    print_description(service);
    // Every target's maps answer `harmony map` on the control socket (XDP's are pinned too).
    auto control = MapControlServer::start(service_name(o), service);
    if (!control) {
        (void)service.stop();
        fail_command(control.error().message());
    }
    fmt::print("maps served on {}\n", (*control)->socket_path().string());
    if (!o.blocklist.empty()) {
        if (auto applied = apply_blocklist(service, o.blocklist); !applied) {
            (void)service.stop();
            fail_command(applied.error().message());
        }
    }
    install_stop_handlers();
    fmt::print("running on {} until SIGINT or SIGTERM\n", service.target());
    std::fflush(stdout);
    report_until_stopped(service, o);
    control->reset(); // no map requests into a stopped service
    if (auto stopped = service.stop(); !stopped) {
        fail_command(stopped.error().message());
    }
    print_description(service, "forwarded");
    fmt::print("detached from {}{}\n", o.iface, o.egress.empty() ? "" : " and " + o.egress);
}

std::vector<std::string> run_targets()
{
    std::vector<std::string> targets = live_targets();
    targets.insert(targets.begin(), "auto");
    return targets;
}

} // namespace

void add_run_command(CLI::App &app)
{
    auto options = std::make_shared<RunOptions>();
    auto *cmd = app.add_subcommand("run", "Run a program on a live interface (XDP, DPDK or Harmony's VM) until SIGINT or SIGTERM");
    cmd->add_option("program", options->program, "BPF object (e.g. build/bpf/dpi.bpf.o)")->required();
    cmd->add_option("--iface", options->iface, "interface to attach to (ingress)")->required();
    cmd->add_option("--egress", options->egress, "forwarding mode: frames the program passes leave through this port");
    cmd->add_flag("--both-directions", options->both_directions, "forward egress -> iface too, one shared DPI state");
    cmd->add_option("--target", options->target,
                    "auto places it from live probes and falls back on refusal; xdp tries offload, native, generic "
                    "in order; dpdk runs on net_af_packet ports (rte_bpf, else Harmony's VM); host runs Harmony's VM "
                    "on AF_PACKET sockets; -interp: the interpreter")
        ->check(CLI::IsMember(run_targets()))
        ->capture_default_str();
    cmd->add_option("--blocklist", options->blocklist, "domains to block, one a line");
    cmd->add_option("--service", options->service, "service name for the pins and the map control socket (default: the program's name)");
    cmd->add_option("--patterns", options->patterns,
                    "ID=FILE: compile a pattern file (one ID:/regex/flags a line) as Hyperscan database ID for "
                    "hs_match; repeatable; a bare FILE is database 1; SIGHUP recompiles and replaces them live");
    cmd->add_option("--interval", options->interval, "seconds between counter lines")->capture_default_str();
    cmd->footer("Every target serves its maps to `harmony map --service SERVICE` on /run/harmony/ctl/SERVICE.sock;\n"
                "on XDP they are also pinned under /sys/fs/bpf/harmony/SERVICE, and a run killed without cleanup\n"
                "is detected and replaced by the next one.\n"
                "Example: harmony run build/bpf/dpi.bpf.o --iface veth0 --egress veth1 --both-directions \\\n"
                "           --blocklist ../shared/corpus/blocklist.txt");
    cmd->callback([options] { run_service(*options); });
}

} // namespace harmony::cli
