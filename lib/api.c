/*
 * api - request context, dispatch with per-route roles, responses.
 */
#include "api.h"
#include "audit.h"
#include "log.h"
#include "mfa.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctx_mem {
    struct ctx_mem *next;
    char data[];
};

/* Allocate request memory (zeroed). */
void *ctx_alloc(struct ctx *c, size_t n)
{
    struct ctx_mem *m = calloc(1, sizeof *m + n);
    if (!m)
        abort();
    m->next = c->mem;
    c->mem = m;
    return m->data;
}

/* Copy a string into request memory. */
char *ctx_strdup(struct ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *p = ctx_alloc(c, n + 1);
    memcpy(p, s, n);
    return p;
}

/* Percent-decode (and '+' to space) into out; -1 on a bad escape or a NUL byte. */
static int url_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return -1;
            if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
                return -1;
            char hex[3] = {s[i + 1], s[i + 2], 0};
            int v = (int)strtol(hex, NULL, 16);
            if (v == 0)
                return -1;
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return 0;
}

/* Split the query string into decoded pairs; -1 when malformed or too many. */
static int parse_query(struct ctx *c)
{
    const char *p = c->query ? c->query : "";
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            if (c->nq == API_MAX_QPARAMS)
                return -1;
            const char *eq = memchr(p, '=', len);
            size_t klen = eq ? (size_t)(eq - p) : len;
            char *k = ctx_alloc(c, klen + 1), *v = ctx_alloc(c, len - klen + 1);
            if (url_decode(p, klen, k) || (eq && url_decode(eq + 1, len - klen - 1, v)))
                return -1;
            c->q[c->nq].k = k;
            c->q[c->nq].v = v;
            c->nq++;
        }
        p += len + (amp ? 1 : 0);
    }
    return 0;
}

/* One more parameter, copied. */
int ctx_add_param(struct ctx *c, const char *name, const char *value)
{
    if (c->nq == API_MAX_QPARAMS)
        return CP_BAD;
    c->q[c->nq].k = ctx_strdup(c, name);
    c->q[c->nq].v = ctx_strdup(c, value);
    if (!c->q[c->nq].k || !c->q[c->nq].v)
        return CP_ERR;
    c->nq++;
    return CP_OK;
}

/* Reset the context for a new request. */
void ctx_begin(struct ctx *c, struct db *d, const struct config *cfg)
{
    memset(c, 0, sizeof *c);
    c->db = d;
    c->cfg = cfg;
    c->status = 200;
    buf_init(&c->headers);
    buf_init(&c->out);
}

/* Free everything the request allocated, in one place. */
void ctx_end(struct ctx *c)
{
    while (c->mem) {
        struct ctx_mem *n = c->mem->next;
        free(c->mem);
        c->mem = n;
    }
    buf_free(&c->headers);
    buf_free(&c->out);
    if (c->db)
        db_reset_all(c->db);
}

/* The value of a query parameter, or NULL when absent. */
const char *ctx_qparam(struct ctx *c, const char *name)
{
    for (int i = 0; i < c->nq; i++)
        if (strcmp(c->q[i].k, name) == 0)
            return c->q[i].v;
    return NULL;
}

/* Refuse unknown and repeated parameters: a typo must not silently widen a search. */
int ctx_check_params(struct ctx *c, const char *const *allowed)
{
    for (int i = 0; i < c->nq; i++) {
        if (!util_in_list(c->q[i].k, allowed)) {
            char k[40];
            snprintf(k, sizeof k, "%s", util_is_clean_text(c->q[i].k, 39) && *c->q[i].k ? c->q[i].k : "?");
            return ctx_bad(c, k, "unknown parameter '%s'", k);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(c->q[i].k, c->q[j].k) == 0)
                return ctx_bad(c, c->q[i].k, "parameter '%s' given twice; use a comma-separated list", c->q[i].k);
    }
    return CP_OK;
}

/* Add a response header. */
void ctx_header(struct ctx *c, const char *name, const char *value)
{
    buf_printf(&c->headers, "%s: %s\r\n", name, value);
}

/* Serialise j as the response body. */
int ctx_json(struct ctx *c, int status, cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        abort();
    c->status = status;
    c->ctype = "application/json";
    buf_reset(&c->out);
    buf_adds(&c->out, s);
    free(s);
    return CP_OK;
}

