/*
 * enrol - one-time enrolment links. An activated LEA's first org_admin, an
 * invited user, or a user whose access was reset gets a link that lets them
 * set a password once (then TOTP, at first sign-in). The link carries 32
 * random bytes; only their BLAKE2b hash is stored. A link expires (72 h by
 * default), works once, and issuing a new one for a user voids the old ones.
 */
#ifndef CPORT_ENROL_H
#define CPORT_ENROL_H

#include "audit.h"
#include "config.h"
#include "db.h"
#include "util.h"

#define ENROL_TOKEN_LEN 48

/* Inside the caller's open transaction: void the user's unused links and issue
 * a new one (purpose activation|invite|reset); token receives the secret,
 * *expires_at its expiry. by names who issued it (audited as enrolment.issue). */
int enrol_issue(struct db *d, const struct config *cfg, const struct audit_entry *by, int64_t user_id,
                const char *purpose, char token[ENROL_TOKEN_LEN], int64_t *expires_at);

/* Who a link is for, without using it: email, name and org name. CP_OK,
 * CP_NOTFOUND (forged or voided), CP_GONE (expired or already used). */
struct enrol_info {
    int64_t user_id, expires_at;
    char email[256], name[256], org[256], purpose[16];
};
int enrol_lookup(struct db *d, const char *token, struct enrol_info *info);

/* Use a link: set the password, clear any old second factor (the person sets
 * up TOTP again), unlock the account, mark the link used, audit it, all in one
 * transaction. CP_OK, CP_NOTFOUND, CP_GONE, CP_BAD (password refused, err says
 * why), CP_BUSY. */
int enrol_complete(struct db *d, const struct config *cfg, const char *token, const char *password, const char *ip,
                   const char *request_id, struct enrol_info *info, char *err, size_t errlen);

/* The link a person opens: <public_url>/enrol.html#<token>. The secret sits in
 * the fragment, so it never reaches a server log. */
void enrol_url(const struct config *cfg, const char *token, struct buf *out);

/* Mail the link to email (when a mail command is configured). CP_OK when sent. */
int enrol_mail(const struct config *cfg, const char *email, const char *url, int64_t expires_at, const char *why);

#endif
