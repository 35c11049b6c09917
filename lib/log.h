/*
 * log - one line per event on stderr: time, pid, request id, message. The
 * request id is nginx's $request_id so a line here matches nginx's access log.
 */
#ifndef CPORT_LOG_H
#define CPORT_LOG_H

void log_line(const char *request_id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
