/* A packet read with no bounds check at all. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;

	return data[12] == 8 ? XDP_DROP : XDP_PASS;
}
