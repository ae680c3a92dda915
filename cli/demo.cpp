// `harmony demo [--targets LIST] [--json] [--keep]`: the paper's setup, live. Three network
// namespaces (client, DUT, server), dpi.bpf.o placed on the DUT's ingress veth, then run on
// every target in turn, forwarding both ways between client and server with the blocklist
// applied, while the client fetches the paper's seven home pages by HTTP and sends their TLS
// ClientHellos. Prints domain -> blocked/allowed per target and protocol and exits 0 only
// when every target agrees with the blocklist; --keep leaves the lab and the last service up
// until Ctrl-C.
#include "commands.hpp"
#include "demo_lab.hpp"
#include "services.hpp"

#include "capabilities/capabilities.hpp"
#include "common/dpi_control.hpp"
#include "common/map_control.hpp"
#include "offload/eal.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

namespace harmony::cli {
namespace {

namespace fs = std::filesystem;

// The paper's test: the home pages of its four blocked sites and of three others.
const std::vector<std::string> kDomains = {"yahoo.com",  "facebook.com", "example.com", "youtube.com",
                                           "vmware.com", "google.com",   "slashdot.org"};

struct DemoArgs {
    std::string program;
    std::string blocklist;
    std::string targets = "xdp-native,xdp-generic,dpdk,host";
    int timeout_ms = 1500;
    bool json = false;
    bool keep = false;
};

/// What became of one domain's fetch over one protocol.
struct Verdict {
    bool blocked = false;
    std::string detail;
};

struct DomainResult {
    std::string domain;
    bool expected_blocked = false;
    Verdict http;
    Verdict tls;

    bool agrees() const { return http.blocked == expected_blocked && tls.blocked == expected_blocked; }
};

struct TargetRun {
    std::string target;
    std::string status = "ran"; ///< "ran", "skipped" (placement excludes it), "failed"
    std::string reason;
    std::vector<std::string> describe;
    std::vector<DomainResult> results;
    uint64_t passed = 0, dropped = 0;

    bool agrees() const
    {
        return status == "skipped" ||
               (status == "ran" && std::all_of(results.begin(), results.end(), [](auto &r) { return r.agrees(); }));
    }
};

std::atomic<bool> interrupted{false};

void on_signal(int)
{
    interrupted = true;
}

void install_signal_handlers()
{
    struct sigaction action{};
    action.sa_handler = on_signal; // no SA_RESTART: a waiting poll returns at once
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGHUP, &action, nullptr);
    sigaction(SIGPIPE, &action, nullptr); // `harmony demo | head` must still clean up
}

/// The build's own files, found from the executable (BUILD/cli/harmony): BUILD/bpf/dpi.bpf.o,
/// and the source tree above BUILD.
fs::path exe_dir()
{
    std::error_code ec;
    return fs::read_symlink("/proc/self/exe", ec).parent_path();
}

std::string default_program()
{
    return (exe_dir() / ".." / "bpf" / "dpi.bpf.o").lexically_normal().string();
}

std::string default_blocklist()
{
    fs::path source = (exe_dir() / ".." / "..").lexically_normal();
    for (const fs::path &candidate : {fs::path("../shared/corpus/blocklist.txt"),
                                      source / "../shared/corpus/blocklist.txt",
                                      fs::path("tests/data/blocklist.txt"), source / "tests/data/blocklist.txt"}) {
        if (fs::exists(candidate)) {
            return candidate.lexically_normal().string();
        }
    }
    return "tests/data/blocklist.txt";
}

bool listed(const std::vector<std::string> &blocklist, const std::string &domain)
{
    // A name is blocked when it or a parent domain is listed (the corpus README's rule).
    return std::any_of(blocklist.begin(), blocklist.end(), [&](const std::string &entry) {
        return domain == entry || (domain.size() > entry.size() && domain.ends_with("." + entry));
    });
}

std::vector<std::string> split(const std::string &list)
{
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) {
            items.push_back(list.substr(start, comma - start));
        }
        start = comma + 1;
    }
    return items;
}

/// Why placement leaves `target` out, or empty when it is a candidate (or not a placement name).
std::string excluded_because(const caps::Placement &placement, const std::string &target)
{
    auto parsed = caps::parse_target(target);
    if (!parsed) {
        return {};
    }
    const caps::Exclusion *exclusion = placement.exclusion(*parsed);
    if (!exclusion) {
        return {};
    }
    return exclusion->reasons.empty() ? "excluded by placement" : exclusion->reasons.front();
}

void say(const DemoArgs &args, const std::string &line)
{
    if (!args.json) {
        fmt::print("{}\n", line);
        std::fflush(stdout);
    }
}

