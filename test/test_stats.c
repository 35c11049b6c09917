/*
 * test_stats - the dashboard's series from the day sums of stats_rollup equal,
 * byte for byte, the same series counted from the reports, for every kind of
 * scope (LEAs with and without reports sent from their country, ones whose
 * parts overlap, one counted as everything but two countries, a hotline,
 * INTERPOL, operators), every metric, interval and
 * grouping, whole and partial days: after an import, with days an import or
 * other changes marked since the last rebuild, after a rebuild of those days
 * (equal to a whole rebuild), and when a hotline's country moves reports
 * between parts.
 */
#include "handlers.h"
#include "feedgen.h"
#include "iccam.h"
#include "importer.h"
#include "orgs.h"
#include "rollup.h"
#include "stats.h"
#include "test.h"
#include "testdb.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct api_route routes[] = {
    {"POST", "/api/v1/session", h_session_create, NEED_PUBLIC, 0, 0},
    {"GET", "/api/v1/stats/timeseries", h_stats_timeseries, NEED_SIGNED_IN, KIND_REPORT_READERS | KIND_OPERATOR, 0},
};

static struct config cfg;
static struct db *db;
static char dir[] = "/tmp/cport-test-stats-XXXXXX";
static char feed_url[220];

/* The people whose scopes are compared, and their session cookies. */
static const char *const people[] = {"nl@police.example", "us@police.example", "wide@police.example",
                                     "fr@police.example", "h@eokm.example",    "i@interpol.example",
                                     "op@cport.example",  "all@police.example"};
#define NPEOPLE (sizeof people / sizeof *people)
static char cookies[NPEOPLE][128];

/* Run one request; the body (malloc'd) into *body, the status returned. */
static int call(const char *method, const char *path, const char *query, const char *body, const char *cookie,
                char **out, char *headers, size_t hlen)
{
    struct ctx c;
    ctx_begin(&c, db, &cfg);
    c.method = method;
    c.path = path;
    c.query = query;
    c.body = body;
    c.body_len = body ? strlen(body) : 0;
    c.content_type = body ? "application/json" : NULL;
    c.cookie = cookie;
    c.remote_addr = "127.0.0.1";
    api_dispatch(&c, routes, sizeof routes / sizeof *routes);
    int status = c.status;
    if (out)
        *out = strdup(c.out.p ? c.out.p : "");
    if (headers)
        snprintf(headers, hlen, "%s", c.headers.p ? c.headers.p : "");
    ctx_end(&c);
    return status;
}

/* Sign in as email; its cookie into cookie. */
static int sign_in(const char *email, char *cookie)
{
    char body[256], headers[2048];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"password-123\"}", email);
    if (call("POST", "/api/v1/session", NULL, body, NULL, NULL, headers, sizeof headers) != 200)
        return -1;
    const char *v = strstr(headers, "cport_session=");
    const char *end = v ? strchr(v, ';') : NULL;
    if (!end)
        return -1;
    snprintf(cookie, 128, "%.*s", (int)(end - v), v);
    return 0;
}

/* Move the reports data version, so no cached answer stands in for a count. */
static void uncache(void)
{
    db_exec(db, "UPDATE data_versions SET n = n + 1 WHERE name = 'reports'", NULL, 0);
}

/* One series both ways; 1 when they are equal (and each answered 200 or the
 * same error). *served counts answers the rollup gave. */
static int same(int who, const char *query, long *served)
{
    char *a = NULL, *b = NULL;
    uncache();
    stats_use_rollup = 0;
    int sa = call("GET", "/api/v1/stats/timeseries", query, NULL, cookies[who], &a, NULL, 0);
    uncache();
    stats_use_rollup = 1;
    long before = stats_rollup_answers;
    int sb = call("GET", "/api/v1/stats/timeseries", query, NULL, cookies[who], &b, NULL, 0);
    *served += stats_rollup_answers - before;
    int ok = sa == sb && strcmp(a, b) == 0;
    if (!ok)
        fprintf(stderr, "  %s ?%s\n    reports: %d %.300s\n    rollup:  %d %.300s\n", people[who], query, sa, a, sb,
                b);
    free(a);
    free(b);
    return ok;
}

/* Every metric, interval, grouping and range for every person (every other
 * grouping and no months unless full, to keep the test quick); how many
 * differ. *served counts the rollup's answers. */
