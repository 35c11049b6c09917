/*
 * hidx - the in-memory hash index that matching runs against: every hash of the
 * shared lists (md5, sha1, sha256, PDQ, PhotoDNA) in one read-only file that each
 * FastCGI worker maps, so matching never scans SQL and the page cache holds one
 * copy for all workers. The importer builds a new file whenever the lists change
 * (hidx_builder_*); workers call hidx_refresh before matching to pick it up.
 *
 * Exact algorithms: per algorithm the values sorted bytewise, their entry ids, and
 * a directory on the leading value bits, so a lookup is one directory read and a
 * search of a few values, verified on the full value.
 *
 * PDQ (256-bit perceptual hash, Hamming distance): multi-index hashing. The bits
 * are cut into m chunks (11..32; 12 of 21-22 bits at 10M entries, more and
 * narrower ones for smaller lists), each with a counting-sorted bucket table on
 * the chunk value. By the generalised pigeonhole principle, if d(q, x) <= r and
 * thresholds t_i (-1 = chunk unused) satisfy sum(t_i + 1) >= r + 1, then some
 * chunk i has d_i(q, x) <= t_i; so probing, for every chunk, each value within
 * t_i bits of the query's chunk and checking each entry found on the full 256
 * bits gives exactly the brute-force answer. A query picks the t_i that
 * minimise a cost model of probes and candidates (so r = 31 at 10M, 12 chunks,
 * probes eight chunks at two bits and four at one, not all at two), and scans
 * all hashes instead when that is cheaper, as it is for large radii. An entry
 * found through several chunks is reported only from the first chunk whose
 * threshold it meets, which needs no per-query memory. The hashes are stored
 * sorted on chunk 0, so chunk 0's buckets are ranges of the hash array and
 * need no ordinal list. Chunk widths of the file follow its size (see
 * hidx_builder_pdq_chunks). Measured with bench/hidx_bench.c on one core of a
 * 2-core Xeon VM, radius 31, random hashes: 1M hashes, 14 chunks: 120 MB, built
 * in 0.5 s, ~14k queries/s; 10M, 12 chunks: 982 MB, 5.5 s, ~3.8k queries/s. At
 * 10M, 16 chunks of 16 bits (no t = 2 probes, but 150 candidates a bucket)
 * reached 1.3k/s in 1.007 GB, 13 chunks 2.8k/s, 14 chunks 2.1k/s. Exact md5
 * against 10M: ~3M lookups/s.
 *
 * The file: little-endian (on little-endian hosts only), a fixed header (magic
 * "CPHIDX01", data version, file size, counts, layout, section table, FNV-1a
 * checksum) and 64-byte aligned sections holding plain arrays, used in place
 * without parsing. Whatever the section table says must equal the layout the
 * counts imply, so a corrupt header is refused; lookups clamp every offset read
 * from the body, so a corrupt body yields wrong answers, never a crash. Files
 * are written to "<path>.tmp", synced and renamed over path: a reader sees the
 * old file or the new one, and a mapped file is never changed underneath it.
 *
 * Queries allocate nothing: their scratch (about 11 KB) is on the stack, so
 * they are reentrant and may even run concurrently on one open index; only
 * hidx_refresh and hidx_close must not overlap them.
 */
#ifndef CPORT_HIDX_H
#define CPORT_HIDX_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* The hash algorithms of the lists; value sizes 16, 20, 32, 32 and 144 bytes. */
enum hidx_alg { HIDX_MD5 = 1, HIDX_SHA1, HIDX_SHA256, HIDX_PDQ, HIDX_PHOTODNA };

/* How hidx_pdq_ex answers: as the cost model says, always by probing the chunk
 * tables, or always by scanning every hash (the last two for tests and benches). */
enum hidx_plan { HIDX_PLAN_AUTO, HIDX_PLAN_PROBE, HIDX_PLAN_SCAN };

