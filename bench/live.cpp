#include "live.hpp"

#include "common/dpi_control.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace harmony::bench {

namespace {

constexpr size_t kBatch = 64;
constexpr size_t kMaxFrame = 1514; // veth's 1500-byte MTU plus the Ethernet header
constexpr auto kDrain = std::chrono::milliseconds(300);

Result<std::string> shell(const std::string &command)
{
    FILE *pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) {
        return fail("run", command, std::strerror(errno));
    }
    std::string output;
    char chunk[512];
    while (size_t n = fread(chunk, 1, sizeof(chunk), pipe)) {
        output.append(chunk, n);
    }
    int status = pclose(pipe);
    if (status != 0) {
        return fail("run", command, output.empty() ? fmt::format("exit status {}", status) : output);
    }
    return output;
}

/// Runs the calling thread in a named network namespace until destroyed.
class InNamespace {
public:
    static Result<std::unique_ptr<InNamespace>> enter(const std::string &name)
    {
        auto guard = std::unique_ptr<InNamespace>(new InNamespace);
        guard->original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        int target = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
        bool entered = guard->original_ >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
        int err = errno;
        if (target >= 0) {
            close(target);
        }
        if (!entered) {
            return fail("enter namespace", name, std::strerror(err));
        }
        return guard;
    }
    ~InNamespace()
    {
        if (original_ >= 0) {
            setns(original_, CLONE_NEWNET);
            close(original_);
        }
    }

private:
    InNamespace() = default;
    int original_ = -1;
};

/// client c0 <-> d0 dut d1 <-> s0 server, removed on destruction.
class Lab {
public:
    static Result<std::unique_ptr<Lab>> create()
    {
        auto lab = std::unique_ptr<Lab>(new Lab);
        std::string p = lab->prefix_;
        for (const char *role : {"client", "dut", "server"}) {
            // No IPv6 on the lab's own interfaces: their neighbour discovery would add to the counts.
            std::string add = fmt::format("ip netns add {0}-{1} && ip -n {0}-{1} link set lo up && "
                                          "ip netns exec {0}-{1} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
                                          "net.ipv6.conf.default.disable_ipv6=1",
                                          p, role);
            if (auto made = shell(add);
                !made) {
                return std::unexpected(made.error());
            }
            lab->made_.push_back(p + "-" + role);
        }
        std::string setup = fmt::format(
            "ip link add c0 netns {0}-client type veth peer name d0 netns {0}-dut && "
            "ip link add d1 netns {0}-dut type veth peer name s0 netns {0}-server && "
            "ip -n {0}-client link set c0 up && ip -n {0}-dut link set d0 up && ip -n {0}-dut link set d1 up && "
            "ip -n {0}-server link set s0 up && "
            // veth delivers XDP_REDIRECTed frames only to a peer with NAPI on (GRO) or an XDP program.
            "ip netns exec {0}-server ethtool -K s0 gro on >/dev/null && "
            "ip netns exec {0}-dut ethtool -K d0 gro on >/dev/null",
            p);
        if (auto made = shell(setup); !made) {
            return std::unexpected(made.error());
        }
        return lab;
    }
    ~Lab()
    {
        for (const auto &ns : made_) {
            shell("ip netns del " + ns);
        }
    }
    std::string ns(const std::string &role) const { return prefix_ + "-" + role; }

private:
    Lab() : prefix_(fmt::format("hbench{}", getpid())) {}
    std::string prefix_;
    std::vector<std::string> made_;
};

Result<nlohmann::json> link_json(const std::string &ns, const std::string &interface)
{
    auto text = shell(fmt::format("ip -n {} -j -s link show {}", ns, interface));
    if (!text) {
        return std::unexpected(text.error());
    }
    auto parsed = nlohmann::json::parse(*text, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_array() || parsed.empty()) {
        return fail("read link", ns + "/" + interface, "ip -j printed no link");
    }
    return parsed[0];
}

Result<uint64_t> rx_packets(const std::string &ns, const std::string &interface)
{
    auto link = link_json(ns, interface);
    if (!link) {
        return std::unexpected(link.error());
    }
    return (*link)["stats64"]["rx"]["packets"].get<uint64_t>();
}

