/*
 * api_session - sign-in, sign-out and "who am I" (POST/DELETE /session, GET /me).
 */
#include "handlers.h"
#include "audit.h"
#include "log.h"
#include "mfa.h"

#include <stdio.h>
#include <string.h>

/* The {user, org, csrf_token, scope} object that sign-in and /me return. */
static cJSON *me_json(struct ctx *c)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *u = cJSON_AddObjectToObject(j, "user");
    cJSON_AddNumberToObject(u, "id", (double)c->who.user_id);
    cJSON_AddStringToObject(u, "email", c->who.email);
    cJSON_AddStringToObject(u, "role", c->who.role);
    cJSON *o = cJSON_AddObjectToObject(j, "org");
    cJSON_AddNumberToObject(o, "id", (double)c->who.org_id);
    cJSON_AddStringToObject(o, "name", c->who.org_name);
    cJSON_AddStringToObject(o, "kind", c->who.org_kind);
    cJSON_AddStringToObject(o, "country", c->who.org_country);
    if (c->who.org_code[0])
        cJSON_AddStringToObject(o, "code", c->who.org_code);
    if (c->who.session_id)
        cJSON_AddStringToObject(j, "csrf_token", c->who.csrf);
    /* What the portal needs to steer: must this person enrol a second factor
     * first, and until when may they take sensitive actions. */
    int on = 0;
    mfa_enabled(c->db, c->who.user_id, &on);
    int kind_needs = strcmp(c->who.org_kind, "hotline") != 0;
    cJSON *m = cJSON_AddObjectToObject(j, "mfa");
    cJSON_AddBoolToObject(m, "enabled", on);
    cJSON_AddBoolToObject(m, "required", c->cfg->mfa_required && kind_needs);
    if (c->who.session_id) {
        char until[32];
        util_format_time(c->who.reauth_at + c->cfg->reauth_s, until);
        cJSON_AddStringToObject(j, "reauth_until", until);
    }
    cJSON_AddItemToObject(j, "scope", scope_json(&c->scope));
    api_media_me(c, j);
    return j;
}

/* A session was just opened for c->who: set its cookie and answer 200 with
 * the caller as GET /me shows it. */
int api_session_opened(struct ctx *c, const char *token)
{
    char cookie[160];
    snprintf(cookie, sizeof cookie, "cport_session=%s; Path=/; HttpOnly; Secure; SameSite=Strict", token);
    ctx_header(c, "Set-Cookie", cookie);
    c->authed = 1;
    int st = ctx_scope(c);
    return st == CP_OK ? ctx_json(c, 200, me_json(c)) : st;
}

/* POST /api/v1/session {email, password}: open a browser session. */
int h_session_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(b, "email");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(b, "password");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "totp");
    int st;
    if (!cJSON_IsString(e) || !util_is_clean_text(e->valuestring, 254) || !*e->valuestring)
        st = ctx_bad(c, "email", "email must be a string of at most 254 characters");
    else if (!cJSON_IsString(p) || strlen(p->valuestring) > 1024)
        st = ctx_bad(c, "password", "password must be a string of at most 1024 characters");
    else if (t && !cJSON_IsNull(t) && (!cJSON_IsString(t) || !util_is_clean_text(t->valuestring, 32)))
        st = ctx_bad(c, "totp", "totp must be the 6-digit code or a recovery code");
    else {
        char token[AUTH_TOKEN_LEN];
        st = auth_login(c->db, c->cfg, e->valuestring, p->valuestring, cJSON_IsString(t) ? t->valuestring : NULL,
                        c->remote_addr, c->user_agent, c->request_id, token, &c->who);
        log_line(c->request_id, "sign-in %s user=%lld ip=%s", st == CP_OK ? "ok" : "failed",
                 (long long)(st == CP_OK ? c->who.user_id : 0), c->remote_addr ? c->remote_addr : "-");
        if (st == CP_DENIED) {
            st = ctx_problem(c, 401, "bad-credentials", "Sign-in failed", "wrong email or password");
        } else if (st == CP_MFA) {
            st = ctx_problem(c, 401, "totp-required", "Second factor required",
                             "enter the 6-digit code from your authenticator app (totp), or a recovery code");
        } else if (st == CP_LIMITED) {
            ctx_header(c, "Retry-After", "60");
            st = ctx_problem(c, 429, "rate-limited", "Too many attempts",
                             "too many failed sign-ins from this address; try again later");
        } else if (st == CP_OK) {
            st = api_session_opened(c, token);
        }
    }
    cJSON_Delete(b);
    return st;
}

/* DELETE /api/v1/session: end this browser session and clear the cookie. */
int h_session_delete(struct ctx *c)
{
    if (c->who.session_id) {
        /* The sign-out and its audit entry commit together. */
        char obj[40];
        snprintf(obj, sizeof obj, "session:%lld", (long long)c->who.session_id);
        struct audit_entry e = {.user_id = c->who.user_id, .org_id = c->who.org_id, .actor = c->who.email,
                                .ip = c->remote_addr, .request_id = c->request_id, .action = "session.delete",
                                .object = obj};
        int st = db_begin(c->db);
        if (st == CP_OK && (st = auth_logout(c->db, c->who.session_id)) == CP_OK &&
            (st = audit_append(c->db, &e)) == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK) {
            db_rollback(c->db);
            return st;
        }
    }
    ctx_header(c, "Set-Cookie", "cport_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    c->status = 204;
    return CP_OK;
}

/* GET /api/v1/me: the caller, their organisation, scope and CSRF token. */
int h_me(struct ctx *c) { return ctx_json(c, 200, me_json(c)); }
