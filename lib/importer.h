/*
 * importer - one run of `cport import`: pull the ICCAM feed page by page over
 * HTTPS (libcurl) or from a file:// directory, hand each page to iccam for
 * storage and advance the feed's cursor in the same transaction, so a run can be
 * killed at any moment and simply re-run. One run at a time (flock), every run
 * recorded in import_runs.
 */
#ifndef CPORT_IMPORTER_H
#define CPORT_IMPORTER_H

#include <stddef.h> /* before db.h, which uses size_t without including it */
#include <stdint.h>

#include "db.h"
#include "mfetch.h"

/* What a run did so far; handed to the progress callback after every page. */
struct importer_result {
    int64_t run_id; /* import_runs.id */
    long pages, inserted, updated, deleted, unchanged, rejected;
    struct mfetch_result media; /* the media fetch after the pages (--media) */
    /* The dashboard's day sums rebuilt after the pages (lib/rollup.c): days
     * rebuilt (-1 all), or why not (the import itself does not fail for it:
     * the days stay marked and the series count them from the reports). */
    long rollup_days;
    char rollup_error[300];
};

struct importer_opts {
    const char *feed;        /* https://host/base, http://127.0.0.1:port (loopback only), or file:///dir */
    const char *token_file;  /* bearer token, whitespace-trimmed; NULL: no Authorization header */
    const char *ca_file;     /* CA bundle for the feed's certificate; NULL: system store */
    const char *client_cert; /* PEM client certificate for mutual TLS; NULL: none */
    const char *client_key;  /* its key; NULL: in client_cert */
    int limit;               /* page size sent as limit= (0: omitted) */
    int max_pages;           /* pages to import in this run, 0 = all */
    long max_page_bytes;     /* cap on one page (after decompression), 0 = 32 MiB */
    int max_retries;         /* retries of 429/5xx/timeouts/connection errors, 0 = 5, < 0 = none */
    int timeout_s;           /* whole-transfer timeout of one request, 0 = 60 */
    const char *lock_path;   /* NULL: "<db path>.import.lock" */
    /* Fetch media content after the pages (`--media`): the limits, data_dir,
     * key_dir and progress of *media; its base, transport and TLS material are
     * the feed's. NULL: metadata only. */
    const struct mfetch_opts *media;
    void (*progress)(void *arg, const struct importer_result *r); /* after each page; may be NULL */
    void *progress_arg;
};

/*
 * Run one import of o->feed into d (migrated). Fetches the hotlines list first
 * (hotlines.json, /v1/hotlines; absent is fine), then pages from the stored cursor
 * (import_state, keyed by the feed URL) until the feed has no more or max_pages.
 * Each page's records and the new cursor commit in one transaction; no network I/O
 * happens inside a transaction. Invalid records are quarantined (counted in
 * rejected); a bad page - malformed JSON, HTTP 401/403, over max_page_bytes,
 * truncated - stops the run with the cursor where it was. 429, 5xx, timeouts and
 * connection errors are retried with exponential backoff from 0.5 s (Retry-After
 * honoured, delays capped) up to max_retries times.
 *
 * *r is filled in any case. Returns CP_OK; CP_CONFLICT when another import holds
 * the lock ("another import is running"); CP_DENIED for HTTP 401/403; CP_BAD for
 * bad options or a bad page; CP_BUSY/CP_ERR for database, file or network
 * failures. err gets a one-line message. Every run that got the lock is recorded
 * in import_runs (status ok|failed, error).
 */
int importer_run(struct db *d, const struct importer_opts *o, struct importer_result *r, char *err, size_t errlen);

#endif
