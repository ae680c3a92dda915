/* bpf_loop with a callback that adds each index into a counter on the caller's stack. */
#include "case.h"

static long add_index(__u32 index, void *ctx)
{
	*(__u64 *)ctx += index;
	return 0;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 sum = 0;

	bpf_loop(16, add_index, &sum, 0);
	return sum > 100 ? XDP_DROP : XDP_PASS;
}
