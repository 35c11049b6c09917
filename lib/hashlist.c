/*
 * hashlist - list changes, imports and exports; see hashlist.h.
 */
#include "hashlist.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SCHEMES[] = {"none", "vic_us", "uk_abc", "ncmec", "interpol_baseline", NULL};
static const char *const KINDS[] = {"normal", "warning", NULL};

/* The audit entry of a list change (detail consumed), in the open transaction. */
static int audit_list(struct db *d, const struct audit_entry *by, const char *action, int64_t list_id, cJSON *detail)
{
    char *text = detail ? cJSON_PrintUnformatted(detail) : NULL;
    cJSON_Delete(detail);
    int st = audit_record(d, by, action, "hash_list", list_id, text);
    free(text);
    return st;
}
/* Create a list after validating every field. */
int hashlist_create(struct db *d, const struct audit_entry *by, int64_t org_id, const char *name,
                    const char *description, const char *scheme, const char *kind, int64_t *id, char *err,
                    size_t errlen)
{
    if (!name || !*name || !util_is_clean_text(name, 200))
        return fail(err, errlen, CP_BAD, "name must be 1 to 200 printable characters");
    if (description && !util_is_clean_block(description, 2000))
        return fail(err, errlen, CP_BAD, "description must be at most 2000 printable characters");
    if (!scheme)
        scheme = "none";
    if (!kind)
        kind = "normal";
    if (!util_in_list(scheme, SCHEMES))
        return fail(err, errlen, CP_BAD, "scheme must be none, vic_us, uk_abc, ncmec or interpol_baseline");
    if (!util_in_list(kind, KINDS))
        return fail(err, errlen, CP_BAD, "kind must be normal or warning");
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    int64_t now = util_now();
    sqlite3_stmt *st = db_prep(d, "INSERT INTO hash_lists(org_id, name, description, scheme, kind, created_at, updated_at)"
                                  " VALUES (?,?,?,?,?,?,?)");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, org_id);
        db_bind_text(st, 2, name);
        db_bind_text(st, 3, description);
        db_bind_text(st, 4, scheme);
        db_bind_text(st, 5, kind);
        sqlite3_bind_int64(st, 6, now);
        sqlite3_bind_int64(st, 7, now);
        rc = sqlite3_step(st);
        db_done(st);
    }
    if (rc != SQLITE_DONE) {
        db_rollback(d);
        return rc == SQLITE_CONSTRAINT ? fail(err, errlen, CP_CONFLICT, "the organisation has a list of that name")
                                       : fail(err, errlen, db_status(rc), "could not store the list");
    }
    int64_t lid = sqlite3_last_insert_rowid(d->h);
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "name", name);
    cJSON_AddStringToObject(dt, "scheme", scheme);
    cJSON_AddStringToObject(dt, "kind", kind);
    cJSON_AddNumberToObject(dt, "org_id", (double)org_id);
    int st2 = audit_list(d, by, "hashlist.create", lid, dt);
    if (st2 != CP_OK || (st2 = db_commit(d)) != CP_OK) {
        db_rollback(d);
        return fail(err, errlen, st2, "could not store the list");
    }
    if (id)
        *id = lid;
    return CP_OK;
}

/* Bump and read the global entry sequence. */
int hashlist_next_seq(struct db *d, int64_t *seq)
{
    sqlite3_stmt *st = db_prep(d, "UPDATE data_versions SET n = n + 1 WHERE name = 'hashes' RETURNING n");
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    *seq = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* State of one import while the parser feeds it. */
struct import {
    struct db *d;
    int64_t list_id, version, seq, now;
    const char *source;
    int replace;
    struct hashlist_counts *out;
    int failed; /* a database error: stop */
};

/* Bind an optional flag (-1: unknown, NULL). */
static void bind_flag(sqlite3_stmt *st, int i, int v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, v);
}

/* One parsed entry: insert it, update what changed, or leave it; in replace
 * mode remember every value seen so the rest can be removed afterwards. */
