/*
 * api_iwol - suggestions for INTERPOL's Worst-of List. An LEA analyst suggests
 * a registrable domain with evidence reports from its own scope (at least one
 * currently baseline); analysts of other LEAs and hotlines that see the domain
 * in their own scope confirm or dispute; the suggester answers disputes and
 * submits once two countries confirm (its own counts); INTERPOL accepts or
 * rejects, and delists when the material is gone. States: open -> submitted ->
 * accepted | rejected; accepted -> delisted; anything else is 409. Each step is
 * one transaction with its event row and audit entry.
 *
 * Who sees a suggestion (iwol_visible, the one rule): INTERPOL all; an LEA or
 * hotline those it made and those whose domain has a report in its own scope.
 * Evidence reports are listed only where they are in the caller's own scope;
 * the summary of all of it (counts, classifications, hosting, dates, never
 * content) is shown to whoever sees the suggestion, for INTERPOL's review.
 */
#include "domain.h"
#include "handlers.h"
#include "reports.h"
#include "sqlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A suggestion as the steps need it. */
struct sug {
    int64_t id, org_id;
    char domain[DOMAIN_MAX], status[16], country[3];
};

/* Append "(condition)" over alias s: the suggestions the caller may see. */
static void iwol_visible(struct ctx *c, struct sqlq *q)
{
    if (strcmp(c->who.org_kind, "interpol") == 0) {
        sqlq_sql(q, "(1)");
        return;
    }
    sqlq_sql(q, "(s.org_id = ");
    sqlq_int(q, c->who.org_id);
    sqlq_sql(q, " OR EXISTS (SELECT 1 FROM reports r WHERE r.domain = s.domain AND ");
    scope_where(&c->scope, SCOPE_SEE, q);
    sqlq_sql(q, "))");
}

/* Whether the domain has a report in the caller's own scope. */
static int domain_in_scope(struct ctx *c, const char *domain)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT EXISTS (SELECT 1 FROM reports r WHERE r.domain = ");
    sqlq_text(&q, domain);
    sqlq_sql(&q, " AND ");
    scope_where(&c->scope, SCOPE_SEE, &q);
    sqlq_sql(&q, ")");
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    int yes = st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    db_done(st);
    return yes;
}

/* Load suggestion {id} if the caller may see it: CP_OK or CP_NOTFOUND. */
static int sug_load(struct ctx *c, int64_t id, struct sug *s)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT s.id, s.org_id, s.domain, s.status, s.country FROM iwol_suggestions s WHERE s.id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND ");
    iwol_visible(c, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->id = sqlite3_column_int64(st, 0);
        s->org_id = sqlite3_column_int64(st, 1);
        snprintf(s->domain, sizeof s->domain, "%s", db_text(st, 2));
        snprintf(s->status, sizeof s->status, "%s", db_text(st, 3));
        snprintf(s->country, sizeof s->country, "%s", db_text(st, 4));
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* An event row and the audit entry, in the open transaction; to may be NULL
 * (no state change). */
static int sug_event(struct ctx *c, struct sug *s, const char *action, const char *to, const char *reason)
{
    sqlite3_stmt *st = db_prep(c->db, "INSERT INTO iwol_events(suggestion_id, at, actor, org_name, action, from_status,"
                                      " to_status, reason) VALUES (?,?,?,?,?,?,?,?)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, util_now());
    db_bind_text(st, 3, c->who.email);
    db_bind_text(st, 4, c->who.org_name);
    db_bind_text(st, 5, action);
    db_bind_text(st, 6, s->status);
    db_bind_text(st, 7, to ? to : s->status);
    db_bind_text(st, 8, reason);
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "domain", s->domain);
    cJSON_AddStringToObject(dt, "from", s->status);
    cJSON_AddStringToObject(dt, "to", to ? to : s->status);
    if (reason)
        cJSON_AddStringToObject(dt, "reason", reason);
    char act[40];
    snprintf(act, sizeof act, "iwol.%s", action);
    return ctx_audit_json(c, act, "iwol", s->id, dt);
}

/* Move s from its status to `to` (checked again in the UPDATE), with its event. */
static int sug_move(struct ctx *c, struct sug *s, const char *action, const char *to, const char *reason)
{
    sqlite3_stmt *st = db_prep(c->db, "UPDATE iwol_suggestions SET status = ?, updated_at = ?,"
                                      " decision_reason = coalesce(?, decision_reason) WHERE id = ? AND status = ?");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, to);
    sqlite3_bind_int64(st, 2, util_now());
    db_bind_text(st, 3, strcmp(action, "submit") == 0 ? NULL : reason);
    sqlite3_bind_int64(st, 4, s->id);
    db_bind_text(st, 5, s->status);
    int rc = sqlite3_step(st);
    int n = sqlite3_changes(c->db->h);
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    if (!n) {
        snprintf(c->err, sizeof c->err, "the suggestion changed meanwhile; reload it");
        return CP_CONFLICT;
    }
    int e = sug_event(c, s, action, to, reason);
    snprintf(s->status, sizeof s->status, "%s", to);
    return e;
}