static int compare(int full, long *served)
{
    static const char *const metrics[] = {"reports", "media", "removed"};
    static const char *const intervals[] = {"week", "month", "day"};
    static const char *const groups[] = {"", "status", "site_type", "hosting_country", "international"};
    static const char *const ranges[] = {"", "&from=2026-03-02T13:17:05Z", "&from=2026-02-01&to=2026-09-14",
                                         "&to=2026-10-20T06:00:00Z", "&from=2026-05-05T01:00:00Z&to=2026-05-05T02:00:00Z"};
    int bad = 0;
    *served = 0;
    for (size_t p = 0; p < NPEOPLE; p++)
        for (size_t m = 0; m < 3; m++)
            for (size_t i = 0; i < 3; i++)
                for (size_t g = 0; g < 5; g++)
                    for (size_t r = 0; r < 5; r++) {
                        if (i == 2 && (r == 0 || r == 3))
                            continue; /* daily series need from */
                        if (!full && (i == 1 || g % 2 == 1))
                            continue;
                        char q[300];
                        snprintf(q, sizeof q, "metric=%s&interval=%s%s%s%s", metrics[m], intervals[i],
                                 *groups[g] ? "&group_by=" : "", groups[g], ranges[r]);
                        bad += !same((int)p, q, served);
                    }
    return bad;
}

/* The whole rollup as text, to compare two builds. */
static char *dump(void)
{
    struct buf b;
    buf_init(&b);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db->h,
                       "SELECT part, basis, gdim, day, gval, n, media FROM stats_rollup ORDER BY 1, 2, 3, 4, 5", -1,
                       &st, NULL);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        buf_printf(&b, "%s|%d|%d|%lld|%s|%lld|%lld\n", sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
                   sqlite3_column_int(st, 2), (long long)sqlite3_column_int64(st, 3), sqlite3_column_text(st, 4),
                   (long long)sqlite3_column_int64(st, 5), (long long)sqlite3_column_int64(st, 6));
    sqlite3_finalize(st);
    return b.p ? b.p : strdup("");
}

/* Whether the rollup as it stands (rebuilt day by day) equals a whole
 * rebuild of it: a day left unmarked by a change keeps its old sums. */
static int equals_whole_rebuild(void)
{
    char err[300];
    long days;
    char *partial = dump();
    db_exec(db, "INSERT INTO stats_dirty(basis, day) VALUES (-1, 0)", NULL, 0);
    int ok = rollup_refresh(db, &days, err, sizeof err) == CP_OK && days == -1;
    char *whole = dump();
    ok = ok && strcmp(partial, whole) == 0;
    free(partial);
    free(whole);
    return ok;
}

/* After the import and its rebuild: every answer from the rollup, all equal. */
static void test_after_import(void)
{
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty"), 0);
    CHECK(tq_int(db, "SELECT count(*) FROM stats_rollup") > 1000);
    long served;
    CHECK_INT(compare(1, &served), 0);
    /* All but the hour-long ranges (within one day) came from the rollup. */
    CHECK(served > 200);
}

/* The last pages of the feed (newer versions of reports and withdrawals):
 * the importer marks the days it changes, the series stay exact before the
 * rebuild, and rebuilding only those days gives what a whole rebuild does. */
