/*
 * api_searches - saved report searches: a person keeps a search under a name,
 * sees how many reports are new since they last opened it (recounted after
 * imports, lib/searches.c), opens it (which resets the count), renames,
 * changes or deletes it. Searches belong to their owner alone: anyone else's
 * is 404.
 */
#include "handlers.h"
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCHES_MAX 200 /* a person's saved searches */

static const char *const FIELDS[] = {"name", "filter", NULL};

/* The columns every search answer is written from. */
#define SEARCH_COLS "id, name, filter, created_at, opened_at, new_count, counted_at"
#define SEARCH_SPEC "i:id t:name j:filter T:created_at T:opened_at i:new_count T:counted_at"

/* The newest updated_at of all reports: what "new since now" is measured from. */
static int64_t seen_mark(struct ctx *c)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT max(updated_at) FROM reports");
    int64_t m = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    return m;
}

/* Validate name (required when need_name) and filter (required when
 * need_filter) of a body; *filter gets the canonical JSON (caller frees). */
static int check_body(struct ctx *c, const cJSON *b, int need_name, int need_filter, const char **name, char **filter)
{
    *name = NULL;
    *filter = NULL;
    if (ctx_known_fields(c, b, FIELDS) != CP_OK)
        return CP_BAD;
    if (ctx_str(c, b, "name", 120, need_name ? 0 : FIELD_OPTIONAL, name) != CP_OK)
        return CP_BAD;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(b, "filter");
    if (!f && need_filter)
        return ctx_bad(c, "filter", "filter is required: an object with the filter keys of GET /api/v1/reports");
    if (!f)
        return CP_OK;
    struct report_filter rf;
    return reports_filter_json(c, f, "filter", &rf, filter);
}

/* The search id of the path if it is the caller's; CP_NOTFOUND otherwise. */
static int own(struct ctx *c, int64_t *id)
{
    *id = ctx_path_id(c);
    if (!*id)
        return CP_NOTFOUND;
    sqlite3_stmt *st = db_prep(c->db, "SELECT 1 FROM saved_searches WHERE id = ? AND user_id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, *id);
    sqlite3_bind_int64(st, 2, c->who.user_id);
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* Answer one search of the caller with status. */
static int answer(struct ctx *c, int64_t id, int status)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT " SEARCH_COLS " FROM saved_searches WHERE id = ? AND user_id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.user_id);
    return ctx_row(c, st, SEARCH_SPEC, status);
}

/* Map a UNIQUE(user_id, name) failure to 409. */
static int step_write(struct ctx *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc == SQLITE_CONSTRAINT) {
        snprintf(c->err, sizeof c->err, "you already have a saved search of that name");
        return CP_CONFLICT;
    }
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* GET /api/v1/searches: the caller's saved searches, by name, with their new
 * counts. */
int h_searches_list(struct ctx *c)
{
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    sqlite3_stmt *st = db_prep(c->db, "SELECT " SEARCH_COLS " FROM saved_searches WHERE user_id = ?"
                                      " ORDER BY name COLLATE NOCASE, id");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, c->who.user_id);
    return ctx_table(c, st, "items", SEARCH_SPEC);
}

/* POST /api/v1/searches {name, filter}: keep a search; new is counted from
 * now. 201 with the search. Audited. */
int h_search_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *name;
    char *filter = NULL;
    int st = check_body(c, b, 1, 1, &name, &filter);
    if (st != CP_OK) {
        free(filter);
        return st;
    }
    if ((st = db_begin(c->db)) != CP_OK) {
        free(filter);
        return st;
    }
    sqlite3_stmt *q = db_prep(c->db, "SELECT count(*) FROM saved_searches WHERE user_id = ?");
    int64_t have = 0;
    if (q) {
        sqlite3_bind_int64(q, 1, c->who.user_id);
        have = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        db_done(q);
    }
    int64_t now = util_now(), id = 0;
    if (have >= SEARCHES_MAX) {
        snprintf(c->err, sizeof c->err, "you have %d saved searches, the most one person may keep", SEARCHES_MAX);
        st = CP_CONFLICT;
    } else if (!(q = db_prep(c->db, "INSERT INTO saved_searches(user_id, name, filter, created_at, opened_at,"
                                    " seen_mark) VALUES (?, ?, ?, ?, ?, ?)"))) {
        st = CP_ERR;
    } else {
        sqlite3_bind_int64(q, 1, c->who.user_id);
        db_bind_text(q, 2, name);
        db_bind_text(q, 3, filter);
        sqlite3_bind_int64(q, 4, now);
        sqlite3_bind_int64(q, 5, now);
        sqlite3_bind_int64(q, 6, seen_mark(c));
        st = step_write(c, q);
        id = sqlite3_last_insert_rowid(c->db->h);
    }
    if (st == CP_OK)
        st = ctx_audit(c, "search.create", "search", id, filter);
    free(filter);
    if (st == CP_OK)
        st = db_commit(c->db);
    else
        db_rollback(c->db);
    if (st != CP_OK)
        return st;
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/searches/%lld", (long long)id);
    ctx_header(c, "Location", loc);
    return answer(c, id, 201);
}

