#include "error.hpp"

#include <cstring>
#include <string.h>

namespace harmony {

std::string errno_text(int err)
{
    if (err < 0) {
        err = -err;
    }
    const char *name = strerrorname_np(err);
    return std::string("-") + (name ? name : std::to_string(err)) + " (" + std::strerror(err) + ")";
}

} // namespace harmony
