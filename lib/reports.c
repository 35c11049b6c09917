/*
 * reports - scoped search, detail and facets over the reports table.
 */
#include "reports.h"
#include "domain.h"
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

/* The columns every report JSON is built from, in report_json's order. */
#define REPORT_COLS                                                                                          \
    "r.id, r.iccam_id, r.url, r.domain, r.site_type, r.status, r.reported_at, r.updated_at,"                \
    " r.reporting_hotline, r.assessing_hotline, r.host_country, r.host_ip, r.host_asn, r.host_provider,"    \
    " r.commercial, r.assessed_at, r.forwarded_at, r.lea_notified_at, r.ntd_sent_at, r.removed_at,"        \
    " r.media_count"

/* Text column or JSON null. */
static void add_text(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddStringToObject(o, k, db_text(st, col));
}

/* Integer column or JSON null. */
static void add_int(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddNumberToObject(o, k, (double)sqlite3_column_int64(st, col));
}

/* Boolean column or JSON null. */
static void add_bool(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        cJSON_AddNullToObject(o, k);
    else
        cJSON_AddBoolToObject(o, k, sqlite3_column_int(st, col));
}

/* Time column as ISO-8601 or null. */
static void add_time(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    json_time(o, k, sqlite3_column_type(st, col) != SQLITE_NULL, sqlite3_column_int64(st, col));
}

/* One report as the feed names it (ICCAM-FEED.md) plus id, domain, media_count. */
static cJSON *report_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
    add_text(o, "iccam_id", st, 1);
    add_text(o, "url", st, 2);
    add_text(o, "domain", st, 3);
    add_text(o, "site_type", st, 4);
    add_text(o, "status", st, 5);
    add_time(o, "reported_at", st, 6);
    add_time(o, "updated_at", st, 7);
    add_text(o, "reporting_hotline", st, 8);
    add_text(o, "assessing_hotline", st, 9);
    cJSON *h = cJSON_AddObjectToObject(o, "hosting");
    add_text(h, "country", st, 10);
    add_text(h, "ip", st, 11);
    add_int(h, "asn", st, 12);
    add_text(h, "provider", st, 13);
    cJSON_AddBoolToObject(o, "commercial", sqlite3_column_int(st, 14));
    cJSON *t = cJSON_AddObjectToObject(o, "timeline");
    add_time(t, "assessed_at", st, 15);
    add_time(t, "forwarded_at", st, 16);
    add_time(t, "lea_notified_at", st, 17);
    add_time(t, "ntd_sent_at", st, 18);
    add_time(t, "removed_at", st, 19);
    cJSON_AddNumberToObject(o, "media_count", sqlite3_column_int(st, 20));
    return o;
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
    if (ctx_check_params(c, PARAMS) != CP_OK)
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
    scope_where(&c->scope, SCOPE_SEE, q);
    if (f->q) {
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
    buf_init(&b);
    int st = CP_OK;
    if (qcache_get(c->db, tag, q, &b)) {
        *out = strtoll(b.p, NULL, 10);
    } else if ((st = query_int(c, q, out)) == CP_OK) {
        char v[24];
        snprintf(v, sizeof v, "%lld", (long long)*out);
        qcache_put(c->db, tag, q, v);
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
 *                       index newest first and test each entry against them;
 *   one hosting country the country index, already in date order;
 *   newest first        the date index, whose entries carry every column a scope
 *                       or filter tests, so only the page's rows are read.
 * Counting prefers the narrowest range: country, then dates.
 */
enum drive { DRIVE_PLANNER, DRIVE_REPORTED, DRIVE_COUNTRY, DRIVE_DOMAIN };
#define FTS_DRIVE_MAX 20000

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
        if (for_count || hits <= FTS_DRIVE_MAX || f->sort != 0)
            return CP_OK;
        *dr = DRIVE_REPORTED;
        return CP_OK;
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

/* One page of results, the total, and the cursor after the last row. */
int reports_search(struct ctx *c, const struct report_filter *f, cJSON **out)
{
    int64_t total;
    int st = count_cached(c, f, &total);
    if (st != CP_OK)
        return st;
    enum drive dr;
    if ((st = pick_drive(c, f, 0, &dr)) != CP_OK)
        return st;
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
    switch (f->sort * 2 + f->desc) {
    case 0: sqlq_sql(&q, " ORDER BY r.reported_at, r.id"); break;
    case 1: sqlq_sql(&q, " ORDER BY r.reported_at DESC, r.id DESC"); break;
    case 2: sqlq_sql(&q, " ORDER BY r.updated_at, r.id"); break;
    case 3: sqlq_sql(&q, " ORDER BY r.updated_at DESC, r.id DESC"); break;
    case 4: sqlq_sql(&q, " ORDER BY r.domain, r.id"); break;
    default: sqlq_sql(&q, " ORDER BY r.domain DESC, r.id DESC"); break;
    }
    sqlq_sql(&q, " LIMIT ");
    sqlq_int(&q, f->limit + 1);
    sqlite3_stmt *s = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!s)
        return CP_ERR;
    cJSON *res = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(res, "items");
    int n = 0, rc, more = 0;
    char last[300] = "";
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == f->limit) {
            more = 1;
            break;
        }
        cJSON_AddItemToArray(items, report_json(s));
        n++;
        int col = f->sort == 0 ? 6 : f->sort == 1 ? 7 : 3;
        snprintf(last, sizeof last, "%s%s:%lld:%s", f->desc ? "-" : "", f->sort == 0 ? "reported_at"
                 : f->sort == 1 ? "updated_at" : "domain", (long long)sqlite3_column_int64(s, 0), db_text(s, col));
    }
    db_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cJSON_Delete(res);
        return db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
    }
    cJSON_AddNumberToObject(res, "total", (double)total);
    if (more) {
        char enc[420];
        util_b64url_encode((const uint8_t *)last, strlen(last), enc);
        cJSON_AddStringToObject(res, "next_cursor", enc);
    } else {
        cJSON_AddNullToObject(res, "next_cursor");
    }
    *out = res;
    return CP_OK;
}

