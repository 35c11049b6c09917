/*
 * test_feedgen.c - tests of the synthetic ICCAM feed generator (lib/feedgen.c):
 * determinism, page shape and enums (every page parsed with cJSON), record counts,
 * the next_cursor chain, ordering of update/withdrawn records, option handling.
 * Everything is written under a mkdtemp directory in /tmp that is removed at the end.
 */
#include "feedgen.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_root[64];

/* nftw callback: remove one file or (already emptied) directory. */
static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path. */
static void rm_rf(const char *path) { nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

/* Read a whole file into a NUL-terminated malloc'd buffer (NULL if missing). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return p;
}

/* Parse dir/name with cJSON (NULL if missing or invalid). */
static cJSON *load_json(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *s = slurp(path, NULL);
    if (!s)
        return NULL;
    cJSON *j = cJSON_Parse(s);
    free(s);
    return j;
}

/* Generate a feed into tmp_root/sub with the given parameters; returns the dir. */
static const char *gen(const char *sub, long count, unsigned long long seed, int page_size,
                       double ur, double dr)
{
    static char dir[4][256];
    static int slot;
    char *d = dir[slot++ % 4];
    snprintf(d, 256, "%s/%s", tmp_root, sub);
    struct feedgen_opts o = {.count = count, .seed = seed, .page_size = page_size,
                             .out_dir = d, .update_ratio = ur, .delete_ratio = dr};
    char err[256] = "x";
    int rc = feedgen_write(&o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  feedgen_write: %s\n", err);
    return rc == 0 ? d : NULL;
}

/* Is s a string of exactly n lowercase hex digits? */
static int is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* Is s an ISO-8601 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ"? */
static int is_time(const char *s)
{
    int y, mo, d, h, mi, se;
    char z;
    return s && strlen(s) == 20 &&
           sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) == 7 &&
           z == 'Z' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && se < 60;
}

/* Is s one of the NULL-terminated list? Returns its index, or -1. */
static int in_enum(const char *s, const char *const *list)
{
    for (int i = 0; s && list[i]; i++)
        if (!strcmp(s, list[i]))
            return i;
    return -1;
}

/* String value of key in obj, or NULL. */
static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Is the key present with a JSON null? */
static int is_null(const cJSON *obj, const char *key)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* Does host end with a reserved TLD? */
static int reserved_url(const char *u)
{
    if (!u || strncmp(u, "https://", 8) != 0)
        return 0;
    const char *h = u + 8;
    size_t n = strcspn(h, "/?#");
    return (n > 8 && !strncmp(h + n - 8, ".example", 8)) || (n > 5 && !strncmp(h + n - 5, ".test", 5));
}

/* Is ip in a documentation range? */
static int doc_ip(const char *ip)
{
    return ip && (!strncmp(ip, "192.0.2.", 8) || !strncmp(ip, "198.51.100.", 11) ||
                  !strncmp(ip, "203.0.113.", 10) || !strncmp(ip, "2001:db8:", 9));
}

static const char *const SITE_TYPES[] = {"website", "image_host", "forum", "file_host",
                                         "banner_site", "blog", "social_network",
                                         "video_channel", "chat_service", "other", NULL};
static const char *const STATUSES[] = {"received", "assessed", "forwarded", "lea_notified",
                                       "ntd_sent", "content_removed", "closed", NULL};
static const char *const TL_KEYS[] = {"assessed_at", "forwarded_at", "lea_notified_at",
                                      "ntd_sent_at", "removed_at", NULL};
static const char *const MEDIA_TYPES[] = {"image", "video", "other", NULL};
static const char *const INTL[] = {"baseline", "not_baseline", NULL};
static const char *const NATL[] = {"illegal", "not_illegal", NULL};
static const char *const AGES[] = {"infant_toddler", "pre_pubescent", "pubescent", "unknown", NULL};
static const char *const GENDERS[] = {"female", "male", "both", "unknown", NULL};

/* Check one media item against the REPORT shape; returns the number of problems. */
static int check_media(const cJSON *m, const cJSON *hotlines)
{
    int bad = 0;
    const char *id = str(m, "iccam_media_id");
    bad += !id || strncmp(id, "M-2026-", 7) != 0 || strlen(id) < 14;
    bad += !reserved_url(str(m, "content_url"));
    int mt = in_enum(str(m, "media_type"), MEDIA_TYPES);
    bad += mt < 0;
    const char *mime = str(m, "mime");
    bad += !mime || !strchr(mime, '/');
    bad += !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "bytes"));
    if (mt == 0 || mt == 1) {
        bad += !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "width"));
        bad += !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "height"));
    } else {
        bad += !is_null(m, "width") || !is_null(m, "height");
    }
    bad += mt == 1 ? !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, "duration_s"))
                   : !is_null(m, "duration_s");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(m, "hashes");
    bad += !is_hex(str(h, "md5"), 32) || !is_hex(str(h, "sha1"), 40) ||
           !is_hex(str(h, "sha256"), 64) || !is_hex(str(h, "pdq"), 64);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(h, "pdq_quality");
    bad += !cJSON_IsNumber(q) || q->valueint < 40 || q->valueint > 100;
    const char *pd = str(h, "photodna");
    bad += !pd || strlen(pd) != 192 || strspn(pd, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                                                  "vwxyz0123456789+/") != 192;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "classification");
    if (!cJSON_IsNull(c)) {
        bad += in_enum(str(c, "international"), INTL) < 0;
        bad += in_enum(str(c, "national"), NATL) < 0;
        bad += in_enum(str(c, "age_group"), AGES) < 0;
        bad += in_enum(str(c, "gender"), GENDERS) < 0;
        bad += !is_time(str(c, "assessed_at"));
        bad += !cJSON_GetObjectItemCaseSensitive(hotlines, str(c, "assessed_by") ? str(c, "assessed_by") : "");
        bad += strcmp(str(c, "assessed_at") ? str(c, "assessed_at") : "",
                      str(m, "first_seen_at") ? str(m, "first_seen_at") : "~") < 0;
    }
    bad += !is_time(str(m, "first_seen_at"));
    bad += !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(m, "is_new"));
    bad += !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(m, "known_to_police"));
    const char *content = str(m, "content");
    bad += !content || !id || strncmp(content, "media/", 6) != 0 || strcmp(content + 6, id) != 0;
    return bad;
}

