/*
 * hashmatch - matching hashes against the lists; see hashmatch.h.
 */
#include "hashmatch.h"
#include "hidx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

/* The per-process open index (workers are single-threaded processes). */
static struct hidx *open_index;
static char open_path[4096];

/* Where the index lives. */
void hashmatch_index_path(const struct config *cfg, char *out, size_t outlen)
{
    char dir[4096];
    config_data_dir(cfg, dir, sizeof dir);
    snprintf(out, outlen, "%s/hashidx.bin", dir);
}

/* Rebuild: every live entry, under an exclusive lock so two builders don't
 * race; the file is replaced atomically (hidx writes a temp file and renames). */
int hashmatch_reindex(struct db *d, const char *path, int64_t *entries, char *err, size_t errlen)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        if (lfd >= 0)
            close(lfd);
        return fail(err, errlen, CP_ERR, "cannot lock %s: %s", lock, strerror(errno));
    }
    struct hidx_builder *b = hidx_builder_new();
    int st = b ? CP_OK : CP_ERR;
    int64_t seq = 0, n = 0;
    /* One snapshot: the sequence and the entries it covers agree. */
    if (st == CP_OK && db_exec(d, "BEGIN", err, errlen) != CP_OK)
        st = CP_BUSY;
    if (st == CP_OK) {
        seq = db_version(d, "hashes");
        sqlite3_stmt *q = db_prep(d, "SELECT id, algorithm, value FROM hash_entries WHERE removed = 0");
        int rc = q ? SQLITE_ROW : SQLITE_ERROR;
        while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            enum hashfmt_alg a;
            if (hashfmt_alg_parse(db_text(q, 1), &a) != CP_OK ||
                (size_t)sqlite3_column_bytes(q, 2) != hashfmt_alg_size(a))
                continue;
            if (hidx_builder_add(b, (enum hidx_alg)a, sqlite3_column_blob(q, 2), sqlite3_column_int64(q, 0)) != CP_OK) {
                rc = SQLITE_NOMEM;
                break;
            }
            n++;
        }
        db_done(q);
        db_reset_all(d);
        db_commit(d);
        if (rc != SQLITE_DONE)
            st = fail(err, errlen, db_err(rc), "could not read the entries");
    }
    if (st == CP_OK)
        st = hidx_builder_write(b, path, (uint64_t)seq, err, errlen);
    hidx_builder_free(b);
    close(lfd);
    if (entries)
        *entries = n;
    return st;
}

/* The open index, reopened when the file changed; NULL when there is none. */
static struct hidx *index_get(const char *path)
{
    char err[256];
    if (open_index && strcmp(open_path, path) != 0) {
        hidx_close(open_index);
        open_index = NULL;
    }
    snprintf(open_path, sizeof open_path, "%s", path);
    open_index = open_index ? hidx_refresh(open_index, path, err, sizeof err) : hidx_open(path, err, sizeof err);
    return open_index;
}

/* Collects the candidates of one input, without repeats. */
struct found {
    struct hashmatch_cand *c;
    size_t n, cap;
    int overflow;
};

/* Add a candidate unless it is there already. */
static void found_add(struct found *f, int64_t id, int distance)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->c[i].entry_id == id)
            return;
    if (f->n == f->cap) {
        f->overflow = 1;
        return;
    }
    f->c[f->n].entry_id = id;
    f->c[f->n].distance = distance;
    f->n++;
}

static void on_exact(void *arg, int64_t id) { found_add(arg, id, 0); }
static void on_pdq(void *arg, int64_t id, int distance) { found_add(arg, id, distance); }

/* Hamming distance of two 256-bit values. */
static int pdq_distance(const uint8_t *a, const uint8_t *b)
{
    int n = 0;
    for (int i = 0; i < 32; i++)
        n += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return n;
}

/* The entries changed after the index was built, kept in memory per worker
 * and reloaded when the "hashes" sequence moves, so a request with many
 * inputs reads them once, not once an input. */
struct delta_entry {
    int64_t id;
    enum hashfmt_alg alg;
    uint8_t value[144];
};
static struct {
    int64_t version, covered;
    struct delta_entry *e;
    size_t n, cap;
    int loaded;
} delta;

