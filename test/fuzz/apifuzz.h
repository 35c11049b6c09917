/*
 * apifuzz.h - the API fixture the request fuzz targets share (fuzz_query,
 * fuzz_cookie, fuzz_body): on the first input a real cport database (in
 * memory, with a temp directory for the data and key folders; migrated by
 * db_migrate; organisations, agreements, users made by lib/orgs; reports
 * stored through lib/iccam as an import would; a hash list through
 * lib/hashlist), a browser session opened by auth_login and API tokens
 * made by auth_token_create. Every request then goes through api_dispatch with
 * the real route table (fcgi/routes.c), exactly as cport-fcgi hands it over.
 *
 * The fixture stays the same from input to input: whenever a request changed a
 * row (a sign-in, a refusal on the audit trail, a write route), the database
 * is put back from a copy taken after setup (SQLite's backup API), so a write
 * does not leak into the next input. Audited reads only add audit rows, which
 * no later request of these callers can see; they are undone every thousand
 * requests, so the database never grows far (a put-back reloads the schema
 * and costs a few milliseconds). Log lines go to /dev/null while a request
 * runs (CPORT_FUZZ_LOG=1 keeps them and prints every answer's status and
 * start, to see what the seeds reach).
 *
 * Besides memory errors and leaks, two properties of every answer are checked:
 * no input may produce a 500 (hostile input must be refused, never turn into an
 * internal error), and every JSON answer must parse. A breach aborts, so the
 * fuzzer keeps the input as a crash.
 */
#ifndef CPORT_FUZZ_APIFUZZ_H
#define CPORT_FUZZ_APIFUZZ_H

#include "audit.h"
#include "handlers.h"
#include "hashlist.h"
#include "iccam.h"
#include "orgs.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AF_IP "192.0.2.1" /* documentation address (RFC 5737) */
#define AF_PASSWORD "password-123"
#define AF_ANALYST "analyst@police-nl.example"  /* NL LEA analyst, media metadata shared */
#define AF_VIEWER "viewer@police-de.example"    /* DE LEA viewer, no media metadata */

/* The fixture: one per process, made on the first input. */
static struct {
    int ready;
    struct config cfg;
    struct db *db;
    sqlite3 *tmpl;          /* the database as set up, to put it back from */
    long long changes;      /* sqlite3_total_changes at the last put-back */
    int audit_only;         /* requests since then that only added audit rows */
    char dir[256];
    char session[AUTH_TOKEN_LEN], csrf[64]; /* AF_ANALYST's browser session */
    char token[AUTH_TOKEN_LEN];             /* AF_ANALYST's API token */
    char viewer_token[AUTH_TOKEN_LEN];      /* AF_VIEWER's API token */
    FILE *quiet;                            /* where log lines go during a request */
} AF;

/* A fixture step that must work: the harness is useless without it. */
static inline void af_must(int ok, const char *what, const char *err)
{
    if (!ok) {
        fprintf(stderr, "apifuzz: setup failed: %s: %s\n", what, err ? err : "");
        abort();
    }
}

/* nftw callback removing everything under the temp directory. */
static inline int af_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* At exit: write what is queued, close, remove the temp directory, so the
 * replay under LeakSanitizer ends clean and /tmp keeps nothing. */
