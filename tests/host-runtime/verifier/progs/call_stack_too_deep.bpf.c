/* Three nested calls of 264 stack bytes each: more than 512 together. */
#include "case.h"

#define FRAME(name, next)                                                          \
	static __attribute__((noinline)) int name(int x)                           \
	{                                                                          \
		__u64 v = x;                                                       \
		asm volatile("*(u64 *)(r10 - 264) = %[v]; %[v] = *(u64 *)(r10 - 264)" \
			     : [v] "+r"(v));                                       \
		return next(v);                                                    \
	}

static __attribute__((noinline)) int leaf(int x)
{
	return x + 1;
}

FRAME(third, leaf)
FRAME(second, third)
FRAME(first, second)

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return first(ctx->rx_queue_index) & 1;
}
