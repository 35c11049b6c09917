/*
 * api_me - what a signed-in user manages about their own access: their browser
 * sessions (see them, end one or all others) and their API tokens (create with a
 * name, expiry, read-only flag and address allowlist; list; revoke). Every change
 * is audited in its own transaction.
 */
#include "audit.h"
#include "handlers.h"
#include "mfa.h"
#include "qr.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One session of GET /api/v1/me/sessions. */
static void session_row(struct ctx *c, struct jw *w, sqlite3_stmt *st)
{
    int64_t id = sqlite3_column_int64(st, 0);
    jw_key(w, "id");
    jw_int(w, id);
    jw_col_time(w, "created_at", st, 1);
    jw_col_time(w, "last_seen_at", st, 2);
    jw_key(w, "ip");
    jw_str(w, db_text(st, 3));
    jw_key(w, "user_agent");
    jw_str(w, db_text(st, 4));
    jw_key(w, "current");
    jw_bool(w, id == c->who.session_id);
}

/* GET /api/v1/me/sessions: the caller's sessions, the current one marked. */
int h_me_sessions(struct ctx *c)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, created_at, last_seen_at, ip, user_agent FROM sessions"
                                      " WHERE user_id = ? ORDER BY last_seen_at DESC");
    if (st)
        sqlite3_bind_int64(st, 1, c->who.user_id);
    return ctx_rows(c, st, "sessions", session_row);
}

/* Apply sql (parameters: the {id}, the caller's user id) to one row the caller
 * owns and audit it, in one transaction: 204, or 404 when no such row is theirs. */
static int own_row_change(struct ctx *c, const char *sql, const char *action, const char *kind)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    if (db_begin(c->db) != CP_OK)
        return CP_BUSY;
    sqlite3_stmt *st = db_prep(c->db, sql);
    if (!st) {
        db_rollback(c->db);
        return CP_ERR;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.user_id);
    int rc = sqlite3_step(st);
    int n = sqlite3_changes(c->db->h);
    db_done(st);
    int e = rc != SQLITE_DONE ? db_err(rc) : !n ? CP_NOTFOUND : ctx_audit(c, action, kind, id, NULL);
    if (e != CP_OK) {
        db_rollback(c->db);
        return e;
    }
    if ((e = db_commit(c->db)) != CP_OK)
        return e;
    c->status = 204;
    return CP_OK;
}

/* DELETE /api/v1/me/sessions/{id}: end one of the caller's sessions (another
 * user's id is 404, like a missing one). */
int h_me_session_delete(struct ctx *c)
{
    return own_row_change(c, "DELETE FROM sessions WHERE id = ? AND user_id = ?", "session.delete", "session");
}

/* An IPv4/IPv6 address or CIDR block, as an allowlist entry. */
static int valid_cidr(const char *s)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (!n || n >= sizeof ip)
        return 0;
    memcpy(ip, s, n);
    ip[n] = 0;
    unsigned char buf[16];
    int v6 = strchr(ip, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, ip, buf) != 1)
        return 0;
    if (!slash)
        return 1;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    return !*end && end != slash + 1 && bits >= 0 && bits <= (v6 ? 128 : 32);
}

/* POST /api/v1/me/tokens {name, expires_days?, read_only?, allowed_ips?[]}: a
 * new API token for the caller, shown once. */
