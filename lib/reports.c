/*
 * reports - scoped search, detail and facets over the reports table.
 */
#include "reports.h"
#include "csv.h"
#include "domain.h"
#include "jw.h"
#include "qcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SITE_TYPES[] = {"website", "image_host", "forum", "file_host", "banner_site", "blog",
                                         "social_network", "video_channel", "chat_service", "other", NULL};
static const char *const STATUSES[] = {"received", "assessed", "forwarded", "lea_notified", "ntd_sent",
                                       "content_removed", "closed", NULL};
static const char *const SORTS[] = {"reported_at", "updated_at", "domain", NULL};
static const char *const PARAMS[] = {"q", "hosting_country", "site_type", "status", "international", "national",
                                     "media_type", "hotline", "domain", "from", "to", "sort", "limit", "cursor", NULL};
/* An export takes the filters, a sort and its format; it is never paged. */
static const char *const EXPORT_PARAMS[] = {"q", "hosting_country", "site_type", "status", "international", "national",
                                            "media_type", "hotline", "domain", "from", "to", "sort", "format", NULL};

/* The columns every report JSON is written from, in report_write's order. */
#define REPORT_COLS                                                                                          \
    "r.id, r.iccam_id, r.url, r.domain, r.site_type, r.status, r.reported_at, r.updated_at,"                \
    " r.reporting_hotline, r.assessing_hotline, r.host_country, r.host_ip, r.host_asn, r.host_provider,"    \
    " r.commercial, r.assessed_at, r.forwarded_at, r.lea_notified_at, r.ntd_sent_at, r.removed_at,"        \
    " r.media_count"

/* One report as the feed names it (ICCAM-FEED.md) plus id, domain, media_count,
 * from a row of REPORT_COLS. */
static void report_write(struct jw *w, sqlite3_stmt *st)
{
    jw_obj(w);
    jw_key(w, "id");
    jw_int(w, sqlite3_column_int64(st, 0));
    jw_col_text(w, "iccam_id", st, 1);
    jw_col_text(w, "url", st, 2);
    jw_col_text(w, "domain", st, 3);
    jw_col_text(w, "site_type", st, 4);
    jw_col_text(w, "status", st, 5);
    jw_col_time(w, "reported_at", st, 6);
    jw_col_time(w, "updated_at", st, 7);
    jw_col_text(w, "reporting_hotline", st, 8);
    jw_col_text(w, "assessing_hotline", st, 9);
    jw_key(w, "hosting");
    jw_obj(w);
    jw_col_text(w, "country", st, 10);
    jw_col_text(w, "ip", st, 11);
    jw_col_int(w, "asn", st, 12);
    jw_col_text(w, "provider", st, 13);
    jw_obj_end(w);
    jw_key(w, "commercial");
    jw_bool(w, sqlite3_column_int(st, 14));
    jw_key(w, "timeline");
    jw_obj(w);
    jw_col_time(w, "assessed_at", st, 15);
    jw_col_time(w, "forwarded_at", st, 16);
    jw_col_time(w, "lea_notified_at", st, 17);
    jw_col_time(w, "ntd_sent_at", st, 18);
    jw_col_time(w, "removed_at", st, 19);
    jw_obj_end(w);
    jw_key(w, "media_count");
    jw_int(w, sqlite3_column_int(st, 20));
}

/* Split a comma list in request memory, checking each item with ok(); returns the
 * count or -1. */
static int split_list(struct ctx *c, const char *v, const char **out, int (*ok)(const char *, const void *),
                      const void *arg)
{
    char *s = ctx_strdup(c, v);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == REPORTS_MAX_LIST || !ok(tok, arg))
            return -1;
        out[n++] = tok;
    }
    return n ? n : -1;
}

/* List item checks for split_list. */
static int ok_enum(const char *s, const void *list) { return util_in_list(s, list); }
static int ok_country(const char *s, const void *unused)
{
    (void)unused;
    return util_is_country(s);
}

/* Bits for a comma list of words: word i sets bit (1 << i). */
static int list_bits(struct ctx *c, const char *v, const char *const *words, int *bits)
{
    const char *items[REPORTS_MAX_LIST];
    int n = split_list(c, v, items, ok_enum, words);
    if (n < 0)
        return -1;
    *bits = 0;
    for (int i = 0; i < n; i++)
        for (int w = 0; words[w]; w++)
            if (strcmp(items[i], words[w]) == 0)
                *bits |= 1 << w;
    return 0;
}

/* Turn free text into an FTS5 query of quoted prefix terms, ANDed: the user's
 * text is never FTS syntax. */
static const char *fts_query(struct ctx *c, const char *text)
{
    struct buf b;
    buf_init(&b);
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (b.len)
            buf_adds(&b, " ");
        buf_adds(&b, "\"");
        for (; *p && *p != ' ' && *p != '\t'; p++) {
            if (*p == '"')
                buf_adds(&b, "\"");
            buf_add(&b, p, 1);
        }
        buf_adds(&b, "\"*");
    }
    const char *r = b.len ? ctx_strdup(c, b.p) : NULL;
    buf_free(&b);
    return r;
}

