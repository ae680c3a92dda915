// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A relocation to an extern (a kconfig value): the host loader has nothing to bind it to. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern __u32 LINUX_KERNEL_VERSION __kconfig;

SEC("xdp")
int uses_extern(struct xdp_md *ctx)
{
	return LINUX_KERNEL_VERSION > 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
