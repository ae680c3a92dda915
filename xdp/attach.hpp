// Internal: one or more BPF objects attached together to one interface through libxdp,
// trying modes in order and keeping each refusal with the kernel's reason.
#pragma once

#include "xdp.hpp"

#include <functional>

struct bpf_object;
struct xdp_program;

namespace harmony::xdp {

/// One program of a chain on an interface; lower priority runs first.
struct StageSpec {
    std::string label;                 ///< for messages: "dpi.bpf.o", "forward stage"
    std::filesystem::path path;        ///< open from this file...
    ByteView image;                    ///< ...or from these bytes when path is empty
    unsigned priority = 50;
    /// Called on the freshly opened object before libxdp loads it (pin paths, sizes).
    std::function<Result<void>(bpf_object *)> prepare;
};

/// Programs attached to one interface; detaches on destruction unless released.
class AttachedChain {
public:
    AttachedChain() = default;
    AttachedChain(const AttachedChain &) = delete;
    AttachedChain &operator=(const AttachedChain &) = delete;
    ~AttachedChain();

    Result<void> detach();
    bpf_object *object(size_t stage) const { return objects_.at(stage); }
    const Attachment &attachment() const { return attachment_; }
    /// Kernel ids of every stage, in chain order (what a later run needs to find a stale one).
    std::vector<uint32_t> program_ids() const;

private:
    friend Result<std::unique_ptr<AttachedChain>> attach_chain(const std::string &, const std::vector<StageSpec> &,
                                                               const std::vector<AttachMode> &,
                                                               std::vector<ModeRefusal> &);
    void close_all();

    std::vector<bpf_object *> objects_;
    std::vector<xdp_program *> programs_;
    Attachment attachment_;
    bool attached_ = false;
};

/// Attaches `stages` as one chain on `interface`, trying `modes` in order. Each refused
/// mode is appended to `refusals`; the error, when all are refused, lists them all.
Result<std::unique_ptr<AttachedChain>> attach_chain(const std::string &interface, const std::vector<StageSpec> &stages,
                                                    const std::vector<AttachMode> &modes,
                                                    std::vector<ModeRefusal> &refusals);

/// The interface's index when it exists and is up, else a clear error.
Result<int> usable_interface(const std::string &interface);

/// A clear error when this process may not load BPF programs or attach XDP.
Result<void> check_privilege();

/// Detaches the program with kernel id `program_id` from `ifindex`, wherever libxdp has
/// it (dispatcher or alone). Returns false when it is not attached there.
Result<bool> detach_program_id(int ifindex, uint32_t program_id);

/// Runs `body` with libbpf's and libxdp's log lines collected into the returned text.
std::string capture_library_log(const std::function<void()> &body);

/// The AF_XDP redirect program, embedded in the library.
ByteView xsk_program_image();

} // namespace harmony::xdp