/* An RFC 9457 problem response. */
int ctx_problem(struct ctx *c, int status, const char *slug, const char *title, const char *detail)
{
    cJSON *j = cJSON_CreateObject();
    char type[128];
    snprintf(type, sizeof type, "urn:cport:problem:%s", slug);
    cJSON_AddStringToObject(j, "type", type);
    cJSON_AddStringToObject(j, "title", title);
    cJSON_AddNumberToObject(j, "status", status);
    cJSON_AddStringToObject(j, "detail", detail ? detail : title);
    if (c->field[0])
        cJSON_AddStringToObject(j, "field", c->field);
    if (c->request_id && *c->request_id)
        cJSON_AddStringToObject(j, "request_id", c->request_id);
    ctx_json(c, status, j);
    c->ctype = "application/problem+json";
    return CP_OK;
}

/* 400 for one field. */
int ctx_bad(struct ctx *c, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    snprintf(c->field, sizeof c->field, "%s", field ? field : "");
    ctx_problem(c, 400, "invalid-parameter", "Invalid parameter", c->err);
    return CP_BAD;
}

/* Parse a JSON object body. */
cJSON *ctx_json_body(struct ctx *c)
{
    if (!c->content_type || strncasecmp(c->content_type, "application/json", 16) != 0) {
        ctx_problem(c, 415, "unsupported-media-type", "Unsupported media type", "send the body as application/json");
        return NULL;
    }
    if (c->body_len > (size_t)c->cfg->max_body) {
        ctx_problem(c, 413, "body-too-large", "Request body too large", "the body exceeds the size limit");
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength(c->body ? c->body : "", c->body_len);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        ctx_bad(c, "body", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A list answer written row by row, so every list handler is its SELECT and the
 * members of one item. */
/* The list loop behind ctx_rows and ctx_table: a row function or a spec. */
static int rows_write(struct ctx *c, sqlite3_stmt *st, const char *key,
                      void (*row)(struct ctx *c, struct jw *w, sqlite3_stmt *st), const char *spec)
{
    if (!st)
        return CP_ERR;
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, key);
    jw_arr(&w);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jw_obj(&w);
        if (row)
            row(c, &w, st);
        else
            jw_columns(&w, st, spec);
        jw_obj_end(&w);
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}

/* A list answer with one object a row, written by row. */
int ctx_rows(struct ctx *c, sqlite3_stmt *st, const char *key,
             void (*row)(struct ctx *c, struct jw *w, sqlite3_stmt *st))
{
    return rows_write(c, st, key, row, NULL);
}

/* A list answer with one object a row, written by a column spec. */
int ctx_table(struct ctx *c, sqlite3_stmt *st, const char *key, const char *spec)
{
    return rows_write(c, st, key, NULL, spec);
}

/* One row as the answer. */
int ctx_row(struct ctx *c, sqlite3_stmt *st, const char *spec, int status)
{
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_columns(&w, st, spec);
    jw_obj_end(&w);
    db_done(st);
    c->status = status;
    c->ctype = "application/json";
    return CP_OK;
}

/* One keyset page of rows. */
int ctx_keyset_page(struct ctx *c, sqlite3_stmt *st, long limit, const char *spec)
{
    if (!st)
        return CP_ERR;
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    long n = 0;
    int64_t last = 0;
    int rc, more = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        last = sqlite3_column_int64(st, 0);
        jw_obj(&w);
        jw_columns(&w, st, spec);
        jw_obj_end(&w);
        n++;
    }
    db_done(st);
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
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}

/* An optional positive id query parameter. */
int ctx_qid(struct ctx *c, const char *name, int64_t *out)
{
    const char *v = ctx_qparam(c, name);
    *out = 0;
    if (!v || !*v)
        return CP_OK;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 1 || *v < '0' || *v > '9')
        return ctx_bad(c, name, "%s must be a positive whole number (an id)", name);
    *out = n;
    return CP_OK;
}

/* The caller, as an audit entry's actor. */
struct audit_entry ctx_actor(const struct ctx *c)
{
    struct audit_entry e = {.user_id = c->who.user_id, .org_id = c->who.org_id,
                            .actor = c->authed ? c->who.email : "anonymous", .ip = c->remote_addr,
                            .request_id = c->request_id};
    return e;
}

