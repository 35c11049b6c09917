/*
 * jobs - the background work queue `cport jobs` runs: one job at a time,
 * claimed atomically (so several runners may share a queue), never inside an
 * HTTP request. Today's only kind is a package build.
 */
#ifndef CPORT_JOBS_H
#define CPORT_JOBS_H

#include "config.h"
#include "db.h"

/* Queue a job inside the caller's open transaction; secret (may be NULL) is
 * kept only until the job has run. */
int jobs_enqueue(struct db *d, const char *kind, int64_t ref_id, const char *secret);

/* Put back in the queue the jobs left "running" by a runner that is gone (its
 * pid no longer exists). *n counts them. */
int jobs_requeue_stale(struct db *d, int *n);

/* Claim the oldest queued job and run it. *ran is 0 when the queue was empty.
 * The job ends done or failed (with the reason); its secret is wiped. */
int jobs_run_one(struct db *d, const struct config *cfg, int *ran, char *err, size_t errlen);

#endif
