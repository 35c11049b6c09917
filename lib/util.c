/*
 * util - buffers, time, encodings and validators shared by every module.
 */
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* Start an empty buffer (no allocation until the first add). */
void buf_init(struct buf *b) { b->p = NULL, b->len = b->cap = 0; }

/* Release the buffer's memory and leave it empty. */
void buf_free(struct buf *b)
{
    free(b->p);
    buf_init(b);
}

/* Empty the buffer but keep its memory for reuse. */
void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

/* Make room for n more bytes plus the terminator; aborts on out-of-memory since
 * nothing sensible can continue without it. */
static void buf_grow(struct buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        abort();
    b->p = p, b->cap = cap;
}

/* Append n bytes. */
void buf_add(struct buf *b, const void *data, size_t n)
{
    buf_grow(b, n);
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* Append a C string. */
void buf_adds(struct buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* Append printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Format an error message into err and hand back code. */
int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* The current time; CPORT_NOW (Unix seconds) pins it, so tests can travel in time. */
int64_t util_now(void)
{
    const char *fake = getenv("CPORT_NOW");
    if (fake && *fake)
        return strtoll(fake, NULL, 10);
    return (int64_t)time(NULL);
}

/* Read exactly n decimal digits. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parse an ISO-8601 date or date-time in UTC or with an offset. */
int util_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d))
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    int64_t offset = 0;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
            return -1;
        if (*s == ':') {
            s++;
            if (digits(&s, 2, &se))
                return -1;
            if (*s == '.') {
                s++;
                if (!isdigit((unsigned char)*s))
                    return -1;
                while (isdigit((unsigned char)*s))
                    s++;
            }
        }
        if (h > 23 || mi > 59 || se > 60)
            return -1;
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s++ == '-' ? -1 : 1, oh, om;
            if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
                return -1;
            offset = sign * (oh * 3600 + om * 60);
        } else {
            return -1;
        }
    }
    if (*s)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    return 0;
}

/* Format Unix seconds as an ISO-8601 UTC timestamp. */
void util_format_time(int64_t t, char *out)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Value of one hex digit or -1. */
int util_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode exactly 2n hex digits (and nothing after them). */
int util_hex_decode(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = util_hexval((unsigned char)hex[2 * i]);
        if (hi < 0)
            return -1;
        int lo = util_hexval((unsigned char)hex[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return hex[2 * n] ? -1 : 0;
}

/* Lower-case hex of n bytes. */
void util_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* Shared base64 encoder over an alphabet, padding optional. */
static void b64_encode(const char *alpha, int pad, const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = alpha[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = alpha[v & 63];
        else if (pad)
            out[o++] = '=';
    }
    out[o] = 0;
}

/* Value of each byte in the standard and url-safe alphabets, -1 outside them:
 * a table, since PhotoDNA values (192 characters each) make decoding hot. */
static signed char b64_table[2][256];

/* Fill the tables once. */
static void b64_tables(void)
{
    static int done;
    if (done)
        return;
    for (int url = 0; url < 2; url++) {
        memset(b64_table[url], -1, 256);
        const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++)
            b64_table[url][(unsigned char)a[i]] = (signed char)i;
    }
    done = 1;
}

/* Value of one base64 character, -1 outside the alphabet. */
static int b64_val(int c, int url) { return b64_table[url][c & 255]; }

/* Shared base64 decoder; rejects characters outside the alphabet and bad padding. */
static int b64_decode(int url, int pad, const char *in, uint8_t *out, size_t cap)
{
    b64_tables();
    size_t len = strlen(in), o = 0;
    if (pad) {
        if (len % 4)
            return -1;
        if (len && in[len - 1] == '=')
            len--;
        if (len && in[len - 1] == '=')
            len--;
    }
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val((unsigned char)in[i], url);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (int)o;
}

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char B64STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64url without padding: tokens, cursors. */
void util_b64url_encode(const uint8_t *in, size_t n, char *out) { b64_encode(B64URL, 0, in, n, out); }
int util_b64url_decode(const char *in, uint8_t *out, size_t cap) { return b64_decode(1, 0, in, out, cap); }

/* Standard padded base64: PhotoDNA hashes as the feed carries them. */
void util_b64_encode(const uint8_t *in, size_t n, char *out) { b64_encode(B64STD, 1, in, n, out); }
int util_b64_decode(const char *in, uint8_t *out, size_t cap) { return b64_decode(0, 1, in, out, cap); }

/* ISO 3166-1 alpha-2 officially assigned codes. */
static const char COUNTRIES[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

/* An assigned ISO country code, exactly two upper-case letters. */
int util_is_country(const char *s)
{
    if (!s || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) || s[2])
        return 0;
    for (const char *p = COUNTRIES; *p; p += p[2] ? 3 : 2)
        if (p[0] == s[0] && p[1] == s[1])
            return 1;
    return 0;
}

/* Membership of s in a NULL-terminated word list (enums). */
int util_in_list(const char *s, const char *const *list)
{
    if (!s)
        return 0;
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* Valid UTF-8, no control characters, not longer than max bytes. */
static int clean_text(const char *s, size_t max, int lines)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (*p) {
        if (++n > max)
            return 0;
        if ((*p < 0x20 && !(lines && (*p == '\n' || *p == '\r' || *p == '\t'))) || *p == 0x7f)
            return 0;
        if (*p < 0x80) {
            p++;
            continue;
        }
        int extra = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || (*p == 0xc0 || *p == 0xc1 || *p > 0xf4))
            return 0;
        for (int i = 1; i <= extra; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        n += (size_t)extra;
        p += extra + 1;
    }
    return n <= max;
}

/* Printable UTF-8 of at most max bytes, no control characters. */
int util_is_clean_text(const char *s, size_t max) { return clean_text(s, max, 0); }

/* The same, but line breaks and tabs allowed: free text such as a justification. */
int util_is_clean_block(const char *s, size_t max) { return clean_text(s, max, 1); }

/* See util.h: the range test runs on the double, so the cast that follows is
 * always defined. */
int util_whole_in(double v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!(v >= (double)lo && v <= (double)hi) || v != (double)(int64_t)v)
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* See util.h. */
int util_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* See util.h. */
long util_read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}
