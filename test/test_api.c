/*
 * test_api - the dispatcher, auth, scope and report handlers driven through
 * api_dispatch() on a real SQLite file, without FastCGI: roles per route, CSRF,
 * query validation, the scope of each org kind, media metadata hiding, and the
 * 503 a busy database yields.
 */
#include "handlers.h"
#include "audit.h"
#include "orgs.h"
#include "test.h"
#include "testdb.h"

#include <stdlib.h>
#include <unistd.h>

static const struct api_route routes[] = {
    {"POST", "/api/v1/session", h_session_create, NEED_PUBLIC, 0, 0},
    {"DELETE", "/api/v1/session", h_session_delete, NEED_SIGNED_IN, 0, 0},
    {"GET", "/api/v1/me", h_me, NEED_SIGNED_IN, 0, 0},
    {"GET", "/api/v1/reports", h_reports_list, NEED_VIEWER, KIND_REPORT_READERS, 0},
    {"GET", "/api/v1/reports/{id}", h_report_get, NEED_VIEWER, KIND_REPORT_READERS, 0},
    {"GET", "/api/v1/stats", h_stats, NEED_VIEWER, KIND_REPORT_READERS, 0},
};

static struct config cfg;
static struct db *db;
static char dbpath[64];

/* One response, copied out of the context. */
struct resp {
    int status;
    char body[65536];
    char headers[2048];
};

/* Run one request through the dispatcher. cookie and csrf may be NULL. */
static void call(const char *method, const char *path, const char *query, const char *body, const char *cookie,
                 const char *csrf, struct resp *r)
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
    c.csrf_header = csrf;
    c.remote_addr = "127.0.0.1";
    api_dispatch(&c, routes, sizeof routes / sizeof *routes);
    r->status = c.status;
    snprintf(r->body, sizeof r->body, "%s", c.out.p ? c.out.p : "");
    snprintf(r->headers, sizeof r->headers, "%s", c.headers.p ? c.headers.p : "");
    ctx_end(&c);
}

/* Sign in and return "cport_session=..." in cookie and the CSRF token in csrf. */
static int sign_in(const char *email, char *cookie, char *csrf)
{
    struct resp r;
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"password-123\"}", email);
    call("POST", "/api/v1/session", NULL, body, NULL, NULL, &r);
    if (r.status != 200)
        return -1;
    const char *v = strstr(r.headers, "cport_session=");
    const char *end = v ? strchr(v, ';') : NULL;
    if (!end)
        return -1;
    snprintf(cookie, 128, "%.*s", (int)(end - v), v);
    cJSON *j = cJSON_Parse(r.body);
    snprintf(csrf, 64, "%s", cJSON_GetObjectItem(j, "csrf_token")->valuestring);
    cJSON_Delete(j);
    return 0;
}

/* "total" of a /reports or /stats answer. */
static int total_of(const char *body)
{
    cJSON *j = cJSON_Parse(body);
    const cJSON *t = j ? cJSON_GetObjectItem(j, "total") : NULL;
    int n = t ? (int)t->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

/* Insert one report (and one media item with a classification) directly. */
static void add_report(int id, const char *country, const char *reporting, const char *assessing, int baseline)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO reports(id, iccam_id, updated_at, reported_at, reporting_hotline, assessing_hotline, url,"
             " domain, site_type, host_country, status, media_count, class_bits, type_bits)"
             " VALUES (%d, 'R-%d', 1000, %d, '%s', '%s', 'https://x%d.example/p', 'x%d.example', 'forum', '%s',"
             " 'assessed', 1, %d, 1);"
             "INSERT INTO media(id, report_id, iccam_media_id, media_type, md5) VALUES (%d, %d, 'M-%d', 'image',"
             " x'00112233445566778899aabbccddeeff');"
             "INSERT INTO classifications(media_id, international, national, assessed_at, assessed_by)"
             " VALUES (%d, '%s', 'illegal', 1000, 'NL-EOKM');",
             id, id, 1000 + id, reporting, assessing, id, id, country, baseline ? 5 : 6, id, id, id, id,
             baseline ? "baseline" : "not_baseline");
    char err[256];
    if (db_exec(db, sql, err, sizeof err) != CP_OK)
        fprintf(stderr, "fixture: %s\n", err);
}

