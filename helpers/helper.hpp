// One helper ABI for every target that calls native code (host and dpdk): helpers are
// found by id — Linux ids as the kernel numbers them, Harmony ids from kHarmonyBase up —
// and carry the prototype the verifier checks calls against.
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace harmony::helpers {

/// Harmony helper ids start here, far above any Linux helper id.
inline constexpr uint32_t kHarmonyBase = 0x10000;

/// A helper as both the interpreter and the JIT call it: r1..r5 in, r0 out. State that a
/// helper needs beyond its arguments (the packet being processed, the redirect target,
/// the tail-call request) lives in vm::RunState, reached through vm::current_run().
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);

/// Argument kinds, after the kernel's enum bpf_arg_type (the subset Harmony checks).
enum class Arg : uint8_t {
    None,            ///< unused
    Anything,        ///< any initialised value
    Scalar,          ///< a number, not a pointer
    ConstMap,        ///< a map loaded with ld_imm64
    MapKey,          ///< pointer to key_size readable bytes
    MapValue,        ///< pointer to value_size readable bytes
    Mem,             ///< pointer to readable memory; the size is the next Arg::Size
    MemWritable,     ///< pointer to writable memory; the size is the next Arg::Size
    MemUninit,       ///< pointer to memory the helper fills; the size is the next Arg::Size
    Size,            ///< size of the preceding memory argument (may be zero only if SizeOrZero)
    SizeOrZero,
    Ctx,             ///< the program's context
    RingbufRecord,   ///< a pointer returned by ringbuf_reserve
    Func,            ///< a subprogram (callback), e.g. for bpf_loop
    StackOrNull,     ///< stack pointer or NULL (callback context)
};

/// Return kinds, after the kernel's enum bpf_return_type.
enum class Ret : uint8_t {
    Integer,
    Void,
    MapValueOrNull,  ///< pointer into the map's value, or NULL
    RingbufOrNull,   ///< ringbuf record of the size in r2 (a constant), or NULL
};

struct Prototype {
    std::string name;
    Ret ret = Ret::Integer;
    Arg args[5] = {Arg::None, Arg::None, Arg::None, Arg::None, Arg::None};
    bool gpl_only = false;
};

struct Helper {
    uint32_t id = 0;
    Prototype proto;
    HelperFn fn = nullptr;
};

/// The helper with this id (Linux or registered Harmony helper), or nullptr. The pointer
/// stays valid for the life of the process.
const Helper *find_helper(uint32_t id);

/// Every helper known now, Linux ones first, by id.
std::vector<const Helper *> all_helpers();

/// Adds a Harmony helper (id >= kHarmonyBase) with its prototype, e.g. hs_match. Refused
/// when the id is below kHarmonyBase, already taken, or the function is missing.
Result<void> register_helper(Helper helper);

/// Where bpf_trace_printk output goes (stderr by default), one formatted line at a time.
void set_trace_output(std::function<void(std::string_view line)> sink);

} // namespace harmony::helpers