/* Make the delta cache current: entries with seq above what the index covers. */
static int delta_load(struct db *d, int64_t covered)
{
    int64_t version = db_version(d, "hashes");
    if (delta.loaded && delta.version == version && delta.covered == covered)
        return CP_OK;
    sqlite3_stmt *q = db_prep(d, "SELECT id, algorithm, value FROM hash_entries WHERE seq > ? AND removed = 0");
    if (!q)
        return CP_ERR;
    sqlite3_bind_int64(q, 1, covered);
    delta.n = 0;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        enum hashfmt_alg a;
        if (hashfmt_alg_parse(db_text(q, 1), &a) != CP_OK || (size_t)sqlite3_column_bytes(q, 2) != hashfmt_alg_size(a))
            continue;
        if (delta.n == delta.cap) {
            size_t cap = delta.cap ? delta.cap * 2 : 256;
            struct delta_entry *e = realloc(delta.e, cap * sizeof *e);
            if (!e) {
                rc = SQLITE_NOMEM;
                break;
            }
            delta.e = e;
            delta.cap = cap;
        }
        struct delta_entry *e = &delta.e[delta.n++];
        e->id = sqlite3_column_int64(q, 0);
        e->alg = a;
        memcpy(e->value, sqlite3_column_blob(q, 2), hashfmt_alg_size(a));
    }
    db_done(q);
    if (rc != SQLITE_DONE) {
        delta.loaded = 0;
        return db_err(rc);
    }
    delta.version = version;
    delta.covered = covered;
    delta.loaded = 1;
    return CP_OK;
}

/* The index (reopened when replaced) and the delta, made current once per
 * batch of lookups rather than once a lookup: a stat of the file and a
 * version read cost more than a lookup. */
static struct hidx *cur_index;
int hashmatch_begin(struct db *d, const char *path)
{
    cur_index = index_get(path);
    return delta_load(d, cur_index ? (int64_t)hidx_version(cur_index) : 0);
}

/* Candidates for one value: the index, then entries changed after it was built. */
int hashmatch_lookup(enum hashfmt_alg alg, const uint8_t *value, int max_distance, struct hashmatch_cand *out,
                     size_t cap, size_t *n)
{
    struct found f = {.c = out, .cap = cap};
    if (cur_index) {
        if (alg == HF_PDQ)
            hidx_pdq(cur_index, value, max_distance, on_pdq, &f);
        else
            hidx_exact(cur_index, (enum hidx_alg)alg, value, on_exact, &f);
    }
    size_t len = hashfmt_alg_size(alg);
    for (size_t i = 0; i < delta.n; i++) {
        const struct delta_entry *e = &delta.e[i];
        if (e->alg != alg)
            continue;
        if (alg == HF_PDQ) {
            int dist = pdq_distance(e->value, value);
            if (dist <= max_distance)
                found_add(&f, e->id, dist);
        } else if (memcmp(e->value, value, len) == 0) {
            found_add(&f, e->id, 0);
        }
    }
    *n = f.n;
    return f.overflow ? CP_LIMITED : CP_OK;
}

/* Entries changed since the index was built (how stale it is). */
int64_t hashmatch_delta(struct db *d, const char *path)
{
    struct hidx *x = index_get(path);
    sqlite3_stmt *q = db_prep(d, "SELECT count(*) FROM hash_entries WHERE seq > ?");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, x ? (int64_t)hidx_version(x) : 0);
    int64_t n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    db_done(q);
    return n;
}

/* The hash columns of a media row selected as (id, md5, sha1, sha256, pdq,
 * pdq_quality, photodna): every media query here and in the API uses that order. */
static const struct {
    enum hashfmt_alg alg;
    int col;
} MEDIA_HASHES[] = {{HF_MD5, 1}, {HF_SHA1, 2}, {HF_SHA256, 3}, {HF_PDQ, 4}, {HF_PHOTODNA, 6}};

/* A lookup function: the shared index (hashmatch_lookup) or a small one. */
typedef int (*lookup_fn)(void *arg, enum hashfmt_alg, const uint8_t *, struct hashmatch_cand *, size_t, size_t *);

/* The candidates of every hash of one media row (columns as MEDIA_COLS
 * describes), PDQ of poor quality skipped, at most cap in all. */
static int media_gather(sqlite3_stmt *m, lookup_fn get, void *arg, struct hashmatch_cand *out, size_t cap, size_t *n)
{
    *n = 0;
    int st = CP_OK;
    for (size_t i = 0; i < sizeof MEDIA_HASHES / sizeof *MEDIA_HASHES && *n < cap; i++) {
        int col = MEDIA_HASHES[i].col;
        enum hashfmt_alg a = MEDIA_HASHES[i].alg;
        if ((size_t)sqlite3_column_bytes(m, col) != hashfmt_alg_size(a))
            continue;
        /* PDQ of poor quality matches too much to mean anything. */
        if (a == HF_PDQ && sqlite3_column_type(m, 5) != SQLITE_NULL && sqlite3_column_int(m, 5) < 50)
            continue;
        size_t k = 0;
        st = get(arg, a, sqlite3_column_blob(m, col), out + *n, cap - *n, &k);
        if (st != CP_OK && st != CP_LIMITED)
            return st;
        *n += k;
    }
    return st;
}

