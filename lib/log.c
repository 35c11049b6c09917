/*
 * log - timestamped log lines on stderr.
 */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* Write one line: "2026-11-28T12:00:00Z pid=123 req=abc message". */
void log_line(const char *request_id, const char *fmt, ...)
{
    char ts[21], msg[1024];
    util_format_time(util_now(), ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s pid=%d req=%s %s\n", ts, (int)getpid(), request_id && *request_id ? request_id : "-", msg);
}