/* Validate every parameter of a report search. */
int reports_parse_filter(struct ctx *c, struct report_filter *f, int paging)
{
    memset(f, 0, sizeof *f);
    f->desc = 1;
    f->limit = 50;
    if (ctx_check_params(c, paging == REPORTS_EXPORT ? EXPORT_PARAMS : PARAMS) != CP_OK)
        return CP_BAD;
    const char *v;
    if ((v = ctx_qparam(c, "q")) && *v) {
        if (!util_is_clean_text(v, 200))
            return ctx_bad(c, "q", "q must be at most 200 printable characters");
        f->q = fts_query(c, v);
    }
    if ((v = ctx_qparam(c, "hosting_country")) && *v &&
        (f->ncountries = split_list(c, v, f->countries, ok_country, NULL)) < 0)
        return ctx_bad(c, "hosting_country", "hosting_country must be ISO 3166-1 alpha-2 codes such as NL or NL,DE");
    if ((v = ctx_qparam(c, "site_type")) && *v &&
        (f->nsite_types = split_list(c, v, f->site_types, ok_enum, SITE_TYPES)) < 0)
        return ctx_bad(c, "site_type", "site_type must be one or more of website, image_host, forum, file_host,"
                                       " banner_site, blog, social_network, video_channel, chat_service, other");
    if ((v = ctx_qparam(c, "status")) && *v && (f->nstatuses = split_list(c, v, f->statuses, ok_enum, STATUSES)) < 0)
        return ctx_bad(c, "status", "status must be one or more of received, assessed, forwarded, lea_notified,"
                                    " ntd_sent, content_removed, closed");
    static const char *const INTL[] = {"baseline", "not_baseline", NULL};
    static const char *const NATL[] = {"illegal", "not_illegal", NULL};
    static const char *const TYPES[] = {"image", "video", "other", NULL};
    if ((v = ctx_qparam(c, "international")) && *v && list_bits(c, v, INTL, &f->class_bits))
        return ctx_bad(c, "international", "international must be baseline or not_baseline");
    if ((v = ctx_qparam(c, "national")) && *v && list_bits(c, v, NATL, &f->class_nat_bits))
        return ctx_bad(c, "national", "national must be illegal or not_illegal");
    if ((f->class_bits || f->class_nat_bits) && !scope_any_meta(&c->scope)) {
        snprintf(c->field, sizeof c->field, "%s", f->class_bits ? "international" : "national");
        ctx_problem(c, 403, "no-media-metadata", "Classification filters not available",
                    "your agreement does not share media classifications");
        return CP_BAD;
    }
    if ((v = ctx_qparam(c, "media_type")) && *v && list_bits(c, v, TYPES, &f->type_bits))
        return ctx_bad(c, "media_type", "media_type must be image, video or other");
    if ((v = ctx_qparam(c, "hotline")) && *v) {
        if (!util_is_clean_text(v, 32) || strchr(v, ','))
            return ctx_bad(c, "hotline", "hotline must be one hotline code such as NL-EOKM");
        f->hotline = v;
    }
    if ((v = ctx_qparam(c, "domain")) && *v) {
        char dom[256], e[128];
        if (!util_is_clean_text(v, 253) || domain_registrable(v, dom, sizeof dom, e, sizeof e) != CP_OK)
            return ctx_bad(c, "domain", "domain must be a domain name such as example.test");
        f->domain = ctx_strdup(c, dom);
    }
    if ((v = ctx_qparam(c, "from")) && *v) {
        if (util_parse_time(v, &f->from))
            return ctx_bad(c, "from", "from must be a date (2026-01-31) or an ISO-8601 time");
        f->has_from = 1;
    }
    if ((v = ctx_qparam(c, "to")) && *v) {
        if (util_parse_time(v, &f->to))
            return ctx_bad(c, "to", "to must be a date (2026-01-31) or an ISO-8601 time");
        /* A bare date includes that whole day. */
        f->to += strlen(v) == 10 ? 86400 : 1;
        f->has_to = 1;
    }
    if (f->has_from && f->has_to && f->to <= f->from)
        return ctx_bad(c, "to", "to must not be before from");
    if (!paging)
        return CP_OK;
    if ((v = ctx_qparam(c, "sort")) && *v) {
        f->desc = *v == '-';
        const char *name = v + f->desc;
        int i;
        for (i = 0; SORTS[i] && strcmp(SORTS[i], name) != 0; i++)
            ;
        if (!SORTS[i])
            return ctx_bad(c, "sort", "sort must be reported_at, updated_at or domain, with '-' for descending");
        f->sort = i;
    } else {
        f->sort = 0;
    }
    if (paging == REPORTS_EXPORT)
        return CP_OK;
    if ((v = ctx_qparam(c, "limit")) && *v) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 500 || *v < '0' || *v > '9')
            return ctx_bad(c, "limit", "limit must be a whole number from 1 to 500");
        f->limit = (int)n;
    }
    if ((v = ctx_qparam(c, "cursor")) && *v) {
        /* A cursor is base64url("<sort>:<id>:<value>") of the last row shown. */
        uint8_t raw[400];
        int n = strlen(v) < 520 ? util_b64url_decode(v, raw, sizeof raw - 1) : -1;
        char *s = n > 0 ? (raw[n] = 0, (char *)raw) : NULL, *p1, *p2, *end;
        if (!s || memchr(raw, 0, (size_t)n) || !(p1 = strchr(s, ':')) || !(p2 = strchr(p1 + 1, ':')))
            return ctx_bad(c, "cursor", "cursor is not one this server issued");
        *p1 = *p2 = 0;
        char want[16];
        snprintf(want, sizeof want, "%s%s", f->desc ? "-" : "", SORTS[f->sort]);
        if (strcmp(s, want) != 0)
            return ctx_bad(c, "cursor", "cursor belongs to another sort order");
        f->cur_id = strtoll(p1 + 1, &end, 10);
        if (*end || f->cur_id < 0)
            return ctx_bad(c, "cursor", "cursor is not one this server issued");
        if (f->sort == 2) {
            if (!util_is_clean_text(p2 + 1, 253))
                return ctx_bad(c, "cursor", "cursor is not one this server issued");
            f->cur_text = ctx_strdup(c, p2 + 1);
        } else {
            f->cur_num = strtoll(p2 + 1, &end, 10);
            if (*end || end == p2 + 1)
                return ctx_bad(c, "cursor", "cursor is not one this server issued");
        }
        f->has_cursor = 1;
    }
    return CP_OK;
}