/* Lookup through the shared index and delta at one distance. */
static int get_full(void *arg, enum hashfmt_alg a, const uint8_t *v, struct hashmatch_cand *c, size_t cap, size_t *n)
{
    return hashmatch_lookup(a, v, *(const int *)arg, c, cap, n);
}

/* Every hash of one media row looked up (after hashmatch_begin). */
int hashmatch_media(sqlite3_stmt *m, int max_distance, struct hashmatch_cand *out, size_t cap, size_t *n)
{
    return media_gather(m, get_full, &max_distance, out, cap, n);
}

/* Record the hits of one media row against whatever index get() answers for. */
static int media_hits(struct db *d, sqlite3_stmt *m, lookup_fn get, void *arg, int64_t now, int64_t *hits)
{
    struct hashmatch_cand cand[1024];
    size_t n = 0;
    int st = media_gather(m, get, arg, cand, sizeof cand / sizeof *cand, &n);
    if (st != CP_OK && st != CP_LIMITED)
        return st;
    for (size_t k = 0; k < n; k++) {
        sqlite3_stmt *ins = db_prep(d, "INSERT INTO hash_hits(media_id, entry_id, distance, found_at) VALUES (?,?,?,?)"
                                       " ON CONFLICT DO UPDATE SET distance = excluded.distance"
                                       " WHERE distance != excluded.distance");
        if (!ins)
            return CP_ERR;
        sqlite3_bind_int64(ins, 1, sqlite3_column_int64(m, 0));
        sqlite3_bind_int64(ins, 2, cand[k].entry_id);
        sqlite3_bind_int(ins, 3, cand[k].distance);
        sqlite3_bind_int64(ins, 4, now);
        int rc = sqlite3_step(ins);
        *hits += sqlite3_changes(d->h);
        db_done(ins);
        if (rc != SQLITE_DONE)
            return db_err(rc);
    }
    return CP_OK;
}

/* Lookup in a small index of just the changed entries. */
struct small_ctx {
    struct hidx *x;
    int max_distance;
    struct found f;
};
static int get_small(void *arg, enum hashfmt_alg a, const uint8_t *v, struct hashmatch_cand *c, size_t cap, size_t *n)
{
    struct small_ctx *s = arg;
    s->f = (struct found){.c = c, .cap = cap};
    if (a == HF_PDQ)
        hidx_pdq(s->x, v, s->max_distance, on_pdq, &s->f);
    else
        hidx_exact(s->x, (enum hidx_alg)a, v, on_exact, &s->f);
    *n = s->f.n;
    return CP_OK;
}

/* Walk media rows with id in (from, to] in batches of one transaction each,
 * recording hits through get. */
static int media_walk(struct db *d, int64_t from, int64_t to, lookup_fn get, void *arg, int64_t *hits, char *err,
                      size_t errlen)
{
    int64_t now = util_now();
    for (int64_t lo = from; lo < to;) {
        if (db_begin(d) != CP_OK)
            return fail(err, errlen, CP_BUSY, "database is busy");
        sqlite3_stmt *m = db_prep(d, "SELECT id, md5, sha1, sha256, pdq, pdq_quality, photodna FROM media"
                                     " WHERE id > ? AND id <= ? ORDER BY id LIMIT 5000");
        int rc = SQLITE_ERROR, st = CP_OK;
        int64_t last = lo;
        if (m) {
            sqlite3_bind_int64(m, 1, lo);
            sqlite3_bind_int64(m, 2, to);
            while (st == CP_OK && (rc = sqlite3_step(m)) == SQLITE_ROW) {
                last = sqlite3_column_int64(m, 0);
                st = media_hits(d, m, get, arg, now, hits);
            }
            db_done(m);
        }
        if (st == CP_OK && rc != SQLITE_DONE)
            st = db_err(rc);
        if (st != CP_OK || (st = db_commit(d)) != CP_OK) {
            db_rollback(d);
            return fail(err, errlen, st, "correlation stopped: %s", sqlite3_errmsg(d->h));
        }
        if (last == lo)
            break;
        lo = last;
    }
    return CP_OK;
}

