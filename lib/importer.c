/*
 * importer - the import run: lock, run bookkeeping, transports (libcurl for
 * http(s), a directory for file://), retry with backoff, and the per-page
 * transaction that stores records and advances the cursor together.
 */
#include "importer.h"
#include "rollup.h"
#include "feedcurl.h"
#include "iccam.h"
#include "util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MAX_PAGE_BYTES (32L * 1024 * 1024)
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT 60
#define BACKOFF_BASE_S 0.5
#define BACKOFF_CAP_S 30.0
#define RETRY_AFTER_CAP_S 120.0
#define PAGE_NAME_MAX 64
#define IMPORT_AUTOCHECKPOINT 10000 /* WAL pages, about 40 MB */
#define IMPORT_CKPT_TRY_MS 200      /* one checkpoint try: how long it may hold writers off */
#define IMPORT_CKPT_WAIT_S 120      /* how long the import waits for one long read to end */
#define IMPORT_FILE_BATCH 8         /* pages per transaction from a file:// feed */

/* One page file of a file:// feed: reports-<num>.json. */
struct page_file {
    long num;
    char name[PAGE_NAME_MAX];
};

/* Everything one run carries around. */
struct imp {
    struct db *d;
    const struct importer_opts *o;
    struct importer_result *r;
    char *err;
    size_t errlen;
    int is_file;
    char base[4096]; /* feed without trailing slash (file: the directory path) */
    long max_bytes;
    int retries, timeout_s;
    /* http */
    CURL *curl;
    struct curl_slist *hdrs;
    struct buf body;
    int oversize;
    /* file */
    struct page_file *files;
    int nfiles;
    /* pages stored in the open transaction, not yet committed */
    int batch, open_pages;
    struct iccam_counts pend;
};

/* Read the bearer token: the file's content without surrounding whitespace, which
 * must be visible ASCII (it goes into a header). */
static int read_token(const char *path, char *tok, size_t toklen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(err, errlen, CP_BAD, "cannot read token file %s: %s", path, strerror(errno));
    size_t n = fread(tok, 1, toklen - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more)
        return fail(err, errlen, CP_BAD, "token file %s is too long", path);
    tok[n] = 0;
    char *s = tok;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    memmove(tok, s, len);
    tok[len] = 0;
    if (!len)
        return fail(err, errlen, CP_BAD, "token file %s is empty", path);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
            return fail(err, errlen, CP_BAD, "token file %s holds characters a token cannot have", path);
    return CP_OK;
}

/* True for the loopback hosts plain http is allowed to (tests, local proxies). */
static int loopback_http(const char *feed)
{
    static const char *const ok[] = {"http://127.0.0.1", "http://localhost", "http://[::1]", NULL};
    for (int i = 0; ok[i]; i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(feed, ok[i], n) == 0 && (feed[n] == ':' || feed[n] == '/' || !feed[n]))
            return 1;
    }
    return 0;
}

/* ---- database bookkeeping ---- */

/* Why the last statement or commit failed, for the run's one-line error. A
 * commit that fails for a full disk or an I/O error is rolled back by SQLite
 * itself, so its message survives db_commit; after a rollback of our own there
 * is none left to give. */
static const char *why_failed(struct db *d)
{
    return sqlite3_errcode(d->h) != SQLITE_OK ? sqlite3_errmsg(d->h) : "unknown error";
}

/* The import's WAL hook, after each of its commits (in place of SQLite's automatic
 * checkpoint): once the WAL holds IMPORT_AUTOCHECKPOINT pages, copy it into the
 * database and start it over from zero (TRUNCATE). SQLite's own checkpoint is
 * PASSIVE and never completes while the portal's readers keep reading, so the WAL
 * grew by all the import wrote (test/load.test.mjs: 124 MB for 37,500 reports,
 * never restarted). A TRUNCATE try waits up to IMPORT_CKPT_TRY_MS for the readers
 * of older snapshots (writers queue meanwhile, well within their busy timeout);
 * while one reads longer (a package build holds one snapshot throughout) the import
 * pauses between tries, holding no lock, up to IMPORT_CKPT_WAIT_S, so the WAL stays
 * near IMPORT_AUTOCHECKPOINT pages plus one transaction. */
