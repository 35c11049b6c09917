/*
 * api_admin - administration handlers. GET /api/v1/admin/audit searches the
 * audit trail: operators see every entry, an org_admin the entries of their
 * own organisation. The search is itself audited.
 */
#include "audit.h"
#include "handlers.h"
#include "jw.h"
#include "sqlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const AUDIT_PARAMS[] = {"actor", "action", "object", "from", "to", "limit", "cursor", NULL};

/* GET /api/v1/admin/audit?actor=&action=&object=&from=&to=&limit=&cursor= */
int h_admin_audit(struct ctx *c)
{
    if (ctx_check_params(c, AUDIT_PARAMS) != CP_OK)
        return CP_BAD;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT id, at, actor, user_id, org_id, ip, request_id, action, object, detail FROM audit WHERE 1");
    /* An org_admin's view is their organisation's entries; operators see all. */
    if (strcmp(c->who.role, "operator") != 0) {
        sqlq_sql(&q, " AND org_id = ");
        sqlq_int(&q, c->who.org_id);
    }
    static const struct {
        const char *param;
        const char *clause;
    } text_filters[] = {{"actor", " AND actor = "}, {"action", " AND action = "}, {"object", " AND object = "}};
    int st = CP_OK;
    for (int i = 0; i < 3 && st == CP_OK; i++) {
        const char *v = ctx_qparam(c, text_filters[i].param);
        if (!v || !*v)
            continue;
        if (!util_is_clean_text(v, 254)) {
            st = ctx_bad(c, text_filters[i].param, "%s must be at most 254 printable characters", text_filters[i].param);
            break;
        }
        if (i == 0)
            sqlq_sql(&q, " AND actor = ");
        else if (i == 1)
            sqlq_sql(&q, " AND action = ");
        else
            sqlq_sql(&q, " AND object = ");
        sqlq_text(&q, v);
    }
    int64_t t;
    const char *v;
    if (st == CP_OK && (v = ctx_qparam(c, "from")) && *v) {
        if (util_parse_time(v, &t))
            st = ctx_bad(c, "from", "from must be a date (2026-01-31) or an ISO-8601 time");
        else {
            sqlq_sql(&q, " AND at >= ");
            sqlq_int(&q, t);
        }
    }
    if (st == CP_OK && (v = ctx_qparam(c, "to")) && *v) {
        if (util_parse_time(v, &t))
            st = ctx_bad(c, "to", "to must be a date (2026-01-31) or an ISO-8601 time");
        else {
            sqlq_sql(&q, " AND at < ");
            sqlq_int(&q, t + (strlen(v) == 10 ? 86400 : 1));
        }
    }
    long limit = 100;
    if (st == CP_OK && (v = ctx_qparam(c, "limit")) && *v) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 500 || *v < '0' || *v > '9')
            st = ctx_bad(c, "limit", "limit must be a whole number from 1 to 500");
    }
    if (st == CP_OK && (v = ctx_qparam(c, "cursor")) && *v) {
        char *end;
        long long before = strtoll(v, &end, 10);
        if (*end || before < 1 || *v < '0' || *v > '9')
            st = ctx_bad(c, "cursor", "cursor is not one this server issued");
        else {
            sqlq_sql(&q, " AND id < ");
            sqlq_int(&q, before);
        }
    }
    if (st != CP_OK) {
        sqlq_free(&q);
        return st;
    }
    sqlq_sql(&q, " ORDER BY id DESC LIMIT ");
    sqlq_int(&q, limit + 1);
    sqlite3_stmt *s = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!s)
        return CP_ERR;
    struct jw w;
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    long n = 0;
    int64_t last = 0;
    int rc, more = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        last = sqlite3_column_int64(s, 0);
        jw_obj(&w);
        jw_key(&w, "id");
        jw_int(&w, last);
        jw_col_time(&w, "at", s, 1);
        jw_col_text(&w, "actor", s, 2);
        jw_col_int(&w, "user_id", s, 3);
        jw_col_int(&w, "org_id", s, 4);
        jw_col_text(&w, "ip", s, 5);
        jw_col_text(&w, "request_id", s, 6);
        jw_col_text(&w, "action", s, 7);
        jw_col_text(&w, "object", s, 8);
        jw_col_text(&w, "detail", s, 9);
        jw_obj_end(&w);
        n++;
    }
    db_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(rc);
    jw_arr_end(&w);
    jw_key(&w, "next_cursor");
    if (more) {
        char cur[24];
        snprintf(cur, sizeof cur, "%lld", (long long)last);
        jw_str(&w, cur);
    } else {
        jw_null(&w);
    }
    jw_obj_end(&w);
    c->ctype = "application/json";
    /* Searching the trail is itself on it. The read transaction of this request
     * is still open, so the entry goes after it, from the dispatcher's view: a
     * separate write here would need the write lock while reading. */
    c->audit_after = "audit.search";
    return CP_OK;
}
