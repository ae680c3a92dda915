/* One path exits before anything sets r0 (ctx is never null, so that path is taken). */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	asm volatile("if r1 == 0 goto +1; exit");
	return XDP_PASS;
}
