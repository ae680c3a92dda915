/* Writes below the 512-byte stack. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	asm volatile("r1 = 0; *(u64 *)(r10 - 520) = r1" ::: "r1");
	return XDP_PASS;
}
