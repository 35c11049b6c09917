/*
 * csv - RFC 4180 CSV cells for files people open in spreadsheets (package
 * members, report exports): quoted where needed, and a cell that would begin
 * with = + - @ or a tab is made inert with a leading ' so no spreadsheet runs
 * it as a formula.
 */
#ifndef CPORT_CSV_H
#define CPORT_CSV_H

#include <sqlite3.h>

#include "util.h"

/* Append one cell of text s (NULL: empty), then "," or, for the last, "\n". */
void csv_cell(struct buf *b, const char *s, int last);

/* Append column col of a row as a cell: ISO-8601 UTC when is_time, hex for a
 * blob (up to 150 bytes), empty for NULL. */
void csv_col(struct buf *b, sqlite3_stmt *st, int col, int is_time, int last);

#endif
