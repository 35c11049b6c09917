/*
 * api_access - the access procedure (DOMAIN.md) and enrolment links.
 *
 * An LEA asks on the public form; the operator holds a demo; the national
 * hotline approves and sets the agreement's scope; INTERPOL endorses; the
 * operator activates, which creates the LEA organisation, its agreement and its
 * first org_admin, who gets a one-time enrolment link. Any step before active
 * may reject with a reason. Each step is one transaction with its audit entry
 * and a row in access_request_steps (what the request's page shows).
 *
 * Who sees a request: operators and INTERPOL all of them, a hotline those of its
 * own country (request_visible, the one rule). Anything else is 404.
 */
#include "enrol.h"
#include "handlers.h"
#include "orgs.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A request as the steps need it. */
struct areq {
    int64_t id;
    char status[24], agency[256], country[3], officer[256], email[256];
    char hotline[64], jurisdiction[400];
    int media_metadata, media_content, include_reported_from;
    int has_from, has_to;
    int64_t valid_from, valid_to;
};

/* The country a caller is limited to (a hotline's own), or NULL for all. */
static const char *request_visible(const struct ctx *c)
{
    return strcmp(c->who.org_kind, "hotline") == 0 ? c->who.org_country : NULL;
}

/* Load request {id} if the caller may see it: CP_OK, CP_NOTFOUND. */
static int request_load(struct ctx *c, int64_t id, struct areq *r)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, status, agency, country, officer, email, coalesce(hotline_code,''),"
                                      " coalesce(jurisdiction,'[]'), coalesce(media_metadata,0),"
                                      " coalesce(media_content,0), coalesce(include_reported_from,0),"
                                      " valid_from, valid_to FROM access_requests"
                                      " WHERE id = ?1 AND (?2 IS NULL OR country = ?2)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, request_visible(c));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        snprintf(r->status, sizeof r->status, "%s", db_text(st, 1));
        snprintf(r->agency, sizeof r->agency, "%s", db_text(st, 2));
        snprintf(r->country, sizeof r->country, "%s", db_text(st, 3));
        snprintf(r->officer, sizeof r->officer, "%s", db_text(st, 4));
        snprintf(r->email, sizeof r->email, "%s", db_text(st, 5));
        snprintf(r->hotline, sizeof r->hotline, "%s", db_text(st, 6));
        snprintf(r->jurisdiction, sizeof r->jurisdiction, "%s", db_text(st, 7));
        r->media_metadata = sqlite3_column_int(st, 8);
        r->media_content = sqlite3_column_int(st, 9);
        r->include_reported_from = sqlite3_column_int(st, 10);
        r->has_from = sqlite3_column_type(st, 11) != SQLITE_NULL;
        r->valid_from = sqlite3_column_int64(st, 11);
        r->has_to = sqlite3_column_type(st, 12) != SQLITE_NULL;
        r->valid_to = sqlite3_column_int64(st, 12);
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* Move r from its status to `to` inside the open transaction: the row, a step
 * and the audit entry (detail consumed; from, to and note are added). */
static int request_advance(struct ctx *c, struct areq *r, const char *to, const char *note, cJSON *detail)
{
    int64_t now = util_now();
    sqlite3_stmt *st = db_prep(c->db, "UPDATE access_requests SET status = ?, updated_at = ?, reason = coalesce(?, reason)"
                                      " WHERE id = ? AND status = ?");
    if (!st) {
        cJSON_Delete(detail);
        return CP_ERR;
    }
    db_bind_text(st, 1, to);
    sqlite3_bind_int64(st, 2, now);
    db_bind_text(st, 3, strcmp(to, "rejected") == 0 ? note : NULL);
    sqlite3_bind_int64(st, 4, r->id);
    db_bind_text(st, 5, r->status);
    int rc = sqlite3_step(st);
    int n = sqlite3_changes(c->db->h);
    db_done(st);
    if (rc != SQLITE_DONE || !n) {
        cJSON_Delete(detail);
        return rc != SQLITE_DONE ? db_err(rc) : CP_CONFLICT;
    }
    st = db_prep(c->db, "INSERT INTO access_request_steps(request_id, at, from_status, to_status, user_id, actor,"
                        " org_name, note) VALUES (?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_int64(st, 2, now);
    db_bind_text(st, 3, r->status);
    db_bind_text(st, 4, to);
    sqlite3_bind_int64(st, 5, c->who.user_id);
    db_bind_text(st, 6, c->who.email);
    db_bind_text(st, 7, c->who.org_name);
    db_bind_text(st, 8, note);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(detail);
        return db_err(rc);
    }
    if (!detail)
        detail = cJSON_CreateObject();
    cJSON_AddStringToObject(detail, "from", r->status);
    cJSON_AddStringToObject(detail, "to", to);
    if (note)
        cJSON_AddStringToObject(detail, "note", note);
    char action[48];
    snprintf(action, sizeof action, "access_request.%s", to);
    snprintf(r->status, sizeof r->status, "%s", to);
    return ctx_audit_json(c, action, "access_request", r->id, detail);
}

