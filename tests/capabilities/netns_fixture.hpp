// A veth pair in a private network namespace that this thread enters for the test's
// duration; the namespace (and so the pair) is removed afterwards.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace harmony::test {

class VethNetns {
public:
    VethNetns()
        : name_(fmt::format("harmony-placement-{}", getpid())), original_(open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC))
    {
        run(fmt::format("ip netns add {}", name_));
        run(fmt::format("ip -n {} link add {} type veth peer name {}", name_, kA, kB));
        run(fmt::format("ip -n {} link set {} up && ip -n {} link set {} up", name_, kA, name_, kB));
        int ns = open(fmt::format("/run/netns/{}", name_).c_str(), O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
            throw std::runtime_error("cannot enter netns " + name_);
        }
        close(ns);
    }
    ~VethNetns()
    {
        setns(original_, CLONE_NEWNET);
        close(original_);
        std::system(fmt::format("ip netns del {} 2>/dev/null", name_).c_str());
    }
    VethNetns(const VethNetns &) = delete;
    VethNetns &operator=(const VethNetns &) = delete;

    static constexpr const char *kA = "hpl0";
    static constexpr const char *kB = "hpl1";

private:
    static void run(const std::string &command)
    {
        if (std::system(command.c_str()) != 0) {
            throw std::runtime_error("failed: " + command);
        }
    }

    std::string name_;
    int original_;
};

} // namespace harmony::test
