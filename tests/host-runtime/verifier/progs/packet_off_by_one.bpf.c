/* The check proves 14 bytes; the read touches the 15th. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 14 > end)
		return XDP_PASS;
	return data[14] == 0x45 ? XDP_DROP : XDP_PASS;
}
