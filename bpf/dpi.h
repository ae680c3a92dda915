/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Structures shared by dpi.bpf.c and the C++ control plane, so neither side keeps a
 * hand-synced copy of the other's layout.
 */
#ifndef HARMONY_DPI_H
#define HARMONY_DPI_H

#include <linux/types.h>

#define DPI_NAME_MAX 256 /* a DNS name is at most 253 characters */

enum dpi_proto {
	DPI_PROTO_NONE = 0,
	DPI_PROTO_HTTP = 1,
	DPI_PROTO_TLS = 2,
	DPI_PROTO_DNS = 3,
};

enum dpi_verdict {
	DPI_PASS = 0,
	DPI_DROP = 1,
};

/* Indexes of the per-CPU 'counters' array. */
enum dpi_counter {
	DPI_CNT_PACKETS = 0,
	DPI_CNT_PASS,
	DPI_CNT_DROP,
	DPI_CNT_HTTP,
	DPI_CNT_TLS,
	DPI_CNT_DNS,
	DPI_CNT_FLOW_DROP, /* dropped because the connection was already blocked */
	DPI_CNT_UNPARSED,  /* no L4 found: not IP, fragment, malformed */
	DPI_CNT_MAX,
};

/*
 * Blocklist key: the domain reversed, with a trailing dot ("example.com" is stored as
 * "moc.elpmaxe."), in an LPM trie. A name is looked up reversed with a trailing dot too,
 * so one longest-prefix lookup finds the name or any parent domain on a label boundary
 * ("moc.elpmaxe.www." matches, "moc.elpmaxeton." does not).
 */
struct dpi_domain_key {
	__u32 prefixlen; /* in bits */
	char name[DPI_NAME_MAX];
};

/*
 * The key and the event are 8-byte aligned so the programs move and compare addresses in
 * 8-byte words: with the 2-byte alignment of their fields, clang splits every 16-byte
 * address copy and 8-byte compare into 2-byte loads, shifts and ors (dpi.bpf.o ran ~60
 * more instructions a packet that way).
 */
#define DPI_ALIGNED __attribute__((aligned(8)))

/* Connection key, the same for both directions: endpoint a sorts before endpoint b. */
struct DPI_ALIGNED dpi_flow_key {
	__u8 addr_a[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u8 addr_b[16];
	__u16 port_a; /* network byte order */
	__u16 port_b;
	__u8 l4_proto;
	__u8 pad[3];
};

struct dpi_flow_value {
	__u32 verdict; /* enum dpi_verdict */
	__u32 proto;   /* enum dpi_proto of the name that decided it */
};

/* One ring-buffer record per packet that carries a name. */
struct DPI_ALIGNED dpi_event {
	__u8 proto;   /* enum dpi_proto */
	__u8 verdict; /* enum dpi_verdict */
	__u16 name_len;
	__u8 family; /* 4 or 6 */
	__u8 l4_proto;
	__u16 pad;
	__u8 src_addr[16]; /* the packet's source and destination, IPv4 mapped */
	__u8 dst_addr[16];
	__u16 src_port; /* network byte order */
	__u16 dst_port;
	__u32 pad2;
	char name[DPI_NAME_MAX];
};

#endif
