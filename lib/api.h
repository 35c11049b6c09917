/*
 * api - the request context every handler gets, the route table's shape, the
 * dispatcher that authenticates and checks each route's role before calling its
 * handler, and the response helpers (JSON through cJSON, problem+json errors).
 * Independent of FastCGI: fcgi/ fills a ctx and writes out its response.
 */
#ifndef CPORT_API_H
#define CPORT_API_H

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "jw.h"
#include "scope.h"
#include "util.h"

#include <cjson/cJSON.h>

#define API_MAX_QPARAMS 64

struct ctx {
    /* request, as the front end hands it over (valid for the request only) */
    const char *method, *path, *query;
    const char *cookie, *authorization, *csrf_header, *content_type;
    const char *remote_addr, *user_agent, *request_id;
    const char *body;
    size_t body_len;
    /* Upload routes: nginx wrote the body to this file (its client body temp
     * file) instead of passing it on, so a large upload is read as a stream. */
    const char *body_file;
    /* derived */
    char param[64]; /* the {id} path segment */
    struct {
        char *k, *v;
    } q[API_MAX_QPARAMS];
    int nq;
    struct db *db;
    const struct config *cfg;
    struct caller who;
    int authed;
    struct scope scope;
    /* response */
    int status;
    const char *ctype;
    struct buf headers; /* "Name: value\r\n" lines */
    struct buf out;
    /* A streamed body: when a handler sets it, the front end writes the status
     * and headers and then calls stream(c, write, w) to produce the body in
     * pieces, so a large export never sits in memory. It runs after the
     * request's read transaction has ended and opens its own. */
    int (*stream)(struct ctx *c, int (*write)(void *w, const void *p, size_t n), void *w);
    void *stream_arg;
    /* request memory, freed in one place by ctx_end */
    struct ctx_mem *mem;
    char err[512];
    char field[64];
    /* A read to put on the audit trail once the request's read transaction has
     * ended (action name; the query string goes in the detail). It is deferred
     * and written in a batch (audit_defer); when it can't even be queued the
     * answer becomes 503: an unrecorded read is not served. */
    const char *audit_after;
    /* Its object, e.g. "report:42" (request memory); NULL: the request path. */
    const char *audit_object;
    /* Write that entry before the answer goes out, in its own transaction,
     * instead of queueing it: for reads that hand data out in bulk (exports,
     * downloads), whose record must survive a worker killed a moment later. */
    int audit_sync;
    /* Writes that must be committed before the answer goes out (the audit entry
     * of a sensitive read such as a media original): run in a write transaction
     * of its own after the read transaction ends; on failure the answer becomes
     * 503 and nothing is sent. */
    int (*before_answer)(struct ctx *c);
    void *before_arg;
};

typedef int (*api_handler)(struct ctx *c);

/* Who may call a route: the least role, and which org kinds (0: any). */
enum api_need { NEED_PUBLIC, NEED_SIGNED_IN, NEED_VIEWER, NEED_ANALYST, NEED_ORG_ADMIN, NEED_OPERATOR,
                NEED_ADMIN /* an org_admin (for their organisation) or an operator */ };
#define KIND_LEA 1u
#define KIND_HOTLINE 2u
#define KIND_INTERPOL 4u
#define KIND_OPERATOR 8u
#define KIND_REPORT_READERS (KIND_LEA | KIND_HOTLINE | KIND_INTERPOL)
#define KIND_ACCESS_STEPS (KIND_HOTLINE | KIND_INTERPOL | KIND_OPERATOR) /* who takes part in the access procedure */

/* A route that a session still without its required second factor may use. */
#define ROUTE_BEFORE_MFA 1u
/* A browser session must have proven password and second factor within
 * reauth_minutes; unlike ROUTE_REAUTH, API tokens pass (a script cannot
 * re-authenticate, and its token was made by a person who had). */
#define ROUTE_FRESH_SESSION 4u
/* A sensitive route: a browser session must have proven password and second
 * factor within reauth_minutes (POST /api/v1/me/reauth); API tokens may not. */
#define ROUTE_REAUTH 2u

struct api_route {
    const char *method;
    const char *pattern; /* "/api/v1/reports/{id}" */
    api_handler handler;
    enum api_need need;
    unsigned kinds;
    unsigned flags;      /* ROUTE_BEFORE_MFA */
};

/* Start and end a request: ctx_begin parses the query string (400 on bad
 * percent-encoding is reported by api_dispatch); ctx_end frees everything. */
void ctx_begin(struct ctx *c, struct db *d, const struct config *cfg);
void ctx_end(struct ctx *c);

