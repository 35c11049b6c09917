/*
 * stats - time series and top lists over the reports in the caller's scope,
 * for the dashboard (operators, who see no report, get the time series as
 * counts over every report).
 *
 * Counted series (reports, media, removed) are read from the day sums of
 * stats_rollup (lib/rollup.c): the caller's scope is a signed sum of parts
 * (scope_parts), each part a few rows a day, so a year costs thousands of rows
 * whatever the scope's size. What the sums cannot answer is counted from the
 * reports themselves, exactly as before: the partial days at either end of
 * from/to, days changed since the last rebuild (stats_dirty), and reports an
 * LEA's parts count twice. removal_time (quantiles) is always read from the
 * partial index of removals. Answers are kept in the per-process query cache
 * until the data changes.
 */
#include "stats.h"
#include "jw.h"
#include "qcache.h"
#include "rollup.h"
#include "scope.h"
#include "sqlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_MAX_BUCKETS 800 /* e.g. two years of days */
#define DAY 86400
/* More separate pieces to count from the reports than this (many dirty days)
 * and the whole series is counted from them in one pass instead. */
#define STATS_MAX_PIECES 64

/* See stats.h. */
int stats_use_rollup = 1;
long stats_rollup_answers;

static const char *const METRICS[] = {"reports", "media", "removed", "removal_time", NULL};
static const char *const INTERVALS[] = {"day", "week", "month", NULL};
static const char *const GROUPS[] = {"status", "site_type", "hosting_country", "international", NULL};
static const char *const PARAMS[] = {"metric", "interval", "group_by", "from", "to", NULL};
static const char *const TOP_PARAMS[] = {"field", "limit", "from", "to", NULL};

/* The index of v in list, or -1. */
static int pick(const char *v, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(v, list[i]) == 0)
            return i;
    return -1;
}

/* Parse from/to (dates or ISO times; a bare `to` date includes its day). */
static int parse_range(struct ctx *c, int64_t *from, int64_t *to, int *has_from, int *has_to)
{
    const char *v;
    *has_from = *has_to = 0;
    if ((v = ctx_qparam(c, "from")) && *v) {
        if (util_parse_time(v, from))
            return ctx_bad(c, "from", "from must be a date (2026-01-31) or an ISO-8601 time");
        *has_from = 1;
    }
    if ((v = ctx_qparam(c, "to")) && *v) {
        if (util_parse_time(v, to))
            return ctx_bad(c, "to", "to must be a date (2026-01-31) or an ISO-8601 time");
        *to += strlen(v) == 10 ? 86400 : 1;
        *has_to = 1;
    }
    if (*has_from && *has_to && *to <= *from)
        return ctx_bad(c, "to", "to must not be before from");
    return CP_OK;
}

/* The bucket (a period's start, epoch seconds) expression of a time column:
 * UTC days, ISO weeks from Monday; for calendar months the day, which
 * month_of turns into its month (cheaper in C than date functions per row). */
static void bucket_sql(struct sqlq *q, int interval, int removed)
{
    if (interval == 0)
        if (removed)
            sqlq_sql(q, "(r.removed_at / 86400) * 86400");
        else
            sqlq_sql(q, "(r.reported_at / 86400) * 86400");
    else if (interval == 1) /* 1970-01-01 was a Thursday: Mondays are 4 days in */
        if (removed)
            sqlq_sql(q, "((r.removed_at - 345600) / 604800) * 604800 + 345600");
        else
            sqlq_sql(q, "((r.reported_at - 345600) / 604800) * 604800 + 345600");
    else if (removed) /* months: the day here, its month in C (month_of) */
        sqlq_sql(q, "(r.removed_at / 86400) * 86400");
    else
        sqlq_sql(q, "(r.reported_at / 86400) * 86400");
}

