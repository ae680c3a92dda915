/* The check proves 32 bytes; the helper is told to read 33. */
#include "case.h"
#include "harmony_helpers.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 32 > end)
		return XDP_PASS;
	return hs_match(1, data, 33) > 0 ? XDP_DROP : XDP_PASS;
}
