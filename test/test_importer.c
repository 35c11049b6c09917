/*
 * test_importer - import runs end to end: file:// feeds written into a temp dir
 * (insert, idempotent re-run, newer versions, withdrawals, quarantined records,
 * malformed and oversized pages stopping with the cursor unchanged, max_pages,
 * the lock, run bookkeeping) and http:// against a tiny scripted server forked
 * by the test (bearer token, cursor and limit, 5xx and 429 retries, 401, size
 * cap, truncated body, giving up).
 */
#include "db.h"
#include "importer.h"
#include "test.h"
#include "testdb.h"
#include "util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct db *d;
static char dir[] = "/tmp/cport-test-importer-XXXXXX";
static char feed_dir[256], feed_url[300], db_path[256];

/* Write text to dir/name. */
static void write_file(const char *in_dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", in_dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A small valid report with two media items; day sets updated_at, cls the first
 * media item's international classification. Appended to b. */
static void add_report(struct buf *b, const char *id, int day, const char *cls)
{
    buf_printf(b,
               "{\"iccam_id\":\"%s\",\"updated_at\":\"2026-03-%02dT00:00:00Z\",\"reported_at\":\"2026-02-01\","
               "\"reporting_hotline\":\"DE-ECO\",\"url\":\"https://%s.example.test/p\",\"site_type\":\"forum\","
               "\"status\":\"received\",\"hosting\":{\"country\":\"NL\",\"ip\":\"198.51.100.4\"},"
               "\"media\":[{\"iccam_media_id\":\"%s-a\",\"media_type\":\"image\",\"hashes\":{\"md5\":"
               "\"00112233445566778899aabbccddeeff\"},\"classification\":{\"international\":\"%s\","
               "\"assessed_by\":\"NL-EOKM\",\"assessed_at\":\"2026-03-%02dT00:00:00Z\"}},"
               "{\"iccam_media_id\":\"%s-b\",\"media_type\":\"video\"}]}",
               id, day, id, id, cls, day, id);
}

/* A page text holding the given records (already JSON, comma-joined). */
static char *page_of(const char *records, const char *next, int more)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "{\"reports\":[%s],\"next_cursor\":%s%s%s,\"has_more\":%s}", records, next ? "\"" : "",
               next ? next : "null", next ? "\"" : "", more ? "true" : "false");
    return b.p;
}

/* Write page file name with n reports id<prefix>-1..n at the given day. */
static void write_page(const char *name, const char *prefix, int n, int day)
{
    struct buf b;
    buf_init(&b);
    for (int i = 1; i <= n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        if (i > 1)
            buf_adds(&b, ",");
        add_report(&b, id, day, "baseline");
    }
    char *p = page_of(b.p, NULL, 0);
    write_file(feed_dir, name, p);
    free(p);
    buf_free(&b);
}

/* One-value probes of this file's database (test/testdb.h). */
#define q_int(sql) tq_int(d, sql)
#define q_text(sql) tq_text(d, sql)

/* Empty the feed directory and every table an import writes. */
static void reset(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*", feed_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot empty %s\n", feed_dir);
    db_exec(d,
            "DELETE FROM classifications; DELETE FROM media; DELETE FROM reports; DELETE FROM report_tombstones;"
            "DELETE FROM import_rejects; DELETE FROM import_runs; DELETE FROM import_state; DELETE FROM hotlines;"
            "INSERT INTO reports_fts(reports_fts) VALUES ('delete-all');",
            NULL, 0);
}

static int progress_calls;

/* Counts progress callbacks. */
static void on_progress(void *arg, const struct importer_result *r)
{
    (void)arg;
    (void)r;
    progress_calls++;
}

/* Run an import of feed with default options plus max_pages. */
static int run(const char *feed, int max_pages, struct importer_result *r, char *err, size_t errlen)
{
    struct importer_opts o = {0};
    o.feed = feed;
    o.max_pages = max_pages;
    o.progress = on_progress;
    return importer_run(d, &o, r, err, errlen);
}