Result<std::unique_ptr<Service>> start_on_dut(const demo::Lab &lab, const DemoArgs &args, const std::string &target)
{
    ServiceSpec spec;
    spec.program = args.program;
    spec.name = lab.service_name(target);
    spec.ingress = lab.dut_ingress();
    spec.egress = lab.dut_egress();
    spec.both_directions = true; // the DUT alone joins client and server: the answers come back through it too
    auto inside = demo::InNamespace::enter(lab.ns("dut"));
    if (!inside) {
        return std::unexpected(inside.error());
    }
    return start_service(target, spec);
}

void fetch_all(const demo::Lab &lab, const DemoArgs &args, const std::vector<std::string> &blocklist, TargetRun &run)
{
    auto timeout = std::chrono::milliseconds(args.timeout_ms);
    // The first frames of a fresh service may race its start (ARP, socket bind): warm up on an
    // allowed page, which the table then fetches again anyway.
    for (const std::string &domain : kDomains) {
        if (!listed(blocklist, domain)) {
            for (int i = 0; i < 3 && !interrupted; ++i) {
                if (demo::fetch_home_page(lab.ns("client"), lab.server_address(), domain, timeout).answered) {
                    break;
                }
            }
            break;
        }
    }
    if (interrupted) {
        return;
    }
    // All at once, each on its own connection: a blocked fetch costs one timeout, not one each.
    std::vector<std::pair<std::future<demo::Fetch>, std::future<demo::Fetch>>> fetches;
    for (const std::string &domain : kDomains) {
        fetches.emplace_back(std::async(std::launch::async, demo::fetch_home_page, lab.ns("client"),
                                        lab.server_address(), domain, timeout),
                             std::async(std::launch::async, demo::send_client_hello, lab.ns("client"),
                                        lab.server_address(), domain, timeout));
    }
    for (size_t i = 0; i < kDomains.size(); ++i) {
        demo::Fetch http = fetches[i].first.get();
        demo::Fetch tls = fetches[i].second.get();
        run.results.push_back(
            {kDomains[i], listed(blocklist, kDomains[i]), {!http.answered, http.detail}, {!tls.answered, tls.detail}});
    }
}

/// Runs the demo on `target`; the service is stopped afterwards unless `kept` takes it.
TargetRun run_target(const demo::Lab &lab, const DemoArgs &args, const std::vector<std::string> &blocklist,
                     const std::string &target, std::unique_ptr<Service> *kept)
{
    TargetRun run{target};
    auto service = start_on_dut(lab, args, target);
    if (!service) {
        return {target, "failed", service.error().message()};
    }
    for (const std::string &how : (*service)->describe()) {
        if (how.starts_with("attached")) {
            say(args, "  " + how);
        }
    }
    Map *map = (*service)->map("blocklist");
    auto applied = map ? dpi::block(*map, blocklist)
                       : fail("apply blocklist", args.program, "no 'blocklist' map on " + target);
    if (!applied) {
        run.status = "failed";
        run.reason = applied.error().message();
    } else {
        fetch_all(lab, args, blocklist, run);
    }
    run.describe = (*service)->describe(); // after the fetches: with what it forwarded and dropped
    if (Map *counters = (*service)->map("counters")) {
        if (auto totals = dpi::read_counters(*counters)) {
            run.passed = (*totals)[DPI_CNT_PASS];
            run.dropped = (*totals)[DPI_CNT_DROP];
        }
    }
    if (kept && run.status == "ran" && !interrupted) {
        *kept = std::move(*service);
        return run;
    }
    if (auto stopped = (*service)->stop(); !stopped && run.status == "ran") {
        run.status = "failed";
        run.reason = stopped.error().message();
    }
    return run;
}

std::string cell(const Verdict &verdict, bool expected_blocked)
{
    // "!" marks a verdict that disagrees with the blocklist; the summary lists them as WRONG.
    return std::string(verdict.blocked ? "blocked" : "allowed") + (verdict.blocked == expected_blocked ? "" : "!");
}

void print_summary(const std::vector<TargetRun> &runs)
{
    for (const TargetRun &run : runs) {
        std::string line = run.status == "ran" ? fmt::format("dpi counters: pass {} drop {}", run.passed, run.dropped)
                                               : run.reason;
        fmt::print("{:<12} {:<8} {}: {}\n", run.target, run.agrees() ? "agrees" : "DISAGREES", run.status, line);
        for (const std::string &how : run.describe) {
            // The gist here (how it is attached, which engine); --json has every line.
            if (how.starts_with("attached") || how.starts_with("engine:") || how.starts_with("forwarded")) {
                fmt::print("             {}\n", how);
            }
        }
        for (const DomainResult &r : run.results) {
            for (const auto &[proto, verdict] : {std::pair{"http", &r.http}, std::pair{"tls", &r.tls}}) {
                if (verdict->blocked != r.expected_blocked) {
                    fmt::print("             WRONG: {} over {} {}: {}\n", r.domain, proto,
                               verdict->blocked ? "blocked" : "allowed", verdict->detail);
                }
            }
        }
    }
}