/* Countries confirming s (its own and those of confirmations, alphabetical),
 * as a JSON array text, and how many. */
static int countries(struct ctx *c, int64_t id, const char *own, char *json, size_t n, int *count)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT json_group_array(cc), count(*) FROM (SELECT ?2 AS cc UNION"
                                      " SELECT country FROM iwol_verifications WHERE suggestion_id = ?1"
                                      " AND verdict = 'confirm' AND country != ?2)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, own);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(json, n, "%s", db_text(st, 0));
        *count = sqlite3_column_int(st, 1);
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : db_err(rc);
}

/* Open disputes of s: disputes not answered by the suggester yet. */
static int open_disputes(struct ctx *c, int64_t id)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT count(*) FROM iwol_verifications WHERE suggestion_id = ?"
                                      " AND verdict = 'dispute' AND replied_at IS NULL");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    db_done(st);
    return n;
}

/* Add evidence reports (already checked) to s. */
static int add_evidence(struct ctx *c, int64_t id, const char *ids_json)
{
    sqlite3_stmt *st = db_prep(c->db, "INSERT OR IGNORE INTO iwol_evidence(suggestion_id, report_id, org_id, added_at)"
                                      " SELECT ?, value, ?, ? FROM json_each(?)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    sqlite3_bind_int64(st, 3, util_now());
    db_bind_text(st, 4, ids_json);
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Record the caller's organisation's verdict (a later one replaces it). */
static int put_verdict(struct ctx *c, int64_t id, const char *verdict, const char *note)
{
    sqlite3_stmt *st = db_prep(c->db, "INSERT INTO iwol_verifications(suggestion_id, org_id, country, user_id, verdict,"
                                      " note, created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT(suggestion_id, org_id)"
                                      " DO UPDATE SET verdict = excluded.verdict, note = excluded.note,"
                                      " user_id = excluded.user_id, created_at = excluded.created_at, replied_at = NULL");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    db_bind_text(st, 3, c->who.org_country);
    sqlite3_bind_int64(st, 4, c->who.user_id);
    db_bind_text(st, 5, verdict);
    db_bind_text(st, 6, note);
    sqlite3_bind_int64(st, 7, util_now());
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

static const char *const SUGGEST_FIELDS[] = {"domain", "justification", "criteria", "evidence", NULL};
static const char *const CRITERIA[] = {"real_children", "under_13", "severe_abuse", NULL};

/* POST /api/v1/iwol {domain, justification, criteria, evidence:{report_ids}}. */
int h_iwol_suggest(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *raw, *just;
    char domain[DOMAIN_MAX], err[256], *ids_json = NULL;
    const cJSON *crit = cJSON_GetObjectItemCaseSensitive(b, "criteria"),
                *ev = cJSON_GetObjectItemCaseSensitive(b, "evidence");
    const cJSON *ids = ev ? cJSON_GetObjectItemCaseSensitive(ev, "report_ids") : NULL;
    int st = ctx_known_fields(c, b, SUGGEST_FIELDS);
    if (st == CP_OK && (st = ctx_str(c, b, "domain", 2000, 0, &raw)) == CP_OK &&
        domain_registrable(raw, domain, sizeof domain, err, sizeof err) != CP_OK)
        st = ctx_bad(c, "domain", "%s", err);
    if (st == CP_OK)
        st = ctx_str(c, b, "justification", 4000, FIELD_MULTILINE, &just);
    for (int i = 0; st == CP_OK && CRITERIA[i]; i++) {
        const cJSON *v = cJSON_IsObject(crit) ? cJSON_GetObjectItemCaseSensitive(crit, CRITERIA[i]) : NULL;
        if (!cJSON_IsTrue(v)) {
            char f[48];
            snprintf(f, sizeof f, "criteria.%s", CRITERIA[i]);
            st = ctx_bad(c, f, "every criterion must be affirmed: %s must be true", f);
        }
    }
    /* Every evidence report in the caller's scope and on the domain; at least
     * one currently baseline. Which ones fail is not said. */
    struct reports_ids n;
    if (st == CP_OK && (st = reports_check_ids(c, ids, 100, domain, &ids_json, &n)) == CP_BAD)
        st = ctx_bad(c, "evidence.report_ids", "evidence.report_ids must list 1 to 100 whole positive report ids");
    else if (st == CP_OK && n.distinct != n.visible)
        st = ctx_bad(c, "evidence.report_ids", "every evidence report must be in your scope and on %s", domain);
    else if (st == CP_OK && !n.baseline)
        st = ctx_bad(c, "evidence.report_ids", "at least one evidence report needs a current baseline classification");
    int64_t id = 0;
    int merged = 0;
    struct sug s = {0};
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        /* A live suggestion of the domain: this one becomes its confirmation. */
        sqlite3_stmt *q = db_prep(c->db, "SELECT id, org_id, status, country FROM iwol_suggestions WHERE domain = ?"
                                         " AND status IN ('open','submitted','accepted')");
        db_bind_text(q, 1, domain);
        if (q && sqlite3_step(q) == SQLITE_ROW) {
            merged = 1;
            s.id = sqlite3_column_int64(q, 0);
            s.org_id = sqlite3_column_int64(q, 1);
            snprintf(s.status, sizeof s.status, "%s", db_text(q, 2));
            snprintf(s.country, sizeof s.country, "%s", db_text(q, 3));
        }
        db_done(q);
        snprintf(s.domain, sizeof s.domain, "%s", domain);
        if (merged) {
            id = s.id;
            st = add_evidence(c, id, ids_json);
            if (st == CP_OK && s.org_id != c->who.org_id && strcmp(s.status, "accepted") != 0)
                st = put_verdict(c, id, "confirm", just);
            if (st == CP_OK)
                st = sug_event(c, &s, "merge", NULL, just);
        } else {
            int64_t now = util_now();
            q = db_prep(c->db, "INSERT INTO iwol_suggestions(domain, org_id, user_id, country, justification, created_at,"
                               " updated_at) VALUES (?,?,?,?,?,?,?)");
            db_bind_text(q, 1, domain);
            sqlite3_bind_int64(q, 2, c->who.org_id);
            sqlite3_bind_int64(q, 3, c->who.user_id);
            db_bind_text(q, 4, c->who.org_country);
            db_bind_text(q, 5, just);
            sqlite3_bind_int64(q, 6, now);
            sqlite3_bind_int64(q, 7, now);
            int rc = sqlite3_step(q);
            db_done(q);
            id = sqlite3_last_insert_rowid(c->db->h);
            s.id = id;
            snprintf(s.status, sizeof s.status, "open");
            st = rc == SQLITE_DONE ? add_evidence(c, id, ids_json) : db_err(rc);
            if (st == CP_OK)
                st = sug_event(c, &s, "suggest", "open", just);
        }
        if (st == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
    }
    free(ids_json);
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "domain", domain);
    cJSON_AddStringToObject(j, "status", s.status);
    if (merged)
        cJSON_AddBoolToObject(j, "merged", 1);
    return ctx_json(c, merged ? 200 : 201, j);
}

static const char *const STATUSES[] = {"open", "submitted", "accepted", "rejected", "delisted", NULL};

/* GET /api/v1/iwol?status=: the suggestions the caller may see, newest first. */
int h_iwol_list(struct ctx *c)
{
    static const char *const params[] = {"status", NULL};
    if (ctx_check_params(c, params) != CP_OK)
        return CP_BAD;
    const char *status = ctx_qparam(c, "status");
    if (status && *status && !util_in_list(status, STATUSES))
        return ctx_bad(c, "status", "status must be open, submitted, accepted, rejected or delisted");
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT s.id, s.domain, s.status, o.name, s.country, s.created_at, s.updated_at,"
                 " (SELECT json_group_array(cc) FROM (SELECT s.country AS cc UNION SELECT v.country FROM"
                 "  iwol_verifications v WHERE v.suggestion_id = s.id AND v.verdict = 'confirm')),"
                 " (SELECT count(*) FROM iwol_verifications v WHERE v.suggestion_id = s.id AND v.verdict = 'confirm'),"
                 " (SELECT count(*) FROM iwol_verifications v WHERE v.suggestion_id = s.id AND v.verdict = 'dispute'),"
                 " (SELECT count(*) FROM iwol_verifications v WHERE v.suggestion_id = s.id AND v.verdict = 'dispute'"
                 "  AND v.replied_at IS NULL),"
                 " (SELECT count(*) FROM iwol_evidence e WHERE e.suggestion_id = s.id), s.org_id = ");
    sqlq_int(&q, c->who.org_id);
    sqlq_sql(&q, " FROM iwol_suggestions s JOIN orgs o ON o.id = s.org_id WHERE ");
    iwol_visible(c, &q);
    if (status && *status) {
        sqlq_sql(&q, " AND s.status = ");
        sqlq_text(&q, status);
    }
    sqlq_sql(&q, " ORDER BY s.id DESC LIMIT 500");
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    return ctx_table(c, st, "items",
                     "i:id t:domain t:status t:org t:country T:created_at T:updated_at j:countries_confirming"
                     " i:confirmations i:disputes i:open_disputes i:evidence_reports b:own");
}

/* GET /api/v1/iwol/{id}: the suggestion, what the caller may do with it, the
 * verifications, the evidence (summary of all; reports only from the caller's
 * own scope) and the history. */
int h_iwol_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    struct sug s;
    int st = id ? sug_load(c, id, &s) : CP_NOTFOUND;
    if (st != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "SELECT s.id, s.domain, s.status, o.name, s.country, s.justification, s.created_at,"
                                     " s.updated_at, s.decision_reason, s.delisting_requested"
                                     " FROM iwol_suggestions s JOIN orgs o ON o.id = s.org_id WHERE s.id = ?");
    if (!q)
        return CP_ERR;
    sqlite3_bind_int64(q, 1, id);
    if (sqlite3_step(q) != SQLITE_ROW) {
        db_done(q);
        return CP_NOTFOUND;
    }
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_columns(&w, q, "i:id t:domain t:status t:org t:country t:justification T:created_at T:updated_at"
                      " t:decision_reason b:delisting_requested");
    int delist_asked = sqlite3_column_int(q, 9);
    db_done(q);
    char cc[256] = "[]";
    int ncountries = 0;
    if ((st = countries(c, id, s.country, cc, sizeof cc, &ncountries)) != CP_OK)
        return st;
    jw_key(&w, "countries_confirming");
    jw_raw(&w, cc);
    int own = s.org_id == c->who.org_id, analyst = strcmp(c->who.role, "viewer") != 0;
    int reader = strcmp(c->who.org_kind, "lea") == 0 || strcmp(c->who.org_kind, "hotline") == 0;
    int live = strcmp(s.status, "open") == 0 || strcmp(s.status, "submitted") == 0;
    jw_key(&w, "can");
    jw_obj(&w);
    jw_key(&w, "verify");
    jw_bool(&w, reader && analyst && !own && live && domain_in_scope(c, s.domain));
    jw_key(&w, "reply");
    jw_bool(&w, own && analyst && open_disputes(c, id) > 0);
    jw_key(&w, "submit");
    jw_bool(&w, own && analyst && strcmp(s.status, "open") == 0);
    jw_key(&w, "decide");
    jw_bool(&w, strcmp(c->who.org_kind, "interpol") == 0 && analyst &&
                    (strcmp(s.status, "submitted") == 0 || strcmp(s.status, "accepted") == 0));
    jw_key(&w, "request_delisting");
    jw_bool(&w, strcmp(s.status, "accepted") == 0 && !delist_asked);
    jw_obj_end(&w);
    /* Verifications. */
    q = db_prep(c->db, "SELECT o.name, v.country, v.verdict, v.note, v.created_at, v.replied_at IS NOT NULL"
                       " FROM iwol_verifications v JOIN orgs o ON o.id = v.org_id WHERE v.suggestion_id = ? ORDER BY v.id");
    sqlite3_bind_int64(q, 1, id);
    jw_key(&w, "verifications");
    jw_arr(&w);
    while (sqlite3_step(q) == SQLITE_ROW) {
        jw_obj(&w);
        jw_columns(&w, q, "t:org t:country t:verdict t:note T:created_at b:replied");
        jw_obj_end(&w);
    }
    db_done(q);
    jw_arr_end(&w);
    /* Evidence: the summary covers all of it (for INTERPOL's review: counts,
     * classifications, hosting, dates, never content); reports are listed only
     * where they are in the caller's own scope. */
    q = db_prep(c->db, "SELECT count(*), coalesce(sum((SELECT count(*) FROM media m JOIN classifications cl"
                       " ON cl.media_id = m.id AND cl.is_current = 1 WHERE m.report_id = r.id"
                       " AND cl.international = 'baseline')), 0), (SELECT json_group_array(DISTINCT r2.host_country)"
                       " FROM iwol_evidence e2 JOIN reports r2 ON r2.id = e2.report_id WHERE e2.suggestion_id = ?1"
                       " AND r2.host_country IS NOT NULL), min(r.reported_at), max(r.reported_at)"
                       " FROM iwol_evidence e JOIN reports r ON r.id = e.report_id WHERE e.suggestion_id = ?1");
    sqlite3_bind_int64(q, 1, id);
    jw_key(&w, "evidence");
    jw_obj(&w);
    if (sqlite3_step(q) == SQLITE_ROW)
        jw_columns(&w, q, "i:reports i:baseline_media j:hosting_countries T:first_reported_at T:last_reported_at");
    db_done(q);
    struct sqlq sq;
    sqlq_init(&sq);
    sqlq_sql(&sq, "SELECT r.id, r.url, r.reported_at, r.host_country FROM iwol_evidence e JOIN reports r"
                  " ON r.id = e.report_id WHERE e.suggestion_id = ");
    sqlq_int(&sq, id);
    sqlq_sql(&sq, " AND ");
    scope_where(&c->scope, SCOPE_SEE, &sq);
    sqlq_sql(&sq, " ORDER BY r.id");
    q = sqlq_prepare(&sq, c->db);
    sqlq_free(&sq);
    jw_key(&w, "visible");
    jw_arr(&w);
    while (q && sqlite3_step(q) == SQLITE_ROW) {
        jw_obj(&w);
        jw_columns(&w, q, "i:id t:url T:reported_at t:host_country");
        jw_obj_end(&w);
    }
    db_done(q);
    jw_arr_end(&w);
    jw_obj_end(&w);
    q = db_prep(c->db, "SELECT at, actor, org_name, action, from_status, to_status, reason FROM iwol_events"
                       " WHERE suggestion_id = ? ORDER BY id");
    sqlite3_bind_int64(q, 1, id);
    jw_key(&w, "events");
    jw_arr(&w);
    while (sqlite3_step(q) == SQLITE_ROW) {
        jw_obj(&w);
        jw_columns(&w, q, "T:at t:actor t:org t:action t:from t:to t:reason");
        jw_obj_end(&w);
    }
    db_done(q);
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    /* It lists evidence report URLs: a view like a report's. */
    if (strcmp(c->method, "GET") == 0)
        ctx_audit_read(c, "iwol.view", "iwol:%lld", (long long)id);
    return CP_OK;
}

