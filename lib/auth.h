/*
 * auth - who is calling: Argon2id passwords, browser sessions (random 256-bit
 * ids stored hashed, idle and absolute expiry, a CSRF token each) and API
 * tokens (stored hashed, shown once).
 */
#ifndef CPORT_AUTH_H
#define CPORT_AUTH_H

#include "config.h"
#include "db.h"

#include <stdint.h>

/* The authenticated caller of a request, as every scope and role check sees it. */
struct caller {
    int64_t user_id, org_id;
    int64_t session_id; /* 0 when authenticated by token */
    int64_t token_id;   /* 0 when authenticated by session */
    char email[256];
    char role[16];     /* viewer | analyst | org_admin | operator */
    char org_kind[16]; /* lea | hotline | interpol | operator */
    char org_name[256];
    char org_country[3];
    char org_code[64]; /* a hotline org's ICCAM code */
    char csrf[64];     /* the session's CSRF token */
    int read_only;     /* a read-only API token: GET and HEAD only */
    int64_t reauth_at; /* session: when password and second factor were last proven */
};

#define AUTH_TOKEN_LEN 64 /* room for a base64url token and its prefix */

/* Hash a password with Argon2id at the configured cost into out (crypto_pwhash_STRBYTES). */
int auth_hash_password(const struct config *cfg, const char *pw, char *out, char *err, size_t errlen);

/* Check email and password; on success create a session and fill token (the
 * cookie value) and caller. A wrong email costs the same time as a wrong password.
 * Both outcomes are audited (session.create in the session's transaction,
 * session.fail on its own). lockout_attempts consecutive failures lock the account
 * for lockout_s (answered like a wrong password, so nothing tells the lock apart);
 * a client address with signin_ip_limit failures in the window gets CP_LIMITED.
 * A user with TOTP on also needs totp (a current code or a recovery code):
 * without one the answer is CP_MFA, with a wrong one a failure like a password's.
 * Returns CP_OK, CP_DENIED, CP_BUSY or CP_ERR. */
int auth_login(struct db *d, const struct config *cfg, const char *email, const char *password, const char *totp,
               const char *ip, const char *ua, const char *request_id, char *token, struct caller *who);

/* Resolve a session cookie value; expired sessions are deleted. CP_OK or CP_DENIED. */
int auth_session(struct db *d, const struct config *cfg, const char *token, struct caller *who);
/* Re-authenticate the caller's session: password (and a TOTP or recovery code
 * when TOTP is on) proven now, so sensitive actions are allowed for a while.
 * A wrong answer counts as a failed sign-in (lockout, audit). CP_OK, CP_DENIED,
 * CP_MFA (code missing), CP_LIMITED, CP_BUSY or CP_ERR. */
int auth_reauth(struct db *d, const struct config *cfg, struct caller *who, const char *password, const char *totp,
                const char *ip, const char *request_id);

/* The caller as user user_id would be (background work on their behalf,
 * e.g. a package build). CP_OK, CP_NOTFOUND, or CP_DENIED when disabled. */
int auth_caller_load(struct db *d, int64_t user_id, struct caller *who);

/* End the session. */
int auth_logout(struct db *d, int64_t session_id);

/* Resolve a bearer token, recording (at most once a minute) when and from where it
 * was last used. CP_OK or CP_DENIED. */
int auth_bearer(struct db *d, const char *token, const char *ip, struct caller *who);

/* Create an API token for the user with this email; token receives the only copy.
 * Audited as token.create with actor (who asked for it). */
int auth_token_create(struct db *d, const char *actor, const char *email, const char *name, int expires_days, char *token,
                      char *err, size_t errlen);

/* A token's options; allowed_ips is a cJSON array of validated addresses or
 * CIDR blocks (NULL: any address). */
struct auth_token_opts {
    const char *name;
    int expires_days; /* 0: no expiry */
    int read_only;
    const void *allowed_ips;
};

/* auth_token_create with every option; *id receives the token's id. */
int auth_token_create_opts(struct db *d, const char *actor, const char *email, const struct auth_token_opts *o,
                           char *token, int64_t *id, char *err, size_t errlen);

/* Inside an open transaction: end all of a user's sessions and revoke all
 * their tokens (ended[0] sessions, ended[1] tokens). */
int auth_user_cut(struct db *d, int64_t user_id, int ended[2]);

/* Disable a user: no sign-in any more, every session ended and every token
 * revoked at once, audited. */
int auth_user_disable(struct db *d, const char *actor, const char *email, char *err, size_t errlen);

#endif
