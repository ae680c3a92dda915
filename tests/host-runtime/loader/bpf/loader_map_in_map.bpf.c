// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A map type the loader refuses: map-in-map without inner map support. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(key_size, 4);
	__uint(value_size, 4);
	__uint(max_entries, 1);
} outer SEC(".maps");

SEC("xdp")
int uses_outer(struct xdp_md *ctx)
{
	__u32 key = 0;
	return bpf_map_lookup_elem(&outer, &key) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
