/*
 * test_iccam - the feed-to-database mapping: a record's columns, idempotent
 * re-import, newer versions replacing media and keeping classification history,
 * withdrawals and tombstones, every kind of invalid record quarantined with the
 * field named while the rest of the page imports, and the hotlines list.
 */
#include "db.h"
#include "iccam.h"
#include "test.h"
#include "testdb.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

static struct db *d;
static char dir[] = "/tmp/cport-test-iccam-XXXXXX";

/* A 144-byte PhotoDNA value, base64 (synthetic). */
#define PDNA "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6P"

/* A full valid record with two media items; tests mutate copies of it. */
static const char *BASE =
    "{\"iccam_id\":\"R-1\",\"updated_at\":\"2026-11-02T08:00:00Z\",\"reported_at\":\"2026-11-01T10:15:00Z\","
    "\"reporting_hotline\":\"DE-ECO\",\"assessing_hotline\":\"NL-EOKM\","
    "\"url\":\"https://gallery.example.test/album/77?page=2\",\"site_type\":\"image_host\","
    "\"hosting\":{\"country\":\"NL\",\"ip\":\"192.0.2.10\",\"asn\":64500,\"provider\":\"Example Hosting B.V.\"},"
    "\"commercial\":false,\"status\":\"ntd_sent\",\"unknown_field\":[1,2,3],"
    "\"timeline\":{\"assessed_at\":\"2026-11-01T11:00:00Z\",\"forwarded_at\":\"2026-11-01T12:00:00Z\","
    "\"lea_notified_at\":null,\"ntd_sent_at\":\"2026-11-02T07:00:00Z\",\"removed_at\":null},"
    "\"media\":[{\"iccam_media_id\":\"M-1\",\"content_url\":\"https://cdn.example.test/i/abc.jpg\","
    "\"media_type\":\"image\",\"mime\":\"image/jpeg\",\"bytes\":48213,\"width\":640,\"height\":480,"
    "\"duration_s\":null,\"hashes\":{\"md5\":\"0123456789abcdef0123456789ABCDEF\","
    "\"sha1\":\"0123456789abcdef0123456789abcdef01234567\","
    "\"sha256\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
    "\"pdq\":\"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210\",\"pdq_quality\":92,"
    "\"photodna\":\"" PDNA "\"},"
    "\"classification\":{\"international\":\"baseline\",\"national\":\"illegal\",\"age_group\":\"pre_pubescent\","
    "\"gender\":\"female\",\"assessed_at\":\"2026-11-01T11:00:00Z\",\"assessed_by\":\"NL-EOKM\"},"
    "\"first_seen_at\":\"2026-11-01T10:15:00Z\",\"is_new\":true,\"known_to_police\":false,"
    "\"content\":\"media/M-1\"},"
    "{\"iccam_media_id\":\"M-2\",\"media_type\":\"video\",\"duration_s\":12.5,"
    "\"classification\":{\"international\":\"not_baseline\",\"national\":\"not_illegal\","
    "\"assessed_at\":\"2026-11-01T11:00:00Z\",\"assessed_by\":\"NL-EOKM\"}}]}";

/* Replace (or with value NULL remove) the member at a dotted path such as
 * "media.0.hashes.md5" in a copy of json; returns the new JSON text (malloc'd). */