/* A database with orgs, users, agreements and six reports. */
static void fixture(void)
{
    char err[256];
    snprintf(dbpath, sizeof dbpath, "/tmp/cport-test-api-%d.db", (int)getpid());
    unlink(dbpath);
    db = db_open(dbpath, 200, err, sizeof err);
    db_migrate(db, err, sizeof err);
    int64_t id;
    orgs_add(db, "test", "lea", "NL Police", "NL", NULL, &id, err, sizeof err);
    orgs_add(db, "test", "lea", "DE Police", "DE", NULL, &id, err, sizeof err);
    orgs_add(db, "test", "lea", "BE Police", "BE", NULL, &id, err, sizeof err);
    orgs_add(db, "test", "hotline", "EOKM", "NL", "NL-EOKM", &id, err, sizeof err);
    orgs_add(db, "test", "interpol", "INTERPOL", "FR", NULL, &id, err, sizeof err);
    orgs_add(db, "test", "operator", "Operator", "NL", NULL, &id, err, sizeof err);
    struct orgs_agreement nl = {.lea = "NL Police", .hotline = "NL-EOKM", .jurisdiction = "NL", .media_metadata = 1};
    struct orgs_agreement de = {.lea = "DE Police", .hotline = "DE-ECO", .jurisdiction = "DE"};
    struct orgs_agreement be = {.lea = "BE Police", .hotline = "BE-X", .jurisdiction = "BE",
                                .valid_from = "2019-01-01", .valid_to = "2020-01-01"};
    orgs_agreement_add(db, "test", &nl, &id, err, sizeof err);
    orgs_agreement_add(db, "test", &de, &id, err, sizeof err);
    orgs_agreement_add(db, "test", &be, &id, err, sizeof err);
    static const char *const users[][3] = {
        {"NL Police", "nl@police.example", "viewer"}, {"DE Police", "de@police.example", "viewer"},
        {"BE Police", "be@police.example", "viewer"}, {"EOKM", "h@eokm.example", "analyst"},
        {"INTERPOL", "i@interpol.example", "analyst"}, {"Operator", "op@cport.example", "operator"}};
    for (size_t i = 0; i < sizeof users / sizeof *users; i++)
        if (orgs_user_add(db, "test", &cfg, users[i][0], users[i][1], users[i][2], "password-123", &id, err, sizeof err))
            fprintf(stderr, "fixture: %s\n", err);
    add_report(1, "NL", "DE-ECO", "NL-EOKM", 1);
    add_report(2, "NL", "US-NCMEC", "NL-EOKM", 0);
    add_report(3, "DE", "NL-EOKM", "DE-ECO", 1);
    add_report(4, "DE", "DE-ECO", "DE-ECO", 0);
    add_report(5, "BE", "FR-PE", "BE-X", 1);
    add_report(6, "US", "GB-IWF", "US-NCMEC", 0);
}

/* Each org kind sees exactly its scope. */
static void test_scope_per_kind(void)
{
    static const struct {
        const char *email;
        int total;
    } cases[] = {{"nl@police.example", 2}, {"de@police.example", 2}, {"be@police.example", 0},
                 {"h@eokm.example", 3},    {"i@interpol.example", 3}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cookie[128], csrf[64];
        REQUIRE(sign_in(cases[i].email, cookie, csrf) == 0);
        struct resp r;
        call("GET", "/api/v1/reports", NULL, NULL, cookie, NULL, &r);
        CHECK_INT(r.status, 200);
        if (total_of(r.body) != cases[i].total)
            fprintf(stderr, "  %s sees %d\n", cases[i].email, total_of(r.body));
        CHECK_INT(total_of(r.body), cases[i].total);
        call("GET", "/api/v1/stats", NULL, NULL, cookie, NULL, &r);
        CHECK_INT(total_of(r.body), cases[i].total);
    }
}

/* Out of scope is 404 like absent; operators get 403 on report routes. */
static void test_not_found_and_forbidden(void)
{
    char cookie[128], csrf[64];
    struct resp r;
    REQUIRE(sign_in("nl@police.example", cookie, csrf) == 0);
    call("GET", "/api/v1/reports/3", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 404);
    call("GET", "/api/v1/reports/999", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 404);
    call("GET", "/api/v1/reports/1", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"md5\":\"00112233445566778899aabbccddeeff\"") != NULL);
    REQUIRE(sign_in("op@cport.example", cookie, csrf) == 0);
    call("GET", "/api/v1/reports", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 403);
    call("GET", "/api/v1/reports", NULL, NULL, NULL, NULL, &r);
    CHECK_INT(r.status, 401);
}

/* Without media_metadata the detail has no hashes and classification filters are refused. */
static void test_media_metadata_hidden(void)
{
    char cookie[128], csrf[64];
    struct resp r;
    REQUIRE(sign_in("de@police.example", cookie, csrf) == 0);
    call("GET", "/api/v1/reports/3", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.body, "\"hashes\"") == NULL);
    CHECK(strstr(r.body, "\"classification\"") == NULL);
    CHECK(strstr(r.body, "\"media_metadata\":false") != NULL);
    call("GET", "/api/v1/reports", "international=baseline", NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 403);
}