/* Append " AND ..." for every filter, after the scope condition. */
static void filter_where(struct ctx *c, const struct report_filter *f, struct sqlq *q)
{
    /* The bitmap test goes first: it turns most index entries away for the cost
     * of a function call, before the scope's set lookups run. */
    if (f->q && f->q_bitmap)
        sqlq_sql(q, "cport_fts_hit(r.id) AND ");
    scope_where(&c->scope, SCOPE_SEE, q);
    if (f->q && !f->q_bitmap) {
        sqlq_sql(q, " AND r.id IN (SELECT rowid FROM reports_fts WHERE reports_fts MATCH ");
        sqlq_text(q, f->q);
        sqlq_sql(q, ")");
    }
    if (f->ncountries) {
        sqlq_sql(q, " AND r.host_country IN ");
        sqlq_text_list(q, f->countries, f->ncountries);
    }
    if (f->nsite_types) {
        sqlq_sql(q, " AND r.site_type IN ");
        sqlq_text_list(q, f->site_types, f->nsite_types);
    }
    if (f->nstatuses) {
        sqlq_sql(q, " AND r.status IN ");
        sqlq_text_list(q, f->statuses, f->nstatuses);
    }
    if (f->class_bits || f->class_nat_bits) {
        /* Classifications only count where the caller may see them. */
        sqlq_sql(q, " AND ");
        scope_where(&c->scope, SCOPE_META, q);
        if (f->class_bits) {
            sqlq_sql(q, " AND (r.class_bits & ");
            sqlq_int(q, f->class_bits);
            sqlq_sql(q, ")");
        }
        if (f->class_nat_bits) {
            sqlq_sql(q, " AND (r.class_bits & ");
            sqlq_int(q, f->class_nat_bits << 2);
            sqlq_sql(q, ")");
        }
    }
    if (f->type_bits) {
        sqlq_sql(q, " AND (r.type_bits & ");
        sqlq_int(q, f->type_bits);
        sqlq_sql(q, ")");
    }
    if (f->hotline) {
        sqlq_sql(q, " AND (r.reporting_hotline = ");
        sqlq_text(q, f->hotline);
        sqlq_sql(q, " OR r.assessing_hotline = ");
        sqlq_text(q, f->hotline);
        sqlq_sql(q, ")");
    }
    if (f->domain) {
        sqlq_sql(q, " AND r.domain = ");
        sqlq_text(q, f->domain);
    }
    if (f->has_from) {
        sqlq_sql(q, " AND r.reported_at >= ");
        sqlq_int(q, f->from);
    }
    if (f->has_to) {
        sqlq_sql(q, " AND r.reported_at < ");
        sqlq_int(q, f->to);
    }
}

/* The ORDER BY of a sort, ties broken by id in the same direction (what the
 * keyset cursors and exports rely on). */
static void order_by(const struct report_filter *f, struct sqlq *q)
{
    switch (f->sort * 2 + f->desc) {
    case 0: sqlq_sql(q, " ORDER BY r.reported_at, r.id"); break;
    case 1: sqlq_sql(q, " ORDER BY r.reported_at DESC, r.id DESC"); break;
    case 2: sqlq_sql(q, " ORDER BY r.updated_at, r.id"); break;
    case 3: sqlq_sql(q, " ORDER BY r.updated_at DESC, r.id DESC"); break;
    case 4: sqlq_sql(q, " ORDER BY r.domain, r.id"); break;
    default: sqlq_sql(q, " ORDER BY r.domain DESC, r.id DESC"); break;
    }
}

/* Run a query expected to yield one integer. */
static int query_int(struct ctx *c, struct sqlq *q, int64_t *out)
{
    sqlite3_stmt *st = sqlq_prepare(q, c->db);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : db_status(rc) == CP_OK ? CP_ERR : db_status(rc);
}

/* query_int through qcache. */
static int query_int_cached(struct ctx *c, const char *tag, struct sqlq *q, int64_t *out)
{
    struct buf b;
    struct qcache_key k;
    buf_init(&b);
    int st = CP_OK;
    if (qcache_get(c->db, tag, q, &k, &b)) {
        *out = strtoll(b.p, NULL, 10);
        qcache_key_free(&k);
    } else if ((st = query_int(c, q, out)) == CP_OK) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)*out);
        qcache_put(&k, v);
    } else {
        qcache_key_free(&k);
    }
    buf_free(&b);
    return st;
}

/*
 * Which index drives a search. SQLite's planner, knowing nothing of how rows
 * spread over countries, may answer "newest 50 of an LEA's 200,000" by sorting
 * them all; cport knows the shapes that matter and says which index to walk:
 *   a domain            its index (tens of rows, sorted after);
 *   full text           the FTS hits when they are few; otherwise walk the date
 *                       index newest first and test each entry against them
 *                       (a cached bitmap, see fts_bitmap_use);
 *   one hosting country the country index, already in date order;
 *   newest first        the date index, whose entries carry every column a scope
 *                       or filter tests, so only the page's rows are read.
 * Counting prefers the narrowest range: country, then dates.
 */
enum drive { DRIVE_PLANNER, DRIVE_REPORTED, DRIVE_COUNTRY, DRIVE_DOMAIN };

/* Number of full-text hits of the filter's q (cached like totals). */
static int fts_hits(struct ctx *c, const char *fq, int64_t *n)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT count(*) FROM reports_fts WHERE reports_fts MATCH ");
    sqlq_text(&q, fq);
    int st = query_int_cached(c, "fts", &q, n);
    sqlq_free(&q);
    return st;
}

/*
 * A full-text query with many hits is walked newest first along the date index;
 * materialising its hits for every page (the FTS query alone is several ms for
 * 20,000 hits) would cost more than the walk. The hits are kept per worker as a
 * bitmap over report ids, valid until the next commit like totals, and the SQL
 * function cport_fts_hit(id) tests an entry against the current one.
 */
#define FTS_BITMAPS 4
static struct {
    char *q;
    int64_t version, nbits;
    uint8_t *bits;
} fts_maps[FTS_BITMAPS];
static const uint8_t *fts_bits; /* the bitmap cport_fts_hit() reads */
static int64_t fts_nbits;
static sqlite3 *fts_fn_db;      /* the connection the function is registered on */

/* SQL function cport_fts_hit(id): is id among the current query's hits? */
static void fts_hit_fn(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t id = sqlite3_value_int64(argv[0]);
    sqlite3_result_int(cx, fts_bits && id >= 0 && id < fts_nbits && (fts_bits[id >> 3] >> (id & 7) & 1));
}

