/*
 * audit - hash-chained audit entries, deferred (batched) audited reads, their
 * verification and signed heads.
 */
#include "audit.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Feed one length-prefixed field into the hash, so ("ab","c") != ("a","bc")
 * and NULL differs from "". */
static void hash_text(crypto_generichash_state *h, const char *s)
{
    uint8_t len[5] = {0};
    size_t n = s ? strlen(s) : 0;
    len[0] = s ? 1 : 0;
    for (int i = 0; i < 4; i++)
        len[1 + i] = (uint8_t)(n >> (8 * (3 - i)));
    crypto_generichash_update(h, len, sizeof len);
    if (n)
        crypto_generichash_update(h, (const uint8_t *)s, n);
}

/* Feed a 64-bit integer, big-endian. */
static void hash_int(crypto_generichash_state *h, int64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (8 * (7 - i)));
    crypto_generichash_update(h, b, sizeof b);
}

/* The hash of an entry: BLAKE2b-256 over the previous hash, its id and every
 * field. Changing any of them, or moving the entry, changes it. */
static void entry_hash(const uint8_t prev[32], int64_t id, int64_t at, int64_t user_id, int64_t org_id,
                       const char *actor, const char *ip, const char *request_id, const char *action,
                       const char *object, const char *detail, uint8_t out[32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)"cport-audit-v1", 14);
    crypto_generichash_update(&h, prev, 32);
    hash_int(&h, id);
    hash_int(&h, at);
    hash_int(&h, user_id);
    hash_int(&h, org_id);
    hash_text(&h, actor);
    hash_text(&h, ip);
    hash_text(&h, request_id);
    hash_text(&h, action);
    hash_text(&h, object);
    hash_text(&h, detail);
    crypto_generichash_final(&h, out, 32);
}

/* The chain's tail inside the open transaction: the next id and the hash of
 * the last entry (zeros for an empty trail). */
