/*
 * api_reports - the report handlers: list, detail, facet stats, hotlines.
 */
#include "handlers.h"
#include "reports.h"

#include <stdlib.h>

/* GET /api/v1/reports: filtered, sorted, keyset-paged search in scope. */
int h_reports_list(struct ctx *c)
{
    struct report_filter f;
    if (reports_parse_filter(c, &f, 1) != CP_OK)
        return CP_BAD;
    int st = reports_search(c, &f, &c->out);
    if (st == CP_OK)
        c->ctype = "application/json";
    return st;
}

/* GET /api/v1/reports/{id}: 404 alike for absent and out of scope. */
int h_report_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    int st = reports_get(c, id, &c->out);
    if (st == CP_OK)
        c->ctype = "application/json";
    return st;
}

/* GET /api/v1/stats: facet counts for the caller's scope and filters. */
int h_stats(struct ctx *c)
{
    struct report_filter f;
    if (reports_parse_filter(c, &f, 0) != CP_OK)
        return CP_BAD;
    static const char *const paging[] = {"sort", "limit", "cursor"};
    for (int i = 0; i < 3; i++)
        if (ctx_qparam(c, paging[i]))
            return ctx_bad(c, paging[i], "stats take filters only, not sort, limit or cursor");
    int st = reports_stats(c, &f, &c->out);
    if (st == CP_OK)
        c->ctype = "application/json";
    return st;
}

/* GET /api/v1/hotlines: the hotlines the feed lists. */
int h_hotlines(struct ctx *c)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT code, name, country, website, email FROM hotlines ORDER BY code");
    if (!st)
        return CP_ERR;
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "hotlines");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        static const char *const keys[] = {"code", "name", "country", "website", "email"};
        for (int i = 0; i < 5; i++) {
            if (sqlite3_column_type(st, i) == SQLITE_NULL)
                cJSON_AddNullToObject(o, keys[i]);
            else
                cJSON_AddStringToObject(o, keys[i], db_text(st, i));
        }
        cJSON_AddItemToArray(arr, o);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(j);
        return db_err(rc);
    }
    return ctx_json(c, 200, j);
}

/* GET /api/v1/health: liveness for monitoring; touches the database. */
int h_health(struct ctx *c)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT max(version) FROM schema_migrations");
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    int v = sqlite3_column_int(st, 0);
    db_done(st);
    if (rc != SQLITE_ROW)
        return db_err(rc);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "status", "ok");
    cJSON_AddNumberToObject(j, "schema_version", v);
    return ctx_json(c, 200, j);
}