/* Check one (non-deleted) report against the REPORT shape; returns problems found. */
static int check_report(const cJSON *r, const cJSON *hotlines)
{
    int bad = 0;
    const char *id = str(r, "iccam_id"), *upd = str(r, "updated_at"), *rep = str(r, "reported_at");
    bad += !id || strncmp(id, "R-2026-", 7) != 0 || strlen(id) < 14;
    bad += !is_time(upd) || !is_time(rep) || (upd && rep && strcmp(rep, upd) > 0);
    bad += !cJSON_GetObjectItemCaseSensitive(hotlines, str(r, "reporting_hotline") ? str(r, "reporting_hotline") : "");
    bad += !cJSON_GetObjectItemCaseSensitive(hotlines, str(r, "assessing_hotline") ? str(r, "assessing_hotline") : "");
    bad += !reserved_url(str(r, "url"));
    bad += in_enum(str(r, "site_type"), SITE_TYPES) < 0;
    const cJSON *ho = cJSON_GetObjectItemCaseSensitive(r, "hosting");
    const char *cc = str(ho, "country");
    bad += !cc || strlen(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z';
    bad += !doc_ip(str(ho, "ip"));
    const cJSON *asn = cJSON_GetObjectItemCaseSensitive(ho, "asn");
    bad += !cJSON_IsNumber(asn) ||
           !((asn->valuedouble >= 64496 && asn->valuedouble <= 65534) ||
             (asn->valuedouble >= 4200000000.0 && asn->valuedouble <= 4294967294.0));
    bad += !str(ho, "provider");
    bad += !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(r, "commercial"));
    int st = in_enum(str(r, "status"), STATUSES);
    bad += st < 0;
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(r, "timeline");
    const char *prev = rep;
    for (int k = 0; TL_KEYS[k]; k++) {
        /* slot k is set iff the status got that far (removed_at: removed or closed) */
        int want = st >= k + 1;
        const char *t = str(tl, TL_KEYS[k]);
        if (want) {
            bad += !is_time(t) || (prev && t && strcmp(prev, t) > 0) || (t && upd && strcmp(t, upd) > 0);
            prev = t;
        } else {
            bad += !is_null(tl, TL_KEYS[k]);
        }
    }
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(r, "media"), *m;
    bad += !cJSON_IsArray(media) || cJSON_GetArraySize(media) < 1;
    cJSON_ArrayForEach(m, media)
    {
        bad += check_media(m, hotlines);
        /* received: not assessed yet, so no classification */
        bad += (st == 0) != cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, "classification"));
    }
    return bad;
}