/* Begin a step: transaction open and suggestion {id} loaded (visible). */
static int step_begin(struct ctx *c, struct sug *s)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    int st = db_begin(c->db);
    if (st != CP_OK)
        return st;
    if ((st = sug_load(c, id, s)) != CP_OK)
        db_rollback(c->db);
    return st;
}

/* End a step: commit, or roll back on failure; answer with the suggestion. */
static int step_end(struct ctx *c, int st)
{
    if (st != CP_OK || (st = db_commit(c->db)) != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    return h_iwol_get(c);
}

/* A 409 with a reason. */
static int conflict(struct ctx *c, const char *fmt, const char *arg)
{
    snprintf(c->err, sizeof c->err, fmt, arg);
    return CP_CONFLICT;
}

/* POST /api/v1/iwol/{id}/verifications {verdict, note?}: another LEA or a
 * hotline that sees the domain in its own scope confirms or disputes. */
int h_iwol_verify(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"verdict", "note", NULL};
    static const char *const verdicts[] = {"confirm", "dispute", NULL};
    const char *verdict, *note;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "verdict", 16, 0, &verdict)) == CP_OK && !util_in_list(verdict, verdicts))
        st = ctx_bad(c, "verdict", "verdict must be confirm or dispute");
    if (st == CP_OK)
        st = ctx_str(c, b, "note", 2000, FIELD_OPTIONAL | FIELD_MULTILINE, &note);
    if (st == CP_OK && strcmp(verdict, "dispute") == 0 && !note)
        st = ctx_bad(c, "note", "a dispute needs a note saying why");
    struct sug s;
    if (st == CP_OK && (st = step_begin(c, &s)) == CP_OK) {
        if (!domain_in_scope(c, s.domain))
            st = CP_NOTFOUND; /* no evidence of its own: as if it were not there */
        else if (s.org_id == c->who.org_id)
            st = conflict(c, "%s", "the suggesting organisation counts as one country already");
        else if (strcmp(s.status, "open") != 0 && strcmp(s.status, "submitted") != 0)
            st = conflict(c, "the suggestion is %s: verifications are closed", s.status);
        else if ((st = put_verdict(c, s.id, verdict, note)) == CP_OK)
            st = sug_event(c, &s, verdict, NULL, note);
        st = step_end(c, st);
    }
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/iwol/{id}/reply {note}: the suggester answers open disputes. */
int h_iwol_reply(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"note", NULL};
    const char *note;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK)
        st = ctx_str(c, b, "note", 2000, FIELD_MULTILINE, &note);
    struct sug s;
    if (st == CP_OK && (st = step_begin(c, &s)) == CP_OK) {
        if (s.org_id != c->who.org_id) {
            snprintf(c->err, sizeof c->err, "only the suggesting organisation answers disputes");
            st = CP_DENIED;
        } else if (strcmp(s.status, "open") != 0 && strcmp(s.status, "submitted") != 0) {
            st = conflict(c, "the suggestion is %s: disputes are closed", s.status);
        } else if (open_disputes(c, s.id) <= 0) {
            st = conflict(c, "%s", "there is no open dispute to answer");
        } else {
            sqlite3_stmt *q = db_prep(c->db, "UPDATE iwol_verifications SET replied_at = ? WHERE suggestion_id = ?"
                                             " AND verdict = 'dispute' AND replied_at IS NULL");
            sqlite3_bind_int64(q, 1, util_now());
            sqlite3_bind_int64(q, 2, s.id);
            int rc = sqlite3_step(q);
            db_done(q);
            st = rc == SQLITE_DONE ? sug_event(c, &s, "reply", NULL, note) : db_err(rc);
        }
        st = step_end(c, st);
    }
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/iwol/{id}/submit: to INTERPOL, once two countries confirm and
 * no dispute is left unanswered. */
