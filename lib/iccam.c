/*
 * iccam - feed records to rows: validation of one REPORT record and its upsert into
 * reports / media / classifications / report_tombstones, quarantine of bad records,
 * and the hotlines list. Writes happen in the caller's transaction. Everything the
 * database could refuse is checked before a record's first write, so a rejected
 * record never leaves half its rows behind and no per-record savepoint is needed.
 */
#include "iccam.h"
#include "domain.h"
#include "util.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The enums of DOMAIN.md, exactly. */
static const char *const SITE_TYPES[] = {"website", "image_host", "forum", "file_host", "banner_site", "blog",
                                         "social_network", "video_channel", "chat_service", "other", NULL};
static const char *const STATUSES[] = {"received", "assessed", "forwarded", "lea_notified",
                                       "ntd_sent", "content_removed", "closed", NULL};
static const char *const MEDIA_TYPES[] = {"image", "video", "other", NULL};
static const char *const INTERNATIONAL[] = {"baseline", "not_baseline", NULL};
static const char *const NATIONAL[] = {"illegal", "not_illegal", NULL};
static const char *const AGE_GROUPS[] = {"infant_toddler", "pre_pubescent", "pubescent", "unknown", NULL};
static const char *const GENDERS[] = {"female", "male", "both", "unknown", NULL};

/* An optional 64-bit value. */
struct opt_i64 {
    int has;
    int64_t v;
};

/* A classification as the feed carries it (strings point into the JSON). */
struct rec_class {
    int has;
    const char *intl, *natl, *age, *gender, *by;
    struct opt_i64 at;
};

/* One validated media item. */
struct rec_media {
    const char *id, *content_url, *type, *mime, *content;
    struct opt_i64 bytes, width, height, pdq_quality, first_seen;
    int has_duration;
    double duration;
    int has_md5, has_sha1, has_sha256, has_pdq, has_photodna;
    uint8_t md5[16], sha1[20], sha256[32], pdq[32], photodna[144];
    int is_new, known; /* -1 absent, else 0/1 */
    struct rec_class cls;
};

/* One validated report record. */
struct rec {
    const char *iccam_id;
    int64_t updated_at;
    int deleted;
    int64_t reported_at;
    const char *reporting, *assessing, *url, *site_type, *country, *ip, *provider, *status;
    char domain[DOMAIN_MAX];
    struct opt_i64 asn, assessed_at, forwarded_at, lea_notified_at, ntd_sent_at, removed_at;
    int commercial;
    int nmedia;
    struct rec_media *media; /* reused across records */
    int media_cap;
};

/* A media row already stored for a report, with its current classification. */
struct old_media {
    int64_t id, cid;
    int seen, has_class;
    char mid[ICCAM_ID_MAX + 1];
    char intl[16], natl[16], age[16], gender[16], by[ICCAM_HOTLINE_MAX + 1];
    int intl_null, natl_null, age_null, gender_null, by_null;
    struct opt_i64 at;
};

/* Validation context: where the reason goes and the prefix naming the object
 * being checked ("", "hosting.", "media[2].hashes."). */
struct vctx {
    char *why;
    size_t whylen;
    char pfx[48];
    const cJSON *hint_obj, *hint_item; /* see field() */
};