static int chain_tail(struct db *d, int64_t *next_id, uint8_t prev[32])
{
    sqlite3_stmt *st = db_prep(d, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
    if (!st)
        return CP_ERR;
    memset(prev, 0, 32);
    *next_id = 1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *next_id = sqlite3_column_int64(st, 0) + 1;
        if (sqlite3_column_bytes(st, 1) == 32)
            memcpy(prev, sqlite3_column_blob(st, 1), 32);
    }
    db_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Insert entry id after prev (the tail chain_tail found); prev becomes its hash. */
static int chain_insert(struct db *d, const struct audit_entry *e, int64_t at, int64_t id, uint8_t prev[32])
{
    sqlite3_stmt *st;
    int rc;
    const char *actor = e->actor ? e->actor : "anonymous";
    uint8_t h[32];
    entry_hash(prev, id, at, e->user_id, e->org_id, actor, e->ip, e->request_id, e->action, e->object, e->detail, h);
    st = db_prep(d, "INSERT INTO audit(id, at, user_id, org_id, actor, ip, request_id, action, object, detail,"
                    " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at);
    db_bind_opt_int(st, 3, e->user_id != 0, e->user_id);
    db_bind_opt_int(st, 4, e->org_id != 0, e->org_id);
    db_bind_text(st, 5, actor);
    db_bind_text(st, 6, e->ip);
    db_bind_text(st, 7, e->request_id);
    db_bind_text(st, 8, e->action);
    db_bind_text(st, 9, e->object);
    db_bind_text(st, 10, e->detail);
    sqlite3_bind_blob(st, 11, prev, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 12, h, 32, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    memcpy(prev, h, 32);
    if (d->audit_log[0]) {
        /* The SIEM copy: written by db_commit only if this transaction commits. */
        cJSON *j = cJSON_CreateObject();
        char ts[21], hex[65];
        util_format_time(at, ts);
        util_hex_encode(h, 32, hex);
        cJSON_AddNumberToObject(j, "id", (double)id);
        cJSON_AddStringToObject(j, "at", ts);
        cJSON_AddStringToObject(j, "actor", actor);
        if (e->user_id)
            cJSON_AddNumberToObject(j, "user_id", (double)e->user_id);
        if (e->org_id)
            cJSON_AddNumberToObject(j, "org_id", (double)e->org_id);
        static const char *const keys[] = {"ip", "request_id", "action", "object", "detail"};
        const char *vals[] = {e->ip, e->request_id, e->action, e->object, e->detail};
        for (int i = 0; i < 5; i++)
            if (vals[i])
                cJSON_AddStringToObject(j, keys[i], vals[i]);
        cJSON_AddStringToObject(j, "hash", hex);
        char *line = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (line)
            db_pending_line(d, line);
        free(line);
    }
    return CP_OK;
}

/* Append, joining the caller's transaction or opening one. */
/* One entry at the chain's tail, inside the open transaction. */
static int append_in_tx(struct db *d, const struct audit_entry *e, int64_t at)
{
    uint8_t prev[32];
    int64_t id;
    int st = chain_tail(d, &id, prev);
    return st == CP_OK ? chain_insert(d, e, at, id, prev) : st;
}

int audit_append(struct db *d, const struct audit_entry *e)
{
    if (!e->action || !*e->action)
        return CP_ERR;
    if (!sqlite3_get_autocommit(d->h))
        return append_in_tx(d, e, util_now());
    int st = db_begin(d);
    if (st != CP_OK)
        return st;
    if ((st = append_in_tx(d, e, util_now())) != CP_OK) {
        db_rollback(d);
        return st;
    }
    return db_commit(d);
}

/* An entry from an actor template and an object kind and id. */
int audit_record(struct db *d, const struct audit_entry *by, const char *action, const char *kind, int64_t id,
                 const char *detail)
{
    char obj[64];
    snprintf(obj, sizeof obj, "%s:%lld", kind ? kind : "", (long long)id);
    struct audit_entry e = *by;
    e.action = action;
    e.object = kind ? obj : NULL;
    e.detail = detail;
    return audit_append(d, &e);
}

/* One deferred entry: the entry with its strings copied into text[] (one
 * allocation, freed with one free), the read's time and when it was queued. */
struct audit_deferred {
    struct audit_entry e;
    int64_t at;        /* util_now() at the read: the entry's recorded time */
    int64_t queued_ms; /* audit_clock_ms() at the read: its flush deadline */
    char text[];
};

/* Monotonic milliseconds: deadlines must not move with the wall clock. */
int64_t audit_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy s to *p and point *out at the copy (NULL stays NULL). */
static void copy_text(char **p, const char *s, const char **out)
{
    if (!s) {
        *out = NULL;
        return;
    }
    size_t n = strlen(s) + 1;
    memcpy(*p, s, n);
    *out = *p;
    *p += n;
}

/* Queue a copy of the entry; a full queue is flushed first, and when that
 * fails the entry is refused (CP_BUSY) rather than dropped or let grow. */
int audit_defer(struct db *d, const struct audit_entry *e)
{
    if (!e->action || !*e->action)
        return CP_ERR;
    if (d->deferred_n >= AUDIT_QUEUE_MAX && audit_flush(d) != CP_OK)
        return CP_BUSY;
    if (d->deferred_n == d->deferred_cap) {
        size_t cap = d->deferred_cap ? d->deferred_cap * 2 : AUDIT_BATCH;
        struct audit_deferred **q = realloc(d->deferred, cap * sizeof *q);
        if (!q)
            return CP_ERR;
        d->deferred = q, d->deferred_cap = cap;
    }
    const char *src[] = {e->actor, e->ip, e->request_id, e->action, e->object, e->detail};
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        n += src[i] ? strlen(src[i]) + 1 : 0;
    struct audit_deferred *q = malloc(sizeof *q + n);
    if (!q)
        return CP_ERR;
    q->e = (struct audit_entry){.user_id = e->user_id, .org_id = e->org_id};
    char *p = q->text;
    copy_text(&p, e->actor, &q->e.actor);
    copy_text(&p, e->ip, &q->e.ip);
    copy_text(&p, e->request_id, &q->e.request_id);
    copy_text(&p, e->action, &q->e.action);
    copy_text(&p, e->object, &q->e.object);
    copy_text(&p, e->detail, &q->e.detail);
    q->at = util_now();
    q->queued_ms = audit_clock_ms();
    d->deferred[d->deferred_n++] = q;
    return CP_OK;
}

/* Write the whole queue in one transaction, or nothing: the queue is only
 * emptied once the commit has succeeded. */
int audit_flush(struct db *d)
{
    if (!d->deferred_n)
        return CP_OK;
    if (!sqlite3_get_autocommit(d->h))
        return CP_BUSY;
    int st = db_begin(d);
    if (st != CP_OK)
        return st;
    /* The tail is read once; the batch chains on in memory. */
    uint8_t prev[32];
    int64_t id;
    st = chain_tail(d, &id, prev);
    for (size_t i = 0; st == CP_OK && i < d->deferred_n; i++, id++)
        st = chain_insert(d, &d->deferred[i]->e, d->deferred[i]->at, id, prev);
    if (st != CP_OK) {
        db_rollback(d);
        return st;
    }
    if ((st = db_commit(d)) != CP_OK)
        return st;
    for (size_t i = 0; i < d->deferred_n; i++)
        free(d->deferred[i]);
    d->deferred_n = 0;
    return CP_OK;
}

/* Flush a full batch or an old enough queue; otherwise leave it. */
int audit_flush_due(struct db *d, int64_t now_ms)
{
    return audit_flush_wait(d, now_ms) == 0 ? audit_flush(d) : CP_OK;
}

/* Time left before the queue is due: the batch size makes it due at once, else
 * the oldest entry's deadline. */
int64_t audit_flush_wait(const struct db *d, int64_t now_ms)
{
    if (!d->deferred_n)
        return -1;
    if (d->deferred_n >= AUDIT_BATCH)
        return 0;
    int64_t left = d->deferred[0]->queued_ms + AUDIT_FLUSH_MS - now_ms;
    return left > 0 ? left : 0;
}

/* Entries waiting to be written. */
size_t audit_queue_len(const struct db *d) { return d->deferred_n; }

/* The bytes a head signature covers. */
static void head_message(int64_t entry_id, const uint8_t hash[32], int64_t signed_at, uint8_t out[17 + 8 + 32 + 8])
{
    memcpy(out, "cport-audit-head:", 17);
    for (int i = 0; i < 8; i++) {
        out[17 + i] = (uint8_t)((uint64_t)entry_id >> (8 * (7 - i)));
        out[57 + i] = (uint8_t)((uint64_t)signed_at >> (8 * (7 - i)));
    }
    memcpy(out + 25, hash, 32);
}

/* Walk every entry in id order recomputing the chain, then check every signed
 * head against the entry it covers. */
int audit_verify(struct db *d, int64_t *entries, int64_t *bad_id, char *err, size_t errlen)
{
    *bad_id = 0;
    *entries = 0;
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->h, "SELECT id, at, coalesce(user_id,0), coalesce(org_id,0), actor, ip, request_id,"
                                 " action, object, detail, prev_hash, hash FROM audit ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(err, errlen, CP_ERR, "cannot read the audit table: %s", sqlite3_errmsg(d->h));
    uint8_t prev[32] = {0};
    int64_t expect = 1;
    int rc, bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        const char *why = NULL;
        uint8_t h[32];
        entry_hash(prev, id, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                   (const char *)sqlite3_column_text(st, 4), (const char *)sqlite3_column_text(st, 5),
                   (const char *)sqlite3_column_text(st, 6), (const char *)sqlite3_column_text(st, 7),
                   (const char *)sqlite3_column_text(st, 8), (const char *)sqlite3_column_text(st, 9), h);
        if (id != expect)
            why = id > expect ? "entries are missing before it" : "ids are out of order";
        else if (sqlite3_column_bytes(st, 10) != 32 || memcmp(sqlite3_column_blob(st, 10), prev, 32) != 0)
            why = "its link to the previous entry is broken (an entry before it was changed, removed or inserted)";
        else if (sqlite3_column_bytes(st, 11) != 32 || memcmp(sqlite3_column_blob(st, 11), h, 32) != 0)
            why = "its content does not match its hash (it was edited)";
        if (why) {
            *bad_id = id;
            fail(err, errlen, CP_CONFLICT, "audit entry %lld is bad: %s", (long long)id, why);
            bad = 1;
            break;
        }
        memcpy(prev, h, 32);
        expect++;
        (*entries)++;
    }
    sqlite3_finalize(st);
    if (bad)
        return CP_CONFLICT;
    if (rc != SQLITE_DONE)
        return fail(err, errlen, db_err(rc), "cannot read the audit table: %s", sqlite3_errmsg(d->h));
    /* Signed heads: each must verify, and the entry it covers must still be there
     * with the same hash (this catches a cut-off tail). */
    if (sqlite3_prepare_v2(d->h, "SELECT h.entry_id, h.hash, h.signed_at, h.public_key, h.signature, a.hash"
                                 " FROM audit_heads h LEFT JOIN audit a ON a.id = h.entry_id ORDER BY h.id", -1, &st,
                           NULL) != SQLITE_OK)
        return fail(err, errlen, CP_ERR, "cannot read audit_heads: %s", sqlite3_errmsg(d->h));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t eid = sqlite3_column_int64(st, 0);
        uint8_t msg[65];
        const char *why = NULL;
        if (sqlite3_column_bytes(st, 1) != 32 || sqlite3_column_bytes(st, 3) != 32 || sqlite3_column_bytes(st, 4) != 64)
            why = "a signed head is malformed";
        else {
            head_message(eid, sqlite3_column_blob(st, 1), sqlite3_column_int64(st, 2), msg);
            if (crypto_sign_verify_detached(sqlite3_column_blob(st, 4), msg, sizeof msg, sqlite3_column_blob(st, 3)))
                why = "a signed head's signature does not verify";
            else if (sqlite3_column_type(st, 5) == SQLITE_NULL)
                why = "entries covered by a signed head are missing (the tail was cut off)";
            else if (sqlite3_column_bytes(st, 5) != 32 || memcmp(sqlite3_column_blob(st, 5), sqlite3_column_blob(st, 1), 32))
                why = "the entry a signed head covers has changed";
        }
        if (why) {
            *bad_id = sqlite3_column_type(st, 5) == SQLITE_NULL ? 0 : eid;
            fail(err, errlen, CP_CONFLICT, "audit head for entry %lld: %s", (long long)eid, why);
            sqlite3_finalize(st);
            return CP_CONFLICT;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? CP_OK : fail(err, errlen, db_err(rc), "cannot read audit_heads");
}

/* Read exactly n bytes from a file. */
static int read_exact(const char *path, uint8_t *out, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t got = fread(out, 1, n, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    return got == n && !extra ? 0 : -1;
}

/* Load or create the instance key pair: key_dir/instance.ed25519 holds the
 * 64-byte secret key (which contains the public key), mode 0600. */
int audit_instance_key(const char *key_dir, uint8_t *pk, uint8_t *sk, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    char path[4200];
    snprintf(path, sizeof path, "%s/instance.ed25519", key_dir);
    if (read_exact(path, sk, crypto_sign_SECRETKEYBYTES) == 0) {
        crypto_sign_ed25519_sk_to_pk(pk, sk);
        return CP_OK;
    }
    if (access(path, F_OK) == 0)
        return fail(err, errlen, CP_ERR, "%s is not a 64-byte Ed25519 secret key", path);
    if (mkdir(key_dir, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", key_dir, strerror(errno));
    crypto_sign_keypair(pk, sk);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, sk, crypto_sign_SECRETKEYBYTES) != crypto_sign_SECRETKEYBYTES || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        unlink(path);
        return fail(err, errlen, CP_ERR, "cannot write %s: %s", path, strerror(errno));
    }
    close(fd);
    return CP_OK;
}

/* Sign the current head and store it. */
int audit_sign_head(struct db *d, const char *key_dir, char *err, size_t errlen)
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    int st = audit_instance_key(key_dir, pk, sk, err, errlen);
    if (st != CP_OK)
        return st;
    if ((st = db_begin(d)) != CP_OK) {
        sodium_memzero(sk, sizeof sk);
        return fail(err, errlen, st, "database is busy");
    }
    sqlite3_stmt *q = db_prep(d, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
    int rc = q ? sqlite3_step(q) : SQLITE_ERROR;
    int64_t eid = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    uint8_t hash[32] = {0};
    if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 1) == 32)
        memcpy(hash, sqlite3_column_blob(q, 1), 32);
    db_done(q);
    if (rc != SQLITE_ROW) {
        db_rollback(d);
        sodium_memzero(sk, sizeof sk);
        return fail(err, errlen, rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc), "the audit trail is empty");
    }
    int64_t now = util_now();
    uint8_t msg[65], sig[crypto_sign_BYTES];
    head_message(eid, hash, now, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    sodium_memzero(sk, sizeof sk);
    q = db_prep(d, "INSERT INTO audit_heads(entry_id, hash, signed_at, public_key, signature) VALUES (?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, eid);
    sqlite3_bind_blob(q, 2, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, now);
    sqlite3_bind_blob(q, 4, pk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 5, sig, 64, SQLITE_TRANSIENT);
    rc = sqlite3_step(q);
    db_done(q);
    if (rc != SQLITE_DONE) {
        db_rollback(d);
        return fail(err, errlen, db_err(rc), "cannot store the signed head");
    }
    struct audit_entry e = {.actor = "cport", .action = "audit.sign_head"};
    char obj[40];
    snprintf(obj, sizeof obj, "audit:%lld", (long long)eid);
    e.object = obj;
    if ((st = append_in_tx(d, &e, util_now())) != CP_OK) {
        db_rollback(d);
        return fail(err, errlen, st, "cannot record the signing");
    }
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

/* Heads as JSON: [{entry_id, hash, signed_at, public_key, signature}] in hex. */
int audit_export_heads(struct db *d, char **json, char *err, size_t errlen)
{
    sqlite3_stmt *st = db_prep(d, "SELECT entry_id, hash, signed_at, public_key, signature FROM audit_heads ORDER BY id");
    if (!st)
        return fail(err, errlen, CP_ERR, "cannot read audit_heads");
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "audit_heads");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "entry_id", (double)sqlite3_column_int64(st, 0));
        char ts[21], hex[129];
        util_format_time(sqlite3_column_int64(st, 2), ts);
        static const struct {
            const char *k;
            int col;
        } blobs[] = {{"hash", 1}, {"public_key", 3}, {"signature", 4}};
        for (int i = 0; i < 3; i++) {
            int n = sqlite3_column_bytes(st, blobs[i].col);
            util_hex_encode(sqlite3_column_blob(st, blobs[i].col), n > 64 ? 64 : (size_t)n, hex);
            cJSON_AddStringToObject(o, blobs[i].k, hex);
        }
        cJSON_AddStringToObject(o, "signed_at", ts);
        cJSON_AddItemToArray(arr, o);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(root);
        return fail(err, errlen, db_err(rc), "cannot read audit_heads");
    }
    *json = cJSON_Print(root);
    cJSON_Delete(root);
    return CP_OK;
}
