/*
 * package - what goes into an intelligence package, and the build a job runs;
 * see package.h. The container (ZIP, manifest, signature, encryption) is
 * lib/pkgzip.c; this file decides the content: the reports the creator may
 * see when the build runs (the scope function, as for every report query),
 * their media metadata where the agreement shares it, and their hashes.
 */
#include "package.h"
#include "audit.h"
#include "csv.h"
#include "hashfmt.h"
#include "log.h"
#include "mstore.h"
#include "pkgzip.h"
#include "reports.h"
#include "sqlq.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where a build writes: a member through a buffer flushed in 64 KiB pieces. */
struct out {
    struct pkgzip *pz;
    struct buf b;
    char *err;
    size_t errlen;
    int st;
};

/* Flush the buffer into the open member when it is big enough (or force). */
static int out_flush(struct out *o, int force)
{
    if (o->st == CP_OK && o->b.len && (force || o->b.len >= 64 * 1024)) {
        o->st = pkgzip_member_write(o->pz, o->b.p, o->b.len, o->err, o->errlen);
        buf_reset(&o->b);
    }
    return o->st;
}

/* Open a member. */
static int out_begin(struct out *o, const char *name)
{
    if (o->st == CP_OK)
        o->st = pkgzip_member_begin(o->pz, name, o->err, o->errlen);
    return o->st;
}

/* Close the member after the last flush. */
static int out_end(struct out *o)
{
    out_flush(o, 1);
    if (o->st == CP_OK)
        o->st = pkgzip_member_end(o->pz, o->err, o->errlen);
    return o->st;
}

/* README.txt: what each member is and how to verify the package. */
static void readme(struct buf *b, int64_t id, const char *instance)
{
    buf_printf(b,
               "cport intelligence package %lld from %s\n\n"
               "Files\n"
               "  reports.json      every report: the fields of ICCAM's feed, media and their current\n"
               "                    classification where your agreement shares media metadata\n"
               "  reports.csv       the same reports, one line each\n"
               "  media.csv         media items with hashes and current classification (only where\n"
               "                    your agreement shares media metadata)\n"
               "  hashes.vics.json  the media hashes as Project VIC VICS 2.0 JSON\n"
               "  hashes.txt        the media hashes, one a line\n"
               "  manifest.json     who built this package, when, from which selection and scope, the\n"
               "                    counts, and the SHA-256 of every other file\n"
               "  manifest.sig      the instance's Ed25519 signature of manifest.json (base64)\n\n"
               "Verify (offline)\n"
               "  cport package verify THIS.zip --key PUBLIC_KEY\n"
               "  PUBLIC_KEY is the instance key published at /api/v1/keys (hex). The command checks\n"
               "  the signature, then every file's size and SHA-256, and names the first bad file.\n"
               "  Without cport: check manifest.sig over manifest.json with any Ed25519 tool (for\n"
               "  example libsodium's crypto_sign_verify_detached), then sha256sum each file against\n"
               "  the manifest's \"files\" list.\n\n"
               "CSV cells that begin with = + - or @ are prefixed with ' so that no spreadsheet runs\n"
               "them as formulas.\n",
               (long long)id, instance);
}

/* Write reports.json, one report object a line, and move the progress along. */
static int write_reports_json(struct ctx *c, struct out *o, struct db *progress_db, int64_t package_id,
                              int64_t total)
{
    if (out_begin(o, "reports.json") != CP_OK)
        return o->st;
    buf_add(&o->b, "[\n", 2);
    sqlite3_stmt *ids = db_prep(c->db, "SELECT id FROM temp.pkg_reports ORDER BY id");
    if (!ids)
        return o->st = CP_ERR;
    int rc;
    int64_t done = 0;
    struct buf one;
    buf_init(&one);
    while (o->st == CP_OK && (rc = sqlite3_step(ids)) == SQLITE_ROW) {
        buf_reset(&one);
        int st = reports_get(c, sqlite3_column_int64(ids, 0), &one);
        if (st == CP_NOTFOUND)
            continue; /* gone since the selection: not included */
        if (st != CP_OK) {
            o->st = st;
            break;
        }
        if (done)
            buf_add(&o->b, ",\n", 2);
        buf_add(&o->b, one.p, one.len);
        out_flush(o, 0);
        /* Progress for GET /packages/{id}: on its own connection, every 1,000. */
        if (++done % 1000 == 0 && progress_db) {
            sqlite3_stmt *p = db_prep(progress_db, "UPDATE packages SET done = ?, total = ? WHERE id = ?");
            if (p) {
                sqlite3_bind_int64(p, 1, done);
                sqlite3_bind_int64(p, 2, total);
                sqlite3_bind_int64(p, 3, package_id);
                sqlite3_step(p); /* best effort: progress must not fail a build */
                db_done(p);
            }
        }
    }
    db_done(ids);
    buf_free(&one);
    buf_add(&o->b, "\n]\n", 3);
    return out_end(o);
}