/* Write one request as JSON (the page's whole story: fields, approval, steps). */
static int request_write(struct ctx *c, int64_t id, int status)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, status, agency, country, officer, email, phone, justification,"
                                      " created_at, updated_at, hotline_code, jurisdiction, media_metadata,"
                                      " media_content, include_reported_from, valid_from, valid_to, reason, org_id,"
                                      " user_id, ip FROM access_requests WHERE id = ?1 AND (?2 IS NULL OR country = ?2)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    db_bind_text(st, 2, request_visible(c));
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    struct jw w;
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_col_int(&w, "id", st, 0);
    jw_col_text(&w, "status", st, 1);
    jw_col_text(&w, "agency", st, 2);
    jw_col_text(&w, "country", st, 3);
    jw_col_text(&w, "officer", st, 4);
    jw_col_text(&w, "email", st, 5);
    jw_col_text(&w, "phone", st, 6);
    jw_col_text(&w, "justification", st, 7);
    jw_col_time(&w, "created_at", st, 8);
    jw_col_time(&w, "updated_at", st, 9);
    jw_key(&w, "approval");
    if (sqlite3_column_type(st, 10) == SQLITE_NULL) {
        jw_null(&w);
    } else {
        jw_obj(&w);
        jw_col_text(&w, "hotline_code", st, 10);
        jw_key(&w, "jurisdiction");
        jw_raw(&w, db_text(st, 11)); /* validated JSON array written by the approval */
        jw_col_bool(&w, "media_metadata", st, 12);
        jw_col_bool(&w, "media_content", st, 13);
        jw_col_bool(&w, "include_reported_from", st, 14);
        jw_col_time(&w, "valid_from", st, 15);
        jw_col_time(&w, "valid_to", st, 16);
        jw_obj_end(&w);
    }
    jw_col_text(&w, "reason", st, 17);
    jw_col_int(&w, "org_id", st, 18);
    jw_col_int(&w, "user_id", st, 19);
    /* Where the public form came from matters to the operator only. */
    if (strcmp(c->who.org_kind, "operator") == 0)
        jw_col_text(&w, "ip", st, 20);
    db_done(st);
    jw_key(&w, "steps");
    jw_arr(&w);
    st = db_prep(c->db, "SELECT at, from_status, to_status, actor, org_name, note FROM access_request_steps"
                        " WHERE request_id = ? ORDER BY id");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jw_obj(&w);
        jw_col_time(&w, "at", st, 0);
        jw_col_text(&w, "from", st, 1);
        jw_col_text(&w, "to", st, 2);
        jw_col_text(&w, "actor", st, 3);
        jw_col_text(&w, "org", st, 4);
        jw_col_text(&w, "note", st, 5);
        jw_obj_end(&w);
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = status;
    c->ctype = "application/json";
    return CP_OK;
}

/* How many digits a text holds (a phone number needs a few). */
static size_t digits(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s >= '0' && *s <= '9';
    return n;
}

static const char *const CREATE_FIELDS[] = {"agency", "country", "officer", "email", "phone", "justification", NULL};

/* POST /api/v1/access-requests: the public form. No sign-in; a few requests
 * per address per hour; every field validated. */