static inline void af_cleanup(void)
{
    if (AF.db) {
        audit_flush(AF.db);
        db_close(AF.db);
        AF.db = NULL;
    }
    if (AF.tmpl)
        sqlite3_close(AF.tmpl);
    AF.tmpl = NULL;
    if (AF.quiet)
        fclose(AF.quiet);
    AF.quiet = NULL;
    if (AF.dir[0])
        nftw(AF.dir, af_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* One synthetic report (ICCAM-FEED.md shape) for fixture row i, stored
 * through the importer's own path so the FTS index and bits are real. */
static inline void af_report(int i)
{
    static const char *const countries[] = {"NL", "NL", "DE", "BE", "US", "NL"};
    static const char *const sites[] = {"forum", "image_host", "website", "blog", "file_host", "other"};
    static const char *const statuses[] = {"assessed", "ntd_sent", "received", "closed", "forwarded", "content_removed"};
    static const char *const hotlines[] = {"NL-EOKM", "DE-ECO", "NL-EOKM", "BE-X", "US-NCMEC", "NL-EOKM"};
    char rec[2048], err[256];
    int k = i % 6;
    snprintf(rec, sizeof rec,
             "{\"iccam_id\":\"R-FUZZ-%04d\",\"updated_at\":\"2026-0%d-1%dT08:00:00Z\","
             "\"reported_at\":\"2026-0%d-0%dT10:15:00Z\",\"reporting_hotline\":\"%s\",\"assessing_hotline\":\"%s\","
             "\"url\":\"https://gallery%d.example.test/album/%d?page=2\",\"site_type\":\"%s\","
             "\"hosting\":{\"country\":\"%s\",\"ip\":\"192.0.2.%d\",\"asn\":6450%d,\"provider\":\"Example Hosting %d\"},"
             "\"commercial\":%s,\"status\":\"%s\",\"timeline\":{\"assessed_at\":\"2026-01-02T11:00:00Z\"},"
             "\"media\":[{\"iccam_media_id\":\"M-FUZZ-%04d\",\"media_type\":\"%s\",\"mime\":\"image/jpeg\","
             "\"bytes\":%d,\"width\":64,\"height\":48,"
             "\"hashes\":{\"md5\":\"%032x\",\"pdq\":\"%016x%016x%016x%016x\",\"pdq_quality\":90},"
             "\"classification\":{\"international\":\"%s\",\"national\":\"illegal\",\"assessed_at\":"
             "\"2026-01-02T11:00:00Z\",\"assessed_by\":\"%s\"}}]}",
             i, 1 + k, k, 1 + k, 1 + k, hotlines[(k + 1) % 6], hotlines[k], i, i, sites[k], countries[k], 10 + i,
             k, i, i % 2 ? "true" : "false", statuses[k], i, i % 3 ? "image" : "video", 1000 + i, 0xf00d + i,
             0x1234 * i, 0x5678 + i, 0x9abc * i, 0xdef0 + i, i % 2 ? "baseline" : "not_baseline", hotlines[k]);
    struct iccam_counts n = {0};
    af_must(db_begin(AF.db) == CP_OK, "begin", NULL);
    af_must(iccam_record_store(AF.db, rec, 0, &n, err, sizeof err) == CP_OK && n.inserted == 1, "report", err);
    af_must(db_commit(AF.db) == CP_OK, "commit", NULL);
}

/* A hash list of the NL police with an MD5 that report 1's media has and a
 * PDQ close to report 2's, so /match finds something. */
static inline void af_hashlist(int64_t org_id)
{
    char err[256];
    int64_t id;
    struct audit_entry by = {.actor = "fuzz-setup", .ip = AF_IP};
    af_must(hashlist_create(AF.db, &by, org_id, "Fuzz list", "synthetic", "none", "normal", &id, err, sizeof err) ==
                CP_OK,
            "hash list", err);
    struct hashfmt_entry e[2];
    memset(e, 0, sizeof e);
    e[0].alg = HF_MD5;
    e[0].len = 16;
    af_must(util_hex_decode("0000000000000000000000000000f00e", e[0].value, 16) == 0, "md5", NULL);
    e[1].alg = HF_PDQ;
    e[1].len = 32;
    af_must(util_hex_decode("0000000000002468000000000000567a0000000000013578000000000000def3", e[1].value, 32) == 0,
            "pdq", NULL);
    for (int i = 0; i < 2; i++)
        e[i].victim_identified = e[i].offender_identified = e[i].is_distributed = -1;
    struct hashlist_counts n;
    af_must(hashlist_put(AF.db, &by, id, e, 2, "fuzz", &n, err, sizeof err) == CP_OK, "hash entries", err);
}

/* Make the fixture once: database, rows, session, tokens, the copy to put
 * the database back from. */
static inline void af_setup(void)
{
    if (AF.ready)
        return;
    AF.ready = 1;
    char err[512], path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(AF.dir, sizeof AF.dir, "%s/cport-fuzz-api-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    af_must(mkdtemp(AF.dir) != NULL, "mkdtemp", AF.dir);
    atexit(af_cleanup);
    /* An empty configuration file: the defaults, whatever CPORT_CONFIG says. */
    snprintf(path, sizeof path, "%s/cport.conf", AF.dir);
    FILE *f = fopen(path, "w");
    af_must(f != NULL, "config", path);
    fclose(f);
    af_must(config_load(&AF.cfg, path, err, sizeof err) == 0, "config", err);
    snprintf(AF.cfg.db, sizeof AF.cfg.db, "%s/cport.db", AF.dir);
    AF.cfg.mfa_required = 0;     /* fixture users have no TOTP */
    AF.cfg.pwhash_ops = 1;       /* Argon2id at its floor: a sign-in costs microseconds */
    AF.cfg.pwhash_mem_kib = 8;
    AF.cfg.session_idle_s = 1 << 30; /* the template's session must outlive a long run */
    AF.cfg.session_max_s = 1 << 30;
    /* The database itself lives in memory: putting it back after a write is
     * then a copy of its pages, not file I/O. cfg.db still names the temp
     * directory, where the data and key folders derived from it go. */
    AF.db = db_open(":memory:", 1000, err, sizeof err);
    af_must(AF.db != NULL, "open", err);
    af_must(db_migrate(AF.db, err, sizeof err) == CP_OK, "migrate", err);

    int64_t id, nl_police;
    static const char *const orgs[][4] = {{"lea", "NL Police", "NL", NULL},       {"lea", "DE Police", "DE", NULL},
                                          {"hotline", "EOKM", "NL", "NL-EOKM"},   {"hotline", "ECO", "DE", "DE-ECO"},
                                          {"interpol", "INTERPOL", "FR", NULL},   {"operator", "Operator", "NL", NULL}};
    for (size_t i = 0; i < sizeof orgs / sizeof *orgs; i++)
        af_must(orgs_add(AF.db, "fuzz-setup", orgs[i][0], orgs[i][1], orgs[i][2], orgs[i][3], &id, err, sizeof err) ==
                    CP_OK,
                "org", err);
    struct orgs_agreement nl = {.lea = "NL Police", .hotline = "NL-EOKM", .jurisdiction = "NL,BE",
                                .media_metadata = 1, .media_content = 1};
    struct orgs_agreement de = {.lea = "DE Police", .hotline = "DE-ECO", .jurisdiction = "DE"};
    af_must(orgs_agreement_add(AF.db, "fuzz-setup", &nl, &id, err, sizeof err) == CP_OK, "agreement", err);
    af_must(orgs_agreement_add(AF.db, "fuzz-setup", &de, &id, err, sizeof err) == CP_OK, "agreement", err);
    static const char *const users[][3] = {{"NL Police", AF_ANALYST, "analyst"},
                                           {"DE Police", AF_VIEWER, "viewer"},
                                           {"EOKM", "analyst@hotline-nl.example", "org_admin"},
                                           {"INTERPOL", "analyst@interpol.example", "analyst"},
                                           {"Operator", "operator@cport.example", "operator"}};
    for (size_t i = 0; i < sizeof users / sizeof *users; i++)
        af_must(orgs_user_add(AF.db, "fuzz-setup", &AF.cfg, users[i][0], users[i][1], users[i][2], AF_PASSWORD, &id,
                              err, sizeof err) == CP_OK,
                "user", err);
    char kind[16];
    af_must(orgs_find(AF.db, "NL Police", &nl_police, kind, sizeof kind) == CP_OK, "find", NULL);
    for (int i = 1; i <= 12; i++)
        af_report(i);
    af_hashlist(nl_police);

    struct caller who;
    af_must(auth_login(AF.db, &AF.cfg, AF_ANALYST, AF_PASSWORD, NULL, AF_IP, "cport-fuzz", "fuzz-setup", AF.session,
                       &who) == CP_OK,
            "sign-in", NULL);
    snprintf(AF.csrf, sizeof AF.csrf, "%s", who.csrf);
    af_must(auth_token_create(AF.db, "fuzz-setup", AF_ANALYST, "fuzz", 0, AF.token, err, sizeof err) == CP_OK, "token",
            err);
    af_must(auth_token_create(AF.db, "fuzz-setup", AF_VIEWER, "fuzz", 0, AF.viewer_token, err, sizeof err) == CP_OK,
            "token", err);
    /* Seen "in the future": a session or token used more than a minute after
     * it was last seen is written to (last_seen_at, last_used_at), which would
     * make every request of a long run a write and a put-back. */
    af_must(db_exec(AF.db,
                    "UPDATE sessions SET last_seen_at = unixepoch() + 315360000;"
                    "UPDATE api_tokens SET last_used_at = unixepoch() + 315360000",
                    err, sizeof err) == CP_OK,
            "last seen", err);
    af_must(audit_flush(AF.db) == CP_OK, "audit", NULL);

    /* The copy every changed database is put back from. */
    af_must(sqlite3_open(":memory:", &AF.tmpl) == SQLITE_OK, "template", NULL);
    sqlite3_backup *b = sqlite3_backup_init(AF.tmpl, "main", AF.db->h, "main");
    af_must(b && sqlite3_backup_step(b, -1) == SQLITE_DONE, "template", sqlite3_errmsg(AF.tmpl));
    sqlite3_backup_finish(b);
    AF.changes = sqlite3_total_changes64(AF.db->h);
    if (!getenv("CPORT_FUZZ_LOG") || strcmp(getenv("CPORT_FUZZ_LOG"), "1") != 0)
        AF.quiet = fopen("/dev/null", "w");
}

/* Put the database back as it was set up. */
static inline void af_restore(void)
{
    AF.audit_only = 0;
    db_reset_all(AF.db);
    sqlite3_backup *b = sqlite3_backup_init(AF.db->h, "main", AF.tmpl, "main");
    af_must(b && sqlite3_backup_step(b, -1) == SQLITE_DONE, "restore", sqlite3_errmsg(AF.db->h));
    sqlite3_backup_finish(b);
    AF.changes = sqlite3_total_changes64(AF.db->h);
}

/* A request as the front end hands it over; NULL members are absent headers. */
struct af_req {
    const char *method, *path, *query;
    const char *cookie, *authorization, *csrf;
    const char *content_type;
    const char *body;
    size_t body_len;
};

/* Writer for streamed answers: the bytes go nowhere. */
static inline int af_discard(void *w, const void *p, size_t n)
{
    (void)w, (void)p, (void)n;
    return CP_OK;
}

/* Run one request through api_dispatch (and its streamed body, as the front
 * end would), check the answer's properties, put the database back. Returns
 * the status. */
static inline int af_dispatch(const struct af_req *r)
{
    struct ctx c;
    ctx_begin(&c, AF.db, &AF.cfg);
    c.method = r->method;
    c.path = r->path;
    c.query = r->query;
    c.cookie = r->cookie;
    c.authorization = r->authorization;
    c.csrf_header = r->csrf;
    c.content_type = r->content_type;
    c.body = r->body;
    c.body_len = r->body_len;
    c.remote_addr = AF_IP;
    c.user_agent = "cport-fuzz";
    c.request_id = "fuzz";
    FILE *saved = stderr;
    if (AF.quiet)
        stderr = AF.quiet;
    long long before = sqlite3_total_changes64(AF.db->h);
    api_dispatch(&c, api_routes, api_route_count);
    if (c.stream && c.status < 300)
        c.stream(&c, af_discard, NULL);
    int wrote = sqlite3_total_changes64(AF.db->h) != before;
    stderr = saved;
    int status = c.status;
    if (status < 200 || status > 599 || status == 500) {
        fprintf(stderr, "apifuzz: %s %s?%s answered %d: %.*s\n", c.method, c.path ? c.path : "", c.query ? c.query : "",
                status, (int)c.out.len, c.out.p ? c.out.p : "");
        abort();
    }
    if (!AF.quiet) /* CPORT_FUZZ_LOG=1: each answer too, to see what seeds reach */
        fprintf(stderr, "apifuzz: %s %s -> %d %.*s\n", c.method, c.path ? c.path : "", status,
                (int)(c.out.len < 160 ? c.out.len : 160), c.out.p ? c.out.p : "");
    if (c.ctype && strstr(c.ctype, "json") && c.out.len) {
        cJSON *j = cJSON_ParseWithLength(c.out.p, c.out.len);
        if (!j) {
            fprintf(stderr, "apifuzz: %s %s answered JSON that does not parse: %.*s\n", c.method,
                    c.path ? c.path : "", (int)c.out.len, c.out.p);
            abort();
        }
        cJSON_Delete(j);
    }
    ctx_end(&c);
    /* Audited reads are written as the worker writes them; those rows alone
     * change nothing a later request sees (but the audit routes, which these
     * callers may not use), so they are let pile up for a while. A request
     * that wrote anything else is undone at once. */
    if (audit_queue_len(AF.db))
        audit_flush(AF.db);
    if (wrote || (sqlite3_total_changes64(AF.db->h) != AF.changes && ++AF.audit_only >= 1000))
        af_restore();
    return status;
}

/* The input up to its first NUL as a string (malloc'd): request headers and
 * the query string cannot hold a NUL byte. */
static inline char *af_text(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, data, n);
    s[n] = 0;
    return s;
}

/* s with every "@SESSION@" replaced by the fixture's session id, "@TOKEN@" by
 * its API token and "@CSRF@" by the session's CSRF token (malloc'd): seeds
 * can then hold credentials that are only made at run time. */
static inline char *af_expand(const char *s)
{
    static const char *const from[] = {"@SESSION@", "@TOKEN@", "@CSRF@"};
    const char *to[] = {AF.session, AF.token, AF.csrf};
    struct buf b;
    buf_init(&b);
    while (*s) {
        int hit = -1;
        for (int i = 0; i < 3 && hit < 0; i++)
            if (strncmp(s, from[i], strlen(from[i])) == 0)
                hit = i;
        if (hit >= 0) {
            buf_adds(&b, to[hit]);
            s += strlen(from[hit]);
        } else {
            buf_add(&b, s++, 1);
        }
    }
    char *out = strdup(b.p ? b.p : "");
    buf_free(&b);
    if (!out)
        abort();
    return out;
}

#endif