/* Counters gathered by walking a feed through its next_cursor chain. */
struct walk {
    int pages, originals, updates, deletes, bad_shape, bad_order, bad_pages, total;
    int max_page_records;
};

/* Walk dir from reports-0001.json following next_cursor, validating everything. */
static void walk_feed(const char *dir, struct walk *w, int page_size)
{
    memset(w, 0, sizeof *w);
    cJSON *hl = load_json(dir, "hotlines.json");
    cJSON *codes = cJSON_CreateObject(), *h;
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(hl, "hotlines"))
        cJSON_AddBoolToObject(codes, str(h, "code") ? str(h, "code") : "?", 1);
    cJSON *seen = cJSON_CreateObject(); /* iccam_id -> 1 seen, 2 deleted */
    char name[256] = "reports-0001.json", last_t[32] = "";
    for (;;) {
        cJSON *pg = load_json(dir, name);
        if (!pg) {
            w->bad_pages++;
            break;
        }
        w->pages++;
        const cJSON *reps = cJSON_GetObjectItemCaseSensitive(pg, "reports"), *r;
        const cJSON *nc = cJSON_GetObjectItemCaseSensitive(pg, "next_cursor");
        const cJSON *hm = cJSON_GetObjectItemCaseSensitive(pg, "has_more");
        if (!cJSON_IsArray(reps) || !cJSON_IsBool(hm) || (!cJSON_IsString(nc) && !cJSON_IsNull(nc)) ||
            cJSON_IsTrue(hm) != cJSON_IsString(nc))
            w->bad_pages++;
        int n = cJSON_GetArraySize(reps);
        if (n > w->max_page_records)
            w->max_page_records = n;
        if (cJSON_IsString(nc) && n != page_size)
            w->bad_pages++; /* only the last page may be short */
        cJSON_ArrayForEach(r, reps)
        {
            w->total++;
            const char *id = str(r, "iccam_id"), *t = str(r, "updated_at");
            if (!id || !is_time(t)) {
                w->bad_shape++;
                continue;
            }
            if (strcmp(last_t, t) > 0)
                w->bad_order++;
            snprintf(last_t, sizeof last_t, "%s", t);
            cJSON *prev = cJSON_GetObjectItemCaseSensitive(seen, id);
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "deleted"))) {
                w->deletes++;
                if (!prev || prev->valueint != 1)
                    w->bad_order++; /* withdrawn before (or without) the original */
                else
                    cJSON_SetNumberValue(prev, 2);
                if (cJSON_GetArraySize(r) != 3)
                    w->bad_shape++;
                continue;
            }
            if (prev) {
                w->updates++;
                if (prev->valueint != 1)
                    w->bad_order++; /* an update after the withdrawal */
            } else {
                w->originals++;
                cJSON_AddNumberToObject(seen, id, 1);
            }
            w->bad_shape += check_report(r, codes) != 0;
        }
        int more = cJSON_IsTrue(hm);
        if (more)
            snprintf(name, sizeof name, "%s", nc->valuestring);
        cJSON_Delete(pg);
        if (!more || w->pages > 100000)
            break;
    }
    cJSON_Delete(seen);
    cJSON_Delete(codes);
    cJSON_Delete(hl);
}