/* reports.csv: one line a report, as an export writes it. */
static int write_reports_csv(struct ctx *c, struct out *o)
{
    if (out_begin(o, "reports.csv") != CP_OK)
        return o->st;
    buf_adds(&o->b, REPORTS_CSV_HEADER);
    sqlite3_stmt *st = db_prep(c->db, "SELECT " REPORTS_CSV_COLS
                                      " FROM temp.pkg_reports p CROSS JOIN reports r ON r.id = p.id");
    if (!st)
        return o->st = CP_ERR;
    int rc;
    while (o->st == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        reports_csv_row(&o->b, st);
        out_flush(o, 0);
    }
    db_done(st);
    return out_end(o);
}

/* The media of the package the creator may see with metadata (their hashes
 * and current classification), for media.csv and the hash files. */
static sqlite3_stmt *media_query(struct ctx *c)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT m.report_id, m.iccam_media_id, m.content_url, m.media_type, m.mime, m.bytes, m.width,"
                 " m.height, m.duration_s, m.md5, m.sha1, m.sha256, m.pdq, m.pdq_quality, m.photodna,"
                 " m.first_seen_at, cl.international, cl.national, cl.age_group, cl.gender"
                 " FROM temp.pkg_reports p CROSS JOIN reports r ON r.id = p.id CROSS JOIN media m ON m.report_id = r.id"
                 " LEFT JOIN classifications cl ON cl.media_id = m.id AND cl.is_current = 1 WHERE ");
    /* CROSS JOIN fixes the loop order (package ids, then each report's media by
     * the media_report index), so rows come out in order without a sort that
     * would hold every row in memory (temp_store is memory). */
    scope_where(&c->scope, SCOPE_META, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    return st;
}

/* media.csv, and count the media and hashes on the way. */
static int write_media_csv(struct ctx *c, struct out *o, int64_t *media)
{
    if (out_begin(o, "media.csv") != CP_OK)
        return o->st;
    buf_printf(&o->b, "report_id,iccam_media_id,content_url,media_type,mime,bytes,width,height,duration_s,md5,sha1,"
                      "sha256,pdq,pdq_quality,photodna,first_seen_at,international,national,age_group,gender\n");
    sqlite3_stmt *st = media_query(c);
    if (!st)
        return o->st = CP_ERR;
    int rc;
    while (o->st == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < 20; i++)
            csv_col(&o->b, st, i, i == 15, i == 19);
        (*media)++;
        out_flush(o, 0);
    }
    db_done(st);
    return out_end(o);
}

/* hashes.vics.json or hashes.txt: every media hash through the hashfmt writer. */
static int write_hashes(struct ctx *c, struct out *o, const char *name, enum hashfmt_format fmt, int64_t *hashes)
{
    if (out_begin(o, name) != CP_OK)
        return o->st;
    struct hashfmt_writer w;
    if (hashfmt_writer_begin(&w, fmt, &o->b, c->who.org_country, o->err, o->errlen) != CP_OK)
        return o->st = CP_ERR;
    sqlite3_stmt *st = media_query(c);
    if (!st)
        return o->st = CP_ERR;
    static const struct {
        enum hashfmt_alg alg;
        int col;
    } cols[] = {{HF_MD5, 9}, {HF_SHA1, 10}, {HF_SHA256, 11}, {HF_PDQ, 12}, {HF_PHOTODNA, 14}};
    int rc;
    while (o->st == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
            struct hashfmt_entry e = {.alg = cols[k].alg, .victim_identified = -1, .offender_identified = -1,
                                      .is_distributed = -1};
            e.len = hashfmt_alg_size(e.alg);
            if ((size_t)sqlite3_column_bytes(st, cols[k].col) != e.len)
                continue;
            memcpy(e.value, sqlite3_column_blob(st, cols[k].col), e.len);
            e.media_id = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : db_text(st, 1);
            const char *intl = sqlite3_column_type(st, 16) == SQLITE_NULL ? NULL : db_text(st, 16);
            e.category = intl && strcmp(intl, "baseline") == 0 ? "baseline" : NULL;
            if (hashfmt_writer_entry(&w, &e, NULL, o->err, o->errlen) == CP_OK)
                (*hashes)++;
        }
        out_flush(o, 0);
    }
    db_done(st);
    hashfmt_writer_end(&w);
    return out_end(o);
}

