/* Helper 9999 exists on no target. */
#include "case.h"

static long (*no_such_helper)(void) = (void *)9999;

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return no_such_helper() & 1;
}
