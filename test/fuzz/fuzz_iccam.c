/*
 * fuzz_iccam - libFuzzer target for the ICCAM feed (/work/shared/ICCAM-FEED.md):
 * every input is a page body for iccam_page_parse (cJSON in its arena, the
 * page's shape), and a page that parses is stored by iccam_page_store, which
 * validates each record (enums, hashes, dates, countries, URLs, media) and
 * upserts the valid ones or quarantines the others in import_rejects. The same
 * bytes also go to iccam_hotlines_store as a hotlines document. The writes go
 * to an in-memory database migrated once and are rolled back after each
 * input, so every input meets the same empty database. Beyond memory errors
 * and leaks it checks that a page that parses is stored whole: each record
 * counted once, and no record able to fail the page.
 */
#include "db.h"
#include "iccam.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static struct db *fz_db;

/* At exit: close the database, for a clean leak check. */
static void fz_cleanup(void)
{
    db_close(fz_db);
    fz_db = NULL;
}

/* The in-memory database, migrated on the first call. */
static struct db *fz_open(void)
{
    if (fz_db)
        return fz_db;
    char err[256];
    fz_db = db_open(":memory:", 1000, err, sizeof err);
    if (!fz_db || db_migrate(fz_db, err, sizeof err) != CP_OK) {
        fprintf(stderr, "fuzz_iccam: setup failed: %s\n", err);
        abort();
    }
    atexit(fz_cleanup);
    return fz_db;
}

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct db *d = fz_open();
    char err[512];
    struct iccam_page pg;
    struct iccam_counts n = {0};
    if (db_begin(d) != CP_OK)
        abort();
    if (iccam_page_parse((const char *)data, size, &pg, err, sizeof err) == CP_OK) {
        /* Every record is stored, found unchanged or quarantined, counted
         * once: with a healthy database no record may fail the page (apply()
         * checks whatever the database could refuse before writing). */
        int st = iccam_page_store(d, &pg, 0, &n, err, sizeof err);
        if (st != CP_OK || n.inserted + n.updated + n.deleted + n.unchanged + n.rejected != pg.count) {
            fprintf(stderr, "fuzz_iccam: page of %d records: status %d, counted %ld: %s\n", pg.count, st,
                    n.inserted + n.updated + n.deleted + n.unchanged + n.rejected, st != CP_OK ? err : "");
            abort();
        }
        iccam_page_free(&pg);
    }
    int stored;
    iccam_hotlines_store(d, (const char *)data, size, 0, &stored, err, sizeof err);
    db_rollback(d);
    return 0;
}

#include "replay.h"
