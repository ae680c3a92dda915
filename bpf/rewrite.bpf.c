// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A frame rewriter, to check that every target carries out what a program does to the
 * frame (stores, bpf_xdp_adjust_head, bpf_xdp_adjust_tail) as the kernel does:
 *  - 802.1Q-tagged frame: the tag is popped (adjust_head) -> XDP_PASS;
 *  - IPv4 UDP to port 7 (echo): MACs, addresses and ports swapped, TTL reset to 64 with
 *    the IP checksum updated incrementally (the swap itself leaves both checksums as they
 *    are: one's-complement sums do not depend on order) -> XDP_TX;
 *  - IPv4 UDP to port 9 (discard) with more than 64 bytes of payload: trimmed to 64 bytes
 *    (adjust_tail), IP and UDP lengths and both checksums fixed -> XDP_PASS;
 *  - anything else (IPv4 with options included) -> XDP_PASS untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ECHO_PORT 7
#define DISCARD_PORT 9
#define KEEP_PAYLOAD 64
#define ECHO_TTL 64
#define VLAN_HLEN 4

/* RFC 1624: the checksum after one 16-bit word went from `from` to `to`. */
static __always_inline __u16 csum_replace16(__u16 check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~check + (__u16)~from + to;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __always_inline int pop_vlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 macs[2 * ETH_ALEN];

	if (data + ETH_HLEN + VLAN_HLEN > data_end)
		return XDP_PASS;
	__builtin_memcpy(macs, data, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, VLAN_HLEN))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(macs) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, macs, sizeof(macs)); /* the inner EtherType is already in place */
	return XDP_PASS;
}

static __always_inline int echo(struct ethhdr *eth, struct iphdr *ip, struct udphdr *udp)
{
	__u8 mac[ETH_ALEN];
	__u32 addr = ip->saddr;
	__u16 port = udp->source;
	__u16 old_word = *(__u16 *)&ip->ttl; /* TTL and protocol share one checksummed word */

	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	udp->source = udp->dest;
	udp->dest = port;
	ip->ttl = ECHO_TTL;
	ip->check = csum_replace16(ip->check, old_word, *(__u16 *)&ip->ttl);
	return XDP_TX;
}

struct udp_pseudo_header {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 protocol;
	__be16 length;
};

static __always_inline int trim(struct xdp_md *ctx, struct iphdr *ip, struct udphdr *udp, void *data_end)
{
	const __u16 udp_len = sizeof(*udp) + KEEP_PAYLOAD;
	__u8 *kept_end = (__u8 *)udp + udp_len;
	struct udp_pseudo_header pseudo = {ip->saddr, ip->daddr, 0, IPPROTO_UDP, bpf_htons(udp_len)};
	__u16 old_tot_len = ip->tot_len;
	__s64 sum;

	if (bpf_ntohs(udp->len) <= udp_len || (void *)(kept_end + 1) > data_end)
		return XDP_PASS;
	ip->tot_len = bpf_htons(sizeof(*ip) + udp_len);
	ip->check = csum_replace16(ip->check, old_tot_len, ip->tot_len);
	udp->len = bpf_htons(udp_len);
	if (udp->check) { /* 0: the sender computed none, and none is needed over IPv4 */
		udp->check = 0;
		sum = bpf_csum_diff(0, 0, (__be32 *)&pseudo, sizeof(pseudo), 0);
		sum = bpf_csum_diff(0, 0, (__be32 *)udp, udp_len, sum);
		udp->check = csum_fold(sum) ?: 0xffff;
	}
	if (bpf_xdp_adjust_tail(ctx, -(int)(data_end - (void *)kept_end)))
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("xdp")
int rewrite(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = data + sizeof(*eth) + sizeof(*ip);

	if (data + sizeof(*eth) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_8021Q))
		return pop_vlan(ctx);
	if (eth->h_proto != bpf_htons(ETH_P_IP) || (void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;
	if (udp->dest == bpf_htons(ECHO_PORT))
		return echo(eth, ip, udp);
	if (udp->dest == bpf_htons(DISCARD_PORT))
		return trim(ctx, ip, udp, data_end);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
