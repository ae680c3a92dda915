// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counts frames per CPU and keeps a small hash map: a test program with maps to pin. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8); /* as many slots as the DPI counters */
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} settings SEC(".maps");

SEC("xdp")
int counting(struct xdp_md *ctx)
{
	__u32 slot = 0;
	__u64 *count = bpf_map_lookup_elem(&counters, &slot);

	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
