/*
 * db - SQLite connection, statement cache, transactions and migrations.
 */
#include "db.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Wait for a lock held by another connection in short steps (0.1 ms growing to
 * 2 ms) up to the busy timeout. SQLite's own handler sleeps up to 100 ms at a
 * time, which with many short audit writes made p99 latency the sleep, not the
 * wait. Returns 0 to give up (the caller answers 503). */
static int db_busy_wait(void *arg, int count)
{
    const struct db *d = arg;
    static const int steps_us[] = {100, 200, 400, 800, 1600, 2000};
    long waited = 0;
    for (int i = 0; i < count; i++)
        waited += steps_us[i < 5 ? i : 5];
    if (waited / 1000 >= d->busy_ms)
        return 0;
    usleep((useconds_t)steps_us[count < 5 ? count : 5]);
    return 1;
}

/* Open a connection and set the pragmas every cport connection runs with. */
struct db *db_open(const char *path, int busy_ms, char *err, size_t errlen)
{
    struct db *d = calloc(1, sizeof *d);
    if (!d) {
        fail(err, errlen, CP_ERR, "out of memory");
        return NULL;
    }
    snprintf(d->path, sizeof d->path, "%s", path);
    int rc = sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        fail(err, errlen, CP_ERR, "cannot open database %s: %s", path,
             d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
        db_close(d);
        return NULL;
    }
    sqlite3_extended_result_codes(d->h, 0);
    d->busy_ms = busy_ms > 0 ? busy_ms : 5000;
    sqlite3_busy_handler(d->h, db_busy_wait, d);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(d->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    char e[256];
    /* 4 KB pages, SQLite's default, on purpose: 8 KB pages made imports a tenth
     * faster but report details a third slower (each random leaf read copies
     * twice the bytes through the small per-worker cache). */
    if (db_exec(d, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                   "PRAGMA trusted_schema=OFF; PRAGMA cache_size=-8000; PRAGMA temp_store=MEMORY;"
                   "PRAGMA mmap_size=0;",
                e, sizeof e) != CP_OK) {
        fail(err, errlen, CP_ERR, "cannot set up database %s: %s", path, e);
        db_close(d);
        return NULL;
    }
    return d;
}

/* Finalize every cached statement and close. Deferred audit entries still
 * queued are freed and reported: a front end that defers flushes before it
 * closes (fcgi/main.c), so any left here are lost reads. */
void db_close(struct db *d)
{
    if (!d)
        return;
    if (d->deferred_n)
        fprintf(stderr, "cport: %zu deferred audit entries were never written\n", d->deferred_n);
    for (size_t i = 0; i < d->deferred_n; i++)
        free(d->deferred[i]);
    free(d->deferred);
    for (int i = 0; i < DB_CACHE_SLOTS; i++) {
        sqlite3_finalize(d->cache[i].st);
        free(d->cache[i].sql);
    }
    sqlite3_close(d->h);
    free(d->pending);
    free(d);
}

/* FNV-1a over the SQL text picks the cache slot. */
static unsigned slot_of(const char *sql)
{
    unsigned h = 2166136261u;
    for (; *sql; sql++)
        h = (h ^ (unsigned char)*sql) * 16777619u;
    return (h % (DB_CACHE_SLOTS / DB_CACHE_WAYS)) * DB_CACHE_WAYS;
}

/* Prepared statement for sql, cached per connection by its text in one of the
 * DB_CACHE_WAYS slots of its hash; a miss takes an empty slot or the least
 * recently used one whose statement is not being stepped. */
sqlite3_stmt *db_prep(struct db *d, const char *sql)
{
    unsigned set = slot_of(sql), victim = set;
    for (unsigned s = set; s < set + DB_CACHE_WAYS; s++) {
        if (d->cache[s].st && strcmp(d->cache[s].sql, sql) == 0) {
            sqlite3_reset(d->cache[s].st);
            sqlite3_clear_bindings(d->cache[s].st);
            d->cache[s].used = ++d->ticks;
            return d->cache[s].st;
        }
        int free_here = !d->cache[s].st, free_victim = !d->cache[victim].st;
        int busy_here = !free_here && sqlite3_stmt_busy(d->cache[s].st);
        int busy_victim = !free_victim && sqlite3_stmt_busy(d->cache[victim].st);
        if (!free_victim && (free_here || (busy_victim && !busy_here) ||
                             (busy_here == busy_victim && d->cache[s].used < d->cache[victim].used)))
            victim = s;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "cport: prepare failed: %s\n", sqlite3_errmsg(d->h));
        return NULL;
    }
    sqlite3_finalize(d->cache[victim].st);
    free(d->cache[victim].sql);
    d->cache[victim].sql = strdup(sql);
    d->cache[victim].st = st;
    d->cache[victim].used = ++d->ticks;
    return st;
}

/* Reset and unbind: releases the statement's read snapshot. */
void db_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Reset all cached statements of the connection. */
void db_reset_all(struct db *d)
{
    for (int i = 0; i < DB_CACHE_SLOTS; i++)
        db_done(d->cache[i].st);
}