int h_iwol_submit(struct ctx *c)
{
    struct sug s;
    int st = step_begin(c, &s);
    if (st != CP_OK)
        return st;
    char cc[256];
    int n = 0;
    if (s.org_id != c->who.org_id) {
        snprintf(c->err, sizeof c->err, "only the suggesting organisation submits");
        st = CP_DENIED;
    } else if (strcmp(s.status, "open") != 0) {
        st = conflict(c, "the suggestion is %s, not open", s.status);
    } else if ((st = countries(c, s.id, s.country, cc, sizeof cc, &n)) == CP_OK && n < 2) {
        st = conflict(c, "at least two countries must confirm (so far: %s)", cc);
    } else if (st == CP_OK && open_disputes(c, s.id) > 0) {
        st = conflict(c, "%s", "a dispute is still unanswered: reply to it first");
    } else if (st == CP_OK) {
        st = sug_move(c, &s, "submit", "submitted", NULL);
    }
    return step_end(c, st);
}

/* POST /api/v1/iwol/{id}/decision {decision, reason}: INTERPOL accepts or
 * rejects a submitted suggestion, or delists an accepted domain. */
int h_iwol_decide(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"decision", "reason", NULL};
    static const char *const decisions[] = {"accept", "reject", "delist", NULL};
    const char *decision, *reason;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "decision", 16, 0, &decision)) == CP_OK &&
        !util_in_list(decision, decisions))
        st = ctx_bad(c, "decision", "decision must be accept, reject or delist");
    if (st == CP_OK)
        st = ctx_str(c, b, "reason", 2000, FIELD_MULTILINE, &reason);
    struct sug s;
    if (st == CP_OK && (st = step_begin(c, &s)) == CP_OK) {
        const char *need = strcmp(decision, "delist") == 0 ? "accepted" : "submitted";
        const char *to = strcmp(decision, "accept") == 0 ? "accepted" : strcmp(decision, "reject") == 0 ? "rejected"
                                                                                                      : "delisted";
        if (strcmp(s.status, need) != 0) {
            snprintf(c->err, sizeof c->err, "the suggestion is %s; %s needs it %s", s.status, decision, need);
            st = CP_CONFLICT;
        } else if (strcmp(decision, "accept") == 0 && open_disputes(c, s.id) > 0) {
            st = conflict(c, "%s", "a dispute filed since submission is unanswered: the suggester must reply first");
        } else {
            st = sug_move(c, &s, decision, to, reason);
        }
        st = step_end(c, st);
    }
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/iwol/{id}/delisting {reason}: anyone who sees an accepted
 * domain tells INTERPOL its material is gone (INTERPOL then delists). */
