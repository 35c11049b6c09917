/*
 * auth - passwords, sessions and API tokens.
 */
#include "auth.h"
#include "audit.h"
#include "mfa.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Hash a password with Argon2id (crypto_pwhash_str) at the configured cost. */
int auth_hash_password(const struct config *cfg, const char *pw, char *out, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    size_t n = strlen(pw);
    if (n < 8 || n > 1024)
        return fail(err, errlen, CP_BAD, "password must be 8 to 1024 characters");
    if (crypto_pwhash_str(out, pw, n, (unsigned long long)cfg->pwhash_ops, (size_t)cfg->pwhash_mem_kib * 1024) != 0)
        return fail(err, errlen, CP_ERR, "out of memory hashing the password");
    return CP_OK;
}

/* BLAKE2b-256 of a token: what the database keeps instead of the token. */
static void token_hash(const char *token, uint8_t out[32])
{
    crypto_generichash(out, 32, (const uint8_t *)token, strlen(token), NULL, 0);
}

/* A fresh random token: prefix + base64url of 32 random bytes. */
static void token_new(const char *prefix, char *out)
{
    uint8_t raw[32];
    char enc[48];
    randombytes_buf(raw, sizeof raw);
    util_b64url_encode(raw, sizeof raw, enc);
    snprintf(out, AUTH_TOKEN_LEN, "%s%s", prefix, enc);
}

/* Fill the caller from a row of CALLER_COLS starting at column 0. */
#define CALLER_COLS                                                                                          \
    "u.id, u.org_id, u.email, u.role, o.kind, o.name, o.country, coalesce(o.code,'')"
static void caller_fill(sqlite3_stmt *st, struct caller *who)
{
    memset(who, 0, sizeof *who);
    who->user_id = sqlite3_column_int64(st, 0);
    who->org_id = sqlite3_column_int64(st, 1);
    snprintf(who->email, sizeof who->email, "%s", db_text(st, 2));
    snprintf(who->role, sizeof who->role, "%s", db_text(st, 3));
    snprintf(who->org_kind, sizeof who->org_kind, "%s", db_text(st, 4));
    snprintf(who->org_name, sizeof who->org_name, "%s", db_text(st, 5));
    snprintf(who->org_country, sizeof who->org_country, "%s", db_text(st, 6));
    snprintf(who->org_code, sizeof who->org_code, "%s", db_text(st, 7));
}

/* A fixed Argon2id hash to verify against when the email is unknown, so both
 * failures take the same time. Made once per process at the configured cost. */
static const char *dummy_hash(const struct config *cfg)
{
    static char h[crypto_pwhash_STRBYTES];
    if (!h[0] && auth_hash_password(cfg, "not-a-real-password", h, NULL, 0) != CP_OK)
        h[0] = 0;
    return h;
}

/* Record a failed sign-in in one transaction: the address's failure, the
 * account's failure count (locking it at the limit; wrong_password 0 for a
 * refusal that isn't the password's fault) and the audit entry. CP_DENIED. */
