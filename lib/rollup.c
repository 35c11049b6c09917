/*
 * rollup - rebuilding stats_rollup's dirty days; see rollup.h.
 *
 * The reports of a basis are read in time order through its index, so one
 * day's sums are complete when the day changes: they are written and the
 * table starts again, and memory stays that of one day however many reports.
 */
#include "rollup.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define PART_LEN 72
#define GVAL_LEN 48

/* Strings interned to small numbers: the parts and group values, a few
 * hundred at most, so that a day's sums are keyed by numbers. */
struct dict {
    char (*s)[PART_LEN];
    uint32_t *tab; /* index + 1; 0 empty */
    size_t n, cap, slots;
};

/* One sum of a day: (part, gdim, gval) -> reports and media items. */
struct rcell {
    uint32_t part, gval;
    int gdim;
    int64_t n, media;
};

/* The sums of the day being read; parts and values by number. */
struct acc {
    struct rcell *v;
    uint32_t *tab; /* index + 1; 0 empty */
    size_t n, cap, slots;
    struct dict parts, gvals;
};

/* A hotline's code and country, to put reports into d: parts. */
struct hl {
    char code[64];
    char country[8];
};

/* FNV-1a over a string, its high bits folded into the low ones a table
 * indexes by. */
static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h ^ (h >> 32) ^ (h >> 47);
}

/* Mix a cell's key into a table index. */
static size_t cell_slot(uint32_t part, int gdim, uint32_t gval, size_t slots)
{
    uint64_t h = ((uint64_t)part << 34 | (uint64_t)gdim << 30 | gval) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29)) & (slots - 1);
}

/* The number of string s (cut to max - 1 bytes, as the columns and the raw
 * series' keys cut it) in d, added when new; -1 when out of memory. */
static int64_t dict_id(struct dict *d, const char *in, size_t max)
{
    char s[PART_LEN];
    size_t l = strnlen(in, max - 1);
    memcpy(s, in, l);
    s[l] = 0;
    if (d->n * 2 >= d->slots) {
        size_t slots = d->slots ? d->slots * 2 : 256;
        uint32_t *t = calloc(slots, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < d->n; i++) {
            size_t at = (size_t)fnv(d->s[i]) & (slots - 1);
            while (t[at])
                at = (at + 1) & (slots - 1);
            t[at] = (uint32_t)(i + 1);
        }
        free(d->tab);
        d->tab = t;
        d->slots = slots;
    }
    size_t at = (size_t)fnv(s) & (d->slots - 1);
    while (d->tab[at]) {
        if (strcmp(d->s[d->tab[at] - 1], s) == 0)
            return d->tab[at] - 1;
        at = (at + 1) & (d->slots - 1);
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 128;
        char(*v)[PART_LEN] = realloc(d->s, cap * sizeof *v);
        if (!v)
            return -1;
        d->s = v;
        d->cap = cap;
    }
    memcpy(d->s[d->n], s, l + 1);
    d->tab[at] = (uint32_t)++d->n;
    return (int64_t)d->n - 1;
}

/* Free a dictionary. */
static void dict_free(struct dict *d)
{
    free(d->s);
    free(d->tab);
}

/* Add a report with media items to cell (part, gdim, gval) of the current day. */
static int acc_add(struct acc *a, uint32_t part, int gdim, uint32_t gval, int64_t media)
{
    if (a->n * 2 >= a->slots) {
        size_t slots = a->slots ? a->slots * 2 : 1024;
        uint32_t *t = calloc(slots, sizeof *t);
        if (!t)
            return -1;
        for (size_t i = 0; i < a->n; i++) {
            size_t at = cell_slot(a->v[i].part, a->v[i].gdim, a->v[i].gval, slots);
            while (t[at])
                at = (at + 1) & (slots - 1);
            t[at] = (uint32_t)(i + 1);
        }
        free(a->tab);
        a->tab = t;
        a->slots = slots;
    }
    size_t at = cell_slot(part, gdim, gval, a->slots);
    while (a->tab[at]) {
        struct rcell *c = &a->v[a->tab[at] - 1];
        if (c->part == part && c->gdim == gdim && c->gval == gval) {
            c->n++;
            c->media += media;
            return 0;
        }
        at = (at + 1) & (a->slots - 1);
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 512;
        struct rcell *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n] = (struct rcell){part, gval, gdim, 1, media};
    a->tab[at] = (uint32_t)++a->n;
    return 0;
}

