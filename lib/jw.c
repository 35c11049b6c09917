/*
 * jw - direct JSON writer; see jw.h.
 */
#include "jw.h"

#include <stdio.h>
#include <string.h>

/* Start writing into b (appending). */
void jw_init(struct jw *w, struct buf *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

/* The comma before a value, unless it follows its key or opens its container. */
static void jw_sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->n[w->depth]++)
        buf_add(w->b, ",", 1);
}

/* Open an object or array. */
static void jw_open(struct jw *w, char c)
{
    jw_sep(w);
    buf_add(w->b, &c, 1);
    if (w->depth + 1 < JW_MAX_DEPTH)
        w->n[++w->depth] = 0;
}

/* Close an object or array. */
static void jw_close(struct jw *w, char c)
{
    buf_add(w->b, &c, 1);
    if (w->depth)
        w->depth--;
}

void jw_obj(struct jw *w) { jw_open(w, '{'); }
void jw_obj_end(struct jw *w) { jw_close(w, '}'); }
void jw_arr(struct jw *w) { jw_open(w, '['); }
void jw_arr_end(struct jw *w) { jw_close(w, ']'); }

/* A key; keys are identifiers from the source, so they need no escaping. */
void jw_key(struct jw *w, const char *k)
{
    jw_sep(w);
    buf_add(w->b, "\"", 1);
    buf_adds(w->b, k);
    buf_add(w->b, "\":", 2);
    w->after_key = 1;
}

/* A string, escaped per RFC 8259 (quotes, backslash, controls; and '<', '>',
 * '&' as \u escapes so no JSON can be mistaken for markup). */
void jw_str(struct jw *w, const char *s)
{
    if (!s) {
        jw_null(w);
        return;
    }
    jw_sep(w);
    buf_add(w->b, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != '<' && *p != '>' && *p != '&')
            continue;
        buf_add(w->b, run, (size_t)((const char *)p - run));
        char esc[8];
        switch (*p) {
        case '"': buf_add(w->b, "\\\"", 2); break;
        case '\\': buf_add(w->b, "\\\\", 2); break;
        case '\n': buf_add(w->b, "\\n", 2); break;
        case '\r': buf_add(w->b, "\\r", 2); break;
        case '\t': buf_add(w->b, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            buf_add(w->b, esc, 6);
        }
        run = (const char *)p + 1;
    }
    buf_adds(w->b, run);
    buf_add(w->b, "\"", 1);
}

/* An integer, without printf. */
void jw_int(struct jw *w, int64_t v)
{
    jw_sep(w);
    char tmp[24], *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_add(w->b, p, (size_t)(tmp + sizeof tmp - p));
}

/* A floating-point number (shortest round-tripping form is not needed here). */
void jw_double(struct jw *w, double v)
{
    jw_sep(w);
    buf_printf(w->b, "%.15g", v);
}

void jw_bool(struct jw *w, int v)
{
    jw_sep(w);
    buf_adds(w->b, v ? "true" : "false");
}

void jw_null(struct jw *w)
{
    jw_sep(w);
    buf_add(w->b, "null", 4);
}

/* An already-encoded JSON value (from cJSON or the cache). */
void jw_raw(struct jw *w, const char *json)
{
    jw_sep(w);
    buf_adds(w->b, json);
}

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void jw_time(struct jw *w, int64_t t)
{
    char ts[21];
    util_format_time(t, ts);
    jw_sep(w);
    buf_add(w->b, "\"", 1);
    buf_add(w->b, ts, 20);
    buf_add(w->b, "\"", 1);
}

/* Column helpers: NULL columns become null. */
void jw_col_text(struct jw *w, const char *k, sqlite3_stmt *st, int col)
{
    jw_key(w, k);
    jw_str(w, (const char *)sqlite3_column_text(st, col));
}

void jw_col_int(struct jw *w, const char *k, sqlite3_stmt *st, int col)
{
    jw_key(w, k);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        jw_null(w);
    else
        jw_int(w, sqlite3_column_int64(st, col));
}

void jw_col_bool(struct jw *w, const char *k, sqlite3_stmt *st, int col)
{
    jw_key(w, k);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        jw_null(w);
    else
        jw_bool(w, sqlite3_column_int(st, col));
}

void jw_col_time(struct jw *w, const char *k, sqlite3_stmt *st, int col)
{
    jw_key(w, k);
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        jw_null(w);
    else
        jw_time(w, sqlite3_column_int64(st, col));
}

/* Column-by-column writer for a row, driven by its spec. */
void jw_columns(struct jw *w, sqlite3_stmt *st, const char *spec)
{
    int col = 0;
    for (const char *p = spec; *p; col++) {
        while (*p == ' ')
            p++;
        char type = *p, key[64];
        size_t n = strcspn(p + 2, " ");
        if (!type || p[1] != ':' || n >= sizeof key)
            return; /* a malformed spec is a bug in our code; stop rather than misname */
        memcpy(key, p + 2, n);
        key[n] = 0;
        p += 2 + n;
        switch (type) {
        case 'i': jw_col_int(w, key, st, col); break;
        case 't': jw_col_text(w, key, st, col); break;
        case 'b': jw_col_bool(w, key, st, col); break;
        case 'T': jw_col_time(w, key, st, col); break;
        case 'j':
            jw_key(w, key);
            jw_raw(w, sqlite3_column_type(st, col) == SQLITE_NULL ? "null" : (const char *)sqlite3_column_text(st, col));
            break;
        default: break;
        }
    }
}

/* See jw.h: the stored form of short lists (hash mismatches) as JSON. */
void jw_csv_array(struct jw *w, const char *csv)
{
    jw_arr(w);
    for (const char *p = csv ? csv : ""; *p;) {
        size_t k = strcspn(p, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)(k < sizeof one - 1 ? k : sizeof one - 1), p);
        jw_str(w, one);
        p += k + (p[k] == ',');
    }
    jw_arr_end(w);
}