/* pkgzip_member_write as an mstore_stream writer. */
static int member_write(void *w, const void *p, size_t n)
{
    struct out *o = w;
    return o->st = pkgzip_member_write(o->pz, p, n, o->err, o->errlen);
}

/* The stored originals of the package's media that the creator may see the
 * content of, as media/<iccam_media_id>.<ext>: each decrypted and checked
 * against its SHA-256 as it streams into the package (a stored file that fails
 * its check fails the build rather than ship unverified bytes). *files counts
 * them. A content shared by several items goes in once per item name. */
static int write_media_files(struct ctx *c, const struct config *cfg, struct out *o, int64_t *files)
{
    char data[4096], keys[4096];
    config_data_dir(cfg, data, sizeof data);
    config_key_dir(cfg, cfg->db, keys, sizeof keys);
    struct mstore ms;
    if ((o->st = mstore_open(&ms, data, keys, o->err, o->errlen)) != CP_OK)
        return o->st;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT m.iccam_media_id, f.sha256, f.type FROM temp.pkg_reports p CROSS JOIN reports r"
                 " ON r.id = p.id CROSS JOIN media m ON m.report_id = r.id"
                 " JOIN media_files f ON f.sha256 = m.file_sha256 WHERE ");
    scope_where(&c->scope, SCOPE_CONTENT, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st) {
        mstore_close(&ms);
        return o->st = CP_ERR;
    }
    static const char *const ext[][2] = {{"image/jpeg", "jpg"}, {"image/png", "png"},  {"image/gif", "gif"},
                                         {"image/webp", "webp"}, {"image/bmp", "bmp"}, {"image/tiff", "tif"},
                                         {"video/mp4", "mp4"},   {"video/webm", "webm"}};
    int rc;
    while (o->st == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != 32)
            continue;
        uint8_t sha[32];
        memcpy(sha, sqlite3_column_blob(st, 1), 32);
        const char *e = "bin", *t = db_text(st, 2);
        for (size_t k = 0; k < sizeof ext / sizeof *ext; k++)
            if (strcmp(t, ext[k][0]) == 0)
                e = ext[k][1];
        char name[200];
        snprintf(name, sizeof name, "media/%s.%s", db_text(st, 0), e);
        if (!pkgzip_name_ok(name))
            continue;
        if (out_begin(o, name) != CP_OK)
            break;
        char err[300];
        int s = mstore_stream(&ms, sha, member_write, o, err, sizeof err);
        if (s != CP_OK && o->st == CP_OK)
            o->st = fail(o->err, o->errlen, s, "media %s: %s", db_text(st, 0), err);
        if (out_end(o) == CP_OK)
            (*files)++;
    }
    db_done(st);
    mstore_close(&ms);
    return o->st;
}

/* Mark a package failed with a reason (its own short transaction). */
static void mark_failed(struct db *d, int64_t id, const char *why)
{
    sqlite3_stmt *st = db_prep(d, "UPDATE packages SET status = 'failed', error = ? WHERE id = ?");
    if (st) {
        db_bind_text(st, 1, why);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_step(st);
        db_done(st);
    }
}

