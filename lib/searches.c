/*
 * searches - recounting saved searches' new reports: see searches.h.
 */
#include "searches.h"
#include "api.h"
#include "auth.h"
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One search as read before recounting. */
struct saved {
    int64_t id, user_id, seen_mark;
    char *filter;
};

/* Recount one search as its owner: filter AND updated_at after seen_mark. */
static int recount_one(struct db *d, const struct config *cfg, const struct saved *s, int64_t *count)
{
    struct ctx c;
    ctx_begin(&c, d, cfg);
    c.method = "GET";
    c.path = "(saved search recount)";
    int st = auth_caller_load(d, s->user_id, &c.who);
    if (st == CP_OK) {
        c.authed = 1;
        st = ctx_scope(&c);
    }
    cJSON *obj = st == CP_OK ? cJSON_Parse(s->filter) : NULL;
    struct report_filter f;
    if (st == CP_OK)
        st = obj ? reports_filter_json(&c, obj, "filter", &f, NULL) : CP_BAD;
    cJSON_Delete(obj);
    if (st == CP_OK)
        st = reports_count_since(&c, &f, s->seen_mark, count);
    ctx_end(&c);
    return st;
}

/* See searches.h. */
int searches_recount(struct db *d, const struct config *cfg, long *n, char *err, size_t errlen)
{
    *n = 0;
    struct saved *list = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = db_prep(d, "SELECT id, user_id, seen_mark, filter FROM saved_searches ORDER BY id");
    if (!st)
        return fail(err, errlen, CP_ERR, "cannot read saved searches");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            struct saved *more = realloc(list, cap * sizeof *list);
            if (!more)
                break;
            list = more;
        }
        list[len] = (struct saved){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                                   sqlite3_column_int64(st, 2), strdup(db_text(st, 3))};
        if (list[len].filter)
            len++;
    }
    db_done(st);
    int e = rc == SQLITE_DONE || rc == SQLITE_ROW ? CP_OK : db_err(rc);
    int64_t now = util_now();
    for (size_t i = 0; i < len && e == CP_OK; i++) {
        int64_t count;
        if (recount_one(d, cfg, &list[i], &count) != CP_OK)
            continue; /* owner gone or disabled, filter no longer valid: keep the old count */
        sqlite3_stmt *u = db_prep(d, "UPDATE saved_searches SET new_count = ?, counted_at = ? WHERE id = ?");
        if (!u) {
            e = CP_ERR;
            break;
        }
        sqlite3_bind_int64(u, 1, count);
        sqlite3_bind_int64(u, 2, now);
        sqlite3_bind_int64(u, 3, list[i].id);
        rc = sqlite3_step(u);
        db_done(u);
        if (rc != SQLITE_DONE)
            e = db_err(rc);
        else
            (*n)++;
    }
    for (size_t i = 0; i < len; i++)
        free(list[i].filter);
    free(list);
    if (e != CP_OK)
        return fail(err, errlen, e, "cannot recount saved searches: %s", sqlite3_errmsg(d->h));
    return CP_OK;
}
