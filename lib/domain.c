/*
 * domain - registrable domain of a URL or host: host extraction, IDN to punycode,
 * Public Suffix List lookup through libpsl's built-in list.
 */
#include "domain.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <libpsl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3492 parameters for IDNA. */
enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700, PC_BIAS = 72, PC_N = 128 };

/* Bias adaptation after each encoded code point (RFC 3492 section 6.1). */
static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, int first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* The basic code point for digit d: a-z for 0-25, 0-9 for 26-35. */
static char pc_digit(uint32_t d) { return (char)(d < 26 ? 'a' + d : '0' + d - 26); }

/* Decode len bytes of UTF-8 into code points; returns their count or -1 when the
 * text is not valid UTF-8 (overlongs, surrogates and values past U+10FFFF too). */
static int utf8_decode(const char *s, size_t len, uint32_t *cp, int cap)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    int n = 0;
    while (p < end) {
        uint32_t c = *p;
        int extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || (size_t)(end - p) <= (size_t)extra)
            return -1;
        if (extra)
            c &= 0x3f >> extra;
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return -1;
            c = c << 6 | (p[i] & 0x3f);
        }
        static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
        if (c < min[extra] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || n >= cap)
            return -1;
        cp[n++] = c;
        p += extra + 1;
    }
    return n;
}

/* RFC 3492 encoding of one label, prefixed with "xn--" unless it is plain ASCII. */
int domain_punycode_label(const char *label, size_t len, char *out, size_t outlen)
{
    uint32_t cp[64];
    int n = utf8_decode(label, len, cp, 64);
    if (n < 0)
        return CP_BAD;
    size_t o = 0;
    int basic = 0;
    for (int i = 0; i < n; i++)
        basic += cp[i] < 0x80;
    if (basic == n) {
        if (len + 1 > outlen || len > 63)
            return CP_BAD;
        memcpy(out, label, len);
        out[len] = 0;
        return CP_OK;
    }
    char tmp[64];
#define PC_PUT(ch)                                                                                 \
    do {                                                                                           \
        if (o >= 59)                                                                               \
            return CP_BAD;                                                                         \
        tmp[o++] = (ch);                                                                           \
    } while (0)
    for (int i = 0; i < n; i++)
        if (cp[i] < 0x80)
            PC_PUT((char)cp[i]);
    if (basic)
        PC_PUT('-');
    uint32_t cn = PC_N, delta = 0, bias = PC_BIAS, h = (uint32_t)basic;
    while (h < (uint32_t)n) {
        uint32_t m = UINT32_MAX;
        for (int i = 0; i < n; i++)
            if (cp[i] >= cn && cp[i] < m)
                m = cp[i];
        if ((m - cn) > (UINT32_MAX - delta) / (h + 1))
            return CP_BAD;
        delta += (m - cn) * (h + 1);
        cn = m;
        for (int i = 0; i < n; i++) {
            if (cp[i] < cn && ++delta == 0)
                return CP_BAD;
            if (cp[i] != cn)
                continue;
            uint32_t q = delta;
            for (uint32_t k = PC_BASE;; k += PC_BASE) {
                uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
                if (q < t)
                    break;
                PC_PUT(pc_digit(t + (q - t) % (PC_BASE - t)));
                q = (q - t) / (PC_BASE - t);
            }
            PC_PUT(pc_digit(q));
            bias = pc_adapt(delta, h + 1, h == (uint32_t)basic);
            delta = 0;
            h++;
        }
        delta++;
        cn++;
    }
#undef PC_PUT
    if (o + 5 > outlen)
        return CP_BAD;
    memcpy(out, "xn--", 4);
    memcpy(out + 4, tmp, o);
    out[o + 4] = 0;
    return CP_OK;
}

