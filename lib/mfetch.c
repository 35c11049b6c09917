/*
 * mfetch - fetch, hash, preview and store media content: see mfetch.h. Network
 * and file I/O happen outside transactions; results are written in short
 * batched transactions after the files are safely in the store, so a killed run
 * leaves at worst a stored file that the next run finds and links.
 */
#include "mfetch.h"
#include "feedcurl.h"
#include "digest.h"
#include "image.h"
#include "mstore.h"
#include "pdq.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MFETCH_BATCH 256          /* items read from the database at a time */
#define MFETCH_FLUSH_ITEMS 64     /* results written per transaction */
#define MFETCH_FLUSH_S 1          /* ... or after this long */
#define MFETCH_BACKOFF_S 0.5
#define MFETCH_BACKOFF_CAP_S 10.0
#define MFETCH_TEMP_AGE_S 3600    /* a store temp file this old was never finished */

/* Outcome classes of one fetch. */
enum { GOT = 0, REFUSED = 1, FAILED = 2 };

/* One pending item as read from the database. */
struct item {
    int64_t id;
    char *ref;
    uint8_t md5[16], sha1[20], sha256[32], pdq[32];
    int has_md5, has_sha1, has_sha256, has_pdq;
};

/* One result waiting to be written. */
struct result {
    int64_t id;
    int state; /* GOT (stored), REFUSED, FAILED */
    char error[300];
    char mismatch[96];
    int new_file; /* a media_files row to insert */
    struct {
        uint8_t sha256[32], md5[16], sha1[20], pdq[32];
        int64_t bytes;
        const char *type;
        int has_pdq, pdq_quality, w, h, preview;
        char decode_error[256];
    } f;
};

/* The run's state. */
struct run {
    struct db *d;
    const struct mfetch_opts *o;
    struct mfetch_result *r;
    struct mstore ms;
    CURL *curl;
    struct curl_slist *hdrs;
    struct buf body;
    int oversize;
    struct result *pend;
    int npend;
    time_t flushed;
};

/* Free what mfetch_process filled in. */
void mfetch_file_free(struct mfetch_file *f) { buf_free(&f->preview); }

/* Whether a sniffed type is media we keep: images and videos. */
static int is_media_type(const char *t) { return strncmp(t, "image/", 6) == 0 || strncmp(t, "video/", 6) == 0; }

/* Everything but the digests: the type, and for decodable images PDQ and the
 * preview. */
static int analyse(const uint8_t *p, size_t n, long max_pixels, int preview_size, struct mfetch_file *f, char *err,
                   size_t errlen)
{
    f->type = image_sniff(p, n);
    if (!is_media_type(f->type))
        return fail(err, errlen, CP_BAD, "the content is %s, not an image or a video", f->type);
    if (!image_decodable(f->type)) {
        snprintf(f->decode_error, sizeof f->decode_error, "no decoder for %s: hashed, not previewed", f->type);
        return CP_OK;
    }
    struct image img = {0};
    char derr[256];
    int st = image_decode(p, n, max_pixels, &img, derr, sizeof derr);
    if (st == CP_ERR)
        return fail(err, errlen, CP_ERR, "%s", derr);
    if (st != CP_OK) {
        snprintf(f->decode_error, sizeof f->decode_error, "%s", derr);
        return CP_OK;
    }
    f->w = img.w;
    f->h = img.h;
    if (pdq_hash_image(&img, f->pdq, &f->pdq_quality) == CP_OK)
        f->has_pdq = 1;
    else
        snprintf(f->decode_error, sizeof f->decode_error, "image of %dx%d pixels is too small for PDQ", img.w, img.h);
    st = image_preview(&img, preview_size, &f->preview, derr, sizeof derr);
    image_free(&img);
    if (st != CP_OK)
        return fail(err, errlen, CP_ERR, "preview: %s", derr);
    return CP_OK;
}