/* Cookie-authenticated writes need the session's CSRF token. */
static void test_csrf(void)
{
    char cookie[128], csrf[64];
    struct resp r;
    REQUIRE(sign_in("nl@police.example", cookie, csrf) == 0);
    call("DELETE", "/api/v1/session", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 403);
    call("DELETE", "/api/v1/session", NULL, NULL, cookie, "wrong", &r);
    CHECK_INT(r.status, 403);
    call("DELETE", "/api/v1/session", NULL, NULL, cookie, csrf, &r);
    CHECK_INT(r.status, 204);
    call("GET", "/api/v1/me", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 401);
}

/* Bad credentials look the same whether or not the email exists. */
static void test_bad_credentials(void)
{
    struct resp a, b;
    call("POST", "/api/v1/session", NULL, "{\"email\":\"nl@police.example\",\"password\":\"nope-nope\"}", NULL, NULL, &a);
    call("POST", "/api/v1/session", NULL, "{\"email\":\"ghost@police.example\",\"password\":\"nope-nope\"}", NULL,
         NULL, &b);
    CHECK_INT(a.status, 401);
    CHECK_INT(b.status, 401);
    CHECK_STR(a.body, b.body);
    call("POST", "/api/v1/session", NULL, "{\"email\":", NULL, NULL, &a);
    CHECK_INT(a.status, 400);
}

/* Query validation names the field; routing answers 404/405. */
static void test_bad_input(void)
{
    char cookie[128], csrf[64];
    struct resp r;
    REQUIRE(sign_in("nl@police.example", cookie, csrf) == 0);
    static const char *const bad[][2] = {
        {"hosting_country=nl", "hosting_country"}, {"status=gone", "status"}, {"from=2026-02-30", "from"},
        {"limit=0", "limit"},  {"limit=501", "limit"},  {"cursor=%%%", "query"}, {"colour=red", "colour"},
        {"sort=size", "sort"}, {"q=a&q=b", "q"},        {"cursor=Zm9vOmJhcg", "cursor"},
        {"from=2026-03-01&to=2026-02-01", "to"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        call("GET", "/api/v1/reports", bad[i][0], NULL, cookie, NULL, &r);
        CHECK_INT(r.status, 400);
        char want[80];
        snprintf(want, sizeof want, "\"field\":\"%s\"", bad[i][1]);
        if (!strstr(r.body, want))
            fprintf(stderr, "  %s -> %s\n", bad[i][0], r.body);
        CHECK(strstr(r.body, want) != NULL);
    }
    call("GET", "/api/v1/nothing", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 404);
    call("PUT", "/api/v1/reports", NULL, NULL, cookie, csrf, &r);
    CHECK_INT(r.status, 405);
    call("GET", "/api/v1/reports/abc", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 404);
}

/* Keyset paging visits every visible report once. */
static void test_paging(void)
{
    char cookie[128], csrf[64], query[600] = "limit=1&sort=domain";
    struct resp r;
    REQUIRE(sign_in("h@eokm.example", cookie, csrf) == 0);
    int seen = 0;
    for (int page = 0; page < 10; page++) {
        call("GET", "/api/v1/reports", query, NULL, cookie, NULL, &r);
        REQUIRE(r.status == 200);
        cJSON *j = cJSON_Parse(r.body);
        seen += cJSON_GetArraySize(cJSON_GetObjectItem(j, "items"));
        const cJSON *next = cJSON_GetObjectItem(j, "next_cursor");
        if (cJSON_IsString(next))
            snprintf(query, sizeof query, "limit=1&sort=domain&cursor=%s", next->valuestring);
        cJSON_Delete(j);
        if (!cJSON_IsString(next))
            break;
    }
    CHECK_INT(seen, 3);
}

/* A database whose write lock is held answers 503 with Retry-After, not 500. */
static void test_busy(void)
{
    char err[256];
    struct db *other = db_open(dbpath, 200, err, sizeof err);
    REQUIRE(other && db_begin(other) == CP_OK);
    struct resp r;
    call("POST", "/api/v1/session", NULL, "{\"email\":\"nl@police.example\",\"password\":\"password-123\"}", NULL,
         NULL, &r);
    CHECK_INT(r.status, 503);
    CHECK(strstr(r.headers, "Retry-After: 1") != NULL);
    db_rollback(other);
    db_close(other);
    call("POST", "/api/v1/session", NULL, "{\"email\":\"nl@police.example\",\"password\":\"password-123\"}", NULL,
         NULL, &r);
    CHECK_INT(r.status, 200);
}

/* Sign-ins (ok and failed), refusals, sign-outs and admin changes are in the
 * audit trail, and the chain verifies. */
static void test_audit_entries(void)
{
    long long before = tq_int(db, "SELECT count(*) FROM audit");
    char cookie[128], csrf[64];
    struct resp r;
    REQUIRE(sign_in("op@cport.example", cookie, csrf) == 0);
    call("GET", "/api/v1/reports", NULL, NULL, cookie, NULL, &r);
    CHECK_INT(r.status, 403);
    call("DELETE", "/api/v1/session", NULL, NULL, cookie, "wrong", &r);
    CHECK_INT(r.status, 403);
    call("DELETE", "/api/v1/session", NULL, NULL, cookie, csrf, &r);
    CHECK_INT(r.status, 204);
    call("POST", "/api/v1/session", NULL, "{\"email\":\"ghost@police.example\",\"password\":\"nope-nope\"}", NULL,
         NULL, &r);
    CHECK_INT(r.status, 401);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM audit") - before, 5);
    CHECK_STR(tq_text(db, "SELECT group_concat(action, ' ') FROM (SELECT action FROM audit ORDER BY id DESC LIMIT 5)"),
              "session.fail session.delete access.denied access.denied session.create");
    CHECK_STR(tq_text(db, "SELECT actor FROM audit ORDER BY id DESC LIMIT 1"), "ghost@police.example");
    CHECK_STR(tq_text(db, "SELECT detail FROM audit WHERE action = 'access.denied' ORDER BY id DESC LIMIT 1"),
              "{\"reason\":\"csrf\"}");
    /* The fixture's org, user and agreement additions are there too. */
    CHECK(tq_int(db, "SELECT count(*) FROM audit WHERE action IN ('org.add','user.add','agreement.add')") == 15);
    char err[256];
    int64_t n, bad;
    CHECK_INT(audit_verify(db, &n, &bad, err, sizeof err), CP_OK);
    CHECK_INT(n, tq_int(db, "SELECT count(*) FROM audit"));
}

/* Sign in as email with password; the status. */
static int try_sign_in(const char *email, const char *password)
{
    struct resp r;
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    call("POST", "/api/v1/session", NULL, body, NULL, NULL, &r);
    return r.status;
}

/* Five wrong passwords lock the account for ten minutes; the answer does not
 * change, even for the right password; after the time it opens again. */
static void test_lockout(void)
{
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)util_now());
    setenv("CPORT_NOW", now, 1);
    for (int i = 0; i < 4; i++)
        CHECK_INT(try_sign_in("be@police.example", "wrong-password"), 401);
    CHECK_INT(try_sign_in("be@police.example", "password-123"), 200); /* four failures: not locked, and reset */
    for (int i = 0; i < 5; i++)
        CHECK_INT(try_sign_in("be@police.example", "wrong-password"), 401);
    CHECK_INT(try_sign_in("be@police.example", "password-123"), 401);
    CHECK(tq_int(db, "SELECT count(*) FROM audit WHERE action = 'user.locked' AND actor = 'be@police.example'") == 1);
    CHECK_STR(tq_text(db, "SELECT detail FROM audit ORDER BY id DESC LIMIT 1"), "{\"reason\":\"locked\"}");
    snprintf(now, sizeof now, "%lld", (long long)util_now() + 601);
    setenv("CPORT_NOW", now, 1);
    CHECK_INT(try_sign_in("be@police.example", "password-123"), 200);
    unsetenv("CPORT_NOW");
}

