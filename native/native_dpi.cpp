#include "native_dpi.hpp"

#include "common/dpi_control.hpp"
#include "dpi.h"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <cstring>
#include <linux/bpf.h>
#include <string_view>

namespace harmony::native {

namespace {

constexpr size_t kNameMax = 254;      // longest name kept
constexpr size_t kNameScanMax = 300;  // bytes read for one name, port and blanks included
constexpr size_t kHostScanMax = 1500; // positions searched for a Host header
constexpr size_t kTlsExtensionsMax = 32;
constexpr size_t kIpv6ExtensionsMax = 6;

/// Bounds-checked big-endian reads over one frame.
class Frame {
public:
    explicit Frame(ByteView bytes) : bytes_(bytes) {}
    size_t size() const { return bytes_.size(); }
    bool has(size_t off, size_t n) const { return off <= bytes_.size() && n <= bytes_.size() - off; }
    uint8_t u8(size_t off) const { return bytes_[off]; }
    uint16_t be16(size_t off) const { return static_cast<uint16_t>(bytes_[off] << 8 | bytes_[off + 1]); }
    std::string_view text(size_t off, size_t n) const
    {
        return {reinterpret_cast<const char *>(bytes_.data()) + off, n};
    }
    Address address(size_t off, size_t n) const
    {
        Address addr{};
        std::copy_n(bytes_.begin() + off, n, addr.begin() + (16 - n));
        return addr;
    }

private:
    ByteView bytes_;
};

char lower(uint8_t c)
{
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/// Normalises raw name bytes: lower case, ':port' cut (unless DNS), blanks and one
/// trailing dot removed. std::nullopt when nothing usable is left or it is too long.
std::optional<std::string> normalise(std::string_view raw, bool port_allowed)
{
    if (port_allowed) {
        raw = raw.substr(0, raw.find(':'));
    }
    if (raw.size() > kNameMax) {
        return std::nullopt;
    }
    std::string name;
    for (char c : raw) {
        name += lower(static_cast<uint8_t>(c));
    }
    while (!name.empty() && blank(name.back())) {
        name.pop_back();
    }
    if (!name.empty() && name.back() == '.') {
        name.pop_back();
    }
    if (name.empty()) {
        return std::nullopt;
    }
    return name;
}

/// Bytes from `start` up to the first byte in `terminators`, which must lie within
/// kNameScanMax bytes and before `end`.
std::optional<std::string> until(const Frame &f, size_t start, size_t end, std::string_view terminators)
{
    std::string raw;
    for (size_t i = start; i < end && i - start < kNameScanMax; i++) {
        char c = static_cast<char>(f.u8(i));
        if (terminators.find(c) != std::string_view::npos) {
            return raw;
        }
        raw += c;
    }
    return std::nullopt;
}

size_t method_length(const Frame &f, size_t off, size_t end)
{
    static constexpr std::array<std::string_view, 8> methods = {"GET ", "PUT ", "POST ", "HEAD ",
                                                                "PATCH ", "DELETE ", "OPTIONS ", "CONNECT "};
    if (!f.has(off, 8) || off + 8 > end) {
        return 0;
    }
    for (auto m : methods) {
        if (f.text(off, m.size()) == m) {
            return m.size();
        }
    }
    return 0;
}

bool equal_nocase(const Frame &f, size_t off, std::string_view lower_text)
{
    for (size_t i = 0; i < lower_text.size(); i++) {
        if (lower(f.u8(off + i)) != lower_text[i]) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> http_name(const Frame &f, size_t payload, size_t end)
{
    size_t method = method_length(f, payload, end);
    if (method == 0) {
        return std::nullopt;
    }
    for (size_t i = payload; i + 6 <= end && i - payload < kHostScanMax; i++) {
        if (f.u8(i) == '\n' && equal_nocase(f, i + 1, "host") && f.u8(i + 5) == ':') {
            size_t value = i + 6;
            while (value < end && blank(static_cast<char>(f.u8(value)))) {
                value++;
            }
            auto raw = until(f, value, end, "\r\n");
            return raw ? normalise(*raw, true) : std::nullopt;
        }
    }
    size_t target = payload + method;
    if (target + 7 > end || !equal_nocase(f, target, "http://")) {
        return std::nullopt;
    }
    auto raw = until(f, target + 7, end, "/ ?#");
    return raw ? normalise(*raw, true) : std::nullopt;
}

std::optional<std::string> tls_name(const Frame &f, size_t payload, size_t end)
{
    if (payload + 44 > end || f.u8(payload) != 0x16 || f.u8(payload + 1) != 0x03 || f.u8(payload + 5) != 0x01) {
        return std::nullopt;
    }
    size_t off = payload + 44 + f.u8(payload + 43); // record, handshake header, version, random, session id
    if (!f.has(off, 2)) {
        return std::nullopt;
    }
    off += 2 + f.be16(off); // cipher suites
    if (!f.has(off, 1)) {
        return std::nullopt;
    }
    off += 1 + f.u8(off); // compression methods
    if (!f.has(off, 2)) {
        return std::nullopt;
    }
    size_t extensions_end = off + 2 + f.be16(off);
    off += 2;
    for (size_t n = 0; n < kTlsExtensionsMax && off + 4 <= extensions_end && f.has(off, 9); n++) {
        if (f.be16(off) == 0) { // server_name
            size_t length = f.be16(off + 7);
            if (f.u8(off + 6) != 0 || length > kNameMax || off + 9 + length > end) {
                return std::nullopt;
            }
            return normalise(f.text(off + 9, length), true);
        }
        off += 4 + f.be16(off + 2);
    }
    return std::nullopt;
}

std::optional<std::string> dns_name(const Frame &f, size_t payload, size_t end)
{
    if (payload + 13 > end || f.be16(payload + 4) == 0) {
        return std::nullopt;
    }
    std::string raw;
    size_t off = payload + 12;
    while (off < end && off - (payload + 12) < kNameScanMax) {
        uint8_t length = f.u8(off);
        if (length == 0) {
            return normalise(raw, false);
        }
        if (length > 63 || off + 1 + length > end) {
            return std::nullopt;
        }
        if (!raw.empty()) {
            raw += '.';
        }
        raw.append(f.text(off + 1, length));
        off += 1 + length;
    }
    return std::nullopt;
}

struct Layer3 {
    size_t l4 = 0, end = 0;
    uint8_t proto = 0, family = 0;
    Address src, dst;
};

Address v4_mapped(const Frame &f, size_t off)
{
    Address addr = f.address(off, 4);
    addr[10] = addr[11] = 0xff;
    return addr;
}

std::optional<Layer3> parse_ipv4(const Frame &f, size_t off)
{
    if (!f.has(off, 20) || f.u8(off) >> 4 != 4 || (f.u8(off) & 0xf) < 5 || (f.be16(off + 6) & 0x1fff) != 0) {
        return std::nullopt;
    }
    return Layer3{off + (f.u8(off) & 0xfu) * 4, off + f.be16(off + 2), f.u8(off + 9), 4, v4_mapped(f, off + 12),
                  v4_mapped(f, off + 16)};
}

std::optional<Layer3> parse_ipv6(const Frame &f, size_t off)
{
    if (!f.has(off, 40) || f.u8(off) >> 4 != 6) {
        return std::nullopt;
    }
    Layer3 l3{0, off + 40 + f.be16(off + 4), f.u8(off + 6), 6, f.address(off + 8, 16), f.address(off + 24, 16)};
    size_t next = off + 40;
    for (size_t n = 0;; n++) {
        bool fragment = l3.proto == 44;
        if (l3.proto != 0 && l3.proto != 43 && l3.proto != 60 && !fragment) {
            break;
        }
        if (n == kIpv6ExtensionsMax || !f.has(next, 8) || (fragment && (f.be16(next + 2) >> 3) != 0)) {
            return std::nullopt;
        }
        l3.proto = f.u8(next);
        next += fragment ? 8 : (f.u8(next + 1) + 1u) * 8;
    }
    l3.l4 = next;
    return l3;
}

std::optional<Layer3> parse_l3(const Frame &f)
{
    if (!f.has(0, 14)) {
        return std::nullopt;
    }
    size_t off = 12;
    uint16_t type = f.be16(off);
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8); tags++) {
        if (!f.has(off + 2, 4)) {
            return std::nullopt;
        }
        off += 4;
        type = f.be16(off);
    }
    off += 2;
    if (type == 0x0800) {
        return parse_ipv4(f, off);
    }
    if (type == 0x86dd) {
        return parse_ipv6(f, off);
    }
    return std::nullopt;
}

ConnectionKey connection_key(const Classification &c)
{
    using Endpoint = std::array<uint8_t, 18>;
    auto endpoint = [](const Address &addr, uint16_t port) {
        Endpoint e{};
        std::copy(addr.begin(), addr.end(), e.begin());
        e[16] = static_cast<uint8_t>(port >> 8);
        e[17] = static_cast<uint8_t>(port & 0xff);
        return e;
    };
    Endpoint a = endpoint(c.src_addr, c.src_port), b = endpoint(c.dst_addr, c.dst_port);
    ConnectionKey key{};
    std::copy(std::min(a, b).begin(), std::min(a, b).end(), key.begin());
    std::copy(std::max(a, b).begin(), std::max(a, b).end(), key.begin() + 18);
    key[36] = c.l4_proto;
    return key;
}

} // namespace

std::optional<Classification> classify(ByteView bytes)
{
    Frame f(bytes);
    auto l3 = parse_l3(f);
    if (!l3 || (l3->proto != 6 && l3->proto != 17)) {
        return std::nullopt;
    }
    bool tcp = l3->proto == 6;
    if (!f.has(l3->l4, tcp ? 20 : 8) || (tcp && f.u8(l3->l4 + 12) >> 4 < 5)) {
        return std::nullopt;
    }
    size_t payload = l3->l4 + (tcp ? (f.u8(l3->l4 + 12) >> 4) * 4u : 8u);
    size_t end = std::min(f.size(), l3->end);
    if (payload > end) {
        return std::nullopt;
    }
    Classification c;
    c.src_addr = l3->src;
    c.dst_addr = l3->dst;
    c.src_port = f.be16(l3->l4);
    c.dst_port = f.be16(l3->l4 + 2);
    c.family = l3->family;
    c.l4_proto = l3->proto;
    c.connection = connection_key(c);

    std::optional<std::string> name;
    if (!tcp) {
        name = c.dst_port == 53 ? dns_name(f, payload, end) : std::nullopt;
        c.proto = DPI_PROTO_DNS;
    } else if ((name = http_name(f, payload, end))) {
        c.proto = DPI_PROTO_HTTP;
    } else if ((name = tls_name(f, payload, end))) {
        c.proto = DPI_PROTO_TLS;
    }
    if (!name) {
        c.proto = DPI_PROTO_NONE;
    } else {
        c.name = *name;
    }
    return c;
}

bool is_blocked(const DomainSet &blocked, std::string_view name)
{
    for (size_t start = 0; start != std::string::npos;) {
        if (blocked.contains(name.substr(start))) {
            return true;
        }
        size_t dot = name.find('.', start);
        start = dot == std::string::npos ? dot : dot + 1;
    }
    return false;
}

/// The blocklist as a Map, so the control plane fills the native DPI exactly as it
/// fills the BPF program's LPM trie (same keys).
class NativeDpi::BlocklistMap final : public Map {
public:
    explicit BlocklistMap(DomainSet &blocked) : blocked_(blocked)
    {
        info_ = {"blocklist", BPF_MAP_TYPE_LPM_TRIE, sizeof(dpi_domain_key), sizeof(uint32_t), 65536,
                 BPF_F_NO_PREALLOC};
    }
    const MapInfo &info() const override { return info_; }
    Result<Bytes> lookup(ByteView key) override
    {
        if (!blocked_.count(dpi::domain_of_key(key))) {
            return fail("lookup", "map 'blocklist'", "-ENOENT");
        }
        return Bytes{1, 0, 0, 0};
    }
    Result<void> update(ByteView key, ByteView, uint64_t) override
    {
        blocked_.insert(dpi::domain_of_key(key));
        return {};
    }
    Result<void> erase(ByteView key) override
    {
        if (!blocked_.erase(dpi::domain_of_key(key))) {
            return fail("delete", "map 'blocklist'", "-ENOENT");
        }
        return {};
    }
    Result<std::optional<Bytes>> next_key(std::optional<ByteView> key) override
    {
        auto it = key ? blocked_.upper_bound(dpi::domain_of_key(*key)) : blocked_.begin();
        if (it == blocked_.end()) {
            return std::optional<Bytes>{};
        }
        return std::optional<Bytes>{dpi::blocklist_key(*it)};
    }

private:
    DomainSet &blocked_;
    MapInfo info_;
};

NativeDpi::NativeDpi() : blocklist_map_(std::make_unique<BlocklistMap>(blocked_)) {}
NativeDpi::~NativeDpi() = default;

Map *NativeDpi::map(std::string_view name)
{
    return name == "blocklist" ? blocklist_map_.get() : nullptr;
}

std::vector<Map *> NativeDpi::maps()
{
    return {blocklist_map_.get()};
}

uint32_t NativeDpi::judge(ByteView frame, dpi_event &event, bool &named)
{
    named = false;
    auto c = classify(frame);
    if (!c) {
        return XDP_PASS;
    }
    bool dead = dead_connections_.contains(c->connection);
    if (c->proto == DPI_PROTO_NONE) {
        return dead ? XDP_DROP : XDP_PASS;
    }
    bool drop = dead || is_blocked(blocked_, c->name);
    if (drop && !dead) {
        dead_connections_.insert(c->connection);
    }
    named = true;
    event = dpi_event{};
    event.proto = c->proto;
    event.verdict = drop ? DPI_DROP : DPI_PASS;
    event.name_len = static_cast<uint16_t>(c->name.size());
    event.family = c->family;
    event.l4_proto = c->l4_proto;
    std::memcpy(event.src_addr, c->src_addr.data(), 16);
    std::memcpy(event.dst_addr, c->dst_addr.data(), 16);
    event.src_port = htons(c->src_port);
    event.dst_port = htons(c->dst_port);
    std::memcpy(event.name, c->name.data(), c->name.size());
    return drop ? XDP_DROP : XDP_PASS;
}

Result<PacketOutcome> NativeDpi::run(ByteView frame)
{
    dpi_event event;
    bool named = false;
    uint32_t action = judge(frame, event, named);
    Bytes untouched(frame.begin(), frame.end()); // the native DPI only reads the frame
    if (!named) {
        return PacketOutcome{action, {}, std::move(untouched)};
    }
    const auto *bytes = reinterpret_cast<const uint8_t *>(&event);
    return PacketOutcome{action, {Bytes(bytes, bytes + sizeof(event))}, std::move(untouched)};
}

Result<double> NativeDpi::time_per_run(ByteView frame, uint32_t repeat)
{
    if (repeat == 0) {
        return fail("time", "native", "repeat must be at least 1");
    }
    dpi_event event;
    bool named = false;
    auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; i++) {
        uint32_t action = judge(frame, event, named);
        asm volatile("" : : "r"(action), "m"(event) : "memory"); // the result is used: not optimised away
    }
    std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
    return spent.count() / repeat;
}

} // namespace harmony::native
