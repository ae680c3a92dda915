// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Deep packet inspection: extract the HTTP Host, TLS SNI or DNS QNAME of a packet, drop
 * it when the name or a parent domain is blocklisted, and drop every later packet of
 * that connection. Semantics: ../shared/corpus/README.md; build choices: README.md,
 * "Build choices for portability".
 *
 * Verifier strategy. Loops over packet bytes are bounded, and every offset that comes
 * out of one loop and feeds the next is stored in the per-CPU 'scratch' map and read
 * back ("laundered"): the verifier then sees one unknown-but-bounded offset instead of
 * one exact offset per loop exit, so the code after a loop is verified once, not once
 * per iteration. Loop-carried flags live in scratch for the same reason.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dpi.h"
#include "parse_layers.h"

#define IPV6_EXT_MAX 6
#define TLS_EXT_MAX 32
#define HOST_SCAN_MAX 1500 /* bytes of TCP payload searched for a Host header */
#define NAME_SCAN_MAX 300  /* bytes read for one name, port and blanks included */
#define NAME_LEN_MAX 254   /* longest name kept: 253 characters and a trailing dot */
#define OFF_MASK 0xfff     /* every packet offset is < 4096 */

/*
 * Makes the compiler reload from memory what it would otherwise keep in registers:
 * offsets and packet pointers must reach the verifier as fresh loads (an unknown scalar,
 * a packet pointer with no range yet) for the laundering above to work.
 */
#define reload_barrier() asm volatile("" ::: "memory")

/* How copy_name() reads a name and where it ends. */
enum name_format {
	NAME_HTTP_HOST,   /* header value: ends at CR or LF; blanks trimmed */
	NAME_HTTP_URL,    /* absolute-form target: ends at '/', ' ', '?' or '#' */
	NAME_TLS_SNI,     /* exactly `limit` bytes */
	NAME_DNS_LABELS,  /* length-prefixed labels up to a zero length */
};

/* Per-CPU working memory; keeps the stack small and launders offsets (see top). */
struct scratch {
	struct dpi_event event;   /* the name is written straight into event.name */
	struct dpi_domain_key key;
	struct dpi_flow_key flow;
	__u32 payload_off;        /* start of L4 payload, from data */
	__u32 payload_end;        /* end of the IP payload, from data */
	__u32 name_off;           /* where copy_name() starts */
	__u32 name_limit;         /* NAME_TLS_SNI: the name's length */
	__u32 name_len;           /* result of copy_name() */
	__u32 plain_len;          /* bytes copy_plain_words() or skip_words_without_lf() took */
	__u32 label_left;         /* NAME_DNS_LABELS: bytes left in the current label */
	__u32 in_port;            /* a ':' was seen: the rest is a port, not the name */
	__u32 complete;           /* the name's terminator was found inside the packet */
	__u32 found;
	__u32 method_len;         /* HTTP: request method and its space */
};
_Static_assert(sizeof(struct scratch) >= 0x1ff + 8, "is_blocked() reads a word at any offset under 0x200");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct dpi_domain_key);
	__type(value, __u32);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct dpi_flow_key);
	__type(value, struct dpi_flow_value);
	__uint(max_entries, 65536);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, DPI_CNT_MAX);
} counters SEC(".maps");

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

static __always_inline void count(__u32 index)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &index);

	if (value)
		*value += 1;
}

