#include "service_state.hpp"

#include "attach.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace harmony::xdp {

namespace {

const std::filesystem::path kStateDir = "/run/harmony/xdp";

std::filesystem::path state_file(const std::string &service)
{
    return kStateDir / (service + ".json");
}

// The process start time (field 22 of /proc/PID/stat) tells a recycled pid from the owner.
std::string process_start_time(pid_t pid)
{
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t after_name = stat.rfind(')');
    if (after_name == std::string::npos) {
        return {};
    }
    std::istringstream fields(stat.substr(after_name + 2));
    std::string field;
    for (int index = 3; index <= 22 && fields >> field; index++) {
    }
    return field;
}

bool owner_alive(const nlohmann::json &record)
{
    pid_t pid = record.value("pid", 0);
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        return false;
    }
    return process_start_time(pid) == record.value("start_time", std::string());
}

Result<void> write_record(const std::string &service, const nlohmann::json &record)
{
    std::error_code ec;
    std::filesystem::create_directories(kStateDir, ec);
    std::filesystem::path path = state_file(service);
    std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary);
        out << record.dump(2) << "\n";
        if (!out) {
            return fail("record service", service, "cannot write " + temporary.string());
        }
    }
    std::filesystem::rename(temporary, path, ec);
    if (ec) {
        return fail("record service", service, ec.message());
    }
    return {};
}

void detach_stale(const nlohmann::json &record, std::vector<std::string> &replaced)
{
    for (const auto &entry : record.value("attachments", nlohmann::json::array())) {
        int ifindex = entry.value("ifindex", 0);
        for (uint32_t id : entry.value("program_ids", std::vector<uint32_t>{})) {
            auto detached = detach_program_id(ifindex, id);
            if (detached && *detached) {
                replaced.push_back(fmt::format("detached stale program id {} from {} (left by pid {})", id,
                                               entry.value("interface", std::string("?")),
                                               record.value("pid", 0)));
            } else if (!detached) {
                replaced.push_back(detached.error().message());
            }
        }
    }
}

} // namespace

Result<void> claim_service(const std::string &service, std::vector<std::string> &replaced)
{
    if (service.empty() || service.find('/') != std::string::npos || service == "." || service == "..") {
        return fail("name service", "'" + service + "'", "a service name is one path component");
    }
    std::filesystem::path path = state_file(service);
    if (std::filesystem::exists(path)) {
        std::ifstream in(path);
        nlohmann::json record = nlohmann::json::parse(in, nullptr, false);
        if (!record.is_discarded()) {
            if (owner_alive(record) && record.value("pid", 0) != getpid()) {
                return fail("start service", "'" + service + "'",
                            fmt::format("already running as pid {}", record.value("pid", 0)));
            }
            detach_stale(record, replaced);
        }
    }
    std::error_code ec;
    if (std::filesystem::exists(pin_dir(service))) {
        std::filesystem::remove_all(pin_dir(service), ec);
        replaced.push_back("removed stale pins under " + pin_dir(service).string());
    }
    return record_service(service, {});
}

Result<void> record_service(const std::string &service, const std::vector<ServiceRecord::Entry> &entries)
{
    nlohmann::json record;
    record["pid"] = getpid();
    record["start_time"] = process_start_time(getpid());
    record["attachments"] = nlohmann::json::array();
    for (const auto &entry : entries) {
        record["attachments"].push_back(
            {{"interface", entry.interface}, {"ifindex", entry.ifindex}, {"program_ids", entry.program_ids}});
    }
    return write_record(service, record);
}

void release_service(const std::string &service)
{
    std::error_code ec;
    std::filesystem::remove(state_file(service), ec);
}

} // namespace harmony::xdp
