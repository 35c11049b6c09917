/*
 * api_hashlists - hash lists over the API: list, create, change, entries
 * (paged, add, change, remove), import (the upload arrives as a file nginx
 * wrote), export (streamed), shares. Reading is scope_lists_where (a list the
 * caller can't read is 404 everywhere); changing is for the owner's analysts
 * and org_admins (403 for a reader from elsewhere).
 */
#include "handlers.h"
#include "hashlist.h"
#include "hashmatch.h"
#include "log.h"
#include "sqlq.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The list columns; the last one ("owned") is completed with the caller's org. */
#define LIST_COLS                                                                                            \
    "l.id, l.org_id, o.name, l.name, l.description, l.scheme, l.kind, l.version, l.enabled, l.created_at,"   \
    " l.updated_at, (SELECT count(*) FROM hash_entries e WHERE e.list_id = l.id AND e.removed = 0),"          \
    " l.org_id = "
#define LIST_SPEC                                                                                            \
    "i:id i:org_id t:org t:name t:description t:scheme t:kind i:version b:enabled T:created_at T:updated_at"  \
    " i:entries b:owned"

static const char *index_path(struct ctx *c);

/* A list the caller may read: CP_OK with *owned and, when want_edit, CP_DENIED
 * unless the caller's organisation owns it and their role may edit. */
static int list_access(struct ctx *c, int64_t id, int want_edit)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT l.org_id FROM hash_lists l WHERE l.id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND ");
    scope_lists_where(&c->who, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    int64_t owner = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    if (want_edit && (owner != c->who.org_id || strcmp(c->who.role, "viewer") == 0)) {
        snprintf(c->err, sizeof c->err, "only analysts of the owning organisation change this list");
        return CP_DENIED;
    }
    return CP_OK;
}

/* Write the lists matching the scope (and id, when not 0). */
static sqlite3_stmt *lists_query(struct ctx *c, int64_t id)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT " LIST_COLS);
    sqlq_int(&q, c->who.org_id);
    sqlq_sql(&q, " FROM hash_lists l JOIN orgs o ON o.id = l.org_id WHERE ");
    scope_lists_where(&c->who, &q);
    if (id) {
        sqlq_sql(&q, " AND l.id = ");
        sqlq_int(&q, id);
    }
    sqlq_sql(&q, " ORDER BY l.name, l.id");
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    return st;
}

/* GET /api/v1/hash-lists: the lists the caller may read. */
int h_hashlists_list(struct ctx *c)
{
    static const char *const none[] = {NULL};
    if (ctx_check_params(c, none) != CP_OK)
        return CP_BAD;
    return ctx_table(c, lists_query(c, 0), "items", LIST_SPEC);
}

/* Answer one list. */
static int list_answer(struct ctx *c, int64_t id, int status)
{
    return ctx_row(c, lists_query(c, id), LIST_SPEC, status);
}

/* GET /api/v1/hash-lists/{id}. */
int h_hashlist_get(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    return id ? list_answer(c, id, 200) : CP_NOTFOUND;
}

/* POST /api/v1/hash-lists {name, description?, scheme?, kind?}: a new list of
 * the caller's organisation. */
int h_hashlist_create(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"name", "description", "scheme", "kind", NULL};
    const char *name, *desc, *scheme, *kind;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "name", 200, 0, &name)) == CP_OK &&
        (st = ctx_str(c, b, "description", 2000, FIELD_OPTIONAL | FIELD_MULTILINE, &desc)) == CP_OK &&
        (st = ctx_str(c, b, "scheme", 32, FIELD_OPTIONAL, &scheme)) == CP_OK)
        st = ctx_str(c, b, "kind", 16, FIELD_OPTIONAL, &kind);
    int64_t id = 0;
    char err[256];
    if (st == CP_OK) {
        struct audit_entry by = ctx_actor(c);
        st = hashlist_create(c->db, &by, c->who.org_id, name, desc, scheme, kind, &id, err, sizeof err);
        if (st == CP_BAD)
            st = ctx_bad(c, strstr(err, "scheme") ? "scheme" : strstr(err, "kind") ? "kind"
                            : strstr(err, "description") ? "description" : "name", "%s", err);
        else if (st == CP_CONFLICT)
            snprintf(c->err, sizeof c->err, "%s", err);
    }
    cJSON_Delete(b);
    return st == CP_OK ? list_answer(c, id, 201) : st;
}

/* PATCH /api/v1/hash-lists/{id} {name?, description?, enabled?, kind?, scheme?}:
 * the owner changes a list; disabling it stops all its matches at once. */