/* The stored cursor of the file feed. */
static const char *cursor(void)
{
    return q_text("SELECT cursor FROM import_state");
}

/* Pages import in order, the cursor is the last page name, hotlines come along,
 * the run is recorded; a second run changes nothing. */
static void test_file_import_and_rerun(void)
{
    reset();
    write_page("reports-0001.json", "A", 3, 1);
    write_page("reports-0002.json", "B", 2, 2);
    write_file(feed_dir, "hotlines.json",
               "{\"hotlines\":[{\"code\":\"NL-EOKM\",\"name\":\"Example NL\",\"country\":\"NL\"}]}");
    write_file(feed_dir, "notes.txt", "not a page");
    struct importer_result r;
    char err[256] = "";
    progress_calls = 0;
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 2);
    CHECK_INT(r.inserted, 5);
    CHECK(progress_calls >= 1); /* once per committed batch of pages */
    CHECK(r.run_id > 0);
    CHECK_STR(cursor(), "reports-0002.json");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 5);
    CHECK_INT(q_int("SELECT count(*) FROM media"), 10);
    CHECK_INT(q_int("SELECT count(*) FROM hotlines"), 1);
    CHECK_STR(q_text("SELECT status||pages||inserted||(ended_at IS NOT NULL) FROM import_runs"), "ok251");
    /* again: no pages after the cursor */
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 0);
    CHECK_INT(q_int("SELECT count(*) FROM import_runs WHERE status='ok'"), 2);
    /* from scratch again (cursor forgotten): every record unchanged */
    db_exec(d, "DELETE FROM import_state", NULL, 0);
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 2);
    CHECK_INT(r.unchanged, 5);
    CHECK_INT(r.inserted + r.updated + r.deleted, 0);
    CHECK_INT(q_int("SELECT count(*) FROM classifications"), 5);
}

/* A later page with newer versions and a withdrawal; page numbers sort
 * numerically; max_pages stops early and the next run resumes. */
static void test_file_updates_and_max_pages(void)
{
    reset();
    write_page("reports-0001.json", "A", 2, 1);
    struct buf b;
    buf_init(&b);
    add_report(&b, "A-1", 5, "not_baseline");
    buf_adds(&b, ",{\"iccam_id\":\"A-2\",\"updated_at\":\"2026-03-05T00:00:00Z\",\"deleted\":true}");
    char *p = page_of(b.p, NULL, 0);
    write_file(feed_dir, "reports-0002.json", p);
    free(p);
    buf_free(&b);
    write_page("reports-10000.json", "Z", 1, 9);
    struct importer_result r;
    char err[256] = "";
    CHECK_INT(run(feed_url, 1, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 1);
    CHECK_STR(cursor(), "reports-0001.json");
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 2);
    CHECK_INT(r.updated, 1);
    CHECK_INT(r.deleted, 1);
    CHECK_INT(r.inserted, 1);
    CHECK_STR(cursor(), "reports-10000.json");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 2);
    CHECK_INT(q_int("SELECT count(*) FROM report_tombstones WHERE iccam_id='A-2'"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM classifications c JOIN media m ON m.id=c.media_id"
                    " WHERE m.iccam_media_id='A-1-a'"),
              2);
    CHECK_STR(q_text("SELECT international FROM classifications c JOIN media m ON m.id=c.media_id"
                     " WHERE m.iccam_media_id='A-1-a' AND is_current=1"),
              "not_baseline");
    CHECK_INT(q_int("SELECT class_bits FROM reports WHERE iccam_id='A-1'"), 2);
}

