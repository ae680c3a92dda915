// Helpers that touch no map or packet: time, randomness, the CPU slot, trace_printk,
// csum_diff, and bpf_loop, which runs a subprogram of the program through the executor's
// call_subprogram hook (see vm::RunState).
#include "host-runtime/maps/maps.hpp"
#include "host-runtime/vm.hpp"
#include "linux_helpers.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include <cstring>
#include <ctime>
#include <random>

namespace harmony::helpers {
namespace {

constexpr uint64_t kMaxLoops = 1 << 23;  // BPF_MAX_LOOPS
constexpr uint64_t kMaxCsumBytes = 512; // the kernel's csum_diff scratch is MAX_BPF_STACK

uint64_t error(long err) { return static_cast<uint64_t>(err); }

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t)
{
    thread_local std::minstd_rand random(std::random_device{}());
    return static_cast<uint32_t>(random());
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return maps::current_cpu(); }

/// The kernel's subset of printf: %d %i %u %x %X %c %s %p with l, ll or h modifiers, %%.
std::string format_trace(std::string_view format, const uint64_t args[3])
{
    std::string out;
    int used = 0;
    for (size_t i = 0; i < format.size(); i++) {
        if (format[i] != '%' || i + 1 >= format.size()) {
            out += format[i];
            continue;
        }
        size_t j = i + 1;
        while (j < format.size() && (format[j] == 'l' || format[j] == 'h')) {
            j++;
        }
        char conversion = j < format.size() ? format[j] : '\0';
        bool wide = format.substr(i + 1, j - i - 1).find('l') != std::string_view::npos;
        uint64_t arg = used < 3 ? args[used] : 0;
        switch (conversion) {
        case '%': out += '%'; break;
        case 'd':
        case 'i': out += wide ? fmt::format("{}", int64_t(arg)) : fmt::format("{}", int32_t(arg)); used++; break;
        case 'u': out += wide ? fmt::format("{}", arg) : fmt::format("{}", uint32_t(arg)); used++; break;
        case 'x': out += wide ? fmt::format("{:x}", arg) : fmt::format("{:x}", uint32_t(arg)); used++; break;
        case 'X': out += wide ? fmt::format("{:X}", arg) : fmt::format("{:X}", uint32_t(arg)); used++; break;
        case 'c': out += static_cast<char>(arg); used++; break;
        case 'p': out += fmt::format("{:#x}", arg); used++; break;
        case 's': out += arg ? reinterpret_cast<const char *>(arg) : "(null)"; used++; break;
        default: out += format.substr(i, j - i + 1); break;
        }
        i = j;
    }
    return out;
}

uint64_t trace_printk(uint64_t format, uint64_t size, uint64_t a1, uint64_t a2, uint64_t a3)
{
    auto text = reinterpret_cast<const char *>(format);
    std::string_view fmt_text(text, strnlen(text, size));
    const uint64_t args[3] = {a1, a2, a3};
    std::string line = format_trace(fmt_text, args);
    while (!line.empty() && line.back() == '\n') {
        line.pop_back();
    }
    emit_trace(line);
    return line.size();
}

/// csum_partial over the words of `to` minus the words of `from`, folded to 32 bits with
/// end-around carry as the x86-64 kernel's csum_partial returns it.
uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed)
{
    if (from_size % 4 || to_size % 4 || from_size + to_size > kMaxCsumBytes || (from_size && !from) ||
        (to_size && !to)) {
        return error(-EINVAL);
    }
    uint64_t sum = static_cast<uint32_t>(seed);
    auto add_words = [&](uint64_t address, uint64_t size, bool negate) {
        for (uint64_t off = 0; off < size; off += 4) {
            uint32_t word;
            std::memcpy(&word, reinterpret_cast<const uint8_t *>(address) + off, 4);
            sum += negate ? ~word : word;
        }
    };
    add_words(from, from_size, true);
    add_words(to, to_size, false);
    while (sum >> 32) {
        sum = (sum & 0xffffffff) + (sum >> 32);
    }
    return sum;
}

/// bpf_loop(nr, callback, ctx, flags): callback(i, ctx) for i < nr until it returns
/// non-zero; returns the number of iterations run.
uint64_t loop(uint64_t count, uint64_t callback, uint64_t ctx, uint64_t flags, uint64_t)
{
    vm::RunState &run = vm::current_run();
    if (flags != 0 || !run.call_subprogram) {
        return error(-EINVAL);
    }
    if (count > kMaxLoops) {
        return error(-E2BIG);
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint64_t args[5] = {i, ctx, 0, 0, 0};
        if (run.call_subprogram(run.executor, callback, args) != 0) {
            return i + 1;
        }
    }
    return count;
}

} // namespace

std::vector<Helper> misc_helpers()
{
    using enum Arg;
    return {
        {BPF_FUNC_ktime_get_ns, {"ktime_get_ns", Ret::Integer, {}}, ktime_get_ns},
        {BPF_FUNC_get_prandom_u32, {"get_prandom_u32", Ret::Integer, {}}, get_prandom_u32},
        {BPF_FUNC_get_smp_processor_id, {"get_smp_processor_id", Ret::Integer, {}}, get_smp_processor_id},
        {BPF_FUNC_trace_printk,
         {"trace_printk", Ret::Integer, {Mem, Size, Anything, Anything, Anything}, true},
         trace_printk},
        {BPF_FUNC_csum_diff, {"csum_diff", Ret::Integer, {Mem, SizeOrZero, Mem, SizeOrZero, Anything}}, csum_diff},
        {BPF_FUNC_loop, {"loop", Ret::Integer, {Anything, Func, StackOrNull, Anything}}, loop},
    };
}

} // namespace harmony::helpers
