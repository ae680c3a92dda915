// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Regular expressions where loops cannot go: drop HTTP requests whose request head
 * (request target, User-Agent, any header) matches pattern database 1, and HTTP hosts or
 * DNS names that match pattern database 2 (e.g. ^ads?[0-9]*\.). Database 1 runs as a
 * per-connection stream, so a pattern split across TCP segments is still found; the stream
 * is freed at FIN or RST. A dropped connection stays dropped (flow map). One dpi_event per
 * packet that carries a name, as dpi.bpf.o: replays print the same columns.
 *
 * IPv4 and IPv6 (no extension headers), behind up to two VLAN tags (802.1Q, QinQ).
 *
 * Harmony helpers may read the packet, but only a range whose largest size the verifier has
 * seen checked against data_end: a TCP payload of at least PAYLOAD_MAX bytes goes to the
 * stream in place, and is copied into per-CPU scratch (8 bytes at a time) only when it starts
 * a request whose Host must be parsed; shorter payloads, whose length is no constant, and DNS
 * queries are copied first.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dpi.h"
#include "harmony_helpers.h"
#include "parse_layers.h"

#define DB_REQUEST 1      /* patterns over the HTTP request head, as a stream */
#define DB_NAMES 2        /* patterns over HTTP hosts and DNS names */
#define PAYLOAD_MAX 512   /* bytes of payload copied and matched per packet */
#define BUF_MASK 1023     /* the scratch buffer is twice PAYLOAD_MAX: masked offsets stay inside */
#define NAME_LEN_MAX 254
#define OFF_MASK 0xfff
#define TCP_FIN 0x01
#define TCP_RST 0x04

#define reload_barrier() asm volatile("" ::: "memory")

struct scratch {
	struct dpi_event event;
	struct dpi_flow_key flow;    /* both directions: the verdict */
	struct dpi_flow_key stream;  /* this direction: the Hyperscan stream */
	__u32 payload_off;
	__u32 payload_end;
	__u32 len;                   /* bytes of payload in buf */
	__u32 copied;                /* copy_payload(): bytes copied 8 at a time */
	__u32 name_off;              /* in buf */
	__u32 name_len;
	__u32 label_left;
	__u32 complete;
	__u32 found;
	__u8 tcp_flags;
	__u8 pad[3];
	__u8 buf[BUF_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct dpi_flow_key);
	__type(value, struct dpi_flow_value);
	__uint(max_entries, 65536);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct scratch);
	__uint(max_entries, 1);
} scratch SEC(".maps");

static __always_inline __u8 lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Parses L2-L4 (parse_layers.h; IPv6 extension headers are not followed): fills the
 * event's endpoints, both keys and the payload bounds. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct scratch *s)
{
	struct layers l = {};

	if (parse_layers(ctx, &s->event, &s->stream, &l, 0))
		return -1;
	s->payload_off = l.payload_off;
	s->payload_end = l.payload_end;
	s->tcp_flags = l.tcp_flags;
	s->flow = s->stream;
	flow_key_order(&s->flow);
	return 0;
}

/* Copies up to PAYLOAD_MAX bytes of payload into s->buf; sets s->len. */
static __always_inline void copy_payload(struct xdp_md *ctx, struct scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 base = s->payload_off & OFF_MASK;
	__u32 want = s->payload_end - s->payload_off;

	if (want > PAYLOAD_MAX)
		want = PAYLOAD_MAX;
	s->len = want;
	s->copied = 0;
	for (__u32 i = 0; i < PAYLOAD_MAX / 8; i++) {
		__u8 *p = data + base + i * 8;
		if ((void *)(p + 8) > data_end || i * 8 + 8 > want)
			break;
		*(__u64 *)&s->buf[i * 8] = *(__u64 *)p;
		s->copied = i * 8 + 8;
	}
	reload_barrier();
	__u32 done = s->copied & BUF_MASK;
	for (__u32 j = 0; j < 8; j++) {
		__u8 *p = data + base + done + j;
		if ((void *)(p + 1) > data_end || done + j >= want)
			break;
		s->buf[(done + j) & BUF_MASK] = *p;
	}
}

static __always_inline int is_request(const __u8 *p)
{
	return (p[0] == 'G' && p[1] == 'E' && p[2] == 'T' && p[3] == ' ') ||
	       (p[0] == 'P' && p[1] == 'O' && p[2] == 'S' && p[3] == 'T' && p[4] == ' ') ||
	       (p[0] == 'H' && p[1] == 'E' && p[2] == 'A' && p[3] == 'D' && p[4] == ' ') ||
	       (p[0] == 'P' && p[1] == 'U' && p[2] == 'T' && p[3] == ' ');
}

/* Copies the name at s->name_off of s->buf into the event, lower-cased: up to CR, LF or ':'
 * for an HTTP host, length-prefixed labels for a DNS name. Returns 0 for a complete name. */