/// Prints one line of the table without the padding of its last column.
void print_line(std::string line)
{
    line.erase(line.find_last_not_of(' ') + 1);
    fmt::print("{}\n", line);
}

void print_table(const std::vector<TargetRun> &runs)
{
    std::string targets = fmt::format("{:<14} {:<9}", "domain", "expected");
    std::string protocols = fmt::format("{:<24}", "");
    for (const TargetRun &run : runs) {
        targets += fmt::format(" {:<19}", run.target);
        protocols += fmt::format(" {:<9} {:<9}", "http", "tls");
    }
    fmt::print("\n");
    print_line(targets);
    print_line(protocols);
    for (size_t i = 0; i < kDomains.size(); ++i) {
        const TargetRun *any = nullptr;
        for (const TargetRun &run : runs) {
            any = i < run.results.size() ? &run : any;
        }
        bool expected = any ? any->results[i].expected_blocked : false;
        std::string line = fmt::format("{:<14} {:<9}", kDomains[i], any ? (expected ? "blocked" : "allowed") : "-");
        for (const TargetRun &run : runs) {
            if (i >= run.results.size()) {
                line += fmt::format(" {:<19}", run.status == "ran" ? "-" : run.status);
                continue;
            }
            const DomainResult &r = run.results[i];
            line += fmt::format(" {:<9} {:<9}", cell(r.http, expected), cell(r.tls, expected));
        }
        print_line(line);
    }
    fmt::print("\n");
    print_summary(runs);
}

nlohmann::json to_json(const TargetRun &run)
{
    nlohmann::json results = nlohmann::json::array();
    for (const DomainResult &r : run.results) {
        auto verdict = [&](const Verdict &v) {
            return nlohmann::json{{"observed", v.blocked ? "blocked" : "allowed"},
                                  {"match", v.blocked == r.expected_blocked},
                                  {"detail", v.detail}};
        };
        results.push_back({{"domain", r.domain},
                           {"expected", r.expected_blocked ? "blocked" : "allowed"},
                           {"http", verdict(r.http)},
                           {"tls", verdict(r.tls)},
                           {"match", r.agrees()}});
    }
    return {{"target", run.target}, {"status", run.status},   {"reason", run.reason},   {"describe", run.describe},
            {"results", results},   {"agrees", run.agrees()}, {"dpi_pass", run.passed}, {"dpi_drop", run.dropped}};
}

Result<caps::Placement> place_on_dut(const demo::Lab &lab, const DemoArgs &args)
{
    auto inside = demo::InNamespace::enter(lab.ns("dut"));
    if (!inside) {
        return std::unexpected(inside.error());
    }
    caps::PlaceOptions options;
    options.interface = lab.dut_ingress();
    return caps::place_program(args.program, options);
}

/// --keep: the lab and the last service stay up, their maps served to `harmony map`, until
/// Ctrl-C (which ends the demo normally then).
void keep_until_interrupted(const demo::Lab &lab, const DemoArgs &args, Service &service)
{
    std::string name = lab.service_name(std::string(service.target()));
    auto control = MapControlServer::start(name, service);
    std::FILE *out = args.json ? stderr : stdout; // stdout holds the JSON document then
    if (!control) {
        fmt::print(out, "harmony map cannot reach the service: {}\n", control.error().message());
    }
    std::string client = "nsenter --net=/run/netns/" + lab.ns("client");
    fmt::print(out,
               "\nkeeping the lab and the {} service '{}' up until Ctrl-C; try:\n"
               "  harmony map dump --service {} --map counters --decode\n"
               "  harmony map block --service {} example.com\n"
               "  {} curl -s -H 'Host: example.com' http://{}/\n"
               "  {} curl -s -m 2 -H 'Host: facebook.com' http://{}/   (blocked: times out)\n"
               "  ip netns exec {} ip -s link   (the DUT's veths d0, d1)\n",
               service.target(), name, name, name, client, lab.server_address(), client, lab.server_address(),
               lab.ns("dut"));
    std::fflush(out);
    while (!interrupted) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (control) {
        control->reset(); // no map requests into a stopped service
    }
    (void)service.stop();
}