/* See mfetch.h. */
int mfetch_process(const uint8_t *p, size_t n, long max_pixels, int preview_size, struct mfetch_file *f, char *err,
                   size_t errlen)
{
    memset(f, 0, sizeof *f);
    buf_init(&f->preview);
    digest_all(p, n, f->md5, f->sha1, f->sha256);
    return analyse(p, n, max_pixels, preview_size, f, err, errlen);
}

/* ---- fetching ---- */

/* Sleep for s seconds (fractions allowed). */
static void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Read base/ref from the feed directory: a regular file (no symlink at the
 * last step, no device or pipe that never ends), at most max_bytes. */
static int fetch_file(struct run *rn, const char *ref, char *err, size_t errlen)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", rn->o->base, ref);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(err, errlen, FAILED, "cannot open %s: %s", ref, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return fail(err, errlen, REFUSED, "%s is not a regular file", ref);
    }
    if (sb.st_size > rn->o->max_bytes) {
        close(fd);
        return fail(err, errlen, REFUSED, "content of %lld bytes is larger than the %ld-byte limit",
                    (long long)sb.st_size, rn->o->max_bytes);
    }
    buf_reset(&rn->body);
    char chunk[65536];
    for (;;) {
        ssize_t k = read(fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            return fail(err, errlen, FAILED, "cannot read %s: %s", ref, strerror(e));
        }
        if (k == 0)
            break;
        if ((long)(rn->body.len + (size_t)k) > rn->o->max_bytes) {
            close(fd);
            return fail(err, errlen, REFUSED, "content is larger than the %ld-byte limit", rn->o->max_bytes);
        }
        buf_add(&rn->body, chunk, (size_t)k);
    }
    close(fd);
    return GOT;
}

/* libcurl body sink: append, and abort the moment the content passes the cap. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct run *rn = arg;
    size_t n = size * nmemb;
    if ((long)(rn->body.len + n) > rn->o->max_bytes) {
        rn->oversize = 1;
        return 0;
    }
    buf_add(&rn->body, data, n);
    return n;
}

/* A reusable handle for the feed (feedcurl), asking for no compression: media
 * is compressed already, and an inflated body could be a bomb. */
static int http_init(struct run *rn, char *err, size_t errlen)
{
    const struct mfetch_opts *o = rn->o;
    struct feedcurl_opts fo = {.token = o->token, .ca_file = o->ca_file, .client_cert = o->client_cert,
                               .client_key = o->client_key, .timeout_s = o->timeout_s, .max_bytes = o->max_bytes,
                               .user_agent = "cport-import/1 (media)", .accept = "image/*, video/*",
                               .sink = on_body, .sink_arg = rn};
    if (!(rn->curl = feedcurl_handle(&fo, &rn->hdrs)))
        return fail(err, errlen, CP_ERR, "cannot initialise libcurl");
    return CP_OK;
}

/* The URL of a content path: the base, then each path segment escaped. */
static void content_url(struct run *rn, const char *ref, struct buf *u)
{
    buf_adds(u, rn->o->base);
    const char *s = ref;
    while (*s) {
        size_t k = strcspn(s, "/");
        char *esc = curl_easy_escape(rn->curl, s, (int)k);
        buf_adds(u, "/");
        buf_adds(u, esc ? esc : "");
        curl_free(esc);
        s += k;
        while (*s == '/')
            s++;
    }
}