static int import_wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
    struct db *d = arg;
    if (pages < IMPORT_AUTOCHECKPOINT)
        return SQLITE_OK;
    int busy_ms = d->busy_ms;
    d->busy_ms = IMPORT_CKPT_TRY_MS;
    int64_t until = util_now() + IMPORT_CKPT_WAIT_S;
    while (sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_BUSY &&
           util_now() < until)
        usleep(IMPORT_CKPT_TRY_MS * 1000);
    d->busy_ms = busy_ms;
    return SQLITE_OK;
}

/* Insert the run row in its own transaction; runs a killed process left "running"
 * for this feed are closed as failed first (the lock proves they are gone). */
static int run_start(struct imp *im)
{
    struct db *d = im->d;
    if (db_begin(d) != CP_OK)
        return fail(im->err, im->errlen, CP_BUSY, "database is busy");
    int64_t now = util_now();
    sqlite3_stmt *st = db_prep(d, "UPDATE import_runs SET status = 'failed', ended_at = ?,"
                                  " error = 'interrupted (process ended without finishing)'"
                                  " WHERE feed = ? AND status = 'running'");
    int rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        db_bind_text(st, 2, im->o->feed);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_DONE && (st = db_prep(d, "INSERT INTO import_runs(feed, started_at) VALUES (?, ?)"))) {
        db_bind_text(st, 1, im->o->feed);
        sqlite3_bind_int64(st, 2, now);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        fail(im->err, im->errlen, CP_ERR, "cannot record the run: %s", sqlite3_errmsg(d->h));
        db_rollback(d);
        return CP_ERR;
    }
    im->r->run_id = sqlite3_last_insert_rowid(d->h);
    if (db_commit(d) != CP_OK)
        return fail(im->err, im->errlen, CP_ERR, "cannot record the run: commit failed: %s", why_failed(d));
    return CP_OK;
}

/* Close the run row with its outcome, in its own transaction. */
static void run_end(struct imp *im, const char *error)
{
    struct db *d = im->d;
    if (db_begin(d) != CP_OK)
        return;
    sqlite3_stmt *st = db_prep(d, "UPDATE import_runs SET ended_at = ?, status = ?, pages = ?, inserted = ?,"
                                  " updated = ?, deleted = ?, unchanged = ?, rejected = ?, error = ?, media_stored = ?,"
                                  " media_failed = ? WHERE id = ?");
    if (!st) {
        db_rollback(d);
        return;
    }
    const struct importer_result *r = im->r;
    sqlite3_bind_int64(st, 1, util_now());
    db_bind_text(st, 2, error ? "failed" : "ok");
    sqlite3_bind_int64(st, 3, r->pages);
    sqlite3_bind_int64(st, 4, r->inserted);
    sqlite3_bind_int64(st, 5, r->updated);
    sqlite3_bind_int64(st, 6, r->deleted);
    sqlite3_bind_int64(st, 7, r->unchanged);
    sqlite3_bind_int64(st, 8, r->rejected);
    db_bind_text(st, 9, error);
    sqlite3_bind_int64(st, 10, r->media.stored + r->media.deduplicated);
    sqlite3_bind_int64(st, 11, r->media.failed + r->media.refused);
    sqlite3_bind_int64(st, 12, r->run_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        db_rollback(d);
    else
        db_commit(d);
}

/* The feed's stored cursor into out ("" when none). */
static int load_cursor(struct imp *im, char *out, size_t outlen)
{
    out[0] = 0;
    sqlite3_stmt *st = db_prep(im->d, "SELECT cursor FROM import_state WHERE feed = ?");
    if (!st)
        return fail(im->err, im->errlen, CP_ERR, "cannot read the cursor: %s", sqlite3_errmsg(im->d->h));
    db_bind_text(st, 1, im->o->feed);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && strlen(db_text(st, 0)) >= outlen) {
        sqlite3_reset(st);
        return fail(im->err, im->errlen, CP_ERR, "stored cursor is too long");
    }
    if (rc == SQLITE_ROW)
        snprintf(out, outlen, "%s", db_text(st, 0));
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(im->err, im->errlen, db_err(rc), "cannot read the cursor: %s",
                    sqlite3_errmsg(im->d->h));
    return CP_OK;
}