/* Write the current day's sums and empty the table. */
static int acc_flush(struct db *d, struct acc *a, int basis, int64_t day)
{
    sqlite3_stmt *st = db_prep(d, "INSERT INTO stats_rollup(part, basis, gdim, day, gval, n, media)"
                                  " VALUES (?,?,?,?,?,?,?)");
    if (!st)
        return CP_ERR;
    for (size_t i = 0; i < a->n; i++) {
        const struct rcell *c = &a->v[i];
        sqlite3_bind_text(st, 1, a->parts.s[c->part], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, basis);
        sqlite3_bind_int(st, 3, c->gdim);
        sqlite3_bind_int64(st, 4, day);
        sqlite3_bind_text(st, 5, a->gvals.s[c->gval], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, c->n);
        sqlite3_bind_int64(st, 7, c->media);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_err(rc);
    }
    sqlite3_clear_bindings(st);
    a->n = 0;
    if (a->tab)
        memset(a->tab, 0, a->slots * sizeof *a->tab);
    return CP_OK;
}

/* The country of a hotline code, NULL when unknown. */
static const char *hl_country(const struct hl *h, size_t n, const char *code)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(h[mid].code, code);
        if (!c)
            return h[mid].country;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Every hotline, sorted by code. */
static int load_hotlines(struct db *d, struct hl **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = db_prep(d, "SELECT code, country FROM hotlines ORDER BY code");
    if (!st)
        return CP_ERR;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            struct hl *more = realloc(*out, cap * sizeof *more);
            if (!more) {
                db_done(st);
                return CP_ERR;
            }
            *out = more;
        }
        snprintf((*out)[*n].code, sizeof (*out)[*n].code, "%s", db_text(st, 0));
        snprintf((*out)[*n].country, sizeof (*out)[*n].country, "%s", db_text(st, 1));
        ++*n;
    }
    db_done(st);
    return rc == SQLITE_DONE ? CP_OK : db_err(rc);
}