int h_me_token_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(b, "expires_days");
    const cJSON *ro = cJSON_GetObjectItemCaseSensitive(b, "read_only");
    const cJSON *ips = cJSON_GetObjectItemCaseSensitive(b, "allowed_ips");
    int st = CP_OK;
    if (!cJSON_IsString(name) || !*name->valuestring || !util_is_clean_text(name->valuestring, 100))
        st = ctx_bad(c, "name", "name must be 1 to 100 printable characters");
    else if (days && (!cJSON_IsNumber(days) || !util_whole_in(days->valuedouble, 1, 3650, &(int64_t){0})))
        st = ctx_bad(c, "expires_days", "expires_days must be a whole number from 1 to 3650");
    else if (ro && !cJSON_IsBool(ro))
        st = ctx_bad(c, "read_only", "read_only must be true or false");
    else if (ips && (!cJSON_IsArray(ips) || cJSON_GetArraySize(ips) > 32))
        st = ctx_bad(c, "allowed_ips", "allowed_ips must be a list of at most 32 addresses or CIDR blocks");
    const cJSON *ip;
    if (st == CP_OK && ips)
        cJSON_ArrayForEach(ip, ips) if (st == CP_OK && (!cJSON_IsString(ip) || !valid_cidr(ip->valuestring))) st =
            ctx_bad(c, "allowed_ips", "allowed_ips entries must be IP addresses or CIDR blocks such as 192.0.2.0/24");
    if (st != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    char token[AUTH_TOKEN_LEN], err[256];
    struct auth_token_opts o = {.name = name->valuestring,
                                .expires_days = days ? days->valueint : 90,
                                .read_only = cJSON_IsTrue(ro),
                                .allowed_ips = ips};
    int64_t id = 0;
    st = auth_token_create_opts(c->db, c->who.email, c->who.email, &o, token, &id, err, sizeof err);
    cJSON_Delete(b);
    if (st == CP_BAD)
        return ctx_bad(c, "name", "%s", err);
    if (st != CP_OK)
        return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "token", token);
    cJSON_AddStringToObject(j, "note", "shown once: store it now");
    return ctx_json(c, 201, j);
}

/* One token of GET /api/v1/me/tokens; allowed_ips is stored as validated JSON. */
static void token_row(struct ctx *c, struct jw *w, sqlite3_stmt *st)
{
    (void)c;
    jw_col_int(w, "id", st, 0);
    jw_col_text(w, "name", st, 1);
    jw_col_time(w, "created_at", st, 2);
    jw_col_time(w, "expires_at", st, 3);
    jw_col_time(w, "last_used_at", st, 4);
    jw_col_text(w, "last_used_ip", st, 5);
    jw_col_bool(w, "revoked", st, 6);
    jw_col_bool(w, "read_only", st, 7);
    jw_key(w, "allowed_ips");
    jw_raw(w, *db_text(st, 8) ? db_text(st, 8) : "[]");
}

/* GET /api/v1/me/tokens: the caller's tokens (never their values). */
int h_me_tokens(struct ctx *c)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, name, created_at, expires_at, last_used_at, last_used_ip, revoked,"
                                      " read_only, allowed_ips FROM api_tokens WHERE user_id = ? ORDER BY id");
    if (st)
        sqlite3_bind_int64(st, 1, c->who.user_id);
    return ctx_rows(c, st, "tokens", token_row);
}

/* DELETE /api/v1/me/tokens/{id}: revoke one of the caller's tokens. */
int h_me_token_delete(struct ctx *c)
{
    return own_row_change(c, "UPDATE api_tokens SET revoked = 1 WHERE id = ? AND user_id = ? AND revoked = 0",
                          "token.revoke", "token");
}

/* POST /api/v1/me/totp: start TOTP enrolment; the secret is shown this once. */
int h_me_totp(struct ctx *c)
{
    char secret[64];
    struct buf uri;
    buf_init(&uri);
    int st = mfa_enrol(c->db, c->cfg, &c->who, c->remote_addr, c->request_id, secret, sizeof secret, &uri);
    if (st == CP_CONFLICT) {
        buf_free(&uri);
        snprintf(c->err, sizeof c->err, "TOTP is already on for this account");
        return CP_CONFLICT;
    }
    if (st != CP_OK) {
        buf_free(&uri);
        return st;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "secret", secret);
    cJSON_AddStringToObject(j, "otpauth_uri", uri.p);
    buf_free(&uri);
    sodium_memzero(secret, sizeof secret);
    return ctx_json(c, 200, j);
}