int h_hashlist_update(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"name", "description", "enabled", "kind", "scheme", NULL};
    static const char *const schemes[] = {"none", "vic_us", "uk_abc", "ncmec", "interpol_baseline", NULL};
    static const char *const kinds[] = {"normal", "warning", NULL};
    const char *name, *desc, *scheme, *kind;
    int enabled = -1;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "name", 200, FIELD_OPTIONAL, &name)) == CP_OK &&
        (st = ctx_str(c, b, "description", 2000, FIELD_OPTIONAL | FIELD_MULTILINE, &desc)) == CP_OK &&
        (st = ctx_str(c, b, "scheme", 32, FIELD_OPTIONAL, &scheme)) == CP_OK &&
        (st = ctx_str(c, b, "kind", 16, FIELD_OPTIONAL, &kind)) == CP_OK)
        st = ctx_bool(c, b, "enabled", &enabled);
    if (st == CP_OK && scheme && !util_in_list(scheme, schemes))
        st = ctx_bad(c, "scheme", "scheme must be none, vic_us, uk_abc, ncmec or interpol_baseline");
    if (st == CP_OK && kind && !util_in_list(kind, kinds))
        st = ctx_bad(c, "kind", "kind must be normal or warning");
    if (st == CP_OK && (st = db_begin(c->db)) == CP_OK) {
        if ((st = list_access(c, id, 1)) == CP_OK) {
            int64_t seq;
            sqlite3_stmt *q = db_prep(c->db, "UPDATE hash_lists SET name = coalesce(?, name),"
                                             " description = coalesce(?, description), scheme = coalesce(?, scheme),"
                                             " kind = coalesce(?, kind), enabled = coalesce(?, enabled),"
                                             " updated_at = ? WHERE id = ?");
            db_bind_text(q, 1, name);
            db_bind_text(q, 2, desc);
            db_bind_text(q, 3, scheme);
            db_bind_text(q, 4, kind);
            db_bind_opt_int(q, 5, enabled >= 0, enabled);
            sqlite3_bind_int64(q, 6, util_now());
            sqlite3_bind_int64(q, 7, id);
            int rc = sqlite3_step(q);
            db_done(q);
            st = rc == SQLITE_DONE ? CP_OK : rc == SQLITE_CONSTRAINT ? CP_CONFLICT : db_err(rc);
            if (st == CP_CONFLICT)
                snprintf(c->err, sizeof c->err, "the organisation has a list of that name");
            /* Matching reads enabled and kind live, but the index sequence moves
             * so caches keyed on it see the change. */
            if (st == CP_OK)
                st = hashlist_next_seq(c->db, &seq);
            if (st == CP_OK) {
                cJSON *dt = cJSON_Duplicate(b, 1);
                st = ctx_audit_json(c, "hashlist.change", "hash_list", id, dt);
            }
        }
        if (st == CP_OK)
            st = db_commit(c->db);
        if (st != CP_OK)
            db_rollback(c->db);
    }
    cJSON_Delete(b);
    return st == CP_OK ? list_answer(c, id, 200) : st;
}

static const char *const ENTRY_PARAMS[] = {"algorithm", "limit", "cursor", NULL};
#define ENTRY_SPEC                                                                                           \
    "i:id t:algorithm t:value t:category t:series t:media_id b:victim_identified b:offender_identified"     \
    " b:is_distributed t:source T:added_at b:enabled b:removed i:added_version i:version"

/* GET /api/v1/hash-lists/{id}/entries?algorithm=&limit=&cursor=: the live
 * entries, by id (keyset paging: cursor is the last id seen). Values are
 * lower-case hex (PhotoDNA too: 288 digits). */
int h_hashlist_entries(struct ctx *c)
{
    int64_t id = ctx_path_id(c), cursor;
    if (!id)
        return CP_NOTFOUND;
    if (ctx_check_params(c, ENTRY_PARAMS) != CP_OK || ctx_qid(c, "cursor", &cursor) != CP_OK)
        return CP_BAD;
    const char *alg = ctx_qparam(c, "algorithm"), *v = ctx_qparam(c, "limit");
    enum hashfmt_alg a;
    if (alg && *alg && hashfmt_alg_parse(alg, &a) != CP_OK)
        return ctx_bad(c, "algorithm", "algorithm must be md5, sha1, sha256, pdq or photodna");
    long limit = 100;
    if (v && *v) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 500)
            return ctx_bad(c, "limit", "limit must be a whole number from 1 to 500");
    }
    int st = list_access(c, id, 0);
    if (st != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "SELECT id, algorithm, lower(hex(value)), category, series, media_id, victim_identified,"
                                     " offender_identified, is_distributed, source, added_at, enabled, removed,"
                                     " added_version, version FROM hash_entries"
                                     " WHERE list_id = ?1 AND removed = 0 AND id > ?2 AND (?3 IS NULL OR algorithm = ?3)"
                                     " ORDER BY id LIMIT ?4");
    if (!q)
        return CP_ERR;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, cursor);
    db_bind_text(q, 3, alg && *alg ? hashfmt_alg_name(a) : NULL);
    sqlite3_bind_int64(q, 4, limit + 1);
    return ctx_keyset_page(c, q, limit, ENTRY_SPEC);
}

