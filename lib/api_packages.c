/*
 * api_packages - intelligence packages over the API: compose (queued for
 * `cport jobs`), list, follow, download (nginx serves the file through
 * X-Accel-Redirect, so workers never stream it), and the instance's public
 * key for offline verification. A package belongs to its creator's
 * organisation: another organisation gets 404 for it everywhere.
 */
#include "audit.h"
#include "handlers.h"
#include "jobs.h"
#include "reports.h"
#include "sqlq.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACKAGE_MAX_IDS 100000

static const char *const COMPOSE_FIELDS[] = {"title", "case_ref", "notes", "report_ids", "filter",
                                             "include_media_content", "passphrase", NULL};

/* Check report_ids: whole positive numbers, at most PACKAGE_MAX_IDS, every one
 * in the caller's scope (which ones are not is not said). *json gets the
 * canonical array text (caller frees). */
static int check_ids(struct ctx *c, const cJSON *ids, char **json)
{
    struct reports_ids n;
    int st = reports_check_ids(c, ids, PACKAGE_MAX_IDS, NULL, json, &n);
    if (st == CP_BAD)
        return ctx_bad(c, "report_ids", "report_ids must be a list of 1 to %d whole positive report ids",
                       PACKAGE_MAX_IDS);
    if (st == CP_OK && n.distinct != n.visible)
        return ctx_bad(c, "report_ids", "some report ids are unknown or outside your scope");
    return st;
}

/* Check a filter object: valid as GET /reports would judge it
 * (reports_filter_json), selecting at least one report. *json gets the
 * canonical object text (caller frees). */
static int check_filter(struct ctx *c, const cJSON *f, char **json)
{
    struct report_filter rf;
    int st = reports_filter_json(c, f, "filter", &rf, json);
    if (st != CP_OK)
        return st;
    if (db_exec(c->db, "CREATE TEMP TABLE IF NOT EXISTS pkg_reports(id INTEGER PRIMARY KEY);"
                       "DELETE FROM temp.pkg_reports", NULL, 0) != CP_OK)
        return CP_ERR;
    if ((st = reports_select_ids(c, &rf)) != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "SELECT count(*) FROM temp.pkg_reports");
    int64_t n = q && sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    db_done(q);
    db_exec(c->db, "DELETE FROM temp.pkg_reports", NULL, 0);
    if (!n)
        return ctx_bad(c, "filter", "the filter selects no report in your scope");
    return CP_OK;
}

/* POST /api/v1/packages {title, case_ref?, notes?, report_ids | filter,
 * include_media_content?, passphrase?}: queue a package; 202 {id, status}. */
int h_package_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    const char *title, *case_ref, *notes, *pass;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(b, "report_ids"),
                *filter = cJSON_GetObjectItemCaseSensitive(b, "filter");
    int content = 0;
    char *ids_json = NULL, *filter_json = NULL;
    int st = ctx_known_fields(c, b, COMPOSE_FIELDS);
    if (st == CP_OK && (st = ctx_str(c, b, "title", 200, 0, &title)) == CP_OK &&
        (st = ctx_str(c, b, "case_ref", 100, FIELD_OPTIONAL, &case_ref)) == CP_OK &&
        (st = ctx_str(c, b, "notes", 4000, FIELD_OPTIONAL | FIELD_MULTILINE, &notes)) == CP_OK &&
        (st = ctx_str(c, b, "passphrase", 1024, FIELD_OPTIONAL, &pass)) == CP_OK)
        st = ctx_bool(c, b, "include_media_content", &content);
    if (st == CP_OK && pass && strlen(pass) < 12)
        st = ctx_bad(c, "passphrase", "a passphrase must be at least 12 characters");
    if (st == CP_OK && !ids == !filter)
        st = ctx_bad(c, "report_ids", "give either report_ids or filter");
    if (st == CP_OK && content && !scope_any_content(&c->scope))
        st = ctx_bad(c, "include_media_content", "your agreement does not include media content");
    if (st == CP_OK)
        st = ids ? check_ids(c, ids, &ids_json) : check_filter(c, filter, &filter_json);
    int64_t id = 0;
    if (st == CP_OK) {
        /* The request's read snapshot is not open for a POST: write at once. */
        if ((st = db_begin(c->db)) == CP_OK) {
            sqlite3_stmt *q = db_prep(c->db, "INSERT INTO packages(org_id, user_id, title, case_ref, notes, report_ids,"
                                             " filter, include_media_content, encrypted, created_at)"
                                             " VALUES (?,?,?,?,?,?,?,?,?,?)");
            int rc = SQLITE_ERROR;
            if (q) {
                sqlite3_bind_int64(q, 1, c->who.org_id);
                sqlite3_bind_int64(q, 2, c->who.user_id);
                db_bind_text(q, 3, title);
                db_bind_text(q, 4, case_ref);
                db_bind_text(q, 5, notes);
                db_bind_text(q, 6, ids_json);
                db_bind_text(q, 7, filter_json);
                sqlite3_bind_int(q, 8, content);
                sqlite3_bind_int(q, 9, pass != NULL);
                sqlite3_bind_int64(q, 10, util_now());
                rc = sqlite3_step(q);
                db_done(q);
            }
            id = sqlite3_last_insert_rowid(c->db->h);
            st = rc == SQLITE_DONE ? jobs_enqueue(c->db, "package", id, pass) : db_err(rc);
            if (st == CP_OK) {
                cJSON *dt = cJSON_CreateObject();
                cJSON_AddStringToObject(dt, "title", title);
                if (case_ref)
                    cJSON_AddStringToObject(dt, "case_ref", case_ref);
                if (ids)
                    cJSON_AddNumberToObject(dt, "report_ids", cJSON_GetArraySize(ids));
                else
                    cJSON_AddRawToObject(dt, "filter", filter_json);
                cJSON_AddBoolToObject(dt, "encrypted", pass != NULL);
                st = ctx_audit_json(c, "package.create", "package", id, dt);
            }
            if (st == CP_OK)
                st = db_commit(c->db);
            if (st != CP_OK)
                db_rollback(c->db);
        }
    }
    free(ids_json);
    free(filter_json);
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    char loc[64];
    snprintf(loc, sizeof loc, "/api/v1/packages/%lld", (long long)id);
    ctx_header(c, "Location", loc);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)id);
    cJSON_AddStringToObject(j, "status", "queued");
    return ctx_json(c, 202, j);
}

