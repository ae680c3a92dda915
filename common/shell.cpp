#include "shell.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>

namespace harmony {

ShellResult run_shell(const std::string &command)
{
    ShellResult result;
    FILE *pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) {
        result.output = std::strerror(errno);
        return result;
    }
    std::array<char, 4096> buffer{};
    size_t got = 0;
    while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        result.output.append(buffer.data(), got);
    }
    int status = pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

} // namespace harmony
