/*
 * test_audit - the audit chain: entries verify; editing, deleting, inserting,
 * reordering entries and cutting off the tail (after a signed head) are each
 * detected and the first bad entry is named. Deferred (batched) entries are
 * written in order with their own times, kept when the database is busy, and
 * bounded by the queue's cap.
 */
#include "audit.h"
#include "test.h"
#include "testdb.h"
#include "util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], dbpath[96];

/* A fresh database with n entries (and, when sign, a signed head after them). */
static struct db *fresh(int n, int sign)
{
    char err[256], cmd[400];
    snprintf(cmd, sizeof cmd, "rm -f %s %s-wal %s-shm", dbpath, dbpath, dbpath);
    if (system(cmd) != 0)
        return NULL;
    struct db *d = db_open(dbpath, 1000, err, sizeof err);
    if (!d || db_migrate(d, err, sizeof err) != CP_OK)
        return NULL;
    for (int i = 1; i <= n; i++) {
        char obj[32], detail[64];
        snprintf(obj, sizeof obj, "report:%d", i);
        snprintf(detail, sizeof detail, "{\"n\":%d}", i);
        struct audit_entry e = {.user_id = i, .org_id = 7, .actor = "nl@police.example", .ip = "192.0.2.1",
                                .request_id = "req", .action = "report.view", .object = obj, .detail = detail};
        if (audit_append(d, &e) != CP_OK)
            return NULL;
    }
    if (sign && audit_sign_head(d, dir, err, sizeof err) != CP_OK) {
        fprintf(stderr, "  sign: %s\n", err);
        return NULL;
    }
    return d;
}

/* Verify and return the bad id (0 for ok or a missing tail), -1 when it passes. */
static long long verify(struct db *d, char *err)
{
    int64_t n, bad;
    return audit_verify(d, &n, &bad, err, 256) == CP_OK ? -1 : bad;
}

/* An untouched chain verifies, with and without signed heads. */
static void test_clean_chain_verifies(void)
{
    char err[256];
    struct db *d = fresh(20, 1);
    REQUIRE(d);
    int64_t n, bad;
    CHECK_INT(audit_verify(d, &n, &bad, err, sizeof err), CP_OK);
    CHECK_INT(n, 21); /* 20 entries and the signing itself */
    CHECK(tq_int(d, "SELECT count(*) FROM audit_heads") == 1);
    db_close(d);
}

/* Editing any field of an entry names that entry. */
static void test_edit_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 0);
    REQUIRE(d);
    REQUIRE(db_exec(d, "UPDATE audit SET detail = '{\"n\":99}' WHERE id = 7", err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 7);
    CHECK(strstr(err, "edited") != NULL);
    db_close(d);
    d = fresh(20, 0);
    REQUIRE(db_exec(d, "UPDATE audit SET actor = 'someone@else.example' WHERE id = 3", err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 3);
    db_close(d);
}

/* Deleting an entry in the middle names the one after the gap. */
static void test_delete_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 0);
    REQUIRE(d);
    REQUIRE(db_exec(d, "DELETE FROM audit WHERE id = 10", err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 11);
    db_close(d);
}

/* Renumbering after a delete (to hide the gap) still breaks the chain. */
static void test_delete_and_renumber_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 0);
    REQUIRE(d);
    REQUIRE(db_exec(d, "DELETE FROM audit WHERE id = 10; UPDATE audit SET id = id - 1 WHERE id > 10", err,
                    sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 10);
    db_close(d);
}

/* Inserting a forged entry (even with a made-up hash) is caught. */
static void test_insert_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 0);
    REQUIRE(d);
    REQUIRE(db_exec(d,
                    "INSERT INTO audit(id, at, actor, action, prev_hash, hash)"
                    " SELECT 21, at, 'forger', 'report.view', hash, randomblob(32) FROM audit WHERE id = 20",
                    err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 21);
    db_close(d);
    /* In the middle, linked to its predecessor: its own hash gives it away. */
    d = fresh(20, 0);
    REQUIRE(db_exec(d,
                    "UPDATE audit SET id = id + 1000 WHERE id > 5;"
                    "INSERT INTO audit(id, at, actor, action, prev_hash, hash)"
                    " SELECT 6, at, 'forger', 'report.view', hash, randomblob(32) FROM audit WHERE id = 5;"
                    "UPDATE audit SET id = id - 999 WHERE id > 1000;",
                    err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 6);
    db_close(d);
}

/* Swapping two entries' contents (reordering) is caught at the first swapped one. */
static void test_reorder_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 0);
    REQUIRE(d);
    REQUIRE(db_exec(d,
                    "UPDATE audit SET id = -1 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = 5;"
                    " UPDATE audit SET id = 5 WHERE id = -1;",
                    err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 4);
    db_close(d);
}

/* Cutting off the tail leaves a valid chain, but not the signed head. */
static void test_truncated_tail_detected(void)
{
    char err[256];
    struct db *d = fresh(20, 1);
    REQUIRE(d);
    REQUIRE(db_exec(d, "DELETE FROM audit WHERE id >= 15", err, sizeof err) == CP_OK);
    CHECK_INT(verify(d, err), 0);
    CHECK(strstr(err, "tail") != NULL);
    db_close(d);
}

