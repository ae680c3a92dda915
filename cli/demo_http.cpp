// The demo's web server and client: plain sockets made inside the server's and the
// client's network namespaces, so the demo needs no Python, curl or web server installed.
// HTTP on port 80; TLS ClientHellos (demo_tls.cpp) on port 443.
#include "demo_lab.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <sstream>

namespace harmony::cli::demo {
namespace {

using Clock = std::chrono::steady_clock;

std::string host_of(const std::string &request)
{
    std::istringstream lines(request);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.size() > 5 && strncasecmp(line.c_str(), "host:", 5) == 0) {
            std::string host = line.substr(5);
            host.erase(0, host.find_first_not_of(" \t"));
            host.erase(host.find_last_not_of(" \t\r") + 1);
            return host.substr(0, host.find(':'));
        }
    }
    return "-";
}

struct Connection {
    int fd = -1;
    bool tls = false;
    std::string request;
    Clock::time_point opened;
};

/// The answer to a complete request, or empty while it is incomplete.
std::string answer_to(const Connection &c)
{
    if (c.tls) {
        size_t size = tls_record_size(c.request);
        return size == 0 || c.request.size() < size ? "" : "harmony tls answer for " + server_name_of(c.request) + "\n";
    }
    if (c.request.find("\r\n\r\n") == std::string::npos) {
        return "";
    }
    std::string body = "harmony page for " + host_of(c.request) + "\n";
    return fmt::format("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
                       "Connection: close\r\n\r\n{}",
                       body.size(), body);
}

/// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, Clock::time_point deadline)
{
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            return false;
        }
        pollfd p{fd, events, 0};
        int ready = poll(&p, 1, static_cast<int>(left));
        if (ready > 0) {
            return true;
        }
        if (ready < 0) {
            return false; // EINTR: a stop request; the caller checks for it
        }
    }
}

/// A TCP socket created inside namespace `ns` (a socket stays in the namespace it was made in).
Result<int> socket_in(const std::string &ns)
{
    auto inside = InNamespace::enter(ns);
    if (!inside) {
        return std::unexpected(inside.error());
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return fail("socket", ns, std::strerror(errno));
    }
    return fd;
}

sockaddr_in address_of(const std::string &address, uint16_t port)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    return sa;
}

Result<int> listen_on(const std::string &ns, const std::string &address, uint16_t port)
{
    auto fd = socket_in(ns);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    int one = 1;
    setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa = address_of(address, port);
    if (bind(*fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) != 0 || listen(*fd, 64) != 0) {
        int err = errno;
        close(*fd);
        return fail("demo server", fmt::format("{}:{}", address, port), std::strerror(err));
    }
    return *fd;
}

/// Connects from inside `ns`, sends `request` and collects what comes back until the server
/// closes or `deadline`; the error says why nothing could be sent.
Result<std::string> exchange(const std::string &ns, const std::string &address, uint16_t port,
                             const std::string &request, Clock::time_point deadline, std::chrono::milliseconds timeout)
{
    auto fd = socket_in(ns);
    if (!fd) {
        return std::unexpected(fd.error());
    }
    sockaddr_in sa = address_of(address, port);
    int rc = connect(*fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa));
    int err = 0;
    socklen_t len = sizeof(err);
    std::string answer;
    Result<std::string> result = answer;
    if (rc != 0 && (errno != EINPROGRESS || !wait_for(*fd, POLLOUT, deadline))) {
        result = fail("connect", fmt::format("{}:{}", address, port),
                      errno == EINPROGRESS ? fmt::format("no connection within {} ms", timeout.count())
                                           : std::string(std::strerror(errno)));
    } else if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        result = fail("connect", fmt::format("{}:{}", address, port), std::strerror(err));
    } else {
        (void)!send(*fd, request.data(), request.size(), MSG_NOSIGNAL);
        char buffer[2048];
        while (wait_for(*fd, POLLIN, deadline)) {
            ssize_t got = recv(*fd, buffer, sizeof(buffer), 0);
            if (got <= 0) {
                break;
            }
            answer.append(buffer, static_cast<size_t>(got));
        }
        result = answer;
    }
    close(*fd);
    return result;
}

