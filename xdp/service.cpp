#include "attach.hpp"
#include "fd_map.hpp"
#include "forward.hpp"
#include "service_state.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fmt/format.h>

#include <fcntl.h>
#include <sched.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace harmony::xdp {

namespace {

// Through the dispatcher, the service runs before programs of default priority (50).
constexpr unsigned kServicePriority = 10;

// Pins are only shared with other processes when they live on the host's bpffs; `ip netns
// exec` remounts /sys, which hides it.
Result<void> check_bpffs()
{
    struct statfs fs{};
    if (statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != BPF_FS_MAGIC) {
        return fail("pin maps", "under /sys/fs/bpf",
                    "not a bpffs mount here (`ip netns exec` remounts /sys and hides the host's bpffs; "
                    "enter the namespace with `nsenter --net=/run/netns/NAME` instead)");
    }
    return {};
}

Result<void> pin_maps_under(bpf_object *object, const std::filesystem::path &dir)
{
    bpf_map *map = nullptr;
    bpf_object__for_each_map(map, object)
    {
        if (bpf_map__is_internal(map)) {
            continue; // .data/.rodata/.bss belong to one program instance
        }
        std::string path = (dir / bpf_map__name(map)).string();
        if (int err = bpf_map__set_pin_path(map, path.c_str()); err) {
            return fail("pin map", "'" + std::string(bpf_map__name(map)) + "'", errno_text(err));
        }
    }
    return {};
}

// The network namespace a service was started in: interfaces are found by index there, so
// stopping from another namespace (a test thread that moved, a signal handler thread)
// briefly goes back to it.
class HomeNamespace {
public:
    HomeNamespace() : fd_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {}
    ~HomeNamespace()
    {
        if (fd_ >= 0) {
            close(fd_);
        }
    }

    template <typename Body>
    auto run_inside(Body body)
    {
        int current = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        struct stat here{}, home{};
        bool move = current >= 0 && fd_ >= 0 && fstat(current, &here) == 0 && fstat(fd_, &home) == 0 &&
                    here.st_ino != home.st_ino && setns(fd_, CLONE_NEWNET) == 0;
        auto result = body();
        if (move) {
            setns(current, CLONE_NEWNET);
        }
        if (current >= 0) {
            close(current);
        }
        return result;
    }

private:
    int fd_;
};

class XdpService final : public Service {
public:
    static Result<std::unique_ptr<Service>> start(const ServiceOptions &options);
    ~XdpService() override { (void)stop(); }

    const std::string &name() const override { return name_; }
    const std::vector<Attachment> &attachments() const override { return attachments_; }
    const std::vector<ModeRefusal> &refusals() const override { return refusals_; }
    const std::vector<std::string> &replaced() const override { return replaced_; }

    Map *map(std::string_view name) override
    {
        for (auto &map : maps_) {
            if (map->info().name == name) {
                return map.get();
            }
        }
        return nullptr;
    }

    std::vector<Map *> maps() override
    {
        std::vector<Map *> all;
        for (auto &map : maps_) {
            all.push_back(map.get());
        }
        return all;
    }

    Result<void> stop() override
    {
        return home_.run_inside([this] { return stop_here(); });
    }

private:
    Result<void> stop_here();
    Result<void> attach_direction(const ServiceOptions &options, const std::string &from,
                                  const std::optional<std::string> &to);
    Result<void> open_maps();

