/*
 * audit - the tamper-evident audit trail. audit_append writes an entry inside
 * the caller's transaction (so it commits or vanishes with the change it
 * records); each entry's hash covers the previous entry's hash and all its own
 * fields, ids are consecutive, and signed heads (audit_sign_head, run daily)
 * pin the tail. audit_verify walks the chain and names the first bad entry.
 *
 * Audited reads are not worth a write transaction each: audit_defer queues them
 * on the connection and audit_flush writes the whole queue in one transaction,
 * through the same chain (hashing, consecutive ids, the SIEM copy on commit).
 * The FastCGI worker flushes when AUDIT_BATCH entries wait or the oldest has
 * waited AUDIT_FLUSH_MS, and before it exits. Each entry keeps the time of its
 * read in `at`; its id is given when it is written, so a change recorded by
 * audit_append while reads wait gets an earlier id than those reads, even
 * though they happened first. Ids give the order entries were written in, `at`
 * the order things happened in (to the second). Changes are never deferred:
 * they are written in the transaction of the change.
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

#define AUDIT_BATCH 64        /* a queue this long is written at once */
#define AUDIT_FLUSH_MS 1000   /* ... as is one whose oldest entry waited this long */
#define AUDIT_QUEUE_MAX 4096  /* a full queue must be written before it takes more */

/* Queue a copy of e (every string copied) with the current time as its `at`,
 * to be written by audit_flush. On a full queue it first flushes; when that
 * fails the entry is not taken and it returns CP_BUSY: a read that cannot be
 * recorded must not be served. CP_OK, CP_BUSY, or CP_ERR (no action, no memory). */
int audit_defer(struct db *d, const struct audit_entry *e);

/* Write every queued entry, in queue order, in one BEGIN IMMEDIATE transaction.
 * On failure nothing is written and the entries stay queued for the next try.
 * Never joins an open transaction (its rollback would lose entries the queue
 * had already let go): it then returns CP_BUSY. CP_OK (also for an empty
 * queue), CP_BUSY or CP_ERR. */
int audit_flush(struct db *d);

/* Flush when it is due: AUDIT_BATCH entries queued, or the oldest deferred at
 * least AUDIT_FLUSH_MS before now_ms (audit_clock_ms). CP_OK when nothing is due. */
int audit_flush_due(struct db *d, int64_t now_ms);

/* Milliseconds from now_ms until audit_flush_due would flush: -1 for an empty
 * queue, 0 when it is due now. How long an idle worker may sleep. */
int64_t audit_flush_wait(const struct db *d, int64_t now_ms);

/* Entries waiting in the queue. */
size_t audit_queue_len(const struct db *d);

/* The clock of the flush deadlines: monotonic milliseconds. */
int64_t audit_clock_ms(void);

/* Append an entry made from the actor template by (user, org, actor, address,
 * request id) with this action, the object "<kind>:<id>" (kind NULL: none)
 * and detail (JSON text or NULL): the one way modules record their changes. */
int audit_record(struct db *d, const struct audit_entry *by, const char *action, const char *kind, int64_t id,
                 const char *detail);

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
