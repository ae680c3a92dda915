// The pieces of `harmony demo`: the paper's three-namespace setup (client, DUT, server) and
// the small web server and client that fetch home pages across it, by HTTP and by TLS.
#pragma once

#include "common/error.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace harmony::cli::demo {

/// Every demo object is named "hdemo-<pid>-..." so a later run can tell a killed run's
/// leftovers (its pid is gone) from a live one's.
inline constexpr const char *kPrefix = "hdemo-";

/// Deletes namespaces and pin folders of demo runs whose process no longer exists; returns
/// one line per thing removed.
std::vector<std::string> remove_leftovers();

/// client (c0 10.77.9.1) <-> (d0) dut (d1) <-> server (s0 10.77.9.2): one L2 segment that
/// exists only through what runs on the DUT. Removed (namespaces, veths, attachments on
/// them) when destroyed.
class Lab {
public:
    static Result<std::unique_ptr<Lab>> create();
    ~Lab();
    Lab(const Lab &) = delete;
    Lab &operator=(const Lab &) = delete;

    std::string ns(const std::string &role) const { return prefix_ + role; }
    std::string service_name(const std::string &target) const { return prefix_ + target; }
    const std::string &server_address() const { return server_address_; }
    const char *dut_ingress() const { return "d0"; }
    const char *dut_egress() const { return "d1"; }
    /// Runs a shell command inside a namespace of this lab.
    Result<std::string> exec(const std::string &role, const std::string &command) const;

private:
    Lab();
    std::string prefix_;
    std::string server_address_ = "10.77.9.2";
    std::vector<std::string> namespaces_;
};

/// Runs the calling thread in a namespace until destroyed.
class InNamespace {
public:
    static Result<std::unique_ptr<InNamespace>> enter(const std::string &name);
    ~InNamespace();
    InNamespace(const InNamespace &) = delete;
    InNamespace &operator=(const InNamespace &) = delete;

private:
    explicit InNamespace(int original) : original_(original) {}
    int original_ = -1;
};

/// Answers every GET on port 80 with "harmony page for HOST" (HOST from the Host header),
/// and every TLS ClientHello on port 443 with "harmony tls answer for SNI" (plain text: the
/// demo only asks whether a ClientHello got through), on a thread inside the server
/// namespace, until destroyed.
class HttpServer {
public:
    static Result<std::unique_ptr<HttpServer>> start(const std::string &ns, const std::string &address);
    ~HttpServer();
    HttpServer(const HttpServer &) = delete;
    HttpServer &operator=(const HttpServer &) = delete;

private:
    HttpServer() = default;
    void serve();
    int http_listener_ = -1;
    int tls_listener_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// What a fetch got: the page, or why not ("no response within 1500 ms", "connect: ...").
struct Fetch {
    bool answered = false;
    std::string detail;
};

/// GET / with Host: `domain` from inside namespace `ns`; no answer within `timeout` counts
/// as blocked.
Fetch fetch_home_page(const std::string &ns, const std::string &address, const std::string &domain,
                      std::chrono::milliseconds timeout);

/// A TLS ClientHello with SNI `domain` to port 443 from inside namespace `ns`; answered when
/// any bytes come back within `timeout`.
Fetch send_client_hello(const std::string &ns, const std::string &address, const std::string &domain,
                        std::chrono::milliseconds timeout);

/// The ClientHello OpenSSL sends for `domain` (one TLS record, SNI set).
Result<std::string> client_hello(const std::string &domain);
/// The size of the TLS record starting `bytes` (header included); 0 while the header is incomplete.
size_t tls_record_size(const std::string &bytes);
/// The SNI of a ClientHello record, or "-".
std::string server_name_of(const std::string &hello);

} // namespace harmony::cli::demo
