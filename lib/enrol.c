/*
 * enrol - one-time enrolment links: issue, look up, use.
 */
#include "enrol.h"
#include "auth.h"
#include "mail.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* BLAKE2b-256 of a link's secret, after checking its shape. 0 or -1. */
static int link_hash(const char *token, uint8_t out[32])
{
    size_t n = token ? strlen(token) : 0;
    if (n < 40 || n >= ENROL_TOKEN_LEN)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", token[i]))
            return -1;
    crypto_generichash(out, 32, (const uint8_t *)token, n, NULL, 0);
    return 0;
}

/* Void older links and store a new one, in the open transaction. */
int enrol_issue(struct db *d, const struct config *cfg, const struct audit_entry *by, int64_t user_id,
                const char *purpose, char token[ENROL_TOKEN_LEN], int64_t *expires_at)
{
    uint8_t raw[32], h[32];
    randombytes_buf(raw, sizeof raw);
    util_b64url_encode(raw, sizeof raw, token);
    crypto_generichash(h, 32, (const uint8_t *)token, strlen(token), NULL, 0);
    int64_t now = util_now();
    *expires_at = now + cfg->enrol_link_s;
    sqlite3_stmt *st = db_prep(d, "DELETE FROM enrolments WHERE user_id = ? AND used_at IS NULL");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    st = db_prep(d, "INSERT INTO enrolments(token_hash, user_id, purpose, created_at, expires_at, created_by)"
                    " VALUES (?,?,?,?,?,?)");
    if (!st)
        return CP_ERR;
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, user_id);
    db_bind_text(st, 3, purpose);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, *expires_at);
    db_bind_text(st, 6, by->actor);
    rc = sqlite3_step(st);
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_err(rc);
    char detail[96];
    snprintf(detail, sizeof detail, "{\"purpose\":\"%s\",\"expires_at\":%lld}", purpose, (long long)*expires_at);
    return audit_record(d, by, "enrolment.issue", "user", user_id, detail);
}

/* Find a link's row and its person; CP_GONE when expired or used. */
static int link_find(struct db *d, const char *token, struct enrol_info *info, int64_t *link_id)
{
    uint8_t h[32];
    if (link_hash(token, h))
        return CP_NOTFOUND;
    sqlite3_stmt *st = db_prep(d, "SELECT e.id, e.user_id, e.expires_at, e.used_at IS NOT NULL, e.purpose,"
                                  " u.email, coalesce(u.name, ''), o.name, u.disabled"
                                  " FROM enrolments e JOIN users u ON u.id = e.user_id JOIN orgs o ON o.id = u.org_id"
                                  " WHERE e.token_hash = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_blob(st, 1, h, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    memset(info, 0, sizeof *info);
    *link_id = sqlite3_column_int64(st, 0);
    info->user_id = sqlite3_column_int64(st, 1);
    info->expires_at = sqlite3_column_int64(st, 2);
    int used = sqlite3_column_int(st, 3);
    snprintf(info->purpose, sizeof info->purpose, "%s", db_text(st, 4));
    snprintf(info->email, sizeof info->email, "%s", db_text(st, 5));
    snprintf(info->name, sizeof info->name, "%s", db_text(st, 6));
    snprintf(info->org, sizeof info->org, "%s", db_text(st, 7));
    int disabled = sqlite3_column_int(st, 8);
    db_done(st);
    if (disabled)
        return CP_NOTFOUND;
    return used || info->expires_at <= util_now() ? CP_GONE : CP_OK;
}

/* Look a link up without using it. */
int enrol_lookup(struct db *d, const char *token, struct enrol_info *info)
{
    int64_t id;
    return link_find(d, token, info, &id);
}

/* Use a link: password set, old factor cleared, link spent, in one transaction. */
int enrol_complete(struct db *d, const struct config *cfg, const char *token, const char *password, const char *ip,
                   const char *request_id, struct enrol_info *info, char *err, size_t errlen)
{
    int64_t link_id;
    int st = link_find(d, token, info, &link_id);
    if (st != CP_OK)
        return st;
    if (strlen(password) < 12)
        return fail(err, errlen, CP_BAD, "password must be at least 12 characters");
    if (strcasestr(password, info->email) || (strlen(password) >= 12 && strstr(info->email, password)))
        return fail(err, errlen, CP_BAD, "password must not contain the email address");
    char hash[crypto_pwhash_STRBYTES];
    if ((st = auth_hash_password(cfg, password, hash, err, errlen)) != CP_OK)
        return st;
    if (db_begin(d) != CP_OK)
        return CP_BUSY;
    /* Spend the link first: of two racing uses, only one changes a row. */
    sqlite3_stmt *q = db_prep(d, "UPDATE enrolments SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?");
    int64_t now = util_now();
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, link_id);
    sqlite3_bind_int64(q, 3, now);
    int rc = sqlite3_step(q);
    int spent = sqlite3_changes(d->h);
    db_done(q);
    if (rc != SQLITE_DONE || !spent) {
        db_rollback(d);
        return rc != SQLITE_DONE ? db_err(rc) : CP_GONE;
    }
    q = db_prep(d, "UPDATE users SET pw_hash = ?, totp_enabled = 0, totp_secret = NULL, totp_pending = NULL,"
                   " failed_count = 0, locked_until = NULL WHERE id = ?");
    db_bind_text(q, 1, hash);
    sqlite3_bind_int64(q, 2, info->user_id);
    rc = sqlite3_step(q);
    db_done(q);
    if (rc == SQLITE_DONE) {
        q = db_prep(d, "DELETE FROM recovery_codes WHERE user_id = ?");
        sqlite3_bind_int64(q, 1, info->user_id);
        rc = sqlite3_step(q);
        db_done(q);
    }
    /* A reset may follow a lost phone or a leaked password: whatever sessions
     * and API tokens the person had end here. */
    int ended[2] = {0, 0};
    if (rc == SQLITE_DONE && auth_user_cut(d, info->user_id, ended) != CP_OK)
        rc = SQLITE_BUSY;
    char detail[64];
    snprintf(detail, sizeof detail, "{\"purpose\":\"%s\"}", info->purpose);
    struct audit_entry by = {.user_id = info->user_id, .actor = info->email, .ip = ip, .request_id = request_id};
    st = rc == SQLITE_DONE ? audit_record(d, &by, "enrolment.complete", "user", info->user_id, detail) : db_err(rc);
    if (st != CP_OK) {
        db_rollback(d);
        return st;
    }
    return db_commit(d);
}

/* The link's address under the portal's public URL. */
void enrol_url(const struct config *cfg, const char *token, struct buf *out)
{
    buf_printf(out, "%s/enrol.html#%s", cfg->public_url, token);
}

/* Mail a link with a line on why it came. */
int enrol_mail(const struct config *cfg, const char *email, const char *url, int64_t expires_at, const char *why)
{
    char body[2048], when[32], err[256];
    util_format_time(expires_at, when);
    snprintf(body, sizeof body,
             "%s\n\nOpen this link to set your password, then set up your authenticator app:\n\n%s\n\n"
             "The link works once and expires at %s (UTC). If you did not expect it, ignore this message.\n\n-- %s\n",
             why, url, when, cfg->instance);
    return mail_send(cfg, email, "Your cport enrolment link", body, err, sizeof err);
}
