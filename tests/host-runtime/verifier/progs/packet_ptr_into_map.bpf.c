/* Stores a packet pointer into a map value: leaks a kernel address. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct value8 *v = bpf_map_lookup_elem(&values, &key);

	if (!v)
		return XDP_PASS;
	v->v = (__u64)(long)(void *)(long)ctx->data;
	return XDP_PASS;
}