/* Make the hit bitmap of fq current (from the cache, or by running the query). */
static int fts_bitmap_use(struct ctx *c, const char *fq)
{
    if (fts_fn_db != c->db->h) {
        if (sqlite3_create_function(c->db->h, "cport_fts_hit", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL,
                                    fts_hit_fn, NULL, NULL) != SQLITE_OK)
            return CP_ERR;
        fts_fn_db = c->db->h;
    }
    int64_t version = db_version(c->db, "reports");
    int slot = 0;
    for (int i = 0; i < FTS_BITMAPS; i++) {
        if (fts_maps[i].q && fts_maps[i].version == version && strcmp(fts_maps[i].q, fq) == 0) {
            fts_bits = fts_maps[i].bits, fts_nbits = fts_maps[i].nbits;
            return CP_OK;
        }
        if (fts_maps[i].version < fts_maps[slot].version || !fts_maps[i].q)
            slot = i;
    }
    sqlite3_stmt *st = db_prep(c->db, "SELECT max(rowid) FROM reports");
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) + 1 : 0;
    db_done(st);
    if (rc != SQLITE_ROW)
        return db_err(rc);
    uint8_t *bits = calloc((size_t)(n / 8 + 1), 1);
    st = db_prep(c->db, "SELECT rowid FROM reports_fts WHERE reports_fts MATCH ?");
    if (!bits || !st) {
        free(bits);
        return CP_ERR;
    }
    db_bind_text(st, 1, fq);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id >= 0 && id < n)
            bits[id >> 3] |= (uint8_t)(1 << (id & 7));
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(bits);
        return db_err(rc);
    }
    free(fts_maps[slot].q);
    free(fts_maps[slot].bits);
    fts_maps[slot].q = strdup(fq);
    fts_maps[slot].bits = bits;
    fts_maps[slot].nbits = n;
    fts_maps[slot].version = version;
    fts_bits = bits, fts_nbits = n;
    return CP_OK;
}

/* The filter keys a stored filter object may have: GET /reports' filters. */
static const char *const FILTER_KEYS[] = {"q", "hosting_country", "site_type", "status", "international", "national",
                                          "media_type", "hotline", "domain", "from", "to", NULL};

/* See reports.h: the object's members become the request's parameters for
 * reports_parse_filter, so a stored filter is judged exactly as a search. */
int reports_filter_json(struct ctx *c, const cJSON *obj, const char *field, struct report_filter *f, char **canonical)
{
    if (!cJSON_IsObject(obj))
        return ctx_bad(c, field, "%s must be an object with the filter keys of GET /api/v1/reports", field);
    cJSON *clean = cJSON_CreateObject();
    const cJSON *m;
    c->nq = 0;
    cJSON_ArrayForEach(m, obj)
    {
        if (!m->string || !util_in_list(m->string, FILTER_KEYS) || !cJSON_IsString(m) ||
            !util_is_clean_text(m->valuestring, 1000)) {
            cJSON_Delete(clean);
            c->nq = 0;
            return ctx_bad(c, field, "%s keys are those of GET /api/v1/reports (no sort, limit or cursor),"
                                     " each with a text value", field);
        }
        if (!*m->valuestring)
            continue;
        cJSON_AddStringToObject(clean, m->string, m->valuestring);
        ctx_add_param(c, m->string, m->valuestring);
    }
    int st = reports_parse_filter(c, f, 0);
    c->nq = 0;
    if (st == CP_OK && canonical && !(*canonical = cJSON_PrintUnformatted(clean)))
        st = CP_ERR;
    cJSON_Delete(clean);
    return st; /* a 400 names the filter key */
}

/* Choose the driving index for a page (for_count 0) or a total (1). */
static int pick_drive(struct ctx *c, const struct report_filter *f, int for_count, enum drive *dr)
{
    *dr = DRIVE_PLANNER;
    if (f->domain) {
        *dr = DRIVE_DOMAIN;
        return CP_OK;
    }
    if (f->q) {
        int64_t hits = 0;
        int st = fts_hits(c, f->q, &hits);
        if (st != CP_OK)
            return st;
        /* Walking the date index finds a page after about limit * N / hits
         * entries; looking the hits up costs about hits: walk when hits exceed
         * sqrt(limit * N). */
        sqlite3_stmt *mx = db_prep(c->db, "SELECT max(rowid) FROM reports");
        int64_t n = mx && sqlite3_step(mx) == SQLITE_ROW ? sqlite3_column_int64(mx, 0) : 0;
        db_done(mx);
        if (for_count || (double)hits * (double)hits <= (double)f->limit * (double)n || f->sort != 0)
            return CP_OK;
        *dr = DRIVE_REPORTED;
        return fts_bitmap_use(c, f->q);
    }
    if (f->hotline)
        return CP_OK;
    if (f->ncountries == 1 && (for_count || f->sort == 0))
        *dr = DRIVE_COUNTRY;
    else if (for_count)
        *dr = f->has_from || f->has_to ? DRIVE_REPORTED : DRIVE_PLANNER;
    else if (f->sort == 0)
        *dr = DRIVE_REPORTED;
    return CP_OK;
}

/* Append the INDEXED BY clause of a drive. */
static void drive_hint(struct sqlq *q, enum drive dr)
{
    switch (dr) {
    case DRIVE_REPORTED: sqlq_sql(q, " INDEXED BY reports_reported"); break;
    case DRIVE_COUNTRY: sqlq_sql(q, " INDEXED BY reports_country"); break;
    case DRIVE_DOMAIN: sqlq_sql(q, " INDEXED BY reports_domain"); break;
    default: break;
    }
}

/* The total of a search, from the cache when the data has not changed. */
static int count_cached(struct ctx *c, const struct report_filter *f, int64_t *total)
{
    enum drive dr;
    int st = pick_drive(c, f, 1, &dr);
    if (st != CP_OK)
        return st;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT count(*) FROM reports r");
    drive_hint(&q, dr);
    sqlq_sql(&q, " WHERE ");
    filter_where(c, f, &q);
    st = query_int_cached(c, "count", &q, total);
    sqlq_free(&q);
    return st;
}

