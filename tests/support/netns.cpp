#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

namespace harmony::test {

TestNetwork::TestNetwork(const std::string &tag) : prefix_("hx" + tag + std::to_string(getpid())) {}

TestNetwork::~TestNetwork()
{
    for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
        run_command("ip netns del " + *it); // deleting a namespace deletes its veth ends and pairs
    }
}

std::string TestNetwork::add_namespace(const std::string &name)
{
    std::string full = ns(name);
    auto created = run_command("ip netns add " + full);
    if (created.status != 0) {
        throw std::runtime_error("ip netns add " + full + ": " + created.output);
    }
    namespaces_.push_back(full);
    exec(name, "ip link set lo up");
    return full;
}

void TestNetwork::add_veth(const std::string &ns_a, const std::string &if_a, const std::string &ns_b,
                           const std::string &if_b)
{
    auto added = run_command("ip -n " + ns(ns_a) + " link add " + if_a + " type veth peer name " + if_b + " netns " +
                             ns(ns_b));
    if (added.status != 0) {
        throw std::runtime_error("veth " + if_a + "/" + if_b + ": " + added.output);
    }
    exec(ns_a, "ip link set " + if_a + " up");
    exec(ns_b, "ip link set " + if_b + " up");
}

CommandResult TestNetwork::try_exec(const std::string &name, const std::string &command)
{
    return run_command("ip netns exec " + ns(name) + " " + command);
}

std::string TestNetwork::exec(const std::string &name, const std::string &command)
{
    auto result = try_exec(name, command);
    if (result.status != 0) {
        throw std::runtime_error("in " + ns(name) + ": " + command + ": " + result.output);
    }
    return result.output;
}

InNamespace::InNamespace(const std::string &full_name)
{
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(("/run/netns/" + full_name).c_str(), O_RDONLY | O_CLOEXEC);
    if (original_ < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
        if (target >= 0) {
            close(target);
        }
        throw std::runtime_error("cannot enter namespace " + full_name);
    }
    close(target);
}

InNamespace::~InNamespace()
{
    setns(original_, CLONE_NEWNET);
    close(original_);
}

} // namespace harmony::test
