/*
 * cport-bench-insert - the plain-insert baseline of scripts/bench: read the page
 * files of a file:// feed (reports-NNNN.json), parse them with cJSON and insert the
 * same rows cport's importer writes (reports with the computed columns, reports_fts,
 * media, classifications) into a fresh database with cport's schema, using plain
 * prepared INSERTs, one transaction per page, no validation and no upsert logic.
 * Withdrawn records ({"deleted":true}) are skipped.
 *   usage: cport-bench-insert DB FEED_DIR
 * Prints "reports R media M pages P seconds S" on success.
 */
#include "db.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char SQL_REPORT[] =
    "INSERT INTO reports(iccam_id, updated_at, reported_at, reporting_hotline, assessing_hotline, url, domain,"
    " site_type, host_country, host_ip, host_asn, host_provider, commercial, status, assessed_at, forwarded_at,"
    " lea_notified_at, ntd_sent_at, removed_at, media_count, class_bits, type_bits)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)";
static const char SQL_FTS[] = "INSERT INTO reports_fts(rowid, url, domain, host_provider) VALUES (?,?,?,?)";
static const char SQL_MEDIA[] =
    "INSERT INTO media(report_id, iccam_media_id, content_url, media_type, mime, bytes, width, height, duration_s,"
    " md5, sha1, sha256, pdq, pdq_quality, photodna, first_seen_at, is_new, known_to_police, content_ref)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)";
static const char SQL_CLASS[] =
    "INSERT INTO classifications(media_id, international, national, age_group, gender, assessed_at, assessed_by,"
    " is_current) VALUES (?,?,?,?,?,?,?,1)";
static const char SQL_HOTLINE[] = "INSERT OR REPLACE INTO hotlines(code, name, country, website, email) VALUES (?,?,?,?,?)";

static sqlite3_stmt *st_report, *st_fts, *st_media, *st_class;

static void die(const char *what, sqlite3 *h)
{
    fprintf(stderr, "cport-bench-insert: %s%s%s\n", what, h ? ": " : "", h ? sqlite3_errmsg(h) : "");
    exit(1);
}

