// The two netlink questions the interface probe asks, with libmnl: the netdev generic
// netlink family's XDP feature bits, and rtnetlink's queue counts. Both answer for the
// caller's network namespace (sysfs would answer for the namespace it was mounted in).
#pragma once

#include "common/error.hpp"

#include <cstdint>

namespace harmony::caps::netlink {

/// NETDEV_A_DEV_XDP_FEATURES of NETDEV_CMD_DEV_GET for `ifindex`.
Result<uint64_t> xdp_features(uint32_t ifindex);

struct QueueCounts {
    uint32_t rx = 0, tx = 0;
};
/// IFLA_NUM_RX_QUEUES / IFLA_NUM_TX_QUEUES of RTM_GETLINK for `ifindex`.
Result<QueueCounts> queue_counts(uint32_t ifindex);

} // namespace harmony::caps::netlink
