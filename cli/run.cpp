// `harmony run PROG.o --iface IF [--egress IF2] [--target T] [--blocklist F]`: the program
// attached to a live interface (or forwarding between two) until SIGINT or SIGTERM, with
// its counters and DPI events as they come.
#include "commands.hpp"

#include "capabilities/capabilities.hpp"
#include "common/dpi_control.hpp"
#include "xdp/xdp.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
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
    double interval = 2.0;
};

std::atomic<bool> stop_requested{false};

void request_stop(int)
{
    stop_requested = true;
}

void install_stop_handlers()
{
    struct sigaction action{};
    action.sa_handler = request_stop; // no SA_RESTART: a blocking poll returns at once
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
}

void print_placement(xdp::Service &service)
{
    for (const auto &line : service.replaced()) {
        fmt::print("replaced: {}\n", line);
    }
    for (const auto &refusal : service.refusals()) {
        fmt::print("refused: {} on {}: {}\n", xdp::mode_name(refusal.mode), refusal.interface, refusal.reason);
    }
    for (const auto &attachment : service.attachments()) {
        std::string how = attachment.dispatcher ? "through libxdp's dispatcher"
                                                : "alone" + (attachment.why_alone.empty()
                                                                 ? std::string()
                                                                 : " (no dispatcher: " + attachment.why_alone + ")");
        fmt::print("attached: {} on {} ({}), program id {}\n", xdp::mode_name(attachment.mode), attachment.interface,
                   how, attachment.program_id);
    }
    fmt::print("maps pinned under {}\n", xdp::pin_dir(service.name()).string());
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

Result<std::unique_ptr<xdp::Service>> start_on_xdp(const RunOptions &o, std::string_view target)
{
    auto modes = xdp::modes_for_target(target);
    if (!modes) {
        return std::unexpected(modes.error());
    }
    xdp::ServiceOptions options;
    options.program = o.program;
    options.service = o.service;
    options.ingress = o.iface;
    if (!o.egress.empty()) {
        options.egress = o.egress;
    }
    options.both_directions = o.both_directions;
    options.modes = *modes;
    return xdp::Service::start(options);
}

/// --target auto: place the program from live probes, then try the candidates in order,
/// moving on (and saying why) when one refuses at load or attach time.
Result<std::unique_ptr<xdp::Service>> start_placed(const RunOptions &o)
{
    auto requirements = caps::read_requirements(o.program, "");
    if (!requirements) {
        return std::unexpected(requirements.error());
    }
    caps::ProbeOptions probe_options;
    probe_options.interfaces.push_back(o.iface);
    auto capabilities = caps::probe(probe_options);
    if (!capabilities) {
        return std::unexpected(capabilities.error());
    }
    caps::PlaceOptions place_options;
    place_options.interface = o.iface;
    caps::Placement placement = caps::place(*requirements, *capabilities, place_options);
    fmt::print("{}", placement.text());
    auto attach = [&o](const caps::Candidate &candidate) -> Result<std::unique_ptr<xdp::Service>> {
        auto target = caps::target_name(candidate.target);
        if (!target.starts_with("xdp")) {
            return fail("attach", std::string(target),
                        "harmony run drives the XDP targets only so far (dpdk and host live runs: issues 6 and 3)");
        }
        return start_on_xdp(o, target);
    };
    auto log = [](const caps::Refusal &refusal) {
        fmt::print("refused: {}: {}; trying the next candidate\n", caps::target_name(refusal.target),
                   refusal.error.message());
    };
    auto placed = caps::run_auto<std::unique_ptr<xdp::Service>>(placement, attach, log);
    if (!placed) {
        return std::unexpected(placed.error());
    }
    fmt::print("placed on {}\n", caps::target_name(placed->target));
    return std::move(placed->service);
}

void run_service(const RunOptions &o)
{
    auto started = o.target == "auto" ? start_placed(o) : start_on_xdp(o, o.target);
    if (!started) {
        fail_command(started.error().message());
    }
    xdp::Service &service = **started;
    print_placement(service);

    if (!o.blocklist.empty()) {
        Map *blocklist = service.map("blocklist");
        if (!blocklist) {
            fail_command(fmt::format("apply blocklist {}: the program has no 'blocklist' map", o.blocklist));
        }
        auto domains = dpi::read_blocklist(o.blocklist);
        if (!domains) {
            fail_command(domains.error().message());
        }
        if (auto blocked = dpi::block(*blocklist, *domains); !blocked) {
            fail_command(blocked.error().message());
        }
        fmt::print("blocking {} domains from {}\n", domains->size(), o.blocklist);
    }

    std::unique_ptr<xdp::RingBufferReader> events;
    if (Map *ring = service.map("events")) {
        auto reader = xdp::RingBufferReader::open(xdp::map_fd(*ring), print_event);
        if (!reader) {
            fail_command(reader.error().message());
        }
        events = std::move(*reader);
    }
    Map *counters = service.map("counters");
    install_stop_handlers();
    fmt::print("running until SIGINT or SIGTERM\n");
    std::fflush(stdout);

    auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(o.interval));
    auto next_report = std::chrono::steady_clock::now() + period;
    while (!stop_requested) {
        if (events) {
            if (auto polled = events->poll(std::chrono::milliseconds(200)); !polled) {
                fmt::print(stderr, "harmony: {}\n", polled.error().message());
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
        if (counters && std::chrono::steady_clock::now() >= next_report) {
            print_counters(*counters);
            next_report += period;
        }
        std::fflush(stdout);
    }
    if (counters) {
        print_counters(*counters);
    }
    if (auto stopped = service.stop(); !stopped) {
        fail_command(stopped.error().message());
    }
    fmt::print("detached from {}{}\n", o.iface, o.egress.empty() ? "" : " and " + o.egress);
}

} // namespace

void add_run_command(CLI::App &app)
{
    auto options = std::make_shared<RunOptions>();
    auto *cmd = app.add_subcommand("run", "Attach a program to a live interface with XDP until SIGINT or SIGTERM");
    cmd->add_option("program", options->program, "BPF object (e.g. build/bpf/dpi.bpf.o)")->required();
    cmd->add_option("--iface", options->iface, "interface to attach to (ingress)")->required();
    cmd->add_option("--egress", options->egress, "forwarding mode: frames the program passes leave through this port");
    cmd->add_flag("--both-directions", options->both_directions, "forward egress -> iface too, one shared DPI state");
    cmd->add_option("--target", options->target,
                    "auto places it from live probes and falls back on refusal; xdp tries offload, native, generic "
                    "in order; the others force one")
        ->check(CLI::IsMember({"auto", "xdp", "xdp-offload", "xdp-native", "xdp-generic"}))
        ->capture_default_str();
    cmd->add_option("--blocklist", options->blocklist, "domains to block, one a line");
    cmd->add_option("--service", options->service, "service name for the pins (default: the program's name)");
    cmd->add_option("--interval", options->interval, "seconds between counter lines")->capture_default_str();
    cmd->footer("Maps are pinned under /sys/fs/bpf/harmony/SERVICE; a run killed without cleanup is detected\n"
                "and replaced by the next one.\n"
                "Example: harmony run build/bpf/dpi.bpf.o --iface veth0 --egress veth1 --both-directions \\\n"
                "           --blocklist ../shared/corpus/blocklist.txt");
    cmd->callback([options] { run_service(*options); });
}

} // namespace harmony::cli
