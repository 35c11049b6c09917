/*
 * api_reports - the report handlers: list, detail, facet stats, hotlines.
 */
#include "handlers.h"
#include "reports.h"

#include <stdio.h>
#include <stdlib.h>

/* GET /api/v1/reports: filtered, sorted, keyset-paged search in scope. Every
 * search is audited ("report.search", the query string in the detail). */
int h_reports_list(struct ctx *c)
{
    struct report_filter f;
    if (reports_parse_filter(c, &f, 1) != CP_OK)
        return CP_BAD;
    int st = reports_search(c, &f, &c->out);
    if (st == CP_OK) {
        c->ctype = "application/json";
        c->audit_after = "report.search";
    }
    return st;
}

/* GET /api/v1/reports/{id}: 404 alike for absent and out of scope. Every view
 * is audited ("report.view" of "report:<id>"). */
int h_report_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    int st = reports_get(c, id, &c->out);
    if (st == CP_OK) {
        c->ctype = "application/json";
        ctx_audit_read(c, "report.view", "report:%lld", (long long)id);
    }
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

/* One hotline of GET /api/v1/hotlines. */
static void hotline_row(struct ctx *c, struct jw *w, sqlite3_stmt *st)
{
    (void)c;
    jw_col_text(w, "code", st, 0);
    jw_col_text(w, "name", st, 1);
    jw_col_text(w, "country", st, 2);
    jw_col_text(w, "website", st, 3);
    jw_col_text(w, "email", st, 4);
}

/* GET /api/v1/hotlines: the hotlines the feed lists. */
int h_hotlines(struct ctx *c)
{
    return ctx_rows(c, db_prep(c->db, "SELECT code, name, country, website, email FROM hotlines ORDER BY code"),
                    "hotlines", hotline_row);
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