/* See reports.h: the filter plus updated_at after since, driven by the
 * updated_at index so the work follows what changed. */
int reports_count_since(struct ctx *c, const struct report_filter *f0, int64_t since, int64_t *count)
{
    struct report_filter f = *f0;
    f.q_bitmap = 0;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT count(*) FROM reports r INDEXED BY reports_updated WHERE r.updated_at > ");
    sqlq_int(&q, since);
    sqlq_sql(&q, " AND ");
    filter_where(c, &f, &q);
    int st = query_int(c, &q, count);
    sqlq_free(&q);
    return st;
}

/* Every selected id into temp.pkg_reports. */
int reports_select_ids(struct ctx *c, const struct report_filter *f)
{
    struct report_filter all = *f;
    all.q_bitmap = 0; /* a direct FTS lookup: no per-worker bitmap needed */
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "INSERT OR IGNORE INTO temp.pkg_reports(id) SELECT r.id FROM reports r WHERE ");
    filter_where(c, &all, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Request-given report ids: shape, then what the caller may see of them. */
int reports_check_ids(struct ctx *c, const cJSON *ids, int max, const char *domain, char **json,
                      struct reports_ids *out)
{
    *json = NULL;
    int n = cJSON_GetArraySize(ids);
    if (!cJSON_IsArray(ids) || n < 1 || n > max)
        return CP_BAD;
    cJSON *clean = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, ids)
    {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9007199254740991.0 ||
            v->valuedouble != (double)(int64_t)v->valuedouble) {
            cJSON_Delete(clean);
            return CP_BAD;
        }
        cJSON_AddItemToArray(clean, cJSON_CreateNumber(v->valuedouble));
    }
    *json = cJSON_PrintUnformatted(clean);
    cJSON_Delete(clean);
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT (SELECT count(DISTINCT value) FROM json_each(");
    sqlq_text(&q, *json);
    sqlq_sql(&q, ")), count(*), coalesce(sum(r.class_bits & 1), 0) FROM reports r WHERE r.id IN ");
    sqlq_json_set(&q, *json);
    if (domain) {
        sqlq_sql(&q, " AND r.domain = ");
        sqlq_text(&q, domain);
    }
    sqlq_sql(&q, " AND ");
    scope_where(&c->scope, SCOPE_SEE, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->distinct = sqlite3_column_int64(st, 0);
        out->visible = sqlite3_column_int64(st, 1);
        out->baseline = sqlite3_column_int64(st, 2);
    }
    db_done(st);
    return rc == SQLITE_ROW ? CP_OK : db_err(rc);
}

/* One page of results, the total, and the cursor after the last row. */
int reports_search(struct ctx *c, const struct report_filter *f, struct buf *out)
{
    int64_t total;
    int st = count_cached(c, f, &total);
    if (st != CP_OK)
        return st;
    enum drive dr;
    if ((st = pick_drive(c, f, 0, &dr)) != CP_OK)
        return st;
    struct report_filter page = *f;
    page.q_bitmap = f->q && dr == DRIVE_REPORTED;
    f = &page;
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT " REPORT_COLS " FROM reports r");
    drive_hint(&q, dr);
    sqlq_sql(&q, " WHERE ");
    filter_where(c, f, &q);
    if (f->has_cursor) {
        switch (f->sort * 2 + f->desc) {
        case 0: sqlq_sql(&q, " AND (r.reported_at, r.id) > ("); break;
        case 1: sqlq_sql(&q, " AND (r.reported_at, r.id) < ("); break;
        case 2: sqlq_sql(&q, " AND (r.updated_at, r.id) > ("); break;
        case 3: sqlq_sql(&q, " AND (r.updated_at, r.id) < ("); break;
        case 4: sqlq_sql(&q, " AND (r.domain, r.id) > ("); break;
        default: sqlq_sql(&q, " AND (r.domain, r.id) < ("); break;
        }
        if (f->sort == 2)
            sqlq_text(&q, f->cur_text);
        else
            sqlq_int(&q, f->cur_num);
        sqlq_sql(&q, ", ");
        sqlq_int(&q, f->cur_id);
        sqlq_sql(&q, ")");
    }
    order_by(f, &q);
    sqlq_sql(&q, " LIMIT ");
    sqlq_int(&q, f->limit + 1);
    sqlite3_stmt *s = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!s)
        return CP_ERR;
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "items");
    jw_arr(&w);
    int n = 0, rc, more = 0;
    char last[300] = "";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == f->limit) {
            more = 1;
            break;
        }
        report_write(&w, s);
        jw_obj_end(&w);
        n++;
        int col = f->sort == 0 ? 6 : f->sort == 1 ? 7 : 3;
        snprintf(last, sizeof last, "%s%s:%lld:%s", f->desc ? "-" : "", f->sort == 0 ? "reported_at"
                 : f->sort == 1 ? "updated_at" : "domain", (long long)sqlite3_column_int64(s, 0), db_text(s, col));
    }
    db_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(rc);
    jw_arr_end(&w);
    jw_key(&w, "total");
    jw_int(&w, total);
    jw_key(&w, "next_cursor");
    if (more) {
        char enc[420];
        util_b64url_encode((const uint8_t *)last, strlen(last), enc);
        jw_str(&w, enc);
    } else {
        jw_null(&w);
    }
    jw_obj_end(&w);
    return CP_OK;
}

/* One report's CSV line from a row of REPORTS_CSV_COLS (10 and 11 are times). */
void reports_csv_row(struct buf *b, sqlite3_stmt *st)
{
    for (int i = 0; i < 15; i++)
        csv_col(b, st, i, i == 10 || i == 11, i == 14);
}

/* See reports.h. One read transaction (one snapshot) for the whole stream; rows
 * come in the sort's index order, so nothing is sorted or held in memory, and
 * they leave in 64 KiB pieces. */