static char *mutate(const char *json, const char *path, const char *value)
{
    cJSON *root = cJSON_Parse(json), *o = root;
    char p[256];
    snprintf(p, sizeof p, "%s", path);
    char *save = NULL, *tok = strtok_r(p, ".", &save);
    for (char *next; (next = strtok_r(NULL, ".", &save)); tok = next)
        o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(tok)) : cJSON_GetObjectItemCaseSensitive(o, tok);
    if (value) {
        cJSON *v = cJSON_Parse(value);
        if (cJSON_IsArray(o))
            cJSON_ReplaceItemInArray(o, atoi(tok), v);
        else if (cJSON_GetObjectItemCaseSensitive(o, tok))
            cJSON_ReplaceItemInObjectCaseSensitive(o, tok, v);
        else
            cJSON_AddItemToObject(o, tok, v);
    } else if (cJSON_IsArray(o)) {
        cJSON_DeleteItemFromArray(o, atoi(tok));
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(o, tok);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* Store one record in its own transaction, adding to c. */
static int store(const char *json, struct iccam_counts *c)
{
    char err[256];
    if (db_begin(d) != CP_OK)
        return CP_BUSY;
    int e = iccam_record_store(d, json, 0, c, err, sizeof err);
    if (e != CP_OK) {
        fprintf(stderr, "  store: %s\n", err);
        db_rollback(d);
        return e;
    }
    return db_commit(d);
}

/* One-value probes of this file's database (test/testdb.h). */
#define q_int(sql) tq_int(d, sql)
#define q_text(sql) tq_text(d, sql)

/* Empty every table the importer writes. */
static void wipe(void)
{
    db_exec(d,
            "DELETE FROM classifications; DELETE FROM media; DELETE FROM reports; DELETE FROM report_tombstones;"
            "DELETE FROM import_rejects; DELETE FROM hotlines;",
            NULL, 0);
}

/* A full record lands in every column as the schema wants it. */
static void test_insert_columns(void)
{
    wipe();
    struct iccam_counts c = {0};
    REQUIRE(store(BASE, &c) == CP_OK);
    CHECK_INT(c.inserted, 1);
    CHECK_INT(c.rejected, 0);
    CHECK_STR(q_text("SELECT domain FROM reports WHERE iccam_id='R-1'"), "example.test");
    CHECK_INT(q_int("SELECT updated_at FROM reports"), 1793606400);
    CHECK_INT(q_int("SELECT reported_at FROM reports"), 1793528100);
    CHECK_STR(q_text("SELECT host_country||' '||host_ip||' '||host_asn||' '||host_provider FROM reports"),
              "NL 192.0.2.10 64500 Example Hosting B.V.");
    CHECK_STR(q_text("SELECT site_type||' '||status||' '||commercial FROM reports"), "image_host ntd_sent 0");
    CHECK_INT(q_int("SELECT assessed_at FROM reports"), 1793530800);
    CHECK_INT(q_int("SELECT lea_notified_at IS NULL AND removed_at IS NULL FROM reports"), 1);
    CHECK_INT(q_int("SELECT media_count FROM reports"), 2);
    CHECK_INT(q_int("SELECT class_bits FROM reports"), 1 | 2 | 4 | 8);
    CHECK_INT(q_int("SELECT type_bits FROM reports"), 1 | 2);
    CHECK_STR(q_text("SELECT hex(md5) FROM media WHERE iccam_media_id='M-1'"), "0123456789ABCDEF0123456789ABCDEF");
    CHECK_INT(q_int("SELECT length(md5)+length(sha1)+length(sha256)+length(pdq)+length(photodna) FROM media"
                    " WHERE iccam_media_id='M-1'"),
              16 + 20 + 32 + 32 + 144);
    CHECK_INT(q_int("SELECT pdq_quality FROM media WHERE iccam_media_id='M-1'"), 92);
    CHECK_STR(q_text("SELECT mime||' '||bytes||'x'||width||'x'||height||' '||is_new||known_to_police||' '||content_ref"
                     " FROM media WHERE iccam_media_id='M-1'"),
              "image/jpeg 48213x640x480 10 media/M-1");
    CHECK_STR(q_text("SELECT duration_s FROM media WHERE iccam_media_id='M-2'"), "12.5");
    CHECK_INT(q_int("SELECT md5 IS NULL AND is_new IS NULL FROM media WHERE iccam_media_id='M-2'"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM classifications WHERE is_current=1"), 2);
    CHECK_STR(q_text("SELECT international||national||age_group||gender||assessed_by FROM classifications c"
                     " JOIN media m ON m.id=c.media_id WHERE m.iccam_media_id='M-1'"),
              "baselineillegalpre_pubescentfemaleNL-EOKM");
    CHECK_INT(q_int("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'gallery'"), 1);
}

/* The same record again, or an older one, changes nothing. */
static void test_reimport_idempotent(void)
{
    wipe();
    struct iccam_counts c = {0};
    REQUIRE(store(BASE, &c) == CP_OK);
    long long id = q_int("SELECT id FROM reports");
    REQUIRE(store(BASE, &c) == CP_OK);
    char *older = mutate(BASE, "updated_at", "\"2026-10-01T00:00:00Z\"");
    REQUIRE(store(older, &c) == CP_OK);
    free(older);
    CHECK_INT(c.inserted, 1);
    CHECK_INT(c.unchanged, 2);
    CHECK_INT(q_int("SELECT id FROM reports"), id);
    CHECK_INT(q_int("SELECT count(*) FROM media"), 2);
    CHECK_INT(q_int("SELECT count(*) FROM classifications"), 2);
    CHECK_INT(q_int("SELECT updated_at FROM reports"), 1793606400);
}

/* A newer version updates in place: media changed, added, removed; classification
 * history kept with one current; an unchanged classification adds nothing. */
static void test_newer_replaces(void)
{
    wipe();
    struct iccam_counts c = {0};
    REQUIRE(store(BASE, &c) == CP_OK);
    long long id = q_int("SELECT id FROM reports");
    long long m1 = q_int("SELECT id FROM media WHERE iccam_media_id='M-1'");
    /* v2: M-1 reclassified and resized, M-2 removed, M-3 added, url changed */
    char *a = mutate(BASE, "updated_at", "\"2026-11-03T00:00:00Z\"");
    char *b = mutate(a, "media.0.classification.international", "\"not_baseline\"");
    char *e = mutate(b, "media.0.classification.assessed_at", "\"2026-11-03T00:00:00Z\"");
    char *f = mutate(e, "media.0.width", "1024");
    char *g = mutate(f, "media.1",
                     "{\"iccam_media_id\":\"M-3\",\"media_type\":\"other\",\"hashes\":{\"md5\":"
                     "\"ffffffffffffffffffffffffffffffff\"}}");
    char *v2 = mutate(g, "url", "\"https://new.example.co.uk/x\"");
    free(a), free(b), free(e), free(f), free(g);
    REQUIRE(store(v2, &c) == CP_OK);
    CHECK_INT(c.updated, 1);
    CHECK_INT(q_int("SELECT id FROM reports"), id);
    CHECK_INT(q_int("SELECT id FROM media WHERE iccam_media_id='M-1'"), m1);
    CHECK_INT(q_int("SELECT width FROM media WHERE iccam_media_id='M-1'"), 1024);
    CHECK_INT(q_int("SELECT count(*) FROM media WHERE iccam_media_id='M-2'"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM media WHERE iccam_media_id='M-3'"), 1);
    CHECK_INT(q_int("SELECT media_count FROM reports"), 2);
    CHECK_INT(q_int("SELECT type_bits FROM reports"), 1 | 4);
    CHECK_INT(q_int("SELECT class_bits FROM reports"), 2 | 4);
    CHECK_STR(q_text("SELECT domain FROM reports"), "example.co.uk");
    CHECK_INT(q_int("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'gallery'"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'new'"), 1);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM classifications WHERE media_id=%lld", m1);
    CHECK_INT(q_int(sql), 2);
    snprintf(sql, sizeof sql, "SELECT international FROM classifications WHERE media_id=%lld AND is_current=1", m1);
    CHECK_STR(q_text(sql), "not_baseline");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM classifications WHERE media_id=%lld AND is_current=1", m1);
    CHECK_INT(q_int(sql), 1);
    /* v3: same classification, other changes: no new classification row */
    char *v3 = mutate(v2, "updated_at", "\"2026-11-04T00:00:00Z\"");
    char *v3b = mutate(v3, "status", "\"content_removed\"");
    REQUIRE(store(v3b, &c) == CP_OK);
    CHECK_INT(c.updated, 2);
    CHECK_INT(q_int("SELECT count(*) FROM classifications"), 2);
    CHECK_STR(q_text("SELECT status FROM reports"), "content_removed");
    /* v4: M-1 without a classification keeps its current one (and its bits) */
    char *v4 = mutate(v3b, "updated_at", "\"2026-11-05T00:00:00Z\"");
    char *v4b = mutate(v4, "media.0.classification", NULL);
    REQUIRE(store(v4b, &c) == CP_OK);
    CHECK_INT(q_int("SELECT count(*) FROM classifications WHERE is_current=1"), 1);
    CHECK_INT(q_int("SELECT class_bits FROM reports"), 2 | 4);
    free(v2), free(v3), free(v3b), free(v4), free(v4b);
}

/* A withdrawal deletes the report (cascade) and leaves a tombstone that older and
 * equal copies cannot pass; a newer copy brings the report back. */
static void test_delete_tombstone(void)
{
    wipe();
    struct iccam_counts c = {0};
    REQUIRE(store(BASE, &c) == CP_OK);
    /* a withdrawal older than the stored report changes nothing */
    REQUIRE(store("{\"iccam_id\":\"R-1\",\"updated_at\":\"2026-11-01T00:00:00Z\",\"deleted\":true}", &c) == CP_OK);
    CHECK_INT(c.unchanged, 1);
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 1);
    REQUIRE(store("{\"iccam_id\":\"R-1\",\"updated_at\":\"2026-11-10T00:00:00Z\",\"deleted\":true}", &c) == CP_OK);
    CHECK_INT(c.deleted, 1);
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM media"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM classifications"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'gallery'"), 0);
    CHECK_INT(q_int("SELECT updated_at FROM report_tombstones WHERE iccam_id='R-1'"), 1794268800);
    /* the old copy again, an equal-time copy and the withdrawal again: nothing */
    REQUIRE(store(BASE, &c) == CP_OK);
    char *eq = mutate(BASE, "updated_at", "\"2026-11-10T00:00:00Z\"");
    REQUIRE(store(eq, &c) == CP_OK);
    REQUIRE(store("{\"iccam_id\":\"R-1\",\"updated_at\":\"2026-11-10T00:00:00Z\",\"deleted\":true}", &c) == CP_OK);
    CHECK_INT(c.unchanged, 4);
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 0);
    /* a newer copy resurrects it */
    char *newer = mutate(BASE, "updated_at", "\"2026-11-11T00:00:00Z\"");
    REQUIRE(store(newer, &c) == CP_OK);
    CHECK_INT(c.inserted, 2);
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM report_tombstones"), 0);
    /* withdrawal of a report never seen still leaves a tombstone */
    REQUIRE(store("{\"iccam_id\":\"R-9\",\"updated_at\":\"2026-11-10T00:00:00Z\",\"deleted\":true}", &c) == CP_OK);
    CHECK_INT(q_int("SELECT count(*) FROM report_tombstones WHERE iccam_id='R-9'"), 1);
    free(eq), free(newer);
}

/* One invalid variant of BASE and the text its reason must contain. */
struct bad_case {
    const char *path, *value, *reason;
};

static const struct bad_case BAD[] = {
    {"iccam_id", NULL, "iccam_id: missing"},
    {"iccam_id", "\"\"", "iccam_id: empty"},
    {"iccam_id", "\"R 1\"", "iccam_id: not printable"},
    {"iccam_id", "\"R-0123456789012345678901234567890123456789012345678901234567890123456789\"", "iccam_id:"},
    {"iccam_id", "42", "iccam_id: not a string"},
    {"updated_at", "\"yesterday\"", "updated_at: not a valid date-time"},
    {"updated_at", NULL, "updated_at: missing"},
    {"reported_at", "\"2026-02-30T00:00:00Z\"", "reported_at: not a valid date-time"},
    {"timeline.removed_at", "\"2026-13-01\"", "timeline.removed_at: not a valid date-time"},
    {"site_type", "\"darkweb\"", "site_type: not one of"},
    {"site_type", "\"Forum\"", "site_type: not one of"},
    {"status", "\"open\"", "status: not one of"},
    {"status", NULL, "status: missing"},
    {"media.0.media_type", "\"audio\"", "media[0].media_type: not one of"},
    {"media.0.classification.international", "\"severe\"", "media[0].classification.international: not one of"},
    {"media.1.classification.national", "\"legal\"", "media[1].classification.national: not one of"},
    {"media.0.classification.age_group", "\"adult\"", "media[0].classification.age_group: not one of"},
    {"media.0.classification.gender", "\"f\"", "media[0].classification.gender: not one of"},
    {"media.0.classification.assessed_at", "\"soon\"", "media[0].classification.assessed_at"},
    {"hosting.country", "\"XX\"", "hosting.country: not an ISO"},
    {"hosting.country", "\"nl\"", "hosting.country: not an ISO"},
    {"hosting.ip", "\"192.0.2.300\"", "hosting.ip: not an IPv4 or IPv6"},
    {"hosting.ip", "\"2001:db8::zz\"", "hosting.ip: not an IPv4 or IPv6"},
    {"hosting.asn", "-1", "hosting.asn: not an integer"},
    {"hosting.asn", "4294967296", "hosting.asn: not an integer"},
    {"hosting.asn", "1.5", "hosting.asn: not an integer"},
    {"url", "\"ftp://files.example.test/x\"", "url: not an http or https URL"},
    {"url", "\"https://bad host.example.test/\"", "url: contains a space"},
    {"url", "\"https://co.uk/\"", "url: no registrable domain"},
    {"url", NULL, "url: missing"},
    {"media.0.content_url", "\"javascript:alert(1)\"", "media[0].content_url: not an http"},
    {"media.0.hashes.md5", "\"0123\"", "media[0].hashes.md5: not 32 hex"},
    {"media.0.hashes.md5", "\"0123456789abcdef0123456789abcdeg\"", "media[0].hashes.md5: not 32 hex"},
    {"media.0.hashes.sha1", "\"0123456789abcdef0123456789abcdef012345678\"", "media[0].hashes.sha1: not 40 hex"},
    {"media.0.hashes.sha256", "\"00\"", "media[0].hashes.sha256: not 64 hex"},
    {"media.0.hashes.pdq", "\"zz\"", "media[0].hashes.pdq: not 64 hex"},
    {"media.0.hashes.pdq_quality", "101", "media[0].hashes.pdq_quality: not an integer"},
    {"media.0.hashes.photodna", "\"AAAA\"", "media[0].hashes.photodna: not base64 of 144 bytes"},
    {"media.0.hashes.photodna", "\"" PDNA "AAAA\"", "media[0].hashes.photodna: not base64 of 144 bytes"},
    {"reporting_hotline", "\"THIS-CODE-IS-FAR-TOO-LONG-FOR-A-HOTLINE\"", "reporting_hotline:"},
    {"assessing_hotline", "\"NL\\u0001EOKM\"", "assessing_hotline:"},
    {"media.0.bytes", "-5", "media[0].bytes: not an integer"},
    {"media.0.width", "-1", "media[0].width: not an integer"},
    {"media.0.height", "\"480\"", "media[0].height: not an integer"},
    {"media.1.duration_s", "-1", "media[1].duration_s"},
    {"media.0.iccam_media_id", NULL, "media[0].iccam_media_id: missing"},
    {"media.1.iccam_media_id", "\"M-1\"", "media[1].iccam_media_id: repeated"},
    {"media.0.content", "\"../../etc/passwd\"", "media[0].content: not a plain relative path"},
    {"media", "{}", "media: not an array"},
    {"media.0", "7", "media[0]: not an object"},
    {"hosting", "\"NL\"", "hosting: not an object"},
    {"commercial", "\"no\"", "commercial: not a boolean"},
    {"media.0.is_new", "1", "media[0].is_new: not a boolean"},
};

/* Each invalid record is quarantined with the field named, and the valid records
 * around it in the same page import. */
static void test_invalid_records(void)
{
    wipe();
    int n = (int)(sizeof BAD / sizeof BAD[0]);
    struct buf page;
    buf_init(&page);
    buf_adds(&page, "{\"reports\":[");
    for (int i = 0; i < n; i++) {
        char *j = mutate(BASE, BAD[i].path, BAD[i].value);
        /* distinct ids, so a valid twin cannot mask a rejected one */
        char id[32];
        snprintf(id, sizeof id, "\"R-BAD-%d\"", i);
        char *withid = strcmp(BAD[i].path, "iccam_id") ? mutate(j, "iccam_id", id) : NULL;
        buf_printf(&page, "%s%s,{\"iccam_id\":\"R-OK-%d\",\"updated_at\":\"2026-01-01T00:00:00Z\","
                          "\"reported_at\":\"2026-01-01\",\"url\":\"http://ok%d.example.test/\","
                          "\"site_type\":\"forum\",\"status\":\"received\"}",
                   i ? "," : "", withid ? withid : j, i, i);
        free(withid);
        free(j);
    }
    buf_adds(&page, "],\"next_cursor\":\"c1\",\"has_more\":true}");
    struct iccam_page pg;
    char err[256];
    REQUIRE(iccam_page_parse(page.p, page.len, &pg, err, sizeof err) == CP_OK);
    CHECK_INT(pg.count, 2 * n);
    CHECK_STR(pg.next_cursor, "c1");
    CHECK_INT(pg.has_more, 1);
    struct iccam_counts c = {0};
    REQUIRE(db_begin(d) == CP_OK);
    int e = iccam_page_store(d, &pg, 0, &c, err, sizeof err);
    CHECK_INT(e, CP_OK);
    CHECK(db_commit(d) == CP_OK);
    iccam_page_free(&pg);
    buf_free(&page);
    CHECK_INT(c.rejected, n);
    CHECK_INT(c.inserted, n);
    CHECK_INT(q_int("SELECT count(*) FROM reports WHERE iccam_id LIKE 'R-OK-%'"), n);
    CHECK_INT(q_int("SELECT count(*) FROM reports WHERE iccam_id NOT LIKE 'R-OK-%'"), 0);
    CHECK_INT(q_int("SELECT count(*) FROM import_rejects"), n);
    CHECK_INT(q_int("SELECT count(*) FROM media"), 0);
    /* each reject names its field; raw holds the record's JSON */
    sqlite3_stmt *st;
    sqlite3_prepare_v2(d->h, "SELECT reason, raw, iccam_id FROM import_rejects ORDER BY id", -1, &st, NULL);
    for (int i = 0; i < n && sqlite3_step(st) == SQLITE_ROW; i++) {
        const char *reason = (const char *)sqlite3_column_text(st, 0);
        if (!strstr(reason, BAD[i].reason)) {
            fprintf(stderr, "  case %d (%s): reason \"%s\" lacks \"%s\"\n", i, BAD[i].path, reason, BAD[i].reason);
            test_cur_failed = 1;
        }
        cJSON *raw = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
        CHECK(raw != NULL);
        cJSON_Delete(raw);
        if (strcmp(BAD[i].path, "iccam_id") != 0) {
            char id[32];
            snprintf(id, sizeof id, "R-BAD-%d", i);
            CHECK_STR((const char *)sqlite3_column_text(st, 2), id);
        }
    }
    sqlite3_finalize(st);
    CHECK_INT(q_int("SELECT count(*) FROM import_rejects WHERE reason LIKE 'iccam_id: missing%' AND iccam_id IS NULL"),
              1);
}

/* Non-object records and a media id owned by another report are rejected; the
 * refused record's partial writes are undone. */
static void test_refused_records(void)
{
    wipe();
    struct iccam_counts c = {0};
    REQUIRE(store(BASE, &c) == CP_OK);
    REQUIRE(store("[1,2]", &c) == CP_OK);
    REQUIRE(store("\"x\"", &c) == CP_OK);
    CHECK_INT(c.rejected, 2);
    char *other = mutate(BASE, "iccam_id", "\"R-2\"");
    REQUIRE(store(other, &c) == CP_OK); /* M-1 and M-2 belong to R-1 */
    CHECK_INT(c.rejected, 3);
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM reports_fts WHERE reports_fts MATCH 'gallery'"), 1);
    CHECK(strstr(q_text("SELECT reason FROM import_rejects ORDER BY id DESC"), "media") != NULL);
    CHECK_STR(q_text("SELECT iccam_id FROM import_rejects ORDER BY id DESC"), "R-2");
    free(other);
}

/* Page shape errors are the page's, not a record's. */
static void test_bad_pages(void)
{
    static const char *pages[] = {
        "{\"reports\":[", "[]", "{}", "{\"reports\":{}}", "{\"reports\":[],\"has_more\":\"yes\"}",
        "{\"reports\":[],\"next_cursor\":5}", "{\"reports\":[],\"has_more\":true}", "{\"reports\":[]} trailing",
        "",
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        struct iccam_page pg;
        char err[256] = "";
        CHECK_INT(iccam_page_parse(pages[i], strlen(pages[i]), &pg, err, sizeof err), CP_BAD);
        CHECK(err[0] != 0);
    }
    struct iccam_page pg;
    char err[256];
    const char *ok = "{\"reports\":[],\"next_cursor\":null,\"has_more\":false}";
    REQUIRE(iccam_page_parse(ok, strlen(ok), &pg, err, sizeof err) == CP_OK);
    CHECK(pg.next_cursor == NULL);
    CHECK_INT(pg.count, 0);
    iccam_page_free(&pg);
}

/* The hotlines list upserts by code; invalid entries are quarantined. */
static void test_hotlines(void)
{
    wipe();
    const char *doc = "{\"hotlines\":[{\"code\":\"NL-EOKM\",\"name\":\"Example Hotline NL\",\"country\":\"NL\","
                      "\"website\":\"https://hotline.example.test\",\"email\":\"info@hotline.example.test\"},"
                      "{\"code\":\"DE-ECO\",\"name\":\"Example DE\",\"country\":\"DE\"},"
                      "{\"code\":\"XX-BAD\",\"name\":\"Bad\",\"country\":\"XX\"},{\"name\":\"no code\",\"country\":\"FR\"}]}";
    int stored = 0;
    char err[256];
    REQUIRE(db_begin(d) == CP_OK);
    CHECK_INT(iccam_hotlines_store(d, doc, strlen(doc), 0, &stored, err, sizeof err), CP_OK);
    CHECK(db_commit(d) == CP_OK);
    CHECK_INT(stored, 2);
    CHECK_INT(q_int("SELECT count(*) FROM import_rejects"), 2);
    CHECK(strstr(q_text("SELECT group_concat(reason, '|') FROM import_rejects"), "hotlines[2].country") != NULL);
    CHECK(strstr(q_text("SELECT group_concat(reason, '|') FROM import_rejects"), "hotlines[3].code: missing") != NULL);
    const char *doc2 = "{\"hotlines\":[{\"code\":\"NL-EOKM\",\"name\":\"Renamed\",\"country\":\"NL\"}]}";
    REQUIRE(db_begin(d) == CP_OK);
    CHECK_INT(iccam_hotlines_store(d, doc2, strlen(doc2), 0, &stored, err, sizeof err), CP_OK);
    CHECK(db_commit(d) == CP_OK);
    CHECK_STR(q_text("SELECT name FROM hotlines WHERE code='NL-EOKM'"), "Renamed");
    CHECK_INT(q_int("SELECT website IS NULL FROM hotlines WHERE code='NL-EOKM'"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM hotlines"), 2);
    REQUIRE(db_begin(d) == CP_OK);
    CHECK_INT(iccam_hotlines_store(d, "{", 1, 0, &stored, err, sizeof err), CP_BAD);
    db_rollback(d);
}

int main(void)
{
    char err[256];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", dir);
    d = db_open(path, 5000, err, sizeof err);
    if (!d || db_migrate(d, err, sizeof err) != CP_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    RUN(test_insert_columns);
    RUN(test_reimport_idempotent);
    RUN(test_newer_replaces);
    RUN(test_delete_tombstone);
    RUN(test_invalid_records);
    RUN(test_refused_records);
    RUN(test_bad_pages);
    RUN(test_hotlines);
    db_close(d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
