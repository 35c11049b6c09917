/*
 * test_enrol - one-time enrolment links: a link works once, expires, is voided
 * by a newer one, is refused when forged or malformed, sets a usable password
 * and clears an old second factor, sessions and API tokens; refusals change nothing. Also
 * the mail hand-off: the message reaches the mail command's stdin.
 */
#include "auth.h"
#include "enrol.h"
#include "mail.h"
#include "orgs.h"
#include "test.h"
#include "testdb.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[64], dbpath[96];
static struct db *db;
static struct config cfg;
static int64_t user_id;
static const struct audit_entry BY = {.actor = "cli:test"};

/* Issue a link for the fixture user in its own transaction. */
static int issue(char token[ENROL_TOKEN_LEN], const char *purpose)
{
    int64_t exp;
    if (db_begin(db) != CP_OK)
        return CP_BUSY;
    int st = enrol_issue(db, &cfg, &BY, user_id, purpose, token, &exp);
    if (st == CP_OK)
        st = db_commit(db);
    else
        db_rollback(db);
    return st;
}

static void test_link_works_once(void)
{
    char token[ENROL_TOKEN_LEN], err[256];
    REQUIRE(issue(token, "invite") == CP_OK);
    CHECK_INT(strlen(token), 43);
    struct enrol_info info;
    CHECK_INT(enrol_lookup(db, token, &info), CP_OK);
    CHECK_STR(info.email, "new@police.example");
    CHECK_STR(info.purpose, "invite");
    /* Nothing matches the stored hash but the link itself. */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM enrolments WHERE token_hash = CAST('%s' AS BLOB)", token);
    CHECK_INT(tq_int(db, sql), 0);
    /* A weak password is refused and the link stays usable. */
    CHECK_INT(enrol_complete(db, &cfg, token, "short", "192.0.2.1", "r", &info, err, sizeof err), CP_BAD);
    CHECK_INT(enrol_complete(db, &cfg, token, "xx new@police.example xx", "192.0.2.1", "r", &info, err, sizeof err),
              CP_BAD);
    CHECK_INT(enrol_lookup(db, token, &info), CP_OK);
    CHECK_INT(enrol_complete(db, &cfg, token, "a-long-enough-password", "192.0.2.1", "r", &info, err, sizeof err),
              CP_OK);
    /* The password now signs in; the link is spent. */
    char session[AUTH_TOKEN_LEN];
    struct caller who;
    CHECK_INT(auth_login(db, &cfg, "new@police.example", "a-long-enough-password", NULL, "192.0.2.1", "ua", "r",
                         session, &who),
              CP_OK);
    CHECK_INT(enrol_lookup(db, token, &info), CP_GONE);
    CHECK_INT(enrol_complete(db, &cfg, token, "another-long-password", "192.0.2.1", "r", &info, err, sizeof err),
              CP_GONE);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM audit WHERE action = 'enrolment.complete'"), 1);
}

static void test_reset_clears_second_factor_and_sessions(void)
{
    /* As if TOTP were on and a session open. */
    REQUIRE(db_exec(db, "UPDATE users SET totp_enabled = 1, totp_secret = x'00' WHERE email = 'new@police.example'",
                    NULL, 0) == CP_OK);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM sessions"), 1);
    REQUIRE(db_exec(db, "INSERT INTO api_tokens(token_hash, user_id, name, created_at) SELECT x'01', id, 't', 0"
                        " FROM users WHERE email = 'new@police.example'", NULL, 0) == CP_OK);
    char token[ENROL_TOKEN_LEN], err[256];
    REQUIRE(issue(token, "reset") == CP_OK);
    struct enrol_info info;
    CHECK_INT(enrol_complete(db, &cfg, token, "a-fresh-long-password", NULL, NULL, &info, err, sizeof err), CP_OK);
    CHECK_INT(tq_int(db, "SELECT totp_enabled FROM users WHERE email = 'new@police.example'"), 0);
    CHECK_INT(tq_int(db, "SELECT totp_secret IS NULL FROM users WHERE email = 'new@police.example'"), 1);
    CHECK_INT(tq_int(db, "SELECT count(*) FROM sessions"), 0);
    CHECK_INT(tq_int(db, "SELECT revoked FROM api_tokens WHERE name = 't'"), 1);
}