static int login_failed(struct db *d, const struct config *cfg, const char *email, const char *ip,
                        const char *request_id, const struct caller *who, const char *reason, int wrong_password)
{
    int64_t now = util_now();
    if (db_begin(d) != CP_OK)
        return CP_BUSY;
    sqlite3_stmt *st = db_prep(d, "INSERT INTO signin_failures(ip, at) VALUES (?, ?)");
    db_bind_text(st, 1, ip ? ip : "");
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    db_done(st);
    int locked_now = 0;
    if (rc == SQLITE_DONE && who && wrong_password) {
        st = db_prep(d, "UPDATE users SET"
                        " locked_until = CASE WHEN failed_count + 1 >= ? THEN ? ELSE locked_until END,"
                        " failed_count = CASE WHEN failed_count + 1 >= ? THEN 0 ELSE failed_count + 1 END"
                        " WHERE id = ? RETURNING locked_until");
        sqlite3_bind_int(st, 1, cfg->lockout_attempts);
        sqlite3_bind_int64(st, 2, now + cfg->lockout_s);
        sqlite3_bind_int(st, 3, cfg->lockout_attempts);
        sqlite3_bind_int64(st, 4, who->user_id);
        rc = sqlite3_step(st);
        locked_now = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == now + cfg->lockout_s;
        if (rc == SQLITE_ROW)
            rc = sqlite3_step(st);
        db_done(st);
    }
    /* Old failures are swept as new ones come in. */
    if (rc == SQLITE_DONE) {
        st = db_prep(d, "DELETE FROM signin_failures WHERE at < ?");
        sqlite3_bind_int64(st, 1, now - cfg->signin_ip_window_s);
        rc = sqlite3_step(st);
        db_done(st);
    }
    char detail[64];
    snprintf(detail, sizeof detail, "{\"reason\":\"%s\"}", reason);
    /* The typed email is recorded as the actor: who tried, not who it is. */
    struct audit_entry e = {.user_id = who ? who->user_id : 0, .org_id = who ? who->org_id : 0, .actor = email,
                            .ip = ip, .request_id = request_id, .action = "session.fail", .detail = detail};
    int ast = rc == SQLITE_DONE ? audit_append(d, &e) : db_err(rc);
    if (ast == CP_OK && locked_now) {
        struct audit_entry l = {.user_id = who->user_id, .org_id = who->org_id, .actor = email, .ip = ip,
                                .request_id = request_id, .action = "user.locked", .detail = "{}"};
        ast = audit_append(d, &l);
    }
    if (ast != CP_OK) {
        db_rollback(d);
        return ast;
    }
    if (db_commit(d) != CP_OK)
        return CP_BUSY;
    return CP_DENIED;
}

/* CP_LIMITED when this address has failed signin_ip_limit times within the
 * window (sign-in and re-authentication both count and both check). */
static int ip_limited(struct db *d, const struct config *cfg, const char *ip, int64_t now)
{
    sqlite3_stmt *st = db_prep(d, "SELECT count(*) FROM signin_failures WHERE ip = ? AND at > ?");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, ip ? ip : "");
    sqlite3_bind_int64(st, 2, now - cfg->signin_ip_window_s);
    int rc = sqlite3_step(st);
    int64_t recent = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    if (rc != SQLITE_ROW)
        return db_err(rc);
    return recent >= cfg->signin_ip_limit ? CP_LIMITED : CP_OK;
}