    std::string name_;
    std::filesystem::path pins_;
    std::vector<std::unique_ptr<AttachedChain>> chains_;
    std::vector<Attachment> attachments_;
    std::vector<ModeRefusal> refusals_;
    std::vector<std::string> replaced_;
    std::vector<std::unique_ptr<Map>> maps_;
    HomeNamespace home_;
    bool running_ = false;
};

Result<void> XdpService::attach_direction(const ServiceOptions &options, const std::string &from,
                                          const std::optional<std::string> &to)
{
    std::unique_ptr<EgressPort> egress;
    if (to) {
        auto ifindex = usable_interface(*to);
        if (!ifindex) {
            return std::unexpected(ifindex.error());
        }
        auto port = EgressPort::create(*to, *ifindex);
        if (!port) {
            return std::unexpected(port.error());
        }
        egress = std::move(*port);
    }
    // Every direction loads its own instance of the program; the pins make them share
    // one set of maps, so a connection blocked one way is blocked the other way too.
    auto prepare = [this, &egress](bpf_object *object) -> Result<void> {
        if (auto pinned = pin_maps_under(object, pins_); !pinned) {
            return pinned;
        }
        return egress ? add_forward_epilogue(object, *egress) : Result<void>{};
    };
    std::vector<StageSpec> stages{{options.program.filename().string(), options.program, {}, kServicePriority, prepare}};
    auto chain = attach_chain(from, stages, options.modes, refusals_);
    if (!chain) {
        return std::unexpected(chain.error());
    }
    attachments_.push_back((*chain)->attachment());
    chains_.push_back(std::move(*chain));
    return {};
}

Result<void> XdpService::open_maps()
{
    bpf_map *map = nullptr;
    bpf_object__for_each_map(map, chains_.front()->object(0))
    {
        if (bpf_map__is_internal(map)) {
            continue;
        }
        int fd = dup(bpf_map__fd(map));
        if (fd < 0) {
            return fail("open map", bpf_map__name(map), errno_text(errno));
        }
        auto opened = make_fd_map(fd, true, bpf_map__name(map));
        if (!opened) {
            return std::unexpected(opened.error());
        }
        maps_.push_back(std::move(*opened));
    }
    return {};
}

Result<std::unique_ptr<Service>> XdpService::start(const ServiceOptions &options)
{
    if (auto allowed = check_privilege(); !allowed) {
        return std::unexpected(allowed.error());
    }
    if (!std::filesystem::exists(options.program)) {
        return fail("open program", options.program.string(), "no such file");
    }
    if (auto bpffs = check_bpffs(); !bpffs) {
        return std::unexpected(bpffs.error());
    }
    if (options.egress && *options.egress == options.ingress) {
        return fail("forward", options.ingress, "ingress and egress must be different interfaces");
    }
    if (options.both_directions && !options.egress) {
        return fail("forward", options.ingress, "both directions needs an egress interface");
    }
    for (const std::string *interface : {&options.ingress, options.egress ? &*options.egress : nullptr}) {
        if (interface) {
            if (auto usable = usable_interface(*interface); !usable) {
                return std::unexpected(usable.error());
            }
        }
    }

    auto service = std::make_unique<XdpService>();
    service->name_ = options.service.empty() ? options.program.stem().stem().string() : options.service;
    service->pins_ = pin_dir(service->name_);
    auto claimed = claim_service(service->name_, service->replaced_);
    if (!claimed) {
        return std::unexpected(claimed.error());
    }
    service->running_ = true; // from here on, stop() undoes whatever was done

    std::error_code ec;
    std::filesystem::create_directories(service->pins_, ec);
    if (ec) {
        return fail("create pin folder", service->pins_.string(), ec.message());
    }
    if (auto attached = service->attach_direction(options, options.ingress, options.egress); !attached) {
        return std::unexpected(attached.error());
    }
    if (options.both_directions) {
        auto back = service->attach_direction(options, *options.egress, options.ingress);
        if (!back) {
            return std::unexpected(back.error());
        }
    }
    std::vector<ServiceRecord::Entry> entries;
    for (auto &chain : service->chains_) {
        entries.push_back({chain->attachment().interface, chain->attachment().ifindex, chain->program_ids()});
    }
    if (auto recorded = record_service(service->name_, entries); !recorded) {
        return std::unexpected(recorded.error());
    }
    if (auto opened = service->open_maps(); !opened) {
        return std::unexpected(opened.error());
    }
    return std::unique_ptr<Service>(std::move(service));
}

Result<void> XdpService::stop_here()
{
    if (!running_) {
        return {};
    }
    running_ = false;
    std::optional<Error> first_error;
    while (!chains_.empty()) {
        if (auto detached = chains_.back()->detach(); !detached && !first_error) {
            first_error = detached.error();
        }
        chains_.pop_back();
    }
    maps_.clear();
    std::error_code ec;
    std::filesystem::remove_all(pins_, ec);
    release_service(name_);
    if (first_error) {
        return std::unexpected(*first_error);
    }
    return {};
}

} // namespace

std::filesystem::path pin_dir(std::string_view service)
{
    return std::filesystem::path("/sys/fs/bpf/harmony") / service;
}

Result<std::unique_ptr<Service>> Service::start(const ServiceOptions &options)
{
    return XdpService::start(options);
}

} // namespace harmony::xdp