static __always_inline __u8 lower(__u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Eight bytes at a time (SWAR: each byte a lane of a 64-bit word). BYTES(c) is c in every lane. */
#define BYTES(c) (0x0101010101010101ULL * (__u8)(c))

/* Lane flags (0x80) of the bytes of v below n (n <= 0x80). Where a lane is flagged, lanes
 * above it may be too (the subtraction's borrow), but never one below: the lowest flag is
 * exact, and so is whether there is one. */
#define LANES_BELOW(v, n) (((v) - BYTES(n)) & ~(v) & BYTES(0x80))
#define LANES_EQUAL(v, c) LANES_BELOW((v) ^ BYTES(c), 1)

/* The index of the first byte (lowest address) flagged in a nonzero LANES_* result. */
static __always_inline __u32 first_flagged_byte(__u64 flags)
{
	__u64 lowest = (flags & -flags) >> 7; /* 1 in that lane */

	/* Times 1 << 8k, the constant's byte 7 - k, which holds k, becomes the top byte. */
	return (lowest * 0x0001020304050607ULL) >> 56;
}

/* Flags the bytes that end a plain run of HTTP Host or SNI name characters: blanks, line
 * breaks and other control bytes (< 0x21), and ':' (a port follows). */
static __always_inline __u64 name_stops(__u64 v)
{
	return LANES_BELOW(v, 0x21) | LANES_EQUAL(v, ':');
}

/* lower() of each byte of v: 0x20 is added to the ASCII lanes in 'A'..'Z'. */
static __always_inline __u64 lower_word(__u64 v)
{
	__u64 ascii = v & BYTES(0x7f);
	__u64 upper = (ascii + BYTES(0x80 - 'A')) & ~(ascii + BYTES(0x80 - 'Z' - 1)) & ~v & BYTES(0x80);

	return v | (upper >> 2);
}

/* Parses L2-L4 (parse_layers.h, following IPv6 extension headers): fills the event's
 * endpoints, the flow key and the payload bounds in scratch. Returns -1 when the packet
 * has no L4 Harmony can classify. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct scratch *s)
{
	struct layers l = {};

	if (parse_layers(ctx, &s->event, &s->flow, &l, IPV6_EXT_MAX))
		return -1;
	s->payload_off = l.payload_off;
	s->payload_end = l.payload_end;
	flow_key_order(&s->flow);
	return 0;
}

/*
 * Copies the name's leading plain bytes (up to its first name_stops() byte, or the SNI's
 * length) eight at a time, lower-cased, as copy_name()'s byte loop would copy them, and
 * returns how many: that loop goes on from there. Bytes past them that the last word
 * wrote are past the name or rewritten by that loop. A loop of its own with exact offsets:
 * mixed into the byte loop, 8- and 1-byte steps reach each offset in states the kernel
 * verifier cannot prune.
 */
static __always_inline __u32 copy_plain_words(struct xdp_md *ctx, struct scratch *s, __u32 base,
					      const enum name_format format)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 j = 0;

	for (int k = 0; k < NAME_LEN_MAX / 8; k++) {
		__u8 *p = data + base + j;
		/* Opaque to clang, which would otherwise test base + j + 8 against the packet's
		 * length as a number and read p - 8: unprovable for the verifier. */
		asm volatile("" : "+r"(p));
		if ((void *)(p + 8) > data_end || base + j + 8 > s->payload_end)
			break;
		__u64 v = packet_u64(p);
		__u64 stops = name_stops(v);
		__u32 n = stops ? first_flagged_byte(stops) : 8;
		if (format == NAME_TLS_SNI && j + n > s->name_limit)
			n = s->name_limit - j;
		*(__u64 *)(s->event.name + j) = lower_word(v);
		if (n < 8)
			return j + n;
		j += 8;
	}
	return j;
}

/*
 * Copies the name that starts at s->name_off into s->event.name, lower-cased, in the
 * given format (a constant at every call site, so each inlined copy keeps only its own
 * branches). Sets s->name_len; returns 0 only when the name is complete (its
 * terminator lies inside the packet) and not empty.
 */
