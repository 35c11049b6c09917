/*
 * testdb.h - one-value SQL probes the C tests use to check what landed in the
 * database (plain prepare/step/finalize, outside lib's statement cache).
 */
#ifndef CPORT_TESTDB_H
#define CPORT_TESTDB_H

#include "db.h"

#include <stdio.h>

/* First column of the first row of sql as an integer (-1 when no row). */
static inline long long tq_int(struct db *d, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* First column of the first row of sql as text ("(none)" when no row or NULL). */
static inline const char *tq_text(struct db *d, const char *sql)
{
    static char out[1024];
    sqlite3_stmt *st = NULL;
    snprintf(out, sizeof out, "(none)");
    if (sqlite3_prepare_v2(d->h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

#endif