int h_iwol_delisting(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"reason", NULL};
    const char *reason;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK)
        st = ctx_str(c, b, "reason", 2000, FIELD_MULTILINE, &reason);
    struct sug s;
    if (st == CP_OK && (st = step_begin(c, &s)) == CP_OK) {
        sqlite3_stmt *a = db_prep(c->db, "SELECT delisting_requested FROM iwol_suggestions WHERE id = ?");
        sqlite3_bind_int64(a, 1, s.id);
        int asked = a && sqlite3_step(a) == SQLITE_ROW && sqlite3_column_int(a, 0);
        db_done(a);
        if (strcmp(s.status, "accepted") != 0) {
            st = conflict(c, "only a listed (accepted) domain can be proposed for delisting; this one is %s", s.status);
        } else if (asked) {
            st = conflict(c, "%s", "delisting has been asked for already; INTERPOL decides");
        } else {
            sqlite3_stmt *q = db_prep(c->db, "UPDATE iwol_suggestions SET delisting_requested = 1, updated_at = ?"
                                             " WHERE id = ?");
            sqlite3_bind_int64(q, 1, util_now());
            sqlite3_bind_int64(q, 2, s.id);
            int rc = sqlite3_step(q);
            db_done(q);
            st = rc == SQLITE_DONE ? sug_event(c, &s, "delisting_request", NULL, reason) : db_err(rc);
        }
        st = step_end(c, st);
    }
    cJSON_Delete(b);
    return st;
}