/* Commit the open transaction's pages and count them into the result. */
static int flush_pages(struct imp *im)
{
    if (!im->open_pages)
        return CP_OK;
    int pages = im->open_pages;
    im->open_pages = 0;
    int e = db_commit(im->d);
    struct iccam_counts c = im->pend;
    memset(&im->pend, 0, sizeof im->pend);
    if (e != CP_OK)
        return fail(im->err, im->errlen, e, "commit of the page failed: %s", why_failed(im->d));
    struct importer_result *r = im->r;
    r->pages += pages;
    r->inserted += c.inserted, r->updated += c.updated, r->deleted += c.deleted;
    r->unchanged += c.unchanged, r->rejected += c.rejected;
    if (im->o->progress)
        im->o->progress(im->o->progress_arg, r);
    return CP_OK;
}

/* Store one page and move the cursor past it in the open transaction (opened
 * here when none is). A page's records and its cursor are always in the same
 * transaction; file feeds put im->batch pages in one (fewer commits, larger
 * full-text segments: about a third faster at a million reports), http feeds one
 * page each, so no transaction is ever open during network I/O. */
static int commit_page(struct imp *im, const struct iccam_page *pg, const char *cursor)
{
    struct db *d = im->d;
    struct iccam_counts c = {0};
    if (!im->open_pages && db_begin(d) != CP_OK)
        return fail(im->err, im->errlen, CP_BUSY, "database is busy");
    int e = iccam_page_store(d, pg, im->r->run_id, &c, im->err, im->errlen);
    if (e != CP_OK) {
        db_rollback(d);
        im->open_pages = 0;
        memset(&im->pend, 0, sizeof im->pend);
        return e;
    }
    sqlite3_stmt *st = db_prep(d, "INSERT INTO import_state(feed, cursor, updated_at) VALUES (?, ?, ?)"
                                  " ON CONFLICT(feed) DO UPDATE SET cursor = excluded.cursor,"
                                  " updated_at = excluded.updated_at");
    int rc = SQLITE_ERROR;
    if (st) {
        db_bind_text(st, 1, im->o->feed);
        db_bind_text(st, 2, cursor);
        sqlite3_bind_int64(st, 3, util_now());
        rc = sqlite3_step(st);
    }
    /* Cached totals and facets of the workers are stale from this commit on. */
    if (rc == SQLITE_DONE && db_bump(d, "reports") != CP_OK)
        rc = SQLITE_ERROR;
    if (rc == SQLITE_DONE &&
        (st = db_prep(d, "UPDATE import_runs SET pages = pages + 1, inserted = inserted + ?, updated = updated + ?,"
                         " deleted = deleted + ?, unchanged = unchanged + ?, rejected = rejected + ? WHERE id = ?"))) {
        sqlite3_bind_int64(st, 1, c.inserted);
        sqlite3_bind_int64(st, 2, c.updated);
        sqlite3_bind_int64(st, 3, c.deleted);
        sqlite3_bind_int64(st, 4, c.unchanged);
        sqlite3_bind_int64(st, 5, c.rejected);
        sqlite3_bind_int64(st, 6, im->r->run_id);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE) {
        int code = db_err(rc);
        fail(im->err, im->errlen, code, "cannot advance the cursor: %s", sqlite3_errmsg(d->h));
        db_rollback(d);
        im->open_pages = 0;
        memset(&im->pend, 0, sizeof im->pend);
        return code;
    }
    im->open_pages++;
    im->pend.inserted += c.inserted, im->pend.updated += c.updated, im->pend.deleted += c.deleted;
    im->pend.unchanged += c.unchanged, im->pend.rejected += c.rejected;
    return im->open_pages >= im->batch ? flush_pages(im) : CP_OK;
}

/* Store the hotlines document in its own transaction. */
static int commit_hotlines(struct imp *im, const char *body, size_t len)
{
    if (db_begin(im->d) != CP_OK)
        return fail(im->err, im->errlen, CP_BUSY, "database is busy");
    char e[256];
    int st = iccam_hotlines_store(im->d, body, len, im->r->run_id, NULL, e, sizeof e);
    if (st == CP_OK)
        st = db_bump(im->d, "reports"); /* details show hotline names */
    if (st != CP_OK) {
        db_rollback(im->d);
        return fail(im->err, im->errlen, st, "hotlines: %s", e);
    }
    if ((st = db_commit(im->d)) != CP_OK)
        return fail(im->err, im->errlen, st, "hotlines: commit failed: %s", why_failed(im->d));
    return CP_OK;
}

