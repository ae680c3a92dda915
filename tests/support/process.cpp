#include "process.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace harmony::test {

bool harmony_built()
{
    return access(kHarmony.c_str(), X_OK) == 0 && access(kDpi.c_str(), R_OK) == 0;
}

std::string read_file(const std::filesystem::path &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

size_t count(const std::string &text, const std::string &part)
{
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
        n++;
    }
    return n;
}

bool contains(const std::string &text, const std::string &part)
{
    return text.find(part) != std::string::npos;
}

Background::Background(const std::string &ns, const std::string &command, std::filesystem::path output)
    : output_(std::move(output))
{
    // nsenter (not `ip netns exec`) keeps the host's bpffs and /sys, as a user's shell would.
    std::string enter = ns.empty() ? "" : "nsenter --net=/run/netns/" + ns + " ";
    std::string line = "exec " + enter + command + " > " + output_.string() + " 2>&1";
    pid_ = fork();
    if (pid_ == 0) {
        execl("/bin/sh", "sh", "-c", line.c_str(), nullptr);
        _exit(127);
    }
}

Background::~Background()
{
    if (pid_ > 0 && !ended_) {
        kill(pid_, SIGTERM);
        if (finish(std::chrono::seconds(10)) < 0) {
            kill(pid_, SIGKILL);
            finish(std::chrono::seconds(10));
        }
    }
    std::error_code ignored;
    std::filesystem::remove(output_, ignored);
}

bool Background::reaped(int options)
{
    int status = 0;
    if (!ended_ && pid_ > 0 && waitpid(pid_, &status, options) == pid_) {
        ended_ = true;
        exit_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return ended_;
}

bool Background::wait_for(const std::string &text, std::chrono::seconds limit)
{
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (contains(output(), text)) {
            return true;
        }
        if (reaped(WNOHANG)) {
            return contains(output(), text); // it may have printed `text` just before it ended
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

void Background::signal(int sig) const
{
    if (pid_ > 0 && !ended_) {
        kill(pid_, sig);
    }
}

int Background::finish(std::chrono::seconds limit)
{
    auto end = std::chrono::steady_clock::now() + limit;
    while (!reaped(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= end) {
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return exit_;
}

int Background::interrupt(std::chrono::seconds limit)
{
    signal(SIGINT);
    return finish(limit);
}

} // namespace harmony::test