/* GET /api/v1/iwol/export?format=csv|text: the accepted list (the IWOL). */
int h_iwol_export(struct ctx *c)
{
    static const char *const params[] = {"format", NULL};
    if (ctx_check_params(c, params) != CP_OK)
        return CP_BAD;
    const char *f = ctx_qparam(c, "format");
    int csv = !f || !*f || strcmp(f, "csv") == 0;
    if (!csv && strcmp(f, "text") != 0)
        return ctx_bad(c, "format", "format must be csv or text");
    sqlite3_stmt *q = db_prep(c->db, "SELECT s.domain, (SELECT max(at) FROM iwol_events e WHERE e.suggestion_id = s.id"
                                     " AND e.action = 'accept'), s.country FROM iwol_suggestions s"
                                     " WHERE s.status = 'accepted' ORDER BY s.domain");
    if (!q)
        return CP_ERR;
    buf_reset(&c->out);
    if (csv)
        buf_adds(&c->out, "domain,listed_at,suggested_by\n");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        /* Domains are normalised (LDH and punycode), so they need no quoting. */
        if (csv) {
            char ts[32];
            util_format_time(sqlite3_column_int64(q, 1), ts);
            buf_printf(&c->out, "%s,%s,%s\n", db_text(q, 0), ts, db_text(q, 2));
        } else {
            buf_printf(&c->out, "%s\n", db_text(q, 0));
        }
    }
    db_done(q);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    ctx_header(c, "Content-Disposition", csv ? "attachment; filename=\"iwol.csv\"" : "attachment; filename=\"iwol.txt\"");
    c->audit_after = "iwol.export";
    c->status = 200;
    c->ctype = csv ? "text/csv; charset=utf-8" : "text/plain; charset=utf-8";
    return CP_OK;
}
