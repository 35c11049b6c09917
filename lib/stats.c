/*
 * stats - time series and top lists over the reports in the caller's scope,
 * for the dashboard (operators, who see no report, get the time series as
 * counts over every report): counted from the covering browse index (reports_reported
 * carries every scope and grouping column) or the partial index of removals,
 * and kept in the per-process query cache until the next import page changes
 * the data, so a dashboard reload costs a lookup.
 */
#include "stats.h"
#include "jw.h"
#include "qcache.h"
#include "sqlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATS_MAX_BUCKETS 800 /* e.g. two years of days */

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

/* One (bucket, key) cell of a counted series. */
struct cell {
    int64_t bucket;
    char key[48];
    double value;
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
 * totals per series. */
static void write_series(struct jw *w, struct cell *cells, size_t n, int is_time)
{
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

/* The hash of a (bucket, key) cell for count_cells' table. */
static uint64_t cell_hash(int64_t bucket, const char *key)
{
    uint64_t h = (uint64_t)bucket * 0x9e3779b97f4a7c15ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* Sum a series from one row per report, in whatever order the planner's
 * index gives (it picks the narrowest: a scope's countries, its hotlines, the
 * dates): cells are found through a small open-addressing hash table on
 * (bucket, key), much cheaper than SQL's GROUP BY, which sorts every row.
 * by_month: buckets come as days, summed into their months. */
static int count_cells(struct ctx *c, struct sqlq *q, int by_month, struct cell **out, size_t *n)
{
    sqlite3_stmt *st = sqlq_prepare(q, c->db);
    if (!st)
        return CP_ERR;
    size_t cap = 1024, slots = 4096;
    struct cell *v = malloc(cap * sizeof *v);
    uint32_t *tab = calloc(slots, sizeof *tab); /* cell index + 1; 0 = empty */
    *n = 0;
    int rc = SQLITE_NOMEM;
    while (v && tab && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        if (by_month)
            b = month_of(b);
        const char *k = db_text(st, 1);
        double val = sqlite3_column_double(st, 2);
        uint64_t h = cell_hash(b, k);
        size_t at = (size_t)h & (slots - 1);
        while (tab[at] && (v[tab[at] - 1].bucket != b || strcmp(v[tab[at] - 1].key, k) != 0))
            at = (at + 1) & (slots - 1);
        if (tab[at]) {
            v[tab[at] - 1].value += val;
            continue;
        }
        if (*n * 2 >= slots || *n == cap) { /* grow both and rehash */
            size_t ns = slots * 2;
            struct cell *nv = realloc(v, cap * 2 * sizeof *v);
            uint32_t *nt = calloc(ns, sizeof *nt);
            if (!nv || !nt) {
                if (nv)
                    v = nv;
                free(nt);
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap *= 2;
            free(tab);
            tab = nt;
            slots = ns;
            for (size_t x = 0; x < *n; x++) {
                size_t y = (size_t)cell_hash(v[x].bucket, v[x].key) & (slots - 1);
                while (tab[y])
                    y = (y + 1) & (slots - 1);
                tab[y] = (uint32_t)(x + 1);
            }
            at = (size_t)h & (slots - 1);
            while (tab[at])
                at = (at + 1) & (slots - 1);
        }
        struct cell *x = &v[*n];
        x->bucket = b;
        snprintf(x->key, sizeof x->key, "%s", k);
        x->value = val;
        tab[at] = (uint32_t)(++*n);
    }
    db_done(st);
    free(tab);
    if (rc != SQLITE_DONE) {
        free(v);
        return rc == SQLITE_NOMEM ? CP_ERR : db_err(rc);
    }
    *out = v;
    return CP_OK;
}

/* removal_time: per bucket of removed_at, the median and 90th percentile of
 * hours from reported_at to removed_at (two series, "median" and "p90");
 * by_month as for count_cells. */
static int removal_cells(struct ctx *c, struct sqlq *q, int by_month, struct cell **out, size_t *n)
{
    sqlite3_stmt *st = sqlq_prepare(q, c->db);
    if (!st)
        return CP_ERR;
    size_t cap = 1024, m = 0, nc = 0;
    double *hours = malloc(cap * sizeof *hours);
    struct cell *cells = malloc(2 * STATS_MAX_BUCKETS * sizeof *cells);
    int64_t cur = 0;
    int rc = SQLITE_DONE, have = 0;
    for (;;) {
        rc = hours && cells ? sqlite3_step(st) : SQLITE_NOMEM;
        int row = rc == SQLITE_ROW;
        int64_t bucket = row ? sqlite3_column_int64(st, 0) : 0;
        if (row && by_month)
            bucket = month_of(bucket);
        if (have && (!row || bucket != cur) && m) {
            qsort(hours, m, sizeof *hours, dbl_cmp);
            if (nc + 2 <= 2 * STATS_MAX_BUCKETS) {
                cells[nc++] = (struct cell){cur, "median", quantile(hours, m, 0.5)};
                cells[nc++] = (struct cell){cur, "p90", quantile(hours, m, 0.9)};
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
    if (rc != SQLITE_DONE) {
        free(cells);
        return rc == SQLITE_NOMEM ? CP_ERR : db_err(rc);
    }
    *out = cells;
    *n = nc;
    return CP_OK;
}

/* See stats.h. */
int stats_timeseries(struct ctx *c, struct buf *out)
{
    if (ctx_check_params(c, PARAMS) != CP_OK)
        return CP_BAD;
    const char *v;
    int metric = 0, interval = 1, group = -1;
    if ((v = ctx_qparam(c, "metric")) && *v && (metric = pick(v, METRICS)) < 0)
        return ctx_bad(c, "metric", "metric must be reports, media, removed or removal_time");
    if ((v = ctx_qparam(c, "interval")) && *v && (interval = pick(v, INTERVALS)) < 0)
        return ctx_bad(c, "interval", "interval must be day, week or month");
    if ((v = ctx_qparam(c, "group_by")) && *v) {
        if ((group = pick(v, GROUPS)) < 0)
            return ctx_bad(c, "group_by", "group_by must be status, site_type, hosting_country or international");
        if (metric == 3)
            return ctx_bad(c, "group_by", "removal_time has its own two series (median, p90): no group_by");
        if (group == 3 && !scope_any_meta(&c->scope)) {
            snprintf(c->field, sizeof c->field, "group_by");
            ctx_problem(c, 403, "no-media-metadata", "Classification grouping not available",
                        "your agreement does not share media classifications");
            return CP_BAD;
        }
    }
    int64_t from = 0, to = 0;
    int has_from, has_to;
    if (parse_range(c, &from, &to, &has_from, &has_to) != CP_OK)
        return CP_BAD;
    int removed = metric >= 2;
    /* A bucket count the answer can carry. */
    int64_t span = (has_to ? to : util_now()) - (has_from ? from : 0);
    if (interval == 0 && (!has_from || span / 86400 > STATS_MAX_BUCKETS))
        return ctx_bad(c, "from", "daily series need from, and at most %d days", STATS_MAX_BUCKETS);

    struct sqlq q;
    sqlq_init(&q);
    sqlq_sql(&q, "SELECT ");
    bucket_sql(&q, interval, removed);
    if (metric == 3) {
        sqlq_sql(&q, " AS b, (r.removed_at - r.reported_at) / 3600.0 FROM reports r INDEXED BY reports_removed"
                     " WHERE r.removed_at IS NOT NULL");
    } else {
        sqlq_sql(&q, " AS b, ");
        group_sql(&q, group);
        sqlq_sql(&q, " AS k, ");
        if (metric == 1)
            sqlq_sql(&q, "r.media_count");
        else
            sqlq_sql(&q, "1");
        if (metric == 2)
            sqlq_sql(&q, " FROM reports r WHERE r.removed_at IS NOT NULL");
        else
            sqlq_sql(&q, " FROM reports r WHERE 1");
    }
    /* Operators see no report, but may see how many there are: counts over
     * all reports, never a row. */
    if (strcmp(c->who.org_kind, "operator") != 0) {
        sqlq_sql(&q, " AND ");
        scope_where(&c->scope, SCOPE_SEE, &q);
    }
    if (group == 3) {
        sqlq_sql(&q, " AND ");
        scope_where(&c->scope, SCOPE_META, &q);
    }
    if (has_from) {
        if (removed)
            sqlq_sql(&q, " AND r.removed_at >= ");
        else
            sqlq_sql(&q, " AND r.reported_at >= ");
        sqlq_int(&q, from);
    }
    if (has_to) {
        if (removed)
            sqlq_sql(&q, " AND r.removed_at < ");
        else
            sqlq_sql(&q, " AND r.reported_at < ");
        sqlq_int(&q, to);
    }
    /* removal_time takes a bucket's durations together, in time order. */
    if (metric == 3)
        sqlq_sql(&q, " ORDER BY r.removed_at");

    struct qcache_key key;
    if (qcache_get(c->db, "timeseries", &q, &key, out)) {
        sqlq_free(&q);
        return CP_OK;
    }
    struct cell *cells = NULL;
    size_t n = 0;
    int st = metric == 3 ? removal_cells(c, &q, interval == 2, &cells, &n)
                         : count_cells(c, &q, interval == 2, &cells, &n);
    sqlq_free(&q);
    if (st != CP_OK) {
        qcache_key_free(&key);
        return st;
    }
    buf_reset(out);
    struct jw w;
    jw_init(&w, out);
    jw_obj(&w);
    jw_key(&w, "metric");
    jw_str(&w, METRICS[metric]);
    jw_key(&w, "interval");
    jw_str(&w, INTERVALS[interval]);
    jw_key(&w, "group_by");
    if (group >= 0)
        jw_str(&w, GROUPS[group]);
    else
        jw_null(&w);
    jw_key(&w, "unit");
    jw_str(&w, metric == 3 ? "hours" : metric == 1 ? "media items" : "reports");
    write_series(&w, cells, n, metric == 3);
    jw_obj_end(&w);
    free(cells);
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
