/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ethernet (up to two VLAN tags: 802.1Q, QinQ) + IPv4 or IPv6 + TCP or UDP parsing shared by
 * dpi.bpf.c and dpi_regex.bpf.c. Everything is `static __always_inline`: rte_bpf has no
 * bpf-to-bpf calls. The caller stores the payload bounds in its per-CPU scratch map, which
 * launders them for the loops that follow (see dpi.bpf.c).
 */
#ifndef HARMONY_PARSE_LAYERS_H
#define HARMONY_PARSE_LAYERS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dpi.h"

#define PARSE_VLAN_MAX 2
#define PARSE_OFF_MASK 0xfff /* every packet offset is < 4096 */
#define PARSE_ETH_P_8021AD 0x88A8

#define PARSE_IPV6_HOPOPTS 0
#define PARSE_IPV6_ROUTING 43
#define PARSE_IPV6_FRAGMENT 44
#define PARSE_IPV6_DSTOPTS 60

struct l3_info {
	__u32 l4_off;
	__u32 ip_end; /* end of the IP datagram, from data (the frame may carry padding after it) */
	__u8 l4_proto;
	__u8 family;
};

/* What parse_layers() found besides the event's endpoints. */
struct layers {
	__u32 payload_off; /* start of the L4 payload, from data */
	__u32 payload_end; /* end of the IP payload, from data */
	__u8 tcp_flags;    /* 0 for UDP */
};

/*
 * Packet words are read unaligned (an IP header after a 14-byte Ethernet header is only
 * 2-byte aligned): the kernel allows that on hosts with efficient unaligned access (x86,
 * arm64), rte_bpf and Harmony's runtime always do, and it is one load instead of a load,
 * shift and or per byte.
 */
static __always_inline __u32 packet_u32(const __u8 *p)
{
	return *(const __u32 *)p;
}

static __always_inline __u16 packet_u16(const __u8 *p)
{
	return *(const __u16 *)p;
}

static __always_inline __u64 packet_u64(const __u8 *p)
{
	return *(const __u64 *)p;
}

/* The big-endian (network order) 16-bit field at p. */
static __always_inline __u16 packet_be16(const __u8 *p)
{
	return bpf_ntohs(packet_u16(p));
}

/* Writes the IPv4 address at p as ::ffff:a.b.c.d (out: 8-byte aligned, see dpi.h). */
static __always_inline void map_v4(__u8 *out, const __u8 *p)
{
	*(__u64 *)out = 0;
	*(__u32 *)(out + 8) = bpf_htonl(0xffff);
	*(__u32 *)(out + 12) = packet_u32(p);
}

/* Copies the IPv6 address at p (out: 8-byte aligned). */
static __always_inline void copy_v6(__u8 *out, const __u8 *p)
{
	*(__u64 *)out = packet_u64(p);
	*(__u64 *)(out + 8) = packet_u64(p + 8);
}

/* The connection key, endpoints sorted so both directions give the same key. */
static __always_inline void flow_key_order(struct dpi_flow_key *key)
{
	__u64 a_hi = *(__u64 *)key->addr_a, a_lo = *(__u64 *)(key->addr_a + 8);
	__u64 b_hi = *(__u64 *)key->addr_b, b_lo = *(__u64 *)(key->addr_b + 8);
	int swap = a_hi > b_hi || (a_hi == b_hi && (a_lo > b_lo || (a_lo == b_lo && key->port_a > key->port_b)));

	if (swap) {
		*(__u64 *)key->addr_a = b_hi;
		*(__u64 *)(key->addr_a + 8) = b_lo;
		*(__u64 *)key->addr_b = a_hi;
		*(__u64 *)(key->addr_b + 8) = a_lo;
		__u16 port = key->port_a;
		key->port_a = key->port_b;
		key->port_b = port;
	}
}

/* The key of this direction (source as endpoint a), from the event's endpoints. */
static __always_inline void flow_key_from_event(struct dpi_flow_key *key, const struct dpi_event *ev)
{
	__builtin_memcpy(key->addr_a, ev->src_addr, 16);
	__builtin_memcpy(key->addr_b, ev->dst_addr, 16);
	key->port_a = ev->src_port;
	key->port_b = ev->dst_port;
	key->l4_proto = ev->l4_proto;
}

/* Skips up to two VLAN tags; returns the EtherType and sets *off past the L2 header. */
static __always_inline int parse_l2(void *data, void *data_end, __u32 *off)
{
	if (data + sizeof(struct ethhdr) > data_end)
		return -1;
	/* Not eth->h_proto: struct ethhdr is packed, which makes clang read it a byte at a time. */
	__u16 proto = packet_u16((const __u8 *)data + offsetof(struct ethhdr, h_proto));
	__u32 o = sizeof(struct ethhdr);

#pragma unroll
	for (int i = 0; i < PARSE_VLAN_MAX; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(PARSE_ETH_P_8021AD))
			break;
		__u16 *tag = data + o;
		if ((void *)(tag + 2) > data_end)
			return -1;
		proto = tag[1];
		o += 4;
	}
	*off = o;
	return proto;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 off, struct l3_info *l3,
				      struct dpi_event *ev)
{
	__u8 *ip = data + off;