/* The group key expression. */
static void group_sql(struct sqlq *q, int group)
{
    switch (group) {
    case 0: sqlq_sql(q, "r.status"); break;
    case 1: sqlq_sql(q, "r.site_type"); break;
    case 2: sqlq_sql(q, "coalesce(r.host_country, 'unknown')"); break;
    case 3:
        sqlq_sql(q, "CASE WHEN r.class_bits & 1 THEN 'baseline' WHEN r.class_bits & 2 THEN 'not_baseline'"
                    " ELSE 'unclassified' END");
        break;
    default: sqlq_sql(q, "'all'"); break;
    }
}

/* The first second of the UTC month of a day's start. */
static int64_t month_of(int64_t day)
{
    time_t t = (time_t)day;
    struct tm tm;
    gmtime_r(&t, &tm);
    return day - (int64_t)(tm.tm_mday - 1) * 86400;
}

/* One (bucket, key) cell of a series: how many reports (count, which
 * decides whether the cell exists) and the value shown. */
struct cell {
    int64_t bucket;
    char key[48];
    double value;
    int64_t count;
};

/* Cells found through a small open-addressing hash table on (bucket, key):
 * much cheaper than SQL's GROUP BY, which sorts every row. */
struct series {
    struct cell *v;
    uint32_t *tab; /* cell index + 1; 0 = empty */
    size_t n, cap, slots;
};