static void test_newer_link_voids_older(void)
{
    char t1[ENROL_TOKEN_LEN], t2[ENROL_TOKEN_LEN];
    REQUIRE(issue(t1, "reset") == CP_OK);
    REQUIRE(issue(t2, "reset") == CP_OK);
    struct enrol_info info;
    CHECK_INT(enrol_lookup(db, t1, &info), CP_NOTFOUND);
    CHECK_INT(enrol_lookup(db, t2, &info), CP_OK);
}

static void test_expired_forged_malformed(void)
{
    char token[ENROL_TOKEN_LEN], err[256];
    REQUIRE(issue(token, "reset") == CP_OK);
    REQUIRE(db_exec(db, "UPDATE enrolments SET expires_at = 1 WHERE used_at IS NULL", NULL, 0) == CP_OK);
    const char *before = "SELECT pw_hash FROM users WHERE email = 'new@police.example'";
    char hash[256];
    snprintf(hash, sizeof hash, "%s", tq_text(db, before));
    struct enrol_info info;
    CHECK_INT(enrol_complete(db, &cfg, token, "yet-another-password", NULL, NULL, &info, err, sizeof err), CP_GONE);
    CHECK_STR(tq_text(db, before), hash);
    const char *bad[] = {"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                         "../../../../etc/passwd/../../../../../../x", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%00",
                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(enrol_lookup(db, bad[i], &info), CP_NOTFOUND);
    CHECK_INT(enrol_lookup(db, NULL, &info), CP_NOTFOUND);
}

static void test_disabled_user_link_refused(void)
{
    char token[ENROL_TOKEN_LEN];
    REQUIRE(issue(token, "reset") == CP_OK);
    REQUIRE(db_exec(db, "UPDATE users SET disabled = 1 WHERE email = 'new@police.example'", NULL, 0) == CP_OK);
    struct enrol_info info;
    CHECK_INT(enrol_lookup(db, token, &info), CP_NOTFOUND);
    REQUIRE(db_exec(db, "UPDATE users SET disabled = 0 WHERE email = 'new@police.example'", NULL, 0) == CP_OK);
}

static void test_mail_command(void)
{
    char out[128], err[256];
    snprintf(out, sizeof out, "%s/mail.txt", dir);
    struct config c = cfg;
    CHECK_INT(mail_send(&c, "a@police.example", "s", "b", err, sizeof err), CP_NOTFOUND);
    snprintf(c.mail_command, sizeof c.mail_command, "cat > %s", out);
    CHECK_INT(mail_send(&c, "a@police.example", "Subject here", "Body line\n", err, sizeof err), CP_OK);
    FILE *f = fopen(out, "r");
    REQUIRE(f);
    char text[512] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    CHECK(strstr(text, "To: a@police.example\n") != NULL);
    CHECK(strstr(text, "Subject: Subject here\n") != NULL);
    CHECK(strstr(text, "\n\nBody line\n") != NULL);
    /* Header injection through the address is refused before anything runs. */
    CHECK_INT(mail_send(&c, "a@police.example\nBcc: x@y.example", "s", "b", err, sizeof err), CP_BAD);
    snprintf(c.mail_command, sizeof c.mail_command, "exit 3");
    CHECK_INT(mail_send(&c, "a@police.example", "s", "b", err, sizeof err), CP_ERR);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cport-test-enrol-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(dbpath, sizeof dbpath, "%s/e.db", dir);
    char err[256];
    config_load(&cfg, NULL, err, sizeof err);
    cfg.pwhash_mem_kib = 8192;
    cfg.pwhash_ops = 1;
    db = db_open(dbpath, 1000, err, sizeof err);
    if (!db || db_migrate(db, err, sizeof err) != CP_OK)
        return 1;
    int64_t org;
    if (orgs_add(db, "cli:test", "lea", "NL Police", "NL", NULL, &org, err, sizeof err) != CP_OK || db_begin(db) ||
        orgs_insert_user(db, org, "new@police.example", "analyst", "New Officer", NULL, &user_id, err, sizeof err) ||
        db_commit(db))
        return 1;
    RUN(test_link_works_once);
    RUN(test_reset_clears_second_factor_and_sessions);
    RUN(test_newer_link_voids_older);
    RUN(test_expired_forged_malformed);
    RUN(test_disabled_user_link_refused);
    RUN(test_mail_command);
    db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