/* Fill temp.pkg_reports with the selection, within the creator's scope now. */
static int select_reports(struct ctx *c, const char *ids_json, const char *filter_json, int64_t *requested)
{
    if (db_exec(c->db, "CREATE TEMP TABLE IF NOT EXISTS pkg_reports(id INTEGER PRIMARY KEY);"
                       "DELETE FROM temp.pkg_reports", NULL, 0) != CP_OK)
        return CP_ERR;
    if (ids_json) {
        struct sqlq q;
        sqlq_init(&q);
        sqlq_sql(&q, "INSERT OR IGNORE INTO temp.pkg_reports(id) SELECT r.id FROM reports r WHERE r.id IN ");
        sqlq_json_set(&q, ids_json);
        sqlq_sql(&q, " AND ");
        scope_where(&c->scope, SCOPE_SEE, &q);
        sqlite3_stmt *st = sqlq_prepare(&q, c->db);
        sqlq_free(&q);
        if (!st)
            return CP_ERR;
        int rc = sqlite3_step(st);
        db_done(st);
        cJSON *arr = cJSON_Parse(ids_json);
        *requested = cJSON_GetArraySize(arr);
        cJSON_Delete(arr);
        return rc == SQLITE_DONE ? CP_OK : db_err(rc);
    }
    cJSON *f = cJSON_Parse(filter_json ? filter_json : "{}");
    struct report_filter rf;
    int st = reports_filter_json(c, f, "filter", &rf, NULL);
    cJSON_Delete(f);
    if (st != CP_OK)
        return CP_BAD; /* validated when composed; a bad one now means the rules changed */
    return reports_select_ids(c, &rf);
}

