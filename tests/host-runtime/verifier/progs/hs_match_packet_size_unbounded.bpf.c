/* The size is the packet's length: no bound the verifier can hold against the check. */
#include "case.h"
#include "harmony_helpers.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;

	if (data + 64 > end)
		return XDP_PASS;
	return hs_match(1, data, end - data) > 0 ? XDP_DROP : XDP_PASS;
}