int h_access_request_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *agency, *country, *officer, *email, *phone, *just;
    int st = ctx_known_fields(c, b, CREATE_FIELDS);
    if (st == CP_OK)
        st = ctx_str(c, b, "agency", 200, 0, &agency);
    if (st == CP_OK && (st = ctx_str(c, b, "country", 2, 0, &country)) == CP_OK && !util_is_country(country))
        st = ctx_bad(c, "country", "country must be an ISO 3166-1 alpha-2 code such as NL");
    if (st == CP_OK)
        st = ctx_str(c, b, "officer", 200, 0, &officer);
    if (st == CP_OK && (st = ctx_str(c, b, "email", 254, 0, &email)) == CP_OK && !orgs_valid_email(email))
        st = ctx_bad(c, "email", "email must be an email address");
    if (st == CP_OK && (st = ctx_str(c, b, "phone", 40, 0, &phone)) == CP_OK &&
        (strspn(phone, "0123456789+()-./ ") != strlen(phone) || digits(phone) < 5))
        st = ctx_bad(c, "phone", "phone must be a telephone number such as +31 70 000 0000");
    if (st == CP_OK && (st = ctx_str(c, b, "justification", 4000, FIELD_MULTILINE, &just)) == CP_OK &&
        strlen(just) < 20)
        st = ctx_bad(c, "justification", "justification must say in at least 20 characters why the agency needs access");
    if (st != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    int64_t now = util_now();
    if ((st = db_begin(c->db)) != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    /* The per-address limit is counted inside the write lock, so racing
     * requests can't both slip under it. */
    sqlite3_stmt *q = db_prep(c->db, "SELECT count(*) FROM access_requests WHERE ip = ? AND created_at > ?");
    db_bind_text(q, 1, c->remote_addr ? c->remote_addr : "");
    sqlite3_bind_int64(q, 2, now - 3600);
    int rc = sqlite3_step(q);
    int64_t recent = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    db_done(q);
    if (rc == SQLITE_ROW && recent >= c->cfg->access_request_ip_limit) {
        db_rollback(c->db);
        cJSON_Delete(b);
        snprintf(c->err, sizeof c->err, "too many access requests from this address; try again in an hour");
        return CP_LIMITED;
    }
    q = db_prep(c->db, "INSERT INTO access_requests(agency, country, officer, email, phone, justification, ip,"
                       " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)");
    db_bind_text(q, 1, agency);
    db_bind_text(q, 2, country);
    db_bind_text(q, 3, officer);
    db_bind_text(q, 4, email);
    db_bind_text(q, 5, phone);
    db_bind_text(q, 6, just);
    db_bind_text(q, 7, c->remote_addr);
    sqlite3_bind_int64(q, 8, now);
    sqlite3_bind_int64(q, 9, now);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(q);
    db_done(q);
    int64_t id = sqlite3_last_insert_rowid(c->db->h);
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "agency", agency);
    cJSON_AddStringToObject(dt, "country", country);
    cJSON_AddStringToObject(dt, "email", email);
    cJSON_Delete(b);
    st = rc == SQLITE_DONE ? ctx_audit_json(c, "access_request.requested", "access_request", id, dt) : db_err(rc);
    if (rc != SQLITE_DONE)
        cJSON_Delete(dt);
    if (st != CP_OK || (st = db_commit(c->db)) != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "status", "requested");
    return ctx_json(c, 201, j);
}

static const char *const STATUSES[] = {"requested", "demo_held", "hotline_approved", "interpol_endorsed",
                                       "active", "rejected", NULL};
static const char *const LIST_PARAMS[] = {"status", NULL};

/* GET /api/v1/access-requests?status=: the requests the caller sees, newest
 * first (at most 500; the queue is small). */
int h_access_requests_list(struct ctx *c)
{
    if (ctx_check_params(c, LIST_PARAMS) != CP_OK)
        return CP_BAD;
    const char *status = ctx_qparam(c, "status");
    if (status && *status && !util_in_list(status, STATUSES))
        return ctx_bad(c, "status", "status must be one of requested, demo_held, hotline_approved, "
                                    "interpol_endorsed, active, rejected");
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, status, agency, country, officer, email, created_at, updated_at"
                                      " FROM access_requests WHERE (?1 IS NULL OR country = ?1)"
                                      " AND (?2 IS NULL OR status = ?2) ORDER BY id DESC LIMIT 500");
    if (st) {
        db_bind_text(st, 1, request_visible(c));
        db_bind_text(st, 2, status && *status ? status : NULL);
    }
    return ctx_table(c, st, "items", "i:id t:status t:agency t:country t:officer t:email T:created_at T:updated_at");
}

