/* A jump past the last instruction. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	asm volatile("goto +100");
	return XDP_PASS;
}