static int import_entry(void *arg, const struct hashfmt_entry *e)
{
    struct import *im = arg;
    sqlite3_stmt *st = db_prep(im->d,
        "INSERT INTO hash_entries(list_id, algorithm, value, category, series, media_id, victim_identified,"
        " offender_identified, is_distributed, source, added_at, added_version, version, seq)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12,?13)"
        " ON CONFLICT(list_id, algorithm, value) DO UPDATE SET category = excluded.category,"
        " series = excluded.series, media_id = excluded.media_id, victim_identified = excluded.victim_identified,"
        " offender_identified = excluded.offender_identified, is_distributed = excluded.is_distributed,"
        " removed = 0, version = excluded.version, seq = excluded.seq"
        " WHERE category IS NOT excluded.category OR series IS NOT excluded.series"
        " OR media_id IS NOT excluded.media_id OR victim_identified IS NOT excluded.victim_identified"
        " OR offender_identified IS NOT excluded.offender_identified"
        " OR is_distributed IS NOT excluded.is_distributed OR removed = 1"
        " RETURNING id, added_version = ?12");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, im->list_id);
    db_bind_text(st, 2, hashfmt_alg_name(e->alg));
    sqlite3_bind_blob(st, 3, e->value, (int)e->len, SQLITE_TRANSIENT);
    db_bind_text(st, 4, e->category);
    db_bind_text(st, 5, e->series);
    db_bind_text(st, 6, e->media_id);
    bind_flag(st, 7, e->victim_identified);
    bind_flag(st, 8, e->offender_identified);
    bind_flag(st, 9, e->is_distributed);
    db_bind_text(st, 10, im->source);
    sqlite3_bind_int64(st, 11, im->now);
    sqlite3_bind_int64(st, 12, im->version);
    sqlite3_bind_int64(st, 13, im->seq);
    int rc = sqlite3_step(st);
    int64_t id = 0;
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(st, 0);
        if (sqlite3_column_int(st, 1))
            im->out->added++;
        else
            im->out->changed++;
        rc = sqlite3_step(st);
    } else if (rc == SQLITE_DONE) {
        im->out->unchanged++;
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        im->failed = 1;
        return db_err(rc);
    }
    if (im->replace) {
        /* Unchanged rows return nothing: find their id to mark them seen. */
        if (!id) {
            st = db_prep(im->d, "SELECT id FROM hash_entries WHERE list_id = ? AND algorithm = ? AND value = ?");
            sqlite3_bind_int64(st, 1, im->list_id);
            db_bind_text(st, 2, hashfmt_alg_name(e->alg));
            sqlite3_bind_blob(st, 3, e->value, (int)e->len, SQLITE_TRANSIENT);
            if (sqlite3_step(st) == SQLITE_ROW)
                id = sqlite3_column_int64(st, 0);
            db_done(st);
        }
        st = db_prep(im->d, "INSERT OR IGNORE INTO temp.import_seen(id) VALUES (?)");
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        db_done(st);
        if (rc != SQLITE_DONE) {
            im->failed = 1;
            return db_err(rc);
        }
    }
    return CP_OK;
}

/* One invalid line: counted, and the first ones kept with their reason. */
static void import_invalid(void *arg, long line, const char *reason)
{
    struct import *im = arg;
    struct hashlist_counts *o = im->out;
    o->invalid++;
    if (o->reported < HASHLIST_MAX_REPORTED) {
        o->invalid_lines[o->reported].line = line;
        snprintf(o->invalid_lines[o->reported].reason, sizeof o->invalid_lines[0].reason, "%s", reason);
        o->reported++;
    }
}

