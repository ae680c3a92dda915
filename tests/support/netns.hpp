// Test scaffolding: network namespaces and veth links that are removed when the test ends,
// pass or fail, and a guard that runs the calling thread inside one namespace.
#pragma once

#include "process.hpp"

#include <string>
#include <vector>

namespace harmony::test {

/// Namespaces named "<prefix>-<name>", prefix unique to this process; all deleted (with
/// their links) on destruction.
class TestNetwork {
public:
    explicit TestNetwork(const std::string &tag);
    TestNetwork(const TestNetwork &) = delete;
    TestNetwork &operator=(const TestNetwork &) = delete;
    ~TestNetwork();

    /// Creates namespace `name` with loopback up; returns its full name.
    std::string add_namespace(const std::string &name);
    std::string ns(const std::string &name) const { return prefix_ + "-" + name; }
    /// A veth pair between two namespaces, both ends up.
    void add_veth(const std::string &ns_a, const std::string &if_a, const std::string &ns_b, const std::string &if_b);
    /// Runs `command` inside namespace `name`; throws with the output when it fails.
    std::string exec(const std::string &name, const std::string &command);
    /// Runs `command` inside namespace `name` and returns its status and output.
    CommandResult try_exec(const std::string &name, const std::string &command);

private:
    std::string prefix_;
    std::vector<std::string> namespaces_;
};

/// Moves the calling thread into a namespace, and back on destruction.
class InNamespace {
public:
    explicit InNamespace(const std::string &full_name);
    InNamespace(const InNamespace &) = delete;
    InNamespace &operator=(const InNamespace &) = delete;
    ~InNamespace();

private:
    int original_ = -1;
};

} // namespace harmony::test
