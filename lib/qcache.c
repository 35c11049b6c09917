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
int qcache_get(struct db *d, const char *tag, const struct sqlq *q, struct qcache_key *k, struct buf *out)
{
    k->text = qcache_key(tag, q, &k->hash);
    k->version = db_version(d, "reports");
    unsigned s = (unsigned)(k->hash % QCACHE_SLOTS);
    int hit = k->version >= 0 && slots[s].key && slots[s].hash == k->hash && slots[s].version == k->version &&
              strcmp(slots[s].key, k->text) == 0;
    if (hit) {
        buf_reset(out);
        buf_adds(out, slots[s].value);
    }
    return hit;
}

/* Store the answer of a missed lookup, replacing whatever held the slot. */
void qcache_put(struct qcache_key *k, const char *value)
{
    unsigned s = (unsigned)(k->hash % QCACHE_SLOTS);
    char *val = strdup(value);
    if (k->version < 0 || !val) {
        free(val);
        qcache_key_free(k);
        return;
    }
    free(slots[s].key);
    free(slots[s].value);
    slots[s].key = k->text;
    slots[s].value = val;
    slots[s].hash = k->hash;
    slots[s].version = k->version;
    k->text = NULL;
}

/* Release a key that was not stored. */
void qcache_key_free(struct qcache_key *k)
{
    free(k->text);
    k->text = NULL;
}
