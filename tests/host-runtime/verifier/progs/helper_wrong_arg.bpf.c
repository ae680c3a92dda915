/* A number passed where map_lookup_elem wants a pointer to the key. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *v = bpf_map_lookup_elem(&values, (void *)(long)ctx->rx_queue_index);

	return v ? XDP_DROP : XDP_PASS;
}
