/*
 * jw - the JSON writer for hot responses: writes straight into a buffer, escaped
 * by construction (every string goes through jw_str), with commas placed by the
 * writer. cJSON stays for parsing and for small answers; report lists and
 * details, thousands a second, are written here without building a tree.
 */
#ifndef CPORT_JW_H
#define CPORT_JW_H

#include "util.h"

#include <sqlite3.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
    struct buf *b;
    int depth;
    int n[JW_MAX_DEPTH]; /* values written at each level so far */
    int after_key;
};

void jw_init(struct jw *w, struct buf *b);
void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *k); /* k: a literal key, written as is */
void jw_str(struct jw *w, const char *s); /* NULL writes null */
/* A comma-separated text ("md5,pdq:41") as an array of strings; "" or NULL: []. */
void jw_csv_array(struct jw *w, const char *csv);
void jw_int(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
void jw_time(struct jw *w, int64_t t);  /* ISO-8601 UTC */
void jw_raw(struct jw *w, const char *json); /* an already-encoded value */

/* Column helpers: the value of column col, or null when it is NULL. */
void jw_col_text(struct jw *w, const char *k, sqlite3_stmt *st, int col);
void jw_col_int(struct jw *w, const char *k, sqlite3_stmt *st, int col);
void jw_col_bool(struct jw *w, const char *k, sqlite3_stmt *st, int col);
void jw_col_time(struct jw *w, const char *k, sqlite3_stmt *st, int col);

/* Write the current row's columns as members, in order, by a spec of
 * space-separated "<type>:<key>" words (keys are literals of our code):
 * i integer, t text, b boolean, T time (ISO-8601), j JSON text the database
 * holds already validated, - skip the column. NULL is written as null. */
void jw_columns(struct jw *w, sqlite3_stmt *st, const char *spec);

#endif
