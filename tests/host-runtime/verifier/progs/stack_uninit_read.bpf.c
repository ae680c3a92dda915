/* Reads a stack slot nothing wrote. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 x;

	asm volatile("%[x] = *(u64 *)(r10 - 16)" : [x] "=r"(x));
	return x & 1;
}
