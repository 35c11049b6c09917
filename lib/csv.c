/*
 * csv - CSV cells for what cport writes out (packages, exports): see csv.h.
 */
#include "csv.h"
#include "util.h"

#include <string.h>

/* One CSV cell: quoted when needed (RFC 4180), and a leading = + - @ made
 * inert so a spreadsheet never runs a cell as a formula. */
void csv_cell(struct buf *b, const char *s, int last)
{
    if (!s)
        s = "";
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    int inert = *s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t';
    if (quote || inert) {
        buf_add(b, "\"", 1);
        if (inert)
            buf_add(b, "'", 1);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                buf_add(b, "\"", 1);
            buf_add(b, p, 1);
        }
        buf_add(b, "\"", 1);
    } else {
        buf_add(b, s, strlen(s));
    }
    buf_add(b, last ? "\n" : ",", 1);
}

/* A column as CSV text: times ISO-8601, blobs hex, NULL empty. */
void csv_col(struct buf *b, sqlite3_stmt *st, int col, int is_time, int last)
{
    char tmp[400];
    const char *v = NULL;
    int type = sqlite3_column_type(st, col);
    if (type == SQLITE_NULL) {
        v = "";
    } else if (is_time) {
        util_format_time(sqlite3_column_int64(st, col), tmp);
        v = tmp;
    } else if (type == SQLITE_BLOB) {
        int n = sqlite3_column_bytes(st, col);
        if (n > 0 && n <= 150) {
            util_hex_encode(sqlite3_column_blob(st, col), (size_t)n, tmp);
            v = tmp;
        } else {
            v = "";
        }
    } else {
        v = (const char *)sqlite3_column_text(st, col);
    }
    csv_cell(b, v, last);
}