static void test_import_marks(void)
{
    struct importer_opts io = {.feed = feed_url};
    struct importer_result r;
    char err[300];
    REQUIRE(importer_run(db, &io, &r, err, sizeof err) == CP_OK);
    CHECK(r.updated > 10);
    CHECK(r.deleted > 0);
    /* The run rebuilt the days it marked, and only those: equal to a whole
     * rebuild (a day it failed to mark would keep its old sums). */
    fprintf(stderr, "  last pages: %ld inserted, %ld updated, %ld withdrawn: %ld days rebuilt\n", r.inserted,
            r.updated, r.deleted, r.rollup_days);
    CHECK(r.rollup_days > 10 && r.rollup_days < 200);
    CHECK_STR(r.rollup_error, "");
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty"), 0);
    long served, days, dirty;
    CHECK(equals_whole_rebuild());
    /* And two records by hand: a report moved to another day (its old day must
     * be marked too) and one withdrawn. */
    char path[300];
    snprintf(path, sizeof path, "%s/feed/reports-0001.json", dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    struct buf b;
    buf_init(&b);
    char chunk[4096];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, k);
    fclose(f);
    cJSON *page = cJSON_Parse(b.p);
    buf_free(&b);
    cJSON *recs = cJSON_GetObjectItem(page, "reports");
    REQUIRE(cJSON_GetArraySize(recs) >= 2);
    /* the first whose stored day is not marked already */
    cJSON *moved = NULL;
    for (int i = 1; i < cJSON_GetArraySize(recs) && !moved; i++) {
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(db->h,
                           "SELECT EXISTS (SELECT 1 FROM stats_dirty WHERE basis = 0 AND day ="
                           " (SELECT reported_at / 86400 FROM reports WHERE iccam_id = ?))",
                           -1, &st, NULL);
        sqlite3_bind_text(st, 1, cJSON_GetObjectItem(cJSON_GetArrayItem(recs, i), "iccam_id")->valuestring, -1,
                          SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0)
            moved = cJSON_GetArrayItem(recs, i);
        sqlite3_finalize(st);
    }
    REQUIRE(moved);
    cJSON_ReplaceItemInObject(moved, "updated_at", cJSON_CreateString("2027-01-01T00:00:00Z"));
    cJSON_ReplaceItemInObject(moved, "reported_at", cJSON_CreateString("2026-06-10T10:00:00Z"));
    char *moved_json = cJSON_PrintUnformatted(moved), gone_json[1200];
    snprintf(gone_json, sizeof gone_json, "{\"iccam_id\":\"%s\",\"updated_at\":\"2027-01-01T00:00:00Z\",\"deleted\":true}",
             tq_text(db, "SELECT iccam_id FROM reports ORDER BY reported_at DESC LIMIT 1"));
    struct iccam_counts ic = {0};
    REQUIRE(db_begin(db) == CP_OK);
    CHECK_INT(iccam_record_store(db, moved_json, r.run_id, &ic, err, sizeof err), CP_OK);
    CHECK_INT(iccam_record_store(db, gone_json, r.run_id, &ic, err, sizeof err), CP_OK);
    REQUIRE(db_commit(db) == CP_OK);
    CHECK_INT(ic.updated, 1);
    CHECK_INT(ic.deleted, 1);
    cJSON_free(moved_json);
    cJSON_Delete(page);
    dirty = tq_int(db, "SELECT count(*) FROM stats_dirty WHERE basis >= 0");
    CHECK(dirty >= 2);
    CHECK_INT(compare(0, &served), 0);
    CHECK(served > 200); /* the rollup, with the marked days from the reports */
    REQUIRE(rollup_refresh(db, &days, err, sizeof err) == CP_OK);
    CHECK_INT(days, dirty);
    CHECK(equals_whole_rebuild());
    CHECK_INT(compare(0, &served), 0);
}

/* Changed reports: their days are dirty and counted from the reports until
 * the rebuild, which equals a whole rebuild. */
static void test_dirty_days(void)
{
    /* Two weeks' worth of reports (March, July), changed in every way that
     * moves them between days, parts or groups. */
    REQUIRE(db_exec(db,
                    "CREATE TEMP TABLE touched AS SELECT id FROM reports WHERE"
                    " (reported_at >= unixepoch('2026-03-10') AND reported_at < unixepoch('2026-03-17'))"
                    " OR (reported_at >= unixepoch('2026-07-01') AND reported_at < unixepoch('2026-07-08'));"
                    /* the marks the importer makes for what it writes: old days... */
                    "INSERT OR IGNORE INTO stats_dirty SELECT 0, reported_at / 86400 FROM reports WHERE id IN touched;"
                    "INSERT OR IGNORE INTO stats_dirty SELECT 1, removed_at / 86400 FROM reports"
                    " WHERE id IN touched AND removed_at IS NOT NULL;"
                    "UPDATE reports SET status = 'removed', removed_at = reported_at + 86400 * 3"
                    " WHERE id IN touched AND id % 5 = 0 AND removed_at IS NULL;"
                    "UPDATE reports SET host_country = 'BE' WHERE id IN touched AND id % 7 = 0;"
                    "UPDATE reports SET host_country = NULL WHERE id IN touched AND id % 23 = 0;"
                    "UPDATE reports SET reporting_hotline = assessing_hotline WHERE id IN touched AND id % 11 = 0;"
                    "UPDATE reports SET class_bits = class_bits | 1, media_count = media_count + 2"
                    " WHERE id IN touched AND id % 13 = 0;"
                    "UPDATE reports SET reported_at = reported_at + 86400 * 2 WHERE id IN touched AND id % 17 = 0;"
                    /* ...and new ones */
                    "INSERT OR IGNORE INTO stats_dirty SELECT 0, reported_at / 86400 FROM reports WHERE id IN touched;"
                    "INSERT OR IGNORE INTO stats_dirty SELECT 1, removed_at / 86400 FROM reports"
                    " WHERE id IN touched AND removed_at IS NOT NULL;"
                    "DELETE FROM reports WHERE id IN touched AND id % 19 = 0;"
                    "DROP TABLE touched;",
                    NULL, 0) == CP_OK);
    long dirty = tq_int(db, "SELECT count(*) FROM stats_dirty WHERE basis >= 0");
    CHECK(dirty > 14 && dirty < 40);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty WHERE basis < 0"), 0);
    long served;
    CHECK_INT(compare(1, &served), 0);
    CHECK(served > 200); /* the clean days still from the rollup */

    long days;
    char err[300];
    REQUIRE(rollup_refresh(db, &days, err, sizeof err) == CP_OK);
    CHECK_INT(days, dirty);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty"), 0);
    CHECK_INT(compare(0, &served), 0);
    CHECK(equals_whole_rebuild());
    /* Nothing dirty: a no-op. */
    REQUIRE(rollup_refresh(db, &days, err, sizeof err) == CP_OK);
    CHECK_INT(days, 0);
}

