/*
 * api_media - one media item: its metadata and what the fetch learnt
 * (GET /media/{id}), its blurred greyscale preview (served by nginx through
 * X-Accel-Redirect), and its original (decrypted by the worker and streamed,
 * only under an agreement with media_content, after re-authentication, audited
 * before a byte goes out). Also the analyst's preview preferences.
 *
 * Visibility follows the item's report: out of scope is 404; hashes and fetch
 * results need media metadata; preview and original need media content.
 */
#include "handlers.h"
#include "log.h"
#include "mstore.h"
#include "sqlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The worker's media store, opened on first use (the key is read once). */
static struct mstore store;
static int store_ready;

/* The store, or NULL (logged) when the key cannot be read. */
static struct mstore *media_store(struct ctx *c)
{
    if (store_ready)
        return &store;
    char data[4096], keys[4096], err[300];
    config_data_dir(c->cfg, data, sizeof data);
    config_key_dir(c->cfg, c->cfg->db, keys, sizeof keys);
    if (mstore_open(&store, data, keys, err, sizeof err) != CP_OK) {
        snprintf(c->err, sizeof c->err, "media store: %s", err);
        return NULL;
    }
    store_ready = 1;
    return &store;
}

/* Hex of a blob column of n bytes, or null. */
static void hex_col(struct jw *w, const char *k, sqlite3_stmt *st, int col, int n)
{
    jw_key(w, k);
    if (sqlite3_column_bytes(st, col) != n) {
        jw_null(w);
        return;
    }
    char hex[129];
    util_hex_encode(sqlite3_column_blob(st, col), (size_t)n, hex);
    jw_str(w, hex);
}

/* The columns h_media_get reads (see media_select). */
enum {
    M_ID, M_REPORT, M_ICCAM, M_TYPE, M_MIME, M_BYTES, M_W, M_H, M_DUR, M_URL, M_MD5, M_SHA1, M_SHA256, M_PDQ,
    M_PDQQ, M_STATE, M_ATTEMPTS, M_ERROR, M_FETCHED, M_MISMATCH, F_TYPE, F_BYTES, F_MD5, F_SHA1, F_SHA256, F_PDQ,
    F_PDQQ, F_W, F_H, F_PREVIEW, F_DECODE, S_META, S_CONTENT
};

/* Select one item in the caller's scope with its stored file and the caller's
 * metadata and content reach. */
static sqlite3_stmt *media_select(struct ctx *c, int64_t id)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT m.id, m.report_id, m.iccam_media_id, m.media_type, m.mime, m.bytes, m.width, m.height,"
                 " m.duration_s, m.content_url, m.md5, m.sha1, m.sha256, m.pdq, m.pdq_quality, m.fetch_state,"
                 " m.fetch_attempts, m.fetch_error, m.fetched_at, m.hash_mismatch, f.type, f.bytes, f.md5, f.sha1,"
                 " f.sha256, f.pdq, f.pdq_quality, f.width, f.height, f.preview, f.decode_error, ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, ", ");
    scope_where(&c->scope, SCOPE_CONTENT, &q);
    sqlq_sql(&q, " FROM media m JOIN reports r ON r.id = m.report_id"
                 " LEFT JOIN media_files f ON f.sha256 = m.file_sha256 WHERE m.id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND ");
    scope_where(&c->scope, SCOPE_SEE, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    return st;
}

/* Step the item's row: CP_OK with the row, CP_NOTFOUND, or the error. */
static int media_row(struct ctx *c, int64_t id, sqlite3_stmt **out)
{
    *out = NULL;
    if (!id)
        return CP_NOTFOUND;
    sqlite3_stmt *st = media_select(c, id);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    *out = st;
    return CP_OK;
}

/* The "content" object: the fetch state for everyone who sees the item; what
 * was learnt from the bytes (type, size, hashes, mismatches) with media
 * metadata; whether a preview and the original can be had with media content. */
