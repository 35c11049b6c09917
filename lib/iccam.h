/*
 * iccam - the mapping from the ICCAM feed (/work/shared/ICCAM-FEED.md) to the
 * database: parse a page, validate every record against the domain rules
 * (DOMAIN.md enums, hashes, dates, countries, URLs) and upsert the valid ones
 * into reports, media, classifications and report_tombstones; quarantine the
 * others in import_rejects. This is the only module that knows the feed's JSON
 * shape, so a real ICCAM adapter replaces this file and nothing else.
 *
 * Transport, transactions and the cursor belong to the importer: the store
 * functions here write inside a transaction the caller has opened.
 */
#ifndef CPORT_ICCAM_H
#define CPORT_ICCAM_H

#include <stddef.h> /* before db.h, which uses size_t without including it */
#include <stdint.h>

#include "db.h"

/* Hard limits on a record, so a hostile feed cannot make one record huge. */
#define ICCAM_ID_MAX 64
#define ICCAM_URL_MAX 2048
#define ICCAM_HOTLINE_MAX 32
#define ICCAM_MEDIA_MAX 1000

/* What storing records did, added to by each call. */
struct iccam_counts {
    long inserted;  /* reports new to the database (also resurrected after a tombstone) */
    long updated;   /* reports replaced by a newer updated_at */
    long deleted;   /* withdrawn reports (report removed and/or tombstone written) */
    long unchanged; /* records not newer than what is stored (or its tombstone) */
    long rejected;  /* records quarantined in import_rejects */
};

/* One parsed page. json is the cJSON tree (owned); the strings point into it. */
struct iccam_page {
    void *json;              /* cJSON root */
    void *reports;           /* the "reports" array inside it */
    int count;               /* number of records in the page */
    const char *next_cursor; /* NULL when absent or null */
    int has_more;            /* 0 when absent */
    void *arena;             /* the memory of the tree, released in one step */
};

/*
 * Parse a page body {"reports":[...],"next_cursor":"...","has_more":bool}. Only the
 * page's shape is checked here (records are validated one by one when stored):
 * returns CP_OK, or CP_BAD with the reason in err when the body is not JSON, not an
 * object, has no "reports" array, or has next_cursor/has_more of the wrong type.
 * On CP_OK the caller releases the page with iccam_page_free().
 */
int iccam_page_parse(const char *body, size_t len, struct iccam_page *pg, char *err, size_t errlen);
void iccam_page_free(struct iccam_page *pg);

/*
 * Validate and store every record of the page; the caller has a transaction open
 * (db_begin) and commits it together with its cursor. A record that fails
 * validation - or that the database refuses, e.g. a media id owned by another
 * report - is written to import_rejects (run_id, iccam_id when readable, a reason
 * naming the field, the record's JSON) and the page goes on. Rules:
 *  - a record not newer (updated_at <=) than the stored report, or than the
 *    report's tombstone, changes nothing;
 *  - a newer one updates the report row in place (its id is stable), adds,
 *    updates and removes media by iccam_media_id, and adds a classification as the
 *    current one only when it differs from the media item's current one;
 *  - {"iccam_id","updated_at","deleted":true} removes the report (media and
 *    classifications cascade) and leaves a tombstone.
 * Returns CP_OK, or CP_ERR/CP_BUSY on a database failure (the caller rolls back).
 * run_id <= 0 stores rejects without a run.
 */
int iccam_page_store(struct db *d, const struct iccam_page *pg, int64_t run_id, struct iccam_counts *c,
                     char *err, size_t errlen);

/*
 * Parse and store a single record given as JSON text (tests, tools); same rules as
 * iccam_page_store, caller's transaction. CP_BAD when text is not JSON.
 */
int iccam_record_store(struct db *d, const char *json, int64_t run_id, struct iccam_counts *c, char *err,
                       size_t errlen);

/*
 * Upsert the hotlines list {"hotlines":[{"code","name","country","website","email"}]}
 * (hotlines.json, /v1/hotlines) inside the caller's transaction. Invalid entries
 * go to import_rejects with their reason. *stored (may be NULL) receives the number
 * of rows upserted. CP_BAD for a malformed document, CP_ERR/CP_BUSY on db failure.
 */
int iccam_hotlines_store(struct db *d, const char *body, size_t len, int64_t run_id, int *stored, char *err,
                         size_t errlen);

#endif
