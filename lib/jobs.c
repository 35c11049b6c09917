/*
 * jobs - claim, run and finish background jobs; see jobs.h.
 */
#include "jobs.h"
#include "log.h"
#include "package.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Queue one job. */
int jobs_enqueue(struct db *d, const char *kind, int64_t ref_id, const char *secret)
{
    sqlite3_stmt *st = db_prep(d, "INSERT INTO jobs(kind, ref_id, secret, created_at) VALUES (?,?,?,?)");
    if (!st)
        return CP_ERR;
    db_bind_text(st, 1, kind);
    sqlite3_bind_int64(st, 2, ref_id);
    if (secret)
        sqlite3_bind_blob(st, 3, secret, (int)strlen(secret), SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, util_now());
    int rc = sqlite3_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* Requeue jobs whose runner died. */
int jobs_requeue_stale(struct db *d, int *n)
{
    *n = 0;
    sqlite3_stmt *st = db_prep(d, "SELECT id, runner_pid FROM jobs WHERE status = 'running'");
    if (!st)
        return CP_ERR;
    int64_t ids[256];
    int k = 0;
    while (k < 256 && sqlite3_step(st) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(st, 1);
        if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
            ids[k++] = sqlite3_column_int64(st, 0);
    }
    db_done(st);
    for (int i = 0; i < k; i++) {
        st = db_prep(d, "UPDATE jobs SET status = 'queued', runner_pid = NULL WHERE id = ? AND status = 'running'");
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_step(st);
        db_done(st);
        /* A package half built by the dead runner starts again from the queue. */
        st = db_prep(d, "UPDATE packages SET status = 'queued', done = 0 WHERE id ="
                        " (SELECT ref_id FROM jobs WHERE id = ? AND kind = 'package') AND status = 'building'");
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_step(st);
        db_done(st);
        (*n)++;
    }
    return CP_OK;
}

/* Claim and run the oldest queued job. */
int jobs_run_one(struct db *d, const struct config *cfg, int *ran, char *err, size_t errlen)
{
    *ran = 0;
    sqlite3_stmt *st = db_prep(d, "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1,"
                                  " runner_pid = ? WHERE id = (SELECT id FROM jobs WHERE status = 'queued'"
                                  " ORDER BY id LIMIT 1) RETURNING id, kind, ref_id, secret");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, util_now());
    sqlite3_bind_int64(st, 2, (int64_t)getpid());
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        db_done(st);
        return rc == SQLITE_DONE ? CP_OK : db_err(rc);
    }
    int64_t id = sqlite3_column_int64(st, 0), ref = sqlite3_column_int64(st, 2);
    char kind[16], secret[1100] = "";
    snprintf(kind, sizeof kind, "%s", db_text(st, 1));
    int has_secret = sqlite3_column_type(st, 3) == SQLITE_BLOB && sqlite3_column_bytes(st, 3) < (int)sizeof secret;
    if (has_secret)
        memcpy(secret, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
    rc = sqlite3_step(st);
    db_done(st);
    *ran = 1;
    err[0] = 0;
    int s = strcmp(kind, "package") == 0 ? package_build(d, cfg, ref, has_secret ? secret : NULL, err, errlen)
                                         : fail(err, errlen, CP_BAD, "unknown job kind %s", kind);
    sodium_memzero(secret, sizeof secret);
    st = db_prep(d, "UPDATE jobs SET status = ?, error = ?, secret = NULL, finished_at = ? WHERE id = ?");
    if (st) {
        db_bind_text(st, 1, s == CP_OK ? "done" : "failed");
        db_bind_text(st, 2, s == CP_OK ? NULL : err);
        sqlite3_bind_int64(st, 3, util_now());
        sqlite3_bind_int64(st, 4, id);
        sqlite3_step(st);
        db_done(st);
    }
    log_line(NULL, "job %lld (%s %lld): %s%s", (long long)id, kind, (long long)ref, s == CP_OK ? "done" : "failed: ",
             s == CP_OK ? "" : err);
    return CP_OK;
}