	if ((void *)(ip + 20) > data_end)
		return -1;
	__u32 ihl = ip[0] & 0xf;
	if ((ip[0] >> 4) != 4 || ihl < 5)
		return -1;
	if (packet_u16(ip + 6) & bpf_htons(0x1fff)) /* a non-first fragment carries no L4 */
		return -1;
	l3->l4_off = off + ihl * 4;
	l3->ip_end = off + packet_be16(ip + 2);
	l3->l4_proto = ip[9];
	l3->family = 4;
	map_v4(ev->src_addr, ip + 12);
	map_v4(ev->dst_addr, ip + 16);
	return 0;
}

static __always_inline int is_ipv6_ext(__u8 next)
{
	return next == PARSE_IPV6_HOPOPTS || next == PARSE_IPV6_ROUTING || next == PARSE_IPV6_DSTOPTS ||
	       next == PARSE_IPV6_FRAGMENT;
}

/* Follows up to ext_max extension headers (a constant: 0 keeps only the fixed header); a
 * packet with more, or with a non-first fragment, has no L4 to classify. */
static __always_inline int parse_ipv6(void *data, void *data_end, __u32 off, struct l3_info *l3,
				      struct dpi_event *ev, const int ext_max)
{
	__u8 *ip = data + off;

	if ((void *)(ip + 40) > data_end)
		return -1;
	if ((ip[0] >> 4) != 6)
		return -1;
	copy_v6(ev->src_addr, ip + 8);
	copy_v6(ev->dst_addr, ip + 24);
	l3->ip_end = off + 40 + packet_be16(ip + 4);
	l3->family = 6;

	__u8 next = ip[6];
	__u32 o = off + 40;
#pragma unroll
	for (int i = 0; i < ext_max; i++) {
		if (!is_ipv6_ext(next))
			break;
		o &= PARSE_OFF_MASK;
		__u8 *ext = data + o;
		if ((void *)(ext + 8) > data_end)
			return -1;
		if (next == PARSE_IPV6_FRAGMENT) {
			if ((packet_be16(ext + 2) >> 3) != 0) /* non-first fragment */
				return -1;
			o += 8;
		} else {
			o += (ext[1] + 1) * 8;
		}
		next = ext[0];
	}
	if (is_ipv6_ext(next))
		return -1;
	l3->l4_off = o;
	l3->l4_proto = next;
	return 0;
}

static __always_inline int parse_l3(void *data, void *data_end, struct l3_info *l3, struct dpi_event *ev,
				    const int ipv6_ext_max)
{
	__u32 off = 0;
	int proto = parse_l2(data, data_end, &off);

	if (proto == bpf_htons(ETH_P_IP)) {
		if (parse_ipv4(data, data_end, off, l3, ev))
			return -1;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (parse_ipv6(data, data_end, off, l3, ev, ipv6_ext_max))
			return -1;
	} else {
		return -1;
	}
	return 0;
}

/*
 * Parses L2-L4: fills the event's family, protocol, addresses (IPv4 mapped) and ports, the
 * key of this direction (not yet ordered: see flow_key_order) and *out. Returns -1 when the
 * packet has no TCP or UDP header Harmony can classify. The key is built here rather than by
 * the caller because that keeps the kernel verifier's work for dpi.bpf.o where it was
 * (when measured: ~219k instructions processed instead of ~247k).
 */
static __always_inline int parse_layers(struct xdp_md *ctx, struct dpi_event *ev, struct dpi_flow_key *key,
					struct layers *out, const int ipv6_ext_max)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct l3_info l3 = {};

	if (parse_l3(data, data_end, &l3, ev, ipv6_ext_max))
		return -1;
	__u32 l4_off = l3.l4_off & PARSE_OFF_MASK;
	__u8 *l4 = data + l4_off;
	__u32 payload_off;

	out->tcp_flags = 0;
	if (l3.l4_proto == IPPROTO_TCP) {
		if ((void *)(l4 + 20) > data_end)
			return -1;
		__u32 doff = (l4[12] >> 4) * 4;
		if (doff < 20)
			return -1;
		payload_off = l4_off + doff;
		out->tcp_flags = l4[13];
	} else if (l3.l4_proto == IPPROTO_UDP) {
		if ((void *)(l4 + 8) > data_end)
			return -1;
		payload_off = l4_off + 8;
	} else {
		return -1;
	}

	__u32 end = (__u32)(data_end - data);
	if (l3.ip_end < end)
		end = l3.ip_end; /* Ethernet padding is not payload */
	if (payload_off > end)
		return -1;

	ev->family = l3.family;
	ev->l4_proto = l3.l4_proto;
	ev->src_port = *(__u16 *)l4;
	ev->dst_port = *(__u16 *)(l4 + 2);
	out->payload_off = payload_off;
	out->payload_end = end;
	flow_key_from_event(key, ev);
	return 0;
}

#endif
