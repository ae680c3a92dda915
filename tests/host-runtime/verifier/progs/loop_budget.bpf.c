/* Counts by two towards an odd number: never equal, so it never ends. Each iteration's
 * state differs (the counter grows), so only the instruction budget stops it. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 target = ctx->rx_queue_index | 1;
	volatile __u64 i = 0;

	while (i != target)
		i += 2;
	return XDP_PASS;
}
