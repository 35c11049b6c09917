/*
 * sqlq - builds SQL whose text comes only from string literals in the source,
 * with every value bound. sqlq_sql() accepts literals only (the macro pastes ""
 * before its argument, which fails to compile for anything else), so no user
 * text can end up inside SQL.
 */
#ifndef CPORT_SQLQ_H
#define CPORT_SQLQ_H

#include "db.h"
#include "util.h"

/* Must hold every value the largest valid request binds, or sqlq_prepare fails
 * and a valid search answers 500: a report search binds each item of its three
 * lists (hosting_country, site_type, status: REPORTS_MAX_LIST = 32 each, repeats
 * allowed) plus scope, q, hotline, domain, dates, cursor and limit - about 115.
 * (64 was too few: test/hardening.test.mjs.) */
#define SQLQ_MAX_BINDS 256

struct sqlq_bind {
    int type; /* 0 int, 1 text */
    int64_t i;
    const char *s; /* copied into the statement when bound */
};

struct sqlq {
    struct buf sql;
    struct sqlq_bind binds[SQLQ_MAX_BINDS];
    int n;
    int overflow;
};

void sqlq_init(struct sqlq *q);
void sqlq_free(struct sqlq *q);
#define sqlq_sql(q, lit) sqlq_sql_((q), "" lit)
void sqlq_sql_(struct sqlq *q, const char *lit);
/* Append a placeholder and its value. */
void sqlq_text(struct sqlq *q, const char *s);
void sqlq_int(struct sqlq *q, int64_t v);
/* Append "(?,?,...)" for a list of texts. */
void sqlq_text_list(struct sqlq *q, const char *const *vals, int n);
/* Append "(SELECT value FROM json_each(?))" bound to a JSON array text: one
 * parameter and the same SQL text however long the set (scope sets). */
void sqlq_json_set(struct sqlq *q, const char *json);
/* Prepare (through the statement cache) and bind. NULL on error or overflow. */
sqlite3_stmt *sqlq_prepare(struct sqlq *q, struct db *d);

#endif
