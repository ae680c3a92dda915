#include "fd_map.hpp"

#include "kernel_program.hpp"

#include <unistd.h>

namespace harmony::xdp {

Result<std::unique_ptr<Map>> make_fd_map(int fd, bool owned, std::string name)
{
    auto probed = KernelMap::from_fd(fd, false);
    if (!probed) {
        if (owned) {
            close(fd);
        }
        return std::unexpected(probed.error());
    }
    MapInfo info = (*probed)->info();
    if (!name.empty()) {
        info.name = std::move(name);
    }
    return std::make_unique<KernelMap>(fd, std::move(info), owned);
}

int map_fd(Map &map)
{
    auto *kernel = dynamic_cast<KernelMap *>(&map);
    return kernel ? kernel->fd() : -1;
}

} // namespace harmony::xdp
