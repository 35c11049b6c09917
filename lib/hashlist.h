/*
 * hashlist - hash lists an organisation owns and shares: create and change
 * lists, add and remove entries, import a file (streamed through hashfmt, one
 * transaction, idempotent), export it whole or "since version N", and share it
 * with named organisations or whole org kinds. Who may read a list is
 * scope_lists_where (lib/scope.c); who may change it is its owner's analysts
 * (the API checks that before calling here).
 *
 * Versions: every change to a list's entries moves the list's version by one
 * (an import is one change however many entries it touches); each entry keeps
 * the version that added it and the one that last changed it, and removal
 * leaves a tombstone, so an incremental export tells added, changed and removed
 * apart. A global sequence ("hashes" data version) orders entry changes for the
 * matching index.
 */
#ifndef CPORT_HASHLIST_H
#define CPORT_HASHLIST_H

#include "audit.h"
#include "db.h"
#include "hashfmt.h"
#include "util.h"

/* What an import did. invalid_lines holds the first HASHLIST_MAX_REPORTED
 * invalid line numbers and reasons (every one is counted). */
#define HASHLIST_MAX_REPORTED 100
struct hashlist_counts {
    int64_t added, changed, unchanged, removed, invalid;
    int64_t version; /* the list's version afterwards */
    int reported;
    struct {
        long line;
        char reason[96];
    } invalid_lines[HASHLIST_MAX_REPORTED];
};

/* Create a list for org_id; name 1..200, description up to 2000, scheme one of
 * none|vic_us|uk_abc|ncmec|interpol_baseline, kind normal|warning. Audited with
 * by (action hashlist.create) in the same transaction. */
int hashlist_create(struct db *d, const struct audit_entry *by, int64_t org_id, const char *name,
                    const char *description, const char *scheme, const char *kind, int64_t *id, char *err,
                    size_t errlen);

/* Import a stream into list_id in one transaction: new values added, changed
 * fields updated, identical ones left alone (re-importing a file changes
 * nothing, not even the version). replace: entries not in the file are removed.
 * source names the origin (file name, "api"). Audited as hashlist.import. */
int hashlist_import(struct db *d, const struct audit_entry *by, int64_t list_id, int fd, enum hashfmt_format fmt,
                    enum hashfmt_alg text_alg, int replace, const char *source, struct hashlist_counts *out,
                    char *err, size_t errlen);

/* Add or update entries given in memory, as one change of the list. */
int hashlist_put(struct db *d, const struct audit_entry *by, int64_t list_id, const struct hashfmt_entry *e, size_t n,
                 const char *source, struct hashlist_counts *out, char *err, size_t errlen);

/* Change one entry (enabled >= 0 sets it; category/series when not NULL) or,
 * with remove, remove it (a tombstone stays for incremental exports). */
int hashlist_entry_change(struct db *d, const struct audit_entry *by, int64_t list_id, int64_t entry_id, int enabled,
                          const char *category, const char *series, int remove, char *err, size_t errlen);

/* Stream a list into w (format chosen when w began): every live entry, or with
 * since >= 0 every entry changed after that version, marked added, changed or
 * removed. Runs in its own read transaction (one snapshot). */
typedef int (*hashlist_write_fn)(void *arg, const void *p, size_t n);
int hashlist_export(struct db *d, int64_t list_id, enum hashfmt_format fmt, int64_t since, hashlist_write_fn write,
                    void *arg, char *err, size_t errlen);

/* Grant read of list_id to one organisation (org_id) or every organisation
 * of a kind (lea|hotline|interpol), audited as hashlist.share in the same
 * transaction. CP_CONFLICT when already granted. */
int hashlist_share(struct db *d, const struct audit_entry *by, int64_t list_id, int64_t org_id, const char *kind,
                   int64_t *share_id, char *err, size_t errlen);

/* Bump the global entry sequence inside the open transaction; *seq gets it. */
int hashlist_next_seq(struct db *d, int64_t *seq);

#endif
