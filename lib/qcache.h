/*
 * qcache - a per-process cache of query answers (totals, facet counts) keyed by
 * the query's SQL text and bound values, valid while the "reports" data version
 * (schema/006_versions.sql) is unchanged: every import page moves it, so an
 * answer from the cache is always exact. Paging
 * through a search re-asks the same total on every page; recounting 200,000
 * index entries each time would cost far more than the page itself.
 */
#ifndef CPORT_QCACHE_H
#define CPORT_QCACHE_H

#include "sqlq.h"

/* A lookup's key, kept so that storing the answer after a miss does not build
 * the key or read the version again. */
struct qcache_key {
    uint64_t hash;
    int64_t version;
    char *text;
};

/* The cached answer of (tag, q), copied into out; 1 on a hit, 0 on a miss.
 * Either way k is filled and must end in qcache_put or qcache_key_free. */
int qcache_get(struct db *d, const char *tag, const struct sqlq *q, struct qcache_key *k, struct buf *out);
/* Remember value as the answer of the key looked up; takes over k. */
void qcache_put(struct qcache_key *k, const char *value);
void qcache_key_free(struct qcache_key *k);

#endif
