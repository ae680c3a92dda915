#include "context.hpp"

#include <array>
#include <linux/bpf.h>

namespace harmony::verifier {

namespace {

// struct xdp_md: every field is a read-only __u32 (net/core/filter.c, xdp_is_valid_access);
// egress_ifindex (offset 20) only for devmap programs, which Harmony does not run.
constexpr std::array kXdpFields = {
    CtxField{"data", 0, 4, Kind::Packet},
    CtxField{"data_end", 4, 4, Kind::PacketEnd},
    CtxField{"data_meta", 8, 4, Kind::PacketMeta},
    CtxField{"ingress_ifindex", 12, 4, Kind::Scalar},
    CtxField{"rx_queue_index", 16, 4, Kind::Scalar},
};

constexpr CtxLayout kXdp{"xdp_md", 24, kXdpFields};
constexpr CtxLayout kRawWindow{"packet window", 0, {}};

} // namespace

const CtxLayout *ctx_layout(uint32_t prog_type)
{
    if (prog_type == BPF_PROG_TYPE_XDP) {
        return &kXdp;
    }
    return nullptr;
}

const CtxLayout *raw_window_layout()
{
    return &kRawWindow;
}

} // namespace harmony::verifier