/* PATCH /api/v1/searches/{id} {name?, filter?}: rename or change it; a
 * changed filter counts new from now. Audited. */
int h_search_update(struct ctx *c)
{
    int64_t id;
    int st = own(c, &id);
    if (st != CP_OK)
        return st;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *name;
    char *filter = NULL;
    if ((st = check_body(c, b, 0, 0, &name, &filter)) != CP_OK) {
        free(filter);
        return st;
    }
    if (!name && !filter)
        return ctx_bad(c, "name", "send a new name and/or filter");
    if ((st = db_begin(c->db)) != CP_OK) {
        free(filter);
        return st;
    }
    sqlite3_stmt *q = db_prep(c->db, "UPDATE saved_searches SET name = coalesce(?1, name), filter = coalesce(?2, filter),"
                                     " seen_mark = CASE WHEN ?2 IS NULL THEN seen_mark ELSE ?3 END,"
                                     " new_count = CASE WHEN ?2 IS NULL THEN new_count ELSE 0 END"
                                     " WHERE id = ?4");
    if (!q) {
        st = CP_ERR;
    } else {
        db_bind_text(q, 1, name);
        db_bind_text(q, 2, filter);
        sqlite3_bind_int64(q, 3, seen_mark(c));
        sqlite3_bind_int64(q, 4, id);
        st = step_write(c, q);
    }
    if (st == CP_OK) {
        cJSON *d = cJSON_CreateObject();
        if (name)
            cJSON_AddStringToObject(d, "name", name);
        if (filter)
            cJSON_AddRawToObject(d, "filter", filter);
        st = ctx_audit_json(c, "search.update", "search", id, d);
    }
    free(filter);
    if (st == CP_OK)
        st = db_commit(c->db);
    else
        db_rollback(c->db);
    return st == CP_OK ? answer(c, id, 200) : st;
}

/* POST /api/v1/searches/{id}/open: the owner opens it, so nothing is new any
 * more; answers the search (the portal then runs its filter). */
int h_search_open(struct ctx *c)
{
    int64_t id;
    int st = own(c, &id);
    if (st != CP_OK)
        return st;
    if ((st = db_begin(c->db)) != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "UPDATE saved_searches SET opened_at = ?, seen_mark = ?, new_count = 0"
                                     " WHERE id = ?");
    if (!q) {
        db_rollback(c->db);
        return CP_ERR;
    }
    sqlite3_bind_int64(q, 1, util_now());
    sqlite3_bind_int64(q, 2, seen_mark(c));
    sqlite3_bind_int64(q, 3, id);
    st = step_write(c, q);
    if (st == CP_OK)
        st = db_commit(c->db);
    else
        db_rollback(c->db);
    return st == CP_OK ? answer(c, id, 200) : st;
}

/* DELETE /api/v1/searches/{id}. Audited. */
int h_search_delete(struct ctx *c)
{
    int64_t id;
    int st = own(c, &id);
    if (st != CP_OK)
        return st;
    if ((st = db_begin(c->db)) != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "DELETE FROM saved_searches WHERE id = ?");
    if (!q) {
        db_rollback(c->db);
        return CP_ERR;
    }
    sqlite3_bind_int64(q, 1, id);
    st = step_write(c, q);
    if (st == CP_OK)
        st = ctx_audit(c, "search.delete", "search", id, NULL);
    if (st == CP_OK)
        st = db_commit(c->db);
    else
        db_rollback(c->db);
    if (st != CP_OK)
        return st;
    c->status = 204;
    return CP_OK;
}
