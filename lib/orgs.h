/*
 * orgs - organisations, their users and the agreements that give an LEA its
 * view: the administrative writes behind `cport org|user|agreement add`.
 */
#ifndef CPORT_ORGS_H
#define CPORT_ORGS_H

#include "config.h"
#include "db.h"

/* Every change here is written to the audit trail in its own transaction, with
 * actor naming who made it (an email, or "cli:<login>"). */

/* Create an organisation; kind lea|hotline|interpol|operator, country ISO alpha-2,
 * code (hotlines: their ICCAM code) optional. *id receives the new id. */
int orgs_add(struct db *d, const char *actor, const char *kind, const char *name, const char *country, const char *code,
             int64_t *id, char *err, size_t errlen);

/* Create a user in the named organisation with an Argon2id-hashed password.
 * The operator role belongs to operator organisations only, and only there. */
int orgs_user_add(struct db *d, const char *actor, const struct config *cfg, const char *org, const char *email,
                  const char *role, const char *password, int64_t *id, char *err, size_t errlen);

struct orgs_agreement {
    const char *lea;          /* LEA organisation name */
    const char *hotline;      /* the national hotline's code */
    const char *jurisdiction; /* "NL" or "NL,BE" */
    int media_metadata, media_content, include_reported_from;
    const char *valid_from, *valid_to; /* ISO dates or NULL */
};

/* Bind an LEA to its hotline with a jurisdiction and flags. */
int orgs_agreement_add(struct db *d, const char *actor, const struct orgs_agreement *a, int64_t *id, char *err, size_t errlen);

/* Look an organisation up by name: its id and kind (kindlen bytes). CP_OK or
 * CP_NOTFOUND. */
int orgs_find(struct db *d, const char *name, int64_t *id, char *kind, size_t kindlen);

/* The pieces the API composes into larger transactions (an access request's
 * activation makes an org, its agreement and its first user at once). They
 * validate their input but neither open a transaction nor audit: the caller
 * does both. */

/* An email address as cport accepts one (shape only, at most 254 bytes). */
int orgs_valid_email(const char *email);
/* Whether role may exist in an org of this kind (operator role <=> operator org). */
int orgs_role_fits(const char *role, const char *org_kind);
/* Whether s is one of the roles. */
int orgs_valid_role(const char *role);

int orgs_insert_org(struct db *d, const char *kind, const char *name, const char *country, const char *code,
                    int64_t *id, char *err, size_t errlen);
/* pw_hash NULL: no password yet (an enrolment link sets it). */
int orgs_insert_user(struct db *d, int64_t org_id, const char *email, const char *role, const char *name,
                     const char *pw_hash, int64_t *id, char *err, size_t errlen);

/* An agreement's terms, validated. */
struct orgs_terms {
    char countries[64][3];
    int n;
    int media_metadata, media_content, include_reported_from;
    int has_from, has_to;
    int64_t valid_from, valid_to;
};
int orgs_insert_agreement(struct db *d, int64_t lea_id, const char *hotline, const struct orgs_terms *t, int64_t *id,
                          char *err, size_t errlen);
/* Replace an agreement's terms (countries, flags, dates). */
int orgs_update_agreement(struct db *d, int64_t id, const struct orgs_terms *t, char *err, size_t errlen);

#endif
