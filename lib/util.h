/*
 * util - small pieces every module needs: a growable byte buffer, UTC time
 * parsing and formatting, hex and base64url, and input validators.
 */
#ifndef CPORT_UTIL_H
#define CPORT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Status codes shared by lib/: 0 ok, negative on failure. */
enum {
    CP_OK = 0,
    CP_ERR = -1,      /* internal failure: message in err */
    CP_BAD = -2,      /* bad input: message in err says which and why */
    CP_BUSY = -3,     /* database busy after the busy timeout: retry later */
    CP_NOTFOUND = -4, /* no such row, or not in the caller's scope */
    CP_CONFLICT = -5, /* state conflict */
    CP_DENIED = -6,   /* authenticated but not allowed */
    CP_LIMITED = -7,  /* too many attempts: try again later (429) */
    CP_MFA = -8,      /* password right, second factor needed */
    CP_GONE = -9,     /* existed once: expired or used up (410) */
};

/* A growable, always NUL-terminated byte buffer. */
struct buf {
    char *p;
    size_t len, cap;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill err (errlen bytes) from a printf format; returns code, for `return fail(...)`. */
int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Seconds since the epoch, UTC. Overridable for tests through CPORT_NOW. */
int64_t util_now(void);

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z" or "+HH:MM" into Unix seconds.
 * Returns 0, or -1 when the text is not such a date or names an impossible one. */
int util_parse_time(const char *s, int64_t *out);
/* Write t as "2026-11-02T08:00:00Z" into out (at least 21 bytes). */
void util_format_time(int64_t t, char *out);

/* Hex: decode exactly n bytes from 2n hex digits (any case); 0 or -1. */
int util_hex_decode(const char *hex, uint8_t *out, size_t n);
/* The value of one hex digit (either case), or -1. */
int util_hexval(int c);
void util_hex_encode(const uint8_t *in, size_t n, char *out); /* out: 2n+1 bytes */

/* base64url without padding. encode: out needs 4*ceil(n/3)+1 bytes.
 * decode returns the byte count or -1. */
void util_b64url_encode(const uint8_t *in, size_t n, char *out);
int util_b64url_decode(const char *in, uint8_t *out, size_t outcap);

/* Standard base64 (with padding) decode, for PhotoDNA; returns bytes or -1. */
int util_b64_decode(const char *in, uint8_t *out, size_t outcap);
void util_b64_encode(const uint8_t *in, size_t n, char *out);

/* True when s is an assigned ISO 3166-1 alpha-2 code (upper case). */
int util_is_country(const char *s);
/* True when s is one of the NULL-terminated list of words. */
int util_in_list(const char *s, const char *const *list);
/* True when s is a printable UTF-8 string of at most max bytes without controls. */
int util_is_clean_text(const char *s, size_t max);
/* Write all n bytes to fd, retrying short writes and EINTR; 0, or -1 with errno. */
int util_write_all(int fd, const void *p, size_t n);
/* Read up to n bytes, stopping early only at end of file: the count, or -1
 * with errno. Lets callers tell a truncated file from a short read. */
long util_read_full(int fd, void *p, size_t n);

/* A JSON number that is a whole number from lo to hi (checked before any
 * conversion, so 1e300 or NaN is simply refused): 1 and *out, else 0. */
int util_whole_in(double v, int64_t lo, int64_t hi, int64_t *out);
/* util_is_clean_text that also allows newlines and tabs. */
int util_is_clean_block(const char *s, size_t max);

#endif
