/*
 * audit - the tamper-evident audit trail. audit_append writes an entry inside
 * the caller's transaction (so it commits or vanishes with the change it
 * records); each entry's hash covers the previous entry's hash and all its own
 * fields, ids are consecutive, and signed heads (audit_sign_head, run daily)
 * pin the tail. audit_verify walks the chain and names the first bad entry.
 */
#ifndef CPORT_AUDIT_H
#define CPORT_AUDIT_H

#include "db.h"

#include <stdint.h>

struct audit_entry {
    int64_t user_id, org_id; /* 0: none */
    const char *actor;       /* email, "cli:<login>", "anonymous" */
    const char *ip, *request_id;
    const char *action;      /* dotted verb, e.g. "session.create" */
    const char *object;      /* e.g. "report:123", or NULL */
    const char *detail;      /* JSON text, or NULL */
};

/* Append one entry. Inside an open transaction it joins it; otherwise it runs in
 * its own BEGIN IMMEDIATE transaction. CP_OK, CP_BUSY or CP_ERR. */
int audit_append(struct db *d, const struct audit_entry *e);

/* Check the whole chain and the signed heads. CP_OK, or CP_CONFLICT with the
 * first bad entry's id in *bad_id (0 when the fault is a missing tail) and a
 * one-line reason in err. */
int audit_verify(struct db *d, int64_t *entries, int64_t *bad_id, char *err, size_t errlen);

/* Sign the current chain head with the instance key (created on first use in
 * key_dir, mode 0600) and record it in audit_heads. */
int audit_sign_head(struct db *d, const char *key_dir, char *err, size_t errlen);

/* The signed heads as a JSON document (for safekeeping outside the database);
 * the caller frees *json. */
int audit_export_heads(struct db *d, char **json, char *err, size_t errlen);

/* Load the instance's Ed25519 key pair from key_dir, creating it (0600) when
 * missing. pk 32 bytes, sk 64 bytes. */
int audit_instance_key(const char *key_dir, uint8_t *pk, uint8_t *sk, char *err, size_t errlen);

#endif
