/*
 * hashmatch - finding list entries for hashes, never by scanning SQL tables.
 *
 * The index (lib/hidx.c) is a file in the data directory, built from every
 * live entry by hashmatch_reindex and mmap'd read-only by every worker, which
 * reopens it when it is replaced. It records the global entry sequence it
 * covers; entries changed after that (the delta, found through the seq index)
 * are checked directly, so a new entry matches at once and a rebuild is needed
 * only when the delta grows (hashmatch_delta), by `cport hashlist reindex`
 * (cron) or after a large import. Candidates are entry ids; the caller then
 * reads each one (removed, enabled, list enabled, readable by the caller), so a
 * removal or a revoked share also takes effect at once.
 */
#ifndef CPORT_HASHMATCH_H
#define CPORT_HASHMATCH_H

#include "config.h"
#include "db.h"
#include "hashfmt.h"

/* Rebuild when this many entries changed since the index was built. */
#define HASHMATCH_DELTA_MAX 50000

/* <data_dir>/hashidx.bin */
void hashmatch_index_path(const struct config *cfg, char *out, size_t outlen);

/* Build the index file from every live entry (atomic replace; a lock keeps two
 * builders apart). *entries gets how many it holds. */
int hashmatch_reindex(struct db *d, const char *path, int64_t *entries, char *err, size_t errlen);

/* The same in a detached background process (for a worker after a large
 * import): returns at once; the workers pick the new file up when it lands. */
void hashmatch_reindex_detached(const struct config *cfg, const char *path);

/* One candidate entry of a lookup (distance 0 for exact algorithms). */
struct hashmatch_cand {
    int64_t entry_id;
    int distance;
};

/* Make the index (reopened when replaced) and the delta current: once before
 * a batch of lookups. */
int hashmatch_begin(struct db *d, const char *path);

/* Candidates for one value (after hashmatch_begin): from the index and the
 * delta, without repeats, at most cap (CP_LIMITED when there were more). */
int hashmatch_lookup(enum hashfmt_alg alg, const uint8_t *value, int max_distance, struct hashmatch_cand *out,
                     size_t cap, size_t *n);

/* The candidates of every hash of a media row whose columns are (id, md5,
 * sha1, sha256, pdq, pdq_quality, photodna), PDQ under quality 50 skipped. */
int hashmatch_media(sqlite3_stmt *m, int max_distance, struct hashmatch_cand *out, size_t cap, size_t *n);

/* Correlate media with the lists for the cross-references (hash_hits), by
 * watermarks so each run does only new work: entries changed since the last
 * run against every media item seen before, then media that arrived since
 * against everything; hits of removed entries are dropped. PDQ items of
 * quality under 50 are skipped. Runs in batches of short transactions. */
int hashmatch_correlate(struct db *d, const char *path, int max_distance, int64_t *new_hits, char *err, size_t errlen);

/* How many entries changed since the index was built (-1 on error). */
int64_t hashmatch_delta(struct db *d, const char *path);

#endif