/* Invalid records are quarantined under the run; the rest of the page imports. */
static void test_file_bad_records(void)
{
    reset();
    struct buf b;
    buf_init(&b);
    add_report(&b, "G-1", 1, "baseline");
    buf_adds(&b, ",{\"iccam_id\":\"X-1\",\"updated_at\":\"2026-03-01T00:00:00Z\",\"reported_at\":\"2026-02-01\","
                 "\"url\":\"https://x.example.test/\",\"site_type\":\"forum\",\"status\":\"received\","
                 "\"hosting\":{\"country\":\"ZZ\"}},");
    buf_adds(&b, "{\"updated_at\":\"2026-03-01T00:00:00Z\"},");
    add_report(&b, "G-2", 1, "baseline");
    char *p = page_of(b.p, NULL, 0);
    write_file(feed_dir, "reports-0001.json", p);
    free(p);
    buf_free(&b);
    struct importer_result r;
    char err[256] = "";
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.inserted, 2);
    CHECK_INT(r.rejected, 2);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM import_rejects WHERE run_id=%lld", (long long)r.run_id);
    CHECK_INT(q_int(sql), 2);
    CHECK_STR(q_text("SELECT reason FROM import_rejects WHERE iccam_id='X-1'"),
              "hosting.country: not an ISO 3166-1 alpha-2 code");
    CHECK_INT(q_int("SELECT rejected FROM import_runs"), 2);
}

/* A malformed or oversized page stops the run: earlier pages stay, the cursor
 * stays at the last good page, the run is recorded as failed; once fixed the
 * next run continues. */
static void test_file_bad_page_stops(void)
{
    reset();
    write_page("reports-0001.json", "A", 2, 1);
    write_file(feed_dir, "reports-0002.json", "{\"reports\":[{\"iccam_id\":\"B-1\"");
    write_page("reports-0003.json", "C", 2, 3);
    struct importer_result r;
    char err[256] = "";
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "reports-0002.json") && strstr(err, "not valid JSON"));
    CHECK_INT(r.pages, 1);
    CHECK_STR(cursor(), "reports-0001.json");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 2);
    CHECK_STR(q_text("SELECT status FROM import_runs ORDER BY id DESC"), "failed");
    CHECK(strstr(q_text("SELECT error FROM import_runs ORDER BY id DESC"), "not valid JSON") != NULL);
    /* oversized */
    write_page("reports-0002.json", "B", 40, 2);
    struct importer_opts o = {0};
    o.feed = feed_url;
    o.max_page_bytes = 4096;
    CHECK_INT(importer_run(d, &o, &r, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "larger than") != NULL);
    CHECK_STR(cursor(), "reports-0001.json");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 2);
    /* fixed */
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(r.pages, 2);
    CHECK_STR(cursor(), "reports-0003.json");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 44);
}

/* A second run while one holds the lock is refused; a run that died leaves a
 * "running" row the next run closes. */
static void test_lock(void)
{
    reset();
    write_page("reports-0001.json", "A", 1, 1);
    char lock[300];
    snprintf(lock, sizeof lock, "%s.import.lock", db_path);
    int fd = open(lock, O_RDWR | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);
    struct importer_result r;
    char err[256] = "";
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_CONFLICT);
    CHECK(strstr(err, "another import is running") != NULL);
    CHECK_INT(q_int("SELECT count(*) FROM import_runs"), 0);
    CHECK(strcmp(cursor(), "(none)") == 0);
    close(fd);
    db_exec(d, "INSERT INTO import_runs(feed, started_at) VALUES ('x', 1)", NULL, 0);
    char sql[400];
    snprintf(sql, sizeof sql, "UPDATE import_runs SET feed='%s'", feed_url);
    db_exec(d, sql, NULL, 0);
    CHECK_INT(run(feed_url, 0, &r, err, sizeof err), CP_OK);
    CHECK_INT(q_int("SELECT count(*) FROM import_runs WHERE status='failed' AND error LIKE 'interrupted%'"), 1);
    CHECK_INT(q_int("SELECT count(*) FROM import_runs WHERE status='ok'"), 1);
}

/* Option errors: unknown scheme, plain http off loopback, relative file path. */
static void test_bad_options(void)
{
    struct importer_result r;
    char err[256];
    CHECK_INT(run("ftp://feed.example.test", 0, &r, err, sizeof err), CP_BAD);
    CHECK_INT(run("http://feed.example.test/v1", 0, &r, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "loopback") != NULL);
    CHECK_INT(run("file://relative/dir", 0, &r, err, sizeof err), CP_BAD);
    CHECK_INT(run("", 0, &r, err, sizeof err), CP_BAD);
}

