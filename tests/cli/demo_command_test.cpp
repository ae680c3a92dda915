// `harmony demo` as a user runs it: the paper's three-namespace lab, dpi.bpf.o placed and
// run on the targets asked for (dpdk included: a pure DPDK forwarder both ways), the table of
// seven home pages by HTTP and by TLS ClientHello agreeing with the blocklist, --keep, and
// nothing left behind — after a normal run, after SIGINT (also in the dpdk phase), and
// (cleaned by the next run) after SIGKILL.
#include "tests/support/process.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>
#include <unistd.h>

using namespace harmony::test;

namespace {

const std::string kTimeout = "1000"; // ms a blocked fetch waits: short, and plenty on veths

/// Namespaces and pin folders a demo run with this pid left.
std::string leftovers_of(pid_t pid)
{
    std::string prefix = "hdemo-" + std::to_string(pid) + "-";
    std::string found;
    std::istringstream names(run_command("ip netns list").output);
    for (std::string line; std::getline(names, line);) {
        found += line.starts_with(prefix) ? line + "\n" : "";
    }
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator("/sys/fs/bpf/harmony", ec)) {
        found += entry.path().filename().string().starts_with(prefix) ? entry.path().string() + "\n" : "";
    }
    return found;
}

/// What the DUT's DPDK EAL left on disk for the process `pid` (its runtime folder).
bool dpdk_leftovers_of(pid_t pid)
{
    return std::filesystem::exists("/var/run/dpdk/harmony-" + std::to_string(pid));
}

/// A table row: the domain, what the blocklist says, then http and tls for each target.
std::string row(const std::string &domain, const std::string &verdict, size_t targets)
{
    char start[64];
    std::snprintf(start, sizeof(start), "%-14s %-9s", domain.c_str(), verdict.c_str());
    std::string line = start;
    for (size_t i = 0; i < 2 * targets; ++i) {
        char cell[16];
        std::snprintf(cell, sizeof(cell), " %-9s", verdict.c_str());
        line += cell;
    }
    return line.erase(line.find_last_not_of(' ') + 1); // the demo prints no padding at the end
}