/* Verify credentials and open a session. */
int auth_login(struct db *d, const struct config *cfg, const char *email, const char *password, const char *totp,
               const char *ip, const char *ua, const char *request_id, char *token, struct caller *who)
{
    if (sodium_init() < 0)
        return CP_ERR;
    int64_t now = util_now();
    /* One address that keeps failing is refused before any password is checked. */
    int rc = ip_limited(d, cfg, ip, now);
    if (rc != CP_OK)
        return rc;
    sqlite3_stmt *st;
    st = db_prep(d, "SELECT " CALLER_COLS ", u.pw_hash, u.disabled, coalesce(u.locked_until, 0), u.totp_enabled"
                    " FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.email = ?");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, email);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_done(st);
        return db_err(rc);
    }
    char hash[crypto_pwhash_STRBYTES] = "";
    int found = rc == SQLITE_ROW, disabled = 0;
    int64_t locked_until = 0;
    int totp_on = 0;
    if (found) {
        caller_fill(st, who);
        snprintf(hash, sizeof hash, "%s", db_text(st, 8));
        disabled = sqlite3_column_int(st, 9);
        locked_until = sqlite3_column_int64(st, 10);
        totp_on = sqlite3_column_int(st, 11);
    }
    db_done(st);
    size_t pwlen = strlen(password);
    /* The hash is always checked, so a locked or unknown account takes as long. */
    int ok = crypto_pwhash_str_verify(found ? hash : dummy_hash(cfg), password, pwlen) == 0;
    int locked = locked_until > now;
    if (!found || !ok || disabled || locked)
        return login_failed(d, cfg, email, ip, request_id, found ? who : NULL,
                            locked ? "locked" : disabled && ok ? "disabled" : "credentials", !ok && !locked);
    if (totp_on && (!totp || !*totp))
        return CP_MFA;

    uint8_t h[32];
    char csrf[48];
    uint8_t raw[24];
    token_new("", token);
    token_hash(token, h);
    randombytes_buf(raw, sizeof raw);
    util_b64url_encode(raw, sizeof raw, csrf);
    if (db_begin(d) != CP_OK)
        return CP_BUSY;
    const char *how = NULL;
    if (totp_on) {
        int mst = mfa_check(d, who->user_id, totp, &how);
        if (mst != CP_OK) {
            db_rollback(d);
            return mst == CP_DENIED ? login_failed(d, cfg, email, ip, request_id, who, "second factor", 1) : mst;
        }
    }
    /* A good sign-in ends the run of failures. */
    st = db_prep(d, "UPDATE users SET failed_count = 0, locked_until = NULL WHERE id = ? AND failed_count > 0");
    sqlite3_bind_int64(st, 1, who->user_id);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE) {
        db_rollback(d);
        return db_err(rc);
    }
    /* Expired sessions of this user are swept whenever they sign in. */
    st = db_prep(d, "DELETE FROM sessions WHERE user_id = ? AND (last_seen_at < ? OR created_at < ?)");
    sqlite3_bind_int64(st, 1, who->user_id);
    sqlite3_bind_int64(st, 2, now - cfg->session_idle_s);
    sqlite3_bind_int64(st, 3, now - cfg->session_max_s);
    rc = sqlite3_step(st);
    db_done(st);
    st = db_prep(d, "INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, last_seen_at, ip, user_agent,"
                    " reauth_at) VALUES (?,?,?,?,?,?,?,?)");
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, who->user_id);
    db_bind_text(st, 3, csrf);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now);
    db_bind_text(st, 6, ip);
    db_bind_text(st, 7, ua);
    sqlite3_bind_int64(st, 8, now);
    if (rc == SQLITE_DONE)
        rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE) {
        db_rollback(d);
        return db_err(rc);
    }
    who->session_id = sqlite3_last_insert_rowid(d->h);
    who->reauth_at = now;
    snprintf(who->csrf, sizeof who->csrf, "%s", csrf);
    char obj[40];
    snprintf(obj, sizeof obj, "session:%lld", (long long)who->session_id);
    struct audit_entry e = {.user_id = who->user_id, .org_id = who->org_id, .actor = who->email, .ip = ip,
                            .request_id = request_id, .action = "session.create", .object = obj,
                            .detail = !how ? "{\"mfa\":null}" : strcmp(how, "totp") == 0 ? "{\"mfa\":\"totp\"}"
                                                                                      : "{\"mfa\":\"recovery\"}"};
    int ast = audit_append(d, &e);
    if (ast != CP_OK) {
        db_rollback(d);
        return ast;
    }
    return db_commit(d);
}

/* Look a session up by its cookie; enforce idle and absolute expiry; refresh
 * last_seen_at at most once a minute so reads stay reads. */
int auth_session(struct db *d, const struct config *cfg, const char *token, struct caller *who)
{
    if (!token || strlen(token) < 40 || strlen(token) > 60)
        return CP_DENIED;
    uint8_t h[32];
    token_hash(token, h);
    sqlite3_stmt *st = db_prep(d, "SELECT " CALLER_COLS ", s.id, s.csrf_token, s.created_at, s.last_seen_at, u.disabled,"
                                  " s.reauth_at"
                                  " FROM sessions s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id"
                                  " WHERE s.token_hash = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_DENIED : db_err(rc);
    }
    caller_fill(st, who);
    who->session_id = sqlite3_column_int64(st, 8);
    snprintf(who->csrf, sizeof who->csrf, "%s", db_text(st, 9));
    int64_t created = sqlite3_column_int64(st, 10), seen = sqlite3_column_int64(st, 11);
    int disabled = sqlite3_column_int(st, 12);
    who->reauth_at = sqlite3_column_int64(st, 13);
    db_done(st);
    int64_t now = util_now();
    if (disabled || now - seen > cfg->session_idle_s || now - created > cfg->session_max_s) {
        auth_logout(d, who->session_id);
        return CP_DENIED;
    }
    if (now - seen >= 60) {
        st = db_prep(d, "UPDATE sessions SET last_seen_at = ? WHERE id = ?");
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, who->session_id);
        sqlite3_step(st); /* best effort: a busy database must not fail a read */
        db_done(st);
    }
    return CP_OK;
}