/* True when s[0..n) is a URL scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / + - . )). */
static int is_scheme(const char *s, size_t n)
{
    if (!n || !isalpha((unsigned char)s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
            return 0;
    return 1;
}

/* Convert a lower-cased host with non-ASCII labels to its punycode form in place of
 * out; ASCII labels pass through. */
static int host_to_ascii(const char *host, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = host;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char lab[64];
        if (domain_punycode_label(p, len, lab, sizeof lab) != CP_OK)
            return CP_BAD;
        size_t l = strlen(lab);
        if (o + l + 2 > outlen)
            return CP_BAD;
        memcpy(out + o, lab, l);
        o += l;
        if (!dot)
            break;
        out[o++] = '.';
        p = dot + 1;
    }
    out[o] = 0;
    return CP_OK;
}

/* Find the host in a URL or host string, normalise it and ask the PSL for its
 * registrable part. */
int domain_registrable(const char *in, char *out, size_t outlen, char *err, size_t errlen)
{
    if (!in || !*in)
        return fail(err, errlen, CP_BAD, "empty host");
    const char *s = in;
    const char *sep = strstr(s, "://");
    if (sep && is_scheme(s, (size_t)(sep - s)))
        s = sep + 3;
    else if (s[0] == '/' && s[1] == '/')
        s += 2;
    size_t alen = strcspn(s, "/?#\\");
    const char *at = memrchr(s, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    char host[DOMAIN_MAX * 2];
    const char *port = NULL;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', alen);
        if (!close || (size_t)(close - s - 1) >= 64)
            return fail(err, errlen, CP_BAD, "malformed IPv6 literal");
        size_t hl = (size_t)(close - s - 1);
        char v6[64];
        memcpy(v6, s + 1, hl);
        v6[hl] = 0;
        for (size_t i = 0; i < hl; i++)
            v6[i] = (char)tolower((unsigned char)v6[i]);
        unsigned char bin[16];
        if (inet_pton(AF_INET6, v6, bin) != 1)
            return fail(err, errlen, CP_BAD, "malformed IPv6 literal");
        if (close + 1 < s + alen && close[1] != ':')
            return fail(err, errlen, CP_BAD, "junk after IPv6 literal");
        if (hl + 3 > outlen)
            return fail(err, errlen, CP_BAD, "host too long");
        snprintf(out, outlen, "[%s]", v6);
        return CP_OK;
    }
    port = memchr(s, ':', alen);
    size_t hl = port ? (size_t)(port - s) : alen;
    if (port) {
        for (const char *q = port + 1; q < s + alen; q++)
            if (!isdigit((unsigned char)*q))
                return fail(err, errlen, CP_BAD, "malformed port");
    }
    if (hl && s[hl - 1] == '.')
        hl--;
    if (!hl)
        return fail(err, errlen, CP_BAD, "empty host");
    if (hl >= sizeof host)
        return fail(err, errlen, CP_BAD, "host too long");
    memcpy(host, s, hl);
    host[hl] = 0;
    int ascii = 1;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c >= 0x80)
            ascii = 0;
        else
            host[i] = (char)tolower(c);
    }
    char ace[DOMAIN_MAX];
    if (ascii) {
        if (hl >= sizeof ace)
            return fail(err, errlen, CP_BAD, "host too long");
        memcpy(ace, host, hl + 1);
    } else {
        char *lower = NULL;
        if (psl_str_to_utf8lower(host, "utf-8", NULL, &lower) != PSL_SUCCESS || !lower) {
            free(lower);
            return fail(err, errlen, CP_BAD, "host is not valid UTF-8");
        }
        int st = host_to_ascii(lower, ace, sizeof ace);
        free(lower);
        if (st != CP_OK)
            return fail(err, errlen, CP_BAD, "host cannot be encoded as punycode");
    }
    unsigned char v4[4];
    if (inet_pton(AF_INET, ace, v4) == 1) {
        if (strlen(ace) + 1 > outlen)
            return fail(err, errlen, CP_BAD, "output buffer too small");
        strcpy(out, ace);
        return CP_OK;
    }
    size_t total = strlen(ace), lab = 0;
    int last_numeric = 1;
    if (total > 253)
        return fail(err, errlen, CP_BAD, "host too long");
    for (size_t i = 0; i <= total; i++) {
        char c = ace[i];
        if (c == '.' || !c) {
            if (!lab)
                return fail(err, errlen, CP_BAD, "empty label in host");
            if (c)
                lab = 0, last_numeric = 1;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-' && c != '_')
            return fail(err, errlen, CP_BAD, "invalid character in host");
        if (!isdigit((unsigned char)c))
            last_numeric = 0;
        if (++lab > 63)
            return fail(err, errlen, CP_BAD, "label longer than 63 bytes");
    }
    if (last_numeric)
        return fail(err, errlen, CP_BAD, "not a valid IPv4 address or host name");
    const char *reg = psl_registrable_domain(psl_builtin(), ace);
    if (!reg)
        return fail(err, errlen, CP_BAD, "%s is a public suffix, not a registrable domain", ace);
    if (strlen(reg) + 1 > outlen)
        return fail(err, errlen, CP_BAD, "output buffer too small");
    strcpy(out, reg);
    return CP_OK;
}
