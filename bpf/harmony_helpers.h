/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Harmony helpers: native functions a BPF program can call on the targets that run native
 * code (host, dpdk), with ids outside the Linux range. Placement refuses XDP for a program
 * that calls one of them. The C++ side is helpers/hyperscan/hyperscan.hpp.
 */
#ifndef HARMONY_HELPERS_H
#define HARMONY_HELPERS_H

#include <linux/types.h>

#define HARMONY_HELPER_BASE 0x10000

/*
 * Runs Hyperscan database `db` (a pattern file installed with `--patterns ID=FILE`) over
 * data[0..len). Returns the id of the first matching pattern (the one whose match ends
 * first), 0 for none, or a negative errno (-ENOENT: no database `db`). `data` must be
 * memory the program may read: stack, map value, or packet: for the packet, data + the
 * largest value len may take must have been checked against data_end (as for a load), so a
 * variable-length payload is passed in place only when a constant window fits, e.g.
 *     if (p + 1024 <= data_end) hs_match(db, p, 1024);
 */
static long (*const hs_match)(__u32 db, const void *data, __u32 len) = (void *)(HARMONY_HELPER_BASE + 1);

/*
 * The same over a stream: data is the next segment of the connection named by key[0..key_size)
 * (opened on first use), so a pattern split across segments is still found. Returns the id of
 * the first pattern matched in the stream so far, 0, or a negative errno.
 */
static long (*const hs_match_stream)(__u32 db, const void *key, __u32 key_size, const void *data,
				     __u32 len) = (void *)(HARMONY_HELPER_BASE + 2);

/* Frees the stream of that key (at FIN or RST); streams unused for long are freed anyway. */
static long (*const hs_stream_close)(__u32 db, const void *key, __u32 key_size) = (void *)(HARMONY_HELPER_BASE + 3);

#endif