/* Build one package; see package.h. */
int package_build(struct db *d, const struct config *cfg, int64_t id, const char *passphrase, char *err,
                  size_t errlen)
{
    sqlite3_stmt *st = db_prep(d, "SELECT user_id, title, case_ref, notes, report_ids, filter,"
                                  " include_media_content, created_at FROM packages WHERE id = ? AND status = 'queued'");
    if (!st)
        return fail(err, errlen, CP_ERR, "could not read the package");
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return fail(err, errlen, rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc), "no queued package %lld", (long long)id);
    }
    int64_t user_id = sqlite3_column_int64(st, 0), created_at = sqlite3_column_int64(st, 7);
    char *title = strdup(db_text(st, 1)), *case_ref = strdup(db_text(st, 2)), *notes = strdup(db_text(st, 3));
    char *ids = sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : strdup(db_text(st, 4));
    char *filter = sqlite3_column_type(st, 5) == SQLITE_NULL ? NULL : strdup(db_text(st, 5));
    int want_content = sqlite3_column_int(st, 6);
    db_done(st);
    st = db_prep(d, "UPDATE packages SET status = 'building', done = 0 WHERE id = ?");
    sqlite3_bind_int64(st, 1, id);
    sqlite3_step(st);
    db_done(st);

    struct ctx c;
    ctx_begin(&c, d, cfg);
    c.method = "GET";
    c.path = "(package build)";
    int s = auth_caller_load(d, user_id, &c.who);
    if (s == CP_DENIED)
        s = fail(err, errlen, CP_DENIED, "the package's creator has been disabled");
    else if (s != CP_OK)
        s = fail(err, errlen, s, "the package's creator is gone");
    c.authed = s == CP_OK;
    if (s == CP_OK && (s = ctx_scope(&c)) != CP_OK)
        fail(err, errlen, s, "could not load the creator's scope");

    char dir[4096], pkgdir[4200], rel[128], path[4400];
    config_data_dir(cfg, dir, sizeof dir);
    snprintf(pkgdir, sizeof pkgdir, "%s/packages", dir);
    /* Group-readable: nginx (in the service's group) sends the files. */
    if (mkdir(pkgdir, 0750) != 0 && errno != EEXIST && s == CP_OK)
        s = fail(err, errlen, CP_ERR, "cannot create %s: %s", pkgdir, strerror(errno));
    uint8_t rnd[8];
    char rhex[17];
    randombytes_buf(rnd, sizeof rnd);
    util_hex_encode(rnd, sizeof rnd, rhex);
    snprintf(rel, sizeof rel, "packages/%lld-%s.%s", (long long)id, rhex, passphrase ? "cpenc" : "zip");
    snprintf(path, sizeof path, "%s/%s", dir, rel);

    /* One snapshot for the whole build: every member agrees with the others. */
    int64_t requested = 0, total = 0, media = 0, hashes = 0, org_id = c.who.org_id;
    struct db *progress = NULL;
    struct out o = {.err = err, .errlen = errlen, .st = s};
    buf_init(&o.b);
    if (o.st == CP_OK && db_exec(d, "BEGIN", err, errlen) != CP_OK)
        o.st = CP_BUSY;
    int in_txn = o.st == CP_OK;
    if (o.st == CP_OK && (o.st = select_reports(&c, ids, filter, &requested)) != CP_OK)
        fail(err, errlen, o.st, "the selection could not be made (the filter is no longer valid)");
    if (o.st == CP_OK) {
        st = db_prep(d, "SELECT count(*) FROM temp.pkg_reports");
        total = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        db_done(st);
        if (!total)
            o.st = fail(err, errlen, CP_BAD, "nothing in the selection is in the creator's scope any more");
    }
    if (o.st == CP_OK) {
        char e2[256];
        progress = db_open(cfg->db, cfg->busy_timeout_ms, e2, sizeof e2);
        o.st = pkgzip_begin(&o.pz, path, pkgdir, err, errlen);
    }
    if (o.st == CP_OK) {
        out_begin(&o, "README.txt");
        readme(&o.b, id, cfg->instance);
        out_end(&o);
    }
    if (o.st == CP_OK)
        write_reports_json(&c, &o, progress, id, total);
    if (o.st == CP_OK)
        write_reports_csv(&c, &o);
    if (o.st == CP_OK)
        write_media_csv(&c, &o, &media);
    if (o.st == CP_OK)
        write_hashes(&c, &o, "hashes.vics.json", HF_VICS, &hashes);
    if (o.st == CP_OK) {
        int64_t again = 0;
        write_hashes(&c, &o, "hashes.txt", HF_TEXT, &again);
    }
    int64_t content_files = 0;
    int content_ok = want_content && scope_any_content(&c.scope);
    if (o.st == CP_OK && content_ok)
        write_media_files(&c, cfg, &o, &content_files);
    if (in_txn) {
        db_reset_all(d);
        db_commit(d);
    }
    /* The manifest: who, when, what was asked for, the scope it was built in. */
    char sha[65] = "";
    int64_t bytes = 0;
    int64_t built = util_now();
    if (o.st == CP_OK) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "package_id", (double)id);
        cJSON_AddStringToObject(m, "instance", cfg->instance);
        cJSON *cr = cJSON_AddObjectToObject(m, "creator");
        cJSON_AddNumberToObject(cr, "user_id", (double)c.who.user_id);
        cJSON_AddStringToObject(cr, "email", c.who.email);
        cJSON_AddStringToObject(cr, "role", c.who.role);
        cJSON *org = cJSON_AddObjectToObject(m, "org");
        cJSON_AddNumberToObject(org, "id", (double)c.who.org_id);
        cJSON_AddStringToObject(org, "name", c.who.org_name);
        cJSON_AddStringToObject(org, "kind", c.who.org_kind);
        cJSON_AddStringToObject(org, "country", c.who.org_country);
        char ts[32];
        util_format_time(created_at, ts);
        cJSON_AddStringToObject(m, "created_at", ts);
        util_format_time(built, ts);
        cJSON_AddStringToObject(m, "built_at", ts);
        cJSON_AddStringToObject(m, "title", title);
        if (*case_ref)
            cJSON_AddStringToObject(m, "case_ref", case_ref);
        else
            cJSON_AddNullToObject(m, "case_ref");
        if (*notes)
            cJSON_AddStringToObject(m, "notes", notes);
        else
            cJSON_AddNullToObject(m, "notes");
        cJSON *sel = cJSON_AddObjectToObject(m, "selection");
        if (ids)
            cJSON_AddItemToObject(sel, "report_ids", cJSON_Parse(ids));
        else
            cJSON_AddItemToObject(sel, "filter", cJSON_Parse(filter ? filter : "{}"));
        cJSON_AddItemToObject(m, "scope", scope_json(&c.scope));
        cJSON *cn = cJSON_AddObjectToObject(m, "counts");
        if (ids)
            cJSON_AddNumberToObject(cn, "reports_requested", (double)requested);
        cJSON_AddNumberToObject(cn, "reports", (double)total);
        cJSON_AddNumberToObject(cn, "media", (double)media);
        cJSON_AddNumberToObject(cn, "hashes", (double)hashes);
        cJSON *mc = cJSON_AddObjectToObject(m, "media_content");
        cJSON_AddBoolToObject(mc, "requested", want_content);
        cJSON_AddNumberToObject(mc, "files", (double)content_files);
        if (want_content && !content_ok)
            cJSON_AddStringToObject(mc, "note", "the creator's agreements no longer share media content");
        char keydir[4096];
        uint8_t pk[32], sk[64];
        config_key_dir(cfg, cfg->db, keydir, sizeof keydir);
        o.st = audit_instance_key(keydir, pk, sk, err, errlen);
        if (o.st == CP_OK)
            o.st = pkgzip_finish(o.pz, m, pk, sk, passphrase, sha, &bytes, err, errlen);
        else
            pkgzip_abort(o.pz);
        o.pz = NULL;
        sodium_memzero(sk, sizeof sk);
        cJSON_Delete(m);
    } else if (o.pz) {
        pkgzip_abort(o.pz);
    }
    buf_free(&o.b);
    if (progress)
        db_close(progress);
    ctx_end(&c);
    free(title);
    free(case_ref);
    free(notes);
    free(ids);
    free(filter);
    if (o.st != CP_OK) {
        if (!err[0])
            snprintf(err, errlen, "the build failed");
        mark_failed(d, id, err);
        return o.st;
    }
    if (db_begin(d) != CP_OK) {
        unlink(path);
        mark_failed(d, id, "database busy when the build finished");
        return fail(err, errlen, CP_BUSY, "database is busy");
    }
    st = db_prep(d, "UPDATE packages SET status = 'ready', done = ?1, total = ?1, report_count = ?1, file = ?2,"
                    " sha256 = ?3, bytes = ?4, built_at = ?5, expires_at = ?6, encrypted = ?7 WHERE id = ?8");
    sqlite3_bind_int64(st, 1, total);
    db_bind_text(st, 2, rel);
    db_bind_text(st, 3, sha);
    sqlite3_bind_int64(st, 4, bytes);
    sqlite3_bind_int64(st, 5, built);
    sqlite3_bind_int64(st, 6, built + cfg->package_s);
    sqlite3_bind_int(st, 7, passphrase != NULL);
    sqlite3_bind_int64(st, 8, id);
    rc = sqlite3_step(st);
    db_done(st);
    char detail[160], obj[40];
    snprintf(detail, sizeof detail, "{\"reports\":%lld,\"sha256\":\"%s\",\"bytes\":%lld}", (long long)total, sha,
             (long long)bytes);
    snprintf(obj, sizeof obj, "package:%lld", (long long)id);
    struct audit_entry e = {.user_id = user_id, .org_id = org_id, .actor = "jobs", .action = "package.built",
                            .object = obj, .detail = detail};
    int s2 = rc == SQLITE_DONE ? audit_append(d, &e) : db_err(rc);
    if (s2 != CP_OK || (s2 = db_commit(d)) != CP_OK) {
        db_rollback(d);
        unlink(path);
        mark_failed(d, id, "could not record the finished build");
        return fail(err, errlen, s2, "could not record the finished build");
    }
    return CP_OK;
}