/* Run a statement with (list id, version, seq) binds; count its changes. */
static int run3(struct db *d, const char *sql, int64_t a, int64_t b, int64_t c, int64_t *changes)
{
    sqlite3_stmt *st = db_prep(d, sql);
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    sqlite3_bind_int64(st, 3, c);
    int rc = sqlite3_step(st);
    if (changes)
        *changes = sqlite3_changes(d->h);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Open an import (or a single change) of list_id: transaction, the list's
 * next version and a new sequence number. CP_NOTFOUND for no such list. */
static int import_begin(struct db *d, struct import *im, char *err, size_t errlen)
{
    if (im->replace && db_exec(d, "CREATE TEMP TABLE IF NOT EXISTS import_seen(id INTEGER PRIMARY KEY)", err,
                               errlen) != CP_OK)
        return CP_ERR;
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    sqlite3_stmt *st = db_prep(d, "SELECT version FROM hash_lists WHERE id = ?");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, im->list_id);
        rc = sqlite3_step(st);
        im->version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 0;
        db_done(st);
    }
    int s = rc == SQLITE_ROW ? hashlist_next_seq(d, &im->seq) : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    if (s == CP_OK && im->replace)
        s = db_exec(d, "DELETE FROM temp.import_seen", err, errlen);
    if (s != CP_OK) {
        db_rollback(d);
        if (s == CP_NOTFOUND)
            snprintf(err, errlen, "no such list");
    }
    return s;
}

/* Close an import: removals (replace), the list's version when anything
 * changed, the audit entry, commit; or roll back when s is a failure. */
static int import_end(struct db *d, const struct audit_entry *by, struct import *im, int s, const char *action,
                      char *err, size_t errlen)
{
    struct hashlist_counts *out = im->out;
    if (s == CP_OK && im->replace)
        s = run3(d, "UPDATE hash_entries SET removed = 1, version = ?2, seq = ?3 WHERE list_id = ?1 AND removed = 0"
                    " AND id NOT IN (SELECT id FROM temp.import_seen)",
                 im->list_id, im->version, im->seq, &out->removed);
    /* Nothing changed: the list keeps its version (re-importing changes nothing). */
    int changed = out->added || out->changed || out->removed;
    if (s == CP_OK && changed)
        s = run3(d, "UPDATE hash_lists SET version = ?2, updated_at = ?3 WHERE id = ?1", im->list_id, im->version,
                 im->now, NULL);
    out->version = changed ? im->version : im->version - 1;
    if (s == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddStringToObject(dt, "source", im->source ? im->source : "");
        cJSON_AddNumberToObject(dt, "added", (double)out->added);
        cJSON_AddNumberToObject(dt, "changed", (double)out->changed);
        cJSON_AddNumberToObject(dt, "unchanged", (double)out->unchanged);
        cJSON_AddNumberToObject(dt, "removed", (double)out->removed);
        cJSON_AddNumberToObject(dt, "invalid", (double)out->invalid);
        cJSON_AddNumberToObject(dt, "version", (double)out->version);
        s = audit_list(d, by, action, im->list_id, dt);
    }
    if (s != CP_OK) {
        db_rollback(d);
        return s;
    }
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

/* Import a stream in one transaction. */
int hashlist_import(struct db *d, const struct audit_entry *by, int64_t list_id, int fd, enum hashfmt_format fmt,
                    enum hashfmt_alg text_alg, int replace, const char *source, struct hashlist_counts *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct import im = {.d = d, .list_id = list_id, .now = util_now(), .source = source, .replace = replace, .out = out};
    int s = import_begin(d, &im, err, errlen);
    if (s != CP_OK)
        return s;
    struct hashfmt_sink sink = {.entry = import_entry, .invalid = import_invalid, .arg = &im};
    s = hashfmt_parse_fd(fd, fmt, text_alg, &sink, err, errlen);
    if (s != CP_OK && im.failed)
        snprintf(err, errlen, "could not store the entries: %s", sqlite3_errmsg(d->h));
    return import_end(d, by, &im, s, "hashlist.import", err, errlen);
}

/* Add or update entries given one by one (the API's single-entry route). */
int hashlist_put(struct db *d, const struct audit_entry *by, int64_t list_id, const struct hashfmt_entry *e, size_t n,
                 const char *source, struct hashlist_counts *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct import im = {.d = d, .list_id = list_id, .now = util_now(), .source = source, .out = out};
    int s = import_begin(d, &im, err, errlen);
    for (size_t i = 0; s == CP_OK && i < n; i++)
        s = import_entry(&im, &e[i]);
    if (s != CP_OK && s != CP_NOTFOUND && im.failed)
        snprintf(err, errlen, "could not store the entry: %s", sqlite3_errmsg(d->h));
    return s == CP_OK ? import_end(d, by, &im, s, "hashlist.entry.put", err, errlen) : s;
}

/* Change one entry (enabled, category, series) or remove it: one new list
 * version. CP_NOTFOUND when the entry is not in list_id or already removed. */
int hashlist_entry_change(struct db *d, const struct audit_entry *by, int64_t list_id, int64_t entry_id, int enabled,
                          const char *category, const char *series, int remove, char *err, size_t errlen)
{
    struct hashlist_counts out = {0};
    struct import im = {.d = d, .list_id = list_id, .now = util_now(), .source = NULL, .out = &out};
    int s = import_begin(d, &im, err, errlen);
    if (s != CP_OK)
        return s;
    sqlite3_stmt *st = db_prep(d, "UPDATE hash_entries SET enabled = coalesce(?3, enabled),"
                                  " category = coalesce(?4, category), series = coalesce(?5, series),"
                                  " removed = ?6, version = ?7, seq = ?8 WHERE id = ?1 AND list_id = ?2 AND removed = 0");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, entry_id);
        sqlite3_bind_int64(st, 2, list_id);
        db_bind_opt_int(st, 3, enabled >= 0, enabled);
        db_bind_text(st, 4, category);
        db_bind_text(st, 5, series);
        sqlite3_bind_int(st, 6, remove);
        sqlite3_bind_int64(st, 7, im.version);
        sqlite3_bind_int64(st, 8, im.seq);
        rc = sqlite3_step(st);
        db_done(st);
    }
    if (rc != SQLITE_DONE || !sqlite3_changes(d->h)) {
        db_rollback(d);
        return rc != SQLITE_DONE ? db_err(rc) : fail(err, errlen, CP_NOTFOUND, "no such entry");
    }
    if (remove)
        out.removed = 1;
    else
        out.changed = 1;
    char action[40];
    snprintf(action, sizeof action, "hashlist.entry.%s", remove ? "remove" : "change");
    return import_end(d, by, &im, CP_OK, action, err, errlen);
}

