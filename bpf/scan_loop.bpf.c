// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark twin of scan_hs.bpf.c: drops a packet whose UDP or TCP payload contains the
 * literal SCAN_NEEDLE, found with a bounded loop over the packet. Same verdicts as
 * scan_hs.bpf.o with the pattern file tests/data/regex/scan.patterns.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SCAN_MAX 1024 /* payload bytes searched */

/* Start of the L4 payload (Ethernet + IPv4 + TCP/UDP), or -1. */
static __always_inline int payload_offset(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	__u8 *ip = (__u8 *)(eth + 1);

	if ((void *)(ip + 20) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || (ip[0] >> 4) != 4)
		return -1;
	__u8 *l4 = ip + (ip[0] & 0xf) * 4;
	if (ip[9] == IPPROTO_TCP && (void *)(l4 + 20) <= data_end)
		return (int)((l4 - (__u8 *)data) + (l4[12] >> 4) * 4) & 0xfff;
	if (ip[9] == IPPROTO_UDP && (void *)(l4 + 8) <= data_end)
		return (int)(l4 - (__u8 *)data + 8) & 0xfff;
	return -1;
}

SEC("xdp")
int scan_loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int off = payload_offset(data, data_end);

	if (off < 0)
		return XDP_PASS;
	for (__u32 i = 0; i < SCAN_MAX; i++) {
		__u8 *p = data + off + i;
		if ((void *)(p + 6) > data_end)
			break;
		/* "attack", folded into one branch per byte position */
		__u32 mismatch = (p[0] ^ 'a') | (p[1] ^ 't') | (p[2] ^ 't') | (p[3] ^ 'a') | (p[4] ^ 'c') | (p[5] ^ 'k');
		if (!mismatch)
			return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