int reports_export(struct ctx *c, const struct report_filter *f0, int ndjson,
                   int (*write)(void *w, const void *p, size_t n), void *w, int64_t *rows)
{
    struct report_filter f = *f0;
    f.q_bitmap = 0; /* a direct FTS lookup: no per-worker bitmap */
    *rows = 0;
    struct sqlq q;
    sqlq_init(&q);
    if (ndjson)
        sqlq_sql(&q, "SELECT " REPORT_COLS " FROM reports r");
    else
        sqlq_sql(&q, "SELECT " REPORTS_CSV_COLS " FROM reports r");
    /* The index a page of this search would walk (one country: that
     * country's dates), so rows leave in order without a sort first. */
    enum drive dr = DRIVE_PLANNER;
    if (!f.q && pick_drive(c, &f, 0, &dr) != CP_OK)
        dr = DRIVE_PLANNER;
    drive_hint(&q, dr);
    sqlq_sql(&q, " WHERE ");
    filter_where(c, &f, &q);
    order_by(&f, &q);
    if (db_exec(c->db, "BEGIN", NULL, 0) != CP_OK) {
        sqlq_free(&q);
        return CP_BUSY;
    }
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    int e = st ? CP_OK : CP_ERR, rc = SQLITE_DONE;
    struct buf b;
    buf_init(&b);
    if (e == CP_OK && !ndjson)
        buf_adds(&b, REPORTS_CSV_HEADER);
    while (e == CP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (ndjson) {
            struct jw jw;
            jw_init(&jw, &b);
            report_write(&jw, st);
            jw_obj_end(&jw);
            buf_add(&b, "\n", 1);
        } else {
            reports_csv_row(&b, st);
        }
        (*rows)++;
        if (b.len >= 64 * 1024) {
            e = write(w, b.p, b.len) == 0 ? CP_OK : CP_ERR;
            buf_reset(&b);
        }
    }
    if (e == CP_OK && rc != SQLITE_DONE)
        e = db_err(rc);
    if (e == CP_OK && b.len)
        e = write(w, b.p, b.len) == 0 ? CP_OK : CP_ERR;
    buf_free(&b);
    db_done(st);
    db_exec(c->db, "COMMIT", NULL, 0);
    return e;
}

/* A hotline object by code: {code,name,country,website,email}, {code} alone
 * when the feed has not listed it, null when there is no code. */
static int hotline_write(struct ctx *c, struct jw *w, const char *code)
{
    if (!*code) {
        jw_null(w);
        return CP_OK;
    }
    sqlite3_stmt *st = db_prep(c->db, "SELECT code, name, country, website, email FROM hotlines WHERE code = ?");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, code);
    int rc = sqlite3_step(st);
    jw_obj(w);
    if (rc == SQLITE_ROW) {
        jw_col_text(w, "code", st, 0);
        jw_col_text(w, "name", st, 1);
        jw_col_text(w, "country", st, 2);
        jw_col_text(w, "website", st, 3);
        jw_col_text(w, "email", st, 4);
    } else {
        jw_key(w, "code");
        jw_str(w, code);
    }
    jw_obj_end(w);
    db_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Hex of a BLOB column, or null. */
static void hex_write(struct jw *w, const char *k, sqlite3_stmt *st, int col)
{
    int n = sqlite3_column_bytes(st, col);
    const uint8_t *p = sqlite3_column_blob(st, col);
    jw_key(w, k);
    if (!p || n <= 0 || n > 64) {
        jw_null(w);
        return;
    }
    char hex[129];
    util_hex_encode(p, (size_t)n, hex);
    jw_str(w, hex);
}

/* One assessment of a media item, as read from the classifications table. */
struct cls_row {
    int64_t media_id, assessed_at;
    int has_at, current;
    char international[16], national[16], age_group[20], gender[12], assessed_by[40];
    int has[5]; /* which of the five texts are not NULL */
};

/* Write one assessment. */
static void cls_write(struct jw *w, const struct cls_row *r)
{
    jw_obj(w);
    jw_key(w, "international");
    jw_str(w, r->has[0] ? r->international : NULL);
    jw_key(w, "national");
    jw_str(w, r->has[1] ? r->national : NULL);
    jw_key(w, "age_group");
    jw_str(w, r->has[2] ? r->age_group : NULL);
    jw_key(w, "gender");
    jw_str(w, r->has[3] ? r->gender : NULL);
    jw_key(w, "assessed_at");
    if (r->has_at)
        jw_time(w, r->assessed_at);
    else
        jw_null(w);
    jw_key(w, "assessed_by");
    jw_str(w, r->has[4] ? r->assessed_by : NULL);
    jw_obj_end(w);
}

/* Every assessment of the report's media, in index order (media, then current
 * last, then insertion order): one query for the whole report. *rows is malloc'd. */
static int cls_load(struct ctx *c, int64_t report_id, struct cls_row **rows, int *n)
{
    *rows = NULL, *n = 0;
    sqlite3_stmt *st = db_prep(c->db, "SELECT c.media_id, c.international, c.national, c.age_group, c.gender,"
                                      " c.assessed_at, c.assessed_by, c.is_current FROM media m"
                                      " JOIN classifications c ON c.media_id = m.id WHERE m.report_id = ?"
                                      " ORDER BY m.id, c.is_current, c.id");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, report_id);
    int rc, cap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            struct cls_row *r = realloc(*rows, sizeof **rows * (size_t)cap);
            if (!r) {
                db_done(st);
                return CP_ERR;
            }
            *rows = r;
        }
        struct cls_row *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        r->media_id = sqlite3_column_int64(st, 0);
        char *dst[5] = {r->international, r->national, r->age_group, r->gender, r->assessed_by};
        size_t len[5] = {sizeof r->international, sizeof r->national, sizeof r->age_group, sizeof r->gender,
                         sizeof r->assessed_by};
        int col[5] = {1, 2, 3, 4, 6};
        for (int i = 0; i < 5; i++)
            if ((r->has[i] = sqlite3_column_type(st, col[i]) != SQLITE_NULL))
                snprintf(dst[i], len[i], "%s", db_text(st, col[i]));
        r->has_at = sqlite3_column_type(st, 5) != SQLITE_NULL;
        r->assessed_at = sqlite3_column_int64(st, 5);
        r->current = sqlite3_column_int(st, 7);
    }
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* "classification" (the current one or null) and "classifications" (all,
 * newest first: the reverse of index order) of one media item. */