static __always_inline int copy_name(struct xdp_md *ctx, struct scratch *s, const enum name_format format)
{
	s->plain_len = 0;
	if (format == NAME_HTTP_HOST || format == NAME_TLS_SNI)
		s->plain_len = copy_plain_words(ctx, s, s->name_off & OFF_MASK, format);
	/* Packet pointers anew: those of the word loop differ in range at each of its exits. */
	reload_barrier();

	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 base = s->name_off & OFF_MASK;

	s->name_len = s->plain_len;
	s->in_port = 0;
	s->complete = 0;
	for (__u32 i = 0; i < NAME_SCAN_MAX; i++) {
		/* The name byte, counted from the start of the name. Computed anew each turn
		 * from a fresh read: a j carried from turn to turn would have its bounds narrowed
		 * by the tests below a different way on each path, and the verifier could not
		 * prune; an exact i keeps the turns' states alike. */
		__u32 j = (*(volatile __u32 *)&s->plain_len + i) & 0x3ff; /* the mask only bounds j for the verifier */
		if (j >= NAME_SCAN_MAX)
			break;
		if (format == NAME_TLS_SNI && j == s->name_limit) {
			s->complete = 1;
			break;
		}
		__u8 *p = data + base + j;
		if ((void *)(p + 1) > data_end || base + j >= s->payload_end)
			break;
		__u8 c = *p;
		if (format == NAME_HTTP_HOST && (c == '\r' || c == '\n')) {
			s->complete = 1;
			break;
		}
		if (format == NAME_HTTP_URL && (c == '/' || c == ' ' || c == '?' || c == '#')) {
			s->complete = 1;
			break;
		}
		if (format == NAME_DNS_LABELS) {
			if (s->label_left == 0) {
				if (c == 0) {
					s->complete = 1;
					break;
				}
				if (c > 63) /* compression pointer or reserved: not a plain QNAME */
					break;
				s->label_left = c;
				c = '.';
			} else {
				s->label_left -= 1;
			}
		}
		if (c == ':' && format != NAME_DNS_LABELS)
			s->in_port = 1;
		if (s->in_port)
			continue;
		if (j >= NAME_LEN_MAX)
			break;
		s->event.name[j] = lower(c);
		if (c != ' ' && c != '\t')
			s->name_len = j + 1;
	}
	reload_barrier();
	if (!s->complete)
		return -1;

	__u32 len = s->name_len;
	if (len > 0 && len <= NAME_LEN_MAX && s->event.name[(len - 1) & 0xff] == '.')
		len -= 1;
	s->name_len = len;
	return len > 0 && len <= NAME_LEN_MAX ? 0 : -1;
}

/* Looks the name (or a parent domain) up in the blocklist: one LPM lookup of the
 * reversed name with a trailing dot. */
static __always_inline int is_blocked(struct scratch *s)
{
	__u32 len = s->name_len;

	if (len == 0 || len > NAME_LEN_MAX)
		return 0;
	/* Reversed a word at a time: key word i is the byte-swapped name word that ends i bytes
	 * before the name's end. The last word may start before the name, in the event's
	 * header: those bytes land past the key's prefix length, where the trie ignores them.
	 * The offset mask only bounds the read inside scratch for the verifier. */
	for (__u32 i = 0; i < NAME_LEN_MAX; i += 8) {
		if (i >= len)
			break;
		__u32 from = (offsetof(struct dpi_event, name) + len - 8 - i) & 0x1ff;
		*(__u64 *)(s->key.name + i) = __builtin_bswap64(*(__u64 *)((__u8 *)&s->event + from));
	}
	reload_barrier();
	len = s->name_len & 0xff;
	s->key.name[len] = '.';
	s->key.prefixlen = (len + 1) * 8;
	return bpf_map_lookup_elem(&blocklist, &s->key) != NULL;
}

static __always_inline int match4(const __u8 *p, char a, char b, char c, char d)
{
	return p[0] == a && p[1] == b && p[2] == c && p[3] == d;
}

/* Length of the request method at p, including its space; 0 when p is no request. */
static __always_inline __u32 http_method_len(const __u8 *p)
{
	if (match4(p, 'G', 'E', 'T', ' ') || match4(p, 'P', 'U', 'T', ' '))
		return 4;
	if (match4(p, 'P', 'O', 'S', 'T') && p[4] == ' ')
		return 5;
	if (match4(p, 'H', 'E', 'A', 'D') && p[4] == ' ')
		return 5;
	if (match4(p, 'P', 'A', 'T', 'C') && p[4] == 'H' && p[5] == ' ')
		return 6;
	if (match4(p, 'D', 'E', 'L', 'E') && p[4] == 'T' && p[5] == 'E' && p[6] == ' ')
		return 7;
	if (match4(p, 'O', 'P', 'T', 'I') && p[4] == 'O' && p[5] == 'N' && p[6] == 'S' && p[7] == ' ')
		return 8;
	if (match4(p, 'C', 'O', 'N', 'N') && p[4] == 'E' && p[5] == 'C' && p[6] == 'T' && p[7] == ' ')
		return 8;
	return 0;
}

/* The bytes at base before the first line feed, counted eight at a time: no header line
 * starts in them, so the Host search can start past them. */
static __always_inline __u32 skip_words_without_lf(struct xdp_md *ctx, struct scratch *s, __u32 base)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 i = 0;

	for (int k = 0; k < HOST_SCAN_MAX / 8; k++) {
		__u8 *p = data + base + i;
		asm volatile("" : "+r"(p)); /* see copy_plain_words() */
		if ((void *)(p + 8) > data_end || base + i + 8 > s->payload_end)
			break;
		__u64 line_feeds = LANES_EQUAL(packet_u64(p), '\n');
		if (line_feeds)
			return i + first_flagged_byte(line_feeds);
		i += 8;
	}
	return i;
}

