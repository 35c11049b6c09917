/*
 * mfa - TOTP enrolment, confirmation and the sign-in check.
 */
#include "mfa.h"
#include "audit.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* Audit an MFA event of the caller inside the open transaction. */
static int mfa_audit(struct db *d, const struct caller *who, const char *ip, const char *request_id,
                     const char *action)
{
    struct audit_entry by = {.user_id = who->user_id, .org_id = who->org_id, .actor = who->email, .ip = ip,
                             .request_id = request_id};
    return audit_record(d, &by, action, "user", who->user_id, NULL);
}

/* Whether TOTP is on for the user. */
int mfa_enabled(struct db *d, int64_t user_id, int *on)
{
    sqlite3_stmt *st = db_prep(d, "SELECT totp_enabled FROM users WHERE id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, user_id);
    int rc = sqlite3_step(st);
    *on = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
}

/* The pending secret's URI, rebuilt from the stored key. */
int mfa_pending_uri(struct db *d, const struct config *cfg, const struct caller *who, struct buf *uri)
{
    sqlite3_stmt *q = db_prep(d, "SELECT totp_pending FROM users WHERE id = ? AND totp_enabled = 0");
    if (!q)
        return CP_ERR;
    sqlite3_bind_int64(q, 1, who->user_id);
    int rc = sqlite3_step(q);
    uint8_t key[TOTP_SECRET_LEN];
    int have = rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == TOTP_SECRET_LEN;
    if (have)
        memcpy(key, sqlite3_column_blob(q, 0), sizeof key);
    db_done(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(rc);
    if (!have)
        return CP_NOTFOUND;
    int st = totp_uri(cfg->instance, who->email, key, sizeof key, uri);
    sodium_memzero(key, sizeof key);
    return st;
}

/* A new pending secret and how to show it. */
int mfa_enrol(struct db *d, const struct config *cfg, const struct caller *who, const char *ip,
              const char *request_id, char *secret, size_t secretlen, struct buf *uri)
{
    int on, st = mfa_enabled(d, who->user_id, &on);
    if (st != CP_OK)
        return st;
    if (on)
        return CP_CONFLICT;
    uint8_t key[TOTP_SECRET_LEN];
    if (totp_new_secret(key) != CP_OK || secretlen < TOTP_BASE32_LEN(TOTP_SECRET_LEN) + 1)
        return CP_ERR;
    totp_base32_encode(key, sizeof key, secret);
    if ((st = totp_uri(cfg->instance, who->email, key, sizeof key, uri)) != CP_OK)
        return st;
    if ((st = db_begin(d)) != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(d, "UPDATE users SET totp_pending = ? WHERE id = ?");
    sqlite3_bind_blob(q, 1, key, sizeof key, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, who->user_id);
    int rc = sqlite3_step(q);
    db_done(q);
    sodium_memzero(key, sizeof key);
    st = rc == SQLITE_DONE ? mfa_audit(d, who, ip, request_id, "totp.enrol") : db_err(rc);
    if (st != CP_OK) {
        db_rollback(d);
        return st;
    }
    return db_commit(d);
}

/* Turn TOTP on with a first good code and issue recovery codes. */
int mfa_confirm(struct db *d, const struct config *cfg, const struct caller *who, const char *code, const char *ip,
                const char *request_id, char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE])
{
    sqlite3_stmt *q = db_prep(d, "SELECT totp_pending, totp_enabled FROM users WHERE id = ?");
    sqlite3_bind_int64(q, 1, who->user_id);
    int rc = sqlite3_step(q);
    uint8_t key[TOTP_SECRET_LEN];
    int have = rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == TOTP_SECRET_LEN && !sqlite3_column_int(q, 1);
    if (have)
        memcpy(key, sqlite3_column_blob(q, 0), sizeof key);
    db_done(q);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    if (!have)
        return CP_CONFLICT;
    int64_t step;
    int st = totp_verify(key, sizeof key, code, util_now(), -1, &step);
    if (st != CP_OK) {
        sodium_memzero(key, sizeof key);
        return st;
    }
    if (totp_recovery_codes(codes) != CP_OK)
        return CP_ERR;
    /* Hash the codes before the transaction: Argon2id is slow on purpose. */
    char hashes[TOTP_RECOVERY_COUNT][crypto_pwhash_STRBYTES];
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++)
        if (auth_hash_password(cfg, codes[i], hashes[i], NULL, 0) != CP_OK)
            return CP_ERR;
    if ((st = db_begin(d)) != CP_OK)
        return st;
    q = db_prep(d, "UPDATE users SET totp_secret = ?, totp_pending = NULL, totp_enabled = 1, totp_last_step = ?"
                   " WHERE id = ?");
    sqlite3_bind_blob(q, 1, key, sizeof key, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, step);
    sqlite3_bind_int64(q, 3, who->user_id);
    rc = sqlite3_step(q);
    db_done(q);
    sodium_memzero(key, sizeof key);
    if (rc == SQLITE_DONE) {
        q = db_prep(d, "DELETE FROM recovery_codes WHERE user_id = ?");
        sqlite3_bind_int64(q, 1, who->user_id);
        rc = sqlite3_step(q);
        db_done(q);
    }
    for (int i = 0; rc == SQLITE_DONE && i < TOTP_RECOVERY_COUNT; i++) {
        q = db_prep(d, "INSERT INTO recovery_codes(user_id, code_hash) VALUES (?, ?)");
        sqlite3_bind_int64(q, 1, who->user_id);
        db_bind_text(q, 2, hashes[i]);
        rc = sqlite3_step(q);
        db_done(q);
    }
    st = rc == SQLITE_DONE ? mfa_audit(d, who, ip, request_id, "totp.confirm") : db_err(rc);
    if (st != CP_OK) {
        db_rollback(d);
        return st;
    }
    return db_commit(d);
}

/* The second factor at sign-in, inside the caller's transaction. */
int mfa_check(struct db *d, int64_t user_id, const char *code, const char **how)
{
    if (!code || !*code)
        return CP_DENIED;
    char norm[TOTP_RECOVERY_SIZE];
    if (strlen(code) == TOTP_DIGITS) {
        sqlite3_stmt *q = db_prep(d, "SELECT totp_secret, totp_last_step FROM users WHERE id = ?");
        sqlite3_bind_int64(q, 1, user_id);
        int rc = sqlite3_step(q);
        uint8_t key[TOTP_SECRET_LEN];
        int have = rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == TOTP_SECRET_LEN;
        int64_t last = rc == SQLITE_ROW ? sqlite3_column_int64(q, 1) : 0;
        if (have)
            memcpy(key, sqlite3_column_blob(q, 0), sizeof key);
        db_done(q);
        if (!have)
            return rc == SQLITE_ROW || rc == SQLITE_DONE ? CP_DENIED : db_err(rc);
        int64_t step;
        int st = totp_verify(key, sizeof key, code, util_now(), last, &step);
        sodium_memzero(key, sizeof key);
        if (st != CP_OK)
            return CP_DENIED;
        q = db_prep(d, "UPDATE users SET totp_last_step = ? WHERE id = ?");
        sqlite3_bind_int64(q, 1, step);
        sqlite3_bind_int64(q, 2, user_id);
        rc = sqlite3_step(q);
        db_done(q);
        *how = "totp";
        return rc == SQLITE_DONE ? CP_OK : db_err(rc);
    }
    if (totp_recovery_normalize(code, norm) != CP_OK)
        return CP_DENIED;
    sqlite3_stmt *q = db_prep(d, "SELECT id, code_hash FROM recovery_codes WHERE user_id = ? AND used_at IS NULL");
    sqlite3_bind_int64(q, 1, user_id);
    int64_t hit = 0;
    int rc;
    while (!hit && (rc = sqlite3_step(q)) == SQLITE_ROW)
        if (crypto_pwhash_str_verify(db_text(q, 1), norm, strlen(norm)) == 0)
            hit = sqlite3_column_int64(q, 0);
    db_done(q);
    if (!hit)
        return CP_DENIED;
    q = db_prep(d, "UPDATE recovery_codes SET used_at = ? WHERE id = ?");
    sqlite3_bind_int64(q, 1, util_now());
    sqlite3_bind_int64(q, 2, hit);
    rc = sqlite3_step(q);
    db_done(q);
    *how = "recovery";
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}