/* Member value, NULL when absent or JSON null. */
static const cJSON *get(const cJSON *o, const char *k)
{
    const cJSON *j = o ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
    return j && !cJSON_IsNull(j) ? j : NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *j = get(o, k);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static void b_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void b_num(sqlite3_stmt *st, int i, const cJSON *o, const char *k)
{
    const cJSON *j = get(o, k);
    if (cJSON_IsNumber(j))
        sqlite3_bind_int64(st, i, (sqlite3_int64)j->valuedouble);
    else
        sqlite3_bind_null(st, i);
}

static void b_bool(sqlite3_stmt *st, int i, const cJSON *o, const char *k)
{
    const cJSON *j = get(o, k);
    if (cJSON_IsBool(j))
        sqlite3_bind_int(st, i, cJSON_IsTrue(j));
    else
        sqlite3_bind_null(st, i);
}

static void b_time(sqlite3_stmt *st, int i, const cJSON *o, const char *k)
{
    const char *s = str(o, k);
    int64_t t;
    if (s && util_parse_time(s, &t) == 0)
        sqlite3_bind_int64(st, i, t);
    else
        sqlite3_bind_null(st, i);
}

/* A hex hash of n bytes into buf, bound as a BLOB (transient copy). */
static void b_hex(sqlite3_stmt *st, int i, const cJSON *h, const char *k, size_t n)
{
    const char *s = str(h, k);
    uint8_t buf[64];
    if (s && strlen(s) == 2 * n && util_hex_decode(s, buf, n) == 0)
        sqlite3_bind_blob(st, i, buf, (int)n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* The url host's last two labels, lower case: the baseline's "domain". */
static void simple_domain(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#:");
    while (n && p[n - 1] == '.')
        n--;
    size_t start = n;
    int dots = 0;
    while (start > 0) {
        if (p[start - 1] == '.' && ++dots == 2)
            break;
        start--;
    }
    size_t len = n - start < outlen - 1 ? n - start : outlen - 1;
    for (size_t k = 0; k < len; k++) {
        char c = p[start + k];
        out[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    out[len] = 0;
}

static void step(sqlite3_stmt *st, sqlite3 *h, const char *what)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die(what, h);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static long total_media;

/* Insert one record (report, its FTS row, media, classifications). */
static void insert_record(sqlite3 *h, const cJSON *o)
{
    const cJSON *media = get(o, "media"), *hosting = get(o, "hosting"), *tl = get(o, "timeline"), *m;
    int cbits = 0, tbits = 0, nmedia = 0;
    cJSON_ArrayForEach(m, media)
    {
        const char *t = str(m, "media_type");
        tbits |= t && !strcmp(t, "image") ? 1 : t && !strcmp(t, "video") ? 2 : 4;
        const cJSON *c = get(m, "classification");
        const char *in = str(c, "international"), *na = str(c, "national");
        if (in)
            cbits |= !strcmp(in, "baseline") ? 1 : 2;
        if (na)
            cbits |= !strcmp(na, "illegal") ? 4 : 8;
        nmedia++;
    }
    const char *url = str(o, "url");
    char domain[256] = "";
    if (url)
        simple_domain(url, domain, sizeof domain);
    const char *provider = str(hosting, "provider");
    sqlite3_stmt *st = st_report;
    b_text(st, 1, str(o, "iccam_id"));
    b_time(st, 2, o, "updated_at");
    b_time(st, 3, o, "reported_at");
    b_text(st, 4, str(o, "reporting_hotline"));
    b_text(st, 5, str(o, "assessing_hotline"));
    b_text(st, 6, url);
    b_text(st, 7, domain);
    b_text(st, 8, str(o, "site_type"));
    b_text(st, 9, str(hosting, "country"));
    b_text(st, 10, str(hosting, "ip"));
    b_num(st, 11, hosting, "asn");
    b_text(st, 12, provider);
    sqlite3_bind_int(st, 13, cJSON_IsTrue(get(o, "commercial")));
    b_text(st, 14, str(o, "status"));
    b_time(st, 15, tl, "assessed_at");
    b_time(st, 16, tl, "forwarded_at");
    b_time(st, 17, tl, "lea_notified_at");
    b_time(st, 18, tl, "ntd_sent_at");
    b_time(st, 19, tl, "removed_at");
    sqlite3_bind_int(st, 20, nmedia);
    sqlite3_bind_int(st, 21, cbits);
    sqlite3_bind_int(st, 22, tbits);
    step(st, h, "insert report");
    sqlite3_int64 rid = sqlite3_last_insert_rowid(h);

    sqlite3_bind_int64(st_fts, 1, rid);
    b_text(st_fts, 2, url);
    b_text(st_fts, 3, domain);
    b_text(st_fts, 4, provider);
    step(st_fts, h, "insert reports_fts");

    cJSON_ArrayForEach(m, media)
    {
        const cJSON *hs = get(m, "hashes"), *c = get(m, "classification"), *d = get(m, "duration_s");
        st = st_media;
        sqlite3_bind_int64(st, 1, rid);
        b_text(st, 2, str(m, "iccam_media_id"));
        b_text(st, 3, str(m, "content_url"));
        b_text(st, 4, str(m, "media_type"));
        b_text(st, 5, str(m, "mime"));
        b_num(st, 6, m, "bytes");
        b_num(st, 7, m, "width");
        b_num(st, 8, m, "height");
        if (cJSON_IsNumber(d))
            sqlite3_bind_double(st, 9, d->valuedouble);
        else
            sqlite3_bind_null(st, 9);
        b_hex(st, 10, hs, "md5", 16);
        b_hex(st, 11, hs, "sha1", 20);
        b_hex(st, 12, hs, "sha256", 32);
        b_hex(st, 13, hs, "pdq", 32);
        b_num(st, 14, hs, "pdq_quality");
        const char *pd = str(hs, "photodna");
        uint8_t pdb[160];
        int pn = pd ? util_b64_decode(pd, pdb, sizeof pdb) : -1;
        if (pn > 0)
            sqlite3_bind_blob(st, 15, pdb, pn, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 15);
        b_time(st, 16, m, "first_seen_at");
        b_bool(st, 17, m, "is_new");
        b_bool(st, 18, m, "known_to_police");
        b_text(st, 19, str(m, "content"));
        step(st, h, "insert media");
        total_media++;
        if (c) {
            sqlite3_int64 mid = sqlite3_last_insert_rowid(h);
            sqlite3_bind_int64(st_class, 1, mid);
            b_text(st_class, 2, str(c, "international"));
            b_text(st_class, 3, str(c, "national"));
            b_text(st_class, 4, str(c, "age_group"));
            b_text(st_class, 5, str(c, "gender"));
            b_time(st_class, 6, c, "assessed_at");
            b_text(st_class, 7, str(c, "assessed_by"));
            step(st_class, h, "insert classification");
        }
    }
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static int page_filter(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return strncmp(e->d_name, "reports-", 8) == 0 && n > 13 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static int page_cmp(const struct dirent **a, const struct dirent **b)
{
    long x = atol((*a)->d_name + 8), y = atol((*b)->d_name + 8);
    return x < y ? -1 : x > y;
}

static void exec_or_die(sqlite3 *h, const char *sql)
{
    if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
        die(sql, h);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: cport-bench-insert DB FEED_DIR\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char err[512];
    struct db *d = db_open(argv[1], 5000, err, sizeof err);
    if (!d || db_migrate(d, err, sizeof err) != CP_OK) {
        fprintf(stderr, "cport-bench-insert: %s\n", err);
        return 1;
    }
    sqlite3 *h = d->h;
    if (sqlite3_prepare_v2(h, SQL_REPORT, -1, &st_report, NULL) || sqlite3_prepare_v2(h, SQL_FTS, -1, &st_fts, NULL) ||
        sqlite3_prepare_v2(h, SQL_MEDIA, -1, &st_media, NULL) || sqlite3_prepare_v2(h, SQL_CLASS, -1, &st_class, NULL))
        die("prepare", h);

    char path[8192];
    size_t len;
    /* hotlines.json, as the importer stores it first. */
    snprintf(path, sizeof path, "%s/hotlines.json", argv[2]);
    char *body = slurp(path, &len);
    if (body) {
        cJSON *root = cJSON_ParseWithLength(body, len), *hl;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, SQL_HOTLINE, -1, &st, NULL))
            die("prepare", h);
        exec_or_die(h, "BEGIN");
        cJSON_ArrayForEach(hl, get(root, "hotlines"))
        {
            b_text(st, 1, str(hl, "code"));
            b_text(st, 2, str(hl, "name"));
            b_text(st, 3, str(hl, "country"));
            b_text(st, 4, str(hl, "website"));
            b_text(st, 5, str(hl, "email"));
            step(st, h, "insert hotline");
        }
        exec_or_die(h, "COMMIT");
        sqlite3_finalize(st);
        cJSON_Delete(root);
        free(body);
    }

    struct dirent **names;
    int npages = scandir(argv[2], &names, page_filter, page_cmp);
    if (npages <= 0) {
        fprintf(stderr, "cport-bench-insert: no reports-NNNN.json pages in %s\n", argv[2]);
        return 1;
    }
    long reports = 0;
    for (int i = 0; i < npages; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], names[i]->d_name);
        body = slurp(path, &len);
        if (!body)
            die(path, NULL);
        cJSON *root = cJSON_ParseWithLength(body, len), *r;
        if (!root)
            die("page is not JSON", NULL);
        exec_or_die(h, "BEGIN");
        cJSON_ArrayForEach(r, get(root, "reports"))
        {
            if (cJSON_IsTrue(get(r, "deleted")))
                continue;
            insert_record(h, r);
            reports++;
        }
        exec_or_die(h, "COMMIT");
        cJSON_Delete(root);
        free(body);
        free(names[i]);
    }
    free(names);
    sqlite3_finalize(st_report);
    sqlite3_finalize(st_fts);
    sqlite3_finalize(st_media);
    sqlite3_finalize(st_class);
    db_close(d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("reports %ld media %ld pages %d seconds %.3f\n", reports, total_media, npages, s);
    return 0;
}
