/* A 4-byte read that starts inside the checked range and ends past it. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 14 > end)
		return XDP_PASS;
	return *(__u32 *)(data + 12) == 8 ? XDP_DROP : XDP_PASS;
}
