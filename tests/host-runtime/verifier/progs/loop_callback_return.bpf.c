/* bpf_loop whose callback returns 2: only 0 (continue) and 1 (stop) are allowed. */
#include "case.h"

static long returns_two(__u32 index, void *ctx)
{
	return 2;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	bpf_loop(4, returns_two, 0, 0);
	return XDP_PASS;
}
