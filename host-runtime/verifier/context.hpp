// What a program may touch in its context, per program type: the fields, their sizes,
// what a load of each yields (packet pointers for data/data_end), and which are writable.
// Internal to the verifier.
#pragma once

#include "state.hpp"

#include <cstdint>
#include <span>

namespace harmony::verifier {

struct CtxField {
    const char *name;
    int32_t off;
    uint8_t size;
    Kind loads; ///< Kind::Scalar for plain fields; Kind::Mem: Options::mbuf_buffer bytes
    bool writable = false;
};

struct CtxLayout {
    const char *type_name; ///< e.g. "xdp_md"
    int32_t size;
    std::span<const CtxField> fields;
};

/// nullptr when the program type has no layout here (refused: Harmony runs XDP programs).
const CtxLayout *ctx_layout(uint32_t prog_type);

/// rte_bpf's packet ABI: r1 is the frame itself (Options::raw_window bytes), no fields.
const CtxLayout *raw_window_layout();

/// rte_bpf's mbuf ABI (RawContext::Mbuf): r1 is a read-only struct rte_mbuf.
const CtxLayout *mbuf_layout();

} // namespace harmony::verifier