/* Route, authenticate, check the route's need, CSRF for cookie writes, call the
 * handler, and turn its status into a response (503 + Retry-After when busy). */
void api_dispatch(struct ctx *c, const struct api_route *routes, int n);

/* Request memory: freed by ctx_end. */
void *ctx_alloc(struct ctx *c, size_t n);
char *ctx_strdup(struct ctx *c, const char *s);

/* Query parameters: value or NULL. ctx_check_params answers 400 (returns CP_BAD)
 * when a parameter is not in the NULL-terminated allowed list or repeats. */
const char *ctx_qparam(struct ctx *c, const char *name);
/* Add a parameter as if it came in the query string (copied into request
 * memory): how a stored filter is replayed through reports_parse_filter. */
int ctx_add_param(struct ctx *c, const char *name, const char *value);
int ctx_check_params(struct ctx *c, const char *const *allowed);

/* Parse the JSON body (415 unless application/json, 400 when malformed or not an
 * object). Returns NULL after setting the problem response. */
cJSON *ctx_json_body(struct ctx *c);

/* Members of a JSON body, validated; each answers 400 naming the field (and
 * returns CP_BAD) when the member breaks its rule. */
#define FIELD_OPTIONAL 1u  /* may be missing or null: *out stays NULL */
#define FIELD_MULTILINE 2u /* may hold line breaks */
/* A string of 1..max bytes of printable UTF-8. */
int ctx_str(struct ctx *c, const cJSON *b, const char *name, size_t max, unsigned flags, const char **out);
/* An optional true/false; *out keeps its value when the member is missing. */
int ctx_bool(struct ctx *c, const cJSON *b, const char *name, int *out);
/* An optional date or ISO time; *has says whether one was given. */
int ctx_time(struct ctx *c, const cJSON *b, const char *name, int *has, int64_t *out);
/* Refuse members not in the NULL-terminated allowed list (typos surface). */
int ctx_known_fields(struct ctx *c, const cJSON *b, const char *const *allowed);

/* Responses. ctx_json takes ownership of j. */
int ctx_json(struct ctx *c, int status, cJSON *j);
int ctx_problem(struct ctx *c, int status, const char *slug, const char *title, const char *detail);
/* A 400 naming the field; returns CP_BAD so handlers can `return ctx_bad(...)`. */
int ctx_bad(struct ctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void ctx_header(struct ctx *c, const char *name, const char *value);

/* Answer 200 {"<key>": [...]} with one object per row of st, each written by
 * row (which writes the members between the braces). Steps st to its end. */
int ctx_rows(struct ctx *c, sqlite3_stmt *st, const char *key,
             void (*row)(struct ctx *c, struct jw *w, sqlite3_stmt *st));

/* The same with the rows written by a jw_columns spec instead of a function. */
int ctx_table(struct ctx *c, sqlite3_stmt *st, const char *key, const char *spec);

/* One object from the first row of st, written by spec (jw_columns), with
 * this status; CP_NOTFOUND when st has no row. Finishes st. */
int ctx_row(struct ctx *c, sqlite3_stmt *st, const char *spec, int status);

/* A keyset page: {"items": [...], "next_cursor": "<id>" | null} from st,
 * whose first column is the row id and which was asked for limit + 1 rows
 * (the extra row only tells there is more). Rows are written by spec
 * (jw_columns). Steps st to its end; answers 200. */
int ctx_keyset_page(struct ctx *c, sqlite3_stmt *st, long limit, const char *spec);

/* An optional positive id in the query string: *out 0 when absent; 400
 * naming the parameter (CP_BAD) when it is not one. */
int ctx_qid(struct ctx *c, const char *name, int64_t *out);

/* The caller as the actor of an audit entry (action, object, detail unset). */
struct audit_entry ctx_actor(const struct ctx *c);

/* The {id} path segment as a positive decimal id, or 0 for anything else. */
int64_t ctx_path_id(struct ctx *c);

/* Append an audit entry for the caller (user, org, address, request id) inside
 * the open transaction; object is "<kind>:<id>" (kind NULL: no object); detail
 * JSON text or NULL. */
int ctx_audit(struct ctx *c, const char *action, const char *kind, int64_t id, const char *detail);

/* Put this read on the audit trail once answered (batched; see audit_read in
 * api.c): action, and the object formatted from fmt. */
void ctx_audit_read(struct ctx *c, const char *action, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same with a cJSON detail, which it consumes. */
int ctx_audit_json(struct ctx *c, const char *action, const char *kind, int64_t id, cJSON *detail);

/* Load the caller's scope (done by the dispatcher for signed-in callers). */
int ctx_scope(struct ctx *c);


#endif