/* The {id} segment: digits only, no sign or spaces, positive. */
int64_t ctx_path_id(struct ctx *c)
{
    if (c->param[0] < '0' || c->param[0] > '9')
        return 0;
    char *end;
    long long id = strtoll(c->param, &end, 10);
    return *end || id <= 0 ? 0 : id;
}

/* Load the signed-in caller's scope. */
int ctx_scope(struct ctx *c) { return scope_load(c->db, &c->who, util_now(), &c->scope); }

/* A validated string member of a JSON body. */
int ctx_str(struct ctx *c, const cJSON *b, const char *name, size_t max, unsigned flags, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);
    *out = NULL;
    if ((!v || cJSON_IsNull(v)) && (flags & FIELD_OPTIONAL))
        return CP_OK;
    int ok = cJSON_IsString(v) && *v->valuestring &&
             ((flags & FIELD_MULTILINE) ? util_is_clean_block(v->valuestring, max)
                                        : util_is_clean_text(v->valuestring, max));
    if (!ok)
        return ctx_bad(c, name, "%s must be %s1 to %zu bytes of printable text%s", name,
                       (flags & FIELD_OPTIONAL) ? "null or " : "", max,
                       (flags & FIELD_MULTILINE) ? " (line breaks allowed)" : "");
    *out = v->valuestring;
    return CP_OK;
}

/* A validated optional boolean member. */
int ctx_bool(struct ctx *c, const cJSON *b, const char *name, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);
    if (!v)
        return CP_OK;
    if (!cJSON_IsBool(v))
        return ctx_bad(c, name, "%s must be true or false", name);
    *out = cJSON_IsTrue(v);
    return CP_OK;
}

/* A validated optional date member. */
int ctx_time(struct ctx *c, const cJSON *b, const char *name, int *has, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, name);
    *has = 0;
    if (!v || cJSON_IsNull(v))
        return CP_OK;
    if (!cJSON_IsString(v) || util_parse_time(v->valuestring, out))
        return ctx_bad(c, name, "%s must be a date (2026-01-31) or an ISO-8601 time", name);
    *has = 1;
    return CP_OK;
}

/* Members outside the allowed list are refused, so a misspelt one is not
 * silently ignored. */
int ctx_known_fields(struct ctx *c, const cJSON *b, const char *const *allowed)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, b)
    {
        if (!m->string || !util_in_list(m->string, allowed))
            return ctx_bad(c, m->string && util_is_clean_text(m->string, 60) ? m->string : "body",
                           "unknown field '%s'", m->string && util_is_clean_text(m->string, 60) ? m->string : "?");
    }
    return CP_OK;
}

/* An audit entry with the caller's context, in the open transaction. */
int ctx_audit(struct ctx *c, const char *action, const char *kind, int64_t id, const char *detail)
{
    struct audit_entry by = ctx_actor(c);
    return audit_record(c->db, &by, action, kind, id, detail);
}