/* Decode a hash value given as text: hex for every algorithm, base64 also for
 * PhotoDNA (as VICS writes it). CP_OK with *len the byte count. */
static int value_decode(enum hashfmt_alg a, const char *text, uint8_t *out, size_t *len)
{
    size_t want = hashfmt_alg_size(a), n = strlen(text);
    if (n == want * 2 && util_hex_decode(text, out, want) == 0) {
        *len = want;
        return CP_OK;
    }
    if (a == HF_PHOTODNA && n <= 200) {
        int got = util_b64_decode(text, out, 144);
        if (got == (int)want) {
            *len = want;
            return CP_OK;
        }
    }
    return CP_BAD;
}

static const char *const PUT_FIELDS[] = {"algorithm", "value", "category", "series", "media_id", "victim_identified",
                                         "offender_identified", "is_distributed", NULL};

/* POST /api/v1/hash-lists/{id}/entries {algorithm, value, category?, series?,
 * media_id?, victim_identified?, offender_identified?, is_distributed?}: add
 * one entry (or update the one with that value). */
int h_hashlist_entry_add(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    struct hashfmt_entry e = {.victim_identified = -1, .offender_identified = -1, .is_distributed = -1};
    const char *alg, *value;
    int st = ctx_known_fields(c, b, PUT_FIELDS);
    if (st == CP_OK && (st = ctx_str(c, b, "algorithm", 16, 0, &alg)) == CP_OK &&
        hashfmt_alg_parse(alg, &e.alg) != CP_OK)
        st = ctx_bad(c, "algorithm", "algorithm must be md5, sha1, sha256, pdq or photodna");
    if (st == CP_OK && (st = ctx_str(c, b, "value", 400, 0, &value)) == CP_OK &&
        value_decode(e.alg, value, e.value, &e.len) != CP_OK)
        st = ctx_bad(c, "value", "value must be the %s hash in hex%s", alg,
                     e.alg == HF_PHOTODNA ? " or base64" : "");
    if (st == CP_OK && (st = ctx_str(c, b, "category", 32, FIELD_OPTIONAL, &e.category)) == CP_OK &&
        (st = ctx_str(c, b, "series", 200, FIELD_OPTIONAL, &e.series)) == CP_OK &&
        (st = ctx_str(c, b, "media_id", 64, FIELD_OPTIONAL, &e.media_id)) == CP_OK &&
        (st = ctx_bool(c, b, "victim_identified", &e.victim_identified)) == CP_OK &&
        (st = ctx_bool(c, b, "offender_identified", &e.offender_identified)) == CP_OK)
        st = ctx_bool(c, b, "is_distributed", &e.is_distributed);
    if (st == CP_OK && (st = list_access(c, id, 1)) == CP_OK) {
        struct hashlist_counts n;
        struct audit_entry by = ctx_actor(c);
        char err[256];
        /* The audit trail names who added it; sharees see only "api". */
        st = hashlist_put(c->db, &by, id, &e, 1, "api", &n, err, sizeof err);
        if (st == CP_OK) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "result", n.added ? "added" : n.changed ? "changed" : "unchanged");
            cJSON_AddNumberToObject(j, "version", (double)n.version);
            st = ctx_json(c, n.added ? 201 : 200, j);
        }
    }
    cJSON_Delete(b);
    return st;
}

/* The list an entry belongs to (0 when none). */
static int64_t entry_list(struct ctx *c, int64_t entry_id)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT list_id FROM hash_entries WHERE id = ? AND removed = 0");
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, entry_id);
    int64_t list = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    return list;
}