/* Same options -> byte-identical files; another seed -> different data. */
static void test_determinism(void)
{
    const char *a = gen("det-a", 1500, 7, 100, 0.1, 0.05);
    const char *b = gen("det-b", 1500, 7, 100, 0.1, 0.05);
    const char *c = gen("det-c", 1500, 8, 100, 0.1, 0.05);
    REQUIRE(a && b && c);
    const char *names[] = {"hotlines.json", "reports-0001.json", "reports-0009.json",
                           "reports-0018.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char pa[512], pb[512], pc[512];
        snprintf(pa, sizeof pa, "%s/%s", a, names[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, names[i]);
        snprintf(pc, sizeof pc, "%s/%s", c, names[i]);
        size_t la = 0, lb = 0, lc = 0;
        char *fa = slurp(pa, &la), *fb = slurp(pb, &lb), *fc = slurp(pc, &lc);
        CHECK(fa && fb && fc);
        CHECK(fa && fb && la == lb && memcmp(fa, fb, la) == 0);
        if (i > 0) /* hotlines.json is fixed; the reports depend on the seed */
            CHECK(fa && fc && (la != lc || memcmp(fa, fc, la) != 0));
        free(fa);
        free(fb);
        free(fc);
    }
    /* 1500 + 150 + 75 = 1725 records -> 18 pages of 100 */
    char p[512];
    snprintf(p, sizeof p, "%s/reports-0018.json", a);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/reports-0019.json", a);
    CHECK(access(p, F_OK) != 0);
}

/* Every page parses, has the right shape and enums; counts and the chain add up. */
static void test_shape_counts_chain(void)
{
    const char *d = gen("shape", 3000, 12345, 250, 0.1, 0.02);
    REQUIRE(d);
    struct walk w;
    walk_feed(d, &w, 250);
    CHECK_INT(w.bad_pages, 0);
    CHECK_INT(w.bad_shape, 0);
    CHECK_INT(w.bad_order, 0);
    CHECK_INT(w.originals, 3000);
    CHECK_INT(w.updates, 300);
    CHECK_INT(w.deletes, 60);
    CHECK_INT(w.total, 3360);
    CHECK_INT(w.pages, 14); /* ceil(3360 / 250) */
    CHECK_INT(w.max_page_records, 250);
}

/* hotlines.json: ~45 hotlines CC-NAME with .example website and e-mail. */
static void test_hotlines(void)
{
    const char *d = gen("hl", 10, 1, 0, 0, 0);
    REQUIRE(d);
    cJSON *j = load_json(d, "hotlines.json");
    REQUIRE(j);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "hotlines"), *h;
    CHECK(cJSON_GetArraySize(arr) >= 40 && cJSON_GetArraySize(arr) <= 50);
    int found_nl = 0;
    cJSON_ArrayForEach(h, arr)
    {
        const char *code = str(h, "code"), *cc = str(h, "country"), *web = str(h, "website"),
                   *mail = str(h, "email");
        CHECK(code && cc && str(h, "name") && web && mail);
        if (!code || !cc || !web || !mail)
            continue;
        CHECK(strlen(cc) == 2 && strncmp(code, cc, 2) == 0 && code[2] == '-');
        CHECK(strncmp(web, "https://", 8) == 0 && strstr(web, ".hotline.example"));
        CHECK(strncmp(mail, "reports@", 8) == 0 && strstr(mail, ".hotline.example"));
        found_nl += !strcmp(code, "NL-EOKM");
    }
    CHECK_INT(found_nl, 1);
    cJSON_Delete(j);
}

/* Defaults (page size 500, default ratios) and the empty feed. */
static void test_defaults_and_empty(void)
{
    const char *d = gen("def", 600, 3, 0, 0, 0);
    REQUIRE(d);
    struct walk w;
    walk_feed(d, &w, 500);
    CHECK_INT(w.originals, 600);
    CHECK_INT(w.updates, 12); /* 0.02 */
    CHECK_INT(w.deletes, 3);  /* 0.005 */
    CHECK_INT(w.pages, 2);
    CHECK_INT(w.bad_pages + w.bad_shape + w.bad_order, 0);

    d = gen("none", 300, 3, 100, FEEDGEN_NONE, FEEDGEN_NONE);
    REQUIRE(d);
    walk_feed(d, &w, 100);
    CHECK_INT(w.originals, 300);
    CHECK_INT(w.updates + w.deletes, 0);
    CHECK_INT(w.pages, 3);

    d = gen("empty", 0, 3, 100, 0, 0);
    REQUIRE(d);
    walk_feed(d, &w, 100);
    CHECK_INT(w.pages, 1);
    CHECK_INT(w.total, 0);
    CHECK_INT(w.bad_pages, 0);
}

