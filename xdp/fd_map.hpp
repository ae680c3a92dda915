// Internal: kernel maps by fd (kernel_program's KernelMap) under the names the service
// knows them by.
#pragma once

#include "xdp.hpp"

namespace harmony::xdp {

/// Wraps `fd` (closed on destruction when `owned`). `name` replaces the kernel's name,
/// which is cut to 15 characters.
Result<std::unique_ptr<Map>> make_fd_map(int fd, bool owned, std::string name = {});

} // namespace harmony::xdp
