// Internal to map_control: JSON lines over a connected Unix stream socket, and errors as JSON.
#pragma once

#include "error.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace harmony::map_control {

/// The `why` of receive()'s error when nothing arrived in time (the server polls again).
inline constexpr const char *kTimedOut = "timed out";

class LineSocket {
public:
    explicit LineSocket(int fd) : fd_(fd) {}
    LineSocket(const LineSocket &) = delete;
    LineSocket &operator=(const LineSocket &) = delete;
    ~LineSocket();

    int fd() const { return fd_; }
    Result<void> send(const nlohmann::json &message);
    /// The next line as a JSON object; std::nullopt when the peer closed the connection.
    /// Waits at most `timeout` for each chunk.
    Result<std::optional<nlohmann::json>> receive(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    std::string pending_;
};

nlohmann::json error_json(const Error &error);
Error error_from_json(const nlohmann::json &reply);

} // namespace harmony::map_control