/* Export: one row at a time through the writer. In a change export a
 * disabled entry reads as removed (it no longer matches) and one enabled
 * again as changed (the subscriber adds it back). */
int hashlist_export(struct db *d, int64_t list_id, enum hashfmt_format fmt, int64_t since, hashlist_write_fn write,
                    void *arg, char *err, size_t errlen)
{
    if (db_exec(d, "BEGIN", err, errlen) != CP_OK)
        return CP_BUSY;
    sqlite3_stmt *st = db_prep(d, "SELECT algorithm, value, category, series, media_id, victim_identified,"
                                  " offender_identified, is_distributed, removed = 1 OR enabled = 0, added_version > ?2"
                                  " FROM hash_entries WHERE list_id = ?1 AND ("
                                  "  (?2 < 0 AND removed = 0 AND enabled = 1)"
                                  "  OR (?2 >= 0 AND version > ?2 AND NOT (removed = 1 AND added_version > ?2)))"
                                  " ORDER BY id");
    if (!st) {
        db_rollback(d);
        return fail(err, errlen, CP_ERR, "could not prepare the export");
    }
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, since);
    struct buf b;
    buf_init(&b);
    /* The VICS context names the owner's country. */
    char country[3] = "US";
    sqlite3_stmt *cq = db_prep(d, "SELECT o.country FROM hash_lists l JOIN orgs o ON o.id = l.org_id WHERE l.id = ?");
    if (cq) {
        sqlite3_bind_int64(cq, 1, list_id);
        if (sqlite3_step(cq) == SQLITE_ROW)
            snprintf(country, sizeof country, "%s", db_text(cq, 0));
        db_done(cq);
    }
    struct hashfmt_writer w;
    int rc = SQLITE_DONE, s = hashfmt_writer_begin(&w, fmt, &b, country, err, errlen);
    while (s == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct hashfmt_entry e = {0};
        if (hashfmt_alg_parse(db_text(st, 0), &e.alg) != CP_OK)
            continue;
        e.len = (size_t)sqlite3_column_bytes(st, 1);
        if (e.len != hashfmt_alg_size(e.alg))
            continue;
        memcpy(e.value, sqlite3_column_blob(st, 1), e.len);
        e.category = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : db_text(st, 2);
        e.series = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : db_text(st, 3);
        e.media_id = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : db_text(st, 4);
        e.victim_identified = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
        e.offender_identified = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
        e.is_distributed = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
        const char *change = since < 0 ? NULL : sqlite3_column_int(st, 8) ? "removed"
                                               : sqlite3_column_int(st, 9) ? "added" : "changed";
        /* Stored entries were validated on the way in; one that no longer
         * passes the writer is left out rather than breaking the file. */
        hashfmt_writer_entry(&w, &e, change, err, errlen);
        if (b.len >= 64 * 1024) {
            s = write(arg, b.p, b.len);
            buf_reset(&b);
        }
    }
    db_done(st);
    db_reset_all(d);
    db_commit(d);
    if (s == CP_OK && rc != SQLITE_DONE)
        s = db_err(rc);
    if (s == CP_OK) {
        hashfmt_writer_end(&w);
        if (b.len)
            s = write(arg, b.p, b.len);
    }
    buf_free(&b);
    return s == CP_OK ? CP_OK : fail(err, errlen, s, "the export could not be written");
}