/* PATCH /api/v1/hash-entries/{id} {enabled?, category?, series?}. */
int h_hash_entry_update(struct ctx *c)
{
    int64_t id = ctx_path_id(c), list = id ? entry_list(c, id) : 0;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"enabled", "category", "series", NULL};
    const char *category, *series;
    int enabled = -1;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "category", 32, FIELD_OPTIONAL, &category)) == CP_OK &&
        (st = ctx_str(c, b, "series", 200, FIELD_OPTIONAL, &series)) == CP_OK)
        st = ctx_bool(c, b, "enabled", &enabled);
    if (st == CP_OK && enabled < 0 && !category && !series)
        st = ctx_bad(c, "body", "send enabled, category or series");
    if (st == CP_OK)
        st = list ? list_access(c, list, 1) : CP_NOTFOUND;
    if (st == CP_OK) {
        struct audit_entry by = ctx_actor(c);
        char err[256];
        st = hashlist_entry_change(c->db, &by, list, id, enabled, category, series, 0, err, sizeof err);
    }
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    c->status = 204;
    return CP_OK;
}

/* DELETE /api/v1/hash-entries/{id}: remove an entry (a tombstone remains, so
 * subscribers syncing "since" learn of it). */
int h_hash_entry_delete(struct ctx *c)
{
    int64_t id = ctx_path_id(c), list = id ? entry_list(c, id) : 0;
    int st = list ? list_access(c, list, 1) : CP_NOTFOUND;
    if (st == CP_OK) {
        struct audit_entry by = ctx_actor(c);
        char err[256];
        st = hashlist_entry_change(c->db, &by, list, id, -1, NULL, NULL, 1, err, sizeof err);
    }
    if (st != CP_OK)
        return st;
    c->status = 204;
    return CP_OK;
}

static const char *const IMPORT_PARAMS[] = {"format", "algorithm", "mode", "name", NULL};

/* POST /api/v1/hash-lists/{id}/import?format=&algorithm=&mode=merge|replace&name=:
 * the body is the file (nginx hands it over as a temp file; see
 * conf/nginx.conf.in). Without format it is guessed from the first bytes. One
 * transaction: all of it or nothing; invalid lines are counted and the first
 * ones named with their line numbers. */
