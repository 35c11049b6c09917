/*
 * rollup - keeps stats_rollup (schema/013_rollup.sql): the dashboard's series
 * summed per UTC day, per part of the reports (the pieces scope_parts makes
 * every scope from) and per grouping. Triggers mark the days a change touches
 * in stats_dirty in the same transaction; rollup_refresh rebuilds those days
 * from the reports, and a series reads the rollup for clean days and counts
 * dirty ones from the reports, so its answer is exact at every moment.
 */
#ifndef CPORT_ROLLUP_H
#define CPORT_ROLLUP_H

#include "db.h"

/* Days rebuilt a write transaction: some 50,000 reports at a million (about
 * half a second of the write lock), so the portal's writers never wait long. */
#define ROLLUP_DAYS_PER_TXN 16

/* Rebuild the dirty days (every day when marked so), ROLLUP_DAYS_PER_TXN a
 * transaction, each unmarking what it rebuilt (days not yet rebuilt stay
 * marked and exact); *days is how many days were rebuilt, -1 for the whole
 * rollup. A no-op when nothing is dirty. Run by `cport import` after every
 * run. */
int rollup_refresh(struct db *d, long *days, char *err, size_t errlen);

/* The dirty days of a basis (0 reported, 1 removed), sorted, into *days
 * (malloc'd, may be NULL when none) for the caller's read snapshot; *whole is
 * set when the rollup cannot be used at all. */
int rollup_dirty(struct db *d, int basis, int64_t **days, size_t *n, int *whole);

/* Whether day is in a sorted list of days (rollup_dirty's). */
int rollup_has_day(const int64_t *days, size_t n, int64_t day);

/* The hosting countries the rollup has parts for (h:CC), up to max, for
 * scope_parts' complement; -1 when they cannot be listed (more than max, one
 * not two letters, an error). */
int rollup_hosts(struct db *d, char (*hosts)[3], int max);

/* The codes of the hotlines of country cc, up to max; -1 on an error. */
int rollup_hotlines_of(struct db *d, const char *cc, char (*codes)[64], int max);

#endif
