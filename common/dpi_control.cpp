#include "dpi_control.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <linux/bpf.h>

namespace harmony::dpi {

namespace {

constexpr size_t kDomainMax = 253;
constexpr size_t kLabelMax = 63;

bool domain_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::string trim(std::string_view text)
{
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && blank(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && blank(text.back())) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

std::string address_text(const uint8_t *addr, uint8_t family, uint16_t port_be)
{
    char text[INET6_ADDRSTRLEN] = {};
    bool v4 = family == 4;
    inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? addr + 12 : addr, text, sizeof(text));
    return v4 ? fmt::format("{}:{}", text, ntohs(port_be)) : fmt::format("[{}]:{}", text, ntohs(port_be));
}

} // namespace

Result<std::string> normalise_domain(std::string_view text)
{
    std::string domain = trim(text);
    std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!domain.empty() && domain.back() == '.') {
        domain.pop_back();
    }
    if (domain.empty()) {
        return fail("parse domain", "''", "empty");
    }
    if (domain.size() > kDomainMax) {
        return fail("parse domain", "'" + domain + "'", "longer than 253 characters");
    }
    size_t label = 0;
    for (char c : domain) {
        if (c == '.') {
            if (label == 0) {
                return fail("parse domain", "'" + domain + "'", "empty label");
            }
            label = 0;
            continue;
        }
        if (!domain_char(c)) {
            return fail("parse domain", "'" + domain + "'", fmt::format("character '{}' is not allowed", c));
        }
        if (++label > kLabelMax) {
            return fail("parse domain", "'" + domain + "'", "label longer than 63 characters");
        }
    }
    return domain;
}

Result<std::vector<std::string>> read_blocklist(const std::string &path)
{
    std::ifstream in(path);
    if (!in) {
        return fail("read blocklist", path, std::strerror(errno));
    }
    std::vector<std::string> domains;
    std::string line;
    for (size_t number = 1; std::getline(in, line); number++) {
        std::string text = trim(line.substr(0, line.find('#')));
        if (text.empty()) {
            continue;
        }
        auto domain = normalise_domain(text);
        if (!domain) {
            return fail("read blocklist", fmt::format("{} line {}", path, number),
                        fmt::format("'{}' is not a domain: {}", text, domain.error().why));
        }
        domains.push_back(*domain);
    }
    return domains;
}

Bytes blocklist_key(std::string_view domain)
{
    dpi_domain_key key{};
    std::string reversed(domain.rbegin(), domain.rend());
    reversed += '.';
    size_t len = std::min(reversed.size(), sizeof(key.name));
    std::memcpy(key.name, reversed.data(), len);
    key.prefixlen = static_cast<uint32_t>(len * 8);
    const auto *bytes = reinterpret_cast<const uint8_t *>(&key);
    return Bytes(bytes, bytes + sizeof(key));
}

std::string domain_of_key(ByteView key)
{
    dpi_domain_key k{};
    std::memcpy(&k, key.data(), std::min(key.size(), sizeof(k)));
    size_t len = std::min<size_t>(k.prefixlen / 8, sizeof(k.name));
    std::string reversed(k.name, len);
    if (!reversed.empty() && reversed.back() == '.') {
        reversed.pop_back();
    }
    return std::string(reversed.rbegin(), reversed.rend());
}

Result<void> block(Map &blocklist, const std::vector<std::string> &domains)
{
    uint32_t blocked = 1;
    ByteView value(reinterpret_cast<const uint8_t *>(&blocked), sizeof(blocked));
    for (const auto &domain : domains) {
        if (auto ok = blocklist.update(blocklist_key(domain), value, BPF_ANY); !ok) {
            return fail("block", "'" + domain + "'", ok.error().message());
        }
    }
    return {};
}

Result<void> unblock(Map &blocklist, std::string_view domain)
{
    return blocklist.erase(blocklist_key(domain));
}

Result<void> apply_blocklist(LoadedProgram &program, const std::string &path)
{
    auto domains = read_blocklist(path);
    if (!domains) {
        return std::unexpected(domains.error());
    }
    Map *map = program.map("blocklist");
    if (!map) {
        return fail("apply blocklist", path, "the program has no map named 'blocklist'");
    }
    return block(*map, *domains);
}

std::string_view proto_name(Proto proto)
{
    switch (proto) {
    case Proto::Http: return "http";
    case Proto::Tls: return "tls";
    case Proto::Dns: return "dns";
    default: return "-";
    }
}

Result<Event> decode_event(ByteView record)
{
    if (record.size() < sizeof(dpi_event)) {
        return fail("decode event", "", fmt::format("record of {} bytes, expected {}", record.size(), sizeof(dpi_event)));
    }
    dpi_event raw;
    std::memcpy(&raw, record.data(), sizeof(raw));
    if (raw.proto > DPI_PROTO_DNS || raw.name_len > DPI_NAME_MAX || (raw.family != 4 && raw.family != 6)) {
        return fail("decode event", "", "malformed record");
    }
    Event event;
    event.proto = static_cast<Proto>(raw.proto);
    event.dropped = raw.verdict == DPI_DROP;
    event.name.assign(raw.name, raw.name_len);
    event.client = address_text(raw.src_addr, raw.family, raw.src_port);
    event.server = address_text(raw.dst_addr, raw.family, raw.dst_port);
    return event;
}

Result<Counters> read_counters(Map &counters)
{
    Counters totals{};
    for (uint32_t index = 0; index < DPI_CNT_MAX; index++) {
        ByteView key(reinterpret_cast<const uint8_t *>(&index), sizeof(index));
        auto values = counters.lookup(key);
        if (!values) {
            return std::unexpected(values.error());
        }
        // Per-CPU: one 8-byte value per CPU, summed.
        for (size_t off = 0; off + 8 <= values->size(); off += 8) {
            uint64_t v;
            std::memcpy(&v, values->data() + off, 8);
            totals[index] += v;
        }
    }
    return totals;
}

std::string_view counter_name(size_t index)
{
    static constexpr std::string_view names[DPI_CNT_MAX] = {"packets", "pass", "drop", "http",
                                                            "tls", "dns", "flow_drop", "unparsed"};
    return index < DPI_CNT_MAX ? names[index] : "?";
}

} // namespace harmony::dpi
