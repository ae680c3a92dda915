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

// struct rte_mbuf, DPDK 22.11 on x86-64: the fields a classifier reads, all read-only (a
// program that rewrites an mbuf is not what the dpdk target runs). buf_addr loads a
// pointer to the data buffer; offload/rte_bpf_program.cpp checks these offsets against
// DPDK's header at compile time.
constexpr std::array kMbufFields = {
    CtxField{"buf_addr", 0, 8, Kind::Mem},
    CtxField{"data_off", 16, 2, Kind::Scalar},
    CtxField{"nb_segs", 20, 2, Kind::Scalar},
    CtxField{"port", 22, 2, Kind::Scalar},
    CtxField{"ol_flags", 24, 8, Kind::Scalar},
    CtxField{"packet_type", 32, 4, Kind::Scalar},
    CtxField{"pkt_len", 36, 4, Kind::Scalar},
    CtxField{"data_len", 40, 2, Kind::Scalar},
    CtxField{"vlan_tci", 42, 2, Kind::Scalar},
    CtxField{"hash.rss", 44, 4, Kind::Scalar},
    CtxField{"vlan_tci_outer", 52, 2, Kind::Scalar},
    CtxField{"buf_len", 54, 2, Kind::Scalar},
};

constexpr CtxLayout kXdp{"xdp_md", 24, kXdpFields};
constexpr CtxLayout kRawWindow{"packet window", 0, {}};
constexpr CtxLayout kMbuf{"rte_mbuf", 128, kMbufFields};

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

const CtxLayout *mbuf_layout()
{
    return &kMbuf;
}

} // namespace harmony::verifier