/* ---- file:// transport ---- */

/* The page number of "reports-<digits>.json", or -1. */
static long page_num(const char *name)
{
    if (strncmp(name, "reports-", 8) != 0)
        return -1;
    const char *p = name + 8;
    char *end;
    if (*p < '0' || *p > '9')
        return -1;
    long n = strtol(p, &end, 10);
    return strcmp(end, ".json") == 0 && n >= 0 ? n : -1;
}

/* Order page files by number (so reports-10000 follows reports-9999). */
static int page_cmp(const void *a, const void *b)
{
    long x = ((const struct page_file *)a)->num, y = ((const struct page_file *)b)->num;
    return (x > y) - (x < y);
}

/* List the directory's page files in order. */
static int file_list(struct imp *im)
{
    DIR *dir = opendir(im->base);
    if (!dir)
        return fail(im->err, im->errlen, CP_ERR, "cannot open feed directory %s: %s", im->base, strerror(errno));
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(dir))) {
        long n = page_num(e->d_name);
        if (n < 0 || strlen(e->d_name) >= PAGE_NAME_MAX)
            continue;
        if (im->nfiles == cap) {
            cap = cap ? cap * 2 : 64;
            struct page_file *p = realloc(im->files, (size_t)cap * sizeof *p);
            if (!p) {
                closedir(dir);
                return fail(im->err, im->errlen, CP_ERR, "out of memory");
            }
            im->files = p;
        }
        im->files[im->nfiles].num = n;
        memcpy(im->files[im->nfiles].name, e->d_name, strlen(e->d_name) + 1);
        im->nfiles++;
    }
    closedir(dir);
    if (im->nfiles)
        qsort(im->files, (size_t)im->nfiles, sizeof *im->files, page_cmp);
    return CP_OK;
}

/* Read a feed file whole into im->body, refusing one over the page cap.
 * *missing is set (and CP_OK returned) when the file does not exist. */
static int file_read(struct imp *im, const char *name, int *missing)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", im->base, name);
    buf_reset(&im->body);
    *missing = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return CP_OK;
        }
        return fail(im->err, im->errlen, CP_ERR, "cannot read %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail(im->err, im->errlen, CP_ERR, "%s is not a regular file", path);
    }
    if (sb.st_size > im->max_bytes) {
        close(fd);
        return fail(im->err, im->errlen, CP_BAD, "%s: page is larger than the %ld-byte limit", name, im->max_bytes);
    }
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0) {
        if ((long)(im->body.len + (size_t)n) > im->max_bytes) {
            close(fd);
            return fail(im->err, im->errlen, CP_BAD, "%s: page is larger than the %ld-byte limit", name, im->max_bytes);
        }
        buf_add(&im->body, chunk, (size_t)n);
    }
    int rd_errno = errno;
    close(fd);
    if (n < 0)
        return fail(im->err, im->errlen, CP_ERR, "cannot read %s: %s", path, strerror(rd_errno));
    if (!im->body.p)
        buf_add(&im->body, "", 0);
    return CP_OK;
}

/* Import the page files after the cursor, in order. */
static int file_run(struct imp *im, const char *cursor)
{
    int missing, e;
    if ((e = file_read(im, "hotlines.json", &missing)) != CP_OK)
        return e;
    if (!missing && (e = commit_hotlines(im, im->body.p, im->body.len)) != CP_OK)
        return e;
    if ((e = file_list(im)) != CP_OK)
        return e;
    long after = -1;
    if (*cursor && (after = page_num(cursor)) < 0)
        return fail(im->err, im->errlen, CP_BAD, "stored cursor \"%s\" is not a page file name", cursor);
    im->batch = IMPORT_FILE_BATCH;
    for (int i = 0; i < im->nfiles; i++) {
        const struct page_file *pf = &im->files[i];
        if (pf->num <= after)
            continue;
        if (im->o->max_pages > 0 && im->r->pages + im->open_pages >= im->o->max_pages)
            break;
        /* A page that can't be read or parsed stops the run; the good pages
         * before it are committed first, so the cursor stops just before it. */
        if ((e = file_read(im, pf->name, &missing)) != CP_OK)
            return flush_pages(im) == CP_OK ? e : CP_ERR;
        if (missing) {
            flush_pages(im);
            return fail(im->err, im->errlen, CP_ERR, "page %s disappeared during the run", pf->name);
        }
        struct iccam_page pg;
        char perr[256];
        if ((e = iccam_page_parse(im->body.p, im->body.len, &pg, perr, sizeof perr)) != CP_OK) {
            if (flush_pages(im) != CP_OK)
                return CP_ERR;
            return fail(im->err, im->errlen, e, "%s: %s", pf->name, perr);
        }
        e = commit_page(im, &pg, pf->name);
        iccam_page_free(&pg);
        if (e != CP_OK)
            return e;
    }
    return flush_pages(im);
}