/* Mark the request as an audited read of object (formatted into request memory). */
void ctx_audit_read(struct ctx *c, const char *action, const char *fmt, ...)
{
    char obj[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(obj, sizeof obj, fmt, ap);
    va_end(ap);
    c->audit_after = action;
    c->audit_object = ctx_strdup(c, obj);
}
/* ctx_audit with a cJSON detail (consumed). */
int ctx_audit_json(struct ctx *c, const char *action, const char *kind, int64_t id, cJSON *detail)
{
    char *text = detail ? cJSON_PrintUnformatted(detail) : NULL;
    cJSON_Delete(detail);
    int st = ctx_audit(c, action, kind, id, text);
    free(text);
    return st;
}

/* Match a route pattern; the {id} segment is captured into c->param. */
static int route_match(struct ctx *c, const char *pattern, const char *path)
{
    while (*pattern && *path) {
        if (*pattern == '{') {
            const char *close = strchr(pattern, '}');
            const char *slash = strchr(path, '/');
            size_t n = slash ? (size_t)(slash - path) : strlen(path);
            if (!n || n >= sizeof c->param)
                return 0;
            memcpy(c->param, path, n);
            c->param[n] = 0;
            pattern = close + 1;
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return !*pattern && !*path;
}

/* The cookie value of cport_session, copied into request memory, or NULL. */
static const char *session_cookie(struct ctx *c)
{
    const char *p = c->cookie;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 14 && strncmp(p, "cport_session=", 14) == 0) {
            char *v = ctx_alloc(c, n - 13);
            memcpy(v, p + 14, n - 14);
            return v;
        }
        p = end;
    }
    return NULL;
}

/* Authenticate from a bearer token, else the session cookie. */
static int authenticate(struct ctx *c)
{
    if (c->authorization && *c->authorization) {
        if (strncmp(c->authorization, "Bearer ", 7) != 0)
            return CP_DENIED;
        return auth_bearer(c->db, c->authorization + 7, c->remote_addr, &c->who);
    }
    const char *tok = session_cookie(c);
    return tok ? auth_session(c->db, c->cfg, tok, &c->who) : CP_DENIED;
}

/* Record a refused request in the audit trail (its own transaction). A busy
 * database must not turn the refusal into something else, so failures here are
 * only logged. */
static void audit_denied(struct ctx *c, const char *reason)
{
    char obj[160], detail[64];
    snprintf(obj, sizeof obj, "%s %s", c->method, c->path ? c->path : "");
    snprintf(detail, sizeof detail, "{\"reason\":\"%s\"}", reason);
    struct audit_entry e = {.user_id = c->who.user_id, .org_id = c->who.org_id,
                            .actor = c->authed ? c->who.email : "anonymous", .ip = c->remote_addr,
                            .request_id = c->request_id, .action = "access.denied", .object = obj, .detail = detail};
    if (!util_is_clean_text(obj, sizeof obj))
        e.object = "(unprintable path)";
    if (audit_append(c->db, &e) != CP_OK)
        log_line(c->request_id, "audit: could not record a denied request");
}

/* Record an audited read (c->audit_after) with its object (c->audit_object,
 * else the path) and query string. Deferred: the worker writes reads in batches,
 * so a read costs no write transaction of its own; bulk reads (c->audit_sync)
 * are written at once, before their answer. */
static int audit_read(struct ctx *c)
{
    /* {"query": ...} when there is one (a search's filters); a view needs none. */
    struct buf b;
    buf_init(&b);
    const char *detail = NULL;
    if (c->query && *c->query && util_is_clean_text(c->query, 4096)) {
        struct jw w;
        jw_init(&w, &b);
        jw_obj(&w);
        jw_key(&w, "query");
        jw_str(&w, c->query);
        jw_obj_end(&w);
        detail = b.p;
    }
    struct audit_entry e = {.user_id = c->who.user_id, .org_id = c->who.org_id, .actor = c->who.email,
                            .ip = c->remote_addr, .request_id = c->request_id, .action = c->audit_after,
                            .object = c->path && util_is_clean_text(c->path, 200) ? c->path : NULL, .detail = detail};
    if (c->audit_object)
        e.object = c->audit_object;
    int st;
    if (c->audit_sync) {
        st = db_begin(c->db);
        if (st == CP_OK && (st = audit_append(c->db, &e)) == CP_OK)
            st = db_commit(c->db);
        else if (st == CP_OK || st != CP_BUSY)
            db_rollback(c->db);
    } else {
        st = audit_defer(c->db, &e);
    }
    buf_free(&b);
    if (st != CP_OK) {
        buf_reset(&c->headers);
        buf_reset(&c->out);
        c->stream = NULL;
    }
    return st == CP_OK ? CP_OK : CP_BUSY;
}

/* Run the handler's before_answer writes in their own write transaction; when
 * they fail nothing of the prepared answer goes out. */
static int before_answer(struct ctx *c)
{
    int st = db_begin(c->db);
    if (st == CP_OK) {
        st = c->before_answer(c);
        if (st == CP_OK)
            st = db_commit(c->db);
        else
            db_rollback(c->db);
    }
    if (st != CP_OK) {
        buf_reset(&c->headers);
        buf_reset(&c->out);
        c->stream = NULL;
        if (st != CP_ERR)
            st = CP_BUSY;
    }
    return st;
}

/* Rank of a role for "at least" checks. */
static int role_rank(const char *role)
{
    if (strcmp(role, "viewer") == 0)
        return NEED_VIEWER;
    if (strcmp(role, "analyst") == 0)
        return NEED_ANALYST;
    if (strcmp(role, "org_admin") == 0)
        return NEED_ORG_ADMIN;
    if (strcmp(role, "operator") == 0)
        return NEED_OPERATOR;
    return NEED_PUBLIC;
}

/* The kind bit of an org kind. */
static unsigned kind_bit(const char *kind)
{
    return strcmp(kind, "lea") == 0 ? KIND_LEA : strcmp(kind, "hotline") == 0 ? KIND_HOTLINE
         : strcmp(kind, "interpol") == 0 ? KIND_INTERPOL : strcmp(kind, "operator") == 0 ? KIND_OPERATOR : 0;
}

/* May this caller use a route that needs `need`? Operators hold their own role
 * only; the others rank viewer < analyst < org_admin. */
static int role_allows(const char *role, enum api_need need)
{
    int r = role_rank(role);
    if (need == NEED_ADMIN)
        return r == NEED_ORG_ADMIN || r == NEED_OPERATOR;
    if (need <= NEED_SIGNED_IN)
        return r != NEED_PUBLIC;
    if (need == NEED_OPERATOR || r == NEED_OPERATOR)
        return r == (int)need;
    return r >= (int)need;
}

/* The whole request: find the route, check who may call it, run the handler and
 * map its status. */
void api_dispatch(struct ctx *c, const struct api_route *routes, int n)
{
    const struct api_route *rt = NULL;
    int path_known = 0;
    for (int i = 0; i < n && !rt; i++) {
        if (!route_match(c, routes[i].pattern, c->path ? c->path : ""))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, c->method) == 0 ||
            (strcmp(c->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
            rt = &routes[i];
    }
    if (!rt) {
        if (path_known) {
            /* RFC 9110: a 405 lists the methods the resource does take. */
            char allow[128] = "";
            for (int i = 0; i < n; i++) {
                if (!route_match(c, routes[i].pattern, c->path))
                    continue;
                size_t l = strlen(allow);
                snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", routes[i].method);
                if (strcmp(routes[i].method, "GET") == 0 && (l = strlen(allow)) < sizeof allow)
                    snprintf(allow + l, sizeof allow - l, ", HEAD");
            }
            ctx_header(c, "Allow", allow);
            ctx_problem(c, 405, "method-not-allowed", "Method not allowed", "this resource does not take that method");
        } else
            ctx_problem(c, 404, "not-found", "Not found", "no such resource");
        return;
    }
    if (parse_query(c)) {
        ctx_bad(c, "query", "the query string is malformed (bad percent-encoding or too many parameters)");
        return;
    }
    int st = authenticate(c);
    c->authed = st == CP_OK;
    if (st == CP_BUSY || st == CP_ERR)
        goto status;
    if (rt->need != NEED_PUBLIC) {
        if (!c->authed) {
            ctx_header(c, "WWW-Authenticate", "Bearer");
            ctx_problem(c, 401, "unauthenticated", "Not signed in", "sign in or send a valid API token");
            return;
        }
        if (!role_allows(c->who.role, rt->need) || (rt->kinds && !(rt->kinds & kind_bit(c->who.org_kind)))) {
            log_line(c->request_id, "denied user=%lld %s %s", (long long)c->who.user_id, c->method, c->path);
            audit_denied(c, "role");
            ctx_problem(c, 403, "forbidden", "Forbidden", "your role or organisation may not do this");
            return;
        }
    }
    /* Where MFA is required, a session of a lea, interpol or operator user
     * without TOTP can only enrol (API tokens are made after MFA, or by an
     * operator, so they pass). */
    if (c->cfg->mfa_required && c->authed && c->who.session_id && rt->need != NEED_PUBLIC &&
        !(rt->flags & ROUTE_BEFORE_MFA) &&
        (kind_bit(c->who.org_kind) & (KIND_LEA | KIND_INTERPOL | KIND_OPERATOR))) {
        int on = 0;
        if ((st = mfa_enabled(c->db, c->who.user_id, &on)) != CP_OK)
            goto status;
        if (!on) {
            audit_denied(c, "mfa enrolment required");
            ctx_problem(c, 403, "mfa-enrolment-required", "Second factor required",
                        "set up TOTP first: POST /api/v1/me/totp, then /api/v1/me/totp/confirm");
            return;
        }
    }
    /* Sensitive actions want a fresh proof of password and second factor from a
     * person at a browser, not a script's standing token. */
    if ((rt->flags & ROUTE_FRESH_SESSION) && c->authed && c->who.session_id &&
        util_now() - c->who.reauth_at > c->cfg->reauth_s) {
        audit_denied(c, "reauth required");
        ctx_problem(c, 403, "reauth-required", "Re-authentication required",
                    "confirm your password (and code) first: POST /api/v1/me/reauth");
        return;
    }
    if ((rt->flags & ROUTE_REAUTH) && c->authed) {
        if (!c->who.session_id) {
            audit_denied(c, "token on a re-authentication route");
            ctx_problem(c, 403, "reauth-required", "Re-authentication required",
                        "this action needs a signed-in session that has just confirmed its password and code");
            return;
        }
        if (util_now() - c->who.reauth_at > c->cfg->reauth_s) {
            audit_denied(c, "reauth required");
            ctx_problem(c, 403, "reauth-required", "Re-authentication required",
                        "confirm your password (and code) first: POST /api/v1/me/reauth");
            return;
        }
    }
    /* Cookie-authenticated writes must echo the session's CSRF token. */
    int write = strcmp(c->method, "GET") != 0 && strcmp(c->method, "HEAD") != 0;
    if (rt->need != NEED_PUBLIC && c->authed && c->who.read_only && write) {
        audit_denied(c, "read-only token");
        ctx_problem(c, 403, "read-only-token", "Read-only token", "this API token may only read");
        return;
    }
    if (rt->need != NEED_PUBLIC && c->authed && c->who.session_id && write) {
        const char *t = c->csrf_header ? c->csrf_header : "";
        size_t tl = strlen(t), cl = strlen(c->who.csrf);
        if (tl != cl || sodium_memcmp(t, c->who.csrf, cl) != 0) {
            audit_denied(c, "csrf");
            ctx_problem(c, 403, "csrf", "Missing or wrong CSRF token", "send the X-CSRF-Token header from GET /api/v1/me");
            return;
        }
    }
    /* A read runs in one read transaction: one snapshot for all its queries
     * (a page and its total agree) and one file lock instead of one a statement. */
    int snapshot = !write && db_exec(c->db, "BEGIN", NULL, 0) == CP_OK;
    if (!c->authed || (st = ctx_scope(c)) == CP_OK)
        st = rt->handler(c);
    if (snapshot) {
        db_reset_all(c->db);
        db_commit(c->db);
    }
    if (st == CP_OK && c->before_answer && c->status < 400)
        st = before_answer(c);
    if (st == CP_OK && c->audit_after && c->status < 400)
        st = audit_read(c);
status:
    switch (st) {
    case CP_OK:
    case CP_BAD: /* the handler wrote its 400 */
        return;
    case CP_BUSY:
        buf_reset(&c->headers);
        ctx_header(c, "Retry-After", "1");
        ctx_problem(c, 503, "busy", "Service busy", "the database is busy; retry shortly");
        return;
    case CP_NOTFOUND:
        ctx_problem(c, 404, "not-found", "Not found", "no such resource");
        return;
    case CP_DENIED:
        ctx_problem(c, 403, "forbidden", "Forbidden", c->err[0] ? c->err : "not allowed");
        return;
    case CP_CONFLICT:
        ctx_problem(c, 409, "conflict", "Conflict", c->err[0] ? c->err : "conflict");
        return;
    case CP_GONE:
        ctx_problem(c, 410, "gone", "Gone", c->err[0] ? c->err : "this has expired or was already used");
        return;
    case CP_LIMITED:
        ctx_header(c, "Retry-After", "3600");
        ctx_problem(c, 429, "rate-limited", "Too many requests", c->err[0] ? c->err : "try again later");
        return;
    default:
        log_line(c->request_id, "error %s %s: %s (%s)", c->method, c->path, c->err, sqlite3_errmsg(c->db->h));
        ctx_problem(c, 500, "internal", "Internal error", "something went wrong; quote the request id");
    }
}