/* Regenerating a smaller feed into the same directory leaves no stale pages. */
static void test_stale_pages_removed(void)
{
    REQUIRE(gen("stale", 1000, 5, 100, FEEDGEN_NONE, FEEDGEN_NONE));
    const char *d = gen("stale", 150, 5, 100, FEEDGEN_NONE, FEEDGEN_NONE);
    REQUIRE(d);
    char p[512];
    snprintf(p, sizeof p, "%s/reports-0002.json", d);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof p, "%s/reports-0003.json", d);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof p, "%s/reports-0010.json", d);
    CHECK(access(p, F_OK) != 0);
}

/* Bad options give -1 and a one-line message. */
static void test_errors(void)
{
    char err[256];
    char dir[300];
    snprintf(dir, sizeof dir, "%s/err", tmp_root);
    struct feedgen_opts o = {.count = 10, .out_dir = NULL};
    CHECK_INT(feedgen_write(&o, err, sizeof err), -1);
    CHECK(strstr(err, "out_dir") != NULL);
    o.out_dir = dir;
    o.start_date = "2026-02-30";
    CHECK_INT(feedgen_write(&o, err, sizeof err), -1);
    CHECK(strstr(err, "start_date") != NULL && !strchr(err, '\n'));
    o.start_date = NULL;
    o.count = -1;
    CHECK_INT(feedgen_write(&o, err, sizeof err), -1);
    CHECK(strstr(err, "count") != NULL);
    o.count = 10;
    o.delete_ratio = 2;
    CHECK_INT(feedgen_write(&o, err, sizeof err), -1);
    o.delete_ratio = 0;
    char file[320];
    snprintf(file, sizeof file, "%s/afile", tmp_root);
    FILE *f = fopen(file, "w");
    REQUIRE(f);
    fclose(f);
    o.out_dir = file; /* exists but is not a directory */
    CHECK_INT(feedgen_write(&o, err, sizeof err), -1);
    CHECK(strstr(err, "cannot create") != NULL);
    CHECK_INT(feedgen_write(NULL, err, sizeof err), -1);
    o.out_dir = dir;
    o.start_date = "2027-03-15";
    CHECK_INT(feedgen_write(&o, NULL, 0), 0);
    cJSON *pg = load_json(dir, "reports-0001.json");
    REQUIRE(pg);
    const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pg, "reports"), 0);
    const char *id = str(r0, "iccam_id"), *rep = str(r0, "reported_at");
    CHECK(id && strncmp(id, "R-2027-", 7) == 0);
    CHECK(rep && strcmp(rep, "2027-03-15") > 0);
    cJSON_Delete(pg);
}

/* The checks above can fail: a corrupted record is noticed. */
static void test_validator_catches(void)
{
    const char *d = gen("corrupt", 50, 9, 100, FEEDGEN_NONE, FEEDGEN_NONE);
    REQUIRE(d);
    char path[512];
    snprintf(path, sizeof path, "%s/reports-0001.json", d);
    size_t n = 0;
    char *s = slurp(path, &n);
    REQUIRE(s);
    char *st = strstr(s, "\"site_type\":\"");
    REQUIRE(st);
    memcpy(st + 13, "spaceship", 9); /* site_type value starts with "spaceship" */
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fwrite(s, 1, n, f);
    fclose(f);
    free(s);
    struct walk w;
    walk_feed(d, &w, 100);
    CHECK_INT(w.bad_shape, 1);
    CHECK_INT(w.originals, 50);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/test_feedgen.XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_determinism);
    RUN(test_shape_counts_chain);
    RUN(test_hotlines);
    RUN(test_defaults_and_empty);
    RUN(test_stale_pages_removed);
    RUN(test_errors);
    RUN(test_validator_catches);
    rm_rf(tmp_root);
    return TEST_DONE();
}