/* Record a validation failure for field name; always returns -1. */
static int bad(struct vctx *v, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(struct vctx *v, const char *name, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t pl = strlen(v->pfx);
    if (!*name && pl && v->pfx[pl - 1] == '.')
        pl--; /* the object itself: "media[2]: ..." */
    snprintf(v->why, v->whylen, "%.*s%s: %s", (int)pl, v->pfx, name, msg);
    return -1;
}

/* The member name of o, or NULL when it is absent or JSON null (both mean "not given").
 * The search starts after the member found last in the same object and wraps
 * around: fields are asked for in the feed's usual order, so most lookups match at
 * the first comparison instead of scanning the object (cJSON's linear search was a
 * measurable share of import time). The hint lives in the validation context, so
 * it never outlives the tree being validated. */
static const cJSON *field(struct vctx *v, const cJSON *o, const char *name)
{
    const cJSON *start = o == v->hint_obj && v->hint_item->next ? v->hint_item->next : o->child;
    const cJSON *j;
    for (j = start; j; j = j->next)
        if (j->string && strcmp(j->string, name) == 0)
            goto found;
    for (j = o->child; j && j != start; j = j->next)
        if (j->string && strcmp(j->string, name) == 0)
            goto found;
    return NULL;
found:
    v->hint_obj = o, v->hint_item = j;
    return cJSON_IsNull(j) ? NULL : j;
}

/* A string member of clean text no longer than max; *out NULL when absent. */
static int v_str(struct vctx *v, const cJSON *o, const char *name, size_t max, int required, const char **out)
{
    const cJSON *j = field(v, o, name);
    *out = NULL;
    if (!j)
        return required ? bad(v, name, "missing") : 0;
    if (!cJSON_IsString(j))
        return bad(v, name, "not a string");
    if (!j->valuestring[0] && required)
        return bad(v, name, "empty");
    if (!util_is_clean_text(j->valuestring, max))
        return bad(v, name, "longer than %zu bytes or not clean UTF-8 text", max);
    *out = j->valuestring;
    return 0;
}

/* A string member that must be one of list. */
static int v_enum(struct vctx *v, const cJSON *o, const char *name, const char *const *list, int required,
                  const char **out)
{
    const cJSON *j = field(v, o, name);
    *out = NULL;
    if (!j)
        return required ? bad(v, name, "missing") : 0;
    if (!cJSON_IsString(j) || !util_in_list(j->valuestring, list))
        return bad(v, name, "not one of the allowed values");
    *out = j->valuestring;
    return 0;
}

/* An ISO-8601 date or date-time member as Unix seconds. */
static int v_time(struct vctx *v, const cJSON *o, const char *name, int required, struct opt_i64 *out)
{
    const cJSON *j = field(v, o, name);
    out->has = 0;
    if (!j)
        return required ? bad(v, name, "missing") : 0;
    if (!cJSON_IsString(j) || util_parse_time(j->valuestring, &out->v) != 0)
        return bad(v, name, "not a valid date-time");
    out->has = 1;
    return 0;
}

/* An integer member in [min, max] (JSON numbers are doubles: exact integers only). */
static int v_int(struct vctx *v, const cJSON *o, const char *name, double min, double max, struct opt_i64 *out)
{
    const cJSON *j = field(v, o, name);
    out->has = 0;
    if (!j)
        return 0;
    double d = j->valuedouble;
    if (!cJSON_IsNumber(j) || d != floor(d) || d < min || d > max)
        return bad(v, name, "not an integer between %.0f and %.0f", min, max);
    out->has = 1;
    out->v = (int64_t)d;
    return 0;
}

/* A boolean member: -1 when absent. */
static int v_bool(struct vctx *v, const cJSON *o, const char *name, int *out)
{
    const cJSON *j = field(v, o, name);
    *out = -1;
    if (!j)
        return 0;
    if (!cJSON_IsBool(j))
        return bad(v, name, "not a boolean");
    *out = cJSON_IsTrue(j);
    return 0;
}

/* An object member (NULL when absent). */
static int v_obj(struct vctx *v, const cJSON *o, const char *name, const cJSON **out)
{
    const cJSON *j = field(v, o, name);
    *out = NULL;
    if (!j)
        return 0;
    if (!cJSON_IsObject(j))
        return bad(v, name, "not an object");
    *out = j;
    return 0;
}

/* A hash member of exactly n bytes in hex (2n digits, any case). */
static int v_hex(struct vctx *v, const cJSON *o, const char *name, size_t n, uint8_t *out, int *has)
{
    const cJSON *j = field(v, o, name);
    *has = 0;
    if (!j)
        return 0;
    if (!cJSON_IsString(j) || strlen(j->valuestring) != 2 * n || util_hex_decode(j->valuestring, out, n) != 0)
        return bad(v, name, "not %zu hex digits", 2 * n);
    *has = 1;
    return 0;
}

/* An http(s) URL: clean text without spaces, at most ICCAM_URL_MAX bytes. */
static int v_url(struct vctx *v, const cJSON *o, const char *name, int required, const char **out)
{
    if (v_str(v, o, name, ICCAM_URL_MAX, required, out))
        return -1;
    if (!*out)
        return 0;
    if (strncasecmp(*out, "http://", 7) != 0 && strncasecmp(*out, "https://", 8) != 0)
        return bad(v, name, "not an http or https URL");
    if (strpbrk(*out, " \\"))
        return bad(v, name, "contains a space or backslash");
    return 0;
}


/* Validate one media item into m. */
static int v_media(struct vctx *v, const cJSON *o, struct rec_media *m)
{
    memset(m, 0, sizeof *m);
    if (!cJSON_IsObject(o))
        return bad(v, "", "not an object");
    const cJSON *h, *c;
    /* asked for in the feed's order: see field() */
    if (v_str(v, o, "iccam_media_id", ICCAM_ID_MAX, 1, &m->id) || v_url(v, o, "content_url", 0, &m->content_url) ||
        v_enum(v, o, "media_type", MEDIA_TYPES, 1, &m->type) || v_str(v, o, "mime", 255, 0, &m->mime) ||
        v_int(v, o, "bytes", 0, 9007199254740991.0, &m->bytes) || v_int(v, o, "width", 0, 2147483647.0, &m->width) ||
        v_int(v, o, "height", 0, 2147483647.0, &m->height))
        return -1;
    const cJSON *dur = field(v, o, "duration_s");
    if (dur) {
        if (!cJSON_IsNumber(dur) || !(dur->valuedouble >= 0) || !isfinite(dur->valuedouble))
            return bad(v, "duration_s", "not a non-negative number");
        m->has_duration = 1;
        m->duration = dur->valuedouble;
    }
    if (v_obj(v, o, "hashes", &h) || v_obj(v, o, "classification", &c) ||
        v_time(v, o, "first_seen_at", 0, &m->first_seen) || v_bool(v, o, "is_new", &m->is_new) ||
        v_bool(v, o, "known_to_police", &m->known) || v_str(v, o, "content", 1024, 0, &m->content))
        return -1;
    if (m->content && (m->content[0] == '/' || strstr(m->content, "..") || strchr(m->content, ':') ||
                       strchr(m->content, '\\')))
        return bad(v, "content", "not a plain relative path");
    size_t plen = strlen(v->pfx);
    if (h) {
        snprintf(v->pfx + plen, sizeof v->pfx - plen, "hashes.");
        if (v_hex(v, h, "md5", 16, m->md5, &m->has_md5) || v_hex(v, h, "sha1", 20, m->sha1, &m->has_sha1) ||
            v_hex(v, h, "sha256", 32, m->sha256, &m->has_sha256) || v_hex(v, h, "pdq", 32, m->pdq, &m->has_pdq) ||
            v_int(v, h, "pdq_quality", 0, 100, &m->pdq_quality))
            return -1;
        const cJSON *p = field(v, h, "photodna");
        if (p) {
            if (!cJSON_IsString(p) || strlen(p->valuestring) != 192 || util_b64_decode(p->valuestring, m->photodna, 144) != 144)
                return bad(v, "photodna", "not base64 of 144 bytes");
            m->has_photodna = 1;
        }
        v->pfx[plen] = 0;
    }
    if (c) {
        snprintf(v->pfx + plen, sizeof v->pfx - plen, "classification.");
        struct rec_class *k = &m->cls;
        if (v_enum(v, c, "international", INTERNATIONAL, 0, &k->intl) ||
            v_enum(v, c, "national", NATIONAL, 0, &k->natl) || v_enum(v, c, "age_group", AGE_GROUPS, 0, &k->age) ||
            v_enum(v, c, "gender", GENDERS, 0, &k->gender) || v_time(v, c, "assessed_at", 0, &k->at) ||
            v_str(v, c, "assessed_by", ICCAM_HOTLINE_MAX, 0, &k->by))
            return -1;
        k->has = 1;
        v->pfx[plen] = 0;
    }
    return 0;
}

/* Validate a whole record into r; on failure why names the field. */
static int v_record(const cJSON *o, struct rec *r, char *why, size_t whylen)
{
    struct vctx v = {why, whylen, "", NULL, NULL};
    r->nmedia = 0;
    if (!cJSON_IsObject(o))
        return bad(&v, "record", "not a JSON object");
    if (v_str(&v, o, "iccam_id", ICCAM_ID_MAX, 1, &r->iccam_id))
        return -1;
    for (const char *p = r->iccam_id; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return bad(&v, "iccam_id", "not printable ASCII");
    struct opt_i64 t;
    if (v_time(&v, o, "updated_at", 1, &t))
        return -1;
    r->updated_at = t.v;
    int del;
    if (v_bool(&v, o, "deleted", &del))
        return -1;
    r->deleted = del == 1;
    if (r->deleted)
        return 0;
    const cJSON *hosting, *timeline;
    int commercial;
    /* asked for in the feed's order: see field() */
    if (v_time(&v, o, "reported_at", 1, &t) || v_str(&v, o, "reporting_hotline", ICCAM_HOTLINE_MAX, 0, &r->reporting) ||
        v_str(&v, o, "assessing_hotline", ICCAM_HOTLINE_MAX, 0, &r->assessing) || v_url(&v, o, "url", 1, &r->url) ||
        v_enum(&v, o, "site_type", SITE_TYPES, 1, &r->site_type) || v_obj(&v, o, "hosting", &hosting) ||
        v_bool(&v, o, "commercial", &commercial) || v_enum(&v, o, "status", STATUSES, 1, &r->status) ||
        v_obj(&v, o, "timeline", &timeline))
        return -1;
    r->reported_at = t.v;
    r->commercial = commercial == 1;
    char e[160];
    if (domain_registrable(r->url, r->domain, sizeof r->domain, e, sizeof e) != CP_OK)
        return bad(&v, "url", "no registrable domain (%s)", e);
    r->country = r->ip = r->provider = NULL;
    r->asn.has = 0;
    if (hosting) {
        snprintf(v.pfx, sizeof v.pfx, "hosting.");
        if (v_str(&v, hosting, "country", 2, 0, &r->country) || v_str(&v, hosting, "ip", 45, 0, &r->ip) ||
            v_int(&v, hosting, "asn", 0, 4294967295.0, &r->asn) || v_str(&v, hosting, "provider", 256, 0, &r->provider))
            return -1;
        if (r->country && !util_is_country(r->country))
            return bad(&v, "country", "not an ISO 3166-1 alpha-2 code");
        unsigned char bin[16];
        if (r->ip && inet_pton(AF_INET, r->ip, bin) != 1 && inet_pton(AF_INET6, r->ip, bin) != 1)
            return bad(&v, "ip", "not an IPv4 or IPv6 address");
        v.pfx[0] = 0;
    }
    memset(&r->assessed_at, 0, sizeof r->assessed_at);
    r->forwarded_at = r->lea_notified_at = r->ntd_sent_at = r->removed_at = r->assessed_at;
    if (timeline) {
        snprintf(v.pfx, sizeof v.pfx, "timeline.");
        if (v_time(&v, timeline, "assessed_at", 0, &r->assessed_at) ||
            v_time(&v, timeline, "forwarded_at", 0, &r->forwarded_at) ||
            v_time(&v, timeline, "lea_notified_at", 0, &r->lea_notified_at) ||
            v_time(&v, timeline, "ntd_sent_at", 0, &r->ntd_sent_at) ||
            v_time(&v, timeline, "removed_at", 0, &r->removed_at))
            return -1;
        v.pfx[0] = 0;
    }
    const cJSON *media = field(&v, o, "media");
    if (!media)
        return 0;
    if (!cJSON_IsArray(media))
        return bad(&v, "media", "not an array");
    int n = cJSON_GetArraySize(media);
    if (n > ICCAM_MEDIA_MAX)
        return bad(&v, "media", "more than %d items", ICCAM_MEDIA_MAX);
    if (n > r->media_cap) {
        struct rec_media *p = realloc(r->media, (size_t)n * sizeof *p);
        if (!p)
            return bad(&v, "media", "out of memory");
        r->media = p;
        r->media_cap = n;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, media)
    {
        snprintf(v.pfx, sizeof v.pfx, "media[%d].", r->nmedia);
        struct rec_media *m = &r->media[r->nmedia];
        if (v_media(&v, it, m))
            return -1;
        for (int i = 0; i < r->nmedia; i++)
            if (strcmp(r->media[i].id, m->id) == 0)
                return bad(&v, "iccam_media_id", "repeated in the same report");
        r->nmedia++;
    }
    return 0;
}

/* ---- storage ---- */

/* Bind a string without copying: the JSON tree outlives every step. */
static void bt(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Bind an optional integer. */
static void bo(sqlite3_stmt *st, int i, struct opt_i64 o) { db_bind_opt_int(st, i, o.has, o.v); }

/* Bind a -1/0/1 flag as NULL or the integer. */
static void bflag(sqlite3_stmt *st, int i, int f) { db_bind_opt_int(st, i, f >= 0, f); }

/* Bind a hash BLOB or NULL. */
static void bblob(sqlite3_stmt *st, int i, int has, const uint8_t *p, int n)
{
    if (has)
        sqlite3_bind_blob(st, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Step a statement that returns no row. */
static int step_done(sqlite3_stmt *st) { return sqlite3_step(st); }

/* Store context shared by the records of one call. */
struct store {
    struct db *d;
    int64_t run_id;
    struct iccam_counts *c;
    char *err;
    size_t errlen;
    struct rec r;
    struct old_media *old;
    int old_cap;
    char why[256];
    int64_t now;
    char *old_url, *old_domain, *old_provider; /* FTS-indexed values of the looked-up report */
    int64_t old_reported, old_removed;         /* its days for the dashboard's sums */
    int old_has_removed;
    struct { int basis; int64_t day; } marks[64]; /* days changed here, not yet in stats_dirty */
    int nmarks;
    int tombs_known, tombs;                    /* whether report_tombstones has rows (-1 unknown) */
};

static const char SQL_REPORT_INSERT[] =
    "INSERT INTO reports(iccam_id, updated_at, reported_at, reporting_hotline, assessing_hotline, url, domain,"
    " site_type, host_country, host_ip, host_asn, host_provider, commercial, status, assessed_at, forwarded_at,"
    " lea_notified_at, ntd_sent_at, removed_at, media_count, class_bits, type_bits)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)";
static const char SQL_REPORT_UPDATE[] =
    "UPDATE reports SET updated_at=?2, reported_at=?3, reporting_hotline=?4, assessing_hotline=?5, url=?6,"
    " domain=?7, site_type=?8, host_country=?9, host_ip=?10, host_asn=?11, host_provider=?12, commercial=?13,"
    " status=?14, assessed_at=?15, forwarded_at=?16, lea_notified_at=?17, ntd_sent_at=?18, removed_at=?19,"
    " media_count=?20, class_bits=?21, type_bits=?22 WHERE id=?23";
/* reports_fts has external content and no triggers (trusted_schema is off), so the
 * index is kept here: an entry per report, removed with the values it was added with. */
static const char SQL_FTS_INSERT[] = "INSERT INTO reports_fts(rowid, url, domain, host_provider) VALUES (?,?,?,?)";
static const char SQL_FTS_DELETE[] =
    "INSERT INTO reports_fts(reports_fts, rowid, url, domain, host_provider) VALUES ('delete',?,?,?,?)";
static const char SQL_MEDIA_INSERT[] =
    "INSERT INTO media(report_id, iccam_media_id, content_url, media_type, mime, bytes, width, height, duration_s,"
    " md5, sha1, sha256, pdq, pdq_quality, photodna, first_seen_at, is_new, known_to_police, content_ref,"
    " fetch_state)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,"
    " CASE WHEN ?19 IS NULL THEN NULL ELSE 'pending' END)";
/* A changed content reference or changed hashes send the item back to be fetched
 * (and compared) again; anything else keeps what was fetched. */
static const char SQL_MEDIA_UPDATE[] =
    "UPDATE media SET content_url=?3, media_type=?4, mime=?5, bytes=?6, width=?7, height=?8, duration_s=?9,"
    " md5=?10, sha1=?11, sha256=?12, pdq=?13, pdq_quality=?14, photodna=?15, first_seen_at=?16, is_new=?17,"
    " known_to_police=?18, content_ref=?19,"
    " fetch_state = CASE WHEN content_ref IS ?19 AND md5 IS ?10 AND sha1 IS ?11 AND sha256 IS ?12 AND pdq IS ?13"
    "   THEN fetch_state WHEN ?19 IS NULL THEN NULL ELSE 'pending' END,"
    " fetch_attempts = CASE WHEN content_ref IS ?19 AND md5 IS ?10 AND sha1 IS ?11 AND sha256 IS ?12 AND pdq IS ?13"
    "   THEN fetch_attempts ELSE 0 END"
    " WHERE id=?20";
static const char SQL_CLASS_INSERT[] =
    "INSERT INTO classifications(media_id, international, national, age_group, gender, assessed_at, assessed_by,"
    " is_current) VALUES (?,?,?,?,?,?,?,1)";

/* Bind the 22 report columns shared by SQL_REPORT_INSERT and SQL_REPORT_UPDATE. */
static void bind_report(sqlite3_stmt *st, const struct rec *r, int64_t count, int cbits, int tbits)
{
    bt(st, 1, r->iccam_id);
    sqlite3_bind_int64(st, 2, r->updated_at);
    sqlite3_bind_int64(st, 3, r->reported_at);
    bt(st, 4, r->reporting);
    bt(st, 5, r->assessing);
    bt(st, 6, r->url);
    bt(st, 7, r->domain);
    bt(st, 8, r->site_type);
    bt(st, 9, r->country);
    bt(st, 10, r->ip);
    bo(st, 11, r->asn);
    bt(st, 12, r->provider);
    sqlite3_bind_int(st, 13, r->commercial);
    bt(st, 14, r->status);
    bo(st, 15, r->assessed_at);
    bo(st, 16, r->forwarded_at);
    bo(st, 17, r->lea_notified_at);
    bo(st, 18, r->ntd_sent_at);
    bo(st, 19, r->removed_at);
    sqlite3_bind_int64(st, 20, count);
    sqlite3_bind_int(st, 21, cbits);
    sqlite3_bind_int(st, 22, tbits);
}

/* Bind the 19 media columns shared by SQL_MEDIA_INSERT and SQL_MEDIA_UPDATE. */
static void bind_media(sqlite3_stmt *st, int64_t report_id, const struct rec_media *m)
{
    sqlite3_bind_int64(st, 1, report_id);
    bt(st, 2, m->id);
    bt(st, 3, m->content_url);
    bt(st, 4, m->type);
    bt(st, 5, m->mime);
    bo(st, 6, m->bytes);
    bo(st, 7, m->width);
    bo(st, 8, m->height);
    if (m->has_duration)
        sqlite3_bind_double(st, 9, m->duration);
    else
        sqlite3_bind_null(st, 9);
    bblob(st, 10, m->has_md5, m->md5, 16);
    bblob(st, 11, m->has_sha1, m->sha1, 20);
    bblob(st, 12, m->has_sha256, m->sha256, 32);
    bblob(st, 13, m->has_pdq, m->pdq, 32);
    bo(st, 14, m->pdq_quality);
    bblob(st, 15, m->has_photodna, m->photodna, 144);
    bo(st, 16, m->first_seen);
    bflag(st, 17, m->is_new);
    bflag(st, 18, m->known);
    bt(st, 19, m->content);
}

/* The class_bits contribution of one current classification. */
static int class_bits(const char *intl, const char *natl)
{
    int b = 0;
    if (intl)
        b |= strcmp(intl, "baseline") == 0 ? 1 : 2;
    if (natl)
        b |= strcmp(natl, "illegal") == 0 ? 4 : 8;
    return b;
}

/* The type_bits contribution of one media type. */
static int type_bit(const char *t) { return strcmp(t, "image") == 0 ? 1 : strcmp(t, "video") == 0 ? 2 : 4; }

/* A failed step stops the page (the caller rolls back): records are checked
 * before their first write, so a failure here is the database's, not the record's. */
static int db_fail(struct store *s, int rc, const char *what)
{
    int st = db_status(rc);
    return fail(s->err, s->errlen, st == CP_OK ? CP_ERR : st, "storing %s failed: %s", what, sqlite3_errmsg(s->d->h));
}

/* Prepare a cached statement or report why not. */
static sqlite3_stmt *prep(struct store *s, const char *sql)
{
    sqlite3_stmt *st = db_prep(s->d, sql);
    if (!st)
        fail(s->err, s->errlen, CP_ERR, "cannot prepare statement: %s", sqlite3_errmsg(s->d->h));
    return st;
}

/* Add (del 0) or remove (del 1) a report's full-text entry. */
static int fts(struct store *s, int del, int64_t id, const char *url, const char *domain, const char *provider)
{
    sqlite3_stmt *st = prep(s, del ? SQL_FTS_DELETE : SQL_FTS_INSERT);
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    bt(st, 2, url);
    bt(st, 3, domain);
    bt(st, 4, provider);
    int rc = step_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_fail(s, rc, "full-text index");
}

/* Nullable string equality. */
static int same_str(const char *a, const char *b) { return a && b ? strcmp(a, b) == 0 : a == b; }

/* Insert a classification as the media item's current one. */
static int insert_class(struct store *s, int64_t media_id, const struct rec_class *k)
{
    sqlite3_stmt *st = prep(s, SQL_CLASS_INSERT);
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, media_id);
    bt(st, 2, k->intl);
    bt(st, 3, k->natl);
    bt(st, 4, k->age);
    bt(st, 5, k->gender);
    bo(st, 6, k->at);
    bt(st, 7, k->by);
    int rc = step_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_fail(s, rc, "classification");
}

/* Insert media items (and their classifications) for a report. */
static int insert_media(struct store *s, int64_t report_id, const struct rec_media *m)
{
    sqlite3_stmt *st = prep(s, SQL_MEDIA_INSERT);
    if (!st)
        return CP_ERR;
    bind_media(st, report_id, m);
    int rc = step_done(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, "media");
    if (m->cls.has)
        return insert_class(s, sqlite3_last_insert_rowid(s->d->h), &m->cls);
    return CP_OK;
}

/* A new report: one row, its media and classifications. */
static int insert_report(struct store *s)
{
    const struct rec *r = &s->r;
    int cb = 0, tb = 0;
    for (int i = 0; i < r->nmedia; i++) {
        tb |= type_bit(r->media[i].type);
        if (r->media[i].cls.has)
            cb |= class_bits(r->media[i].cls.intl, r->media[i].cls.natl);
    }
    sqlite3_stmt *st = prep(s, SQL_REPORT_INSERT);
    if (!st)
        return CP_ERR;
    bind_report(st, r, r->nmedia, cb, tb);
    int rc = step_done(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, "report");
    int64_t id = sqlite3_last_insert_rowid(s->d->h);
    int e = fts(s, 0, id, r->url, r->domain, r->provider);
    if (e != CP_OK)
        return e;
    for (int i = 0; i < r->nmedia; i++) {
        e = insert_media(s, id, &r->media[i]);
        if (e != CP_OK)
            return e;
    }
    return CP_OK;
}

/* Copy a nullable text column into a fixed buffer, noting NULL. */
static void col_copy(sqlite3_stmt *st, int col, char *out, size_t outlen, int *isnull)
{
    *isnull = sqlite3_column_type(st, col) == SQLITE_NULL;
    snprintf(out, outlen, "%s", db_text(st, col));
}

/* Load the media rows of a report with their current classification. */
static int load_old_media(struct store *s, int64_t report_id, int *n)
{
    sqlite3_stmt *st = prep(s, "SELECT m.id, m.iccam_media_id, c.id, c.international, c.national, c.age_group,"
                               " c.gender, c.assessed_at, c.assessed_by FROM media m LEFT JOIN classifications c"
                               " ON c.media_id = m.id AND c.is_current = 1 WHERE m.report_id = ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, report_id);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == s->old_cap) {
            int cap = s->old_cap ? 2 * s->old_cap : 16;
            struct old_media *p = realloc(s->old, (size_t)cap * sizeof *p);
            if (!p) {
                sqlite3_reset(st);
                return fail(s->err, s->errlen, CP_ERR, "out of memory");
            }
            s->old = p, s->old_cap = cap;
        }
        struct old_media *o = &s->old[(*n)++];
        memset(o, 0, sizeof *o);
        o->id = sqlite3_column_int64(st, 0);
        snprintf(o->mid, sizeof o->mid, "%s", db_text(st, 1));
        o->has_class = sqlite3_column_type(st, 2) != SQLITE_NULL;
        o->cid = sqlite3_column_int64(st, 2);
        col_copy(st, 3, o->intl, sizeof o->intl, &o->intl_null);
        col_copy(st, 4, o->natl, sizeof o->natl, &o->natl_null);
        col_copy(st, 5, o->age, sizeof o->age, &o->age_null);
        col_copy(st, 6, o->gender, sizeof o->gender, &o->gender_null);
        o->at.has = sqlite3_column_type(st, 7) != SQLITE_NULL;
        o->at.v = sqlite3_column_int64(st, 7);
        col_copy(st, 8, o->by, sizeof o->by, &o->by_null);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CP_OK : db_fail(s, rc, "media lookup");
}

/* Equality of a nullable stored text and a nullable incoming one. */
static int same_text(const char *stored, int stored_null, const char *in)
{
    if (stored_null || !in)
        return stored_null && !in;
    return strcmp(stored, in) == 0;
}

/* Whether the incoming classification is the one already current. */
static int same_class(const struct old_media *o, const struct rec_class *k)
{
    return same_text(o->intl, o->intl_null, k->intl) && same_text(o->natl, o->natl_null, k->natl) &&
           same_text(o->age, o->age_null, k->age) && same_text(o->gender, o->gender_null, k->gender) &&
           same_text(o->by, o->by_null, k->by) && o->at.has == k->at.has && (!o->at.has || o->at.v == k->at.v);
}

/* Run a statement with one integer parameter (is_current clear, media delete). */
static int exec_id(struct store *s, const char *sql, int64_t id, const char *what)
{
    sqlite3_stmt *st = prep(s, sql);
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = step_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_fail(s, rc, what);
}

/* A newer version of a stored report: update it in place, reconcile its media by
 * iccam_media_id and append changed classifications as current. */
static int update_report(struct store *s, int64_t id)
{
    const struct rec *r = &s->r;
    int nold, e;
    if ((e = load_old_media(s, id, &nold)) != CP_OK)
        return e;
    int cb = 0, tb = 0;
    for (int i = 0; i < r->nmedia; i++) {
        const struct rec_media *m = &r->media[i];
        struct old_media *o = NULL;
        for (int j = 0; j < nold && !o; j++)
            if (!s->old[j].seen && strcmp(s->old[j].mid, m->id) == 0)
                o = &s->old[j];
        tb |= type_bit(m->type);
        if (!o) {
            if ((e = insert_media(s, id, m)) != CP_OK)
                return e;
            if (m->cls.has)
                cb |= class_bits(m->cls.intl, m->cls.natl);
            continue;
        }
        o->seen = 1;
        sqlite3_stmt *st = prep(s, SQL_MEDIA_UPDATE);
        if (!st)
            return CP_ERR;
        bind_media(st, id, m);
        sqlite3_bind_int64(st, 20, o->id);
        int rc = step_done(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, rc, "media");
        if (m->cls.has) {
            cb |= class_bits(m->cls.intl, m->cls.natl);
            if (o->has_class && same_class(o, &m->cls))
                continue;
            if (o->has_class &&
                (e = exec_id(s, "UPDATE classifications SET is_current = 0 WHERE id = ?", o->cid, "classification")) !=
                    CP_OK)
                return e;
            if ((e = insert_class(s, o->id, &m->cls)) != CP_OK)
                return e;
        } else if (o->has_class) {
            cb |= class_bits(o->intl_null ? NULL : o->intl, o->natl_null ? NULL : o->natl);
        }
    }
    for (int j = 0; j < nold; j++)
        if (!s->old[j].seen && (e = exec_id(s, "DELETE FROM media WHERE id = ?", s->old[j].id, "media")) != CP_OK)
            return e;
    sqlite3_stmt *st = prep(s, SQL_REPORT_UPDATE);
    if (!st)
        return CP_ERR;
    bind_report(st, r, r->nmedia, cb, tb);
    sqlite3_bind_int64(st, 23, id);
    int rc = step_done(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, "report");
    if (same_str(s->old_url, r->url) && same_str(s->old_domain, r->domain) && same_str(s->old_provider, r->provider))
        return CP_OK;
    if ((e = fts(s, 1, id, s->old_url, s->old_domain, s->old_provider)) != CP_OK)
        return e;
    return fts(s, 0, id, r->url, r->domain, r->provider);
}

/* Write the marked days into stats_dirty (schema/013_rollup.sql), in the
 * caller's transaction. */
static int flush_marks(struct store *s)
{
    sqlite3_stmt *st = s->nmarks ? prep(s, "INSERT OR IGNORE INTO stats_dirty(basis, day) VALUES (?, ?)") : NULL;
    for (int i = 0; st && i < s->nmarks; i++) {
        sqlite3_bind_int(st, 1, s->marks[i].basis);
        sqlite3_bind_int64(st, 2, s->marks[i].day);
        int rc = step_done(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, rc, "changed days");
    }
    if (s->nmarks && !st)
        return CP_ERR;
    s->nmarks = 0;
    return CP_OK;
}

/* Mark the day of time t (basis 0: reported, 1: removed) as changed: the
 * dashboard's day sums of it are rebuilt after the run and counted from the
 * reports until then. This is the one writer of reports, so the one place that
 * marks them (a trigger would cost a fifth of the import). */
static int mark_day(struct store *s, int basis, int64_t t)
{
    int64_t day = t / 86400; /* as SQL's integer division, which the series use */
    for (int i = 0; i < s->nmarks; i++)
        if (s->marks[i].basis == basis && s->marks[i].day == day)
            return CP_OK;
    if (s->nmarks == (int)(sizeof s->marks / sizeof *s->marks)) {
        int e = flush_marks(s);
        if (e != CP_OK)
            return e;
    }
    s->marks[s->nmarks].basis = basis;
    s->marks[s->nmarks++].day = day;
    return CP_OK;
}

/* Mark the days of the looked-up report as it is stored (old) or as the record
 * has it (new). */
static int mark_report(struct store *s, int old)
{
    int e = mark_day(s, 0, old ? s->old_reported : s->r.reported_at);
    if (e == CP_OK && old && s->old_has_removed)
        e = mark_day(s, 1, s->old_removed);
    if (e == CP_OK && !old && s->r.removed_at.has)
        e = mark_day(s, 1, s->r.removed_at.v);
    return e;
}

/* Look up the stored report (id, updated_at) or, failing that, its tombstone. */
static int lookup(struct store *s, const char *iccam_id, int64_t *id, int64_t *upd, int64_t *tomb)
{
    *id = 0, *upd = 0, *tomb = -1;
    free(s->old_url), free(s->old_domain), free(s->old_provider);
    s->old_url = s->old_domain = s->old_provider = NULL;
    sqlite3_stmt *st = prep(s, "SELECT id, updated_at, url, domain, host_provider, reported_at, removed_at"
                               " FROM reports WHERE iccam_id = ?");
    if (!st)
        return CP_ERR;
    bt(st, 1, iccam_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        *upd = sqlite3_column_int64(st, 1);
        s->old_reported = sqlite3_column_int64(st, 5);
        s->old_has_removed = sqlite3_column_type(st, 6) != SQLITE_NULL;
        s->old_removed = sqlite3_column_int64(st, 6);
        char **dst[] = {&s->old_url, &s->old_domain, &s->old_provider};
        int oom = 0;
        for (int i = 0; i < 3; i++)
            if (sqlite3_column_type(st, 2 + i) != SQLITE_NULL && !(*dst[i] = strdup(db_text(st, 2 + i))))
                oom = 1;
        sqlite3_reset(st);
        return oom ? fail(s->err, s->errlen, CP_ERR, "out of memory") : CP_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, rc, "report lookup");
    if (!s->tombs_known) {
        /* most databases have no tombstones at all: one probe per call, not per record */
        if (!(st = prep(s, "SELECT EXISTS (SELECT 1 FROM report_tombstones)")))
            return CP_ERR;
        rc = sqlite3_step(st);
        s->tombs = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
        s->tombs_known = 1;
        sqlite3_reset(st);
    }
    if (!s->tombs)
        return CP_OK;
    if (!(st = prep(s, "SELECT updated_at FROM report_tombstones WHERE iccam_id = ?")))
        return CP_ERR;
    bt(st, 1, iccam_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *tomb = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? CP_OK : db_fail(s, rc, "tombstone lookup");
}

/* Media ids are unique across reports: refuse (CP_CONFLICT, reason in s->why) a
 * record naming a media item another report owns, before anything is written. */
static int check_media_owner(struct store *s, int64_t report_id)
{
    for (int i = 0; i < s->r.nmedia; i++) {
        sqlite3_stmt *st = prep(s, "SELECT report_id FROM media WHERE iccam_media_id = ?");
        if (!st)
            return CP_ERR;
        bt(st, 1, s->r.media[i].id);
        int rc = sqlite3_step(st);
        int64_t owner = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_fail(s, rc, "media lookup");
        if (rc == SQLITE_ROW && owner != report_id) {
            snprintf(s->why, sizeof s->why, "media[%d].iccam_media_id: belongs to another report", i);
            return CP_CONFLICT;
        }
    }
    return CP_OK;
}

/* Apply one validated record; counts what it did. CP_CONFLICT: the database refused
 * it (s->why says why), the caller rolls the record back and rejects it. */
static int apply(struct store *s)
{
    const struct rec *r = &s->r;
    int64_t id, upd, tomb;
    int e = lookup(s, r->iccam_id, &id, &upd, &tomb);
    if (e != CP_OK)
        return e;
    if ((id && r->updated_at <= upd) || (!id && tomb >= 0 && r->updated_at <= tomb)) {
        s->c->unchanged++;
        return CP_OK;
    }
    if (r->deleted) {
        if (id && ((e = mark_report(s, 1)) != CP_OK ||
                   (e = fts(s, 1, id, s->old_url, s->old_domain, s->old_provider)) != CP_OK ||
                   (e = exec_id(s, "DELETE FROM reports WHERE id = ?", id, "report")) != CP_OK))
            return e;
        sqlite3_stmt *st = prep(s, "INSERT INTO report_tombstones(iccam_id, updated_at) VALUES (?, ?)"
                                   " ON CONFLICT(iccam_id) DO UPDATE SET updated_at = excluded.updated_at");
        if (!st)
            return CP_ERR;
        bt(st, 1, r->iccam_id);
        sqlite3_bind_int64(st, 2, r->updated_at);
        int rc = step_done(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, rc, "tombstone");
        s->tombs = 1;
        s->c->deleted++;
        return CP_OK;
    }
    if ((e = check_media_owner(s, id)) != CP_OK)
        return e;
    if ((id && (e = mark_report(s, 1)) != CP_OK) || (e = mark_report(s, 0)) != CP_OK)
        return e;
    if (id) {
        if ((e = update_report(s, id)) == CP_OK)
            s->c->updated++;
        return e;
    }
    if (tomb >= 0) {
        sqlite3_stmt *st = prep(s, "DELETE FROM report_tombstones WHERE iccam_id = ?");
        if (!st)
            return CP_ERR;
        bt(st, 1, r->iccam_id);
        int rc = step_done(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, rc, "tombstone");
    }
    if ((e = insert_report(s)) == CP_OK)
        s->c->inserted++;
    return e;
}

/* Quarantine a record: its id when readable, the reason, its JSON text. */
static int reject(struct store *s, const cJSON *o, const char *reason)
{
    const cJSON *id = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "iccam_id") : NULL;
    const char *ids = cJSON_IsString(id) && util_is_clean_text(id->valuestring, 256) ? id->valuestring : NULL;
    char *raw = cJSON_PrintUnformatted(o);
    sqlite3_stmt *st = prep(s, "INSERT OR IGNORE INTO import_rejects(run_id, iccam_id, reason, raw, created_at)"
                               " VALUES (?, ?, ?, ?, ?)");
    if (!st) {
        cJSON_free(raw);
        return CP_ERR;
    }
    db_bind_opt_int(st, 1, s->run_id > 0, s->run_id);
    bt(st, 2, ids);
    bt(st, 3, reason);
    bt(st, 4, raw ? raw : "");
    sqlite3_bind_int64(st, 5, s->now);
    int rc = step_done(st);
    cJSON_free(raw);
    if (rc != SQLITE_DONE) {
        int code = db_status(rc);
        return fail(s->err, s->errlen, code == CP_OK ? CP_ERR : code, "storing a reject failed: %s",
                    sqlite3_errmsg(s->d->h));
    }
    s->c->rejected++;
    return CP_OK;
}

/* Validate and store one record, rejecting it when it is invalid or refused.
 * No savepoint per record: FTS5 flushes its pending index at every savepoint,
 * which would cost a quarter of the import time. Instead apply() checks, before
 * its first write, everything the database could refuse. */
static int store_one(struct store *s, const cJSON *o)
{
    if (v_record(o, &s->r, s->why, sizeof s->why) != 0)
        return reject(s, o, s->why);
    int e = apply(s);
    if (e == CP_CONFLICT)
        e = reject(s, o, s->why);
    return e;
}

/* Set up a store context. */
static void store_init(struct store *s, struct db *d, int64_t run_id, struct iccam_counts *c, char *err,
                       size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->d = d, s->run_id = run_id, s->c = c, s->err = err, s->errlen = errlen;
    s->now = util_now();
}

/* Release a store context's buffers. */
static void store_done(struct store *s)
{
    free(s->r.media);
    free(s->old);
    free(s->old_url), free(s->old_domain), free(s->old_provider);
}

/* Check a page's shape and keep its tree. */
/*
 * A page's tree is some 20,000 small cJSON allocations whose malloc and free were
 * a fifth of import time. They come instead from an arena of large chunks that
 * iccam_page_free releases in one step. cJSON's hooks are process-wide, so they
 * are switched to the arena only for the parse itself.
 */
struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};
static struct arena_chunk *arena_cur;

/* cJSON malloc hook: bump-allocate from the current chunk, or a new one. */
static void *arena_alloc(size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!arena_cur || arena_cur->used + n > arena_cur->cap) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        struct arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = arena_cur, c->used = 0, c->cap = cap;
        arena_cur = c;
    }
    void *p = (char *)arena_cur->data + arena_cur->used;
    arena_cur->used += n;
    return p;
}

/* cJSON free hook: nothing; the arena goes as a whole. */
static void arena_nofree(void *p) { (void)p; }

/* Release every chunk of an arena. */
static void arena_release(void *a)
{
    for (struct arena_chunk *c = a, *n; c; c = n) {
        n = c->next;
        free(c);
    }
}

/* Parse a page body into pg (its tree in a fresh arena). */
int iccam_page_parse(const char *body, size_t len, struct iccam_page *pg, char *err, size_t errlen)
{
    memset(pg, 0, sizeof *pg);
    const char *end = NULL;
    cJSON_Hooks hooks = {arena_alloc, arena_nofree};
    arena_cur = NULL;
    cJSON_InitHooks(&hooks);
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    cJSON_InitHooks(NULL);
    pg->arena = arena_cur;
    arena_cur = NULL;
    if (!root) {
        iccam_page_free(pg);
        return fail(err, errlen, CP_BAD, "page is not valid JSON (error at byte %ld of %zu)",
                    end ? (long)(end - body) : -1L, len);
    }
    while (end && end < body + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
        end++;
    if (end && end < body + len && *end) {
        iccam_page_free(pg);
        return fail(err, errlen, CP_BAD, "page is not valid JSON (trailing data at byte %ld)", (long)(end - body));
    }
    cJSON *reports = cJSON_GetObjectItemCaseSensitive(root, "reports");
    cJSON *next = cJSON_GetObjectItemCaseSensitive(root, "next_cursor");
    cJSON *more = cJSON_GetObjectItemCaseSensitive(root, "has_more");
    const char *why = NULL;
    if (!cJSON_IsObject(root))
        why = "page is not a JSON object";
    else if (!cJSON_IsArray(reports))
        why = "page has no \"reports\" array";
    else if (next && !cJSON_IsNull(next) && !(cJSON_IsString(next) && util_is_clean_text(next->valuestring, 4096)))
        why = "page's next_cursor is not a string";
    else if (more && !cJSON_IsBool(more))
        why = "page's has_more is not a boolean";
    else if (cJSON_IsTrue(more) && !cJSON_IsString(next))
        why = "page has has_more without next_cursor";
    if (why) {
        iccam_page_free(pg);
        return fail(err, errlen, CP_BAD, "%s", why);
    }
    pg->json = root;
    pg->reports = reports;
    pg->count = cJSON_GetArraySize(reports);
    pg->next_cursor = cJSON_IsString(next) ? next->valuestring : NULL;
    pg->has_more = cJSON_IsTrue(more);
    return CP_OK;
}

/* Free a parsed page. */
void iccam_page_free(struct iccam_page *pg)
{
    arena_release(pg->arena);
    memset(pg, 0, sizeof *pg);
}

/* Store every record of a page in order. */
int iccam_page_store(struct db *d, const struct iccam_page *pg, int64_t run_id, struct iccam_counts *c, char *err,
                     size_t errlen)
{
    struct store s;
    store_init(&s, d, run_id, c, err, errlen);
    int e = CP_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, (const cJSON *)pg->reports)
    {
        if ((e = store_one(&s, it)) != CP_OK)
            break;
    }
    if (e == CP_OK)
        e = flush_marks(&s);
    store_done(&s);
    return e;
}

/* Store one record given as text. */
int iccam_record_store(struct db *d, const char *json, int64_t run_id, struct iccam_counts *c, char *err,
                       size_t errlen)
{
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return fail(err, errlen, CP_BAD, "record is not valid JSON");
    struct store s;
    store_init(&s, d, run_id, c, err, errlen);
    int e = store_one(&s, o);
    if (e == CP_OK)
        e = flush_marks(&s);
    store_done(&s);
    cJSON_Delete(o);
    return e;
}

/* Upsert the hotlines document. */
int iccam_hotlines_store(struct db *d, const char *body, size_t len, int64_t run_id, int *stored, char *err,
                         size_t errlen)
{
    if (stored)
        *stored = 0;
    cJSON *root = cJSON_ParseWithLength(body, len);
    cJSON *list = root ? cJSON_GetObjectItemCaseSensitive(root, "hotlines") : NULL;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(root);
        return fail(err, errlen, CP_BAD, root ? "hotlines document has no \"hotlines\" array"
                                              : "hotlines document is not valid JSON");
    }
    struct iccam_counts ignore = {0};
    struct store s;
    store_init(&s, d, run_id, &ignore, err, errlen);
    int e = CP_OK, i = 0;
    const cJSON *h;
    cJSON_ArrayForEach(h, list)
    {
        struct vctx v = {s.why, sizeof s.why, "", NULL, NULL};
        snprintf(v.pfx, sizeof v.pfx, "hotlines[%d].", i++);
        const char *code = NULL, *name, *country = NULL, *web, *email;
        int invalid = !cJSON_IsObject(h) ? bad(&v, "", "not an object")
                      : v_str(&v, h, "code", ICCAM_HOTLINE_MAX, 1, &code) || v_str(&v, h, "name", 256, 1, &name) ||
                              v_str(&v, h, "country", 2, 1, &country) ||
                              v_str(&v, h, "website", ICCAM_URL_MAX, 0, &web) || v_str(&v, h, "email", 320, 0, &email)
                          ? -1
                      : !util_is_country(country) ? bad(&v, "country", "not an ISO 3166-1 alpha-2 code")
                                                  : 0;
        if (invalid) {
            if ((e = reject(&s, h, s.why)) != CP_OK)
                break;
            continue;
        }
        sqlite3_stmt *st = prep(&s, "INSERT INTO hotlines(code, name, country, website, email) VALUES (?,?,?,?,?)"
                                    " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
                                    " country = excluded.country, website = excluded.website, email = excluded.email");
        if (!st) {
            e = CP_ERR;
            break;
        }
        bt(st, 1, code);
        bt(st, 2, name);
        bt(st, 3, country);
        bt(st, 4, web);
        bt(st, 5, email);
        int rc = step_done(st);
        if (rc != SQLITE_DONE) {
            e = fail(err, errlen, db_err(rc), "storing hotline %s failed: %s", code,
                     sqlite3_errmsg(d->h));
            break;
        }
        if (stored)
            (*stored)++;
    }
    store_done(&s);
    cJSON_Delete(root);
    return e;
}
