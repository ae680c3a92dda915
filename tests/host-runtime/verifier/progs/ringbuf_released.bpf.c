/* Every path submits or discards its reservation. */
#include "case.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);

	if (!rec)
		return XDP_PASS;
	*rec = ctx->rx_queue_index;
	if (ctx->ingress_ifindex == 1) {
		bpf_ringbuf_discard(rec, 0);
		return XDP_DROP;
	}
	bpf_ringbuf_submit(rec, 0);
	return XDP_PASS;
}
