/*
 * mfa - the second factor on top of lib/totp.c: enrolment (a pending secret
 * shown once as an otpauth URI), confirmation with a first code (which turns it
 * on and hands out ten recovery codes, stored hashed), and the check at sign-in
 * (a current code, never one used before, or an unused recovery code).
 */
#ifndef CPORT_MFA_H
#define CPORT_MFA_H

#include "auth.h"
#include "totp.h"
#include "util.h"

/* Start enrolment for the caller: store a new pending secret and write its
 * base32 form and otpauth URI into secret/uri. CP_CONFLICT when already on. */
int mfa_enrol(struct db *d, const struct config *cfg, const struct caller *who, const char *ip,
              const char *request_id, char *secret, size_t secretlen, struct buf *uri);

/* Confirm enrolment with a code from the pending secret: TOTP on, ten recovery
 * codes written to codes. CP_DENIED for a wrong code, CP_CONFLICT when nothing
 * is pending. */
int mfa_confirm(struct db *d, const struct config *cfg, const struct caller *who, const char *code, const char *ip,
                const char *request_id, char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE]);

/* The otpauth URI of the caller's pending enrolment (for its QR code).
 * CP_NOTFOUND when nothing is pending or TOTP is already on. */
int mfa_pending_uri(struct db *d, const struct config *cfg, const struct caller *who, struct buf *uri);

/* Whether a user has TOTP on. */
int mfa_enabled(struct db *d, int64_t user_id, int *on);

/* Check a sign-in's second factor inside the caller's transaction: a TOTP code
 * (recorded as used) or a recovery code (marked used). *how gets "totp" or
 * "recovery". CP_OK or CP_DENIED. */
int mfa_check(struct db *d, int64_t user_id, const char *code, const char **how);

#endif