/* Prove password and second factor again for the current session. */
int auth_reauth(struct db *d, const struct config *cfg, struct caller *who, const char *password, const char *totp,
                const char *ip, const char *request_id)
{
    if (sodium_init() < 0 || !who->session_id)
        return CP_ERR;
    int64_t now = util_now();
    int rc = ip_limited(d, cfg, ip, now);
    if (rc != CP_OK)
        return rc;
    sqlite3_stmt *st;
    st = db_prep(d, "SELECT pw_hash, totp_enabled, coalesce(locked_until, 0) FROM users WHERE id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, who->user_id);
    char hash[crypto_pwhash_STRBYTES] = "";
    int totp_on = 0;
    int64_t locked_until = 0;
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        snprintf(hash, sizeof hash, "%s", db_text(st, 0));
        totp_on = sqlite3_column_int(st, 1);
        locked_until = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? CP_DENIED : db_err(rc);
    int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    int locked = locked_until > now;
    if (!ok || locked)
        return login_failed(d, cfg, who->email, ip, request_id, who, locked ? "locked" : "reauth credentials",
                            !ok && !locked);
    if (totp_on && (!totp || !*totp))
        return CP_MFA;
    if (db_begin(d) != CP_OK)
        return CP_BUSY;
    const char *how = NULL;
    if (totp_on) {
        int mst = mfa_check(d, who->user_id, totp, &how);
        if (mst != CP_OK) {
            db_rollback(d);
            return mst == CP_DENIED ? login_failed(d, cfg, who->email, ip, request_id, who, "reauth second factor", 1)
                                    : mst;
        }
    }
    st = db_prep(d, "UPDATE sessions SET reauth_at = ?, last_seen_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, who->session_id);
    rc = sqlite3_step(st);
    db_done(st);
    char obj[40];
    snprintf(obj, sizeof obj, "session:%lld", (long long)who->session_id);
    struct audit_entry e = {.user_id = who->user_id, .org_id = who->org_id, .actor = who->email, .ip = ip,
                            .request_id = request_id, .action = "session.reauth", .object = obj,
                            .detail = !how ? "{\"mfa\":null}" : strcmp(how, "totp") == 0 ? "{\"mfa\":\"totp\"}"
                                                                                      : "{\"mfa\":\"recovery\"}"};
    int ast = rc == SQLITE_DONE ? audit_append(d, &e) : db_err(rc);
    if (ast != CP_OK) {
        db_rollback(d);
        return ast;
    }
    if ((ast = db_commit(d)) == CP_OK)
        who->reauth_at = now;
    return ast;
}

/* Load a caller by user id. */
int auth_caller_load(struct db *d, int64_t user_id, struct caller *who)
{
    sqlite3_stmt *st = db_prep(d, "SELECT " CALLER_COLS ", u.disabled FROM users u JOIN orgs o ON o.id = u.org_id"
                                  " WHERE u.id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st), disabled = 0;
    if (rc == SQLITE_ROW) {
        caller_fill(st, who);
        disabled = sqlite3_column_int(st, 8);
    }
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    return disabled ? CP_DENIED : CP_OK;
}

/* Delete one session. */
int auth_logout(struct db *d, int64_t session_id)
{
    sqlite3_stmt *st = db_prep(d, "DELETE FROM sessions WHERE id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, session_id);
    int rc = sqlite3_step(st);
    db_done(st);
    return db_status(rc);
}

/* Is ip inside one of the addresses or CIDR blocks of the JSON array list? */
static int ip_allowed(const char *list, const char *ip)
{
    cJSON *arr = cJSON_Parse(list);
    unsigned char want[16];
    int v6 = ip && strchr(ip, ':') != NULL, ok = 0;
    if (!ip || inet_pton(v6 ? AF_INET6 : AF_INET, ip, want) != 1) {
        cJSON_Delete(arr);
        return 0;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (ok || !cJSON_IsString(it))
            continue;
        char net[64];
        snprintf(net, sizeof net, "%s", it->valuestring);
        char *slash = strchr(net, '/');
        int bits = v6 ? 128 : 32;
        if (slash) {
            *slash = 0;
            bits = atoi(slash + 1);
        }
        unsigned char have[16];
        if ((strchr(net, ':') != NULL) != v6 || inet_pton(v6 ? AF_INET6 : AF_INET, net, have) != 1)
            continue;
        int i = 0;
        for (; bits >= 8; bits -= 8, i++)
            if (have[i] != want[i])
                break;
        ok = bits < 8 ? bits == 0 || ((have[i] ^ want[i]) & (0xff << (8 - bits)) & 0xff) == 0 : 0;
    }
    cJSON_Delete(arr);
    return ok;
}

/* Resolve "Authorization: Bearer <token>". */
int auth_bearer(struct db *d, const char *token, const char *ip, struct caller *who)
{
    if (!token || strncmp(token, "cpt_", 4) != 0 || strlen(token) > 60)
        return CP_DENIED;
    uint8_t h[32];
    token_hash(token, h);
    sqlite3_stmt *st = db_prep(d, "SELECT " CALLER_COLS ", t.id, t.expires_at, t.revoked, t.last_used_at, u.disabled,"
                                  " t.read_only, t.allowed_ips"
                                  " FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN orgs o ON o.id = u.org_id"
                                  " WHERE t.token_hash = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_DENIED : db_err(rc);
    }
    caller_fill(st, who);
    who->token_id = sqlite3_column_int64(st, 8);
    int has_exp = sqlite3_column_type(st, 9) != SQLITE_NULL;
    int64_t exp = sqlite3_column_int64(st, 9), used = sqlite3_column_int64(st, 11);
    int revoked = sqlite3_column_int(st, 10), disabled = sqlite3_column_int(st, 12);
    who->read_only = sqlite3_column_int(st, 13);
    int ip_ok = sqlite3_column_type(st, 14) == SQLITE_NULL || ip_allowed(db_text(st, 14), ip);
    db_done(st);
    int64_t now = util_now();
    if (revoked || disabled || (has_exp && now >= exp) || !ip_ok)
        return CP_DENIED;
    if (now - used >= 60) {
        st = db_prep(d, "UPDATE api_tokens SET last_used_at = ?, last_used_ip = ? WHERE id = ?");
        sqlite3_bind_int64(st, 1, now);
        db_bind_text(st, 2, ip);
        sqlite3_bind_int64(st, 3, who->token_id);
        sqlite3_step(st); /* best effort, as for sessions */
        db_done(st);
    }
    return CP_OK;
}

/* Create a named API token; only its hash is stored. */
int auth_token_create(struct db *d, const char *actor, const char *email, const char *name, int expires_days, char *token,
                      char *err, size_t errlen)
{
    struct auth_token_opts o = {.name = name, .expires_days = expires_days};
    int64_t id;
    return auth_token_create_opts(d, actor, email, &o, token, &id, err, errlen);
}

/* Create a token with its options; the audit entry records them. */
int auth_token_create_opts(struct db *d, const char *actor, const char *email, const struct auth_token_opts *o,
                           char *token, int64_t *id, char *err, size_t errlen)
{
    const char *name = o->name;
    int expires_days = o->expires_days;
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    if (!util_is_clean_text(name, 100) || !*name)
        return fail(err, errlen, CP_BAD, "token name must be 1 to 100 printable characters");
    if (expires_days < 0 || expires_days > 3650)
        return fail(err, errlen, CP_BAD, "--expires must be 1 to 3650 days");
    sqlite3_stmt *st = db_prep(d, "SELECT id, disabled FROM users WHERE email = ?");
    db_bind_text(st, 1, email);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_done(st);
        return fail(err, errlen, CP_NOTFOUND, "no user with email %s", email);
    }
    int64_t uid = sqlite3_column_int64(st, 0);
    int disabled = sqlite3_column_int(st, 1);
    db_done(st);
    if (disabled)
        return fail(err, errlen, CP_DENIED, "user %s is disabled", email);
    uint8_t h[32];
    token_new("cpt_", token);
    token_hash(token, h);
    int64_t now = util_now();
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    char *ips = o->allowed_ips ? cJSON_PrintUnformatted(o->allowed_ips) : NULL;
    st = db_prep(d, "INSERT INTO api_tokens(token_hash, user_id, name, created_at, expires_at, read_only, allowed_ips)"
                    " VALUES (?,?,?,?,?,?,?)");
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, uid);
    db_bind_text(st, 3, name);
    sqlite3_bind_int64(st, 4, now);
    db_bind_opt_int(st, 5, expires_days > 0, now + (int64_t)expires_days * 86400);
    sqlite3_bind_int(st, 6, o->read_only);
    db_bind_text(st, 7, ips);
    free(ips);
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE) {
        db_rollback(d);
        return fail(err, errlen, db_err(rc), "could not store the token: %s", sqlite3_errmsg(d->h));
    }
    char obj[40];
    *id = sqlite3_last_insert_rowid(d->h);
    snprintf(obj, sizeof obj, "token:%lld", (long long)*id);
    cJSON *dt = cJSON_CreateObject();
    cJSON_AddStringToObject(dt, "user", email);
    cJSON_AddStringToObject(dt, "name", name);
    cJSON_AddNumberToObject(dt, "expires_days", expires_days);
    cJSON_AddBoolToObject(dt, "read_only", o->read_only);
    if (o->allowed_ips)
        cJSON_AddItemToObject(dt, "allowed_ips", cJSON_Duplicate(o->allowed_ips, 1));
    char *detail = cJSON_PrintUnformatted(dt);
    cJSON_Delete(dt);
    struct audit_entry e = {.actor = actor, .action = "token.create", .object = obj, .detail = detail};
    rc = audit_append(d, &e);
    free(detail);
    if (rc != CP_OK) {
        db_rollback(d);
        return fail(err, errlen, rc, "could not write the audit entry");
    }
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}

/* End every session and revoke every token of a user, inside the caller's
 * transaction; ended[0] and ended[1] count them. */
int auth_user_cut(struct db *d, int64_t user_id, int ended[2])
{
    static const char *const sql[] = {"DELETE FROM sessions WHERE user_id = ?",
                                      "UPDATE api_tokens SET revoked = 1 WHERE user_id = ? AND revoked = 0"};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = db_prep(d, sql[i]);
        if (!st)
            return CP_ERR;
        sqlite3_bind_int64(st, 1, user_id);
        int rc = sqlite3_step(st);
        ended[i] = sqlite3_changes(d->h);
        db_done(st);
        if (rc != SQLITE_DONE)
            return db_err(rc);
    }
    return CP_OK;
}