/* A hotline object by code, or null when unknown. */
static cJSON *hotline_json(struct ctx *c, const char *code)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT code, name, country, website, email FROM hotlines WHERE code = ?");
    if (!st || !code || !*code)
        return cJSON_CreateNull();
    db_bind_text(st, 1, code);
    cJSON *o;
    if (sqlite3_step(st) == SQLITE_ROW) {
        o = cJSON_CreateObject();
        add_text(o, "code", st, 0);
        add_text(o, "name", st, 1);
        add_text(o, "country", st, 2);
        add_text(o, "website", st, 3);
        add_text(o, "email", st, 4);
    } else {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "code", code);
    }
    db_done(st);
    return o;
}

/* Hex of a BLOB column, or null. */
static void add_hex(cJSON *o, const char *k, sqlite3_stmt *st, int col)
{
    int n = sqlite3_column_bytes(st, col);
    const uint8_t *p = sqlite3_column_blob(st, col);
    if (!p || n <= 0 || n > 64) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    char hex[129];
    util_hex_encode(p, (size_t)n, hex);
    cJSON_AddStringToObject(o, k, hex);
}

/* The classification history of every media item of a report in one query,
 * attached to the media objects of arr (both in media id order): "classification"
 * is the current one (or null), "classifications" all of them, newest first. */
static int classifications_json(struct ctx *c, int64_t report_id, cJSON *arr)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT c.media_id, c.international, c.national, c.age_group, c.gender,"
                                      " c.assessed_at, c.assessed_by, c.is_current FROM media m"
                                      " JOIN classifications c ON c.media_id = m.id WHERE m.report_id = ?"
                                      " ORDER BY c.media_id, c.is_current DESC, c.assessed_at DESC, c.id DESC");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, report_id);
    cJSON *m = arr->child, *hist = NULL, *cur = NULL;
    int rc;
    /* Close the media item being filled and move on to the next one. */
#define FLUSH()                                                                                              \
    do {                                                                                                     \
        cJSON_AddItemToObject(m, "classification", cur ? cur : cJSON_CreateNull());                          \
        cJSON_AddItemToObject(m, "classifications", hist ? hist : cJSON_CreateArray());                      \
        hist = cur = NULL;                                                                                   \
        m = m->next;                                                                                         \
    } while (0)
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t mid = sqlite3_column_int64(st, 0);
        while (m && (int64_t)cJSON_GetObjectItem(m, "id")->valuedouble < mid)
            FLUSH();
        if (!m)
            break;
        cJSON *o = cJSON_CreateObject();
        add_text(o, "international", st, 1);
        add_text(o, "national", st, 2);
        add_text(o, "age_group", st, 3);
        add_text(o, "gender", st, 4);
        add_time(o, "assessed_at", st, 5);
        add_text(o, "assessed_by", st, 6);
        if (sqlite3_column_int(st, 7) && !cur)
            cur = cJSON_Duplicate(o, 1);
        if (!hist)
            hist = cJSON_CreateArray();
        cJSON_AddItemToArray(hist, o);
    }
    while (m)
        FLUSH();