static void content_write(struct jw *w, sqlite3_stmt *st, int meta, int content)
{
    jw_key(w, "content");
    jw_obj(w);
    jw_key(w, "state");
    const char *state = db_text(st, M_STATE);
    jw_str(w, *state ? state : "none");
    jw_col_int(w, "attempts", st, M_ATTEMPTS);
    jw_col_text(w, "error", st, M_ERROR);
    jw_col_time(w, "fetched_at", st, M_FETCHED);
    int stored = sqlite3_column_type(st, F_TYPE) != SQLITE_NULL;
    if (meta && stored) {
        jw_col_text(w, "type", st, F_TYPE);
        jw_col_int(w, "bytes", st, F_BYTES);
        jw_col_int(w, "width", st, F_W);
        jw_col_int(w, "height", st, F_H);
        jw_col_text(w, "decode_error", st, F_DECODE);
    }
    if (meta && stored) {
        jw_key(w, "computed");
        jw_obj(w);
        hex_col(w, "md5", st, F_MD5, 16);
        hex_col(w, "sha1", st, F_SHA1, 20);
        hex_col(w, "sha256", st, F_SHA256, 32);
        hex_col(w, "pdq", st, F_PDQ, 32);
        jw_col_int(w, "pdq_quality", st, F_PDQQ);
        jw_obj_end(w);
        /* ICCAM's hashes that disagree with the bytes: ["md5", "pdq:41"]. */
        jw_key(w, "hash_mismatch");
        jw_csv_array(w, db_text(st, M_MISMATCH));
    }
    jw_key(w, "preview");
    jw_bool(w, content && stored && sqlite3_column_int(st, F_PREVIEW));
    jw_key(w, "original");
    jw_bool(w, content && stored);
    jw_obj_end(w);
}

/* GET /api/v1/media/{id}: the item, its report id, ICCAM's hashes (with media
 * metadata), and its content object. Audited as a read ("media.view"). */
int h_media_get(struct ctx *c)
{
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    int64_t id = ctx_path_id(c);
    sqlite3_stmt *st;
    int e = media_row(c, id, &st);
    if (e != CP_OK)
        return e;
    int meta = sqlite3_column_int(st, S_META), content = sqlite3_column_int(st, S_CONTENT);
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_col_int(&w, "id", st, M_ID);
    jw_col_int(&w, "report_id", st, M_REPORT);
    jw_col_text(&w, "iccam_media_id", st, M_ICCAM);
    jw_col_text(&w, "media_type", st, M_TYPE);
    jw_col_text(&w, "mime", st, M_MIME);
    jw_col_int(&w, "bytes", st, M_BYTES);
    jw_col_int(&w, "width", st, M_W);
    jw_col_int(&w, "height", st, M_H);
    jw_key(&w, "duration_s");
    if (sqlite3_column_type(st, M_DUR) == SQLITE_NULL)
        jw_null(&w);
    else
        jw_double(&w, sqlite3_column_double(st, M_DUR));
    jw_col_text(&w, "content_url", st, M_URL);
    jw_key(&w, "media_metadata");
    jw_bool(&w, meta);
    jw_key(&w, "media_content");
    jw_bool(&w, content);
    if (meta) {
        jw_key(&w, "hashes");
        jw_obj(&w);
        hex_col(&w, "md5", st, M_MD5, 16);
        hex_col(&w, "sha1", st, M_SHA1, 20);
        hex_col(&w, "sha256", st, M_SHA256, 32);
        hex_col(&w, "pdq", st, M_PDQ, 32);
        jw_col_int(&w, "pdq_quality", st, M_PDQQ);
        jw_obj_end(&w);
    }
    content_write(&w, st, meta, content);
    jw_obj_end(&w);
    db_done(st);
    c->status = 200;
    c->ctype = "application/json";
    ctx_audit_read(c, "media.view", "media:%lld", (long long)id);
    return CP_OK;
}

/* The stored file of an item the caller may see the content of: sha256 into
 * out, *preview whether a preview exists. CP_NOTFOUND when out of scope, not
 * shown to this caller, or nothing stored. */
static int content_file(struct ctx *c, int64_t id, uint8_t sha256[32], int *preview, char *type, size_t typelen,
                        char *iccam, size_t iccamlen, int64_t *bytes)
{
    sqlite3_stmt *st;
    int e = media_row(c, id, &st);
    if (e != CP_OK)
        return e;
    int ok = sqlite3_column_int(st, S_CONTENT) && sqlite3_column_bytes(st, F_SHA256) == 32;
    if (ok) {
        memcpy(sha256, sqlite3_column_blob(st, F_SHA256), 32);
        *preview = sqlite3_column_int(st, F_PREVIEW);
        snprintf(type, typelen, "%s", db_text(st, F_TYPE));
        snprintf(iccam, iccamlen, "%s", db_text(st, M_ICCAM));
        *bytes = sqlite3_column_int64(st, F_BYTES);
    }
    db_done(st);
    return ok ? CP_OK : CP_NOTFOUND;
}

