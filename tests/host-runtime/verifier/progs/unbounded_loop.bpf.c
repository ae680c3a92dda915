/* Spins until a stack byte changes; nothing ever changes it. */
#include "case.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	volatile __u32 flag = 0;

	while (flag == 0)
		;
	return XDP_PASS;
}