/* Transport errors worth another try. */
static int transient(CURLcode rc)
{
    return rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
           rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
           rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

/* GET one content with bounded retries of transient failures. */
static int fetch_http(struct run *rn, const char *ref, char *err, size_t errlen)
{
    struct buf u;
    buf_init(&u);
    content_url(rn, ref, &u);
    CURL *c = rn->curl;
    char cerr[CURL_ERROR_SIZE];
    curl_easy_setopt(c, CURLOPT_URL, u.p);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    buf_free(&u);
    for (int attempt = 0;; attempt++) {
        buf_reset(&rn->body);
        rn->oversize = 0;
        cerr[0] = 0;
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_off_t retry_after = 0;
        char why[CURL_ERROR_SIZE + 64];
        if (rn->oversize || rc == CURLE_FILESIZE_EXCEEDED)
            return fail(err, errlen, REFUSED, "content is larger than the %ld-byte limit", rn->o->max_bytes);
        if (rc == CURLE_OK) {
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            if (code == 200)
                return GOT;
            if (code != 429 && code < 500)
                return fail(err, errlen, FAILED, "HTTP %ld from the feed", code);
            curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry_after);
            snprintf(why, sizeof why, "HTTP %ld", code);
        } else if (transient(rc)) {
            snprintf(why, sizeof why, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        } else {
            return fail(err, errlen, FAILED, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        }
        if (attempt >= rn->o->retries)
            return fail(err, errlen, FAILED, "gave up after %d retries: %s", rn->o->retries, why);
        double delay = MFETCH_BACKOFF_S * (double)(1L << (attempt < 8 ? attempt : 8));
        if (retry_after > 0)
            delay = (double)retry_after;
        nap(delay < MFETCH_BACKOFF_CAP_S ? delay : MFETCH_BACKOFF_CAP_S);
    }
}

/* ---- results ---- */

/* Bind a blob of n bytes or NULL. */
static void bind_blob(sqlite3_stmt *st, int i, const void *p, int n, int has)
{
    if (has)
        sqlite3_bind_blob(st, i, p, n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Write the pending results in one transaction. */
static int flush(struct run *rn, char *err, size_t errlen)
{
    if (!rn->npend)
        return CP_OK;
    /* The batch's files reach the disk before the database refers to them. */
    int e = mstore_sync(&rn->ms, err, errlen);
    if (e != CP_OK)
        return e;
    struct db *d = rn->d;
    if (db_begin(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "database is busy");
    sqlite3_stmt *ins = db_prep(d, "INSERT OR IGNORE INTO media_files(sha256, bytes, type, md5, sha1, pdq, pdq_quality,"
                                   " width, height, preview, decode_error, stored_at)"
                                   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_stmt *ok = db_prep(d, "UPDATE media SET fetch_state = 'stored', fetch_attempts = fetch_attempts + 1,"
                                  " fetch_error = NULL, fetched_at = ?, file_sha256 = ?, hash_mismatch = ? WHERE id = ?");
    sqlite3_stmt *bad = db_prep(d, "UPDATE media SET fetch_state = ?, fetch_attempts = fetch_attempts + 1,"
                                   " fetch_error = ?, fetched_at = ? WHERE id = ?");
    int rc = ins && ok && bad ? SQLITE_DONE : SQLITE_ERROR;
    int64_t now = util_now();
    for (int i = 0; i < rn->npend && rc == SQLITE_DONE; i++) {
        struct result *x = &rn->pend[i];
        if (x->state == GOT && x->new_file) {
            sqlite3_reset(ins);
            sqlite3_bind_blob(ins, 1, x->f.sha256, 32, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, x->f.bytes);
            db_bind_text(ins, 3, x->f.type);
            sqlite3_bind_blob(ins, 4, x->f.md5, 16, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 5, x->f.sha1, 20, SQLITE_STATIC);
            bind_blob(ins, 6, x->f.pdq, 32, x->f.has_pdq);
            if (x->f.has_pdq)
                sqlite3_bind_int(ins, 7, x->f.pdq_quality);
            else
                sqlite3_bind_null(ins, 7);
            if (x->f.w) {
                sqlite3_bind_int(ins, 8, x->f.w);
                sqlite3_bind_int(ins, 9, x->f.h);
            } else {
                sqlite3_bind_null(ins, 8);
                sqlite3_bind_null(ins, 9);
            }
            sqlite3_bind_int(ins, 10, x->f.preview);
            db_bind_text(ins, 11, x->f.decode_error[0] ? x->f.decode_error : NULL);
            sqlite3_bind_int64(ins, 12, now);
            rc = sqlite3_step(ins);
        }
        if (rc != SQLITE_DONE)
            break;
        sqlite3_stmt *u = x->state == GOT ? ok : bad;
        sqlite3_reset(u);
        if (x->state == GOT) {
            sqlite3_bind_int64(u, 1, now);
            sqlite3_bind_blob(u, 2, x->f.sha256, 32, SQLITE_STATIC);
            db_bind_text(u, 3, x->mismatch[0] ? x->mismatch : NULL);
            sqlite3_bind_int64(u, 4, x->id);
        } else {
            db_bind_text(u, 1, x->state == REFUSED ? "refused" : "failed");
            db_bind_text(u, 2, x->error);
            sqlite3_bind_int64(u, 3, now);
            sqlite3_bind_int64(u, 4, x->id);
        }
        rc = sqlite3_step(u);
    }
    if (rc != SQLITE_DONE) {
        fail(err, errlen, db_err(rc), "cannot record media results: %s", sqlite3_errmsg(d->h));
        db_rollback(d);
        return db_err(rc);
    }
    if (db_commit(d) != CP_OK)
        return fail(err, errlen, CP_BUSY, "cannot record media results: commit failed: %s",
                    sqlite3_errcode(d->h) != SQLITE_OK ? sqlite3_errmsg(d->h) : "unknown error");
    rn->npend = 0;
    rn->flushed = time(NULL);
    return CP_OK;
}

/* Whether a content is already stored and recorded (or about to be, by a
 * result still waiting to be written). */
static int known_file(struct run *rn, const uint8_t sha256[32])
{
    for (int i = 0; i < rn->npend; i++)
        if (rn->pend[i].state == GOT && rn->pend[i].new_file && memcmp(rn->pend[i].f.sha256, sha256, 32) == 0)
            return mstore_has(&rn->ms, sha256);
    sqlite3_stmt *st = db_prep(rn->d, "SELECT 1 FROM media_files WHERE sha256 = ?");
    if (!st)
        return 0;
    sqlite3_bind_blob(st, 1, sha256, 32, SQLITE_STATIC);
    int yes = sqlite3_step(st) == SQLITE_ROW;
    db_done(st);
    return yes && mstore_has(&rn->ms, sha256);
}

/* Which of ICCAM's hashes disagree with ours: "md5,sha1,sha256,pdq:<distance>". */
static void mismatches(const struct item *it, const struct mfetch_file *f, char *out, size_t len)
{
    struct buf b;
    buf_init(&b);
    if (it->has_md5 && memcmp(it->md5, f->md5, 16) != 0)
        buf_adds(&b, ",md5");
    if (it->has_sha1 && memcmp(it->sha1, f->sha1, 20) != 0)
        buf_adds(&b, ",sha1");
    if (it->has_sha256 && memcmp(it->sha256, f->sha256, 32) != 0)
        buf_adds(&b, ",sha256");
    if (it->has_pdq && f->has_pdq) {
        int dist = pdq_distance(it->pdq, f->pdq);
        if (dist > MFETCH_PDQ_TOLERANCE)
            buf_printf(&b, ",pdq:%d", dist);
    }
    snprintf(out, len, "%s", b.len ? b.p + 1 : "");
    buf_free(&b);
}

/* Fetch and keep one item; its result joins the pending list. Returns CP_OK or
 * an error that stops the run (store or memory trouble). */
static int one(struct run *rn, const struct item *it, char *err, size_t errlen)
{
    struct result *x = &rn->pend[rn->npend];
    memset(x, 0, sizeof *x);
    x->id = it->id;
    rn->r->tried++;
    int got = rn->o->is_file ? fetch_file(rn, it->ref, x->error, sizeof x->error)
                             : fetch_http(rn, it->ref, x->error, sizeof x->error);
    if (got != GOT) {
        x->state = got;
        rn->npend++;
        if (got == REFUSED)
            rn->r->refused++;
        else
            rn->r->failed++;
        return CP_OK;
    }
    const uint8_t *p = (const uint8_t *)(rn->body.p ? rn->body.p : "");
    size_t n = rn->body.len;
    struct mfetch_file f;
    memset(&f, 0, sizeof f);
    buf_init(&f.preview);
    digest_all(p, n, f.md5, f.sha1, f.sha256);
    int e = CP_OK;
    if (known_file(rn, f.sha256)) {
        /* The same bytes under another item: link, and compare with this item's
         * hashes using the PDQ stored with the file. */
        for (int i = 0; i < rn->npend; i++)
            if (rn->pend[i].new_file && memcmp(rn->pend[i].f.sha256, f.sha256, 32) == 0 && rn->pend[i].f.has_pdq) {
                memcpy(f.pdq, rn->pend[i].f.pdq, 32);
                f.has_pdq = 1;
            }
        sqlite3_stmt *st = f.has_pdq ? NULL : db_prep(rn->d, "SELECT pdq FROM media_files WHERE sha256 = ?");
        if (st) {
            sqlite3_bind_blob(st, 1, f.sha256, 32, SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
                memcpy(f.pdq, sqlite3_column_blob(st, 0), 32);
                f.has_pdq = 1;
            }
            db_done(st);
        }
        rn->r->deduplicated++;
    } else {
        e = analyse(p, n, rn->o->max_pixels, rn->o->preview_size, &f, x->error, sizeof x->error);
        if (e == CP_BAD) {
            x->state = REFUSED;
            rn->npend++;
            rn->r->refused++;
            mfetch_file_free(&f);
            return CP_OK;
        }
        if (e != CP_OK)
            fail(err, errlen, e, "%s", x->error);
        /* A file no row refers to may be the remains of a crash before its
         * batch was synced: kept only when it verifies. */
        int64_t had;
        char verr[200];
        if (e == CP_OK && mstore_has(&rn->ms, f.sha256) &&
            mstore_verify(&rn->ms, f.sha256, &had, verr, sizeof verr) != CP_OK)
            e = mstore_remove(&rn->ms, f.sha256, err, errlen);
        if (e == CP_OK)
            e = mstore_put(&rn->ms, f.sha256, p, n, err, errlen);
        if (e == CP_OK && f.preview.len)
            e = mstore_put_preview(&rn->ms, f.sha256, f.preview.p, f.preview.len, err, errlen);
        if (e != CP_OK) {
            mfetch_file_free(&f);
            return CP_ERR;
        }
        x->new_file = 1;
        memcpy(x->f.md5, f.md5, 16);
        memcpy(x->f.sha1, f.sha1, 20);
        memcpy(x->f.pdq, f.pdq, 32);
        x->f.bytes = (int64_t)n;
        x->f.type = f.type;
        x->f.has_pdq = f.has_pdq;
        x->f.pdq_quality = f.pdq_quality;
        x->f.w = f.w;
        x->f.h = f.h;
        x->f.preview = f.preview.len > 0;
        snprintf(x->f.decode_error, sizeof x->f.decode_error, "%s", f.decode_error);
        rn->r->stored++;
    }
    memcpy(x->f.sha256, f.sha256, 32);
    mismatches(it, &f, x->mismatch, sizeof x->mismatch);
    if (x->mismatch[0])
        rn->r->mismatched++;
    x->state = GOT;
    rn->npend++;
    mfetch_file_free(&f);
    return CP_OK;
}

/* Remove the temp files of puts that never finished: a run killed (or a machine
 * that lost power) between creating ".tmp-XXXXXX" in a store subdirectory and
 * renaming it into place leaves one behind, and nothing else would ever remove
 * it. Runs hold the import lock; the age keeps clear of a put in progress by
 * anything else. Best effort: a file that cannot be removed stays for the next. */
static void sweep_temp(const struct mstore *ms)
{
    const char *const tops[] = {ms->dir, ms->preview_dir};
    time_t before = time(NULL) - MFETCH_TEMP_AGE_S;
    for (int i = 0; i < 2; i++) {
        DIR *top = opendir(tops[i]);
        struct dirent *e;
        while (top && (e = readdir(top))) {
            if (e->d_name[0] == '.')
                continue;
            int fd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            DIR *sub = fd >= 0 ? fdopendir(fd) : NULL;
            if (!sub && fd >= 0)
                close(fd);
            struct dirent *f;
            struct stat st;
            while (sub && (f = readdir(sub)))
                if (strncmp(f->d_name, ".tmp-", 5) == 0 &&
                    fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                    st.st_mtime < before)
                    unlinkat(dirfd(sub), f->d_name, 0);
            if (sub)
                closedir(sub);
        }
        if (top)
            closedir(top);
    }
}

/* Copy a blob column of n bytes into out; 1 when it had exactly n bytes. */
static int col_blob(sqlite3_stmt *st, int col, uint8_t *out, int n)
{
    if (sqlite3_column_bytes(st, col) != n)
        return 0;
    memcpy(out, sqlite3_column_blob(st, col), (size_t)n);
    return 1;
}

/* Read the next batch of items after id `after`. */
static int load_batch(struct run *rn, int64_t after, struct item *items, int *n)
{
    *n = 0;
    sqlite3_stmt *st = db_prep(rn->d, "SELECT id, content_ref, md5, sha1, sha256, pdq FROM media"
                                      " WHERE id > ? AND content_ref IS NOT NULL AND (fetch_state = 'pending'"
                                      " OR (fetch_state = 'failed' AND fetch_attempts < ?)) ORDER BY id LIMIT ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, rn->o->attempts);
    sqlite3_bind_int(st, 3, MFETCH_BATCH);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct item *it = &items[(*n)++];
        memset(it, 0, sizeof *it);
        it->id = sqlite3_column_int64(st, 0);
        it->ref = strdup(db_text(st, 1));
        it->has_md5 = col_blob(st, 2, it->md5, 16);
        it->has_sha1 = col_blob(st, 3, it->sha1, 20);
        it->has_sha256 = col_blob(st, 4, it->sha256, 32);
        it->has_pdq = col_blob(st, 5, it->pdq, 32);
        if (!it->ref) {
            (*n)--;
            rc = SQLITE_NOMEM;
            break;
        }
    }
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* How many items this run will try. */
static long count_pending(struct run *rn)
{
    sqlite3_stmt *st = db_prep(rn->d, "SELECT count(*) FROM media WHERE content_ref IS NOT NULL AND"
                                      " (fetch_state = 'pending' OR (fetch_state = 'failed' AND fetch_attempts < ?))");
    long n = 0;
    if (st) {
        sqlite3_bind_int(st, 1, rn->o->attempts);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = (long)sqlite3_column_int64(st, 0);
        db_done(st);
    }
    return n;
}

/* Delete the stored contents no media item refers to any more (their reports
 * withdrawn, or the item's content changed): keeping material nobody may see
 * is a liability. File and preview first, then the row, so a crash between
 * leaves a row without file, which the next run removes. It runs under the
 * import lock, so nothing adds a reference meanwhile. */
static int collect(struct run *rn, char *err, size_t errlen)
{
    for (;;) {
        uint8_t gone[256][32];
        int n = 0, rc;
        sqlite3_stmt *st = db_prep(rn->d, "SELECT sha256 FROM media_files f WHERE NOT EXISTS"
                                          " (SELECT 1 FROM media m WHERE m.file_sha256 = f.sha256) LIMIT 256");
        if (!st)
            return fail(err, errlen, CP_ERR, "cannot look for unused media files");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 256)
            if (sqlite3_column_bytes(st, 0) == 32)
                memcpy(gone[n++], sqlite3_column_blob(st, 0), 32);
        db_done(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            return fail(err, errlen, db_err(rc), "cannot look for unused media files: %s", sqlite3_errmsg(rn->d->h));
        if (!n)
            return CP_OK;
        for (int i = 0; i < n; i++)
            if (mstore_remove(&rn->ms, gone[i], err, errlen) != CP_OK)
                return CP_ERR;
        int e = db_begin(rn->d);
        for (int i = 0; i < n && e == CP_OK; i++) {
            st = db_prep(rn->d, "DELETE FROM media_files WHERE sha256 = ?1 AND NOT EXISTS"
                                " (SELECT 1 FROM media m WHERE m.file_sha256 = ?1)");
            if (!st) {
                e = CP_ERR;
                break;
            }
            sqlite3_bind_blob(st, 1, gone[i], 32, SQLITE_STATIC);
            rc = sqlite3_step(st);
            db_done(st);
            if (rc != SQLITE_DONE)
                e = db_err(rc);
            else
                rn->r->removed += sqlite3_changes(rn->d->h);
        }
        if (e == CP_OK)
            e = db_commit(rn->d);
        else
            db_rollback(rn->d);
        if (e != CP_OK)
            return fail(err, errlen, e, "cannot remove unused media files from the database");
    }
}

/* See mfetch.h. */
int mfetch_run(struct db *d, const struct mfetch_opts *o, struct mfetch_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    struct run rn;
    memset(&rn, 0, sizeof rn);
    rn.d = d, rn.o = o, rn.r = r;
    int e = mstore_open(&rn.ms, o->data_dir, o->key_dir, err, errlen);
    if (e != CP_OK)
        return e;
    rn.ms.lazy_sync = 1;
    sweep_temp(&rn.ms);
    /* Decoding and PDQ allocate and free a few megabytes an image; keep them
     * in the heap instead of mapping and unmapping them every time. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    buf_init(&rn.body);
    struct item *items = calloc(MFETCH_BATCH, sizeof *items);
    rn.pend = calloc(MFETCH_FLUSH_ITEMS, sizeof *rn.pend);
    if (!items || !rn.pend)
        e = fail(err, errlen, CP_ERR, "out of memory");
    if (e == CP_OK && !o->is_file) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        e = http_init(&rn, err, errlen);
    }
    long total = e == CP_OK ? count_pending(&rn) : 0;
    if (o->max_items > 0 && total > o->max_items)
        total = o->max_items;
    rn.flushed = time(NULL);
    int64_t after = 0;
    while (e == CP_OK) {
        int n;
        if ((e = load_batch(&rn, after, items, &n)) != CP_OK) {
            fail(err, errlen, e, "cannot read pending media: %s", sqlite3_errmsg(d->h));
            break;
        }
        if (!n)
            break;
        for (int i = 0; i < n && e == CP_OK; i++) {
            if (o->max_items > 0 && r->tried >= o->max_items)
                break;
            after = items[i].id;
            e = one(&rn, &items[i], err, errlen);
            if (e == CP_OK && (rn.npend >= MFETCH_FLUSH_ITEMS || time(NULL) - rn.flushed >= MFETCH_FLUSH_S))
                e = flush(&rn, err, errlen);
            if (o->progress)
                o->progress(o->progress_arg, r->tried, total);
        }
        for (int i = 0; i < n; i++)
            free(items[i].ref);
        if (o->max_items > 0 && r->tried >= o->max_items)
            break;
    }
    /* What was fetched before a stop is still recorded. */
    char ferr[256];
    int fe = flush(&rn, ferr, sizeof ferr);
    if (e == CP_OK && fe != CP_OK) {
        e = fe;
        snprintf(err, errlen, "%s", ferr);
    }
    if (e == CP_OK)
        e = collect(&rn, err, errlen);
    if (rn.curl) {
        curl_slist_free_all(rn.hdrs);
        curl_easy_cleanup(rn.curl);
    }
    free(items);
    free(rn.pend);
    buf_free(&rn.body);
    mstore_close(&rn.ms);
    return e;
}
