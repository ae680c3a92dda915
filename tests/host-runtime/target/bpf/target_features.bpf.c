// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The host target's features in one object: context fields, a ring-buffer event, per-CPU
 * and hash maps, bpf_loop, adjust_head/tail, redirect_map and tail calls. The first byte
 * of the frame picks what the program does (see enum command).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum command {
	CMD_PASS = 0,
	CMD_DROP = 1,
	CMD_REDIRECT = 2,
	CMD_TAIL_CALL = 3,
	CMD_SHRINK = 4, /* adjust_tail(-4) then report the length */
	CMD_PUSH = 5,   /* adjust_head(-16): grow into the headroom */
};

struct event {
	__u32 length;
	__u32 ingress_ifindex;
	__u32 loop_sum;
	__u32 command;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} by_command SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, 4);
	__uint(value_size, 4);
	__uint(max_entries, 4);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 4);
	__uint(max_entries, 4);
} jumps SEC(".maps");

static long add_index(__u32 index, void *ctx)
{
	*(__u32 *)ctx += index;
	return 0;
}

static __always_inline void count(__u32 command)
{
	__u32 zero = 0;
	__u64 one = 1, *value;

	value = bpf_map_lookup_elem(&packets, &zero);
	if (value)
		*value += 1;
	value = bpf_map_lookup_elem(&by_command, &command);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&by_command, &command, &one, BPF_NOEXIST);
}

SEC("xdp")
int features(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct event *e;
	__u32 sum = 0;
	__u8 command;

	if (data + 1 > data_end)
		return XDP_ABORTED;
	command = *(__u8 *)data;
	count(command);
	bpf_loop(5, add_index, &sum, 0); /* 0+1+2+3+4 */

	if (command == CMD_DROP)
		return XDP_DROP;
	if (command == CMD_REDIRECT)
		return bpf_redirect_map(&ports, 0, XDP_PASS);
	if (command == CMD_TAIL_CALL) {
		bpf_tail_call(ctx, &jumps, 0);
		return XDP_ABORTED; /* reached only when the slot is empty */
	}
	if (command == CMD_SHRINK && bpf_xdp_adjust_tail(ctx, -4))
		return XDP_ABORTED;
	if (command == CMD_PUSH && bpf_xdp_adjust_head(ctx, -16))
		return XDP_ABORTED;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return XDP_ABORTED;
	/* ctx is read again after helper calls: the rewrite must follow it through spills */
	e->length = ctx->data_end - ctx->data;
	e->ingress_ifindex = ctx->ingress_ifindex;
	e->loop_sum = sum;
	e->command = command;
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