/* Finds the first line starting with "Host:" (any case); sets s->name_off past the
 * colon and blanks. The search starts past the method, which holds no line break. */
static __always_inline int find_host_header(struct xdp_md *ctx, struct scratch *s)
{
	__u32 base = (s->payload_off + s->method_len) & OFF_MASK;

	s->plain_len = skip_words_without_lf(ctx, s, base);
	reload_barrier(); /* packet pointers anew, as in copy_name() */

	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	s->found = 0;
	for (__u32 k = 0; k < HOST_SCAN_MAX; k++) {
		/* Past the skipped words; computed anew each turn as copy_name()'s j. */
		__u32 i = (*(volatile __u32 *)&s->plain_len + k) & 0xfff;
		if (i >= HOST_SCAN_MAX)
			break;
		__u8 *p = data + base + i;
		if ((void *)(p + 6) > data_end || base + i + 6 > s->payload_end)
			break;
		/* One branch per byte: each branch multiplies the verifier's work by the loop's
		 * length, so the six comparisons are folded into one, on two words (the 0x20
		 * bits make the letters case-insensitive). */
		__u32 mismatch = ((packet_u32(p) | bpf_htonl(0x00202020)) ^ bpf_htonl(0x0a686f73)) |
				 ((packet_u16(p + 4) | bpf_htons(0x2000)) ^ bpf_htons(0x743a));
		if (mismatch)
			continue;
		s->name_off = base + i + 6;
		s->found = 1;
		break;
	}
	reload_barrier();
	if (!s->found)
		return -1;

	/* Skip the blanks before the value. A header that is all blanks to the end of the
	 * packet is still the Host header: copy_name() then finds no terminator. */
	base = s->name_off & OFF_MASK;
	for (__u32 i = 0; i < NAME_SCAN_MAX; i++) {
		__u8 *p = data + base + i;
		if ((void *)(p + 1) > data_end || base + i >= s->payload_end)
			break;
		if (*p == ' ' || *p == '\t')
			continue;
		s->name_off = base + i;
		break;
	}
	return 0;
}

static __always_inline int http_name(struct xdp_md *ctx, struct scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 base = s->payload_off & OFF_MASK;
	__u8 *p = data + base;

	if ((void *)(p + 8) > data_end || base + 8 > s->payload_end)
		return -1;
	s->method_len = http_method_len(p);
	if (!s->method_len)
		return -1;

	if (find_host_header(ctx, s) == 0) {
		return copy_name(ctx, s, NAME_HTTP_HOST);
	}
	/* No Host header: the host of an absolute-form target, "GET http://host/...". */
	reload_barrier();
	__u32 method = s->method_len & 0xf;
	base = s->payload_off & OFF_MASK;
	__u8 *t = (__u8 *)(long)ctx->data + base + method;
	if ((void *)(t + 7) > (void *)(long)ctx->data_end)
		return -1;
	if ((t[0] | 0x20) != 'h' || (t[1] | 0x20) != 't' || (t[2] | 0x20) != 't' || (t[3] | 0x20) != 'p' ||
	    t[4] != ':' || t[5] != '/' || t[6] != '/')
		return -1;
	s->name_off = base + method + 7;
	return copy_name(ctx, s, NAME_HTTP_URL);
}

/* The server_name of a ClientHello: record (5) + handshake header (4) + version (2)
 * + random (32), then session id, cipher suites, compression methods, extensions. */