/* Set a watermark in data_versions. */
static int watermark_set(struct db *d, const char *name, int64_t v)
{
    sqlite3_stmt *st = db_prep(d, "UPDATE data_versions SET n = ? WHERE name = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, v);
    db_bind_text(st, 2, name);
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Correlate media with the lists, incrementally. */
int hashmatch_correlate(struct db *d, const char *path, int max_distance, int64_t *new_hits, char *err, size_t errlen)
{
    *new_hits = 0;
    int64_t media_mark = db_version(d, "hits_media"), seq_mark = db_version(d, "hits_seq");
    int64_t seq_now = db_version(d, "hashes"), media_max = 0;
    sqlite3_stmt *q = db_prep(d, "SELECT coalesce(max(id), 0) FROM media");
    if (q && sqlite3_step(q) == SQLITE_ROW)
        media_max = sqlite3_column_int64(q, 0);
    db_done(q);
    /* 1. Entries changed since the last run, against every media item seen so
     *    far: a small index of just those entries. */
    int st = CP_OK;
    if (seq_now > seq_mark && media_mark > 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.delta", path);
        struct hidx_builder *b = hidx_builder_new();
        sqlite3_stmt *e = db_prep(d, "SELECT id, algorithm, value FROM hash_entries WHERE seq > ? AND removed = 0");
        size_t n = 0;
        if (b && e) {
            sqlite3_bind_int64(e, 1, seq_mark);
            while (sqlite3_step(e) == SQLITE_ROW) {
                enum hashfmt_alg a;
                if (hashfmt_alg_parse(db_text(e, 1), &a) == CP_OK &&
                    (size_t)sqlite3_column_bytes(e, 2) == hashfmt_alg_size(a) &&
                    hidx_builder_add(b, (enum hidx_alg)a, sqlite3_column_blob(e, 2), sqlite3_column_int64(e, 0)) == CP_OK)
                    n++;
            }
        }
        db_done(e);
        st = b ? CP_OK : CP_ERR;
        if (st == CP_OK && n)
            st = hidx_builder_write(b, tmp, (uint64_t)seq_now, err, errlen);
        hidx_builder_free(b);
        if (st == CP_OK && n) {
            struct small_ctx s = {.x = hidx_open(tmp, err, errlen), .max_distance = max_distance};
            st = s.x ? media_walk(d, 0, media_mark, get_small, &s, new_hits, err, errlen) : CP_ERR;
            if (s.x)
                hidx_close(s.x);
        }
        unlink(tmp);
    }
    /* 2. Media that arrived since the last run, against everything. */
    if (st == CP_OK && media_max > media_mark) {
        st = hashmatch_begin(d, path);
        if (st == CP_OK)
            st = media_walk(d, media_mark, media_max, get_full, &max_distance, new_hits, err, errlen);
    }
    /* 3. Hits of removed entries go; the watermarks move. */
    if (st == CP_OK && (st = db_begin(d)) == CP_OK) {
        st = db_exec(d, "DELETE FROM hash_hits WHERE entry_id IN (SELECT id FROM hash_entries WHERE removed = 1)",
                     err, errlen);
        if (st == CP_OK)
            st = watermark_set(d, "hits_media", media_max > media_mark ? media_max : media_mark);
        if (st == CP_OK)
            st = watermark_set(d, "hits_seq", seq_now);
        if (st == CP_OK)
            st = db_commit(d);
        if (st != CP_OK)
            db_rollback(d);
    }
    return st;
}

/* Rebuild in a detached process: a grandchild that execs `cport hashlist
 * reindex` (a fresh process: SQLite must not be used across fork) with none of
 * the worker's descriptors, so the answer to the request that asked is not held
 * up and the builder's memory is never the worker's. The cport binary sits
 * beside the running one (cport-fcgi). */
void hashmatch_reindex_detached(const struct config *cfg, const char *path)
{
    char self[4096], bin[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return;
    *slash = 0;
    snprintf(bin, sizeof bin, "%s/cport", self);
    pid_t p = fork();
    if (p < 0)
        return;
    if (p == 0) {
        if (fork() != 0)
            _exit(0);
        close_range(3, ~0U, 0);
        char *argv[] = {bin, "--db", (char *)cfg->db, "hashlist", "reindex", "--index", (char *)path,
                        "--index-only", NULL};
        execv(bin, argv);
        fprintf(stderr, "cport: cannot run %s for the index rebuild: %s\n", bin, strerror(errno));
        _exit(127);
    }
    waitpid(p, NULL, 0);
}