/// The demo proper; returns the exit status. Everything it creates is gone when it returns.
int run_demo(DemoArgs args)
{
    auto blocklist = dpi::read_blocklist(args.blocklist);
    if (!blocklist) {
        fail_command(blocklist.error().message(), 2);
    }
    for (const std::string &line : demo::remove_leftovers()) {
        say(args, "removed leftover of an earlier run: " + line);
    }
    auto lab = demo::Lab::create();
    if (!lab) {
        fail_command(lab.error().message());
    }
    auto server = demo::HttpServer::start((*lab)->ns("server"), (*lab)->server_address());
    if (!server) {
        fail_command(server.error().message());
    }
    say(args, fmt::format("lab: {} (c0 10.77.9.1) <-> (d0) {} (d1) <-> {} (s0 {}); blocklist {}",
                          (*lab)->ns("client"), (*lab)->ns("dut"), (*lab)->ns("server"), (*lab)->server_address(),
                          args.blocklist));
    auto placement = place_on_dut(**lab, args);
    if (!placement) {
        fail_command(placement.error().message());
    }
    say(args, placement->text());
    std::vector<TargetRun> runs;
    std::unique_ptr<Service> kept;
    for (const std::string &target : split(args.targets)) {
        if (interrupted) {
            break;
        }
        if (std::string why = excluded_because(*placement, target); !why.empty()) {
            runs.push_back({target, "skipped", why});
            continue;
        }
        if (kept) {
            (void)kept->stop(); // two services on one pair of interfaces would fight over the frames
            kept.reset();
        }
        say(args, "running on " + target + " ...");
        runs.push_back(run_target(**lab, args, *blocklist, target, args.keep ? &kept : nullptr));
    }
    bool agree = !runs.empty() && std::all_of(runs.begin(), runs.end(), [](auto &r) { return r.agrees(); }) &&
                 std::any_of(runs.begin(), runs.end(), [](auto &r) { return r.status == "ran"; });
    if (args.json) {
        nlohmann::json doc = {{"placement", caps::to_json(*placement)},
                              {"blocklist", args.blocklist},
                              {"targets", nlohmann::json::array()},
                              {"agree", agree},
                              {"interrupted", interrupted.load()}};
        for (const TargetRun &run : runs) {
            doc["targets"].push_back(to_json(run));
        }
        fmt::print("{}\n", doc.dump(2));
    } else {
        print_table(runs);
    }
    if (kept && !interrupted) {
        keep_until_interrupted(**lab, args, *kept);
    } else if (kept) {
        (void)kept->stop();
    }
    if (interrupted && !kept) {
        return 130;
    }
    return agree ? 0 : 1;
}

/// After a dpdk run the EAL's threads end, so the demo leaves no DPDK state behind.
void shut_down_dpdk()
{
    if (dpdk::Eal *eal = dpdk::Eal::running()) {
        (void)eal->shutdown();
    }
}

} // namespace

void add_demo_command(CLI::App &app)
{
    auto args = std::make_shared<DemoArgs>();
    CLI::App *cmd = app.add_subcommand("demo", "The paper's setup in network namespaces: DPI on every target, "
                                               "seven home pages fetched through it by HTTP and TLS");
    cmd->add_option("--targets", args->targets, "Targets to run on, comma-separated")->capture_default_str();
    cmd->add_option("--program", args->program, "BPF object (default: the build's dpi.bpf.o)");
    cmd->add_option("--blocklist", args->blocklist,
                    "Blocklist (default: ../shared/corpus/blocklist.txt, else tests/data/blocklist.txt)");
    cmd->add_option("--timeout-ms", args->timeout_ms, "A page not answered within this is blocked")
        ->capture_default_str();
    cmd->add_flag("--json", args->json, "Print the placement and the results as JSON");
    cmd->add_flag("--keep", args->keep, "Leave the lab and the last target's service running until Ctrl-C");
    cmd->footer("Example: harmony demo\n"
                "Example: harmony demo --targets xdp-native,host --json\n"
                "Example: harmony demo --targets dpdk --blocklist tests/data/blocklist.txt --keep");
    cmd->callback([args] {
        DemoArgs a = *args;
        a.program = a.program.empty() ? default_program() : a.program;
        a.blocklist = a.blocklist.empty() ? default_blocklist() : a.blocklist;
        install_signal_handlers();
        int status = 1;
        try {
            status = run_demo(a);
        } catch (const CLI::RuntimeError &) {
            throw;
        } catch (const std::exception &e) { // e.g. stdout closed: the lab is already gone (unwound)
            fmt::print(stderr, "harmony: demo: {}\n", e.what());
        }
        shut_down_dpdk();
        if (status != 0) {
            throw CLI::RuntimeError(status);
        }
    });
}

} // namespace harmony::cli
