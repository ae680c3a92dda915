// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Calls a Harmony helper (id 0x10001, hs_match): the kernel cannot, so placement must pick
 * dpdk or host and name the helper.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static long (*hs_match)(__u32 db, const void *data, __u32 len) = (void *)0x10001;

SEC("xdp")
int hs_call(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + 64 > data_end)
		return XDP_PASS;
	return hs_match(0, data, 64) > 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