/// `harmony demo ARGS` in the background, output to a file; pid() is the demo's own.
class Demo : public Background {
public:
    explicit Demo(const std::vector<std::string> &args) : Background("", command(args), output_file()) {}

private:
    static std::string command(const std::vector<std::string> &args)
    {
        std::string line = kHarmony + " demo";
        for (const auto &arg : args) {
            line += " " + arg;
        }
        return line;
    }
    static std::filesystem::path output_file()
    {
        static int counter = 0;
        return std::filesystem::temp_directory_path() /
               ("hx-demo-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    }
};

bool can_run()
{
    if (geteuid() != 0) {
        WARN("skipped: the demo needs root (network namespaces, XDP)");
        return false;
    }
    if (access(kHarmony.c_str(), X_OK) != 0 || access(kDpi.c_str(), R_OK) != 0) {
        WARN("skipped: harmony or dpi.bpf.o is not built");
        return false;
    }
    return true;
}

} // namespace

TEST_CASE("harmony demo: every target agrees with the blocklist, nothing left behind", "[cli][demo][netns]")
{
    if (!can_run()) {
        return;
    }
    Demo demo({"--targets", "xdp-native,dpdk,host", "--blocklist", kBlocklist, "--timeout-ms", kTimeout});
    int status = demo.finish();
    std::string out = demo.output();
    INFO(out);
    CHECK(status == 0);
    CHECK(contains(out, "placement of " + kDpi + " prog 'dpi' on d0"));
    CHECK(contains(out, "1. xdp-native (linux)"));
    CHECK(contains(out, "domain         expected  xdp-native          dpdk                host"));
    CHECK(contains(out, "                         http      tls       http      tls       http      tls"));
    CHECK(contains(out, row("facebook.com", "blocked", 3)));
    for (const char *allowed :
         {"yahoo.com", "example.com", "youtube.com", "vmware.com", "google.com", "slashdot.org"}) {
        CHECK(contains(out, row(allowed, "allowed", 3)));
    }
    CHECK_FALSE(contains(out, "WRONG"));
    CHECK(contains(out, "xdp-native   agrees   ran: dpi counters: pass"));
    CHECK(contains(out, "host         agrees   ran: dpi counters: pass"));
    // dpdk forwards both ways itself: no kernel return path in between.
    CHECK(contains(out, "dpdk         agrees   ran: dpi counters: pass"));
    CHECK(contains(out, "attached: dpdk net_af_packet on d1, PASS out of d0 (both directions, one state)"));
    CHECK(leftovers_of(demo.pid()).empty());
    CHECK_FALSE(dpdk_leftovers_of(demo.pid()));
}

TEST_CASE("harmony demo: a target that cannot run makes it fail; bad input stops it at once", "[cli][demo][netns]")
{
    if (!can_run()) {
        return;
    }
    Demo unknown({"--targets", "host,no-such-target", "--blocklist", kBlocklist, "--timeout-ms", kTimeout});
    CHECK(unknown.finish() == 1);
    INFO(unknown.output());
    CHECK(contains(unknown.output(), "host         agrees"));
    CHECK(contains(unknown.output(), "no-such-target DISAGREES failed: "));
    CHECK(contains(unknown.output(), "not a live target"));
    CHECK(leftovers_of(unknown.pid()).empty());

    Demo no_blocklist({"--blocklist", "/nonexistent/blocklist.txt"});
    CHECK(no_blocklist.finish() == 2);
    CHECK(contains(no_blocklist.output(), "/nonexistent/blocklist.txt"));
    CHECK(leftovers_of(no_blocklist.pid()).empty());
}

TEST_CASE("harmony demo: SIGINT cleans up; a SIGKILLed run's leftovers go with the next run", "[cli][demo][netns]")
{
    if (!can_run()) {
        return;
    }
    SECTION("SIGINT while dpdk forwards")
    {
        // A long timeout keeps the blocked fetches, and so the dpdk phase, going when the signal comes.
        Demo demo({"--targets", "dpdk", "--blocklist", kBlocklist, "--timeout-ms", "4000"});
        REQUIRE(demo.wait_for("  attached: dpdk net_af_packet on d1"));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        CHECK_FALSE(leftovers_of(demo.pid()).empty()); // the lab is up
        demo.signal(SIGINT);
        CHECK(demo.finish(std::chrono::seconds(30)) == 130);
        INFO(demo.output());
        // The DUT's veths (the only interfaces put in promiscuous mode) went with its namespace.
        CHECK(leftovers_of(demo.pid()).empty());
        CHECK_FALSE(dpdk_leftovers_of(demo.pid()));
        CHECK_FALSE(std::filesystem::exists("/proc/" + std::to_string(demo.pid()))); // no DPDK process either
    }
    SECTION("SIGKILL, then another run")
    {
        pid_t killed = 0;
        {
            Demo demo({"--targets", "xdp-native", "--blocklist", kBlocklist, "--timeout-ms", kTimeout});
            REQUIRE(demo.wait_for("running on xdp-native"));
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            demo.signal(SIGKILL);
            CHECK(demo.finish(std::chrono::seconds(10)) == 128 + SIGKILL);
            killed = demo.pid();
        }
        REQUIRE_FALSE(leftovers_of(killed).empty());
        Demo next({"--targets", "host", "--blocklist", kBlocklist, "--timeout-ms", kTimeout});
        CHECK(next.finish() == 0);
        INFO(next.output());
        CHECK(contains(next.output(), "removed leftover of an earlier run: namespace hdemo-" + std::to_string(killed)));
        CHECK(leftovers_of(killed).empty());
        CHECK(leftovers_of(next.pid()).empty());
    }
}

TEST_CASE("harmony demo --keep: the lab and the last service stay up, reachable, until Ctrl-C", "[cli][demo][netns]")
{
    if (!can_run()) {
        return;
    }
    Demo demo({"--targets", "host,dpdk", "--keep", "--blocklist", kBlocklist, "--timeout-ms", kTimeout});
    REQUIRE(demo.wait_for("up until Ctrl-C"));
    std::string pid = std::to_string(demo.pid());
    std::string service = "hdemo-" + pid + "-dpdk";
    std::string client = "nsenter --net=/run/netns/hdemo-" + pid + "-client ";
    std::string out = demo.output();
    INFO(out);
    CHECK(contains(out, "keeping the lab and the dpdk service '" + service + "'"));
    CHECK(contains(out, "harmony map dump --service " + service + " --map counters --decode"));
    CHECK(contains(out, client + "curl -s -H 'Host: example.com' http://10.77.9.2/"));

    std::string counters = run_command(kHarmony + " map dump --service " + service + " --map counters --decode").output;
    INFO(counters);
    CHECK(contains(counters, "pass"));
    CHECK(contains(run_command(client + "curl -s -m 2 -H 'Host: example.com' http://10.77.9.2/").output,
                   "harmony page for example.com"));
    CHECK(run_command(kHarmony + " map block --service " + service + " example.com").output.find("block done") !=
          std::string::npos);
    CHECK(run_command(client + "curl -s -m 1 -H 'Host: example.com' http://10.77.9.2/").output.empty()); // now blocked

    demo.signal(SIGINT);
    CHECK(demo.finish(std::chrono::seconds(30)) == 0); // Ctrl-C is how a kept demo ends
    CHECK(leftovers_of(demo.pid()).empty());
    CHECK_FALSE(dpdk_leftovers_of(demo.pid()));
    CHECK_FALSE(std::filesystem::exists("/run/harmony/ctl/" + service + ".sock"));
}
