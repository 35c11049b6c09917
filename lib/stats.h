/*
 * stats - dashboard figures over the reports in the caller's scope: time
 * series (reports, media, removals, time to removal) by day, week or month,
 * optionally grouped, and top hosting providers and networks.
 */
#ifndef CPORT_STATS_H
#define CPORT_STATS_H

#include "api.h"

/* GET /stats/timeseries's answer from the request's parameters (metric,
 * interval, group_by, from, to) into out. CP_BAD with the 400 written on bad
 * input. */
int stats_timeseries(struct ctx *c, struct buf *out);

/* Whether counted series may use the day sums of stats_rollup (test_stats
 * turns it off to compare with counts from the reports), and how many answers
 * they served. */
extern int stats_use_rollup;
extern long stats_rollup_answers;

/* GET /stats/top's answer (field=provider|asn, limit, from, to) into out. */
int stats_top(struct ctx *c, struct buf *out);

#endif