int h_hashlist_import(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    if (ctx_check_params(c, IMPORT_PARAMS) != CP_OK)
        return CP_BAD;
    const char *f = ctx_qparam(c, "format"), *a = ctx_qparam(c, "algorithm"), *m = ctx_qparam(c, "mode"),
               *name = ctx_qparam(c, "name");
    enum hashfmt_format fmt = 0;
    enum hashfmt_alg alg = 0;
    if (f && *f && hashfmt_format_parse(f, &fmt) != CP_OK)
        return ctx_bad(c, "format", "format must be vics, icse, csv or text");
    if (a && *a && hashfmt_alg_parse(a, &alg) != CP_OK)
        return ctx_bad(c, "algorithm", "algorithm must be md5, sha1, sha256, pdq or photodna");
    if (m && *m && strcmp(m, "merge") != 0 && strcmp(m, "replace") != 0)
        return ctx_bad(c, "mode", "mode must be merge or replace");
    if (name && *name && !util_is_clean_text(name, 200))
        return ctx_bad(c, "name", "name must be at most 200 printable characters");
    int st = list_access(c, id, 1);
    if (st != CP_OK)
        return st;
    int fd = -1;
    if (c->body_file) {
        fd = open(c->body_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    } else {
        /* A body that came through FastCGI (small, e.g. in unit tests). */
        fd = memfd_create("cport-import", MFD_CLOEXEC);
        if (fd >= 0 && (c->body_len && write(fd, c->body, c->body_len) != (ssize_t)c->body_len))
            st = CP_ERR;
        if (fd >= 0)
            lseek(fd, 0, SEEK_SET);
    }
    if (fd < 0 || st != CP_OK) {
        if (fd >= 0)
            close(fd);
        snprintf(c->err, sizeof c->err, "could not read the uploaded file");
        return CP_ERR;
    }
    if (!fmt) {
        char head[4096];
        ssize_t n = pread(fd, head, sizeof head, 0);
        if (n <= 0 || hashfmt_sniff(head, (size_t)n, &fmt) != CP_OK) {
            close(fd);
            return ctx_bad(c, "format", "the file's format could not be told from its start; give format");
        }
    }
    struct hashlist_counts *n = ctx_alloc(c, sizeof *n);
    struct audit_entry by = ctx_actor(c);
    char err[256] = "";
    st = n ? hashlist_import(c->db, &by, id, fd, fmt, alg, m && strcmp(m, "replace") == 0,
                             name && *name ? name : "upload", n, err, sizeof err)
           : CP_ERR;
    close(fd);
    /* A large change is folded into the matching index now (in a background
     * process), so the delta that every lookup also checks stays small. */
    if (st == CP_OK && hashmatch_delta(c->db, index_path(c)) > HASHMATCH_DELTA_MAX)
        hashmatch_reindex_detached(c->cfg, index_path(c));
    if (st == CP_BAD)
        return ctx_bad(c, "body", "%s", err);
    if (st != CP_OK) {
        snprintf(c->err, sizeof c->err, "%s", err);
        return st;
    }
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "added");
    jw_int(&w, n->added);
    jw_key(&w, "changed");
    jw_int(&w, n->changed);
    jw_key(&w, "unchanged");
    jw_int(&w, n->unchanged);
    jw_key(&w, "removed");
    jw_int(&w, n->removed);
    jw_key(&w, "invalid");
    jw_int(&w, n->invalid);
    jw_key(&w, "version");
    jw_int(&w, n->version);
    jw_key(&w, "invalid_lines");
    jw_arr(&w);
    for (int i = 0; i < n->reported; i++) {
        jw_obj(&w);
        jw_key(&w, "line");
        jw_int(&w, n->invalid_lines[i].line);
        jw_key(&w, "reason");
        jw_str(&w, n->invalid_lines[i].reason);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}

/* What an export streams: list, format and since. */
struct export_job {
    int64_t list_id, since;
    enum hashfmt_format fmt;
};

/* Produce the export body through the front end's writer. */
static int export_stream(struct ctx *c, int (*write)(void *w, const void *p, size_t n), void *w)
{
    struct export_job *j = c->stream_arg;
    char err[256];
    int st = hashlist_export(c->db, j->list_id, j->fmt, j->since, write, w, err, sizeof err);
    if (st != CP_OK)
        log_line(c->request_id, "export of list %lld: %s", (long long)j->list_id, err);
    return st;
}

static const char *const EXPORT_PARAMS[] = {"format", "since", NULL};

/* GET /api/v1/hash-lists/{id}/export?format=vics|csv|text&since=N: the whole
 * list, or what changed after version N (each entry marked added, changed or
 * removed), streamed. Audited. */
int h_hashlist_export(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    if (ctx_check_params(c, EXPORT_PARAMS) != CP_OK)
        return CP_BAD;
    const char *f = ctx_qparam(c, "format"), *s = ctx_qparam(c, "since");
    struct export_job *j = ctx_alloc(c, sizeof *j);
    if (!j)
        return CP_ERR;
    j->list_id = id;
    j->since = -1;
    j->fmt = HF_VICS;
    if (f && *f && (hashfmt_format_parse(f, &j->fmt) != CP_OK || j->fmt == HF_ICSE))
        return ctx_bad(c, "format", "format must be vics, csv or text");
    if (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (*end || v < 0 || *s < '0' || *s > '9')
            return ctx_bad(c, "since", "since must be a list version (a whole number, 0 or more)");
        j->since = v;
    }
    if (j->since >= 0 && j->fmt == HF_TEXT)
        return ctx_bad(c, "format", "plain text carries no change marks: use vics or csv with since");
    int st = list_access(c, id, 0);
    if (st != CP_OK)
        return st;
    static const char *const types[] = {"", "application/json", "", "text/csv; charset=utf-8",
                                        "text/plain; charset=utf-8"};
    static const char *const exts[] = {"", "json", "", "csv", "txt"};
    char disp[96];
    snprintf(disp, sizeof disp, "attachment; filename=\"hash-list-%lld%s.%s\"", (long long)id,
             j->since >= 0 ? "-changes" : "", exts[j->fmt]);
    ctx_header(c, "Content-Disposition", disp);
    c->status = 200;
    c->ctype = types[j->fmt];
    c->stream = export_stream;
    c->stream_arg = j;
    ctx_audit_read(c, "hashlist.export", "hash_list:%lld", (long long)id);
    return CP_OK;
}

/* GET /api/v1/hash-lists/{id}/shares: who the owner shares the list with. */
int h_hashlist_shares(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    int st = id ? list_access(c, id, 0) : CP_NOTFOUND;
    if (st != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "SELECT s.id, s.org_id, o.name, s.org_kind, s.granted_at, s.granted_by"
                                     " FROM hash_list_shares s JOIN hash_lists l ON l.id = s.list_id"
                                     " LEFT JOIN orgs o ON o.id = s.org_id WHERE s.list_id = ? AND l.org_id = ?"
                                     " ORDER BY s.id");
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, c->who.org_id);
    }
    return ctx_table(c, q, "items", "i:id i:org_id t:org t:org_kind T:granted_at t:granted_by");
}

/* POST /api/v1/hash-lists/{id}/shares {org_id} | {org_kind}: grant read to a
 * named organisation or every organisation of a kind (lea, hotline, interpol). */
