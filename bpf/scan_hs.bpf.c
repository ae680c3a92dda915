// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark twin of scan_loop.bpf.c: drops a packet whose UDP or TCP payload matches
 * Hyperscan database 1 (tests/data/regex/scan.patterns: the literal "attack"). Harmony
 * helpers may read the packet, but only a range whose largest size the verifier has seen
 * checked against data_end: a payload holding the whole window is matched in place; a
 * shorter one (its length is not a constant) is copied into per-CPU scratch first.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "harmony_helpers.h"

#define SCAN_MAX 1024 /* payload bytes searched, as scan_loop */
#define NEEDLE_LEN 6   /* "attack": scan_loop finds it starting at any of the first SCAN_MAX bytes */
#define SCAN_WINDOW (SCAN_MAX + NEEDLE_LEN - 1)
#define DB_SCAN 1

#define BUF_MASK (2 * SCAN_MAX - 1) /* twice SCAN_MAX: masked offsets stay inside for the verifier */

struct buffer {
	__u32 len;
	__u8 bytes[BUF_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct buffer);
	__uint(max_entries, 1);
} scratch SEC(".maps");

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

/* Copies the payload at off (shorter than SCAN_WINDOW) into b->bytes, 8 bytes at a time. */
static __always_inline __u32 copy_payload(struct buffer *b, void *data, void *data_end, int off)
{
	b->len = 0;
	for (__u32 i = 0; i < SCAN_WINDOW / 8; i++) {
		__u8 *p = data + off + i * 8;
		if ((void *)(p + 8) > data_end)
			break;
		*(__u64 *)&b->bytes[i * 8] = *(__u64 *)p;
		b->len = i * 8 + 8;
	}
	asm volatile("" ::: "memory");
	__u32 done = b->len & BUF_MASK;
	for (__u32 j = 0; j < 7; j++) {
		__u8 *p = data + off + done + j;
		if ((void *)(p + 1) > data_end || done + j >= SCAN_WINDOW)
			break;
		b->bytes[(done + j) & BUF_MASK] = *p;
		b->len = done + j + 1;
	}
	asm volatile("" ::: "memory");
	return b->len & BUF_MASK;
}

SEC("xdp")
int scan_hs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int off = payload_offset(data, data_end);

	if (off < 0)
		return XDP_PASS;
	__u8 *payload = data + off;
	if ((void *)(payload + SCAN_WINDOW) <= data_end)
		return hs_match(DB_SCAN, payload, SCAN_WINDOW) > 0 ? XDP_DROP : XDP_PASS;

	__u32 zero = 0;
	struct buffer *b = bpf_map_lookup_elem(&scratch, &zero);
	if (!b)
		return XDP_PASS;
	__u32 len = copy_payload(b, data, data_end, off);
	return hs_match(DB_SCAN, b->bytes, len) > 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
