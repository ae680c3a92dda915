/* The seed paper's Figure 2: a map value dereferenced without a null check. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 key = ctx->rx_queue_index;
	struct value8 *v = bpf_map_lookup_elem(&values, &key);

	return v->v & 3;
}