#undef FLUSH
    cJSON_Delete(hist);
    cJSON_Delete(cur);
    db_done(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CP_OK : db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
}

/* The media of a report; hashes and classifications only with media metadata. */
static int media_json(struct ctx *c, int64_t report_id, int meta, cJSON *report)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT id, iccam_media_id, content_url, media_type, mime, bytes, width, height,"
                                      " duration_s, first_seen_at, is_new, known_to_police, md5, sha1, sha256, pdq,"
                                      " pdq_quality, photodna FROM media WHERE report_id = ? ORDER BY id");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, report_id);
    cJSON *arr = cJSON_AddArrayToObject(report, "media");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "id", (double)sqlite3_column_int64(st, 0));
        add_text(m, "iccam_media_id", st, 1);
        add_text(m, "content_url", st, 2);
        add_text(m, "media_type", st, 3);
        add_text(m, "mime", st, 4);
        add_int(m, "bytes", st, 5);
        add_int(m, "width", st, 6);
        add_int(m, "height", st, 7);
        if (sqlite3_column_type(st, 8) == SQLITE_NULL)
            cJSON_AddNullToObject(m, "duration_s");
        else
            cJSON_AddNumberToObject(m, "duration_s", sqlite3_column_double(st, 8));
        add_time(m, "first_seen_at", st, 9);
        add_bool(m, "is_new", st, 10);
        add_bool(m, "known_to_police", st, 11);
        if (meta) {
            cJSON *h = cJSON_AddObjectToObject(m, "hashes");
            add_hex(h, "md5", st, 12);
            add_hex(h, "sha1", st, 13);
            add_hex(h, "sha256", st, 14);
            add_hex(h, "pdq", st, 15);
            add_int(h, "pdq_quality", st, 16);
            const uint8_t *pd = sqlite3_column_blob(st, 17);
            int pn = sqlite3_column_bytes(st, 17);
            if (pd && pn > 0 && pn <= 256) {
                char b64[360];
                util_b64_encode(pd, (size_t)pn, b64);
                cJSON_AddStringToObject(h, "photodna", b64);
            } else {
                cJSON_AddNullToObject(h, "photodna");
            }
        }
        cJSON_AddItemToArray(arr, m);
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
    return meta ? classifications_json(c, report_id, arr) : CP_OK;
}

/* The detail of one report in scope. */
int reports_get(struct ctx *c, int64_t id, cJSON **out)
{
    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT " REPORT_COLS ", ");
    scope_where(&c->scope, SCOPE_META, &q);
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
        return rc == SQLITE_DONE ? CP_NOTFOUND : db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
    }
    cJSON *r = report_json(st);
    int meta = sqlite3_column_int(st, 21);
    char rep[64], ass[64];
    snprintf(rep, sizeof rep, "%s", db_text(st, 8));
    snprintf(ass, sizeof ass, "%s", db_text(st, 9));
    db_done(st);
    cJSON_AddBoolToObject(r, "media_metadata", meta);
    int s = media_json(c, id, meta, r);
    if (s != CP_OK) {
        cJSON_Delete(r);
        return s;
    }
    cJSON *h = cJSON_AddObjectToObject(r, "hotlines");
    cJSON_AddItemToObject(h, "reporting", hotline_json(c, rep));
    cJSON_AddItemToObject(h, "assessing", hotline_json(c, ass));
    *out = r;
    return CP_OK;
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
        return db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
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
        return !st ? CP_ERR : db_status(rc) == CP_BUSY ? CP_BUSY : CP_ERR;
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
    if (!qcache_get(c->db, "stats", &key, out)) {
        cJSON *j;
        if ((st = stats_compute(c, f, &j)) == CP_OK) {
            char *text = cJSON_PrintUnformatted(j);
            cJSON_Delete(j);
            buf_reset(out);
            buf_adds(out, text);
            qcache_put(c->db, "stats", &key, text);
            free(text);
        }
    }
    sqlq_free(&key);
    return st;
}
