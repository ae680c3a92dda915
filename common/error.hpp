// Errors as values: every failure names what failed, which object, and why, like libbpf's
// "prog 'dpi': failed to load: -EINVAL".
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace harmony {

struct Error {
    std::string what;  ///< the operation that failed, e.g. "load program"
    std::string which; ///< the object it failed on, e.g. "dpi.bpf.o" or "map 'flows'"
    std::string why;   ///< the cause, e.g. "kernel verifier: R0 invalid mem access"

    std::string message() const
    {
        std::string m = what;
        if (!which.empty()) {
            m += " " + which;
        }
        if (!why.empty()) {
            m += ": " + why;
        }
        return m;
    }
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string what, std::string which, std::string why)
{
    return std::unexpected(Error{std::move(what), std::move(which), std::move(why)});
}

/// strerror() of a negative or positive errno, with its symbolic value, e.g. "-EINVAL (Invalid argument)".
std::string errno_text(int err);

} // namespace harmony
