#include "host_target.hpp"

#include "link.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include <chrono>

#ifdef HARMONY_HAVE_VERIFIER
#include "host-runtime/verifier/verifier.hpp"
#endif

namespace harmony::host {
namespace {

constexpr size_t kHeadroom = 256;        // XDP_PACKET_HEADROOM
constexpr size_t kSharedInfo = 320;      // tail of a 4 KiB frame kept for skb_shared_info
constexpr size_t kFrameSize = 4096;      // one page per frame, as most drivers
constexpr size_t kMinRoom = kFrameSize - kHeadroom - kSharedInfo;

class HostProgram final : public LoadedProgram {
public:
    HostProgram(ProgramImage image, std::string target) : image_(std::move(image)), target_(std::move(target)) {}

    Result<void> create_maps()
    {
        for (const MapSpec &spec : image_.maps) {
            auto map = maps::create_map(spec.info);
            if (!map) {
                return std::unexpected(map.error());
            }
            if (spec.global_data) {
                uint32_t key = 0;
                if (long err = (*map)->update_elem(&key, spec.initial_value.data(), BPF_ANY)) {
                    return fail("create", "map '" + spec.info.name + "'", "initial value: " + errno_text(err));
                }
            }
            if (auto *programs = dynamic_cast<maps::ProgramArray *>(map->get())) {
                programs->set_resolver([this](uint32_t id) -> const void * {
                    return id < linked_.size() ? linked_[id].get() : nullptr;
                });
            }
            maps_.push_back(std::move(*map));
        }
        return {};
    }

    /// Links every XDP program of the object (tail calls may reach any of them by its
    /// index in the object) and picks `entry` to run.
    Result<void> link(size_t entry)
    {
        std::vector<maps::HostMap *> raw;
        for (auto &m : maps_) {
            raw.push_back(m.get());
        }
        for (size_t i = 0; i < image_.programs.size(); i++) {
            const ProgramSection &p = image_.programs[i];
            if (i != entry && p.prog_type != BPF_PROG_TYPE_XDP) {
                linked_.push_back(nullptr);
                continue;
            }
            auto linked = link_program(p, raw);
            if (!linked) {
                return std::unexpected(linked.error());
            }
            linked_.push_back(std::make_unique<vm::LinkedProgram>(std::move(*linked)));
        }
        entry_ = entry;
        return {};
    }

    Result<void> start(ExecMode mode)
    {
        auto executor = mode == ExecMode::Jit ? vm::make_jit(*linked_[entry_]) : vm::make_interpreter(*linked_[entry_]);
        if (!executor) {
            return std::unexpected(executor.error());
        }
        executor_ = std::move(*executor);
        return {};
    }

    std::string_view target() const override { return target_; }

    Result<PacketOutcome> run(ByteView frame) override
    {
        vm::XdpBuff xdp = frame_buffer(frame);
        auto outcome = run_on(xdp);
        if (outcome) {
            outcome->frame.assign(xdp.data, xdp.data_end); // after its stores and adjust_head/tail
        }
        return outcome;
    }

    Result<PacketOutcome> run_in_place(FrameInPlace &frame) override
    {
        vm::XdpBuff xdp = xdp_buff(frame.start, frame.data, frame.data_end, frame.end);
        auto outcome = run_on(xdp);
        frame.data = xdp.data;
        frame.data_end = xdp.data_end;
        return outcome;
    }

    /// As the kernel's BPF_PROG_TEST_RUN with `repeat`: the frame is copied in once, the
    /// program runs `repeat` times on it and the events are drained once, after the clock
    /// stops, so the figure compares with the kernel's.
    Result<double> time_per_run(ByteView frame, uint32_t repeat) override
    {
        if (repeat == 0) {
            return fail("time", target_, "repeat must be at least 1");
        }
        const vm::XdpBuff fresh = frame_buffer(frame);
        auto start = std::chrono::steady_clock::now();
        for (uint32_t i = 0; i < repeat; i++) {
            vm::XdpBuff xdp = fresh; // adjust_head/tail in one run must not leak into the next
            executor_->run(&xdp, 0);
        }
        std::chrono::duration<double, std::nano> spent = std::chrono::steady_clock::now() - start;
        std::vector<Bytes> events;
        drain_events(events);
        if (const std::string &fault = vm::current_run().fault; !fault.empty()) {
            return fail("time", "program '" + image_.programs[entry_].name + "'", fault);
        }
        return spent.count() / repeat;
    }

    Map *map(std::string_view name) override
    {
        int index = image_.map_index(name);
        return index < 0 ? nullptr : maps_[index].get();
    }

    std::vector<Map *> maps() override
    {
        std::vector<Map *> out;
        for (auto &m : maps_) {
            out.push_back(m.get());
        }
        return out;
    }

private:
    ProgramImage image_;
    std::string target_;
    std::vector<std::unique_ptr<maps::HostMap>> maps_;
    std::vector<std::unique_ptr<vm::LinkedProgram>> linked_; // by program index; null: not XDP
    size_t entry_ = 0;
    std::unique_ptr<vm::Executor> executor_;

