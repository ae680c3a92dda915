#include "xdp/live_service.hpp"

#include "xdp/xdp.hpp"

#include <fmt/format.h>

#include <thread>

namespace harmony::xdp {
namespace {

std::string describe_attachment(const Attachment &attachment)
{
    std::string how = attachment.dispatcher
                          ? "through libxdp's dispatcher"
                          : "alone" + (attachment.why_alone.empty() ? std::string() : ": " + attachment.why_alone);
    return fmt::format("attached: {} on {} ({}), program id {}", mode_name(attachment.mode), attachment.interface, how,
                       attachment.program_id);
}

class XdpLiveService final : public harmony::Service {
public:
    explicit XdpLiveService(std::unique_ptr<xdp::Service> service) : service_(std::move(service)) {}

    std::string_view target() const override
    {
        const auto &attachments = service_->attachments();
        return attachments.empty() ? std::string_view("xdp") : mode_name(attachments.front().mode);
    }

    std::vector<std::string> describe() const override
    {
        std::vector<std::string> lines;
        for (const auto &line : service_->replaced()) {
            lines.push_back("replaced: " + line);
        }
        for (const auto &refusal : service_->refusals()) {
            lines.push_back(fmt::format("refused: {} on {}: {}", mode_name(refusal.mode), refusal.interface,
                                        refusal.reason));
        }
        for (const auto &attachment : service_->attachments()) {
            lines.push_back(describe_attachment(attachment));
        }
        lines.push_back("maps pinned under " + pin_dir(service_->name()).string());
        return lines;
    }

    Map *map(std::string_view name) override { return service_->map(name); }
    std::vector<Map *> maps() override { return service_->maps(); }

    Result<size_t> poll_events(const std::function<void(ByteView)> &sink, std::chrono::milliseconds timeout) override
    {
        if (auto opened = open_events(); !opened) {
            return std::unexpected(opened.error());
        }
        if (!events_) {
            std::this_thread::sleep_for(timeout);
            return 0;
        }
        sink_ = &sink;
        auto polled = events_->poll(timeout);
        sink_ = nullptr;
        if (!polled) {
            return std::unexpected(polled.error());
        }
        return static_cast<size_t>(*polled);
    }

    Result<void> stop() override
    {
        events_.reset();
        return service_->stop();
    }

private:
    /// The reader is opened on first use: a program without an 'events' ring has none.
    Result<void> open_events()
    {
        if (events_ || events_checked_) {
            return {};
        }
        events_checked_ = true;
        Map *ring = service_->map("events");
        if (!ring) {
            return {};
        }
        auto reader = RingBufferReader::open(map_fd(*ring), [this](ByteView record) {
            if (sink_) {
                (*sink_)(record);
            }
        });
        if (!reader) {
            return std::unexpected(reader.error());
        }
        events_ = std::move(*reader);
        return {};
    }

    std::unique_ptr<xdp::Service> service_;
    std::unique_ptr<RingBufferReader> events_;
    bool events_checked_ = false;
    const std::function<void(ByteView)> *sink_ = nullptr;
};

} // namespace

Result<std::unique_ptr<harmony::Service>> start_service(const ServiceSpec &spec, std::string_view target)
{
    auto modes = modes_for_target(target);
    if (!modes) {
        return std::unexpected(modes.error());
    }
    ServiceOptions options;
    options.program = spec.program;
    options.service = spec.name;
    options.ingress = spec.ingress;
    if (!spec.egress.empty()) {
        options.egress = spec.egress;
    }
    options.both_directions = spec.both_directions;
    options.modes = *modes;
    auto started = xdp::Service::start(options);
    if (!started) {
        return std::unexpected(started.error());
    }
    return std::unique_ptr<harmony::Service>(std::make_unique<XdpLiveService>(std::move(*started)));
}

} // namespace harmony::xdp