/* ---- http(s) transport ---- */

/* libcurl body sink: append, but abort the transfer the moment the page (after
 * any decompression) exceeds the cap instead of buffering all of it. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct imp *im = arg;
    size_t n = size * nmemb;
    if ((long)(im->body.len + n) > im->max_bytes) {
        im->oversize = 1;
        return 0;
    }
    buf_add(&im->body, data, n);
    return n;
}

/* Sleep for s seconds (fractions allowed). */
static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Transport errors worth another try: the server or the path may recover. */
static int curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

/* Set up the reusable curl handle (feedcurl): pages may come compressed. */
static int http_init(struct imp *im, const char *token)
{
    struct feedcurl_opts fo = {.token = token, .ca_file = im->o->ca_file, .client_cert = im->o->client_cert,
                               .client_key = im->o->client_key, .timeout_s = im->timeout_s, .max_bytes = im->max_bytes,
                               .user_agent = "cport-import/1", .accept = "application/json", .compressed = 1,
                               .sink = on_body, .sink_arg = im};
    if (!(im->curl = feedcurl_handle(&fo, &im->hdrs)))
        return fail(im->err, im->errlen, CP_ERR, "cannot initialise libcurl");
    return CP_OK;
}

/* GET url into im->body with retries. *notfound (may be NULL: 404 is an error)
 * is set for a 404. Returns CP_OK or the run-stopping error. */
static int http_get(struct imp *im, const char *url, const char *what, int *notfound)
{
    CURL *c = im->curl;
    char cerr[CURL_ERROR_SIZE];
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    if (notfound)
        *notfound = 0;
    for (int attempt = 0;; attempt++) {
        buf_reset(&im->body);
        im->oversize = 0;
        cerr[0] = 0;
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_off_t retry_after = 0;
        char why[CURL_ERROR_SIZE + 64];
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            if (code == 200) {
                if (!im->body.p)
                    buf_add(&im->body, "", 0);
                return CP_OK;
            }
            if (code == 404 && notfound) {
                *notfound = 1;
                return CP_OK;
            }
            if (code == 401 || code == 403)
                return fail(im->err, im->errlen, CP_DENIED, "%s: the feed refused access (HTTP %ld); check the token",
                            what, code);
            if (code != 429 && code < 500)
                return fail(im->err, im->errlen, CP_ERR, "%s: unexpected HTTP %ld from the feed", what, code);
            curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
            snprintf(why, sizeof why, "HTTP %ld", code);
        } else if (im->oversize || rc == CURLE_FILESIZE_EXCEEDED) {
            return fail(im->err, im->errlen, CP_BAD, "%s: page is larger than the %ld-byte limit", what,
                        im->max_bytes);
        } else if (rc == CURLE_PARTIAL_FILE) {
            return fail(im->err, im->errlen, CP_BAD, "%s: page body truncated (%s)", what,
                        cerr[0] ? cerr : curl_easy_strerror(rc));
        } else if (curl_retryable(rc)) {
            snprintf(why, sizeof why, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        } else {
            return fail(im->err, im->errlen, CP_ERR, "%s: %s", what, cerr[0] ? cerr : curl_easy_strerror(rc));
        }
        if (attempt >= im->retries)
            return fail(im->err, im->errlen, CP_ERR, "%s: giving up after %d retries: %s", what, im->retries, why);
        double delay = BACKOFF_BASE_S * (double)(1L << (attempt < 16 ? attempt : 16));
        if (delay > BACKOFF_CAP_S)
            delay = BACKOFF_CAP_S;
        if (retry_after > 0)
            delay = (double)retry_after < RETRY_AFTER_CAP_S ? (double)retry_after : RETRY_AFTER_CAP_S;
        sleep_s(delay);
    }
}