/* GET /api/v1/media/{id}/preview: the blurred greyscale preview, sent by nginx
 * from its internal /protected/previews/ location. Audited as a read. */
int h_media_preview(struct ctx *c)
{
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    int64_t id = ctx_path_id(c);
    uint8_t sha[32];
    int preview = 0;
    char type[64], iccam[128];
    int64_t bytes;
    int e = content_file(c, id, sha, &preview, type, sizeof type, iccam, sizeof iccam, &bytes);
    if (e != CP_OK)
        return e;
    if (!preview)
        return CP_NOTFOUND;
    struct mstore *ms = media_store(c);
    if (!ms)
        return CP_ERR;
    char rel[200], accel[240];
    mstore_preview_rel(ms, sha, rel, sizeof rel);
    snprintf(accel, sizeof accel, "/protected/%s", rel);
    ctx_header(c, "X-Accel-Redirect", accel);
    c->status = 200;
    c->ctype = "image/jpeg";
    ctx_audit_read(c, "media.preview", "media:%lld", (long long)id);
    return CP_OK;
}

/* What the original's answer needs after the read transaction. */
struct original {
    uint8_t sha256[32];
    int64_t id, bytes;
};

/* Stream the decrypted original through the front end's writer. It was
 * verified whole just before, so only a change on disk in between can stop it
 * half-way (the connection then ends short of Content-Length). */
static int original_stream(struct ctx *c, int (*write)(void *w, const void *p, size_t n), void *w)
{
    struct original *o = c->stream_arg;
    char err[300];
    int st = mstore_stream(&store, o->sha256, write, w, err, sizeof err);
    if (st != CP_OK)
        log_line(c->request_id, "media %lld: %s", (long long)o->id, err);
    return st;
}

/* Before the original goes out: its audit entry (with the file's SHA-256 and
 * size) and the session's first view, committed together. */
static int original_record(struct ctx *c)
{
    struct original *o = c->before_arg;
    char hex[65], detail[160];
    util_hex_encode(o->sha256, 32, hex);
    snprintf(detail, sizeof detail, "{\"sha256\":\"%s\",\"bytes\":%lld}", hex, (long long)o->bytes);
    int st = ctx_audit(c, "media.content", "media", o->id, detail);
    if (st == CP_OK && c->who.session_id) {
        sqlite3_stmt *u = db_prep(c->db, "UPDATE sessions SET media_viewed = 1 WHERE id = ? AND media_viewed = 0");
        if (!u)
            return CP_ERR;
        sqlite3_bind_int64(u, 1, c->who.session_id);
        int rc = sqlite3_step(u);
        db_done(u);
        st = rc == SQLITE_DONE ? CP_OK : db_err(rc);
    }
    return st;
}