int h_hashlist_share(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"org_id", "org_kind", NULL};
    static const char *const kinds[] = {"lea", "hotline", "interpol", NULL};
    const char *kind;
    const cJSON *org = cJSON_GetObjectItemCaseSensitive(b, "org_id");
    int64_t org_id = 0;
    int st = ctx_known_fields(c, b, fields);
    if (st == CP_OK && (st = ctx_str(c, b, "org_kind", 16, FIELD_OPTIONAL, &kind)) == CP_OK) {
        if (!kind == !org)
            st = ctx_bad(c, "org_id", "give either org_id or org_kind");
        else if (kind && !util_in_list(kind, kinds))
            st = ctx_bad(c, "org_kind", "org_kind must be lea, hotline or interpol");
        else if (org && (!cJSON_IsNumber(org) || !util_whole_in(org->valuedouble, 1, INT64_MAX / 2, &org_id)))
            st = ctx_bad(c, "org_id", "org_id must be an organisation id");
    }
    int64_t share = 0;
    if (st == CP_OK && org_id) {
        sqlite3_stmt *q = db_prep(c->db, "SELECT kind FROM orgs WHERE id = ?");
        sqlite3_bind_int64(q, 1, org_id);
        int ok = sqlite3_step(q) == SQLITE_ROW && strcmp(db_text(q, 0), "operator") != 0;
        db_done(q);
        if (!ok || org_id == c->who.org_id)
            st = ctx_bad(c, "org_id", "no such organisation to share with");
    }
    if (st == CP_OK && (st = list_access(c, id, 1)) == CP_OK) {
        struct audit_entry by = ctx_actor(c);
        char err[256];
        st = hashlist_share(c->db, &by, id, org_id, kind, &share, err, sizeof err);
        if (st == CP_CONFLICT)
            snprintf(c->err, sizeof c->err, "%s", err);
    }
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)share);
    return ctx_json(c, 201, j);
}

/* DELETE /api/v1/hash-list-shares/{id}: the owner revokes a share; the list
 * vanishes (404) for those it was shared with at once. */
int h_hashlist_unshare(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    int st = db_begin(c->db);
    if (st != CP_OK)
        return st;
    sqlite3_stmt *q = db_prep(c->db, "DELETE FROM hash_list_shares WHERE id = ? AND list_id IN"
                                     " (SELECT id FROM hash_lists WHERE org_id = ?) AND ? != 'viewer' RETURNING list_id");
    int64_t list = 0;
    if (q) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, c->who.org_id);
        db_bind_text(q, 3, c->who.role);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            list = sqlite3_column_int64(q, 0);
            rc = sqlite3_step(q);
        }
        db_done(q);
        st = rc == SQLITE_DONE ? (list ? CP_OK : CP_NOTFOUND) : db_err(rc);
    }
    if (st == CP_OK) {
        char dt[48];
        snprintf(dt, sizeof dt, "{\"share\":%lld}", (long long)id);
        st = ctx_audit(c, "hashlist.unshare", "hash_list", list, dt);
    }
    if (st == CP_OK)
        st = db_commit(c->db);
    if (st != CP_OK) {
        db_rollback(c->db);
        return st;
    }
    c->status = 204;
    return CP_OK;
}

/* The matching index of this installation. */
static const char *index_path(struct ctx *c)
{
    static char path[4200];
    if (!path[0])
        hashmatch_index_path(c->cfg, path, sizeof path);
    return path;
}

/* Write the entries among cand that the caller may read and that can match
 * (entry and list enabled, not removed): normal lists into "matches", warning
 * lists into "warnings". */
static int write_hits(struct ctx *c, struct jw *w, const struct hashmatch_cand *cand, size_t n)
{
    for (int warning = 0; warning < 2; warning++) {
        jw_key(w, warning ? "warnings" : "matches");
        jw_arr(w);
        for (size_t i = 0; i < n; i++) {
            struct sqlq q;
            sqlq_init(&q);
            sqlq_sql(&q, "SELECT l.id, l.name, e.id, e.algorithm, e.category, e.series, l.kind = 'warning'"
                         " FROM hash_entries e JOIN hash_lists l ON l.id = e.list_id WHERE e.id = ");
            sqlq_int(&q, cand[i].entry_id);
            sqlq_sql(&q, " AND e.removed = 0 AND e.enabled = 1 AND l.enabled = 1 AND ");
            scope_lists_where(&c->who, &q);
            sqlite3_stmt *st = sqlq_prepare(&q, c->db);
            sqlq_free(&q);
            if (!st)
                return CP_ERR;
            int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW && sqlite3_column_int(st, 6) == warning) {
                jw_obj(w);
                jw_columns(w, st, "i:list_id t:list i:entry_id t:algorithm t:category t:series");
                jw_key(w, "distance");
                jw_int(w, cand[i].distance);
                jw_obj_end(w);
            }
            db_done(st);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return db_err(rc);
        }
        jw_arr_end(w);
    }
    return CP_OK;
}