/* ---- a scripted HTTP server in a child process ---- */

static pid_t srv_pid;
static int srv_port;
static char srv_log[300];

/* Serve the responses in order, one per connection (the last repeats), logging
 * each request head to srv_log. A response starting with "TRUNC:" is sent as is
 * minus the prefix and the connection then closed mid-body. */
static void serve(int ls, char **resp, int n)
{
    for (int i = 0;; i++) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        char req[8192];
        size_t got = 0;
        while (got < sizeof req - 1) {
            ssize_t k = read(c, req + got, sizeof req - 1 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
            req[got] = 0;
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        req[got] = 0;
        FILE *f = fopen(srv_log, "a");
        if (f) {
            fprintf(f, "%s", req);
            fclose(f);
        }
        const char *r = resp[i < n ? i : n - 1];
        if (strncmp(r, "TRUNC:", 6) == 0)
            r += 6;
        size_t len = strlen(r), off = 0;
        while (off < len) {
            ssize_t k = write(c, r + off, len - off);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        close(c);
    }
}

/* Start the server with a NULL-terminated list of raw responses. */
static void srv_start(char **resp)
{
    int n = 0;
    while (resp[n])
        n++;
    snprintf(srv_log, sizeof srv_log, "%s/http.log", dir);
    unlink(srv_log);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
        perror("server");
        exit(1);
    }
    srv_port = ntohs(a.sin_port);
    srv_pid = fork();
    if (srv_pid == 0) {
        serve(ls, resp, n);
        _exit(0);
    }
    close(ls);
}

/* Stop the server child. */
static void srv_stop(void)
{
    kill(srv_pid, SIGKILL);
    waitpid(srv_pid, NULL, 0);
}

/* A 200 response carrying body (malloc'd). */
static char *ok_resp(const char *body)
{
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
               strlen(body), body);
    return b.p;
}

/* The whole request log. */
static char *srv_requests(void)
{
    static char out[65536];
    out[0] = 0;
    FILE *f = fopen(srv_log, "r");
    if (f) {
        size_t n = fread(out, 1, sizeof out - 1, f);
        out[n] = 0;
        fclose(f);
    }
    return out;
}

#define R404 "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define R503 "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define R429 "HTTP/1.1 429 Slow down\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define R401 "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

/* Seconds on a monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Run an import against the scripted server. */
static int http_run(int retries, long max_bytes, struct importer_result *r, char *err, size_t errlen)
{
    char url[100], tok[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv_port);
    snprintf(tok, sizeof tok, "%s/token", dir);
    write_file(dir, "token", "  s3cret-token \n");
    struct importer_opts o = {0};
    o.feed = url;
    o.token_file = tok;
    o.limit = 50;
    o.max_retries = retries;
    o.max_page_bytes = max_bytes;
    o.timeout_s = 10;
    return importer_run(d, &o, r, err, errlen);
}

/* Cursor and limit in the query, the bearer token in the header, 5xx retried,
 * hotlines 404 tolerated, next_cursor followed until has_more is false. */
static void test_http_pages_and_retry(void)
{
    reset();
    struct buf b1, b2;
    buf_init(&b1), buf_init(&b2);
    add_report(&b1, "H-1", 1, "baseline");
    add_report(&b2, "H-2", 1, "baseline");
    char *p1 = page_of(b1.p, "cur/1 x", 1), *p2 = page_of(b2.p, "cur-2", 0);
    char *r1 = ok_resp(p1), *r2 = ok_resp(p2);
    char *script[] = {R404, R503, R503, r1, r2, NULL};
    srv_start(script);
    struct importer_result r;
    char err[256] = "";
    CHECK_INT(http_run(3, 0, &r, err, sizeof err), CP_OK);
    srv_stop();
    CHECK_INT(r.pages, 2);
    CHECK_INT(r.inserted, 2);
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT cursor FROM import_state WHERE feed='http://127.0.0.1:%d/'", srv_port);
    CHECK_STR(q_text(sql), "cur-2");
    const char *log = srv_requests();
    CHECK(strstr(log, "GET /v1/hotlines ") != NULL);
    CHECK(strstr(log, "GET /v1/reports?limit=50 ") != NULL);
    CHECK(strstr(log, "GET /v1/reports?limit=50&cursor=cur%2F1%20x ") != NULL);
    CHECK(strstr(log, "Authorization: Bearer s3cret-token\r\n") != NULL);
    free(p1), free(p2), free(r1), free(r2), buf_free(&b1), buf_free(&b2);
}

