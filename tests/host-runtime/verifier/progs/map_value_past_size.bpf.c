/* The value is 8 bytes; the read is at bytes 8..11. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct value8 *v = bpf_map_lookup_elem(&values, &key);

	if (!v)
		return XDP_PASS;
	return *(__u32 *)((char *)v + 8) & 3;
}