Result<Bytes> mac_of(const std::string &ns, const std::string &interface)
{
    auto link = link_json(ns, interface);
    if (!link) {
        return std::unexpected(link.error());
    }
    Bytes mac(ETH_ALEN);
    std::string text = (*link)["address"].get<std::string>();
    if (std::sscanf(text.c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
                    &mac[5]) != ETH_ALEN) {
        return fail("read MAC", ns + "/" + interface, "'" + text + "' is not a MAC address");
    }
    return mac;
}

/// The trace as the client sends it: addressed from c0 to d0, frames over the MTU left out.
Result<std::vector<Bytes>> addressed_frames(const Trace &trace, const Lab &lab)
{
    auto to = mac_of(lab.ns("dut"), "d0");
    auto from = mac_of(lab.ns("client"), "c0");
    if (!to || !from) {
        return std::unexpected(to ? from.error() : to.error());
    }
    std::vector<Bytes> frames;
    for (const auto &frame : trace.frames) {
        if (frame.size() >= ETH_HLEN && frame.size() <= kMaxFrame) {
            Bytes copy = frame;
            std::copy(to->begin(), to->end(), copy.begin());
            std::copy(from->begin(), from->end(), copy.begin() + ETH_ALEN);
            frames.push_back(std::move(copy));
        }
    }
    return frames;
}

Result<int> client_socket(const Lab &lab)
{
    auto inside = InNamespace::enter(lab.ns("client"));
    if (!inside) {
        return std::unexpected(inside.error());
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); // protocol 0: send only, nothing queued to read
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_ifindex = static_cast<int>(if_nametoindex("c0"));
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0) {
        int err = errno;
        if (fd >= 0) {
            close(fd);
        }
        return fail("open AF_PACKET socket", "c0", std::strerror(err));
    }
    return fd;
}

/// Sends the frames round and round for `duration`; returns how many the socket took.
uint64_t send_for(int fd, const std::vector<Bytes> &frames, const LiveOptions &options, const std::string &target)
{
    std::vector<mmsghdr> messages(kBatch);
    std::vector<iovec> vectors(kBatch);
    uint64_t sent = 0;
    size_t next = 0;
    auto start = std::chrono::steady_clock::now();
    auto end = start + options.duration;
    for (auto now = start; now < end; now = std::chrono::steady_clock::now()) {
        for (size_t i = 0; i < kBatch; i++, next = (next + 1) % frames.size()) {
            vectors[i] = {const_cast<uint8_t *>(frames[next].data()), frames[next].size()};
            messages[i] = {};
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        int n = sendmmsg(fd, messages.data(), kBatch, 0);
        if (n > 0) {
            sent += static_cast<uint64_t>(n);
        }
        if (options.progress) {
            auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
            options.progress(target, static_cast<size_t>(elapsed.count()),
                             static_cast<size_t>(options.duration.count()));
        }
    }
    return sent;
}

/// The DPI's own counts: packets judged and packets it passed (the rest it dropped).
struct Judged {
    uint64_t packets = 0, passed = 0;
};

Judged packets_judged(Service &service)
{
    Map *counters = service.map("counters");
    if (counters == nullptr) {
        return {};
    }
    auto totals = dpi::read_counters(*counters);
    return totals ? Judged{(*totals)[DPI_CNT_PACKETS], (*totals)[DPI_CNT_PASS]} : Judged{};
}

Result<std::unique_ptr<Service>> start_on_dut(const Lab &lab, const std::string &target, const ServiceStarter &start,
                                              const LiveOptions &options)
{
    auto inside = InNamespace::enter(lab.ns("dut"));
    if (!inside) {
        return std::unexpected(inside.error());
    }
    ServiceSpec spec{options.program, fmt::format("hbench{}-{}", getpid(), target), "d0", "d1", false};
    auto service = start(target, spec);
    if (!service) {
        return std::unexpected(service.error());
    }
    if (Map *blocklist = (*service)->map("blocklist"); blocklist && !options.blocklist.empty()) {
        auto domains = dpi::read_blocklist(options.blocklist);
        if (!domains) {
            return std::unexpected(domains.error());
        }
        if (auto blocked = dpi::block(*blocklist, *domains); !blocked) {
            return std::unexpected(blocked.error());
        }
    }
    return service;
}

std::string joined(const std::vector<std::string> &lines)
{
    std::string out;
    for (const auto &line : lines) {
        out += (out.empty() ? "" : "; ") + line;
    }
    return out;
}

Result<void> measure(LiveRow &row, Service &service, const Lab &lab, int fd, const std::vector<Bytes> &frames,
                     const LiveOptions &options)
{
    auto received_before = rx_packets(lab.ns("server"), "s0");
    Judged judged_before = packets_judged(service);
    auto start = std::chrono::steady_clock::now();
    row.sent = send_for(fd, frames, options, row.target);
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::this_thread::sleep_for(kDrain); // let queued frames through before reading the counters
    auto received_after = rx_packets(lab.ns("server"), "s0");
    if (!received_before || !received_after) {
        return std::unexpected(received_before ? received_after.error() : received_before.error());
    }
    Judged judged_after = packets_judged(service);
    row.judged = judged_after.packets - judged_before.packets;
    row.passed = judged_after.passed - judged_before.passed;
    row.received = *received_after - *received_before;
    row.judged_pps = static_cast<double>(row.judged) / row.seconds;
    row.received_pps = static_cast<double>(row.received) / row.seconds;
    return {};
}

} // namespace