/* A hotline moving country changes which reports are "sent from" a country:
 * no rollup answer until the rebuild, and equal answers throughout. */
static void test_hotline_moves(void)
{
    REQUIRE(db_exec(db, "UPDATE hotlines SET country = 'US' WHERE code = 'GB-IWF'", NULL, 0) == CP_OK);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty WHERE basis < 0"), 1);
    long served;
    CHECK_INT(compare(0, &served), 0);
    CHECK_INT(served, 0);
    long days;
    char err[300];
    REQUIRE(rollup_refresh(db, &days, err, sizeof err) == CP_OK);
    CHECK_INT(compare(0, &served), 0);
    CHECK(served > 200);
}

/* More dirty days than the series counts piece by piece: the whole series
 * from the reports, still equal. */
static void test_many_dirty_days(void)
{
    REQUIRE(db_exec(db,
                    "UPDATE reports SET media_count = media_count + 1 WHERE id % 7 = 0;"
                    "INSERT OR IGNORE INTO stats_dirty SELECT 0, reported_at / 86400 FROM reports WHERE id % 7 = 0;",
                    NULL, 0) == CP_OK);
    long dirty = tq_int(db, "SELECT count(*) FROM stats_dirty");
    CHECK(dirty > 200);
    long served;
    CHECK_INT(compare(0, &served), 0);
    long days;
    char err[300];
    REQUIRE(rollup_refresh(db, &days, err, sizeof err) == CP_OK);
    CHECK_INT(days, dirty); /* ROLLUP_DAYS_PER_TXN at a time */
    CHECK_INT(tq_int(db, "SELECT count(*) FROM stats_dirty"), 0);
    CHECK_INT(compare(0, &served), 0);
    CHECK(served > 200);
}