#define PACKAGE_COLS                                                                                         \
    "p.id, p.status, p.title, p.case_ref, u.email, p.created_at, p.built_at, p.expires_at, p.sha256, p.bytes,"  \
    " p.report_count, p.error, p.encrypted, p.done, p.total"

/* Write one package row (PACKAGE_COLS) as the API shows it. */
static void package_row(struct ctx *c, struct jw *w, sqlite3_stmt *st)
{
    (void)c;
    jw_columns(w, st, "i:id t:status t:title t:case_ref t:created_by T:created_at T:built_at T:expires_at t:sha256"
                      " i:bytes i:report_count t:error b:encrypted");
    jw_key(w, "progress");
    jw_obj(w);
    jw_key(w, "done");
    jw_int(w, sqlite3_column_int64(st, 13));
    jw_key(w, "total");
    jw_int(w, sqlite3_column_int64(st, 14));
    jw_obj_end(w);
}

/* GET /api/v1/packages: the organisation's packages, newest first (500). */
int h_packages_list(struct ctx *c)
{
    static const char *const none[] = {NULL};
    if (ctx_check_params(c, none) != CP_OK)
        return CP_BAD;
    sqlite3_stmt *st = db_prep(c->db, "SELECT " PACKAGE_COLS " FROM packages p JOIN users u ON u.id = p.user_id"
                                      " WHERE p.org_id = ? ORDER BY p.id DESC LIMIT 500");
    if (st)
        sqlite3_bind_int64(st, 1, c->who.org_id);
    return ctx_rows(c, st, "items", package_row);
}

/* GET /api/v1/packages/{id}: status and progress (another org's: 404). */
int h_package_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    sqlite3_stmt *st = db_prep(c->db, "SELECT " PACKAGE_COLS " FROM packages p JOIN users u ON u.id = p.user_id"
                                      " WHERE p.id = ? AND p.org_id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    package_row(c, &w, st);
    jw_obj_end(&w);
    db_done(st);
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}

/* GET /api/v1/packages/{id}/download: nginx sends the file from its internal
 * /protected/ location (X-Accel-Redirect); audited with the file's hash,
 * written before the answer. */
int h_package_download(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    sqlite3_stmt *st = db_prep(c->db, "SELECT status, file, sha256, encrypted FROM packages WHERE id = ? AND org_id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.org_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    char status[16], file[128], sha[80];
    snprintf(status, sizeof status, "%s", db_text(st, 0));
    snprintf(file, sizeof file, "%s", db_text(st, 1));
    snprintf(sha, sizeof sha, "%s", db_text(st, 2));
    int enc = sqlite3_column_int(st, 3);
    db_done(st);
    if (strcmp(status, "expired") == 0) {
        snprintf(c->err, sizeof c->err, "this package has expired and its file was deleted");
        return CP_GONE;
    }
    if (strcmp(status, "ready") != 0 || strncmp(file, "packages/", 9) != 0 || strstr(file, "..")) {
        snprintf(c->err, sizeof c->err, "this package is %s, not ready to download", status);
        return CP_CONFLICT;
    }
    char accel[200], disp[128];
    snprintf(accel, sizeof accel, "/protected/%s", file);
    snprintf(disp, sizeof disp, "attachment; filename=\"cport-package-%lld.%s\"", (long long)id, enc ? "cpenc" : "zip");
    ctx_header(c, "X-Accel-Redirect", accel);
    ctx_header(c, "Content-Disposition", disp);
    c->status = 200;
    c->ctype = enc ? "application/octet-stream" : "application/zip";
    ctx_audit_read(c, "package.download", "package:%lld sha256:%s", (long long)id, sha);
    c->audit_sync = 1; /* on the trail before nginx sends a byte */
    return CP_OK;
}

/* GET /api/v1/keys: the instance's public signing key(s), for verifying
 * packages (and signed audit heads) offline. Public. */
int h_keys(struct ctx *c)
{
    char dir[4096], err[256], hex[65];
    uint8_t pk[32], sk[64];
    config_key_dir(c->cfg, c->cfg->db, dir, sizeof dir);
    if (audit_instance_key(dir, pk, sk, err, sizeof err) != CP_OK) {
        snprintf(c->err, sizeof c->err, "the instance key is not available");
        return CP_ERR;
    }
    sodium_memzero(sk, sizeof sk);
    util_hex_encode(pk, 32, hex);
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "keys");
    jw_arr(&w);
    jw_obj(&w);
    jw_key(&w, "algorithm");
    jw_str(&w, "ed25519");
    jw_key(&w, "public_key");
    jw_str(&w, hex);
    jw_key(&w, "instance");
    jw_str(&w, c->cfg->instance);
    jw_key(&w, "use");
    jw_str(&w, "packages, audit heads");
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}
