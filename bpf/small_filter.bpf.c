// SPDX-License-Identifier: GPL-2.0
/*
 * A small filter written for rte_bpf's packet-pointer ABI (RTE_BPF_ARG_PTR, as
 * rte_bpf_eth_rx_install passes it): r1 points at the frame's first byte and the first
 * SMALL_FILTER_WINDOW bytes are readable (the dpdk target zero-pads shorter frames).
 * Drops IPv4 UDP to the discard port (9); passes everything else. It returns XDP action
 * codes so its verdicts read like every other Harmony program's.
 *
 * Only fixed offsets from r1, no maps, no JMP32, no bpf-to-bpf calls: what DPDK 22.11's
 * validator accepts.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define SMALL_FILTER_WINDOW 64 /* bytes the program may read: Ethernet + IPv4 + UDP ports */
#define ETH_P_IP_BE 0x0008     /* 0x0800 as the little-endian load of the wire bytes reads it */
#define IPV4_NO_OPTIONS 0x45
#define IPPROTO_UDP_NUM 17
#define DISCARD_PORT 9

#define OFF_ETHERTYPE 12
#define OFF_IP_VERSION_IHL 14
#define OFF_IP_FRAG 20
#define OFF_IP_PROTO 23
#define OFF_UDP_DPORT 36

SEC("filter")
int small_filter(const __u8 *frame)
{
	__u16 ethertype = *(const __u16 *)(frame + OFF_ETHERTYPE);
	__u16 dport;

	if (ethertype != ETH_P_IP_BE)
		return XDP_PASS;
	/* Fixed offsets hold only without IP options and for first fragments. */
	if (frame[OFF_IP_VERSION_IHL] != IPV4_NO_OPTIONS)
		return XDP_PASS;
	if ((frame[OFF_IP_FRAG] & 0x1f) != 0 || frame[OFF_IP_FRAG + 1] != 0)
		return XDP_PASS;
	if (frame[OFF_IP_PROTO] != IPPROTO_UDP_NUM)
		return XDP_PASS;
	dport = (__u16)(frame[OFF_UDP_DPORT] << 8 | frame[OFF_UDP_DPORT + 1]);
	return dport == DISCARD_PORT ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
