/*
 * reports - searching and reading ICCAM reports within the caller's scope:
 * filters, FTS5 full text, keyset pagination, facet counts, the detail view
 * with media, classifications and hotlines.
 */
#ifndef CPORT_REPORTS_H
#define CPORT_REPORTS_H

#include "api.h"

#define REPORTS_MAX_LIST 32

/* A validated search. Lists are ORed within a key, keys are ANDed. */
struct report_filter {
    const char *q;      /* FTS5 query, already quoted: user text is never syntax */
    int q_bitmap;       /* test q through the cached hit bitmap (many hits) */
    const char *countries[REPORTS_MAX_LIST];
    int ncountries;
    const char *site_types[REPORTS_MAX_LIST];
    int nsite_types;
    const char *statuses[REPORTS_MAX_LIST];
    int nstatuses;
    int class_bits;     /* international/national bits asked for */
    int class_nat_bits;
    int type_bits;      /* media types asked for */
    const char *hotline;
    const char *domain;
    int has_from, has_to;
    int64_t from, to;   /* reported_at range, inclusive from, exclusive to */
    int sort;           /* index into reports_sorts */
    int desc;
    int limit;
    int has_cursor;     /* keyset position */
    int64_t cur_num;
    const char *cur_text;
    int64_t cur_id;
};

/* Parse and validate the query parameters of /reports and /stats into f.
 * On bad input the 400 is already written and CP_BAD returned. */
int reports_parse_filter(struct ctx *c, struct report_filter *f, int paging);

/* GET /reports: one page of results with total and next cursor. */
int reports_search(struct ctx *c, const struct report_filter *f, struct buf *out);

/* A filter given as a JSON object (packages, saved searches): the keys of GET
 * /reports' filters with text values, judged by reports_parse_filter. On bad
 * input the 400 (naming field, or the filter key at fault) is written and
 * CP_BAD returned. canonical (may be NULL) gets the object without empty
 * members as compact JSON text (caller frees). The request's query
 * parameters are used and left empty. */
int reports_filter_json(struct ctx *c, const cJSON *obj, const char *field, struct report_filter *f, char **canonical);

/* How many reports of the filter in the caller's scope were added or changed
 * (updated_at) after since. */
int reports_count_since(struct ctx *c, const struct report_filter *f, int64_t since, int64_t *count);

/* reports_parse_filter's paging argument for an export: the filters, sort and
 * format, never limit or cursor. */
#define REPORTS_EXPORT 2

/* The header line of a report CSV (exports and packages' reports.csv). */
#define REPORTS_CSV_HEADER                                                                                  \
    "id,iccam_id,url,domain,site_type,hosting_country,hosting_ip,hosting_asn,hosting_provider,status,"     \
    "reported_at,updated_at,reporting_hotline,assessing_hotline,media_count\n"

/* The SELECT list (over reports r) of one CSV line, and the line from such a row. */
#define REPORTS_CSV_COLS                                                                                     \
    "r.id, r.iccam_id, r.url, r.domain, r.site_type, r.host_country, r.host_ip, r.host_asn, r.host_provider," \
    " r.status, r.reported_at, r.updated_at, r.reporting_hotline, r.assessing_hotline, r.media_count"
void reports_csv_row(struct buf *b, sqlite3_stmt *st);

/* Every report of the filter in the caller's scope, in f's sort order, as CSV
 * (with its header) or NDJSON (one listing object a line), handed to write in
 * pieces; *rows counts them. Its own read transaction. CP_OK, or the error
 * (CP_ERR also when write fails: the client went away). */
int reports_export(struct ctx *c, const struct report_filter *f, int ndjson,
                   int (*write)(void *w, const void *p, size_t n), void *w, int64_t *rows);
/* GET /reports/{id}: CP_NOTFOUND when absent or out of scope. */
int reports_get(struct ctx *c, int64_t id, struct buf *out);
/* Insert the id of every report f selects in the caller's scope into the
 * temp table pkg_reports(id INTEGER PRIMARY KEY), which the caller created
 * (packages build from it). */
int reports_select_ids(struct ctx *c, const struct report_filter *f);

/* Report ids given in a request (packages, IWOL evidence), checked: a JSON
 * array of 1..max whole positive numbers. On success *json holds them as
 * canonical JSON text (caller frees) and out counts the distinct ids, how many
 * of them are reports in the caller's scope (and on domain, when not NULL),
 * and how many of those have a current baseline item. CP_BAD (nothing
 * written) when the array is malformed; the caller names its field. */
struct reports_ids {
    int64_t distinct, visible, baseline;
};
int reports_check_ids(struct ctx *c, const cJSON *ids, int max, const char *domain, char **json,
                      struct reports_ids *out);

/* GET /stats: total and facet counts for the filtered scope. */
int reports_stats(struct ctx *c, const struct report_filter *f, struct buf *out);

#endif