/* See rollup.h. */
int rollup_has_day(const int64_t *days, size_t n, int64_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (days[mid] == day)
            return 1;
        if (days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Add one report to every part it belongs to, in all four groupings. */
static int add_report(struct acc *a, sqlite3_stmt *st, const struct hl *hls, size_t nhl)
{
    const char *host = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : db_text(st, 1);
    const char *rep = sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : db_text(st, 2);
    const char *ass = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL : db_text(st, 3);
    int64_t bits = sqlite3_column_int64(st, 4), media = sqlite3_column_int64(st, 7);
    const char *gv[4] = {db_text(st, 5), db_text(st, 6), host ? host : "unknown",
                         bits & 1 ? "baseline" : bits & 2 ? "not_baseline" : "unclassified"};
    char parts[9][PART_LEN];
    int np = 0;
    snprintf(parts[np++], PART_LEN, "*");
    if (bits & 1)
        snprintf(parts[np++], PART_LEN, "i");
    snprintf(parts[np++], PART_LEN, host ? "h:%s" : "h-", host ? host : "");
    if (rep) {
        snprintf(parts[np++], PART_LEN, "r:%s", rep);
        const char *cc = hl_country(hls, nhl, rep);
        if (cc && host && strcmp(host, cc) == 0)
            snprintf(parts[np++], PART_LEN, "d:%s", cc);
        if (ass && strcmp(rep, ass) == 0)
            snprintf(parts[np++], PART_LEN, "b:%s", rep);
    }
    if (ass)
        snprintf(parts[np++], PART_LEN, "a:%s", ass);
    int64_t gid[4];
    for (int g = 0; g < 4; g++)
        if ((gid[g] = dict_id(&a->gvals, gv[g], GVAL_LEN)) < 0)
            return CP_ERR;
    for (int p = 0; p < np; p++) {
        int64_t pid = dict_id(&a->parts, parts[p], PART_LEN);
        if (pid < 0)
            return CP_ERR;
        for (int g = 0; g < 4; g++)
            if (acc_add(a, (uint32_t)pid, g, (uint32_t)gid[g], media))
                return CP_ERR;
    }
    return CP_OK;
}

/* Sum the reports of basis with times in [t0, t1) into per-day rows; only
 * days in the list count when a list is given. */
static int scan(struct db *d, struct acc *a, int basis, int64_t t0, int64_t t1, const int64_t *only, size_t nonly,
                const struct hl *hls, size_t nhl)
{
    sqlite3_stmt *st =
        basis == 0 ? db_prep(d, "SELECT reported_at, host_country, reporting_hotline, assessing_hotline, class_bits,"
                                " status, site_type, media_count FROM reports"
                                " WHERE reported_at >= ? AND reported_at < ? ORDER BY reported_at")
                   : db_prep(d, "SELECT removed_at, host_country, reporting_hotline, assessing_hotline, class_bits,"
                                " status, site_type, media_count FROM reports INDEXED BY reports_removed"
                                " WHERE removed_at IS NOT NULL AND removed_at >= ? AND removed_at < ?"
                                " ORDER BY removed_at");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int64(st, 1, t0);
    sqlite3_bind_int64(st, 2, t1);
    int64_t cur = 0;
    int have = 0, rc, e = CP_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t day = sqlite3_column_int64(st, 0) / DAY;
        if (only && !rollup_has_day(only, nonly, day))
            continue;
        if (have && day != cur && (e = acc_flush(d, a, basis, cur)) != CP_OK)
            break;
        cur = day;
        have = 1;
        if ((e = add_report(a, st, hls, nhl)) != CP_OK)
            break;
    }
    db_done(st);
    if (e != CP_OK)
        return e;
    if (rc != SQLITE_DONE)
        return db_err(rc);
    return have ? acc_flush(d, a, basis, cur) : CP_OK;
}

/* See rollup.h. */
int rollup_dirty(struct db *d, int basis, int64_t **days, size_t *n, int *whole)
{
    *days = NULL;
    *n = 0;
    *whole = 0;
    sqlite3_stmt *st = db_prep(d, "SELECT basis, day FROM stats_dirty WHERE basis IN (-1, ?) ORDER BY basis, day");
    if (!st)
        return CP_ERR;
    sqlite3_bind_int(st, 1, basis);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0) < 0) {
            *whole = 1;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            int64_t *more = realloc(*days, cap * sizeof *more);
            if (!more) {
                db_done(st);
                free(*days);
                *days = NULL;
                return CP_ERR;
            }
            *days = more;
        }
        (*days)[(*n)++] = sqlite3_column_int64(st, 1);
    }
    db_done(st);
    if (rc != SQLITE_DONE) {
        free(*days);
        *days = NULL;
        return db_err(rc);
    }
    return CP_OK;
}

/* See rollup.h. */
int rollup_hosts(struct db *d, char (*hosts)[3], int max)
{
    sqlite3_stmt *st = db_prep(d, "SELECT substr(part, 3) FROM stats_parts WHERE part > 'h:' AND part < 'h;'");
    if (!st)
        return -1;
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cc = db_text(st, 0);
        if (n == max || strlen(cc) != 2) {
            n = -1;
            break;
        }
        memcpy(hosts[n++], cc, 3);
    }
    db_done(st);
    return n >= 0 && rc == SQLITE_DONE ? n : -1;
}