std::string first_line(std::string text)
{
    text = text.substr(0, text.find('\n'));
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) {
        text.pop_back();
    }
    return text;
}

} // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string &ns, const std::string &address)
{
    std::unique_ptr<HttpServer> server(new HttpServer());
    auto http = listen_on(ns, address, 80);
    if (!http) {
        return std::unexpected(http.error());
    }
    server->http_listener_ = *http;
    auto tls = listen_on(ns, address, 443);
    if (!tls) {
        return std::unexpected(tls.error());
    }
    server->tls_listener_ = *tls;
    server->thread_ = std::thread([s = server.get()] { s->serve(); });
    return server;
}

HttpServer::~HttpServer()
{
    stopping_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    for (int fd : {http_listener_, tls_listener_}) {
        if (fd >= 0) {
            close(fd);
        }
    }
}

void HttpServer::serve()
{
    std::map<int, Connection> connections;
    while (!stopping_) {
        std::vector<pollfd> fds{{http_listener_, POLLIN, 0}, {tls_listener_, POLLIN, 0}};
        for (const auto &[fd, c] : connections) {
            fds.push_back({fd, POLLIN, 0});
        }
        if (poll(fds.data(), fds.size(), 100) <= 0) {
            continue;
        }
        for (size_t i = 0; i < 2; ++i) {
            if (!(fds[i].revents & POLLIN)) {
                continue;
            }
            int fd = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0) {
                connections[fd] = Connection{fd, i == 1, {}, Clock::now()};
            }
        }
        for (size_t i = 2; i < fds.size(); ++i) {
            Connection &c = connections[fds[i].fd];
            char buffer[4096];
            ssize_t got = (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ? recv(c.fd, buffer, sizeof(buffer), 0) : -1;
            if (got > 0) {
                c.request.append(buffer, static_cast<size_t>(got));
            }
            std::string answer = answer_to(c);
            if (!answer.empty()) {
                (void)!send(c.fd, answer.data(), answer.size(), MSG_NOSIGNAL);
            }
            // A connection whose request was dropped on the way never completes: give up on it.
            if (!answer.empty() || got == 0 || Clock::now() - c.opened > std::chrono::seconds(5)) {
                close(c.fd);
                connections.erase(fds[i].fd);
            }
        }
    }
    for (const auto &[fd, c] : connections) {
        close(fd);
    }
}

Fetch fetch_home_page(const std::string &ns, const std::string &address, const std::string &domain,
                      std::chrono::milliseconds timeout)
{
    std::string request = "GET / HTTP/1.0\r\nHost: " + domain + "\r\nUser-Agent: harmony-demo\r\n\r\n";
    auto answer = exchange(ns, address, 80, request, Clock::now() + timeout, timeout);
    if (!answer) {
        return {false, answer.error().message()};
    }
    size_t body = answer->find("\r\n\r\n");
    if (body == std::string::npos) {
        return {false, fmt::format("no response within {} ms", timeout.count())};
    }
    return {true, first_line(*answer) + ": " + first_line(answer->substr(body + 4))};
}

Fetch send_client_hello(const std::string &ns, const std::string &address, const std::string &domain,
                        std::chrono::milliseconds timeout)
{
    auto hello = client_hello(domain);
    if (!hello) {
        return {false, hello.error().message()};
    }
    auto answer = exchange(ns, address, 443, *hello, Clock::now() + timeout, timeout);
    if (!answer) {
        return {false, answer.error().message()};
    }
    if (answer->empty()) {
        return {false, fmt::format("no answer to a {}-byte ClientHello within {} ms", hello->size(), timeout.count())};
    }
    return {true, first_line(*answer)};
}

} // namespace harmony::cli::demo
