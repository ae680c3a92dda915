// Test scaffolding: the paper's correctness lab, client -> DUT -> server over veth, one L2
// segment that exists only through the DUT's forwarding; the virtual-host server that
// answers each site with its own page; and the HTTP/TLS fetch checks run from the client.
#pragma once

#include "netns.hpp"
#include "process.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace harmony::test {

/// Sites the DPI tests block and allow (tests/support/vhost_server.py serves them all).
inline const std::vector<std::string> kBlockedSites = {"yahoo.com", "facebook.com", "example.com", "youtube.com"};
inline const std::vector<std::string> kAllowedSites = {"vmware.com", "google.com", "slashdot.org"};

/// A temporary folder, unique to this process and `tag`, removed at the end.
struct TempDir {
    explicit TempDir(const std::string &tag);
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    ~TempDir();
    std::filesystem::path path;
};

/// Names and addresses of a lab; tests running at the same time use different tags.
struct LabLayout {
    std::string tag;
    std::string subnet = "10.77.0"; // client .1, server .2, /24
    std::string dut_ingress = "d0"; // the DUT's veth facing the client (c0)
    std::string dut_egress = "d1";  // the DUT's veth facing the server (s0)
};

/// client (c0 .1) <-> (ingress) dut (egress) <-> server (s0 .2).
struct Lab {
    explicit Lab(LabLayout layout);

    std::string client_address() const { return layout.subnet + ".1"; }
    std::string server_address() const { return layout.subnet + ".2"; }
    std::string file(const std::string &name) const { return (temp.path / name).string(); }
    /// `ethtool -K <endpoint veth> features` on the client and the server.
    void set_endpoint_offloads(const std::string &features);
    /// "BODY 200" on success, "curl exit N" on failure (28: timed out).
    std::string fetch(const std::string &scheme, const std::string &domain);

    LabLayout layout;
    TestNetwork net;
    std::string client;
    std::string dut;
    std::string server;
    TempDir temp;
};

/// What the virtual-host server answers for `domain`, as Lab::fetch returns it.
std::string page(const std::string &domain);

/// tests/support/vhost_server.py (HTTP on 80, TLS on 443 with a fresh self-signed
/// certificate) in the lab's server namespace until destroyed.
class VhostServer {
public:
    explicit VhostServer(Lab &lab);

private:
    std::unique_ptr<Background> process_;
};

/// Each domain fetched by `scheme` from the client answers with its own page.
void check_allowed(Lab &lab, const std::string &scheme, const std::vector<std::string> &domains);
/// Each domain fetched by `scheme` from the client times out: its request or ClientHello never arrived.
void check_blocked(Lab &lab, const std::string &scheme, const std::vector<std::string> &domains);

} // namespace harmony::test
