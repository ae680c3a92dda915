/* Multiplies a packet pointer: no pointer arithmetic beyond add and sub. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 p = ctx->data;

	asm volatile("%[p] *= 3" : [p] "+r"(p));
	return p & 1;
}
