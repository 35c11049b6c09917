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

/* GET /stats/top's answer (field=provider|asn, limit, from, to) into out. */
int stats_top(struct ctx *c, struct buf *out);

#endif