#define MATCH_MAX_HASHES 1000
#define MATCH_MAX_CANDIDATES 1024

/* POST /api/v1/match {"hashes":[{"algorithm","value","quality"?}], "pdq_max_distance"?}:
 * for every input, the matching entries of every list the caller may read
 * (PDQ with its Hamming distance), warning-list hits apart. PDQ inputs of
 * quality under 50 are skipped and say so. At most 1000 inputs a request. */
int h_match(struct ctx *c)
{
    cJSON *b = ctx_json_body(c);
    if (!b)
        return CP_BAD;
    static const char *const fields[] = {"hashes", "pdq_max_distance", NULL};
    const cJSON *hashes = cJSON_GetObjectItemCaseSensitive(b, "hashes");
    const cJSON *maxd = cJSON_GetObjectItemCaseSensitive(b, "pdq_max_distance");
    int st = ctx_known_fields(c, b, fields), max_distance = 31;
    if (st == CP_OK && (!cJSON_IsArray(hashes) || cJSON_GetArraySize(hashes) < 1 ||
                        cJSON_GetArraySize(hashes) > MATCH_MAX_HASHES))
        st = ctx_bad(c, "hashes", "hashes must be a list of 1 to %d {algorithm, value} objects", MATCH_MAX_HASHES);
    if (st == CP_OK && maxd) {
        /* The range before the cast: (int) of a double beyond int's range
         * (1e300) is undefined behaviour (UBSan, with test/fuzz/fuzz_body). */
        if (!cJSON_IsNumber(maxd) || maxd->valuedouble < 0 || maxd->valuedouble > 64 ||
            maxd->valuedouble != (int)maxd->valuedouble)
            st = ctx_bad(c, "pdq_max_distance", "pdq_max_distance must be a whole number from 0 to 64");
        else
            max_distance = maxd->valueint;
    }
    /* Validate every input before any work. */
    const cJSON *h;
    int i = 0;
    cJSON_ArrayForEach(h, hashes)
    {
        if (st != CP_OK)
            break;
        char field[48];
        snprintf(field, sizeof field, "hashes[%d]", i++);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(h, "algorithm"), *v = cJSON_GetObjectItemCaseSensitive(h, "value"),
                    *qy = cJSON_GetObjectItemCaseSensitive(h, "quality");
        enum hashfmt_alg alg;
        uint8_t val[144];
        size_t len;
        if (!cJSON_IsObject(h) || !cJSON_IsString(a) || hashfmt_alg_parse(a->valuestring, &alg) != CP_OK)
            st = ctx_bad(c, field, "%s.algorithm must be md5, sha1, sha256, pdq or photodna", field);
        else if (!cJSON_IsString(v) || strlen(v->valuestring) > 400 || value_decode(alg, v->valuestring, val, &len) != CP_OK)
            st = ctx_bad(c, field, "%s.value is not a %s hash in hex%s", field, hashfmt_alg_name(alg),
                         alg == HF_PHOTODNA ? " or base64" : "");
        else if (qy && (!cJSON_IsNumber(qy) || qy->valueint < 0 || qy->valueint > 100))
            st = ctx_bad(c, field, "%s.quality must be a number from 0 to 100", field);
    }
    if (st != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    struct hashmatch_cand cand[MATCH_MAX_CANDIDATES];
    if ((st = hashmatch_begin(c->db, index_path(c))) != CP_OK) {
        cJSON_Delete(b);
        return st;
    }
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "pdq_max_distance");
    jw_int(&w, max_distance);
    jw_key(&w, "results");
    jw_arr(&w);
    i = 0;
    long hits = 0;
    cJSON_ArrayForEach(h, hashes)
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(h, "algorithm"), *v = cJSON_GetObjectItemCaseSensitive(h, "value"),
                    *qy = cJSON_GetObjectItemCaseSensitive(h, "quality");
        enum hashfmt_alg alg;
        uint8_t val[144];
        size_t len, n = 0;
        hashfmt_alg_parse(a->valuestring, &alg);
        value_decode(alg, v->valuestring, val, &len);
        jw_obj(&w);
        jw_key(&w, "index");
        jw_int(&w, i++);
        jw_key(&w, "algorithm");
        jw_str(&w, hashfmt_alg_name(alg));
        jw_key(&w, "value");
        jw_str(&w, v->valuestring);
        if (alg == HF_PDQ && qy && qy->valueint < 50) {
            jw_key(&w, "skipped");
            jw_str(&w, "PDQ quality below 50: too unreliable to match");
            jw_obj_end(&w);
            continue;
        }
        st = hashmatch_lookup(alg, val, max_distance, cand, MATCH_MAX_CANDIDATES, &n);
        if (st == CP_LIMITED) {
            jw_key(&w, "truncated");
            jw_bool(&w, 1);
            st = CP_OK;
        }
        if (st == CP_OK)
            st = write_hits(c, &w, cand, n);
        if (st != CP_OK)
            break;
        hits += (long)n;
        jw_obj_end(&w);
    }
    cJSON_Delete(b);
    if (st != CP_OK)
        return st;
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    /* Matching is a search of the lists: on the audit trail with its size. */
    ctx_audit_read(c, "hash.match", "inputs:%d hits:%ld", i, hits);
    return CP_OK;
}