/* Disable a user, end their sessions and revoke their tokens in one transaction. */
int auth_user_disable(struct db *d, const char *actor, const char *email, char *err, size_t errlen)
{
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    sqlite3_stmt *st = db_prep(d, "UPDATE users SET disabled = 1 WHERE email = ? RETURNING id, org_id");
    db_bind_text(st, 1, email);
    int rc = sqlite3_step(st);
    int64_t uid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0, org = rc == SQLITE_ROW ? sqlite3_column_int64(st, 1) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    db_done(st);
    if (!uid) {
        db_rollback(d);
        return rc == SQLITE_DONE ? fail(err, errlen, CP_NOTFOUND, "no user with email %s", email)
                                 : fail(err, errlen, db_err(rc), "database error");
    }
    int ended[2] = {0, 0};
    if (rc == SQLITE_DONE && auth_user_cut(d, uid, ended) != CP_OK)
        rc = SQLITE_BUSY;
    char obj[40], detail[96];
    snprintf(obj, sizeof obj, "user:%lld", (long long)uid);
    snprintf(detail, sizeof detail, "{\"sessions_ended\":%d,\"tokens_revoked\":%d}", ended[0], ended[1]);
    struct audit_entry e = {.user_id = uid, .org_id = org, .actor = actor, .action = "user.disable", .object = obj,
                            .detail = detail};
    int ast = rc == SQLITE_DONE ? audit_append(d, &e) : db_err(rc);
    if (ast == CP_OK)
        ast = db_bump(d, "access");
    if (ast != CP_OK) {
        db_rollback(d);
        return fail(err, errlen, ast, "could not disable the user");
    }
    return db_commit(d) == CP_OK ? CP_OK : fail(err, errlen, CP_BUSY, "database is busy");
}