/* Orgs, agreements and people: scopes of every shape the parts must sum to. */
static int fixture_people(void)
{
    char err[256];
    int64_t id;
    static const char *const orgs[][5] = {
        {"lea", "NL Police", "NL", NULL}, {"lea", "US Police", "US", NULL}, {"lea", "Wide Police", "NL", NULL},
        {"lea", "FR Police", "FR", NULL}, {"hotline", "EOKM", "NL", "NL-EOKM"}, {"interpol", "INTERPOL", "FR", NULL},
        {"operator", "Operator", "NL", NULL},      {"lea", "All Police", "NL", NULL}};
    for (size_t i = 0; i < sizeof orgs / sizeof *orgs; i++)
        if (orgs_add(db, "test", orgs[i][0], orgs[i][1], orgs[i][2], orgs[i][3], &id, err, sizeof err) != CP_OK)
            return fprintf(stderr, "fixture: %s\n", err), -1;
    const struct orgs_agreement ags[] = {
        /* own country only, metadata */
        {.lea = "NL Police", .hotline = "NL-EOKM", .jurisdiction = "NL", .media_metadata = 1},
        /* own country and what its hotlines sent: h:US + rc:US - d:US */
        {.lea = "US Police", .hotline = "US-NCMEC", .jurisdiction = "US", .media_metadata = 1,
         .include_reported_from = 1},
        /* several countries and sent from NL: overlap subtracted from the reports;
         * metadata only for DE, without reports sent from NL */
        {.lea = "Wide Police", .hotline = "NL-EOKM", .jurisdiction = "NL,BE", .include_reported_from = 1},
        {.lea = "Wide Police", .hotline = "DE-ECO", .jurisdiction = "DE", .media_metadata = 1},
        /* sent from its country, hosted elsewhere only */
        {.lea = "FR Police", .hotline = "DE-ECO", .jurisdiction = "DE,GB", .include_reported_from = 1,
         .media_metadata = 1},
        /* all hosting countries but two: "*" - "h-" - h:US - h:DE, and the
         * overlap of reports sent from NL */
        {.lea = "All Police", .hotline = "NL-EOKM", .media_metadata = 1, .include_reported_from = 1,
         .jurisdiction = "NL,FR,RU,GB,CA,UA,HK,SG,LU,SE,RO,BG,PL,CH,CZ,ES,IT,LV,LT,MD,JP,VN,PA,BR,IN,CN,TR,KR,"
                         "BZ,SC,VG,IS,FI,DK,AT,BE,IE,PT,TH,MY,ZA,AU,HU,SK,EE,HR,GR,CY,MT,MX,CO,BA,NZ,PH,SI,TW"},
    };
    for (size_t i = 0; i < sizeof ags / sizeof *ags; i++)
        if (orgs_agreement_add(db, "test", &ags[i], &id, err, sizeof err) != CP_OK)
            return fprintf(stderr, "fixture: %s\n", err), -1;
    static const char *const users[][3] = {
        {"NL Police", "nl@police.example", "viewer"},   {"US Police", "us@police.example", "viewer"},
        {"Wide Police", "wide@police.example", "viewer"}, {"FR Police", "fr@police.example", "viewer"},
        {"EOKM", "h@eokm.example", "analyst"},          {"INTERPOL", "i@interpol.example", "analyst"},
        {"Operator", "op@cport.example", "operator"},  {"All Police", "all@police.example", "viewer"}};
    for (size_t i = 0; i < sizeof users / sizeof *users; i++)
        if (orgs_user_add(db, "test", &cfg, users[i][0], users[i][1], users[i][2], "password-123", &id, err,
                          sizeof err) != CP_OK)
            return fprintf(stderr, "fixture: %s\n", err), -1;
    for (size_t i = 0; i < NPEOPLE; i++)
        if (sign_in(people[i], cookies[i]))
            return fprintf(stderr, "fixture: cannot sign in as %s\n", people[i]), -1;
    return 0;
}

/* A generated feed with updates and withdrawals, imported and summed. */
static int fixture(void)
{
    char err[300], feed[200], path[200];
    if (!mkdtemp(dir))
        return perror("mkdtemp"), -1;
    snprintf(feed, sizeof feed, "%s/feed", dir);
    snprintf(feed_url, sizeof feed_url, "file://%s", feed);
    snprintf(path, sizeof path, "%s/t.db", dir);
    /* Small pages, in updated_at order: the last 15 hold the newest reports
     * and newer versions of older ones and withdrawals, imported later by
     * test_import_marks. */
    struct feedgen_opts fo = {
        .count = 4000, .seed = 11, .page_size = 20, .out_dir = feed, .update_ratio = 0.2, .delete_ratio = 0.02};
    if (feedgen_write(&fo, err, sizeof err))
        return fprintf(stderr, "feedgen: %s\n", err), -1;
    db = db_open(path, 5000, err, sizeof err);
    if (!db || db_migrate(db, err, sizeof err) != CP_OK)
        return fprintf(stderr, "setup: %s\n", err), -1;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^reports-'", feed);
    FILE *ls = popen(cmd, "r");
    int pages = 0;
    if (!ls || fscanf(ls, "%d", &pages) != 1 || pages < 10)
        return fprintf(stderr, "cannot count the feed's pages\n"), -1;
    pclose(ls);
    struct importer_opts io = {.feed = feed_url, .max_pages = pages - 15};
    struct importer_result r;
    if (importer_run(db, &io, &r, err, sizeof err) != CP_OK)
        return fprintf(stderr, "import: %s\n", err), -1;
    if (r.rollup_days != -1) /* the first run rebuilds everything */
        return fprintf(stderr, "rollup: %s (%ld)\n", r.rollup_error, r.rollup_days), -1;
    return fixture_people();
}

int main(void)
{
    char err[256];
    config_load(&cfg, NULL, err, sizeof err);
    cfg.mfa_required = 0;
    cfg.pwhash_mem_kib = 8192;
    cfg.pwhash_ops = 1;
    if (fixture())
        return 1;
    RUN(test_after_import);
    RUN(test_import_marks);
    RUN(test_dirty_days);
    RUN(test_hotline_moves);
    RUN(test_many_dirty_days);
    db_close(db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
