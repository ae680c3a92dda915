// The host target: a BPF object run by Harmony's own VM (x86-64 JIT or interpreter) with
// host maps and helpers, one frame at a time through common/target.hpp's LoadedProgram.
//
// Loading: loader -> verifier (when built in) -> host maps created from the image -> link
// (map references to map object addresses, helpers by id, struct xdp_md loads rewritten to
// vm::XdpBuff, see link.hpp) -> executor. A frame runs in a buffer with the kernel's
// XDP_PACKET_HEADROOM (256 bytes) before it and tailroom after it, so adjust_head/tail
// behave as on a NIC (and as in BPF_PROG_TEST_RUN); the ring-buffer records written during a
// run are that run's events, and data..data_end after it is the outcome's frame. Through
// run_in_place a frame runs where it lies instead, within that buffer's own headroom and
// tailroom (the dpdk target's mbufs).
#pragma once

#include "common/target.hpp"
#include "host-runtime/program_image.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace harmony::host {

enum class ExecMode { Jit, Interpreter };

struct LoadOptions {
    /// Run Harmony's verifier before linking (refusal -> error with its log line).
    bool verify = true;
};

/// Loads `program_name` (function or section name; empty: the first program) of the
/// object. target() is "host" for the JIT and "host-interp" for the interpreter.
Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, ExecMode mode,
                                            std::string_view program_name = {});
Result<std::unique_ptr<LoadedProgram>> load(const std::string &object_path, ExecMode mode,
                                            std::string_view program_name, const LoadOptions &options);
/// The object's first program on the JIT when `jit`, else on the interpreter: the shape of
/// the dpdk target's fallback engine (dpdk::HostVmLoader).
Result<std::unique_ptr<LoadedProgram>> load_vm(const std::string &object_path, bool jit);
/// The same from an image already read.
Result<std::unique_ptr<LoadedProgram>> load_image(ProgramImage image, ExecMode mode, std::string_view program_name,
                                                  const LoadOptions &options = {});

} // namespace harmony::host