/* A head signed by another key, or altered, does not verify. */
static void test_forged_head_detected(void)
{
    char err[256];
    struct db *d = fresh(5, 1);
    REQUIRE(d);
    REQUIRE(db_exec(d, "UPDATE audit_heads SET signed_at = signed_at + 1", err, sizeof err) == CP_OK);
    CHECK(verify(d, err) >= 0);
    CHECK(strstr(err, "signature") != NULL);
    db_close(d);
}

/* The instance key is created once with mode 0600 and then reused. */
static void test_instance_key(void)
{
    uint8_t pk1[32], sk1[64], pk2[32], sk2[64];
    char err[256], path[128];
    REQUIRE(audit_instance_key(dir, pk1, sk1, err, sizeof err) == CP_OK);
    REQUIRE(audit_instance_key(dir, pk2, sk2, err, sizeof err) == CP_OK);
    CHECK(memcmp(pk1, pk2, 32) == 0);
    snprintf(path, sizeof path, "%s/instance.ed25519", dir);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
}

/* Committed entries reach the JSON-lines log, rolled-back ones never do. */
static void test_jsonl_log(void)
{
    char err[256], path[160];
    struct db *d = fresh(0, 0);
    REQUIRE(d);
    snprintf(path, sizeof path, "%s/audit.jsonl", dir);
    unlink(path);
    db_set_audit_log(d, path);
    struct audit_entry kept = {.actor = "a@police.example", .action = "report.view", .object = "report:1"};
    struct audit_entry lost = {.actor = "b@police.example", .action = "report.view", .object = "report:2"};
    REQUIRE(audit_append(d, &kept) == CP_OK); /* its own transaction */
    REQUIRE(db_begin(d) == CP_OK);
    REQUIRE(audit_append(d, &lost) == CP_OK);
    db_rollback(d);
    REQUIRE(db_begin(d) == CP_OK);
    REQUIRE(audit_append(d, &kept) == CP_OK);
    REQUIRE(db_commit(d) == CP_OK);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        CHECK(strstr(line, "\"actor\":\"a@police.example\"") != NULL);
        CHECK(strstr(line, "\"hash\":\"") != NULL);
    }
    fclose(f);
    CHECK_INT(n, 2);
    int64_t cnt, bad;
    CHECK_INT(audit_verify(d, &cnt, &bad, err, sizeof err), CP_OK);
    CHECK_INT(cnt, 2);
    db_close(d);
}

/* Defer n report views numbered from first (object "report:<n>"). */
static int defer_views(struct db *d, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        char obj[32];
        snprintf(obj, sizeof obj, "report:%d", i);
        struct audit_entry e = {.user_id = 3, .org_id = 7, .actor = "nl@police.example", .ip = "192.0.2.1",
                                .request_id = "req", .action = "report.view", .object = obj,
                                .detail = "{\"query\":\"\"}"};
        int st = audit_defer(d, &e);
        if (st != CP_OK)
            return st;
    }
    return CP_OK;
}

/* Deferred entries are written by one flush, in the order they were deferred,
 * with their own times, after a change recorded meanwhile; they reach the
 * JSON-lines log; the chain verifies. */
static void test_deferred_batch(void)
{
    char err[256], path[160];
    struct db *d = fresh(3, 0);
    REQUIRE(d);
    snprintf(path, sizeof path, "%s/batch.jsonl", dir);
    unlink(path);
    db_set_audit_log(d, path);
    setenv("CPORT_NOW", "1700000000", 1);
    REQUIRE(defer_views(d, 1, 50) == CP_OK);
    setenv("CPORT_NOW", "1700000500", 1);
    struct audit_entry change = {.actor = "op@cport.example", .action = "user.disable", .object = "user:9"};
    REQUIRE(audit_append(d, &change) == CP_OK); /* a change is written at once */
    CHECK_INT(audit_queue_len(d), 50);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), 4);
    CHECK_INT(audit_flush(d), CP_OK);
    unsetenv("CPORT_NOW");
    CHECK_INT(audit_queue_len(d), 0);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), 54);
    CHECK_STR(tq_text(d, "SELECT action FROM audit WHERE id = 4"), "user.disable");
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit WHERE id BETWEEN 5 AND 54 AND object = 'report:' || (id - 4)"
                        " AND at = 1700000000"), 50);
    CHECK_INT(tq_int(d, "SELECT at FROM audit WHERE id = 4"), 1700000500);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, "\"action\":\"report.view\"") != NULL;
    fclose(f);
    CHECK_INT(n, 50);
    CHECK_INT(audit_flush(d), CP_OK); /* an empty queue: nothing to do */
    int64_t cnt, bad;
    CHECK_INT(audit_verify(d, &cnt, &bad, err, sizeof err), CP_OK);
    CHECK_INT(cnt, 54);
    db_close(d);
}