/* See rollup.h. */
int rollup_hotlines_of(struct db *d, const char *cc, char (*codes)[64], int max)
{
    sqlite3_stmt *st = db_prep(d, "SELECT code FROM hotlines WHERE country = ? ORDER BY code");
    if (!st)
        return -1;
    db_bind_text(st, 1, cc);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
        const char *code = db_text(st, 0);
        if (strlen(code) > 63)
            break;
        memcpy(codes[n++], code, strlen(code) + 1);
    }
    db_done(st);
    return (rc == SQLITE_ROW && n == max) || rc == SQLITE_DONE ? n : -1;
}

/* Rebuild the dirty days of one basis: delete their rows in every part, then
 * sum them again, one run of consecutive days at a time. */
static int refresh_days(struct db *d, struct acc *a, int basis, const int64_t *days, size_t n, const struct hl *hls,
                        size_t nhl)
{
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && days[j] == days[j - 1] + 1)
            j++;
        int64_t first = days[i], last = days[j - 1];
        sqlite3_stmt *del = db_prep(d, "DELETE FROM stats_rollup WHERE part IN (SELECT part FROM stats_parts)"
                                       " AND basis = ? AND gdim IN (0, 1, 2, 3) AND day BETWEEN ? AND ?");
        if (!del)
            return CP_ERR;
        sqlite3_bind_int(del, 1, basis);
        sqlite3_bind_int64(del, 2, first);
        sqlite3_bind_int64(del, 3, last);
        int rc = sqlite3_step(del);
        db_done(del);
        if (rc != SQLITE_DONE)
            return db_err(rc);
        /* Times of those days; day 0 also holds the second before 1970 that
         * integer division puts there. */
        int64_t t0 = first * DAY - (first <= 0 ? DAY - 1 : 0), t1 = (last + 1) * DAY;
        int e = scan(d, a, basis, t0, t1, days + i, j - i, hls, nhl);
        if (e != CP_OK)
            return e;
        i = j;
    }
    return CP_OK;
}

/* Commit, or roll back on failure; the message says why (a full disk shows
 * at the commit, when the WAL is written). */
static int finish(struct db *d, int e, char *msg, size_t msglen)
{
    if (e != CP_OK) {
        snprintf(msg, msglen, "%s", sqlite3_errmsg(d->h));
        db_rollback(d);
    } else if ((e = db_commit(d)) != CP_OK) {
        snprintf(msg, msglen, "commit failed: %s", d->commit_error);
    }
    return e;
}

/* Start a whole rebuild: empty the rollup and mark every day that has reports
 * (or removals), in one transaction; the chunks then rebuild them. */
static int start_whole(struct db *d, char *msg, size_t msglen)
{
    int e = db_begin(d);
    if (e != CP_OK)
        return snprintf(msg, msglen, "database is busy"), e;
    e = db_exec(d,
                "DELETE FROM stats_rollup; DELETE FROM stats_parts; DELETE FROM stats_dirty;"
                "INSERT OR IGNORE INTO stats_dirty(basis, day) SELECT DISTINCT 0, reported_at / 86400 FROM reports;"
                "INSERT OR IGNORE INTO stats_dirty(basis, day) SELECT DISTINCT 1, removed_at / 86400"
                " FROM reports INDEXED BY reports_removed WHERE removed_at IS NOT NULL",
                NULL, 0);
    return finish(d, e, msg, msglen);
}

/* Rebuild up to ROLLUP_DAYS_PER_TXN of the marked days in one transaction and
 * unmark them. *n: how many (0: none left); *whole: everything was marked
 * (start_whole first). */