/* Delete the files of packages past their expiry; the rows say expired. */
int package_expire(struct db *d, const struct config *cfg, int64_t now, int *n)
{
    *n = 0;
    char dir[4096];
    config_data_dir(cfg, dir, sizeof dir);
    sqlite3_stmt *st = db_prep(d, "SELECT id, file FROM packages WHERE status = 'ready' AND expires_at <= ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, now);
    int64_t ids[256];
    char files[256][128];
    int k = 0, rc;
    while (k < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ids[k] = sqlite3_column_int64(st, 0);
        snprintf(files[k], sizeof files[k], "%s", db_text(st, 1));
        k++;
    }
    db_done(st);
    for (int i = 0; i < k; i++) {
        char path[4300];
        snprintf(path, sizeof path, "%.4095s/%.127s", dir, files[i]);
        if (files[i][0] && strncmp(files[i], "packages/", 9) == 0 && !strstr(files[i], "..") && unlink(path) != 0 &&
            errno != ENOENT) {
            log_line(NULL, "jobs: cannot delete %s: %s", path, strerror(errno));
            continue;
        }
        st = db_prep(d, "UPDATE packages SET status = 'expired', file = NULL WHERE id = ? AND status = 'ready'");
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_step(st);
        db_done(st);
        (*n)++;
    }
    return CP_OK;
}
