/* The bounded scan: safe, but beyond the kernel's 1M-instruction budget. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	int n = 0;

	for (int i = 0; i < 256; i++) {
		if (d + i + 1 > end)
			break;
		n += d[i] == 'H';
	}
	return n > 3 ? XDP_DROP : XDP_PASS;
}