/* GET /api/v1/access-requests/{id}. */
int h_access_request_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    return id ? request_write(c, id, 200) : CP_NOTFOUND;
}

/* Begin a step on request {id}: transaction open, request loaded and in
 * status `from`. Anything else ends the transaction and says why. */
static int step_begin(struct ctx *c, const char *from, struct areq *r)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    int st = db_begin(c->db);
    if (st != CP_OK)
        return st;
    if ((st = request_load(c, id, r)) == CP_OK && from && strcmp(r->status, from) != 0) {
        snprintf(c->err, sizeof c->err, "this request is %s; that step needs it %s", r->status, from);
        st = CP_CONFLICT;
    }
    if (st != CP_OK)
        db_rollback(c->db);
    return st;
}

/* End a step: commit and answer with the request as it now stands. */
static int step_end(struct ctx *c, int st, int64_t id)
{
    if (st != CP_OK || (st = db_commit(c->db)) != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    return request_write(c, id, 200);
}

/* The optional note of a step's body (at most 2000 bytes). */
static int step_note(struct ctx *c, const cJSON *b, const char **note)
{
    *note = NULL;
    return b ? ctx_str(c, b, "note", 2000, FIELD_OPTIONAL | FIELD_MULTILINE, note) : CP_OK;
}

/* The body of a step, which may be empty: NULL when there is none. *st is
 * CP_BAD when a body was sent but is not a JSON object. */
static cJSON *step_body(struct ctx *c, int *st)
{
    *st = CP_OK;
    if (!c->body_len)
        return NULL;
    cJSON *b = ctx_json_body(c);
    if (!b)
        *st = CP_BAD;
    return b;
}

/* A step whose body is only an optional note: from -> to. */
static int note_step(struct ctx *c, const char *from, const char *to)
{
    int st;
    cJSON *b = step_body(c, &st);
    const char *note = NULL;
    static const char *const fields[] = {"note", NULL};
    if (st == CP_OK && b && (st = ctx_known_fields(c, b, fields)) == CP_OK)
        st = step_note(c, b, &note);
    struct areq r;
    if (st == CP_OK && (st = step_begin(c, from, &r)) == CP_OK)
        st = step_end(c, request_advance(c, &r, to, note, NULL), r.id);
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/access-requests/{id}/demo {note?}: the operator held the demo. */
int h_access_request_demo(struct ctx *c) { return note_step(c, "requested", "demo_held"); }

static const char *const APPROVE_FIELDS[] = {"jurisdiction", "media_metadata", "media_content", "include_reported_from",
                                             "valid_from", "valid_to", "note", NULL};

/* POST /api/v1/access-requests/{id}/approve {jurisdiction?, media_metadata?,
 * media_content?, include_reported_from?, valid_from?, valid_to?, note?}: the
 * country's hotline approves and fixes the agreement the activation will make
 * (jurisdiction defaults to the request's country; flags default off). */
int h_access_request_approve(struct ctx *c)
{
    int st;
    cJSON *b = step_body(c, &st);
    const char *note = NULL;
    struct orgs_terms t = {0};
    if (st == CP_OK && b && (st = ctx_known_fields(c, b, APPROVE_FIELDS)) == CP_OK)
        st = step_note(c, b, &note);
    if (st == CP_OK && b)
        st = api_terms_from_body(c, b, &t);
    struct areq r;
    if (st == CP_OK && (st = step_begin(c, "demo_held", &r)) == CP_OK) {
        if (!t.n)
            memcpy(t.countries[t.n++], r.country, 3);
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < t.n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(t.countries[i]));
        char *jtext = cJSON_PrintUnformatted(arr);
        sqlite3_stmt *q = db_prep(c->db, "UPDATE access_requests SET hotline_code = ?, jurisdiction = ?,"
                                         " media_metadata = ?, media_content = ?, include_reported_from = ?,"
                                         " valid_from = ?, valid_to = ? WHERE id = ?");
        db_bind_text(q, 1, c->who.org_code);
        db_bind_text(q, 2, jtext);
        sqlite3_bind_int(q, 3, t.media_metadata);
        sqlite3_bind_int(q, 4, t.media_content);
        sqlite3_bind_int(q, 5, t.include_reported_from);
        db_bind_opt_int(q, 6, t.has_from, t.valid_from);
        db_bind_opt_int(q, 7, t.has_to, t.valid_to);
        sqlite3_bind_int64(q, 8, r.id);
        int rc = sqlite3_step(q);
        db_done(q);
        free(jtext);
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddStringToObject(dt, "hotline_code", c->who.org_code);
        cJSON_AddItemToObject(dt, "jurisdiction", arr);
        cJSON_AddBoolToObject(dt, "media_metadata", t.media_metadata);
        cJSON_AddBoolToObject(dt, "media_content", t.media_content);
        cJSON_AddBoolToObject(dt, "include_reported_from", t.include_reported_from);
        if (rc != SQLITE_DONE) {
            cJSON_Delete(dt);
            st = db_err(rc);
        } else {
            st = request_advance(c, &r, "hotline_approved", note, dt);
        }
        st = step_end(c, st, r.id);
    }
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/access-requests/{id}/endorse {note?}: INTERPOL endorses. */
int h_access_request_endorse(struct ctx *c) { return note_step(c, "hotline_approved", "interpol_endorsed"); }

/* May the caller reject a request standing at this status? Whoever takes the
 * next step may, and the operator always may. */
static int may_reject(const struct ctx *c, const char *status)
{
    if (strcmp(c->who.org_kind, "operator") == 0)
        return 1;
    if (strcmp(status, "demo_held") == 0)
        return strcmp(c->who.org_kind, "hotline") == 0 && strcmp(c->who.role, "org_admin") == 0;
    if (strcmp(status, "hotline_approved") == 0)
        return strcmp(c->who.org_kind, "interpol") == 0 && strcmp(c->who.role, "viewer") != 0;
    return 0;
}

/* POST /api/v1/access-requests/{id}/reject {reason}: end the request. */
int h_access_request_reject(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *reason = NULL;
    static const char *const fields[] = {"reason", NULL};
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK)
        st = ctx_str(c, b, "reason", 2000, FIELD_MULTILINE, &reason);
    struct areq r;
    if (st == CP_OK && (st = step_begin(c, NULL, &r)) == CP_OK) {
        if (strcmp(r.status, "active") == 0 || strcmp(r.status, "rejected") == 0) {
            snprintf(c->err, sizeof c->err, "this request is %s already", r.status);
            st = CP_CONFLICT;
        } else if (!may_reject(c, r.status)) {
            snprintf(c->err, sizeof c->err, "at %s only the next step's organisation or the operator may reject",
                     r.status);
            st = CP_DENIED;
        } else {
            st = request_advance(c, &r, "rejected", reason, NULL);
        }
        st = step_end(c, st, r.id);
    }
    cJSON_Delete(b);
    return st;
}

/* Turn the terms the hotline approved (r) into orgs_terms. */
static int request_terms(const struct areq *r, struct orgs_terms *t)
{
    memset(t, 0, sizeof *t);
    t->media_metadata = r->media_metadata;
    t->media_content = r->media_content;
    t->include_reported_from = r->include_reported_from;
    t->has_from = r->has_from;
    t->valid_from = r->valid_from;
    t->has_to = r->has_to;
    t->valid_to = r->valid_to;
    cJSON *arr = cJSON_Parse(r->jurisdiction), *cc;
    cJSON_ArrayForEach(cc, arr)
    {
        if (cJSON_IsString(cc) && strlen(cc->valuestring) == 2 && t->n < 64)
            memcpy(t->countries[t->n++], cc->valuestring, 3);
    }
    cJSON_Delete(arr);
    return t->n ? CP_OK : CP_ERR;
}

/* Answer the enrolment part of an activation or invitation: mailed, or (when
 * no mail could be sent) the link itself for the admin to pass on. */
void api_enrolment_json(struct ctx *c, cJSON *j, const char *email, const char *token, int64_t expires_at,
                        const char *why)
{
    struct buf url;
    buf_init(&url);
    enrol_url(c->cfg, token, &url);
    int mailed = enrol_mail(c->cfg, email, url.p, expires_at, why) == CP_OK;
    char when[32];
    util_format_time(expires_at, when);
    cJSON *e = cJSON_AddObjectToObject(j, "enrolment");
    cJSON_AddBoolToObject(e, "mailed", mailed);
    cJSON_AddStringToObject(e, "expires_at", when);
    if (!mailed)
        cJSON_AddStringToObject(e, "url", url.p);
    buf_free(&url);
}

/* POST /api/v1/access-requests/{id}/activate {org_name?}: the operator
 * creates the LEA organisation (named after the agency unless org_name says
 * otherwise), the approved agreement and the first org_admin, and issues their
 * enrolment link; all in one transaction. The link is mailed when a mail
 * command is set, else returned once for the operator to pass on. */
int h_access_request_activate(struct ctx *c)
{
    int st;
    cJSON *b = step_body(c, &st);
    const char *org_name = NULL;
    static const char *const fields[] = {"org_name", NULL};
    if (st == CP_OK && b && (st = ctx_known_fields(c, b, fields)) == CP_OK)
        st = ctx_str(c, b, "org_name", 200, FIELD_OPTIONAL, &org_name);
    struct areq r;
    if (st != CP_OK || (st = step_begin(c, "interpol_endorsed", &r)) != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    const char *name = org_name ? org_name : r.agency;
    struct orgs_terms t;
    char err[256] = "", token[ENROL_TOKEN_LEN];
    int64_t org_id = 0, agreement_id = 0, user_id = 0, expires_at = 0;
    st = request_terms(&r, &t);
    if (st == CP_OK)
        st = orgs_insert_org(c->db, "lea", name, r.country, NULL, &org_id, err, sizeof err);
    if (st == CP_OK)
        st = orgs_insert_agreement(c->db, org_id, r.hotline, &t, &agreement_id, err, sizeof err);
    if (st == CP_OK)
        st = orgs_insert_user(c->db, org_id, r.email, "org_admin", r.officer, NULL, &user_id, err, sizeof err);
    if (st == CP_BAD || st == CP_CONFLICT) {
        snprintf(c->err, sizeof c->err, "%s", err);
        st = CP_CONFLICT;
    }
    struct audit_entry by = ctx_actor(c);
    if (st == CP_OK)
        st = enrol_issue(c->db, c->cfg, &by, user_id, "activation", token, &expires_at);
    if (st == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddStringToObject(dt, "kind", "lea");
        cJSON_AddStringToObject(dt, "name", name);
        cJSON_AddStringToObject(dt, "country", r.country);
        st = ctx_audit_json(c, "org.add", "org", org_id, dt);
    }
    if (st == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddNumberToObject(dt, "lea_org_id", (double)org_id);
        cJSON_AddStringToObject(dt, "hotline", r.hotline);
        cJSON_AddItemToObject(dt, "jurisdiction", cJSON_Parse(r.jurisdiction));
        st = ctx_audit_json(c, "agreement.add", "agreement", agreement_id, dt);
    }
    if (st == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddStringToObject(dt, "email", r.email);
        cJSON_AddStringToObject(dt, "role", "org_admin");
        cJSON_AddNumberToObject(dt, "org_id", (double)org_id);
        st = ctx_audit_json(c, "user.add", "user", user_id, dt);
    }
    if (st == CP_OK) {
        sqlite3_stmt *q = db_prep(c->db, "UPDATE access_requests SET org_id = ?, user_id = ? WHERE id = ?");
        sqlite3_bind_int64(q, 1, org_id);
        sqlite3_bind_int64(q, 2, user_id);
        sqlite3_bind_int64(q, 3, r.id);
        int rc = sqlite3_step(q);
        db_done(q);
        st = rc == SQLITE_DONE ? CP_OK : db_err(rc);
    }
    if (st == CP_OK) {
        cJSON *dt = cJSON_CreateObject();
        cJSON_AddNumberToObject(dt, "org_id", (double)org_id);
        cJSON_AddNumberToObject(dt, "user_id", (double)user_id);
        st = request_advance(c, &r, "active", NULL, dt);
    }
    if (st == CP_OK)
        st = db_bump(c->db, "access");
    cJSON_Delete(b);
    if (st != CP_OK || (st = db_commit(c->db)) != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    /* Mail goes out after the commit: never another program inside a transaction. */
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)r.id);
    cJSON_AddStringToObject(j, "status", "active");
    cJSON_AddNumberToObject(j, "org_id", (double)org_id);
    cJSON_AddNumberToObject(j, "agreement_id", (double)agreement_id);
    cJSON_AddNumberToObject(j, "user_id", (double)user_id);
    api_enrolment_json(c, j, r.email, token, expires_at,
                       "Your agency's access to cport has been approved; you are its first administrator.");
    sodium_memzero(token, sizeof token);
    return ctx_json(c, 200, j);
}

/* Read the {token} member of an enrolment body. */
static int token_field(struct ctx *c, const cJSON *b, const char **token)
{
    return ctx_str(c, b, "token", ENROL_TOKEN_LEN - 1, 0, token);
}

/* Map an enrolment link's state to an answer (404 unknown, 410 spent). */
static int link_problem(struct ctx *c, int st)
{
    if (st == CP_NOTFOUND)
        return ctx_problem(c, 404, "enrolment-link-unknown", "Unknown enrolment link",
                           "this link is not valid (a newer one may have replaced it); ask your administrator");
    if (st == CP_GONE)
        return ctx_problem(c, 410, "enrolment-link-spent", "Enrolment link expired or used",
                           "this link has expired or was already used; ask your administrator for a new one");
    return st;
}

/* POST /api/v1/enrolment/lookup {token}: who a link is for, without using it
 * (the enrolment page greets the person and shows the expiry). */
int h_enrolment_lookup(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *token;
    static const char *const fields[] = {"token", NULL};
    int st = ctx_known_fields(c, b, fields);
    struct enrol_info info;
    if (st == CP_OK && (st = token_field(c, b, &token)) == CP_OK) {
        st = enrol_lookup(c->db, token, &info);
        if (st == CP_OK) {
            char when[32];
            util_format_time(info.expires_at, when);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "email", info.email);
            cJSON_AddStringToObject(j, "name", info.name);
            cJSON_AddStringToObject(j, "org", info.org);
            cJSON_AddStringToObject(j, "purpose", info.purpose);
            cJSON_AddStringToObject(j, "expires_at", when);
            st = ctx_json(c, 200, j);
        } else {
            st = link_problem(c, st);
        }
    }
    cJSON_Delete(b);
    return st;
}

