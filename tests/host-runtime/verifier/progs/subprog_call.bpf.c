/* A bpf-to-bpf call with a stack argument. */
#include "case.h"

static __attribute__((noinline)) int sum(__u32 *p, int n)
{
	return p[0] + n;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 x = ctx->rx_queue_index;

	return sum(&x, 1) & 1;
}
