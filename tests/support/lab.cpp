#include "lab.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace harmony::test {

TempDir::TempDir(const std::string &tag)
    : path(std::filesystem::temp_directory_path() / ("hx-" + tag + "-" + std::to_string(getpid())))
{
    std::filesystem::create_directories(path);
}

TempDir::~TempDir()
{
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
}

Lab::Lab(LabLayout layout_)
    : layout(std::move(layout_)), net(layout.tag), client(net.add_namespace("client")), dut(net.add_namespace("dut")),
      server(net.add_namespace("server")), temp(layout.tag)
{
    net.add_veth("client", "c0", "dut", layout.dut_ingress);
    net.add_veth("dut", layout.dut_egress, "server", "s0");
    net.exec("client", "ip addr add " + client_address() + "/24 dev c0");
    net.exec("server", "ip addr add " + server_address() + "/24 dev s0");
}

void Lab::set_endpoint_offloads(const std::string &features)
{
    net.exec("client", "ethtool -K c0 " + features);
    net.exec("server", "ethtool -K s0 " + features);
}

std::string Lab::fetch(const std::string &scheme, const std::string &domain)
{
    std::string port = scheme == "https" ? "443" : "80";
    auto result = net.try_exec("client", "curl -sk -m 2 -w ' %{http_code}' --resolve " + domain + ":" + port + ":" +
                                             server_address() + " " + scheme + "://" + domain + "/");
    if (result.status != 0) {
        return "curl exit " + std::to_string(result.status);
    }
    return result.output;
}

std::string page(const std::string &domain)
{
    return "harmony page for " + domain + "\n 200";
}

VhostServer::VhostServer(Lab &lab)
{
    std::string cert = lab.file("cert.pem");
    std::string key = lab.file("key.pem");
    auto made = run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=harmony -keyout " + key +
                            " -out " + cert);
    if (made.status != 0) {
        throw std::runtime_error("openssl: " + made.output);
    }
    std::string ready = lab.file("ready");
    std::string script = std::string(HARMONY_SOURCE_DIR) + "/tests/support/vhost_server.py";
    process_ = std::make_unique<Background>(lab.server, "python3 " + script + " " + lab.server_address() + " " + cert +
                                                            " " + key + " " + ready,
                                            lab.file("vhost-server.out"));
    for (int i = 0; i < 100 && !std::filesystem::exists(ready); i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!std::filesystem::exists(ready)) {
        throw std::runtime_error("the virtual-host server did not start: " + process_->output());
    }
}

void check_allowed(Lab &lab, const std::string &scheme, const std::vector<std::string> &domains)
{
    for (const auto &domain : domains) {
        INFO(scheme << "://" << domain << " should be allowed");
        CHECK(lab.fetch(scheme, domain) == page(domain));
    }
}

void check_blocked(Lab &lab, const std::string &scheme, const std::vector<std::string> &domains)
{
    for (const auto &domain : domains) {
        INFO(scheme << "://" << domain << " should be blocked");
        CHECK(lab.fetch(scheme, domain) == "curl exit 28");
    }
}

} // namespace harmony::test
