// `harmony bench`: the DPI program on every offline target, side by side with a no-DPI
// baseline and the native C++ DPI, on one trace and one pinned CPU (bench/bench.hpp).
#include "bench_program.hpp"
#include "commands.hpp"
#include "progress.hpp"
#include "services.hpp"
#include "targets.hpp"

#include "bench/bench.hpp"
#include "bench/live.hpp"
#include "common/dpi_control.hpp"
#include "host-runtime/target/host_target.hpp"
#include "offload/dpdk_target.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace harmony::cli {

namespace {

struct BenchCommandOptions {
    std::string pcap;
    std::string blocklist;
    std::string bpf_dir;
    std::vector<std::string> rows;
    uint32_t repeat = 5;
    uint32_t warmup = 1;
    uint32_t inner = 64;
    int cpu = -1;
    size_t kernel_sample = 200;
    std::string json;
    std::string svg;
    std::string program;
    bool progress = false;
    bool live = false;
    double seconds = 3;
    std::vector<std::string> live_targets = {"xdp", "dpdk", "dpdk-interp", "host", "host-interp"};
};

const std::vector<std::string> &all_rows()
{
    static const std::vector<std::string> rows = {"baseline",    "native", "xdp",         "dpdk",
                                                  "dpdk-interp", "host",   "host-interp", "hs-match",
                                                  "loop-scan",   "loop-scan-xdp"};
    return rows;
}

/// The built objects next to the executable: build/cli/harmony -> build/bpf/.
std::string default_bpf_dir()
{
    std::error_code error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? "build/bpf" : (exe.parent_path().parent_path() / "bpf").string();
}

std::string kernel_engine()
{
    std::ifstream in("/proc/sys/net/core/bpf_jit_enable");
    int enabled = 0;
    in >> enabled;
    return enabled ? "kernel JIT, BPF_PROG_TEST_RUN" : "kernel interpreter, BPF_PROG_TEST_RUN";
}

/// Which engine the dpdk target runs the program on: rte_bpf, or Harmony's VM when rte_bpf refuses it.
std::string dpdk_engine(const std::string &program, bool jit)
{
    dpdk::DpdkOptions options{.jit = jit};
    options.host_vm = host::load_vm;
    auto choice = dpdk::choose_engine(program, options);
    if (!choice) {
        return "unknown";
    }
    bool refused = choice->engine == dpdk::Engine::HarmonyJit || choice->engine == dpdk::Engine::HarmonyInterpreter;
    return fmt::format("{} on a net_ring queue{}", dpdk::engine_name(choice->engine),
                       refused ? " (rte_bpf refused dpi.bpf.o)" : "");
}

/// A row on the kernel: BPF_PROG_TEST_RUN with the same repeat as every row, on a sample of
/// the frames (bench::BenchCase::sample).
bench::BenchCase kernel_case(bench::BenchCase c, const BenchCommandOptions &o)
{
    c.sample = o.kernel_sample;
    return c;
}

bench::BenchCase dpi_case(const std::string &row, const std::string &dpi, const BenchCommandOptions &o)
{
    bench::BenchCase c{row, row, dpi, "", [blocklist = o.blocklist](LoadedProgram &program) {
                           return dpi::apply_blocklist(program, blocklist);
                       }};
    if (row == "native") {
        c.engine = "C++ (native::NativeDpi)";
    } else if (row == "xdp") {
        c.engine = kernel_engine();
        return kernel_case(std::move(c), o);
    } else if (row == "dpdk" || row == "dpdk-interp") {
        c.engine = dpdk_engine(dpi, row == "dpdk") + ", incl. mbuf alloc, copy, ring tx/rx";
    } else {
        c.engine = row == "host" ? "Harmony x86-64 JIT" : "Harmony interpreter";
    }
    return c;
}

bool readable(const std::string &path)
{
    std::error_code error;
    return std::filesystem::is_regular_file(path, error);
}

/// The Hyperscan rows: hs_match against a bounded-loop scan for the same literal, both on
/// Harmony's JIT (hs_match runs nowhere else), the loop on the kernel too. Absent objects
/// or pattern file: no rows, said on stderr.
std::optional<bench::BenchCase> scan_case(const std::string &row, const BenchCommandOptions &o)
{
    std::string object = o.bpf_dir + (row == "hs-match" ? "/scan_hs.bpf.o" : "/scan_loop.bpf.o");
    std::string patterns = bench::project_file("tests/data/regex/scan.patterns");
    if (!readable(object) || (row == "hs-match" && !readable(patterns))) {
        fmt::print(stderr, "harmony: bench: no {} row ({} or {} missing)\n", row, object, patterns);
        return std::nullopt;
    }
    if (row == "hs-match") {
        // Databases are process-wide and must exist before a program calling hs_match loads.
        if (auto installed = install_patterns({"1=" + patterns}); !installed) {
            fmt::print(stderr, "harmony: bench: no {} row: {}\n", row, installed.error().message());
            return std::nullopt;
        }
        return bench::BenchCase{row, "host", object, "Harmony x86-64 JIT + Hyperscan hs_match", {}, {}, {}};
    }
    if (row == "loop-scan") {
        return bench::BenchCase{row, "host", object, "Harmony x86-64 JIT, bounded loop", {}, {}, {}};
    }
    return kernel_case({row, "xdp", object, "bounded loop, " + kernel_engine(), {}, {}, {}}, o);
}

std::vector<bench::BenchCase> bench_cases(const BenchCommandOptions &o)
{
    std::string dpi = o.bpf_dir + "/dpi.bpf.o";
    std::vector<bench::BenchCase> cases;
    for (const auto &row : o.rows.empty() ? all_rows() : o.rows) {
        if (row.starts_with("hs-") || row.starts_with("loop-")) {
            if (auto c = scan_case(row, o)) {
                cases.push_back(std::move(*c));
            }
        } else if (row == "baseline") {
            bench::BenchCase baseline{"baseline", "xdp", o.bpf_dir + "/pass.bpf.o", "no DPI: " + kernel_engine(),
                                      {}, {}, {}};
            cases.push_back(kernel_case(std::move(baseline), o));
        } else {
            cases.push_back(dpi_case(row, dpi, o));
        }
    }
    return cases;
}

void write_output(const std::string &path, const std::string &text)
{
    if (path == "-") {
        fmt::print("{}", text);
        return;
    }
    std::ofstream out(path);
    out << text;
    if (!out) {
        fail_command(fmt::format("write {}: cannot write the file", path));
    }
}

/// The table on stdout, unless --json - puts the JSON there instead.
void print_report(const BenchCommandOptions &o, const std::string &markdown, const nlohmann::json &json)
{
    if (o.json != "-") {
        fmt::print("{}", markdown);
    }
    if (!o.json.empty()) {
        write_output(o.json, json.dump(2) + "\n");
    }
}

bench::Trace load_trace(const std::string &pcap)
{
    auto trace = pcap.empty() ? bench::default_trace() : bench::read_trace(pcap);
    if (!trace) {
        fail_command(trace.error().message());
    }
    return std::move(*trace);
}

/// --live: the DPI service forwarding between veth namespaces, one target after the other.
void run_live_command(const BenchCommandOptions &o, const bench::Trace &trace)
{
    ProgressBar bar(o.progress);
    bench::LiveOptions options{o.bpf_dir + "/dpi.bpf.o", o.blocklist, o.live_targets,
                               std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000)), {}};
    options.progress = [&bar](const std::string &target, size_t done, size_t total) {
        bar.update("live " + target, done, total);
    };
    auto report = bench::run_live(trace, start_service, options);
    bar.finish();
    if (!report) {
        fail_command(report.error().message());
    }
    print_report(o, bench::markdown(*report), bench::to_json(*report));
}

