/* bpf_loop whose callback indexes an 8-byte stack buffer with its unbounded index. */
#include "case.h"

static long store_at_index(__u32 index, void *ctx)
{
	((__u8 *)ctx)[index] = 1;
	return 0;
}

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u64 buffer = 0;

	bpf_loop(8, store_at_index, &buffer, 0);
	return buffer ? XDP_DROP : XDP_PASS;
}