static int refresh_chunk(struct db *d, long *n, int *whole, char *msg, size_t msglen)
{
    *n = 0;
    int e = db_begin(d);
    if (e != CP_OK)
        return snprintf(msg, msglen, "database is busy"), e;
    int64_t *dd[2] = {NULL, NULL};
    size_t nd[2] = {0, 0};
    struct hl *hls = NULL;
    size_t nhl = 0;
    struct acc a;
    memset(&a, 0, sizeof a);
    int w;
    *whole = 0;
    for (int b = 0; b < 2 && e == CP_OK; b++) {
        e = rollup_dirty(d, b, &dd[b], &nd[b], &w);
        *whole |= w;
    }
    /* This transaction's days: the first ones of basis 0, then of basis 1. */
    size_t take0 = nd[0] < ROLLUP_DAYS_PER_TXN ? nd[0] : ROLLUP_DAYS_PER_TXN;
    size_t take1 = nd[1] < ROLLUP_DAYS_PER_TXN - take0 ? nd[1] : ROLLUP_DAYS_PER_TXN - take0;
    if (e == CP_OK && (*whole || take0 + take1 == 0)) {
        db_rollback(d);
        free(dd[0]);
        free(dd[1]);
        return CP_OK;
    }
    if (e == CP_OK)
        e = load_hotlines(d, &hls, &nhl);
    if (e == CP_OK)
        e = refresh_days(d, &a, 0, dd[0], take0, hls, nhl);
    if (e == CP_OK)
        e = refresh_days(d, &a, 1, dd[1], take1, hls, nhl);
    sqlite3_stmt *st = e == CP_OK ? db_prep(d, "INSERT OR IGNORE INTO stats_parts(part) VALUES (?)") : NULL;
    for (size_t i = 0; st && i < a.parts.n && e == CP_OK; i++) {
        sqlite3_bind_text(st, 1, a.parts.s[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            e = db_err(rc);
    }
    if (st)
        db_done(st);
    else if (e == CP_OK)
        e = CP_ERR;
    /* Unmark them: the first days of each basis, so every marked day up to the
     * last one taken (nothing marks days while this transaction writes). */
    for (int b = 0; b < 2 && e == CP_OK; b++) {
        size_t take = b ? take1 : take0;
        if (!take)
            continue;
        st = db_prep(d, "DELETE FROM stats_dirty WHERE basis = ? AND day <= ?");
        if (!st) {
            e = CP_ERR;
            break;
        }
        sqlite3_bind_int(st, 1, b);
        sqlite3_bind_int64(st, 2, dd[b][take - 1]);
        int rc = sqlite3_step(st);
        db_done(st);
        if (rc != SQLITE_DONE)
            e = db_err(rc);
    }
    e = finish(d, e, msg, msglen);
    free(dd[0]);
    free(dd[1]);
    free(hls);
    free(a.v);
    free(a.tab);
    dict_free(&a.parts);
    dict_free(&a.gvals);
    if (e == CP_OK)
        *n = (long)(take0 + take1);
    return e;
}

/* See rollup.h. */
int rollup_refresh(struct db *d, long *days, char *err, size_t errlen)
{
    *days = 0;
    /* The rollup of a million reports is some 100 MB, written part by part
     * across the table: keep it in the page cache, as the importer does (the
     * setting stays with this connection: `cport` opens its own). */
    db_exec(d, "PRAGMA cache_size=-262144", NULL, 0);
    char msg[256] = "";
    int e = CP_OK, whole = 0, was_whole = 0;
    for (;;) {
        long n;
        if ((e = refresh_chunk(d, &n, &whole, msg, sizeof msg)) != CP_OK)
            break;
        if (whole) {
            if ((e = start_whole(d, msg, sizeof msg)) != CP_OK)
                break;
            was_whole = 1;
            continue;
        }
        if (!n)
            break;
        *days += n;
    }
    if (e != CP_OK)
        return fail(err, errlen, e, "rebuilding the dashboard's day sums failed: %s", msg);
    if (was_whole)
        *days = -1;
    return CP_OK;
}
