// The kernel as a target for offline work: a BPF object loaded through libbpf, frames
// run through BPF_PROG_TEST_RUN (the kernel's JIT when enabled; its data_out is the frame
// as the program left it), maps by fd behind the common Map API, ring-buffer records
// collected per frame.
#pragma once

#include "common/target.hpp"

#include <memory>
#include <string>

struct bpf_object;
struct bpf_program;
struct bpf_map;

namespace harmony::xdp {

/// A kernel map behind the common Map API (by fd; works for maps of this process and for
/// pinned maps of another one).
class KernelMap final : public Map {
public:
    KernelMap(int fd, MapInfo info, bool owns_fd);
    ~KernelMap() override;
    static Result<std::unique_ptr<KernelMap>> from_fd(int fd, bool owns_fd);
    const MapInfo &info() const override { return info_; }
    int fd() const { return fd_; }
    Result<Bytes> lookup(ByteView key) override;
    Result<void> update(ByteView key, ByteView value, uint64_t flags) override;
    Result<void> erase(ByteView key) override;
    Result<std::optional<Bytes>> next_key(std::optional<ByteView> key) override;

private:
    size_t value_bytes() const; ///< per-CPU maps: one 8-byte-rounded value per possible CPU
    int fd_;
    MapInfo info_;
    bool owns_fd_;
};

struct KernelLoadOptions {
    std::string program_name; ///< empty: the first program of the object
    bool capture_verifier_log = true;
};

class KernelProgram final : public LoadedProgram {
public:
    ~KernelProgram() override;
    /// Opens and loads the object. A refusal carries the kernel verifier's log.
    static Result<std::unique_ptr<KernelProgram>> load(const std::string &path, const KernelLoadOptions &options = {});

    std::string_view target() const override { return "xdp"; }
    Result<PacketOutcome> run(ByteView frame) override;
    Result<double> time_per_run(ByteView frame, uint32_t repeat) override;
    Map *map(std::string_view name) override;
    std::vector<Map *> maps() override;

    bpf_object *object() const { return object_; }
    bpf_program *program() const { return program_; }
    int program_fd() const;
    const std::string &path() const { return path_; }

private:
    KernelProgram() = default;
    Result<void> open_ring_buffers();

    std::string path_;
    bpf_object *object_ = nullptr;
    bpf_program *program_ = nullptr;
    std::vector<std::unique_ptr<KernelMap>> maps_;
    struct RingBuffers;
    std::unique_ptr<RingBuffers> rings_;
};

/// libbpf's own messages for the current thread's last operation (warnings and errors),
/// so a failure can be reported with them instead of printing them as they come.
std::string take_libbpf_log();
/// Routes libbpf's messages to take_libbpf_log() from now on (loading does it too).
void install_libbpf_log_capture();

} // namespace harmony::xdp