/* Bytes of one value of algorithm a; 0 for an unknown algorithm. */
size_t hidx_alg_size(enum hidx_alg a);

/* Accumulates (algorithm, value, entry id) in memory until written out. */
struct hidx_builder;

/* A new, empty builder; NULL when out of memory. */
struct hidx_builder *hidx_builder_new(void);

/* Add one entry: value holds hidx_alg_size(alg) bytes. The same value may come
 * with several ids (all are returned by lookups). CP_OK, CP_BAD (unknown
 * algorithm, more than 4e9 entries of one algorithm) or CP_ERR (out of memory). */
int hidx_builder_add(struct hidx_builder *b, enum hidx_alg alg, const uint8_t *value, int64_t entry_id);

/* Fix the number of PDQ chunks (11..32) instead of choosing it from the entry
 * count; 0 restores the automatic choice. For benchmarks comparing layouts.
 * CP_OK or CP_BAD. */
int hidx_builder_pdq_chunks(struct hidx_builder *b, int nchunks);

/* Write every entry added so far as an index file for data version `version`:
 * to "<path>.tmp", fsync'd, then renamed over path. The builder is unchanged and
 * may be written again. CP_OK or CP_ERR with the reason in err. */
int hidx_builder_write(struct hidx_builder *b, const char *path, uint64_t version, char *err, size_t errlen);

/* Free the builder and its entries; NULL is fine. */
void hidx_builder_free(struct hidx_builder *b);

/* An open, mapped index file. */
struct hidx;

/* Map the index at path read-only. NULL with the reason in err when it is
 * missing, unreadable, truncated, or its header is not a valid index header. */
struct hidx *hidx_open(const char *path, char *err, size_t errlen);

/* The data version the index was built from. */
uint64_t hidx_version(const struct hidx *x);

/* Entries of algorithm alg in the index. */
size_t hidx_count(const struct hidx *x, enum hidx_alg alg);

/* Chunks of the PDQ table (0 when the index has no PDQ entries). */
int hidx_pdq_chunks(const struct hidx *x);

/* Unmap and free; NULL is fine. */
void hidx_close(struct hidx *x);

/* Exact match: calls fn(arg, entry_id) for every entry whose value equals value
 * (hidx_alg_size(alg) bytes); returns the number of calls. */
size_t hidx_exact(const struct hidx *x, enum hidx_alg alg, const uint8_t *value,
                  void (*fn)(void *arg, int64_t entry_id), void *arg);

/* PDQ match: calls fn(arg, entry_id, distance) for every PDQ entry within
 * max_distance bits of value (exactly the brute-force set, each entry once, in
 * no particular order); returns the number of calls. Every max_distance is
 * answered correctly (negative finds nothing, 256 finds everything); up to 31 it
 * is fast, beyond that it gets slower until a scan of all hashes is cheaper. */
size_t hidx_pdq(const struct hidx *x, const uint8_t value[32], int max_distance,
                void (*fn)(void *arg, int64_t entry_id, int distance), void *arg);

/* hidx_pdq with the strategy forced (tests check both against brute force). */
size_t hidx_pdq_ex(const struct hidx *x, const uint8_t value[32], int max_distance, enum hidx_plan plan,
                   void (*fn)(void *arg, int64_t entry_id, int distance), void *arg);

/* Keep a worker's index current; call it before matching. When the file at path
 * is the one x maps (same inode, size and mtime: one stat), returns x. When it
 * was replaced, opens the new file, closes x and returns the new index. When the
 * replacement cannot be opened, fills err and returns x unchanged (stale but
 * usable; that file is not retried until it changes again); NULL only when x is
 * NULL and path cannot be opened. err is "" unless something failed, so
 * `x = hidx_refresh(x, path, err, sizeof err); if (*err) log it` is the idiom. */
struct hidx *hidx_refresh(struct hidx *x, const char *path, char *err, size_t errlen);

#endif