/* 429 honours Retry-After; 401 stops at once with the cursor unchanged; retries
 * run out; an oversized and a truncated body stop the run. */
static void test_http_failures(void)
{
    reset();
    struct buf b;
    buf_init(&b);
    add_report(&b, "H-1", 1, "baseline");
    char *p = page_of(b.p, "c1", 1);
    char *r1 = ok_resp(p);
    struct importer_result r;
    char err[256] = "";
    char sql[400];

    char *s429[] = {R404, R429, r1, R401, NULL};
    srv_start(s429);
    double t0 = now_s();
    CHECK_INT(http_run(3, 0, &r, err, sizeof err), CP_DENIED);
    srv_stop();
    CHECK(now_s() - t0 >= 0.9);
    CHECK_INT(r.pages, 1);
    CHECK(strstr(err, "HTTP 401") != NULL);
    snprintf(sql, sizeof sql, "SELECT cursor FROM import_state WHERE feed='http://127.0.0.1:%d/'", srv_port);
    CHECK_STR(q_text(sql), "c1");
    CHECK_STR(q_text("SELECT status FROM import_runs ORDER BY id DESC"), "failed");

    char *s503[] = {R404, R503, NULL};
    srv_start(s503);
    CHECK_INT(http_run(1, 0, &r, err, sizeof err), CP_ERR);
    srv_stop();
    CHECK(strstr(err, "giving up after 1 retries") != NULL);

    char *big = malloc(20000);
    memset(big, ' ', 19999);
    big[19999] = 0;
    char *rbig = ok_resp(big);
    char *sbig[] = {R404, rbig, NULL};
    srv_start(sbig);
    CHECK_INT(http_run(1, 10000, &r, err, sizeof err), CP_BAD);
    srv_stop();
    CHECK(strstr(err, "larger than") != NULL);
    /* no Content-Length: the body is cut off while streaming */
    struct buf nolen;
    buf_init(&nolen);
    buf_printf(&nolen, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", big);
    char *snolen[] = {R404, nolen.p, NULL};
    srv_start(snolen);
    CHECK_INT(http_run(1, 10000, &r, err, sizeof err), CP_BAD);
    srv_stop();
    CHECK(strstr(err, "larger than") != NULL);

    char *trunc = "TRUNC:HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n{\"reports\":[";
    char *strunc[] = {R404, trunc, NULL};
    srv_start(strunc);
    CHECK_INT(http_run(0, 0, &r, err, sizeof err), CP_BAD);
    srv_stop();
    CHECK(strstr(err, "truncated") != NULL);
    CHECK_STR(q_text(sql), "c1");
    CHECK_INT(q_int("SELECT count(*) FROM reports"), 1);
    free(big), free(rbig), buf_free(&nolen), free(p), free(r1), buf_free(&b);
}

int main(void)
{
    char err[256];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(feed_dir, sizeof feed_dir, "%s/feed", dir);
    snprintf(feed_url, sizeof feed_url, "file://%s", feed_dir);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
    mkdir(feed_dir, 0700);
    d = db_open(db_path, 5000, err, sizeof err);
    if (!d || db_migrate(d, err, sizeof err) != CP_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    RUN(test_file_import_and_rerun);
    RUN(test_file_updates_and_max_pages);
    RUN(test_file_bad_records);
    RUN(test_file_bad_page_stops);
    RUN(test_lock);
    RUN(test_bad_options);
    RUN(test_http_pages_and_retry);
    RUN(test_http_failures);
    db_close(d);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
