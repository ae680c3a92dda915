// The numeric domain of the verifier: a 64-bit value known to lie in an unsigned range and
// a signed range at once, as the kernel's umin/umax/smin/smax. Both are kept because clang
// mixes signed and unsigned comparisons on the same register; each range tightens the
// other (sync). Internal to the verifier.
#pragma once

#include "host-runtime/insn.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace harmony::verifier {

struct Scalar {
    uint64_t umin = 0;
    uint64_t umax = std::numeric_limits<uint64_t>::max();
    int64_t smin = std::numeric_limits<int64_t>::min();
    int64_t smax = std::numeric_limits<int64_t>::max();

    static Scalar unknown() { return {}; }
    static Scalar constant(uint64_t v);
    static Scalar urange(uint64_t lo, uint64_t hi);
    static Scalar srange(int64_t lo, int64_t hi);
    /// Any value of `bytes` bytes, zero-extended (1, 2, 4 or 8).
    static Scalar of_width(unsigned bytes);

    bool is_const() const { return umin == umax; }
    bool empty() const { return umin > umax || smin > smax; }
    bool contains(const Scalar &o) const;
    bool operator==(const Scalar &) const = default;

    /// Tightens each range with the other; call after any change.
    void sync();
    std::string text() const;
};

Scalar hull(const Scalar &a, const Scalar &b);
/// dst <op> src for the ALU operations on numbers; 32-bit ops read and write the low half.
Scalar alu(isa::Op op, bool is64, const Scalar &dst, const Scalar &src, const isa::Insn &insn);
/// The value truncated to its low `bits` bits.
Scalar truncate(const Scalar &v, unsigned bits);

/// Refines a and b for the branch where `a <op> b` is `taken`; false when that branch
/// cannot happen. Only 64-bit comparisons refine; 32-bit ones refine when both fit in 32.
bool refine(isa::Op op, bool is64, bool taken, Scalar &a, Scalar &b);

} // namespace harmony::verifier
