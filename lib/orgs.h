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

#endif