void run_bench_command(BenchCommandOptions o)
{
    if (!o.program.empty()) {
        auto report = run_program_bench({o.program, o.repeat, o.warmup, o.inner * 1000, o.cpu});
        print_report(o, report.markdown, report.json);
        return;
    }
    if (o.bpf_dir.empty()) {
        o.bpf_dir = default_bpf_dir();
    }
    if (o.blocklist.empty()) {
        o.blocklist = bench::default_blocklist();
    }
    bench::Trace trace = load_trace(o.pcap);
    if (o.live) {
        run_live_command(o, trace);
        return;
    }
    auto cases = bench_cases(o);

    ProgressBar bar(o.progress);
    bench::BenchOptions options{o.repeat, o.warmup, o.inner, o.cpu, {}};
    options.progress = [&bar](const std::string &row, size_t done, size_t total) { bar.update(row, done, total); };
    auto report = bench::run_bench(trace, cases, load_on_target, options);
    bar.finish();
    if (!report) {
        fail_command(report.error().message());
    }
    if (!o.svg.empty()) {
        write_output(o.svg, bench::svg(*report));
    }
    print_report(o, bench::markdown(*report), bench::to_json(*report));
}

} // namespace

void add_bench_command(CLI::App &app)
{
    auto options = std::make_shared<BenchCommandOptions>();
    auto *cmd = app.add_subcommand("bench", "Time the DPI program on every target, side by side, on one trace and CPU");
    cmd->add_option("--pcap", options->pcap,
                    "trace (default: ../shared/corpus/bench.pcap, else tests/data's captures concatenated)");
    cmd->add_option("--blocklist", options->blocklist, "domains to block (default: the corpus blocklist)");
    cmd->add_option("--bpf-dir", options->bpf_dir, "where dpi.bpf.o and pass.bpf.o are (default: next to harmony)");
    cmd->add_option("--rows", options->rows, "rows to run, in order (default: all)")
        ->check(CLI::IsMember(all_rows()))
        ->delimiter(',');
    cmd->add_option("--repeat", options->repeat, "timed passes over the trace per row")
        ->check(CLI::Range(1u, 1000u))
        ->capture_default_str();
    cmd->add_option("--warmup", options->warmup, "untimed passes first")->capture_default_str();
    cmd->add_option("--inner", options->inner,
                    "runs of each frame per timing call, on every row (the kernel rows' BPF_PROG_TEST_RUN repeat)")
        ->check(CLI::Range(1u, 100000u))
        ->capture_default_str();
    cmd->add_option("--cpu", options->cpu, "CPU to pin every row to (default: the current one)");
    cmd->add_option("--kernel-sample", options->kernel_sample,
                    "kernel rows: frames timed per pass, evenly spaced over the trace (a BPF_PROG_TEST_RUN call "
                    "with repeat > 1 sleeps 10-40 ms in the kernel)")
        ->check(CLI::Range(size_t{1}, size_t{1000000}))
        ->capture_default_str();

    cmd->add_option("--json", options->json, "write the results as JSON to FILE, or '-' for stdout (no table)");
    auto *svg = cmd->add_option("--svg", options->svg, "write a bar chart (ns/packet and Mpps per row) to FILE");
    cmd->add_flag("--live", options->live,
                  "live mode: client -> DUT -> server namespaces on veth, the DUT forwarding with the DPI service "
                  "on each target in turn; packets per second judged and received")
        ->excludes(svg);
    cmd->add_option("--seconds", options->seconds, "live mode: seconds of traffic per target")
        ->check(CLI::Range(0.1, 600.0))
        ->capture_default_str();
    cmd->add_option("--live-targets", options->live_targets, "live mode: targets, in order")
        ->check(CLI::IsMember(live_targets()))
        ->delimiter(',')
        ->capture_default_str();
    cmd->add_flag("--progress", options->progress, "draw the progress bar even when stderr is not a terminal");
    cmd->add_option("--program", options->program,
                    "time this program instead of the DPI: a .data file of the conformance suite's format (asm or "
                    "raw, mem, result), on the interpreter and the JIT, --inner x 1000 runs per pass")
        ->check(CLI::ExistingFile)
        ->excludes(svg)
        ->excludes("--live")
        ->excludes("--rows")
        ->excludes("--pcap");
    cmd->footer("Prints a Markdown table: ns/packet (median, min-max, stddev over the passes), Mpps and Gbps per\n"
                "core, and the ratio to the no-DPI baseline (pass.bpf.o) and to the native C++ DPI. Every row runs\n"
                "each frame --inner times back to back; the kernel rows time --kernel-sample frames of the trace.\n"
                "--live prints sent, judged, passed (the DPI's PASS count), received and lost per target.\n"
                "--program verifies the program (r1 = its memory, as rte_bpf's frame window), requires both engines\n"
                "to return the same r0 (and the file's result), and prints ns per run and the interpreter/JIT ratio.\n"
                "Example: harmony bench --repeat 5 --json bench.json --svg bench.svg\n"
                "Example: harmony bench --pcap tests/data/basic.pcap --rows baseline,native,host --json -\n"
                "Example: harmony bench --live --seconds 3 --live-targets xdp,host\n"
                "Example: harmony bench --program bench/programs/random-successors.data");
    cmd->callback([options] { run_bench_command(*options); });
}

} // namespace harmony::cli