static void cls_media_write(struct jw *w, const struct cls_row *rows, int n, int64_t media_id)
{
    int first = -1, last = -1;
    for (int i = 0; i < n; i++)
        if (rows[i].media_id == media_id) {
            if (first < 0)
                first = i;
            last = i;
        }
    jw_key(w, "classification");
    if (last >= 0 && rows[last].current)
        cls_write(w, &rows[last]);
    else
        jw_null(w);
    jw_key(w, "classifications");
    jw_arr(w);
    for (int i = last; first >= 0 && i >= first; i--)
        cls_write(w, &rows[i]);
    jw_arr_end(w);
}

/* What the fetch of one media item gave, as the report shows it: the state;
 * with media metadata the sniffed type and ICCAM's hashes that disagree; with
 * media content whether a preview and the original can be had (GET
 * /api/v1/media/{id} has the rest). */
static void media_content_write(struct jw *w, sqlite3_stmt *st, int meta, int content)
{
    jw_key(w, "content");
    jw_obj(w);
    jw_key(w, "state");
    const char *state = db_text(st, 18);
    jw_str(w, *state ? state : "none");
    int stored = sqlite3_column_type(st, 20) != SQLITE_NULL;
    if (meta && stored) {
        jw_col_text(w, "type", st, 20);
        jw_key(w, "hash_mismatch");
        jw_csv_array(w, db_text(st, 19));
    }
    jw_key(w, "preview");
    jw_bool(w, content && stored && sqlite3_column_int(st, 21));
    jw_key(w, "original");
    jw_bool(w, content && stored);
    jw_obj_end(w);
}

/* The media of a report; hashes and classifications only with media metadata,
 * previews and originals only with media content. */
static int media_write(struct ctx *c, struct jw *w, int64_t report_id, int meta, int content)
{
    struct cls_row *cls = NULL;
    int ncls = 0;
    int e = meta ? cls_load(c, report_id, &cls, &ncls) : CP_OK;
    if (e != CP_OK) {
        free(cls);
        return e;
    }
    sqlite3_stmt *st = db_prep(c->db, "SELECT m.id, m.iccam_media_id, m.content_url, m.media_type, m.mime, m.bytes,"
                                      " m.width, m.height, m.duration_s, m.first_seen_at, m.is_new, m.known_to_police,"
                                      " m.md5, m.sha1, m.sha256, m.pdq, m.pdq_quality, m.photodna, m.fetch_state,"
                                      " m.hash_mismatch, f.type, f.preview FROM media m"
                                      " LEFT JOIN media_files f ON f.sha256 = m.file_sha256"
                                      " WHERE m.report_id = ? ORDER BY m.id");
    if (!st) {
        free(cls);
        return CP_ERR;
    }
    sqlite3_bind_int64(st, 1, report_id);
    jw_key(w, "media");
    jw_arr(w);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t mid = sqlite3_column_int64(st, 0);
        jw_obj(w);
        jw_key(w, "id");
        jw_int(w, mid);
        jw_col_text(w, "iccam_media_id", st, 1);
        jw_col_text(w, "content_url", st, 2);
        jw_col_text(w, "media_type", st, 3);
        jw_col_text(w, "mime", st, 4);
        jw_col_int(w, "bytes", st, 5);
        jw_col_int(w, "width", st, 6);
        jw_col_int(w, "height", st, 7);
        jw_key(w, "duration_s");
        if (sqlite3_column_type(st, 8) == SQLITE_NULL)
            jw_null(w);
        else
            jw_double(w, sqlite3_column_double(st, 8));
        jw_col_time(w, "first_seen_at", st, 9);
        jw_col_bool(w, "is_new", st, 10);
        jw_col_bool(w, "known_to_police", st, 11);
        if (meta) {
            jw_key(w, "hashes");
            jw_obj(w);
            hex_write(w, "md5", st, 12);
            hex_write(w, "sha1", st, 13);
            hex_write(w, "sha256", st, 14);
            hex_write(w, "pdq", st, 15);
            jw_col_int(w, "pdq_quality", st, 16);
            const uint8_t *pd = sqlite3_column_blob(st, 17);
            int pn = sqlite3_column_bytes(st, 17);
            jw_key(w, "photodna");
            if (pd && pn > 0 && pn <= 256) {
                char b64[360];
                util_b64_encode(pd, (size_t)pn, b64);
                jw_str(w, b64);
            } else {
                jw_null(w);
            }
            jw_obj_end(w);
            cls_media_write(w, cls, ncls, mid);
        }
        media_content_write(w, st, meta, content);
        jw_obj_end(w);
    }
    db_done(st);
    free(cls);
    jw_arr_end(w);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* The detail of one report in scope. */
int reports_get(struct ctx *c, int64_t id, struct buf *out)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT " REPORT_COLS ", ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, ", ");
    scope_where(&c->scope, SCOPE_CONTENT, &q);
    sqlq_sql(&q, " FROM reports r WHERE r.id = ");
    sqlq_int(&q, id);
    sqlq_sql(&q, " AND ");
    scope_where(&c->scope, SCOPE_SEE, &q);
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_err(rc);
    }
    struct jw w;
    jw_init(&w, out);
    report_write(&w, st);
    int meta = sqlite3_column_int(st, 21), content = sqlite3_column_int(st, 22);
    char rep[64], ass[64];
    snprintf(rep, sizeof rep, "%s", db_text(st, 8));
    snprintf(ass, sizeof ass, "%s", db_text(st, 9));
    db_done(st);
    jw_key(&w, "media_metadata");
    jw_bool(&w, meta);
    jw_key(&w, "media_content");
    jw_bool(&w, content);
    int e = media_write(c, &w, id, meta, content);
    if (e == CP_OK) {
        jw_key(&w, "hotlines");
        jw_obj(&w);
        jw_key(&w, "reporting");
        e = hotline_write(c, &w, rep);
        jw_key(&w, "assessing");
        if (e == CP_OK)
            e = hotline_write(c, &w, ass);
        jw_obj_end(&w);
    }
    jw_obj_end(&w);
    return e;
}

