// Names byte by byte: dpi.bpf.o reads HTTP Host values and SNIs eight bytes at a time up
// to the first byte that ends a plain run, and starts the Host search at the first line
// feed it finds a word at a time; the C++ oracle reads them a byte at a time. Random names
// over an alphabet rich in the bytes that matter (blanks, line breaks, ':', control and
// non-ASCII bytes, the neighbours of A-Z), in frames cut short or padded past the IP
// datagram, must give the same verdict, protocol and name on every target.
#include <catch2/catch.hpp>

#include "cli/targets.hpp"
#include "common/dpi_control.hpp"
#include "common/replay.hpp"

#include <random>
#include <string>

using namespace harmony;

namespace {

constexpr std::string_view kPlain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
constexpr std::string_view kSpecial = ": \t\r\n\x01\x1f\x7f\x80\xc3\xff@[`{/?#";

std::string random_name(std::mt19937 &rng)
{
    static const std::vector<std::string> kBlocked = {"facebook.com", "Blocked.Test", "x.io", "ADS.example.net"};
    std::uniform_int_distribution<int> percent(0, 99);
    std::string name;
    if (percent(rng) < 25) { // a blocked name, sometimes under a prefix or before a port
        name = percent(rng) < 50 ? "" : "www.";
        name += kBlocked[rng() % kBlocked.size()];
        if (percent(rng) < 30) {
            name += ":8080";
        }
        return name;
    }
    const size_t length = rng() % 40;
    for (size_t i = 0; i < length; i++) {
        const std::string_view from = percent(rng) < 12 ? kSpecial : kPlain;
        name += from[rng() % from.size()];
    }
    return name;
}

void append_be16(Bytes &out, size_t v)
{
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

Bytes http_request(std::mt19937 &rng, const std::string &host)
{
    std::string target = "/" + std::string(rng() % 12, 'p'); // moves the line feed through the word's lanes
    std::string request = "GET " + target + " HTTP/1.1\r\n";
    if (rng() % 3 == 0) {
        request += "Accept-Language: en\r\n";
    }
    request += "Host: " + host + "\r\nAccept: */*\r\n\r\n";
    return Bytes(request.begin(), request.end());
}

Bytes client_hello(const std::string &sni)
{
    Bytes extension = {0x00, 0x00}; // server_name
    append_be16(extension, sni.size() + 5);
    append_be16(extension, sni.size() + 3);
    extension.push_back(0x00); // host_name
    append_be16(extension, sni.size());
    extension.insert(extension.end(), sni.begin(), sni.end());

    Bytes body = {0x03, 0x03};
    body.insert(body.end(), 32, 0x42); // random
    body.push_back(0x00);              // session id
    body.insert(body.end(), {0x00, 0x02, 0x13, 0x01, 0x01, 0x00});
    append_be16(body, extension.size());
    body.insert(body.end(), extension.begin(), extension.end());

    Bytes hello = {0x16, 0x03, 0x01};
    append_be16(hello, body.size() + 4);
    hello.insert(hello.end(), {0x01, 0x00});
    append_be16(hello, body.size());
    hello.insert(hello.end(), body.begin(), body.end());
    return hello;
}

/// Ethernet + IPv4 + TCP to port 80 or 443 from a port of its own (one connection each),
/// the IP datagram ending at `ip_payload` bytes of `payload`, the frame padded with
/// `padding` letters after it (which must not extend a name).
Bytes frame(uint16_t sport, uint16_t dport, const Bytes &payload, size_t ip_payload, size_t padding)
{
    Bytes f = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    f.insert(f.end(), {0x45, 0x00});
    append_be16(f, 20 + 20 + ip_payload);
    f.insert(f.end(), {0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0, 0, 2});
    append_be16(f, sport);
    append_be16(f, dport);
    f.insert(f.end(), {0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x20, 0x00, 0, 0, 0, 0});
    f.insert(f.end(), payload.begin(), payload.begin() + static_cast<ptrdiff_t>(ip_payload));
    f.insert(f.end(), padding, 'a');
    return f;
}

std::vector<Bytes> random_frames(size_t count)
{
    std::mt19937 rng(2026);
    std::vector<Bytes> frames;
    for (size_t i = 0; i < count; i++) {
        const bool tls = rng() % 2;
        const std::string name = random_name(rng);
        const Bytes payload = tls ? client_hello(name) : http_request(rng, name);
        size_t ip_payload = payload.size();
        if (rng() % 4 == 0) { // cut anywhere, often inside the name
            ip_payload = rng() % (payload.size() + 1);
        }
        const size_t padding = rng() % 3 == 0 ? rng() % 12 : 0;
        frames.push_back(frame(static_cast<uint16_t>(1024 + i), tls ? 443 : 80, payload, ip_payload, padding));
    }
    return frames;
}

} // namespace

TEST_CASE("random names give the oracle's verdict, protocol and name on every target", "[replay]")
{
    // Once for the test case, not once for each target GENERATE runs it for.
    static const auto frames = random_frames(3000);
    auto replay_on = [](const std::string &target) {
        auto program = cli::load_on_target(target, HARMONY_BPF_DIR "/dpi.bpf.o");
        REQUIRE(program.has_value());
        REQUIRE(dpi::apply_blocklist(**program, HARMONY_SOURCE_DIR "/tests/data/blocklist.txt").has_value());
        auto lines = replay(**program, frames);
        REQUIRE(lines.has_value());
        return *lines;
    };
    static const auto oracle = replay_on("native");
    size_t named = 0, dropped = 0;
    for (const auto &line : oracle) {
        named += line.name != "-";
        dropped += line.verdict == "DROP";
    }
    CHECK(named > 1000); // the frames exercise names, not only their refusal
    CHECK(dropped > 200);

    auto target = GENERATE(as<std::string>{}, "xdp", "host", "host-interp");
    DYNAMIC_SECTION(target)
    {
        auto differences = compare_replay(replay_on(target), oracle);
        for (size_t i = 0; i < std::min<size_t>(differences.size(), 10); i++) {
            UNSCOPED_INFO(differences[i]);
        }
        CHECK(differences.empty());
    }
}