/* Import pages from the HTTP feed, following next_cursor. */
static int http_run(struct imp *im, const char *cursor0)
{
    char url[8192];
    int notfound, e;
    snprintf(url, sizeof url, "%s/v1/hotlines", im->base);
    if ((e = http_get(im, url, "hotlines", &notfound)) != CP_OK)
        return e;
    if (!notfound && (e = commit_hotlines(im, im->body.p, im->body.len)) != CP_OK)
        return e;
    char *cursor = strdup(cursor0);
    if (!cursor)
        return fail(im->err, im->errlen, CP_ERR, "out of memory");
    e = CP_OK;
    for (;;) {
        if (im->o->max_pages > 0 && im->r->pages >= im->o->max_pages)
            break;
        struct buf u;
        buf_init(&u);
        buf_printf(&u, "%s/v1/reports", im->base);
        char sep = '?';
        if (im->o->limit > 0) {
            buf_printf(&u, "?limit=%d", im->o->limit);
            sep = '&';
        }
        if (*cursor) {
            char *esc = curl_easy_escape(im->curl, cursor, 0);
            buf_printf(&u, "%ccursor=%s", sep, esc ? esc : "");
            curl_free(esc);
        }
        char what[128];
        snprintf(what, sizeof what, "page after cursor \"%.60s\"", *cursor ? cursor : "(start)");
        e = http_get(im, u.p, what, NULL);
        buf_free(&u);
        if (e != CP_OK)
            break;
        struct iccam_page pg;
        char perr[256];
        if ((e = iccam_page_parse(im->body.p, im->body.len, &pg, perr, sizeof perr)) != CP_OK) {
            fail(im->err, im->errlen, e, "%s: %s", what, perr);
            break;
        }
        const char *next = pg.next_cursor ? pg.next_cursor : cursor;
        if (pg.has_more && strcmp(next, cursor) == 0) {
            iccam_page_free(&pg);
            e = fail(im->err, im->errlen, CP_BAD, "%s: feed says has_more but does not advance its cursor", what);
            break;
        }
        e = commit_page(im, &pg, *next ? next : NULL);
        int more = pg.has_more;
        char *nc = strdup(next);
        iccam_page_free(&pg);
        if (!nc && e == CP_OK)
            e = fail(im->err, im->errlen, CP_ERR, "out of memory");
        free(cursor);
        cursor = nc;
        if (e != CP_OK || !more)
            break;
    }
    free(cursor);
    return e;
}

/* ---- the run ---- */

/* Take the import lock without waiting; the descriptor holds it until closed. */
static int take_lock(const char *path, int *fd, char *err, size_t errlen)
{
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return fail(err, errlen, CP_ERR, "cannot open lock file %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(*fd);
        *fd = -1;
        return busy ? fail(err, errlen, CP_CONFLICT, "another import is running (lock %s)", path)
                    : fail(err, errlen, CP_ERR, "cannot lock %s: %s", path, strerror(errno));
    }
    return CP_OK;
}