static __always_inline int copy_name(struct scratch *s, const int dns)
{
	__u32 base = s->name_off & BUF_MASK;
	__u32 len = s->len;

	s->name_len = 0;
	s->complete = 0;
	for (__u32 j = 0; j < NAME_LEN_MAX; j++) {
		if (base + j >= len)
			break;
		__u8 c = s->buf[(base + j) & BUF_MASK];
		if (dns) {
			if (s->label_left == 0) {
				if (c == 0 || c > 63) {
					s->complete = c == 0;
					break;
				}
				s->label_left = c;
				c = '.';
			} else {
				s->label_left -= 1;
			}
		} else if (c == '\r' || c == '\n' || c == ':' || c == ' ') {
			s->complete = 1;
			break;
		}
		s->event.name[j] = lower(c);
		s->name_len = j + 1;
	}
	reload_barrier();
	return s->complete && s->name_len > 0 ? 0 : -1;
}

/* The Host header of the request in s->buf. */
static __always_inline int http_host(struct scratch *s)
{
	__u32 len = s->len;

	s->found = 0;
	for (__u32 i = 0; i < PAYLOAD_MAX; i++) {
		if (i + 7 > len)
			break;
		__u8 *p = &s->buf[i];
		__u32 mismatch = (p[0] ^ '\n') | ((p[1] | 0x20) ^ 'h') | ((p[2] | 0x20) ^ 'o') |
				 ((p[3] | 0x20) ^ 's') | ((p[4] | 0x20) ^ 't') | (p[5] ^ ':');
		if (mismatch)
			continue;
		s->name_off = i + 6 + (p[6] == ' ');
		s->found = 1;
		break;
	}
	reload_barrier();
	if (!s->found)
		return -1;
	return copy_name(s, 0);
}

/* The first question's QNAME of the DNS query in s->buf, dotted. */
static __always_inline int dns_name(struct scratch *s)
{
	if (s->len < 13 || s->buf[12] == 0 || s->buf[12] > 63)
		return -1;
	s->label_left = s->buf[12];
	s->name_off = 13;
	return copy_name(s, 1);
}

static __always_inline int name_blocked(struct scratch *s)
{
	__u32 len = s->name_len & 0xff; /* <= NAME_LEN_MAX already: the mask is for the verifier */

	return len > 0 && hs_match(DB_NAMES, s->event.name, len) > 0;
}

static __always_inline void emit(struct scratch *s, __u32 proto, __u32 v)
{
	s->event.proto = proto;
	s->event.verdict = v;
	s->event.name_len = s->name_len;
	bpf_ringbuf_output(&events, &s->event, sizeof(s->event), 0);
}

/* Feeds the payload to the request stream: in place when the whole PAYLOAD_MAX window is in
 * the packet (copied only if it starts a request), else from a copy. Returns the match. */
static __always_inline long match_request_stream(struct xdp_md *ctx, struct scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *payload = data + (s->payload_off & OFF_MASK);

	if (s->payload_end - s->payload_off >= PAYLOAD_MAX && (void *)(payload + PAYLOAD_MAX) <= data_end) {
		long found = hs_match_stream(DB_REQUEST, &s->stream, sizeof(s->stream), payload, PAYLOAD_MAX);
		s->len = 0;
		if (is_request(payload))
			copy_payload(ctx, s);
		return found;
	}
	copy_payload(ctx, s);
	reload_barrier();
	__u32 len = s->len & BUF_MASK; /* <= PAYLOAD_MAX already: the mask is for the verifier */
	return len > 0 ? hs_match_stream(DB_REQUEST, &s->stream, sizeof(s->stream), s->buf, len) : 0;
}

/* TCP: the request head through the stream; the host of a request through the names. */
static __always_inline __u32 inspect_tcp(struct xdp_md *ctx, struct scratch *s, __u32 *proto)
{
	__u32 v = DPI_PASS;

	if (match_request_stream(ctx, s) > 0)
		v = DPI_DROP;
	if (s->tcp_flags & (TCP_FIN | TCP_RST))
		hs_stream_close(DB_REQUEST, &s->stream, sizeof(s->stream));
	reload_barrier();
	if (s->len >= 8 && is_request(s->buf) && http_host(s) == 0) {
		*proto = DPI_PROTO_HTTP;
		if (name_blocked(s))
			v = DPI_DROP;
	}
	return v;
}

SEC("xdp")
int dpi_regex(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	if (!s || parse_packet(ctx, s))
		return XDP_PASS;
	__u32 proto = DPI_PROTO_NONE;
	__u32 v = DPI_PASS;
	if (s->event.l4_proto == IPPROTO_TCP) {
		v = inspect_tcp(ctx, s, &proto);
	} else if (s->event.dst_port == bpf_htons(53)) {
		copy_payload(ctx, s);
		reload_barrier();
		if (dns_name(s) == 0) {
			proto = DPI_PROTO_DNS;
			v = name_blocked(s) ? DPI_DROP : DPI_PASS;
		}
	}
	reload_barrier();

	struct dpi_flow_value *flow = bpf_map_lookup_elem(&flows, &s->flow);
	if (flow && flow->verdict == DPI_DROP)
		v = DPI_DROP;
	if (v == DPI_DROP && !flow) {
		struct dpi_flow_value remembered = {.verdict = DPI_DROP, .proto = proto};
		bpf_map_update_elem(&flows, &s->flow, &remembered, BPF_ANY);
	}
	if (proto != DPI_PROTO_NONE)
		emit(s, proto, v);
	return v == DPI_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
