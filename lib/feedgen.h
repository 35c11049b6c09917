/*
 * feedgen.h - deterministic generator of a synthetic ICCAM feed (see
 * /work/shared/ICCAM-FEED.md) for tests, demos and benchmarks.
 *
 * feedgen_write() writes hotlines.json and reports-0001.json, reports-0002.json, ...
 * into a directory, exactly as the file:// transport of `cport import` reads them.
 * Everything is synthetic: reserved domains (*.example, *.test), documentation IP
 * ranges, private ASNs, random hashes. The same options always give byte-identical
 * files (own PRNG, no clock, no locale).
 */
#ifndef CPORT_FEEDGEN_H
#define CPORT_FEEDGEN_H

#include <stddef.h>

/* Pass as update_ratio / delete_ratio to get none (0 means "use the default"). */
#define FEEDGEN_NONE (-1.0)

struct feedgen_opts {
    long count;              /* number of distinct reports (>= 0) */
    unsigned long long seed; /* PRNG seed; same opts -> same bytes */
    int page_size;           /* records per page file; <= 0 means 500 */
    const char *out_dir;     /* created (with parents) if missing; required */
    double update_ratio;     /* extra update records as a fraction of count;
                                0 means 0.02, negative means none */
    double delete_ratio;     /* extra withdrawn-report records as a fraction of count;
                                0 means 0.005, negative means none */
    const char *start_date;  /* "YYYY-MM-DD"; reported_at is spread over 330 days
                                from it; NULL means "2026-01-01" */
    long media_files;        /* > 0: write generated benign JPEG/PNG files under
                                media/ for the JPEG and PNG items with ids up to
                                this, declare their real hashes, and give only
                                those a `content` path; 0: every item names a
                                content path and no file is written */
};

/*
 * Write the feed described by *o. Returns 0 on success; on failure returns -1 and
 * puts a one-line message into err (if err != NULL). Never prints, never exits.
 * Records across pages are in increasing updated_at order; update records (same
 * iccam_id, later updated_at) and withdrawn records {"iccam_id","updated_at",
 * "deleted":true} always come after the report's earlier versions.
 */
int feedgen_write(const struct feedgen_opts *o, char *err, size_t errlen);

#endif
