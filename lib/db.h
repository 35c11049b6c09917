/*
 * db - the one way cport talks to SQLite: a connection opened with the same
 * pragmas everywhere, a per-connection cache of prepared statements, short
 * BEGIN IMMEDIATE transactions, and the schema migrations.
 */
#ifndef CPORT_DB_H
#define CPORT_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct db_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct db_migration db_migrations[];
extern const int db_migration_count;

/* The statement cache: DB_CACHE_WAYS slots for each hash of the SQL text,
 * the least recently used one replaced (cport has some 400 statements; one
 * slot a hash made statements of the same request evict each other, and a
 * report detail re-prepared three of its own on every request). */
#define DB_CACHE_SLOTS 512
#define DB_CACHE_WAYS 4

struct db {
    sqlite3 *h;
    struct {
        char *sql;
        sqlite3_stmt *st;
        uint64_t used; /* d->ticks when last handed out */
    } cache[DB_CACHE_SLOTS];
    uint64_t ticks;
    char path[4096];
    int busy_ms; /* how long a writer waits for the lock before CP_BUSY */
    char commit_error[200]; /* why the last failed db_commit failed (its rollback clears SQLite's) */
    /* Audit entries of the open transaction as JSON lines, appended to
     * audit_log (when set) once the transaction commits, dropped on rollback. */
    char audit_log[4096];
    char *pending;
    size_t pending_len, pending_cap;
    /* Audited reads deferred by audit_defer until audit_flush writes them, in
     * the order they were deferred (audit.c owns them; db_close frees any left). */
    struct audit_deferred **deferred;
    size_t deferred_n, deferred_cap;
};

/* Copy committed audit entries to a JSON-lines file (for a SIEM); "" for none. */
void db_set_audit_log(struct db *d, const char *path);
/* Queue one line for the log of the current transaction (audit.c). */
void db_pending_line(struct db *d, const char *line);

/* Open path with WAL, synchronous=NORMAL, foreign keys, busy timeout, defensive
 * mode and trusted_schema off. Returns NULL and a message in err on failure. */
struct db *db_open(const char *path, int busy_ms, char *err, size_t errlen);
void db_close(struct db *d);

/* A prepared statement for this SQL text, from the cache when it was prepared
 * before (SQLITE_PREPARE_PERSISTENT). The statement is reset and its bindings
 * cleared before it is handed out; callers never finalize it. NULL on a
 * preparation error (logged into err of db_errmsg). */
sqlite3_stmt *db_prep(struct db *d, const char *sql);

/* Reset a statement when done with it, so it holds no read snapshot open. */
void db_done(sqlite3_stmt *st);
/* Reset every cached statement: the safety net at the end of each request. */
void db_reset_all(struct db *d);

/* The counter of schema/006_versions.sql named name ("reports", "access"), -1
 * on error. Caches of query answers are valid while it stands still. */
int64_t db_version(struct db *d, const char *name);
/* Move a counter, inside the transaction that changes what it stands for. */
int db_bump(struct db *d, const char *name);

/* Run SQL without results (several statements allowed). Returns CP_OK, CP_BUSY or CP_ERR. */
int db_exec(struct db *d, const char *sql, char *err, size_t errlen);

/* Transactions: BEGIN IMMEDIATE so writers queue on the busy timeout at the start,
 * not midway. Return CP_OK, CP_BUSY or CP_ERR; a failed commit is rolled back
 * and d->commit_error says why. */
int db_begin(struct db *d);
int db_commit(struct db *d);
void db_rollback(struct db *d);

/* Map an sqlite result code to CP_OK / CP_BUSY / CP_ERR. */
int db_status(int rc);
/* The failure a result code means: CP_BUSY when busy or locked, else CP_ERR. */
int db_err(int rc);

/* Bind helpers: text or NULL, int64 or NULL when has is 0. */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
void db_bind_opt_int(sqlite3_stmt *st, int i, int has, int64_t v);

/* Column text as a C string ("" for NULL). */
const char *db_text(sqlite3_stmt *st, int col);

/* Apply pending migrations in order, each in its own transaction; tracked in
 * schema_migrations. Idempotent. Returns CP_OK or an error code with err filled. */
int db_migrate(struct db *d, char *err, size_t errlen);
/* The highest applied migration version, 0 for an empty database. */
int db_schema_version(struct db *d);

#endif