static __always_inline int tls_name(struct xdp_md *ctx, struct scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 base = s->payload_off & OFF_MASK;
	__u8 *p = data + base;

	if ((void *)(p + 44) > data_end || base + 44 > s->payload_end)
		return -1;
	if (p[0] != 0x16 || p[1] != 0x03 || p[5] != 0x01)
		return -1;

	__u32 off = (base + 44 + p[43]) & OFF_MASK; /* past the session id */
	__u8 *q = data + off;
	if ((void *)(q + 2) > data_end)
		return -1;
	off = (off + 2 + packet_be16(q)) & OFF_MASK; /* past the cipher suites */
	q = data + off;
	if ((void *)(q + 1) > data_end)
		return -1;
	off = (off + 1 + q[0]) & OFF_MASK; /* past the compression methods */
	q = data + off;
	if ((void *)(q + 2) > data_end)
		return -1;
	__u32 ext_end = off + 2 + packet_be16(q);
	off += 2;

	s->found = 0;
	for (int i = 0; i < TLS_EXT_MAX; i++) {
		off &= OFF_MASK;
		q = data + off;
		if ((void *)(q + 9) > data_end || off + 4 > ext_end)
			break;
		__u32 type = packet_be16(q), len = packet_be16(q + 2);
		if (type == 0) { /* server_name: list length, name type 0 = host_name, name length */
			if (q[6] != 0)
				break;
			s->name_off = off + 9;
			s->name_limit = packet_be16(q + 7);
			s->found = 1;
			break;
		}
		off += 4 + len;
	}
	reload_barrier();
	if (!s->found || s->name_limit > NAME_LEN_MAX)
		return -1;
	return copy_name(ctx, s, NAME_TLS_SNI);
}

/* The first question's QNAME: after the 12-byte header, labels joined with dots. */
static __always_inline int dns_name(struct xdp_md *ctx, struct scratch *s)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 base = s->payload_off & OFF_MASK;
	__u8 *p = data + base;

	if ((void *)(p + 13) > data_end || base + 13 > s->payload_end)
		return -1;
	if (packet_be16(p + 4) == 0) /* no question */
		return -1;
	if (p[12] == 0 || p[12] > 63)
		return -1;
	s->label_left = p[12];
	s->name_off = base + 13;
	return copy_name(ctx, s, NAME_DNS_LABELS);
}

/* Finds the packet's name by content; returns its enum dpi_proto, or DPI_PROTO_NONE. */
static __always_inline __u32 classify(struct xdp_md *ctx, struct scratch *s)
{
	reload_barrier();
	if (s->payload_off >= s->payload_end) /* no payload (a bare ACK): nothing to classify */
		return DPI_PROTO_NONE;
	if (s->event.l4_proto == IPPROTO_UDP) {
		if (s->event.dst_port == bpf_htons(53) && dns_name(ctx, s) == 0)
			return DPI_PROTO_DNS;
		return DPI_PROTO_NONE;
	}
	if (http_name(ctx, s) == 0)
		return DPI_PROTO_HTTP;
	if (tls_name(ctx, s) == 0)
		return DPI_PROTO_TLS;
	return DPI_PROTO_NONE;
}

static __always_inline int verdict(__u32 v)
{
	count(v == DPI_DROP ? DPI_CNT_DROP : DPI_CNT_PASS);
	return v == DPI_DROP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int dpi(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	count(DPI_CNT_PACKETS);
	if (!s)
		return verdict(DPI_PASS);
	if (parse_packet(ctx, s)) {
		count(DPI_CNT_UNPARSED);
		return verdict(DPI_PASS);
	}

	/* Classify before anything else is live, so every parse path reaches the scanning
	 * loops in the same verifier state and they are verified once. */
	__u32 proto = classify(ctx, s);
	reload_barrier();
	struct dpi_flow_value *flow = bpf_map_lookup_elem(&flows, &s->flow);
	__u32 flow_blocked = flow && flow->verdict == DPI_DROP;

	if (proto == DPI_PROTO_NONE) {
		if (flow_blocked)
			count(DPI_CNT_FLOW_DROP);
		return verdict(flow_blocked ? DPI_DROP : DPI_PASS);
	}

	count(proto == DPI_PROTO_HTTP ? DPI_CNT_HTTP : proto == DPI_PROTO_TLS ? DPI_CNT_TLS : DPI_CNT_DNS);
	__u32 v = (flow_blocked || is_blocked(s)) ? DPI_DROP : DPI_PASS;
	struct dpi_flow_value remembered = {.verdict = v, .proto = proto};
	bpf_map_update_elem(&flows, &s->flow, &remembered, BPF_ANY);

	s->event.proto = proto;
	s->event.verdict = v;
	s->event.name_len = s->name_len;
	/* No wakeup: in the kernel a reader wakeup per event costs ~7x the whole DPI
	 * (measured with harmony bench); readers drain on their own poll period instead. */
	bpf_ringbuf_output(&events, &s->event, sizeof(s->event), BPF_RB_NO_WAKEUP);
	return verdict(v);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