/* A named data version. */
int64_t db_version(struct db *d, const char *name)
{
    sqlite3_stmt *st = db_prep(d, "SELECT n FROM data_versions WHERE name = ?");
    if (!st)
        return -1;
    db_bind_text(st, 1, name);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    db_done(st);
    return v;
}

/* Move a named data version. */
int db_bump(struct db *d, const char *name)
{
    sqlite3_stmt *st = db_prep(d, "UPDATE data_versions SET n = n + 1 WHERE name = ?");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    db_done(st);
    return db_status(rc);
}

/* SQLITE_BUSY and SQLITE_LOCKED mean "try again later" to callers. */
int db_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return CP_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CP_BUSY;
    default:
        return CP_ERR;
    }
}

/* A failed step: busy is worth a retry (503), anything else is an error. */
int db_err(int rc) { return db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR; }

/* Execute statements that return no rows. */
int db_exec(struct db *d, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(d->h, sql, NULL, NULL, &msg);
    int st = db_status(rc);
    if (st != CP_OK)
        fail(err, errlen, st, "%s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return st;
}

/* Start a write transaction, taking the write lock up front. */
int db_begin(struct db *d) { return db_exec(d, "BEGIN IMMEDIATE", NULL, 0); }

/* Set (or clear) the JSON-lines audit log. */
void db_set_audit_log(struct db *d, const char *path)
{
    snprintf(d->audit_log, sizeof d->audit_log, "%s", path ? path : "");
}

/* Queue a line until the transaction's fate is known. */
void db_pending_line(struct db *d, const char *line)
{
    if (!d->audit_log[0])
        return;
    size_t n = strlen(line);
    if (d->pending_len + n + 2 > d->pending_cap) {
        size_t cap = d->pending_cap ? d->pending_cap * 2 : 4096;
        while (cap < d->pending_len + n + 2)
            cap *= 2;
        char *p = realloc(d->pending, cap);
        if (!p)
            return;
        d->pending = p, d->pending_cap = cap;
    }
    memcpy(d->pending + d->pending_len, line, n);
    d->pending_len += n;
    d->pending[d->pending_len++] = '\n';
}

/* Append the committed lines with one O_APPEND write, so lines of concurrent
 * workers never interleave. A log that can't be written is reported on stderr:
 * the database, not the copy, is the record. */
static void flush_pending(struct db *d)
{
    if (!d->pending_len)
        return;
    int fd = open(d->audit_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, d->pending, d->pending_len) != (ssize_t)d->pending_len)
        fprintf(stderr, "cport: cannot append to audit log %s\n", d->audit_log);
    if (fd >= 0)
        close(fd);
    d->pending_len = 0;
}

/* Commit; on failure the transaction is rolled back so the connection is clean. */
int db_commit(struct db *d)
{
    int st = db_exec(d, "COMMIT", d->commit_error, sizeof d->commit_error);
    if (st != CP_OK)
        db_rollback(d);
    else
        flush_pending(d);
    return st;
}

/* Roll back when a transaction is open; harmless otherwise. */
void db_rollback(struct db *d)
{
    if (!sqlite3_get_autocommit(d->h))
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->pending_len = 0;
}

/* Bind s as text, or NULL when s is NULL. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Bind v, or NULL when has is 0. */
void db_bind_opt_int(sqlite3_stmt *st, int i, int has, int64_t v)
{
    if (has)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Column text, never NULL. */
const char *db_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Highest applied migration, 0 before the first. */
int db_schema_version(struct db *d)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(d->h, "SELECT max(version) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Apply each migration newer than the database, one transaction each. */
int db_migrate(struct db *d, char *err, size_t errlen)
{
    int st = db_exec(d,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                     err, errlen);
    if (st != CP_OK)
        return st;
    int have = db_schema_version(d);
    for (int i = 0; i < db_migration_count; i++) {
        const struct db_migration *m = &db_migrations[i];
        if (m->version <= have)
            continue;
        if ((st = db_begin(d)) != CP_OK)
            return fail(err, errlen, st, "database is busy");
        char e[512];
        if ((st = db_exec(d, m->sql, e, sizeof e)) != CP_OK) {
            db_rollback(d);
            return fail(err, errlen, st, "migration %s failed: %s", m->name, e);
        }
        sqlite3_stmt *ins = NULL;
        sqlite3_prepare_v2(d->h, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)", -1,
                           &ins, NULL);
        sqlite3_bind_int(ins, 1, m->version);
        sqlite3_bind_text(ins, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, util_now());
        int rc = sqlite3_step(ins);
        sqlite3_finalize(ins);
        if (rc != SQLITE_DONE || (st = db_commit(d)) != CP_OK) {
            db_rollback(d);
            return fail(err, errlen, CP_ERR, "migration %s could not be recorded", m->name);
        }
    }
    return CP_OK;
}