/* Sort cells by key then bucket. */
static int cell_cmp(const void *a, const void *b)
{
    const struct cell *x = a, *y = b;
    int k = strcmp(x->key, y->key);
    return k ? k : (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Compare int64s for qsort. */
static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Compare doubles for qsort. */
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile (0..1) of n sorted values, nearest rank. */
static double quantile(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

/* Write the answer: buckets, one series a key (values aligned to buckets),
 * totals per series. Cells whose count nets to zero do not exist. */
static void write_series(struct jw *w, struct cell *cells, size_t n, int is_time)
{
    size_t live = 0;
    for (size_t i = 0; cells && i < n; i++)
        if (cells[i].count)
            cells[live++] = cells[i];
    n = live;
    /* The distinct buckets, in order. */
    int64_t *b = malloc((n ? n : 1) * sizeof *b);
    size_t nb = 0;
    for (size_t i = 0; b && i < n; i++)
        b[nb++] = cells[i].bucket;
    qsort(b, nb, sizeof *b, i64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < nb; i++)
        if (!u || b[u - 1] != b[i])
            b[u++] = b[i];
    nb = u;
    jw_key(w, "buckets");
    jw_arr(w);
    for (size_t i = 0; i < nb; i++) {
        char t[32];
        util_format_time(b[i], t);
        jw_str(w, t);
    }
    jw_arr_end(w);
    if (n)
        qsort(cells, n, sizeof *cells, cell_cmp);
    jw_key(w, "series");
    jw_arr(w);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(cells[j].key, cells[i].key) == 0)
            j++;
        jw_obj(w);
        jw_key(w, "key");
        jw_str(w, cells[i].key);
        jw_key(w, "values");
        jw_arr(w);
        double total = 0;
        size_t k = i;
        for (size_t x = 0; x < nb; x++) {
            if (k < j && cells[k].bucket == b[x]) {
                if (is_time)
                    jw_double(w, cells[k].value);
                else
                    jw_int(w, (int64_t)cells[k].value);
                total += cells[k].value;
                k++;
            } else if (is_time) {
                jw_null(w);
            } else {
                jw_int(w, 0);
            }
        }
        jw_arr_end(w);
        if (!is_time) {
            jw_key(w, "total");
            jw_int(w, (int64_t)total);
        }
        jw_obj_end(w);
        i = j;
    }
    jw_arr_end(w);
    free(b);
}

/* The hash of a (bucket, key) cell. */
static uint64_t cell_hash(int64_t bucket, const char *key)
{
    uint64_t h = (uint64_t)bucket * 0x9e3779b97f4a7c15ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Rebuild the series' hash table with slots slots. */
static int series_rehash(struct series *s, size_t slots)
{
    uint32_t *t = calloc(slots, sizeof *t);
    if (!t)
        return -1;
    for (size_t x = 0; x < s->n; x++) {
        size_t y = (size_t)cell_hash(s->v[x].bucket, s->v[x].key) & (slots - 1);
        while (t[y])
            y = (y + 1) & (slots - 1);
        t[y] = (uint32_t)(x + 1);
    }
    free(s->tab);
    s->tab = t;
    s->slots = slots;
    return 0;
}

/* Add count reports worth value to cell (bucket, key); negative to take away. */
static int series_add(struct series *s, int64_t bucket, const char *key, int64_t count, double value)
{
    if (s->n * 2 >= s->slots && series_rehash(s, s->slots ? s->slots * 2 : 4096))
        return -1;
    size_t at = (size_t)cell_hash(bucket, key) & (s->slots - 1);
    while (s->tab[at]) {
        struct cell *x = &s->v[s->tab[at] - 1];
        if (x->bucket == bucket && strcmp(x->key, key) == 0) {
            x->count += count;
            x->value += value;
            return 0;
        }
        at = (at + 1) & (s->slots - 1);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct cell *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    struct cell *x = &s->v[s->n];
    x->bucket = bucket;
    snprintf(x->key, sizeof x->key, "%s", key);
    x->value = value;
    x->count = count;
    s->tab[at] = (uint32_t)++s->n;
    return 0;
}

/* Add one row per report from q (bucket, key, value), in whatever order the
 * planner's index gives (it picks the narrowest: a scope's countries, its
 * hotlines, the dates); sign -1 takes them away. by_month: buckets come as
 * days, summed into their months. */
static int count_cells(struct ctx *c, struct sqlq *q, int by_month, int sign, struct series *s)
{
    sqlite3_stmt *st = sqlq_prepare(q, c->db);
    if (!st)
        return CP_ERR;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        if (by_month)
            b = month_of(b);
        if (series_add(s, b, db_text(st, 1), sign, sign * sqlite3_column_double(st, 2))) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_NOMEM ? CP_ERR : db_err(rc);
    return CP_OK;
}

/* removal_time: per bucket of removed_at, the median and 90th percentile of
 * hours from reported_at to removed_at (two series, "median" and "p90");
 * by_month as for count_cells. */
static int removal_cells(struct ctx *c, struct sqlq *q, int by_month, struct series *s)
{
    sqlite3_stmt *st = sqlq_prepare(q, c->db);
    if (!st)
        return CP_ERR;
    size_t cap = 1024, m = 0;
    double *hours = malloc(cap * sizeof *hours);
    int64_t cur = 0;
    int rc = SQLITE_DONE, have = 0;
    for (;;) {
        rc = hours ? sqlite3_step(st) : SQLITE_NOMEM;
        int row = rc == SQLITE_ROW;
        int64_t bucket = row ? sqlite3_column_int64(st, 0) : 0;
        if (row && by_month)
            bucket = month_of(bucket);
        if (have && (!row || bucket != cur) && m) {
            qsort(hours, m, sizeof *hours, dbl_cmp);
            if (series_add(s, cur, "median", 1, quantile(hours, m, 0.5)) ||
                series_add(s, cur, "p90", 1, quantile(hours, m, 0.9))) {
                rc = SQLITE_NOMEM;
                break;
            }
            m = 0;
        }
        if (!row)
            break;
        cur = bucket;
        have = 1;
        if (m == cap) {
            double *more = realloc(hours, (cap *= 2) * sizeof *hours);
            if (!more) {
                rc = SQLITE_NOMEM;
                break;
            }
            hours = more;
        }
        hours[m++] = sqlite3_column_double(st, 1);
    }
    db_done(st);
    free(hours);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_NOMEM ? CP_ERR : db_err(rc);
    return CP_OK;
}

/* What one series asks. */
struct ask {
    int metric, interval, group;
    int has_from, has_to;
    int64_t from, to;
};

/* Which reports a query over the reports counts. */
enum rows { ROWS_SCOPE, ROWS_OVERLAP };

/* The query that counts a series from the reports themselves, for times in
 * [t0, t1) (each bound only when has0/has1): the caller's scope, or the
 * reports its rollup parts count twice. */
static void raw_query(struct ctx *c, const struct ask *a, enum rows rows, int has0, int64_t t0, int has1, int64_t t1,
                      struct sqlq *q)
{
    int removed = a->metric >= 2;
    sqlq_init(q);
    sqlq_sql(q, "SELECT ");
    bucket_sql(q, a->interval, removed);
    if (a->metric == 3) {
        sqlq_sql(q, " AS b, (r.removed_at - r.reported_at) / 3600.0 FROM reports r INDEXED BY reports_removed"
                    " WHERE r.removed_at IS NOT NULL");
    } else {
        sqlq_sql(q, " AS b, ");
        group_sql(q, a->group);
        sqlq_sql(q, " AS k, ");
        if (a->metric == 1)
            sqlq_sql(q, "r.media_count");
        else
            sqlq_sql(q, "1");
        if (a->metric == 2)
            sqlq_sql(q, " FROM reports r WHERE r.removed_at IS NOT NULL");
        else
            sqlq_sql(q, " FROM reports r WHERE 1");
    }
    if (rows == ROWS_OVERLAP) {
        sqlq_sql(q, " AND ");
        scope_overlap_where(&c->scope, a->group == 3 ? SCOPE_META : SCOPE_SEE, q);
    } else {
        /* Operators see no report, but may see how many there are: counts
         * over all reports, never a row. */
        if (strcmp(c->who.org_kind, "operator") != 0) {
            sqlq_sql(q, " AND ");
            scope_where(&c->scope, SCOPE_SEE, q);
        }
        if (a->group == 3) {
            sqlq_sql(q, " AND ");
            scope_where(&c->scope, SCOPE_META, q);
        }
    }
    if (has0) {
        if (removed)
            sqlq_sql(q, " AND r.removed_at >= ");
        else
            sqlq_sql(q, " AND r.reported_at >= ");
        sqlq_int(q, t0);
    }
    if (has1) {
        if (removed)
            sqlq_sql(q, " AND r.removed_at < ");
        else
            sqlq_sql(q, " AND r.reported_at < ");
        sqlq_int(q, t1);
    }
    /* removal_time takes a bucket's durations together, in time order. */
    if (a->metric == 3)
        sqlq_sql(q, " ORDER BY r.removed_at");
}

/* Count [t0, t1) of a series from the reports into s, with sign. */
static int raw_piece(struct ctx *c, const struct ask *a, enum rows rows, int has0, int64_t t0, int has1, int64_t t1,
                     int sign, struct series *s)
{
    struct sqlq q;
    raw_query(c, a, rows, has0, t0, has1, t1, &q);
    int st = count_cells(c, &q, a->interval == 2, sign, s);
    sqlq_free(&q);
    return st;
}

/* The bucket of a rollup day, as bucket_sql (+ month_of) makes it of a time. */
static int64_t day_bucket(int64_t day, int interval)
{
    int64_t t = day * DAY;
    if (interval == 1)
        return ((t - 345600) / 604800) * 604800 + 345600;
    return interval == 2 ? month_of(t) : t;
}

/* One time range to count from the reports: [t0, t1), each bound optional. */
struct piece {
    int has0, has1;
    int64_t t0, t1;
};

/* Add the rows of one rollup part for whole days [d0, d1) but the dirty ones. */
static int rollup_part(struct ctx *c, const struct ask *a, const struct scope_part *p, int64_t d0, int64_t d1,
                       const int64_t *dirty, size_t ndirty, struct series *s)
{
    sqlite3_stmt *st = db_prep(c->db, "SELECT day, gval, n, media FROM stats_rollup"
                                      " WHERE part = ? AND basis = ? AND gdim = ? AND day >= ? AND day < ?");
    if (!st)
        return CP_ERR;
    sqlite3_bind_text(st, 1, p->part, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, a->metric == 2);
    sqlite3_bind_int(st, 3, a->group < 0 ? 0 : a->group);
    sqlite3_bind_int64(st, 4, d0);
    sqlite3_bind_int64(st, 5, d1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t day = sqlite3_column_int64(st, 0);
        if (ndirty && rollup_has_day(dirty, ndirty, day))
            continue;
        int64_t n = sqlite3_column_int64(st, 2);
        int64_t v = a->metric == 1 ? sqlite3_column_int64(st, 3) : n;
        if (series_add(s, day_bucket(day, a->interval), a->group < 0 ? "all" : db_text(st, 1), p->sign * n,
                       (double)(p->sign * v))) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    db_done(st);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_NOMEM ? CP_ERR : db_err(rc);
    return CP_OK;
}

/* A counted series from the rollup's day sums plus what they cannot answer
 * (see the top of this file). *used is 0 when the rollup cannot serve this
 * request at all (never built, a range within one day, too many dirty days):
 * the caller then counts it from the reports. */
static int from_rollup(struct ctx *c, const struct ask *a, struct series *s, int *used)
{
    *used = 0;
    if (!stats_use_rollup || a->metric == 3 || (a->has_from && a->from <= 0) || (a->has_to && a->to <= 0))
        return CP_OK;
    /* Whole days the sums may answer: [d0, d1). */
    int64_t d0 = a->has_from ? (a->from + DAY - 1) / DAY : INT64_MIN / DAY;
    int64_t d1 = a->has_to ? a->to / DAY : INT64_MAX / DAY;
    if (d0 >= d1)
        return CP_OK;
    struct scope_part parts[SCOPE_MAX_PARTS + 1];
    int overlap = 0, np;
    if (strcmp(c->who.org_kind, "operator") == 0) {
        parts[0] = (struct scope_part){1, "*"};
        np = 1;
    } else {
        char hosts[SCOPE_MAX_COUNTRIES * 4][3], own[SCOPE_MAX_OWN_HOTLINES + 1][64];
        int nhosts = rollup_hosts(c->db, hosts, SCOPE_MAX_COUNTRIES * 4);
        int nown = c->scope.kind == SCOPE_LEA
                       ? rollup_hotlines_of(c->db, c->scope.country, own, SCOPE_MAX_OWN_HOTLINES + 1)
                       : 0;
        np = scope_parts(&c->scope, a->group == 3 ? SCOPE_META : SCOPE_SEE, hosts, nhosts, own, nown, parts,
                         &overlap);
        if (np < 0)
            return CP_OK;
    }
    int64_t *dirty = NULL;
    size_t nd = 0;
    int whole = 0;
    int st = rollup_dirty(c->db, a->metric == 2, &dirty, &nd, &whole);
    if (st != CP_OK || whole) {
        free(dirty);
        return st;
    }
    /* The pieces to count from the reports: both partial days, then each run
     * of dirty days within the range; between them, the clean runs. */
    struct piece raw[STATS_MAX_PIECES + 2], clean[STATS_MAX_PIECES + 2];
    int nraw = 0, nclean = 0;
    if (a->has_from && a->from < d0 * DAY)
        raw[nraw++] = (struct piece){1, 1, a->from, d0 * DAY};
    if (a->has_to && d1 * DAY < a->to)
        raw[nraw++] = (struct piece){1, 1, d1 * DAY, a->to};
    int64_t next = d0; /* first day not yet in a piece */
    int has_next = a->has_from;
    for (size_t i = 0; i < nd && nraw <= STATS_MAX_PIECES; i++) {
        if (dirty[i] < d0 || dirty[i] >= d1)
            continue;
        size_t j = i;
        while (j + 1 < nd && dirty[j + 1] == dirty[j] + 1 && dirty[j + 1] < d1)
            j++;
        /* Day 0 also holds the second before 1970 that integer division puts there. */
        int64_t t0 = dirty[i] * DAY - (dirty[i] <= 0 ? DAY - 1 : 0);
        raw[nraw++] = (struct piece){1, 1, t0, (dirty[j] + 1) * DAY};
        if (dirty[i] > next || !has_next)
            clean[nclean++] = (struct piece){has_next, 1, next * DAY, t0};
        next = dirty[j] + 1;
        has_next = 1;
        i = j;
    }
    if (nraw > STATS_MAX_PIECES) {
        free(dirty);
        return CP_OK;
    }
    clean[nclean++] = (struct piece){has_next, a->has_to, next * DAY, d1 * DAY};
    *used = 1;
    stats_rollup_answers++;
    for (int i = 0; i < np && st == CP_OK; i++)
        st = rollup_part(c, a, &parts[i], d0, d1, dirty, nd, s);
    for (int i = 0; i < nraw && st == CP_OK; i++)
        st = raw_piece(c, a, ROWS_SCOPE, raw[i].has0, raw[i].t0, raw[i].has1, raw[i].t1, 1, s);
    for (int i = 0; overlap && i < nclean && st == CP_OK; i++)
        if (!clean[i].has0 || !clean[i].has1 || clean[i].t0 < clean[i].t1)
            st = raw_piece(c, a, ROWS_OVERLAP, clean[i].has0, clean[i].t0, clean[i].has1, clean[i].t1, -1, s);
    free(dirty);
    return st;
}

/* See stats.h. */
int stats_timeseries(struct ctx *c, struct buf *out)
{
    if (ctx_check_params(c, PARAMS) != CP_OK)
        return CP_BAD;
    const char *v;
    struct ask a = {.metric = 0, .interval = 1, .group = -1};
    if ((v = ctx_qparam(c, "metric")) && *v && (a.metric = pick(v, METRICS)) < 0)
        return ctx_bad(c, "metric", "metric must be reports, media, removed or removal_time");
    if ((v = ctx_qparam(c, "interval")) && *v && (a.interval = pick(v, INTERVALS)) < 0)
        return ctx_bad(c, "interval", "interval must be day, week or month");
    if ((v = ctx_qparam(c, "group_by")) && *v) {
        if ((a.group = pick(v, GROUPS)) < 0)
            return ctx_bad(c, "group_by", "group_by must be status, site_type, hosting_country or international");
        if (a.metric == 3)
            return ctx_bad(c, "group_by", "removal_time has its own two series (median, p90): no group_by");
        if (a.group == 3 && !scope_any_meta(&c->scope)) {
            snprintf(c->field, sizeof c->field, "group_by");
            ctx_problem(c, 403, "no-media-metadata", "Classification grouping not available",
                        "your agreement does not share media classifications");
            return CP_BAD;
        }
    }
    if (parse_range(c, &a.from, &a.to, &a.has_from, &a.has_to) != CP_OK)
        return CP_BAD;
    /* A bucket count the answer can carry. */
    int64_t span = (a.has_to ? a.to : util_now()) - (a.has_from ? a.from : 0);
    if (a.interval == 0 && (!a.has_from || span / 86400 > STATS_MAX_BUCKETS))
        return ctx_bad(c, "from", "daily series need from, and at most %d days", STATS_MAX_BUCKETS);

    /* The whole series as one query over the reports: the cache's key, and
     * how it is counted when the rollup cannot answer. */
    struct sqlq q;
    raw_query(c, &a, ROWS_SCOPE, a.has_from, a.from, a.has_to, a.to, &q);
    struct qcache_key key;
    if (qcache_get(c->db, "timeseries", &q, &key, out)) {
        sqlq_free(&q);
        return CP_OK;
    }
    struct series s;
    memset(&s, 0, sizeof s);
    int used = 0;
    int st = from_rollup(c, &a, &s, &used);
    if (st == CP_OK && !used) {
        s.n = 0;
        if (s.tab)
            memset(s.tab, 0, s.slots * sizeof *s.tab);
        st = a.metric == 3 ? removal_cells(c, &q, a.interval == 2, &s)
                           : count_cells(c, &q, a.interval == 2, 1, &s);
    }
    sqlq_free(&q);
    free(s.tab);
    if (st != CP_OK) {
        free(s.v);
        qcache_key_free(&key);
        return st;
    }
    buf_reset(out);
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "metric");
    jw_str(&w, METRICS[a.metric]);
    jw_key(&w, "interval");
    jw_str(&w, INTERVALS[a.interval]);
    jw_key(&w, "group_by");
    if (a.group >= 0)
        jw_str(&w, GROUPS[a.group]);
    else
        jw_null(&w);
    jw_key(&w, "unit");
    jw_str(&w, a.metric == 3 ? "hours" : a.metric == 1 ? "media items" : "reports");
    write_series(&w, s.v, s.n, a.metric == 3);
    jw_obj_end(&w);
    free(s.v);
    qcache_put(&key, out->p);
    return CP_OK;
}

/* See stats.h. */
int stats_top(struct ctx *c, struct buf *out)
{
    if (ctx_check_params(c, TOP_PARAMS) != CP_OK)
        return CP_BAD;
    const char *v = ctx_qparam(c, "field");
    static const char *const FIELDS[] = {"provider", "asn", NULL};
    int field = v && *v ? pick(v, FIELDS) : -1;
    if (field < 0)
        return ctx_bad(c, "field", "field must be provider or asn");
    long limit = 10;
    if ((v = ctx_qparam(c, "limit")) && *v) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 100 || *v < '0' || *v > '9')
            return ctx_bad(c, "limit", "limit must be a whole number from 1 to 100");
    }
    int64_t from = 0, to = 0;
    int has_from, has_to;
    if (parse_range(c, &from, &to, &has_from, &has_to) != CP_OK)
        return CP_BAD;
    struct sqlq q;
    sqlq_init(&q);
    if (field == 0)
        sqlq_sql(&q, "SELECT coalesce(r.host_provider, 'unknown') AS k, count(*) AS n");
    else
        sqlq_sql(&q, "SELECT r.host_asn AS k, count(*) AS n");
    sqlq_sql(&q, " FROM reports r WHERE ");
    scope_where(&c->scope, SCOPE_SEE, &q);
    if (field == 1)
        sqlq_sql(&q, " AND r.host_asn IS NOT NULL");
    if (has_from) {
        sqlq_sql(&q, " AND r.reported_at >= ");
        sqlq_int(&q, from);
    }
    if (has_to) {
        sqlq_sql(&q, " AND r.reported_at < ");
        sqlq_int(&q, to);
    }
    sqlq_sql(&q, " GROUP BY k ORDER BY n DESC, k LIMIT ");
    sqlq_int(&q, limit);
    struct qcache_key key;
    if (qcache_get(c->db, "top", &q, &key, out)) {
        sqlq_free(&q);
        return CP_OK;
    }
    sqlite3_stmt *st = sqlq_prepare(&q, c->db);
    sqlq_free(&q);
    if (!st) {
        qcache_key_free(&key);
        return CP_ERR;
    }
    buf_reset(out);
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "field");
    jw_str(&w, FIELDS[field]);
    jw_key(&w, "items");
    jw_arr(&w);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        jw_obj(&w);
        jw_key(&w, "value");
        if (field == 1)
            jw_int(&w, sqlite3_column_int64(st, 0));
        else
            jw_str(&w, db_text(st, 0));
        jw_key(&w, "count");
        jw_int(&w, sqlite3_column_int64(st, 1));
        jw_obj_end(&w);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        qcache_key_free(&key);
        return db_err(rc);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    qcache_put(&key, out->p);
    return CP_OK;
}
