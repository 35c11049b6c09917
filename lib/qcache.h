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

/* The cached answer of (tag, q), copied into out; 1 on a hit, 0 on a miss. */
int qcache_get(struct db *d, const char *tag, const struct sqlq *q, struct buf *out);
/* Remember value as the answer of (tag, q) for the current data version. */
void qcache_put(struct db *d, const char *tag, const struct sqlq *q, const char *value);

#endif
