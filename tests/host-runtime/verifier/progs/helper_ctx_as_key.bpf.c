/* The context passed as a map key: not memory a helper may read. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	void *v = bpf_map_lookup_elem(&values, ctx);

	return v ? XDP_DROP : XDP_PASS;
}
