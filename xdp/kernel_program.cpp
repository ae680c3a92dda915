#include "kernel_program.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <fmt/format.h>
#include <linux/if_ether.h>
#include <unistd.h>

namespace harmony::xdp {

namespace {

constexpr size_t kTestRunHeadroom = 256; // XDP_PACKET_HEADROOM
constexpr size_t kTestRunPage = 4096;    // the test run's frame: one page

thread_local std::string libbpf_log;

int capture_libbpf_print(enum libbpf_print_level level, const char *format, va_list args)
{
    if (level == LIBBPF_DEBUG) {
        return 0;
    }
    char line[4096];
    int n = vsnprintf(line, sizeof(line), format, args);
    libbpf_log += line;
    return n;
}

struct LibbpfSetup {
    LibbpfSetup() { libbpf_set_print(capture_libbpf_print); }
};

void setup_libbpf()
{
    static LibbpfSetup once;
}

Error kernel_error(std::string what, std::string which, int err)
{
    std::string why = errno_text(err);
    std::string log = take_libbpf_log();
    if (!log.empty()) {
        why += "\n" + log;
    }
    return Error{std::move(what), std::move(which), std::move(why)};
}

MapInfo info_of(const bpf_map *map)
{
    return MapInfo{bpf_map__name(map), static_cast<uint32_t>(bpf_map__type(map)), bpf_map__key_size(map),
                   bpf_map__value_size(map), bpf_map__max_entries(map), bpf_map__map_flags(map)};
}

bool per_cpu(uint32_t type)
{
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

} // namespace

void install_libbpf_log_capture()
{
    setup_libbpf();
}

std::string take_libbpf_log()
{
    return std::exchange(libbpf_log, {});
}

// ---- KernelMap ----

KernelMap::KernelMap(int fd, MapInfo info, bool owns_fd) : fd_(fd), info_(std::move(info)), owns_fd_(owns_fd) {}

KernelMap::~KernelMap()
{
    if (owns_fd_) {
        close(fd_);
    }
}

Result<std::unique_ptr<KernelMap>> KernelMap::from_fd(int fd, bool owns_fd)
{
    bpf_map_info raw{};
    uint32_t len = sizeof(raw);
    if (bpf_obj_get_info_by_fd(fd, &raw, &len) != 0) {
        return fail("inspect map", fmt::format("fd {}", fd), errno_text(errno));
    }
    MapInfo info{raw.name, raw.type, raw.key_size, raw.value_size, raw.max_entries, raw.map_flags};
    return std::make_unique<KernelMap>(fd, std::move(info), owns_fd);
}

size_t KernelMap::value_bytes() const
{
    if (!per_cpu(info_.type)) {
        return info_.value_size;
    }
    return static_cast<size_t>(libbpf_num_possible_cpus()) * ((info_.value_size + 7) / 8 * 8);
}

Result<Bytes> KernelMap::lookup(ByteView key)
{
    Bytes value(value_bytes());
    if (bpf_map_lookup_elem(fd_, key.data(), value.data()) != 0) {
        return fail("lookup", "map '" + info_.name + "'", errno_text(errno));
    }
    return value;
}

Result<void> KernelMap::update(ByteView key, ByteView value, uint64_t flags)
{
    if (key.size() != info_.key_size || value.size() != value_bytes()) {
        return fail("update", "map '" + info_.name + "'",
                    fmt::format("key of {} bytes and value of {} bytes, map takes {} and {}", key.size(), value.size(),
                                info_.key_size, value_bytes()));
    }
    if (bpf_map_update_elem(fd_, key.data(), value.data(), flags) != 0) {
        return fail("update", "map '" + info_.name + "'", errno_text(errno));
    }
    return {};
}

Result<void> KernelMap::erase(ByteView key)
{
    if (bpf_map_delete_elem(fd_, key.data()) != 0) {
        return fail("delete", "map '" + info_.name + "'", errno_text(errno));
    }
    return {};
}

Result<std::optional<Bytes>> KernelMap::next_key(std::optional<ByteView> key)
{
    Bytes next(info_.key_size);
    if (bpf_map_get_next_key(fd_, key ? key->data() : nullptr, next.data()) != 0) {
        if (errno == ENOENT) {
            return std::optional<Bytes>{};
        }
        return fail("iterate", "map '" + info_.name + "'", errno_text(errno));
    }
    return std::optional<Bytes>{std::move(next)};
}

// ---- KernelProgram ----

struct KernelProgram::RingBuffers {
    ring_buffer *rb = nullptr;
    std::vector<Bytes> pending;
    ~RingBuffers()
    {
        if (rb) {
            ring_buffer__free(rb);
        }
    }
    static int collect(void *ctx, void *data, size_t size)
    {
        auto *self = static_cast<RingBuffers *>(ctx);
        const auto *bytes = static_cast<const uint8_t *>(data);
        self->pending.emplace_back(bytes, bytes + size);
        return 0;
    }
};

KernelProgram::~KernelProgram()
{
    rings_.reset();
    maps_.clear();
    if (object_) {
        bpf_object__close(object_);
    }
}

Result<std::unique_ptr<KernelProgram>> KernelProgram::load(const std::string &path, const KernelLoadOptions &options)
{
    setup_libbpf();
    take_libbpf_log();
    if (access(path.c_str(), R_OK) != 0) {
        return fail("open program", path, errno_text(errno));
    }
    std::unique_ptr<KernelProgram> self(new KernelProgram());
    self->path_ = path;
    self->object_ = bpf_object__open_file(path.c_str(), nullptr);
    if (!self->object_) {
        return std::unexpected(kernel_error("open program", path, errno));
    }
    if (int err = bpf_object__load(self->object_); err != 0) {
        return std::unexpected(kernel_error("load program", path, err));
    }
    self->program_ = options.program_name.empty()
                         ? bpf_object__next_program(self->object_, nullptr)
                         : bpf_object__find_program_by_name(self->object_, options.program_name.c_str());
    if (!self->program_) {
        return fail("load program", path,
                    options.program_name.empty() ? "the object has no program"
                                                 : "no program named '" + options.program_name + "'");
    }
    bpf_map *map;
    bpf_object__for_each_map(map, self->object_)
    {
        self->maps_.push_back(std::make_unique<KernelMap>(bpf_map__fd(map), info_of(map), false));
    }
    if (auto ok = self->open_ring_buffers(); !ok) {
        return std::unexpected(ok.error());
    }
    return self;
}

Result<void> KernelProgram::open_ring_buffers()
{
    rings_ = std::make_unique<RingBuffers>();
    for (const auto &map : maps_) {
        if (map->info().type != BPF_MAP_TYPE_RINGBUF) {
            continue;
        }
        int err = rings_->rb ? ring_buffer__add(rings_->rb, map->fd(), RingBuffers::collect, rings_.get())
                             : ((rings_->rb = ring_buffer__new(map->fd(), RingBuffers::collect, rings_.get(), nullptr))
                                    ? 0
                                    : -errno);
        if (err != 0) {
            return std::unexpected(kernel_error("open ring buffer", "map '" + map->info().name + "'", err));
        }
    }
    return {};
}

int KernelProgram::program_fd() const
{
    return bpf_program__fd(program_);
}

Result<PacketOutcome> KernelProgram::run(ByteView frame)
{
    // BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header, and no NIC
    // delivers one to XDP: such a runt never reaches the program and passes.
    if (frame.size() < ETH_HLEN) {
        return PacketOutcome{XDP_PASS, {}, Bytes(frame.begin(), frame.end())};
    }
    // data_out must hold what the program may grow the frame to: the test run gives it
    // XDP_PACKET_HEADROOM in front and a page minus headroom and skb_shared_info in all.
    Bytes out(std::max<size_t>(frame.size() + kTestRunHeadroom, kTestRunPage));
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(frame.size()), .data_size_out = static_cast<uint32_t>(out.size()),
                .repeat = 1);
    if (bpf_prog_test_run_opts(program_fd(), &opts) != 0) {
        return std::unexpected(kernel_error("run", fmt::format("prog '{}'", bpf_program__name(program_)), errno));
    }
    out.resize(opts.data_size_out);
    PacketOutcome outcome{opts.retval, {}, std::move(out)};
    if (rings_->rb) {
        ring_buffer__consume(rings_->rb);
        outcome.events = std::exchange(rings_->pending, {});
    }
    return outcome;
}

Result<double> KernelProgram::time_per_run(ByteView frame, uint32_t repeat)
{
    if (frame.size() < ETH_HLEN) {
        return 0.0;
    }
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = static_cast<uint32_t>(frame.size()),
                .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(program_fd(), &opts) != 0) {
        return std::unexpected(kernel_error("time", fmt::format("prog '{}'", bpf_program__name(program_)), errno));
    }
    if (rings_->rb) {
        ring_buffer__consume(rings_->rb);
        rings_->pending.clear();
    }
    return static_cast<double>(opts.duration); // the kernel reports the mean per run
}

Map *KernelProgram::map(std::string_view name)
{
    for (auto &m : maps_) {
        if (m->info().name == name) {
            return m.get();
        }
    }
    return nullptr;
}

std::vector<Map *> KernelProgram::maps()
{
    std::vector<Map *> all;
    for (auto &m : maps_) {
        all.push_back(m.get());
    }
    return all;
}

} // namespace harmony::xdp