/* The file extension of a sniffed type, for the download's name. */
static const char *type_ext(const char *t)
{
    static const char *const map[][2] = {{"image/jpeg", "jpg"},     {"image/png", "png"},   {"image/gif", "gif"},
                                         {"image/webp", "webp"},    {"image/bmp", "bmp"},   {"image/tiff", "tif"},
                                         {"video/mp4", "mp4"},      {"video/webm", "webm"}, {"video/quicktime", "mov"},
                                         {"video/x-msvideo", "avi"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(t, map[i][0]) == 0)
            return map[i][1];
    return "bin";
}

/* GET /api/v1/media/{id}/content: the original. Only under media_content, for
 * a session after re-authentication (the route's flag), audited before a byte
 * is sent; verified whole against its SHA-256 first, so a file changed on disk
 * is a 500 with nothing sent. An attachment of the sniffed type, never cached,
 * never sniffed by the browser. */
int h_media_content(struct ctx *c)
{
    if (c->nq)
        return ctx_bad(c, c->q[0].k, "this resource takes no parameters");
    int64_t id = ctx_path_id(c);
    struct original *o = ctx_alloc(c, sizeof *o);
    if (!o)
        return CP_ERR;
    int preview;
    char type[64], iccam[128];
    int e = content_file(c, id, o->sha256, &preview, type, sizeof type, iccam, sizeof iccam, &o->bytes);
    if (e != CP_OK)
        return e;
    o->id = id;
    struct mstore *ms = media_store(c);
    if (!ms)
        return CP_ERR;
    char err[300];
    int64_t n = 0;
    if ((e = mstore_verify(ms, o->sha256, &n, err, sizeof err)) != CP_OK || n != o->bytes) {
        log_line(c->request_id, "media %lld original: %s", (long long)id, e == CP_OK ? "size differs" : err);
        ctx_problem(c, 500, "media-integrity", "Stored media failed its integrity check",
                    "the stored original could not be verified; operators have been told (quote the request id)");
        return CP_BAD;
    }
    char disp[200], len[32];
    char safe[64];
    size_t k = 0;
    for (const char *p = iccam; *p && k < sizeof safe - 1; p++)
        safe[k++] = (char)((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                                   *p == '-' || *p == '_'
                               ? *p
                               : '_');
    safe[k] = 0;
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.%s\"", safe, type_ext(type));
    snprintf(len, sizeof len, "%lld", (long long)o->bytes);
    ctx_header(c, "Content-Disposition", disp);
    /* Cache-Control: no-store comes with every answer of the front end, and
     * nginx adds X-Content-Type-Options: nosniff to every response. */
    ctx_header(c, "Content-Length", len);
    c->status = 200;
    c->ctype = ctx_strdup(c, type);
    c->stream = original_stream;
    c->stream_arg = o;
    c->before_answer = original_record;
    c->before_arg = o;
    return CP_OK;
}

/* The "media" object of GET /me: the preview preferences, whether this
 * session has already seen an original (the first is always shown blurred),
 * and whether the caller may see any content at all. */
void api_media_me(struct ctx *c, cJSON *j)
{
    int blur = 1, grey = 1, viewed = 0;
    sqlite3_stmt *st = db_prep(c->db, "SELECT pref_blur, pref_greyscale FROM users WHERE id = ?");
    if (st) {
        sqlite3_bind_int64(st, 1, c->who.user_id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            blur = sqlite3_column_int(st, 0);
            grey = sqlite3_column_int(st, 1);
        }
        db_done(st);
    }
    if (c->who.session_id && (st = db_prep(c->db, "SELECT media_viewed FROM sessions WHERE id = ?"))) {
        sqlite3_bind_int64(st, 1, c->who.session_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            viewed = sqlite3_column_int(st, 0);
        db_done(st);
    }
    cJSON *m = cJSON_AddObjectToObject(j, "media");
    cJSON_AddBoolToObject(m, "blur", blur);
    cJSON_AddBoolToObject(m, "greyscale", grey);
    cJSON_AddBoolToObject(m, "session_viewed", viewed);
    cJSON_AddBoolToObject(m, "content", scope_any_content(&c->scope));
}

static const char *const PREF_FIELDS[] = {"blur", "greyscale", NULL};

/* PATCH /api/v1/me/preferences {blur?, greyscale?}: how revealed media is shown
 * by default. Audited. */
int h_me_preferences(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    /* The body is done with once the two flags are read; it was never freed
     * before (a leak on every call, found by test/fuzz/fuzz_body). */
    int blur = -1, grey = -1;
    int ok = ctx_known_fields(c, b, PREF_FIELDS) == CP_OK && ctx_bool(c, b, "blur", &blur) == CP_OK &&
             ctx_bool(c, b, "greyscale", &grey) == CP_OK;
    cJSON_Delete(b);
    if (!ok)
        return CP_BAD;
    if (blur < 0 && grey < 0)
        return ctx_bad(c, "blur", "send blur and/or greyscale (true or false)");
    int e = db_begin(c->db);
    if (e != CP_OK)
        return e;
    sqlite3_stmt *st = db_prep(c->db, "UPDATE users SET pref_blur = coalesce(?, pref_blur),"
                                      " pref_greyscale = coalesce(?, pref_greyscale) WHERE id = ?");
    int rc = SQLITE_ERROR;
    if (st) {
        if (blur >= 0)
            sqlite3_bind_int(st, 1, blur);
        if (grey >= 0)
            sqlite3_bind_int(st, 2, grey);
        sqlite3_bind_int64(st, 3, c->who.user_id);
        rc = sqlite3_step(st);
        db_done(st);
    }
    char detail[64];
    snprintf(detail, sizeof detail, "{\"blur\":%d,\"greyscale\":%d}", blur, grey);
    e = rc == SQLITE_DONE ? ctx_audit(c, "me.preferences", "user", c->who.user_id, detail) : db_err(rc);
    if (e == CP_OK)
        e = db_commit(c->db);
    else
        db_rollback(c->db);
    if (e != CP_OK)
        return e;
    cJSON *j = cJSON_CreateObject();
    api_media_me(c, j);
    return ctx_json(c, 200, j);
}