/* POST /api/v1/enrolment {token, password}: use the link to set a password;
 * answers like a sign-in (cookie and /me body), and the new session's next
 * step is TOTP enrolment where MFA is required. */
int h_enrolment_complete(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *token;
    static const char *const fields[] = {"token", "password", NULL};
    const cJSON *pw = cJSON_GetObjectItemCaseSensitive(b, "password");
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK)
        st = token_field(c, b, &token);
    if (st == CP_OK && (!cJSON_IsString(pw) || strlen(pw->valuestring) > 1024))
        st = ctx_bad(c, "password", "password must be a string of 12 to 1024 characters");
    struct enrol_info info;
    char err[256];
    if (st == CP_OK) {
        st = enrol_complete(c->db, c->cfg, token, pw->valuestring, c->remote_addr, c->request_id, &info, err,
                            sizeof err);
        if (st == CP_BAD || st == CP_NOTFOUND || st == CP_GONE) {
            cJSON_Delete(b);
            return st == CP_BAD ? ctx_bad(c, "password", "%s", err) : link_problem(c, st);
        }
    }
    if (st == CP_OK) {
        char session[AUTH_TOKEN_LEN];
        st = auth_login(c->db, c->cfg, info.email, pw->valuestring, NULL, c->remote_addr, c->user_agent,
                        c->request_id, session, &c->who);
        st = st == CP_OK ? api_session_opened(c, session) : st == CP_DENIED || st == CP_LIMITED ? CP_BUSY : st;
    }
    cJSON_Delete(b);
    return st;
}