/* Add {value, count} to a facet array, merging equal values. */
static void facet_add(cJSON *arr, const char *value, int64_t n)
{
    if (n <= 0)
        return;
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (strcmp(cJSON_GetObjectItem(it, "value")->valuestring, value) == 0) {
            cJSON *cnt = cJSON_GetObjectItem(it, "count");
            cJSON_SetNumberValue(cnt, cnt->valuedouble + (double)n);
            return;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "value", value);
    cJSON_AddNumberToObject(o, "count", (double)n);
    cJSON_AddItemToArray(arr, o);
}

/* qsort comparator: larger counts first, then by value. */
static int facet_cmp(const void *a, const void *b)
{
    const cJSON *x = *(cJSON *const *)a, *y = *(cJSON *const *)b;
    double d = cJSON_GetObjectItem(y, "count")->valuedouble - cJSON_GetObjectItem(x, "count")->valuedouble;
    if (d)
        return d > 0 ? 1 : -1;
    return strcmp(cJSON_GetObjectItem(x, "value")->valuestring, cJSON_GetObjectItem(y, "value")->valuestring);
}

/* Sort a facet array by count, largest first. */
static void facet_sort(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    if (n < 2)
        return;
    cJSON **v = malloc(sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++)
        v[i] = cJSON_DetachItemFromArray(arr, 0);
    qsort(v, (size_t)n, sizeof *v, facet_cmp);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, v[i]);
    free(v);
}

/* Facet counts in one scan grouped by (country, site type, status), folded here,
 * plus one scan for hotlines. */
static int stats_compute(struct ctx *c, const struct report_filter *f, cJSON **out)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT coalesce(r.host_country,''), r.site_type, r.status, count(*),"
                 " sum(r.type_bits & 1 > 0), sum(r.type_bits & 2 > 0), sum(r.type_bits & 4 > 0),"
                 " sum((r.class_bits & 1 > 0) * ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, "), sum((r.class_bits & 2 > 0) * ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, "), sum((r.class_bits & 4 > 0) * ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, "), sum((r.class_bits & 8 > 0) * ");
    scope_where(&c->scope, SCOPE_META, &q);
    sqlq_sql(&q, ") FROM reports r WHERE ");
    filter_where(c, f, &q);
    sqlq_sql(&q, " GROUP BY 1, 2, 3");
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st)
        return CP_ERR;
    cJSON *res = cJSON_CreateObject(), *fac = cJSON_CreateObject();
    cJSON *country = cJSON_AddArrayToObject(fac, "hosting_country");
    cJSON *site = cJSON_AddArrayToObject(fac, "site_type");
    cJSON *status = cJSON_AddArrayToObject(fac, "status");
    cJSON *mtype = cJSON_AddArrayToObject(fac, "media_type");
    int meta = scope_any_meta(&c->scope);
    cJSON *intl = meta ? cJSON_AddArrayToObject(fac, "international") : NULL;
    cJSON *natl = meta ? cJSON_AddArrayToObject(fac, "national") : NULL;
    int64_t total = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 3);
        total += n;
        facet_add(country, *db_text(st, 0) ? db_text(st, 0) : "unknown", n);
        facet_add(site, db_text(st, 1), n);
        facet_add(status, db_text(st, 2), n);
        facet_add(mtype, "image", sqlite3_column_int64(st, 4));
        facet_add(mtype, "video", sqlite3_column_int64(st, 5));
        facet_add(mtype, "other", sqlite3_column_int64(st, 6));
        if (meta) {
            facet_add(intl, "baseline", sqlite3_column_int64(st, 7));
            facet_add(intl, "not_baseline", sqlite3_column_int64(st, 8));
            facet_add(natl, "illegal", sqlite3_column_int64(st, 9));
            facet_add(natl, "not_illegal", sqlite3_column_int64(st, 10));
        }
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(res);
        cJSON_Delete(fac);
        return db_err(rc);
    }
    /* A report counts once for each distinct hotline that reported or assessed it. */
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT h, count(*) FROM (SELECT r.reporting_hotline AS h FROM reports r WHERE ");
    filter_where(c, f, &q);
    sqlq_sql(&q, " UNION ALL SELECT r.assessing_hotline FROM reports r WHERE ");
    filter_where(c, f, &q);
    sqlq_sql(&q, " AND r.assessing_hotline IS NOT r.reporting_hotline) WHERE h IS NOT NULL GROUP BY h");
    st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    cJSON *hot = cJSON_AddArrayToObject(fac, "hotline");
    while (st && (rc = sqlite3_step(st)) == SQLITE_ROW)
        facet_add(hot, db_text(st, 0), sqlite3_column_int64(st, 1));
    db_done(st);
    if (!st || rc != SQLITE_DONE) {
        cJSON_Delete(res);
        cJSON_Delete(fac);
        return !st ? CP_ERR : db_err(rc);
    }
    cJSON *it;
    cJSON_ArrayForEach(it, fac) facet_sort(it);
    cJSON_AddNumberToObject(res, "total", (double)total);
    cJSON_AddItemToObject(res, "facets", fac);
    *out = res;
    return CP_OK;
}

/* Facets through qcache: the portal asks for them on every view. The key is the
 * filtered scope's condition and the caller's media-metadata reach. */
int reports_stats(struct ctx *c, const struct report_filter *f, struct buf *out)
{
    struct sqlq key;
    sqlq_init(&key);
    filter_where(c, f, &key);
    sqlq_sql(&key, " META ");
    scope_where(&c->scope, SCOPE_META, &key);
    int st = CP_OK;
    struct qcache_key k;
    if (qcache_get(c->db, "stats", &key, &k, out)) {
        qcache_key_free(&k);
    } else {
        cJSON *j = NULL;
        if ((st = stats_compute(c, f, &j)) == CP_OK) {
            char *text = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
            buf_reset(out);
            buf_adds(out, text);
            qcache_put(&k, text);
            free(text);
        } else {
            qcache_key_free(&k);
        }
    }
    sqlq_free(&key);
    return st;
}