/* A flush is due at AUDIT_BATCH entries or when the oldest is AUDIT_FLUSH_MS old. */
static void test_flush_due(void)
{
    struct db *d = fresh(0, 0);
    REQUIRE(d);
    CHECK_INT(audit_flush_wait(d, audit_clock_ms()), -1);
    REQUIRE(defer_views(d, 1, 1) == CP_OK);
    int64_t now = audit_clock_ms();
    CHECK(audit_flush_wait(d, now) > 0 && audit_flush_wait(d, now) <= AUDIT_FLUSH_MS);
    CHECK_INT(audit_flush_due(d, now), CP_OK);
    CHECK_INT(audit_queue_len(d), 1); /* not due yet */
    CHECK_INT(audit_flush_wait(d, now + AUDIT_FLUSH_MS), 0);
    CHECK_INT(audit_flush_due(d, now + AUDIT_FLUSH_MS), CP_OK);
    CHECK_INT(audit_queue_len(d), 0);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), 1);
    REQUIRE(defer_views(d, 2, AUDIT_BATCH - 1) == CP_OK);
    CHECK(audit_flush_wait(d, audit_clock_ms()) > 0);
    REQUIRE(defer_views(d, AUDIT_BATCH + 1, 1) == CP_OK);
    CHECK_INT(audit_flush_wait(d, audit_clock_ms()), 0); /* a full batch is due at once */
    CHECK_INT(audit_flush_due(d, audit_clock_ms()), CP_OK);
    CHECK_INT(audit_queue_len(d), 0);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), AUDIT_BATCH + 1);
    db_close(d);
}

/* While another connection holds the write lock a flush is CP_BUSY and keeps
 * every entry; so is a flush inside an open transaction. Later it succeeds. */
static void test_flush_busy_keeps_entries(void)
{
    char err[256];
    struct db *holder = fresh(2, 0);
    REQUIRE(holder);
    struct db *d = db_open(dbpath, 50, err, sizeof err);
    REQUIRE(d);
    REQUIRE(defer_views(d, 1, 10) == CP_OK);
    REQUIRE(db_begin(holder) == CP_OK);
    CHECK_INT(audit_flush(d), CP_BUSY);
    CHECK_INT(audit_queue_len(d), 10);
    db_rollback(holder);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), 2);
    REQUIRE(db_begin(d) == CP_OK);
    CHECK_INT(audit_flush(d), CP_BUSY); /* never inside someone's transaction */
    db_rollback(d);
    CHECK_INT(audit_queue_len(d), 10);
    CHECK_INT(audit_flush(d), CP_OK);
    CHECK_INT(audit_queue_len(d), 0);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), 12);
    int64_t cnt, bad;
    CHECK_INT(audit_verify(d, &cnt, &bad, err, sizeof err), CP_OK);
    db_close(d);
    db_close(holder);
}

/* A full queue flushes before it takes another entry; when it can't (the lock
 * is held) the entry is refused with CP_BUSY and nothing queued is dropped. */
static void test_queue_cap(void)
{
    char err[256];
    struct db *holder = fresh(0, 0);
    REQUIRE(holder);
    struct db *d = db_open(dbpath, 50, err, sizeof err);
    REQUIRE(d);
    REQUIRE(db_begin(holder) == CP_OK);
    REQUIRE(defer_views(d, 1, AUDIT_QUEUE_MAX) == CP_OK);
    CHECK_INT(defer_views(d, AUDIT_QUEUE_MAX + 1, 1), CP_BUSY);
    CHECK_INT(audit_queue_len(d), AUDIT_QUEUE_MAX);
    db_rollback(holder);
    CHECK_INT(defer_views(d, AUDIT_QUEUE_MAX + 1, 1), CP_OK);
    CHECK_INT(audit_queue_len(d), 1);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit"), AUDIT_QUEUE_MAX);
    CHECK_INT(audit_flush(d), CP_OK);
    CHECK_INT(tq_int(d, "SELECT count(*) FROM audit WHERE object = 'report:' || id"), AUDIT_QUEUE_MAX + 1);
    int64_t cnt, bad;
    CHECK_INT(audit_verify(d, &cnt, &bad, err, sizeof err), CP_OK);
    CHECK_INT(cnt, AUDIT_QUEUE_MAX + 1);
    /* An entry without an action is refused outright. */
    struct audit_entry none = {.actor = "x"};
    CHECK_INT(audit_defer(d, &none), CP_ERR);
    db_close(d);
    db_close(holder);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cport-test-audit-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(dbpath, sizeof dbpath, "%s/a.db", dir);
    RUN(test_clean_chain_verifies);
    RUN(test_edit_detected);
    RUN(test_delete_detected);
    RUN(test_delete_and_renumber_detected);
    RUN(test_insert_detected);
    RUN(test_reorder_detected);
    RUN(test_truncated_tail_detected);
    RUN(test_forged_head_detected);
    RUN(test_instance_key);
    RUN(test_jsonl_log);
    RUN(test_deferred_batch);
    RUN(test_flush_due);
    RUN(test_flush_busy_keeps_entries);
    RUN(test_queue_cap);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return TEST_DONE();
}