/* Grant read access, audited. */
int hashlist_share(struct db *d, const struct audit_entry *by, int64_t list_id, int64_t org_id, const char *kind,
                   int64_t *share_id, char *err, size_t errlen)
{
    static const char *const kinds[] = {"lea", "hotline", "interpol", NULL};
    if (!org_id == !kind || (kind && !util_in_list(kind, kinds)))
        return fail(err, errlen, CP_BAD, "share with one organisation or one kind: lea, hotline or interpol");
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    /* The list must exist, and its owner needs no share of its own. */
    sqlite3_stmt *o = db_prep(d, "SELECT org_id FROM hash_lists WHERE id = ?");
    int64_t owner = -1;
    if (o) {
        sqlite3_bind_int64(o, 1, list_id);
        if (sqlite3_step(o) == SQLITE_ROW)
            owner = sqlite3_column_int64(o, 0);
        db_done(o);
    }
    if (owner < 0 || owner == org_id) {
        db_rollback(d);
        return owner < 0 ? fail(err, errlen, CP_NOTFOUND, "no such list")
                         : fail(err, errlen, CP_BAD, "the owning organisation needs no share");
    }
    sqlite3_stmt *q = db_prep(d, "INSERT INTO hash_list_shares(list_id, org_id, org_kind, granted_at, granted_by)"
                                 " VALUES (?,?,?,?,?)");
    int rc = SQLITE_ERROR;
    if (q) {
        sqlite3_bind_int64(q, 1, list_id);
        db_bind_opt_int(q, 2, org_id != 0, org_id);
        db_bind_text(q, 3, kind);
        sqlite3_bind_int64(q, 4, util_now());
        db_bind_text(q, 5, by->actor);
        rc = sqlite3_step(q);
        db_done(q);
    }
    int st = rc == SQLITE_DONE ? CP_OK : rc == SQLITE_CONSTRAINT ? CP_CONFLICT : db_err(rc);
    int64_t id = sqlite3_last_insert_rowid(d->h);
    if (st == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddNumberToObject(dt, "share", (double)id);
        if (org_id)
            cJSON_AddNumberToObject(dt, "org_id", (double)org_id);
        else
            cJSON_AddStringToObject(dt, "org_kind", kind);
        st = audit_list(d, by, "hashlist.share", list_id, dt);
    }
    if (st != CP_OK || (st = db_commit(d)) != CP_OK) {
        db_rollback(d);
        return st == CP_CONFLICT ? fail(err, errlen, st, "the list is already shared with them")
                                 : fail(err, errlen, st, "could not store the share");
    }
    if (share_id)
        *share_id = id;
    return CP_OK;
}
