// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The no-DPI baseline: every frame passes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
