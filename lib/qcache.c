/*
 * qcache - version-checked cache of query answers; see qcache.h.
 */
#include "qcache.h"

#include <stdlib.h>
#include <string.h>

#define QCACHE_SLOTS 256

static struct {
    uint64_t hash;
    int64_t version;
    char *key, *value;
} slots[QCACHE_SLOTS];

/* The key of a query: tag, SQL text and every bound value, with its FNV-1a hash. */
static char *qcache_key(const char *tag, const struct sqlq *q, uint64_t *hash)
{
    struct buf k;
    buf_init(&k);
    buf_adds(&k, tag);
    buf_adds(&k, "\x1f");
    buf_adds(&k, q->sql.p ? q->sql.p : "");
    for (int i = 0; i < q->n; i++) {
        if (q->binds[i].type == 1)
            buf_printf(&k, "\x1f%s", q->binds[i].s);
        else
            buf_printf(&k, "\x1f#%lld", (long long)q->binds[i].i);
    }
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k.len; i++)
        h = (h ^ (unsigned char)k.p[i]) * 1099511628211ull;
    *hash = h;
    return k.p;
}

/* Look (tag, q) up. */
int qcache_get(struct db *d, const char *tag, const struct sqlq *q, struct buf *out)
{
    uint64_t h;
    char *key = qcache_key(tag, q, &h);
    unsigned s = (unsigned)(h % QCACHE_SLOTS);
    int64_t v = db_version(d, "reports");
    int hit = v >= 0 && slots[s].key && slots[s].hash == h && slots[s].version == v && strcmp(slots[s].key, key) == 0;
    if (hit) {
        buf_reset(out);
        buf_adds(out, slots[s].value);
    }
    free(key);
    return hit;
}

/* Store (tag, q) -> value, replacing whatever held the slot. */
void qcache_put(struct db *d, const char *tag, const struct sqlq *q, const char *value)
{
    uint64_t h;
    char *key = qcache_key(tag, q, &h);
    unsigned s = (unsigned)(h % QCACHE_SLOTS);
    int64_t v = db_version(d, "reports");
    char *val = strdup(value);
    if (v < 0 || !val) {
        free(key);
        free(val);
        return;
    }
    free(slots[s].key);
    free(slots[s].value);
    slots[s].key = key;
    slots[s].value = val;
    slots[s].hash = h;
    slots[s].version = v;
}