/* POST /api/v1/me/totp/confirm {code}: turn TOTP on; the ten recovery codes are
 * shown this once. */
int h_me_totp_confirm(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(b, "code");
    if (!cJSON_IsString(code) || !util_is_clean_text(code->valuestring, 16)) {
        cJSON_Delete(b);
        return ctx_bad(c, "code", "code must be the 6-digit code from the authenticator app");
    }
    char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE];
    int st = mfa_confirm(c->db, c->cfg, &c->who, code->valuestring, c->remote_addr, c->request_id, codes);
    cJSON_Delete(b);
    if (st == CP_BAD || st == CP_DENIED)
        return ctx_bad(c, "code", "that code is not the current one of the new secret");
    if (st == CP_CONFLICT) {
        snprintf(c->err, sizeof c->err, "no enrolment is pending (start with POST /api/v1/me/totp)");
        return CP_CONFLICT;
    }
    if (st != CP_OK)
        return st;
    cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "recovery_codes");
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(codes[i]));
    sodium_memzero(codes, sizeof codes);
    return ctx_json(c, 200, j);
}

/* GET /api/v1/me/totp/qr.svg: the pending enrolment's otpauth URI as a QR code
 * (SVG made from module coordinates only), for the portal's enrolment page. */
int h_me_totp_qr(struct ctx *c)
{
    struct buf uri;
    buf_init(&uri);
    int st = mfa_pending_uri(c->db, c->cfg, &c->who, &uri);
    if (st == CP_OK) {
        char err[128];
        st = qr_svg(uri.p, &c->out, err, sizeof err);
        if (st != CP_OK)
            snprintf(c->err, sizeof c->err, "%s", err);
    }
    sodium_memzero(uri.p, uri.len);
    buf_free(&uri);
    if (st == CP_NOTFOUND) {
        snprintf(c->err, sizeof c->err, "no enrolment is pending (start with POST /api/v1/me/totp)");
        return CP_CONFLICT;
    }
    if (st != CP_OK)
        return st;
    c->status = 200;
    c->ctype = "image/svg+xml";
    return CP_OK;
}

/* POST /api/v1/me/reauth {password, totp}: prove password and second factor
 * again, so the session may take sensitive actions for reauth_minutes. */
int h_me_reauth(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "password");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "totp");
    int st;
    if (!cJSON_IsString(p) || strlen(p->valuestring) > 1024)
        st = ctx_bad(c, "password", "password must be a string of at most 1024 characters");
    else if (t && !cJSON_IsNull(t) && (!cJSON_IsString(t) || !util_is_clean_text(t->valuestring, 32)))
        st = ctx_bad(c, "totp", "totp must be the 6-digit code or a recovery code");
    else if (!c->who.session_id)
        st = ctx_problem(c, 403, "reauth-required", "Re-authentication required",
                         "re-authentication belongs to a signed-in browser session, not an API token");
    else {
        st = auth_reauth(c->db, c->cfg, &c->who, p->valuestring, cJSON_IsString(t) ? t->valuestring : NULL,
                         c->remote_addr, c->request_id);
        if (st == CP_DENIED)
            st = ctx_problem(c, 401, "bad-credentials", "Re-authentication failed", "wrong password or code");
        else if (st == CP_MFA)
            st = ctx_problem(c, 401, "totp-required", "Second factor required",
                             "enter the 6-digit code from your authenticator app (totp), or a recovery code");
        else if (st == CP_LIMITED) {
            ctx_header(c, "Retry-After", "60");
            st = ctx_problem(c, 429, "rate-limited", "Too many attempts", "too many failed attempts from this address");
        } else if (st == CP_OK) {
            char until[32];
            util_format_time(c->who.reauth_at + c->cfg->reauth_s, until);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "reauth_until", until);
            st = ctx_json(c, 200, j);
        }
    }
    cJSON_Delete(b);
    return st;
}
