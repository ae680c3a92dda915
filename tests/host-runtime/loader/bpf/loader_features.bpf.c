// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Everything the loader must handle in one object: BTF maps declared both ways (__type and
 * __uint key_size/value_size), global data in .rodata/.data/.bss, a static and a global
 * subprogram, a bpf_loop callback (ld_imm64 of a function), and two program sections.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 24);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} sized SEC(".maps");

const volatile __u32 config = 7;
__u64 counter = 3;
__u64 total;

static __noinline int add_config(int x)
{
	return x + (int)config;
}

static long loop_body(__u32 i, void *ctx)
{
	total += i;
	return 0;
}

__noinline int twice(int x)
{
	return x * 2;
}

SEC("xdp")
int features(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *value = bpf_map_lookup_elem(&hash, &key);

	counter++;
	bpf_loop(4, loop_body, 0, 0);
	bpf_printk("key %d", key);
	if (value)
		return add_config(*value) + twice(1);
	return add_config(ctx->data_end - ctx->data);
}

SEC("tc")
int classifier(struct __sk_buff *skb)
{
	return twice(total);
}

char LICENSE[] SEC("license") = "GPL";
