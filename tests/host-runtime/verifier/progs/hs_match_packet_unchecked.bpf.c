/* The packet is handed to a Harmony helper without any check against data_end. */
#include "case.h"
#include "harmony_helpers.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;

	return hs_match(1, data, 14) > 0 ? XDP_DROP : XDP_PASS;
}