/* One import run, see importer.h. */
int importer_run(struct db *d, const struct importer_opts *o, struct importer_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (!o->feed || !*o->feed)
        return fail(err, errlen, CP_BAD, "no feed given");
    struct imp im;
    memset(&im, 0, sizeof im);
    im.d = d, im.o = o, im.r = r, im.err = err, im.errlen = errlen;
    im.batch = 1;
    im.max_bytes = o->max_page_bytes > 0 ? o->max_page_bytes : DEFAULT_MAX_PAGE_BYTES;
    im.retries = o->max_retries > 0 ? o->max_retries : o->max_retries < 0 ? 0 : DEFAULT_RETRIES;
    im.timeout_s = o->timeout_s > 0 ? o->timeout_s : DEFAULT_TIMEOUT;
    buf_init(&im.body);
    const char *feed = o->feed;
    if (strncmp(feed, "file://", 7) == 0) {
        im.is_file = 1;
        feed += 7;
        if (feed[0] != '/')
            return fail(err, errlen, CP_BAD, "file feed must be an absolute path: file:///dir");
    } else if (strncasecmp(feed, "http://", 7) == 0) {
        if (!loopback_http(feed))
            return fail(err, errlen, CP_BAD, "plain http is only allowed to loopback; use https");
    } else if (strncasecmp(feed, "https://", 8) != 0) {
        return fail(err, errlen, CP_BAD, "feed must be https://, http://127.0.0.1 or file:///dir");
    }
    if (strlen(feed) >= sizeof im.base)
        return fail(err, errlen, CP_BAD, "feed URL too long");
    snprintf(im.base, sizeof im.base, "%s", feed);
    for (size_t n = strlen(im.base); n > 1 && im.base[n - 1] == '/'; n--)
        im.base[n - 1] = 0;
    char token[4096] = "";
    int e;
    if (!im.is_file && o->token_file && (e = read_token(o->token_file, token, sizeof token, err, errlen)) != CP_OK)
        return e;
    char lock_path[4200];
    if (o->lock_path)
        snprintf(lock_path, sizeof lock_path, "%s", o->lock_path);
    else
        snprintf(lock_path, sizeof lock_path, "%s.import.lock", d->path);
    int lock_fd;
    if ((e = take_lock(lock_path, &lock_fd, err, errlen)) != CP_OK) {
        memset(token, 0, sizeof token);
        return e;
    }
    if ((e = run_start(&im)) != CP_OK) {
        close(lock_fd);
        memset(token, 0, sizeof token);
        return e;
    }
    /* Fewer, larger WAL checkpoints while pages stream in (about 8% of import CPU
     * at the default of 1000), each one complete (import_wal_hook); the
     * connection's own setting is restored after. */
    int autockpt = 1000;
    sqlite3_stmt *ck = db_prep(d, "PRAGMA wal_autocheckpoint");
    if (ck && sqlite3_step(ck) == SQLITE_ROW)
        autockpt = sqlite3_column_int(ck, 0);
    if (ck)
        sqlite3_reset(ck);
    sqlite3_wal_hook(d->h, import_wal_hook, d);
    /* A large page cache: the indexes of a million reports do not fit in the
     * default 8 MB, and every insert would read their pages again. */
    db_exec(d, "PRAGMA cache_size=-262144", NULL, 0);
    char cursor[4200];
    e = load_cursor(&im, cursor, sizeof cursor);
    if (e == CP_OK && im.is_file) {
        e = file_run(&im, cursor);
    } else if (e == CP_OK) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        e = http_init(&im, token[0] ? token : NULL);
        if (e == CP_OK)
            e = http_run(&im, cursor);
        curl_slist_free_all(im.hdrs);
        curl_easy_cleanup(im.curl);
    }
    /* The dashboard's day sums of the days the pages changed, even after a
     * run that stopped part-way (its pages are in), under the same WAL hook
     * and page cache as the pages. */
    if (rollup_refresh(d, &r->rollup_days, r->rollup_error, sizeof r->rollup_error) != CP_OK && !r->rollup_error[0])
        snprintf(r->rollup_error, sizeof r->rollup_error, "rebuilding the dashboard's day sums failed");
    /* Media after the metadata: a fetch failure is recorded on its item and
     * never undoes or fails the pages imported. */
    if (e == CP_OK && o->media) {
        struct mfetch_opts mo = *o->media;
        mo.base = im.base;
        mo.is_file = im.is_file;
        mo.token = token[0] ? token : NULL;
        mo.ca_file = o->ca_file;
        mo.client_cert = o->client_cert;
        mo.client_key = o->client_key;
        e = mfetch_run(d, &mo, &r->media, err, errlen);
        if (e != CP_OK) {
            char m[600];
            snprintf(m, sizeof m, "media: %s", err);
            snprintf(err, errlen, "%s", m);
        }
    }
    memset(token, 0, sizeof token);
    run_end(&im, e == CP_OK ? NULL : err);
    sqlite3_wal_autocheckpoint(d->h, autockpt);
    sqlite3_wal_checkpoint_v2(d->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    free(im.files);
    buf_free(&im.body);
    close(lock_fd);
    return e;
}