    Result<PacketOutcome> run_on(vm::XdpBuff &xdp)
    {
        uint64_t r0 = executor_->run(&xdp, 0);
        PacketOutcome outcome;
        outcome.action = r0 > XDP_REDIRECT ? uint32_t(XDP_ABORTED) : static_cast<uint32_t>(r0); // unknown action: aborted
        drain_events(outcome.events);
        if (const std::string &fault = vm::current_run().fault; !fault.empty()) {
            return fail("run", "program '" + image_.programs[entry_].name + "'", fault);
        }
        return outcome;
    }

    static vm::XdpBuff xdp_buff(uint8_t *start, uint8_t *data, uint8_t *data_end, uint8_t *end)
    {
        vm::XdpBuff xdp;
        xdp.data_hard_start = start;
        xdp.data = data;
        xdp.data_end = data_end;
        xdp.data_meta = data;
        xdp.frame_end = end;
        xdp.ingress_ifindex = 1;
        return xdp;
    }

    /// The frame in this thread's buffer, with the kernel's headroom and tailroom.
    static vm::XdpBuff frame_buffer(ByteView frame)
    {
        thread_local Bytes buffer;
        size_t room = std::max(frame.size(), kMinRoom);
        buffer.resize(kHeadroom + room + kSharedInfo);
        // The kernel's test run starts from a zeroed page: a frame grown by adjust_head then
        // reads the same, and no run sees what an earlier one wrote into the headroom.
        std::memset(buffer.data(), 0, kHeadroom);
        std::memcpy(buffer.data() + kHeadroom, frame.data(), frame.size());
        uint8_t *data = buffer.data() + kHeadroom;
        return xdp_buff(buffer.data(), data, data + frame.size(), data + room);
    }

    void drain_events(std::vector<Bytes> &events)
    {
        for (auto &m : maps_) {
            if (auto *ring = maps::as_ring_buffer(m.get())) {
                ring->consume([&](ByteView record) { events.emplace_back(record.begin(), record.end()); });
            }
        }
    }
};

Result<size_t> pick_program(const ProgramImage &image, std::string_view name)
{
    if (name.empty()) {
        return 0; // the loader refuses objects without programs
    }
    const ProgramSection *program = image.program(name);
    if (!program) {
        return fail("load", fmt::format("{} program '{}'", image.path, name), "no such program or section");
    }
    return static_cast<size_t>(program - image.programs.data());
}

Result<void> verify(const ProgramImage &image, size_t index)
{
#ifdef HARMONY_HAVE_VERIFIER
    verifier::Options options;
    options.prototypes = [](uint32_t id) -> const helpers::Prototype * {
        const helpers::Helper *helper = helpers::find_helper(id);
        return helper ? &helper->proto : nullptr;
    };
    verifier::Report report = verifier::verify(image.programs[index], image.maps, options);
    if (!report.accepted) {
        const auto &r = report.refusal;
        return fail("verify", fmt::format("{} program '{}'", image.path, image.programs[index].name),
                    r ? fmt::format("{}: {} ({})", r->pc, r->reason, r->insn) : report.log);
    }
#else
    (void)image;
    (void)index;
#endif
    return {};
}

} // namespace

Result<std::unique_ptr<LoadedProgram>> load_image(ProgramImage image, ExecMode mode, std::string_view program_name,
                                                  const LoadOptions &options)
{
    auto index = pick_program(image, program_name);
    if (!index) {
        return std::unexpected(index.error());
    }
    if (options.verify) {
        if (auto ok = verify(image, *index); !ok) {
            return std::unexpected(ok.error());
        }
    }
    auto program = std::make_unique<HostProgram>(std::move(image), mode == ExecMode::Jit ? "host" : "host-interp");
    if (auto ok = program->create_maps(); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = program->link(*index); !ok) {
        return std::unexpected(ok.error());
    }
    if (auto ok = program->start(mode); !ok) {
        return std::unexpected(ok.error());
    }
    return std::unique_ptr<LoadedProgram>(std::move(program));
}

Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, ExecMode mode,
                                            std::string_view program_name, const LoadOptions &options)
{
    auto image = load_program_image(object_path);
    if (!image) {
        return std::unexpected(image.error());
    }
    return load_image(std::move(*image), mode, program_name, options);
}

Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, ExecMode mode,
                                            std::string_view program_name)
{
    return load(object_path, mode, program_name, LoadOptions{});
}

Result<std::unique_ptr<LoadedProgram>> load_vm(const std::string &object_path, bool jit)
{
    return load(object_path, jit ? ExecMode::Jit : ExecMode::Interpreter);
}

} // namespace harmony::host
