/*
 * scope - the one place that decides which reports a caller may see (DOMAIN.md):
 *   lea       reports hosted in a valid agreement's jurisdiction, plus reports sent
 *             by hotlines of its own country where the agreement includes them;
 *   hotline   reports it reported or assessed;
 *   interpol  reports with at least one current `baseline` media item;
 *   operator  nothing.
 * It yields an SQL condition over the reports alias `r` with bound values; every
 * query over reports and media appends it.
 */
#ifndef CPORT_SCOPE_H
#define CPORT_SCOPE_H

#include "auth.h"
#include "sqlq.h"

#include <cjson/cJSON.h>

#define SCOPE_MAX_COUNTRIES 64

enum scope_kind { SCOPE_NOTHING, SCOPE_LEA, SCOPE_HOTLINE, SCOPE_INTERPOL };

/* What one set of agreements grants: countries and the reported-from flag. */
struct scope_grant {
    char countries[SCOPE_MAX_COUNTRIES][3];
    int n;
    int reported_from;
    char json[SCOPE_MAX_COUNTRIES * 5 + 3]; /* the countries as a JSON array */
};

struct scope {
    enum scope_kind kind;
    struct scope_grant see;     /* LEA: what the valid agreements show */
    struct scope_grant meta;    /* LEA: where they also show media metadata */
    struct scope_grant content; /* LEA: where they also show media content */
    char country[3];            /* the caller's org country */
    char hotline[64];           /* hotline: its code */
};

/* Work out the caller's scope at time now (agreement validity). An LEA's scope
 * is kept per worker for up to SCOPE_CACHE_SECONDS while the "access" data
 * version stands still, so a request does not re-read its agreements; a changed
 * agreement is seen at once, an expiring one within that time. */
#define SCOPE_CACHE_SECONDS 10
int scope_load(struct db *d, const struct caller *who, int64_t now, struct scope *s);

enum scope_level { SCOPE_SEE, SCOPE_META, SCOPE_CONTENT };

/* Append "(condition)" over alias r: the reports visible at that level. */
void scope_where(const struct scope *s, enum scope_level level, struct sqlq *q);

/* The visible reports at a level as a signed sum of stats_rollup parts
 * (schema/013_rollup.sql), for series that read sums per day instead of rows:
 *   INTERPOL "i";  a hotline r:X + a:X - b:X;
 *   an LEA h:C for each country C - or, when shorter, "*" - "h-" - h:O for
 *   each of the hosts (the countries with parts) it does not cover - and with
 *   reports sent from its country X + r:H for each hotline H of X (own, the
 *   codes of hotlines of X), - d:X when X is one of C.
 * Reports sent from X but hosted in another of C are then counted twice:
 * *overlap says so, and scope_overlap_where names them to subtract.
 * nhosts < 0: the hosts are not known (no complement).
 * Returns the number of parts (0: nothing visible), -1 when there would be
 * too many (the caller counts from the reports). */
struct scope_part {
    int sign;
    char part[72];
};
#define SCOPE_MAX_OWN_HOTLINES 8
#define SCOPE_MAX_PARTS (SCOPE_MAX_COUNTRIES + SCOPE_MAX_OWN_HOTLINES + 4)
int scope_parts(const struct scope *s, enum scope_level level, const char (*hosts)[3], int nhosts,
                const char (*own)[64], int nown, struct scope_part *out, int *overlap);
/* Append "(condition)" over alias r: the reports scope_parts counts twice. */
void scope_overlap_where(const struct scope *s, enum scope_level level, struct sqlq *q);

/* Whether any visible report can carry media metadata at all. */
int scope_any_meta(const struct scope *s);
/* Whether any visible report's media content may be shown at all. */
int scope_any_content(const struct scope *s);

/* Hash lists the caller may read (the one rule for lists): owned by its
 * organisation, or shared with it by name or with its whole org kind.
 * Operators read none. Appends "(condition)" over the hash_lists alias l. */
void scope_lists_where(const struct caller *who, struct sqlq *q);

/* The scope as JSON, for /me and for package manifests. */
cJSON *scope_json(const struct scope *s);

#endif