Result<LiveReport> run_live(const Trace &trace, const ServiceStarter &start, const LiveOptions &options)
{
    auto lab = Lab::create();
    if (!lab) {
        return std::unexpected(lab.error());
    }
    auto frames = addressed_frames(trace, **lab);
    if (!frames) {
        return std::unexpected(frames.error());
    }
    if (frames->empty()) {
        return fail("live bench", trace.source, "no frame fits the veth MTU");
    }
    auto fd = client_socket(**lab);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    LiveReport report{trace.source, {}};
    for (const auto &target : options.targets) {
        LiveRow row{target};
        auto service = start_on_dut(**lab, target, start, options);
        if (!service) {
            row.skipped = service.error().message();
        } else {
            row.attached = joined((*service)->describe());
            auto measured = measure(row, **service, **lab, *fd, *frames, options);
            (*service)->stop();
            if (!measured) {
                close(*fd);
                return std::unexpected(measured.error());
            }
        }
        report.rows.push_back(std::move(row));
    }
    close(*fd);
    return report;
}

std::string markdown(const LiveReport &report)
{
    std::string out = fmt::format(
        "Live: {} replayed in a loop from the client namespace through the DUT (veth, forwarding d0 -> d1) to the "
        "server. 'passed' is the DPI's own PASS count: the server receives only those. Connections blocked in one "
        "loop stay blocked in the next (the flow map remembers them), so from the second loop on about half of "
        "bench.pcap is dropped by design, not lost. 'lost' = passed - received.\n\n",
        report.trace);
    out += "| target | sent | judged by the DUT | passed by the DPI | received by the server | lost | judged pps | "
           "received pps |\n";
    out += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    for (const auto &row : report.rows) {
        if (row.skipped) {
            out += fmt::format("| {} | skipped: {} | | | | | | |\n", row.target, *row.skipped);
            continue;
        }
        int64_t lost = static_cast<int64_t>(row.passed) - static_cast<int64_t>(row.received);
        out += fmt::format("| {} | {} | {} | {} | {} | {} | {:.0f} | {:.0f} |\n", row.target, row.sent, row.judged,
                           row.passed, row.received, lost, row.judged_pps, row.received_pps);
    }
    return out;
}

nlohmann::json to_json(const LiveReport &report)
{
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &row : report.rows) {
        nlohmann::json j = {{"target", row.target}, {"attached", row.attached}};
        if (row.skipped) {
            j["skipped"] = *row.skipped;
        } else {
            j.update({{"seconds", row.seconds},
                      {"sent", row.sent},
                      {"judged", row.judged},
                      {"passed", row.passed},
                      {"received", row.received},
                      {"judged_pps", row.judged_pps},
                      {"received_pps", row.received_pps}});
        }
        rows.push_back(j);
    }
    return {{"trace", report.trace}, {"live", rows}};
}

} // namespace harmony::bench
