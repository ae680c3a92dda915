// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hand-off to the host target: every frame of a receive queue that has an AF_XDP socket
 * bound goes to that socket; queues without one keep the normal stack path.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HARMONY_XSK_MAX_QUEUES 64

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, HARMONY_XSK_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsk_sockets SEC(".maps");

SEC("xdp")
int harmony_xsk(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsk_sockets, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
