/* A Harmony helper reads the packet: a variable range at a variable offset, both inside
 * the bytes the checks proved (32 past p, and at most 32 bytes read). */
#include "case.h"
#include "harmony_helpers.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 2 > end)
		return XDP_PASS;
	__u8 *p = data + (data[0] & 0xf) * 4;
	__u32 len = (data[1] & 31) + 1;
	if (p + 32 > end)
		return XDP_PASS;
	return hs_match(1, p, len) > 0 ? XDP_DROP : XDP_PASS;
}