/* GET /api/v1/reports/{id}/hash-hits: for each media item of a report the
 * caller may see with media metadata, the list entries its hashes hit now
 * (computed on the spot, so a list imported a minute ago already counts). */
int h_report_hash_hits(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    if (!id)
        return CP_NOTFOUND;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT m.id, m.md5, m.sha1, m.sha256, m.pdq, m.pdq_quality, m.photodna FROM media m"
                 " JOIN reports r ON r.id = m.report_id WHERE r.id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, " ORDER BY m.id");
    sqlite3_stmt *m = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!m)
        return CP_ERR;
    struct jw w;
    buf_reset(&c->out);
    jw_init(&w, &c->out);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    int rc, st = hashmatch_begin(c->db, index_path(c)), rows = 0;
    while (st == CP_OK && (rc = sqlite3_step(m)) == SQLITE_ROW) {
        rows++;
        struct hashmatch_cand all[MATCH_MAX_CANDIDATES];
        size_t total = 0;
        st = hashmatch_media(m, 31, all, MATCH_MAX_CANDIDATES, &total);
        if (st == CP_LIMITED)
            st = CP_OK;
        jw_obj(&w);
        jw_key(&w, "media_id");
        jw_int(&w, sqlite3_column_int64(m, 0));
        if (st == CP_OK)
            st = write_hits(c, &w, all, total);
        jw_obj_end(&w);
    }
    db_done(m);
    if (st != CP_OK)
        return st;
    /* No rows: the report is not there, not visible, or its media hashes are
     * outside the caller's agreement: the last is 403, the others 404. */
    if (!rows) {
        sqlite3_stmt *r;
        sqlq_init(&q);
        sqlq_sql(&q, "SELECT count(*) FROM reports r WHERE r.id = ");
        sqlq_int(&q, id);
        sqlq_sql(&q, " AND ");
        scope_where(&c->scope, SCOPE_SEE, &q);
        r = sqlq_prepare(&q, c->db);
        sqlq_free(&q);
        int seen = r && sqlite3_step(r) == SQLITE_ROW && sqlite3_column_int(r, 0) > 0;
        db_done(r);
        if (!seen)
            return CP_NOTFOUND;
        if (!scope_any_meta(&c->scope)) {
            snprintf(c->err, sizeof c->err, "your agreement does not include media metadata (hashes)");
            return CP_DENIED;
        }
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    c->status = 200;
    c->ctype = "application/json";
    return CP_OK;
}

/* GET /api/v1/hash-lists/{id}/report-hits: the caller's reports whose media
 * hit the list (enabled entries of an enabled list), from the last correlation
 * run (`cport hashlist reindex`, run by cron; found_at says when a hit was
 * found). Newest 500. */
int h_hashlist_report_hits(struct ctx *c)
{
    int64_t id = ctx_path_id(c);
    int st = id ? list_access(c, id, 0) : CP_NOTFOUND;
    if (st != CP_OK)
        return st;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT r.id, r.url, r.domain, r.reported_at, count(*), min(h.distance), max(h.found_at)"
                 " FROM hash_hits h JOIN hash_entries e ON e.id = h.entry_id JOIN media m ON m.id = h.media_id"
                 " JOIN reports r ON r.id = m.report_id JOIN hash_lists l ON l.id = e.list_id WHERE e.list_id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND e.removed = 0 AND e.enabled = 1 AND l.enabled = 1 AND ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, " GROUP BY r.id ORDER BY r.reported_at DESC, r.id DESC LIMIT 500");
    sqlite3_stmt *s = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    return ctx_table(c, s, "items", "i:report_id t:url t:domain T:reported_at i:media_hits i:min_distance T:found_at");
}
