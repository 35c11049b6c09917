/*
 * api_reports - the report handlers: list, detail, facet stats, hotlines.
 */
#include "handlers.h"
#include "log.h"
#include "reports.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* What an export streams: the filter and the format. */
struct export_job {
    struct report_filter f;
    int ndjson;
};

/* Produce the export through the front end's writer. */
static int export_stream(struct ctx *c, int (*write)(void *w, const void *p, size_t n), void *w)
{
    struct export_job *j = c->stream_arg;
    int64_t rows = 0;
    int st = reports_export(c, &j->f, j->ndjson, write, w, &rows);
    if (st != CP_OK)
        log_line(c->request_id, "report export ended after %lld rows (%d)", (long long)rows, st);
    return st;
}

/* GET /api/v1/reports/export?format=csv|ndjson&<filters>&sort=: every report
 * of the search in the caller's scope, streamed (never held in memory: the
 * first bytes leave while the rest is read), as an attachment. Audited as
 * "report.export" with the query. */
int h_reports_export(struct ctx *c)
{
    struct export_job *j = ctx_alloc(c, sizeof *j);
    if (!j)
        return CP_ERR;
    const char *fmt = ctx_qparam(c, "format");
    if (!fmt || !*fmt || strcmp(fmt, "csv") == 0)
        j->ndjson = 0;
    else if (strcmp(fmt, "ndjson") == 0)
        j->ndjson = 1;
    else
        return ctx_bad(c, "format", "format must be csv or ndjson");
    if (reports_parse_filter(c, &j->f, REPORTS_EXPORT) != CP_OK)
        return CP_BAD;
    char disp[96], day[32];
    util_format_time(util_now(), day);
    day[10] = 0;
    snprintf(disp, sizeof disp, "attachment; filename=\"cport-reports-%s.%s\"", day, j->ndjson ? "ndjson" : "csv");
    ctx_header(c, "Content-Disposition", disp);
    c->status = 200;
    c->ctype = j->ndjson ? "application/x-ndjson" : "text/csv; charset=utf-8";
    c->stream = export_stream;
    c->stream_arg = j;
    c->audit_after = "report.export";
    c->audit_sync = 1;
    return CP_OK;
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

/* GET /api/v1/stats/timeseries?metric=&interval=&group_by=&from=&to=: the
 * dashboard's series in the caller's scope (lib/stats.c). */
int h_stats_timeseries(struct ctx *c)
{
    int st = stats_timeseries(c, &c->out);
    if (st == CP_OK) {
        c->status = 200;
        c->ctype = "application/json";
    }
    return st;
}

/* GET /api/v1/stats/top?field=provider|asn&limit=&from=&to=: the biggest
 * hosting providers or networks in the caller's scope. */
int h_stats_top(struct ctx *c)
{
    int st = stats_top(c, &c->out);
    if (st == CP_OK) {
        c->status = 200;
        c->ctype = "application/json";
    }
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