/* An address with too many recent failures gets 429 before any password check. */
static void test_ip_limit(void)
{
    int saved = cfg.signin_ip_limit;
    cfg.signin_ip_limit = (int)tq_int(db, "SELECT count(*) FROM signin_failures WHERE ip = '127.0.0.1'") + 2;
    CHECK_INT(try_sign_in("ghost@police.example", "wrong-password"), 401);
    CHECK_INT(try_sign_in("ghost@police.example", "wrong-password"), 401);
    CHECK_INT(try_sign_in("nl@police.example", "password-123"), 429);
    cfg.signin_ip_limit = saved;
    CHECK_INT(try_sign_in("nl@police.example", "password-123"), 200);
}

int main(void)
{
    char err[256];
    config_load(&cfg, NULL, err, sizeof err);
    cfg.mfa_required = 0;      /* the fixture users have no TOTP; test_totp covers it */
    cfg.pwhash_mem_kib = 8192; /* keep the test quick */
    cfg.pwhash_ops = 1;
    fixture();
    RUN(test_scope_per_kind);
    RUN(test_not_found_and_forbidden);
    RUN(test_media_metadata_hidden);
    RUN(test_csrf);
    RUN(test_bad_credentials);
    RUN(test_bad_input);
    RUN(test_paging);
    RUN(test_busy);
    RUN(test_audit_entries);
    RUN(test_lockout);
    RUN(test_ip_limit);
    CHECK_INT(audit_flush(db), CP_OK); /* the audited reads, as a worker would */
    db_close(db);
    unlink(dbpath);
    char p[80];
    snprintf(p, sizeof p, "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dbpath);
    unlink(p);
    return TEST_DONE();
}
