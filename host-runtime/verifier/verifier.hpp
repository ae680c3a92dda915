// Harmony's static BPF verifier: proves a program safe before the host or dpdk target runs
// it, and refuses it otherwise with a log that reads like the kernel's (instruction index,
// the instruction, the reason, the register state).
//
// Design: path-sensitive exploration of abstract states, as Linux does, rather than a
// whole-program abstract interpretation as PREVAIL does, because clang's XDP code relies
// on path facts (a null check or a packet bounds check guards exactly the path it
// dominates) and because the kernel-style per-path log is what users know how to read.
// Three departures from the kernel make loops cheap without giving up soundness:
//  - states wait at join points and are explored lowest instruction first, and a loop head
//    waits until no state is left inside its loop body, so all paths of one iteration
//    arrive together; those of the same iteration (each state counts its iterations per
//    loop) are merged into one (a join of intervals) when they agree on pointer kinds. The
//    kernel explores depth-first and keeps them apart, which is why a 256-iteration byte
//    scan costs it 2^k paths and Harmony a few thousand instructions;
//  - a state is pruned when an already-seen state at the same instruction covers it, but
//    only outside loops (outside every cycle of the control-flow graph, and not under a
//    call made from a loop): a loop is therefore unrolled until every path leaves it, so
//    acceptance proves termination; a loop whose state repeats is refused at once
//    ("infinite loop detected"), one whose state keeps changing runs into the instruction
//    budget and is refused naming its loop head;
//  - joins keep relations (equal scalars, packet pointers sharing a variable offset,
//    null-ness shared by copies) only where both sides agree, through an id map;
//  - a bpf_loop callback is explored as a call from the helper with r1 = an index below
//    BPF_MAX_LOOPS and r2 = the ctx argument; each of its returns (r0 in [0, 1]) goes on
//    both after the call and into the callback again, that next entry widened against the
//    previous one (values the callback keeps changing become unknown), so the entries stop
//    differing and pruning ends the unrolling: the iteration count needs no bound here.
// Where the kernel is stricter than safety needs (no helper access to packet memory for
// most helpers, no subtraction from the stack pointer, no bounds learned past 64 KiB)
// Harmony follows the kernel, so that a program Harmony accepts also loads into the kernel.
// Rules: unprivileged by default (no pointer leaks into maps, packet, return value or
// helpers; no pointer arithmetic beyond add/sub; no reads of uninitialised stack); the
// log says so. `privileged` relaxes exactly those three, as the kernel does for root.
#pragma once

#include "common/error.hpp"
#include "helpers/helper.hpp"
#include "host-runtime/program_image.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

namespace harmony::verifier {

/// Finds the prototype of a helper id on the target; nullptr when the target has none.
using PrototypeLookup = std::function<const helpers::Prototype *(uint32_t id)>;

/// The host and dpdk targets' helpers (helpers::find_helper: Linux ids Harmony implements,
/// plus registered Harmony helpers such as hs_match). The default.
const helpers::Prototype *host_prototype(uint32_t id);

/// The kernel's prototypes of the Linux helpers XDP programs use, whether or not Harmony
/// implements them: for checking a program against the kernel's view.
const helpers::Prototype *builtin_prototype(uint32_t id);

/// What r1 points at in a program of no known type, after rte_bpf's two program arguments.
enum class RawContext : uint8_t {
    /// RTE_BPF_ARG_PTR: the frame's first byte, Options::raw_window bytes.
    Window,
    /// RTE_BPF_ARG_PTR_MBUF: a read-only struct rte_mbuf (DPDK 22.11 x86-64 layout): the
    /// scalar fields programs read (data_off, pkt_len, data_len, port, ...), buf_addr as
    /// a pointer to Options::mbuf_buffer bytes, and BPF_LD_[ABS|IND] (bounds-checked by
    /// the runtime, which returns 0 from the program when they fail).
    Mbuf,
};

struct Options {
    bool privileged = false;         ///< root's laxities: pointer leaks, ptr arithmetic, uninit stack reads
    uint64_t insn_limit = 1'000'000; ///< instructions processed before giving up, as the kernel
    PrototypeLookup prototypes = host_prototype;
    /// Programs of no known type (BPF_PROG_TYPE_UNSPEC, e.g. SEC("filter")) follow rte_bpf's
    /// packet ABI: r1 points at this many readable and writable bytes of the frame.
    uint32_t raw_window = 64;
    /// For programs of no known type: what r1 is, as rte_bpf's prog_arg says.
    RawContext raw_context = RawContext::Window;
    /// RawContext::Mbuf: bytes readable and writable from mbuf->buf_addr (rte_bpf's
    /// prog_arg.buf_size; the dpdk target runs no mbuf whose buf_len is smaller).
    uint32_t mbuf_buffer = 2176;
};

/// Why a program was refused, at which instruction, in which state.
struct Refusal {
    int64_t pc = -1;    ///< -1 for whole-program problems (e.g. empty program)
    std::string insn;   ///< disassembled instruction at pc
    std::string reason; ///< e.g. "R0 invalid mem access 'map_value_or_null'"
    std::string state;  ///< register state before the instruction
};

struct Report {
    bool accepted = false;
    std::optional<Refusal> refusal;
    uint64_t insns_processed = 0;
    uint64_t total_states = 0; ///< states stored for pruning and merges
    uint64_t peak_states = 0;  ///< most states pending at once
    uint64_t max_states_per_insn = 0;
    uint64_t pruned = 0;
    uint32_t stack_depth = 0; ///< deepest call chain's stack, bytes
    std::chrono::nanoseconds time{};
    std::string log; ///< kernel-style text: refusal or statistics, and the rules applied
};

/// Verifies one program against the maps it references (ProgramImage::maps).
Report verify(const ProgramSection &program, std::span<const MapSpec> maps, const Options &options = {});

/// Loads `path` and verifies its program `name` (empty: every program; the first refusal
/// wins). Errors are for objects that cannot be loaded; a refusal is a Report.
Result<Report> verify_object(const std::string &path, const std::string &name = {}, const Options &options = {});

/// The report as JSON (accepted, pc, insn, reason, state, statistics, log).
std::string report_json(const Report &report);

} // namespace harmony::verifier
