/*
 * feedgen.c - deterministic synthetic ICCAM feed generator (see feedgen.h and
 * /work/shared/ICCAM-FEED.md).
 *
 * How it works:
 *  - One PRNG (xoshiro256** seeded through splitmix64). Every report, update and
 *    recurring media item draws from its own stream, derived from (seed, index,
 *    tag), so a report can be regenerated at any time without storing it.
 *  - Pass 1 draws the cheap "head" of every report (times, status, media count),
 *    then the update and delete events, and sorts all events by updated_at.
 *  - Pass 2 walks the sorted events, regenerates each report (replaying its
 *    updates for update records) and writes it with a hand-rolled JSON writer into
 *    a buffered FILE: cJSON would be far too slow for 1M reports.
 * All data is synthetic: *.example / *.test domains, documentation IP ranges,
 * private ASNs, random hashes.
 */
#include "feedgen.h"
#include "mdemo.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------------- */
/* PRNG                                                                      */
/* ------------------------------------------------------------------------- */

typedef struct {
    uint64_t s[4];
} rng_t;

/* splitmix64 step: used to expand seeds into xoshiro state and to mix keys. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Seed a stream that depends only on (seed, a, b): independent per report/tag. */
static void rng_seed(rng_t *r, uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed;
    uint64_t k = splitmix64(&x);
    x = k ^ (a * 0xD1B54A32D192ED03ULL);
    k = splitmix64(&x);
    x = k ^ (b * 0x8CB92BA72F3D8DD7ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* 64-bit rotate left (xoshiro helper). */
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** next value. */
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Uniform integer in [0, n) (n > 0); multiply-shift, bias negligible here. */
static inline uint64_t rng_below(rng_t *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* Uniform double in [0, 1). */

/* Index picked with probability weights[i] / sum(weights). */
static int rng_pick(rng_t *r, const unsigned short *w, int n)
{
    unsigned total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    unsigned x = (unsigned)rng_below(r, total);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* Fill buf with n random bytes. */
static void rng_bytes(rng_t *r, uint8_t *buf, size_t n)
{
    while (n) {
        uint64_t v = rng_next(r);
        size_t k = n < 8 ? n : 8;
        memcpy(buf, &v, k);
        buf += k;
        n -= k;
    }
}

/* Stream tags, so the streams of one report never overlap. */
enum { TAG_HEAD = 1, TAG_MEDIA, TAG_UPD_DT, TAG_UPD, TAG_DEL_DT, TAG_POOL, TAG_WORLD };

/* ------------------------------------------------------------------------- */
/* Static tables                                                             */
/* ------------------------------------------------------------------------- */

/* Countries: hosting share in per mille (sums to 1000) and display name. */
struct country {
    const char *cc;
    const char *name;
    unsigned short host_w;
};

static const struct country countries[] = {
    {"NL", "Netherlands", 200}, {"US", "United States", 180}, {"DE", "Germany", 80},
    {"FR", "France", 50},       {"RU", "Russia", 50},         {"GB", "United Kingdom", 40},
    {"CA", "Canada", 30},       {"UA", "Ukraine", 15},        {"HK", "Hong Kong", 15},
    {"SG", "Singapore", 10},    {"LU", "Luxembourg", 10},     {"SE", "Sweden", 15},
    {"RO", "Romania", 15},      {"BG", "Bulgaria", 15},       {"PL", "Poland", 15},
    {"CH", "Switzerland", 10},  {"CZ", "Czechia", 10},        {"ES", "Spain", 10},
    {"IT", "Italy", 10},        {"LV", "Latvia", 10},         {"LT", "Lithuania", 10},
    {"MD", "Moldova", 10},      {"JP", "Japan", 10},          {"VN", "Viet Nam", 10},
    {"PA", "Panama", 10},       {"BR", "Brazil", 10},         {"IN", "India", 10},
    {"CN", "China", 10},        {"TR", "Turkey", 10},         {"KR", "South Korea", 5},
    {"BZ", "Belize", 5},        {"SC", "Seychelles", 5},      {"VG", "Virgin Islands", 5},
    {"IS", "Iceland", 5},       {"FI", "Finland", 5},         {"DK", "Denmark", 5},
    {"AT", "Austria", 5},       {"BE", "Belgium", 5},         {"IE", "Ireland", 5},
    {"PT", "Portugal", 5},      {"TH", "Thailand", 5},        {"MY", "Malaysia", 5},
    {"ZA", "South Africa", 5},  {"AU", "Australia", 5},       {"HU", "Hungary", 5},
    {"SK", "Slovakia", 5},      {"EE", "Estonia", 5},         {"HR", "Croatia", 5},
    {"GR", "Greece", 5},        {"CY", "Cyprus", 5},          {"MT", "Malta", 5},
    {"MX", "Mexico", 5},        {"CO", "Colombia", 5},        {"BA", "Bosnia and Herzegovina", 0},
    {"NZ", "New Zealand", 0},   {"PH", "Philippines", 0},     {"SI", "Slovenia", 0},
    {"TW", "Taiwan", 0},
};
#define N_COUNTRY ((int)(sizeof countries / sizeof countries[0]))

/* Hotlines: code, name (NULL = made up from the country), country, report weight. */
struct hotline {
    const char *code;
    const char *name;
    const char *cc;
    unsigned short rep_w;
};

static const struct hotline hotlines[] = {
    {"NL-EOKM", "Expertisebureau Online Kindermisbruik", "NL", 80},
    {"DE-ECO", "eco Beschwerdestelle", "DE", 70},
    {"US-NCMEC", "National Center for Missing & Exploited Children", "US", 120},
    {"GB-IWF", "Internet Watch Foundation", "GB", 100},
    {"CA-HOTLINE", NULL, "CA", 50}, {"FR-HOTLINE", NULL, "FR", 40},
    {"RU-HOTLINE", NULL, "RU", 20}, {"AT-HOTLINE", NULL, "AT", 20},
    {"AU-HOTLINE", NULL, "AU", 30}, {"BA-HOTLINE", NULL, "BA", 5},
    {"BE-HOTLINE", NULL, "BE", 15}, {"BG-HOTLINE", NULL, "BG", 10},
    {"BR-HOTLINE", NULL, "BR", 20}, {"CO-HOTLINE", NULL, "CO", 10},
    {"CY-HOTLINE", NULL, "CY", 5},  {"CZ-HOTLINE", NULL, "CZ", 15},
    {"DK-HOTLINE", NULL, "DK", 10}, {"EE-HOTLINE", NULL, "EE", 5},
    {"ES-HOTLINE", NULL, "ES", 20}, {"FI-HOTLINE", NULL, "FI", 15},
    {"GR-HOTLINE", NULL, "GR", 10}, {"HR-HOTLINE", NULL, "HR", 5},
    {"HU-HOTLINE", NULL, "HU", 10}, {"IE-HOTLINE", NULL, "IE", 10},
    {"IS-HOTLINE", NULL, "IS", 5},  {"IT-HOTLINE", NULL, "IT", 20},
    {"JP-HOTLINE", NULL, "JP", 20}, {"KR-HOTLINE", NULL, "KR", 10},
    {"LT-HOTLINE", NULL, "LT", 5},  {"LU-HOTLINE", NULL, "LU", 5},
    {"LV-HOTLINE", NULL, "LV", 5},  {"MT-HOTLINE", NULL, "MT", 5},
    {"MX-HOTLINE", NULL, "MX", 10}, {"NZ-HOTLINE", NULL, "NZ", 10},
    {"PH-HOTLINE", NULL, "PH", 10}, {"PL-HOTLINE", NULL, "PL", 20},
    {"PT-HOTLINE", NULL, "PT", 10}, {"RO-HOTLINE", NULL, "RO", 10},
    {"SE-HOTLINE", NULL, "SE", 15}, {"SI-HOTLINE", NULL, "SI", 5},
    {"SK-HOTLINE", NULL, "SK", 5},  {"TH-HOTLINE", NULL, "TH", 10},
    {"TR-HOTLINE", NULL, "TR", 10}, {"TW-HOTLINE", NULL, "TW", 10},
    {"ZA-HOTLINE", NULL, "ZA", 10},
};
#define N_HOTLINE ((int)(sizeof hotlines / sizeof hotlines[0]))

/* INHOPE's 10 site types, with a skewed share (per mille). */
static const char *const site_types[] = {"website",        "image_host",    "forum",
                                         "file_host",      "banner_site",   "blog",
                                         "social_network", "video_channel", "chat_service",
                                         "other"};
static const unsigned short site_type_w[] = {200, 450, 80, 70, 50, 40, 30, 30, 20, 30};
#define N_SITE_TYPE 10

/* Report status, in workflow order. Timeline slot k is set iff status >= k + 1. */
static const char *const statuses[] = {"received", "assessed",        "forwarded", "lea_notified",
                                       "ntd_sent", "content_removed", "closed"};
static const unsigned short status_w[] = {30, 70, 80, 100, 150, 420, 150};
#define N_STATUS 7
#define ST_CLOSED 6
static const char *const timeline_keys[] = {"assessed_at", "forwarded_at", "lea_notified_at",
                                            "ntd_sent_at", "removed_at"};

/* Media per report: 1..5, mean about 2.24. */
static const unsigned short nmedia_w[] = {35, 30, 18, 10, 7};

/* Media types and mime types (with file extensions for content URLs). */
enum { MT_IMAGE, MT_VIDEO, MT_OTHER };
static const char *const media_types[] = {"image", "video", "other"};
static const unsigned short media_type_w[] = {85, 12, 3};
struct mime {
    const char *mime, *ext;
    unsigned char type;
    unsigned short w;
};
static const struct mime mimes[] = {
    {"image/jpeg", "jpg", MT_IMAGE, 70},       {"image/png", "png", MT_IMAGE, 20},
    {"image/gif", "gif", MT_IMAGE, 5},         {"image/webp", "webp", MT_IMAGE, 5},
    {"video/mp4", "mp4", MT_VIDEO, 70},        {"video/webm", "webm", MT_VIDEO, 20},
    {"video/x-msvideo", "avi", MT_VIDEO, 10},  {"application/zip", "zip", MT_OTHER, 50},
    {"application/pdf", "pdf", MT_OTHER, 20},  {"application/octet-stream", "bin", MT_OTHER, 30},
};
#define N_MIME ((int)(sizeof mimes / sizeof mimes[0]))

/* Classification enums and shares. */
static const char *const age_groups[] = {"infant_toddler", "pre_pubescent", "pubescent",
                                         "unknown"};
static const unsigned short age_w[] = {8, 55, 25, 12};
static const char *const genders[] = {"female", "male", "both", "unknown"};
static const unsigned short gender_w[] = {65, 18, 7, 10};

/* Words for made-up domain names, paths and provider names. */
static const char *const words[] = {
    "gallery", "pics",  "photo", "img",   "share", "snap",  "pix",   "album", "view",
    "media",   "upload", "host", "cloud", "drop",  "box",   "file",  "store", "vault",
    "forum",   "board", "talk",  "chat",  "club",  "tube",  "vid",   "clip",  "stream",
    "blog",    "page",  "note",  "post",  "link",  "hub",   "zone",  "land",  "spot",
    "world",   "base",  "nest",  "lab",   "star",  "sky",   "blue",  "red",   "green",
    "dark",    "fast",  "easy",  "free",  "open",  "quick", "micro", "mega",  "ultra",
    "nova",    "alpha", "delta", "omega", "pixel", "byte",
};
#define N_WORDS ((int)(sizeof words / sizeof words[0]))

/* Unicode bases of IDN labels (encoded to punycode at run time). */
static const uint32_t *const idn_bases[] = {
    U"bücher", U"café",  U"münchen", U"galería", U"fotoğraf", U"пример", U"фото",
    U"галерея", U"форум", U"テスト",  U"写真",    U"例子",      U"画像",    U"δοκιμή",
};
#define N_IDN ((int)(sizeof idn_bases / sizeof idn_bases[0]))

static const char *const brands[] = {"Example Hosting", "Sample Cloud",     "Demo Servers",
                                     "Test Networks",   "Placeholder Host", "Dummy Datacenter",
                                     "Fictional Web",   "Imaginary Compute", "Mock Hosting",
                                     "Synthetic Net"};
#define N_BRANDS 10

static const char *const doc_v4[] = {"192.0.2", "198.51.100", "203.0.113"};

/* ------------------------------------------------------------------------- */
/* Dates                                                                     */
/* ------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

/* Parse a strict "YYYY-MM-DD" into epoch seconds; -1 if invalid. */
static int parse_date(const char *s, int64_t *out, int *year)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1971 || y > 9000 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)m, (unsigned)d);
    int y2, m2, d2;
    civil_from_days(days, &y2, &m2, &d2);
    if (y2 != y || m2 != m || d2 != d)
        return -1;
    *out = days * 86400;
    *year = y;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Output buffer with JSON helpers                                           */
/* ------------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Make room for n more bytes; on allocation failure set oom and return 0. */
static int b_reserve(struct buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

/* Append n raw bytes. */
static void b_mem(struct buf *b, const char *s, size_t n)
{
    if (!b_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Append a raw (already valid JSON) C string. */
static void b_raw(struct buf *b, const char *s) { b_mem(b, s, strlen(s)); }

/* Append a quoted JSON string, escaping quotes, backslashes and control chars. */
static void b_jstr(struct buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!b_reserve(b, n * 6 + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

/* Append an unsigned decimal integer. */
static void b_u64(struct buf *b, uint64_t v)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    b_mem(b, tmp + i, (size_t)(24 - i));
}

/* Append printf-formatted text (only for trusted, escape-free content). */
static void b_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void b_fmt(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    if (!b_reserve(b, 256))
        return;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) { /* did not fit: grow and format again */
        if (!b_reserve(b, (size_t)n + 1))
            return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Append lowercase hex of n bytes, quoted. */
static void b_hex(struct buf *b, const uint8_t *v, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (!b_reserve(b, n * 2 + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        *o++ = hx[v[i] >> 4];
        *o++ = hx[v[i] & 15];
    }
    *o++ = '"';
    b->len += n * 2 + 2;
}

/* Append standard base64 (with padding) of n bytes, quoted. */
static void b_b64(struct buf *b, const uint8_t *v, size_t n)
{
    static const char tb[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!b_reserve(b, (n + 2) / 3 * 4 + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t x = (uint32_t)v[i] << 16 | (uint32_t)v[i + 1] << 8 | v[i + 2];
        *o++ = tb[x >> 18];
        *o++ = tb[(x >> 12) & 63];
        *o++ = tb[(x >> 6) & 63];
        *o++ = tb[x & 63];
    }
    if (i < n) {
        uint32_t x = (uint32_t)v[i] << 16 | (i + 1 < n ? (uint32_t)v[i + 1] << 8 : 0);
        *o++ = tb[x >> 18];
        *o++ = tb[(x >> 12) & 63];
        *o++ = i + 1 < n ? tb[(x >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

/* Append a quoted ISO-8601 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ", or null if t == 0. */
static void b_time(struct buf *b, int64_t t)
{
    if (t == 0) {
        b_mem(b, "null", 4);
        return;
    }
    int64_t days = t / 86400, sec = t % 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    if (!b_reserve(b, 22))
        return;
    char *o = b->p + b->len; /* hand-formatted: this runs ~15 times per report */
    int v[6] = {y, m, d, (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60)};
    *o++ = '"';
    *o++ = (char)('0' + y / 1000 % 10);
    *o++ = (char)('0' + y / 100 % 10);
    *o++ = (char)('0' + y / 10 % 10);
    *o++ = (char)('0' + y % 10);
    static const char sep[] = "--T::";
    for (int i = 1; i < 6; i++) {
        *o++ = sep[i - 1];
        *o++ = (char)('0' + v[i] / 10);
        *o++ = (char)('0' + v[i] % 10);
    }
    *o++ = 'Z';
    *o++ = '"';
    b->len += 22;
}

/* ------------------------------------------------------------------------- */
/* Punycode (RFC 3492) for IDN labels                                        */
/* ------------------------------------------------------------------------- */

/* Bias adaptation function of RFC 3492 section 6.1. */
static uint32_t puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
    delta = first ? delta / 700 : delta / 2;
    delta += delta / npoints;
    uint32_t k = 0;
    while (delta > ((36 - 1) * 26) / 2) {
        delta /= 36 - 1;
        k += 36;
    }
    return k + (36 * delta) / (delta + 38);
}

/* Encode n code points as punycode into out (NUL-terminated); -1 if it won't fit. */
static int puny_encode(const uint32_t *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    uint32_t h, b = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] < 0x80) {
            if (o + 1 >= cap)
                return -1;
            out[o++] = (char)in[i];
            b++;
        }
    h = b;
    if (b > 0) {
        if (o + 1 >= cap)
            return -1;
        out[o++] = '-';
    }
    uint32_t cp = 0x80, delta = 0, bias = 72;
    while (h < n) {
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; i < n; i++)
            if (in[i] >= cp && in[i] < m)
                m = in[i];
        delta += (m - cp) * (h + 1);
        cp = m;
        for (size_t i = 0; i < n; i++) {
            if (in[i] < cp)
                delta++;
            if (in[i] == cp) {
                uint32_t q = delta;
                for (uint32_t k = 36;; k += 36) {
                    uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
                    if (q < t)
                        break;
                    uint32_t dg = t + (q - t) % (36 - t);
                    if (o + 1 >= cap)
                        return -1;
                    out[o++] = (char)(dg < 26 ? 'a' + dg : '0' + dg - 26);
                    q = (q - t) / (36 - t);
                }
                if (o + 1 >= cap)
                    return -1;
                out[o++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
                bias = puny_adapt(delta, h + 1, h == b);
                delta = 0;
                h++;
            }
        }
        delta++;
        cp++;
    }
    out[o] = 0;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* The synthetic world: providers and domains                                */
/* ------------------------------------------------------------------------- */

#define N_PROV 300
#define MAXMEDIA 12

struct provider {
    char name[64];
    unsigned char country;
    uint32_t asn;
};

struct domain {
    char name[64];           /* registrable domain, ASCII (punycode for IDN) */
    unsigned char site_type; /* index into site_types */
    unsigned char commercial;
    unsigned short prov;
};

struct world {
    uint64_t seed;
    int64_t start;          /* epoch seconds of start_date */
    int year;               /* year used in ids */
    int country_hl[N_COUNTRY]; /* first hotline of the country, -1 if none */
    struct provider prov[N_PROV];
    unsigned short prov_by_country[N_COUNTRY][N_PROV];
    unsigned short nprov_country[N_COUNTRY];
    unsigned short country_w[N_COUNTRY];
    unsigned short hotline_w[N_HOTLINE];
    struct domain *dom;
    uint32_t ndom, nhot;    /* all domains; the first nhot are the "popular" ones */
    uint32_t npool;         /* recurring media items (same file in many reports) */
    const char *out_dir;
    long media_files;       /* see feedgen_opts */
};

/* Legal-form suffix of a made-up company in the given country. */
static const char *company_suffix(const char *cc, uint64_t x)
{
    if (!strcmp(cc, "NL") || !strcmp(cc, "BE"))
        return "B.V.";
    if (!strcmp(cc, "DE") || !strcmp(cc, "AT") || !strcmp(cc, "CH"))
        return "GmbH";
    if (!strcmp(cc, "US") || !strcmp(cc, "CA") || !strcmp(cc, "PA"))
        return x & 1 ? "LLC" : "Inc.";
    if (!strcmp(cc, "FR") || !strcmp(cc, "LU"))
        return "SAS";
    if (!strcmp(cc, "RU"))
        return "OOO";
    return "Ltd";
}

/* Simple string hash for the domain-uniqueness set. */
static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* Append a random lowercase alphanumeric token of length n to s (capacity cap). */
static void rnd_token(rng_t *r, char *s, size_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        s[i] = al[rng_below(r, 36)];
    s[n] = 0;
}

/* Make one candidate registrable domain name into out. */
static void make_domain_name(rng_t *r, char *out, size_t cap)
{
    const char *tld = rng_below(r, 100) < 60 ? "example" : "test";
    char label[48];
    if (rng_below(r, 100) < 3) {
        /* IDN: a unicode word, maybe followed by digits, as punycode. */
        uint32_t cps[32];
        const uint32_t *base = idn_bases[rng_below(r, N_IDN)];
        size_t n = 0;
        while (base[n] && n < 24) {
            cps[n] = base[n];
            n++;
        }
        if (rng_below(r, 100) < 70) {
            char dg[8];
            snprintf(dg, sizeof dg, "%u", (unsigned)rng_below(r, 1000));
            for (char *p = dg; *p; p++)
                cps[n++] = (uint32_t)*p;
        }
        char enc[40];
        if (puny_encode(cps, n, enc, sizeof enc) == 0) {
            snprintf(out, cap, "xn--%s.%s", enc, tld);
            return;
        }
    }
    int len = snprintf(label, sizeof label, "%s", words[rng_below(r, N_WORDS)]);
    if (rng_below(r, 100) < 50)
        len += snprintf(label + len, sizeof label - (size_t)len, "%s",
                        words[rng_below(r, N_WORDS)]);
    if (rng_below(r, 100) < 15)
        len += snprintf(label + len, sizeof label - (size_t)len, "-%s",
                        words[rng_below(r, N_WORDS)]);
    if (rng_below(r, 100) < 45)
        snprintf(label + len, sizeof label - (size_t)len, "%u", (unsigned)rng_below(r, 1000));
    snprintf(out, cap, "%s.%s", label, tld);
}

/* Index whose cumulative weight share covers the fraction q in [0, 1). */
static int quantile_pick(const unsigned short *w, int n, double q)
{
    unsigned total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    double x = q * total, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += w[i];
        if (x < acc)
            return i;
    }
    return n - 1;
}

/* Build providers and domains from the seed; -1 on allocation failure. */
static int world_init(struct world *w, uint64_t seed, long count)
{
    rng_t r;
    rng_seed(&r, seed, 0, TAG_WORLD);
    w->seed = seed;
    for (int c = 0; c < N_COUNTRY; c++) {
        w->country_w[c] = countries[c].host_w;
        w->country_hl[c] = -1;
        for (int h = 0; h < N_HOTLINE; h++)
            if (!strcmp(hotlines[h].cc, countries[c].cc)) {
                w->country_hl[c] = h;
                break;
            }
    }
    for (int h = 0; h < N_HOTLINE; h++)
        w->hotline_w[h] = hotlines[h].rep_w;

    /* Providers: one per hosting country first, the rest by hosting weight. */
    memset(w->nprov_country, 0, sizeof w->nprov_country);
    int p = 0;
    for (int c = 0; c < N_COUNTRY && p < N_PROV; c++)
        if (countries[c].host_w)
            w->prov[p++].country = (unsigned char)c;
    for (; p < N_PROV; p++)
        w->prov[p].country = (unsigned char)rng_pick(&r, w->country_w, N_COUNTRY);
    for (p = 0; p < N_PROV; p++) {
        struct provider *pv = &w->prov[p];
        const char *cc = countries[pv->country].cc;
        snprintf(pv->name, sizeof pv->name, "%s %d %s", brands[p % N_BRANDS], p / N_BRANDS + 1,
                 company_suffix(cc, rng_next(&r)));
        if (rng_below(&r, 100) < 70)
            pv->asn = 64496 + (uint32_t)p * 3 + (uint32_t)rng_below(&r, 3); /* <= 65395 */
        else
            pv->asn = 4200000000u + (uint32_t)p * 1000 + (uint32_t)rng_below(&r, 1000);
        w->prov_by_country[pv->country][w->nprov_country[pv->country]++] = (unsigned short)p;
    }

    /* Domains: about 2000 per 100k reports, unique names. */
    long nd = count / 50;
    if (nd < 20)
        nd = 20;
    w->ndom = (uint32_t)nd;
    w->nhot = w->ndom / 20 ? w->ndom / 20 : 1;
    w->npool = count / 20 > 50 ? (uint32_t)(count / 20) : 50;
    w->dom = calloc((size_t)nd, sizeof *w->dom);
    size_t hcap = 1;
    while (hcap < (size_t)nd * 2)
        hcap <<= 1;
    uint32_t *set = calloc(hcap, sizeof *set); /* 1-based domain index, 0 = empty */
    if (!w->dom || !set) {
        free(set);
        return -1;
    }
    for (uint32_t i = 0; i < w->ndom; i++) {
        struct domain *d = &w->dom[i];
        for (;;) {
            make_domain_name(&r, d->name, sizeof d->name);
            size_t h = str_hash(d->name) & (hcap - 1);
            int dup = 0;
            while (set[h]) {
                if (!strcmp(w->dom[set[h] - 1].name, d->name)) {
                    dup = 1;
                    break;
                }
                h = (h + 1) & (hcap - 1);
            }
            if (!dup) {
                set[h] = i + 1;
                break;
            }
        }
        d->site_type = (unsigned char)rng_pick(&r, site_type_w, N_SITE_TYPE);
        d->commercial = rng_below(&r, 100) < 20;
        /* Country by stratified sampling, separately over the popular and the other
         * domains, so the hosting shares match country_w closely even in small feeds. */
        uint32_t lo = i < w->nhot ? 0 : w->nhot, n = i < w->nhot ? w->nhot : w->ndom - w->nhot;
        int c = quantile_pick(w->country_w, N_COUNTRY, ((double)(i - lo) + 0.5) / n);
        d->prov = w->prov_by_country[c][rng_below(&r, w->nprov_country[c])];
    }
    free(set);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Reports                                                                   */
/* ------------------------------------------------------------------------- */

struct cls {
    int set;
    unsigned char intl, nat, age, gender, by;
    int64_t at;
};

struct media {
    uint32_t id;
    unsigned char type, mime, is_new, known;
    uint64_t bytes;
    int width, height, duration; /* -1 = null */
    uint8_t md5[16], sha1[20], sha256[32], pdq[32], pdna[144];
    int pdq_q;
    struct cls c;
    int64_t first_seen;
    char url[200];
    unsigned char has_file; /* a generated file under media/ (media_files) */
};

struct report {
    uint32_t idx;
    int64_t reported, updated;
    int64_t tl[5]; /* 0 = null */
    unsigned char status, rep_hl, ass_hl, site_type, commercial;
    unsigned short prov;
    uint32_t dom;
    char ip[48];
    char url[256];
    int nmedia;
    struct media m[MAXMEDIA];
};

/*
 * Draw the report's head (times, status, media count) from its HEAD stream. Pass 1
 * needs only this; gen_report continues drawing from the same stream afterwards.
 */
static void gen_head(const struct world *w, rng_t *r, uint32_t idx, struct report *rp)
{
    rng_seed(r, w->seed, idx, TAG_HEAD);
    memset(rp->tl, 0, sizeof rp->tl);
    rp->idx = idx;
    rp->reported = w->start + (int64_t)rng_below(r, 330LL * 86400);
    rp->status = (unsigned char)rng_pick(r, status_w, N_STATUS);
    static const int64_t gap_min[5] = {1800, 300, 600, 1800, 3600};
    static const int64_t gap_rng[5] = {48 * 3600, 6 * 3600, 24 * 3600, 48 * 3600, 7 * 86400};
    int64_t t = rp->reported, last = rp->reported + 600 + (int64_t)rng_below(r, 600);
    for (int k = 0; k < 5 && rp->status >= k + 1; k++) {
        t += gap_min[k] + (int64_t)rng_below(r, (uint64_t)gap_rng[k]);
        rp->tl[k] = t;
        if (t > last)
            last = t;
    }
    rp->updated = last + (int64_t)rng_below(r, 3600);
    rp->nmedia = 1 + rng_pick(r, nmedia_w, 5);
}

/* Pick a hosting IP for provider p: documentation IPv4 ranges or 2001:db8::/32. */
static void gen_ip(rng_t *r, unsigned p, char *ip, size_t cap)
{
    if (rng_below(r, 100) < 85)
        snprintf(ip, cap, "%s.%u", doc_v4[rng_below(r, 3)], 1 + (unsigned)rng_below(r, 254));
    else
        snprintf(ip, cap, "2001:db8:%x:%x::%x", p + 1, (unsigned)rng_below(r, 0x10000),
                 1 + (unsigned)rng_below(r, 0xffff));
}

/* A URL path (and maybe query) typical of the site type. */
static void gen_path(rng_t *r, int st, char *out, size_t cap)
{
    char tok[16], tok2[16];
    rnd_token(r, tok, 6 + rng_below(r, 6));
    rnd_token(r, tok2, 4 + rng_below(r, 4));
    unsigned n1 = 1 + (unsigned)rng_below(r, 99999), n2 = 1 + (unsigned)rng_below(r, 40);
    const char *wd = words[rng_below(r, N_WORDS)], *wd2 = words[rng_below(r, N_WORDS)];
    unsigned v = (unsigned)rng_below(r, 4);
    switch (st) {
    case 0: /* website */
        if (v == 0) snprintf(out, cap, "/");
        else if (v == 1) snprintf(out, cap, "/gallery/%u.html", n1);
        else if (v == 2) snprintf(out, cap, "/p/%s", tok);
        else snprintf(out, cap, "/%s/%s-%u.html?sort=new", wd, wd2, n1);
        break;
    case 1: /* image_host */
        if (v == 0) snprintf(out, cap, "/album/%u?page=%u", n1, n2);
        else if (v == 1) snprintf(out, cap, "/i/%s", tok);
        else if (v == 2) snprintf(out, cap, "/image/%s", tok);
        else snprintf(out, cap, "/a/%s/%s", tok, tok2);
        break;
    case 2: /* forum */
        if (v == 0) snprintf(out, cap, "/t/%u", n1);
        else if (v == 1) snprintf(out, cap, "/viewtopic.php?t=%u&start=%u", n1, n2 * 20);
        else if (v == 2) snprintf(out, cap, "/threads/%s-%s.%u/", wd, wd2, n1);
        else snprintf(out, cap, "/board/%u/thread/%u", n2, n1);
        break;
    case 3: /* file_host */
        if (v == 0) snprintf(out, cap, "/f/%s", tok);
        else if (v == 1) snprintf(out, cap, "/file/%s/%s.zip", tok, tok2);
        else if (v == 2) snprintf(out, cap, "/download.php?id=%s", tok);
        else snprintf(out, cap, "/d/%s", tok);
        break;
    case 4: /* banner_site */
        if (v < 2) snprintf(out, cap, "/go/%u", n1);
        else if (v == 2) snprintf(out, cap, "/out.php?id=%u&ref=%s", n1, tok2);
        else snprintf(out, cap, "/banner/%u", n1);
        break;
    case 5: /* blog */
        if (v < 2) snprintf(out, cap, "/2026/%02u/%s-%s-%u/", 1 + n2 % 12, wd, wd2, n1 % 100);
        else if (v == 2) snprintf(out, cap, "/post/%u", n1);
        else snprintf(out, cap, "/?p=%u", n1);
        break;
    case 6: /* social_network */
        if (v < 2) snprintf(out, cap, "/u/%s/status/%u%u", tok2, n1, n2);
        else if (v == 2) snprintf(out, cap, "/profile/%s", tok);
        else snprintf(out, cap, "/p/%s", tok);
        break;
    case 7: /* video_channel */
        if (v < 2) snprintf(out, cap, "/watch?v=%s", tok);
        else if (v == 2) snprintf(out, cap, "/v/%s", tok);
        else snprintf(out, cap, "/channel/%s/videos?page=%u", tok2, n2);
        break;
    case 8: /* chat_service */
        if (v < 2) snprintf(out, cap, "/c/%s", tok);
        else if (v == 2) snprintf(out, cap, "/room/%s-%u", wd, n2);
        else snprintf(out, cap, "/invite/%s", tok);
        break;
    default:
        if (v < 2) snprintf(out, cap, "/%s", tok);
        else snprintf(out, cap, "/x/%u/%s", n1, tok);
        break;
    }
}

/* Host name prefix for a page URL ("" = the bare registrable domain). */
static const char *host_prefix(rng_t *r, int st)
{
    static const char *const gen[] = {"", "", "", "www.", "www.", "m."};
    static const char *const img[] = {"", "img.", "www.", "i.", "gallery."};
    static const char *const frm[] = {"", "forum.", "www.", "board."};
    static const char *const fil[] = {"", "www.", "files.", "dl."};
    if (st == 1)
        return img[rng_below(r, 5)];
    if (st == 2)
        return frm[rng_below(r, 4)];
    if (st == 3)
        return fil[rng_below(r, 4)];
    return gen[rng_below(r, 6)];
}

/* Random classification values; baseline material is almost always illegal. */
static void gen_cls(rng_t *r, struct cls *c)
{
    c->set = 1;
    c->intl = rng_below(r, 100) < 55 ? 0 : 1; /* 0 baseline, 1 not_baseline */
    c->nat = c->intl == 0 ? (rng_below(r, 100) < 97 ? 0 : 1) : (rng_below(r, 100) < 60 ? 0 : 1);
    c->age = (unsigned char)rng_pick(r, age_w, 4);
    c->gender = (unsigned char)rng_pick(r, gender_w, 4);
}

/* File attributes (type, mime, size, dimensions, hashes) of a new media file. */
static void gen_file(rng_t *r, struct media *m)
{
    m->type = (unsigned char)rng_pick(r, media_type_w, 3);
    unsigned short mw[N_MIME];
    for (int i = 0; i < N_MIME; i++)
        mw[i] = mimes[i].type == m->type ? mimes[i].w : 0;
    m->mime = (unsigned char)rng_pick(r, mw, N_MIME);
    m->width = m->height = m->duration = -1;
    if (m->type == MT_IMAGE) {
        static const int dims[][2] = {{640, 480}, {800, 600},  {1024, 768}, {1280, 720},
                                      {1920, 1080}, {480, 640}, {1080, 1350}, {320, 240}};
        int d = (int)rng_below(r, 8);
        m->width = dims[d][0];
        m->height = dims[d][1];
        m->bytes = 20000 + rng_below(r, 3000000);
    } else if (m->type == MT_VIDEO) {
        static const int dims[][2] = {{640, 360}, {854, 480}, {1280, 720}, {1920, 1080}};
        int d = (int)rng_below(r, 4);
        m->width = dims[d][0];
        m->height = dims[d][1];
        m->duration = 5 + (int)rng_below(r, 1800);
        m->bytes = 1000000 + rng_below(r, 500000000);
    } else {
        m->bytes = 10000 + rng_below(r, 50000000);
    }
    rng_bytes(r, m->md5, sizeof m->md5);
    rng_bytes(r, m->sha1, sizeof m->sha1);
    rng_bytes(r, m->sha256, sizeof m->sha256);
    rng_bytes(r, m->pdq, sizeof m->pdq);
    rng_bytes(r, m->pdna, sizeof m->pdna);
    m->pdq_q = 40 + (int)rng_below(r, 61);
}

/* Content URL of a media item: mostly a CDN host of the page's domain. */
static void gen_content_url(const struct world *w, rng_t *r, const struct report *rp,
                            struct media *m)
{
    static const char *const pfx[] = {"cdn.", "img.", "i.", "media.", "static.", "s1."};
    static const char *const dir[] = {"i", "images", "uploads", "v", "files", "content"};
    const struct domain *d = &w->dom[rp->dom];
    if (rng_below(r, 100) < 30)
        d = &w->dom[rng_below(r, w->ndom)];
    char tok[24];
    rnd_token(r, tok, 8 + rng_below(r, 8));
    snprintf(m->url, sizeof m->url, "https://%s%s/%s/%s.%s", pfx[rng_below(r, 6)], d->name,
             dir[rng_below(r, 6)], tok, mimes[m->mime].ext);
}

/*
 * One media item of a report. 15% are recurring files (same hashes and
 * classification in many reports, seen before, is_new false); a tenth of those are
 * near-duplicates: a few PDQ bits flipped, otherwise a new file.
 */
static void gen_media(const struct world *w, rng_t *r, const struct report *rp,
                      struct media *m, uint32_t id, int64_t seen_from)
{
    memset(&m->c, 0, sizeof m->c);
    m->id = id;
    int recurring = rng_below(r, 100) < 15;
    if (recurring) {
        uint32_t p = (uint32_t)rng_below(r, w->npool);
        rng_t pr;
        rng_seed(&pr, w->seed, p, TAG_POOL);
        gen_file(&pr, m);
        struct cls pc;
        gen_cls(&pr, &pc);
        int64_t pool_seen = w->start - 86400 - (int64_t)rng_below(&pr, 700LL * 86400);
        if (rng_below(r, 100) < 10) { /* near-duplicate: new file, similar picture */
            uint8_t pdq[32];
            memcpy(pdq, m->pdq, sizeof pdq);
            gen_file(r, m);
            memcpy(m->pdq, pdq, sizeof pdq);
            int flips = 1 + (int)rng_below(r, 24);
            for (int i = 0; i < flips; i++) {
                unsigned bit = (unsigned)rng_below(r, 256);
                m->pdq[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
            m->first_seen = seen_from + 30 + (int64_t)rng_below(r, 400);
            m->is_new = 1;
            m->known = rng_below(r, 100) < 5;
        } else {
            m->first_seen = pool_seen;
            m->is_new = 0;
            m->known = rng_below(r, 100) < 35;
        }
        m->c = pc; /* classified like the original file; time set by the caller */
    } else {
        gen_file(r, m);
        m->first_seen = seen_from + 30 + (int64_t)rng_below(r, 400);
        m->is_new = 1;
        m->known = rng_below(r, 100) < 5;
        gen_cls(r, &m->c);
    }
    gen_content_url(w, r, rp, m);
}

/*
 * With media_files: give the report's JPEG and PNG items with ids up to it a
 * generated file (seeded by the item's random PhotoDNA bytes, so a recurring
 * item gets the same picture and the store de-duplicates it), and declare the
 * file's real type, size and hashes. One item in 40 keeps a random MD5, so the
 * portal has a hash mismatch to show. 0, or -1 when a file cannot be written.
 */
static int attach_files(const struct world *w, struct report *rp)
{
    for (int k = 0; k < rp->nmedia; k++) {
        struct media *m = &rp->m[k];
        m->has_file = 0;
        if (!w->media_files || m->id > (uint64_t)w->media_files || m->type != MT_IMAGE || m->mime > 1)
            continue;
        uint32_t seed = (uint32_t)m->pdna[0] | (uint32_t)m->pdna[1] << 8 | (uint32_t)m->pdna[2] << 16 |
                        (uint32_t)m->pdna[3] << 24;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/media/M-%04d-%07u", w->out_dir, w->year, m->id);
        struct mdemo_file f;
        if (mdemo_make(seed, m->mime == 1, path, &f) != 0)
            return -1;
        if (m->id % 40 != 7)
            memcpy(m->md5, f.md5, sizeof m->md5);
        memcpy(m->sha1, f.sha1, sizeof m->sha1);
        memcpy(m->sha256, f.sha256, sizeof m->sha256);
        memcpy(m->pdq, f.pdq, sizeof m->pdq);
        m->pdq_q = f.pdq_quality;
        m->width = f.width;
        m->height = f.height;
        m->bytes = f.bytes;
        m->has_file = 1;
    }
    return 0;
}

/* Give every media item a classification dated just before the report's assessment. */
static void classify_all(rng_t *r, struct report *rp, int64_t at)
{
    for (int k = 0; k < rp->nmedia; k++) {
        struct cls *c = &rp->m[k].c;
        if (!c->set)
            gen_cls(r, c);
        c->set = 1;
        c->at = at - (int64_t)(rp->nmedia - 1 - k) * (30 + (int64_t)rng_below(r, 31));
        c->by = rp->ass_hl;
    }
}

/* Regenerate the original (version 0) of report idx; media ids start at media_base. */
static void gen_report(const struct world *w, uint32_t idx, uint32_t media_base,
                       struct report *rp)
{
    rng_t r;
    gen_head(w, &r, idx, rp);
    rp->rep_hl = (unsigned char)rng_pick(&r, w->hotline_w, N_HOTLINE);
    rp->dom = rng_below(&r, 100) < 40 ? (uint32_t)rng_below(&r, w->nhot)
                                       : (uint32_t)rng_below(&r, w->ndom);
    const struct domain *d = &w->dom[rp->dom];
    rp->site_type = d->site_type;
    rp->commercial = d->commercial;
    rp->prov = d->prov;
    int hl = w->country_hl[w->prov[d->prov].country];
    rp->ass_hl = (unsigned char)(hl >= 0 ? hl : rp->rep_hl);
    gen_ip(&r, d->prov, rp->ip, sizeof rp->ip);
    char path[160];
    gen_path(&r, d->site_type, path, sizeof path);
    snprintf(rp->url, sizeof rp->url, "https://%s%s%s", host_prefix(&r, d->site_type), d->name,
             path);

    rng_t mr;
    rng_seed(&mr, w->seed, idx, TAG_MEDIA);
    for (int k = 0; k < rp->nmedia; k++)
        gen_media(w, &mr, rp, &rp->m[k], media_base + (uint32_t)k, rp->reported);
    if (rp->status >= 1)
        classify_all(&mr, rp, rp->tl[0]);
    else
        for (int k = 0; k < rp->nmedia; k++)
            rp->m[k].c.set = 0;
}

/*
 * Apply update number v (1-based) to rp, moving it to time t_v: advance the status,
 * add or remove a media item, reclassify one, move hosting, flip commercial. At
 * least one change is made. added_id is the media id to use if an item is added.
 */
static void apply_update(const struct world *w, struct report *rp, uint32_t v, int64_t t_v,
                         uint32_t added_id)
{
    rng_t r;
    rng_seed(&r, w->seed, ((uint64_t)rp->idx << 16) | v, TAG_UPD);
    int64_t t_prev = rp->updated, span = t_v - t_prev;
    int changed = 0;

    if (rp->status < ST_CLOSED && rng_below(&r, 100) < 45) {
        int from = rp->status, to = from + 1 + (int)rng_below(&r, 2);
        if (to > ST_CLOSED)
            to = ST_CLOSED;
        for (int s = from + 1; s <= to; s++)
            if (s - 1 < 5)
                rp->tl[s - 1] = t_prev + span * (s - from) / (to - from + 1);
        rp->status = (unsigned char)to;
        if (from == 0)
            classify_all(&r, rp, rp->tl[0]);
        changed = 1;
    }
    if (rp->nmedia < MAXMEDIA && rng_below(&r, 100) < 25) {
        struct media *m = &rp->m[rp->nmedia++];
        gen_media(w, &r, rp, m, added_id, t_prev);
        if (m->is_new) /* crawled between the two versions */
            m->first_seen = t_prev + 1 + (int64_t)rng_below(&r, (uint64_t)span / 2);
        if (rp->status >= 1) {
            m->c.set = 1;
            int64_t from = m->first_seen > t_prev ? m->first_seen : t_prev;
            m->c.at = from + 1 + (int64_t)rng_below(&r, (uint64_t)(t_v - from - 1));
            m->c.by = rp->ass_hl;
        } else {
            m->c.set = 0;
        }
        changed = 1;
    }
    if (rp->nmedia > 1 && rng_below(&r, 100) < 15) {
        int k = (int)rng_below(&r, (uint64_t)rp->nmedia);
        memmove(&rp->m[k], &rp->m[k + 1], (size_t)(rp->nmedia - k - 1) * sizeof rp->m[0]);
        rp->nmedia--;
        changed = 1;
    }
    if (rng_below(&r, 100) < 10) { /* site moved to another provider (same country) */
        int c = w->prov[rp->prov].country;
        rp->prov = w->prov_by_country[c][rng_below(&r, w->nprov_country[c])];
        gen_ip(&r, rp->prov, rp->ip, sizeof rp->ip);
        changed = 1;
    }
    if (rng_below(&r, 100) < 5) {
        rp->commercial = !rp->commercial;
        changed = 1;
    }
    if ((rp->status >= 1 && rng_below(&r, 100) < 30) || !changed) {
        if (rp->status == 0) { /* nothing else to change: assess it */
            rp->status = 1;
            rp->tl[0] = t_prev + span / 2;
            classify_all(&r, rp, rp->tl[0]);
        } else { /* a new assessment of one item, maybe by another hotline */
            struct media *m = &rp->m[rng_below(&r, (uint64_t)rp->nmedia)];
            struct cls *c = &m->c, old = m->c;
            gen_cls(&r, c);
            if (c->intl == old.intl && c->nat == old.nat && c->age == old.age)
                c->age = (unsigned char)((c->age + 1) % 4);
            /* after the previous version, and after the item was first seen */
            int64_t from = old.at > t_prev ? old.at : t_prev;
            if (m->first_seen > from)
                from = m->first_seen;
            c->at = from + 1 + (int64_t)rng_below(&r, (uint64_t)(t_v - from));
            c->by = rng_below(&r, 2) ? rp->ass_hl : rp->rep_hl;
        }
    }
    rp->updated = t_v;
}

/* ------------------------------------------------------------------------- */
/* JSON emission                                                             */
/* ------------------------------------------------------------------------- */

/* Append the report as one compact JSON object. */
static void emit_report(const struct world *w, struct buf *b, const struct report *rp)
{
    const struct provider *pv = &w->prov[rp->prov];
    b_fmt(b, "{\"iccam_id\":\"R-%04d-%07u\",\"updated_at\":", w->year, rp->idx + 1);
    b_time(b, rp->updated);
    b_raw(b, ",\"reported_at\":");
    b_time(b, rp->reported);
    b_raw(b, ",\"reporting_hotline\":");
    b_jstr(b, hotlines[rp->rep_hl].code);
    b_raw(b, ",\"assessing_hotline\":");
    b_jstr(b, hotlines[rp->ass_hl].code);
    b_raw(b, ",\"url\":");
    b_jstr(b, rp->url);
    b_raw(b, ",\"site_type\":");
    b_jstr(b, site_types[rp->site_type]);
    b_raw(b, ",\"hosting\":{\"country\":");
    b_jstr(b, countries[pv->country].cc);
    b_raw(b, ",\"ip\":");
    b_jstr(b, rp->ip);
    b_raw(b, ",\"asn\":");
    b_u64(b, pv->asn);
    b_raw(b, ",\"provider\":");
    b_jstr(b, pv->name);
    b_raw(b, rp->commercial ? "},\"commercial\":true,\"status\":" : "},\"commercial\":false,\"status\":");
    b_jstr(b, statuses[rp->status]);
    b_raw(b, ",\"timeline\":{");
    for (int k = 0; k < 5; k++) {
        b_fmt(b, "%s\"%s\":", k ? "," : "", timeline_keys[k]);
        b_time(b, rp->tl[k]);
    }
    b_raw(b, "},\"media\":[");
    for (int k = 0; k < rp->nmedia; k++) {
        const struct media *m = &rp->m[k];
        b_fmt(b, "%s{\"iccam_media_id\":\"M-%04d-%07u\",\"content_url\":", k ? "," : "", w->year,
              m->id);
        b_jstr(b, m->url);
        b_fmt(b, ",\"media_type\":\"%s\",\"mime\":\"%s\",\"bytes\":", media_types[m->type],
              mimes[m->mime].mime);
        b_u64(b, m->bytes);
        if (m->width >= 0)
            b_fmt(b, ",\"width\":%d,\"height\":%d", m->width, m->height);
        else
            b_raw(b, ",\"width\":null,\"height\":null");
        if (m->duration >= 0)
            b_fmt(b, ",\"duration_s\":%d", m->duration);
        else
            b_raw(b, ",\"duration_s\":null");
        b_raw(b, ",\"hashes\":{\"md5\":");
        b_hex(b, m->md5, 16);
        b_raw(b, ",\"sha1\":");
        b_hex(b, m->sha1, 20);
        b_raw(b, ",\"sha256\":");
        b_hex(b, m->sha256, 32);
        b_raw(b, ",\"pdq\":");
        b_hex(b, m->pdq, 32);
        b_fmt(b, ",\"pdq_quality\":%d,\"photodna\":", m->pdq_q);
        b_b64(b, m->pdna, 144);
        b_raw(b, "},\"classification\":");
        if (m->c.set) {
            b_fmt(b, "{\"international\":\"%s\",\"national\":\"%s\",\"age_group\":\"%s\","
                     "\"gender\":\"%s\",\"assessed_at\":",
                  m->c.intl ? "not_baseline" : "baseline", m->c.nat ? "not_illegal" : "illegal",
                  age_groups[m->c.age], genders[m->c.gender]);
            b_time(b, m->c.at);
            b_raw(b, ",\"assessed_by\":");
            b_jstr(b, hotlines[m->c.by].code);
            b_raw(b, "}");
        } else {
            b_raw(b, "null");
        }
        b_raw(b, ",\"first_seen_at\":");
        b_time(b, m->first_seen);
        b_fmt(b, ",\"is_new\":%s,\"known_to_police\":%s", m->is_new ? "true" : "false",
              m->known ? "true" : "false");
        if (!w->media_files || m->has_file)
            b_fmt(b, ",\"content\":\"media/M-%04d-%07u\"", w->year, m->id);
        b_raw(b, "}");
    }
    b_raw(b, "]}");
}

/* ------------------------------------------------------------------------- */
/* Files                                                                     */
/* ------------------------------------------------------------------------- */

/* Put a printf-formatted one-line message into err. */
static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* mkdir -p. */
static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Write the whole buffer to path (replacing it); -1 with errno on failure. */
static int write_file(const char *path, const struct buf *b)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = fwrite(b->p, 1, b->len, f);
    int bad = n != b->len || ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
}

/* hotlines.json: every hotline with made-up website and e-mail under .example. */
static int write_hotlines(const char *dir, char *err, size_t errlen)
{
    struct buf b = {0};
    b_raw(&b, "{\"hotlines\":[\n");
    for (int h = 0; h < N_HOTLINE; h++) {
        const struct hotline *hl = &hotlines[h];
        char lower[32], name[96];
        size_t i = 0;
        for (; hl->code[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)(hl->code[i] >= 'A' && hl->code[i] <= 'Z' ? hl->code[i] + 32
                                                                        : hl->code[i]);
        lower[i] = 0;
        const char *cname = hl->cc;
        for (int c = 0; c < N_COUNTRY; c++)
            if (!strcmp(countries[c].cc, hl->cc))
                cname = countries[c].name;
        if (hl->name)
            snprintf(name, sizeof name, "%s", hl->name);
        else
            snprintf(name, sizeof name, "%s Hotline (synthetic)", cname);
        b_raw(&b, h ? ",\n{\"code\":" : "{\"code\":");
        b_jstr(&b, hl->code);
        b_raw(&b, ",\"name\":");
        b_jstr(&b, name);
        b_raw(&b, ",\"country\":");
        b_jstr(&b, hl->cc);
        b_fmt(&b, ",\"website\":\"https://%s.hotline.example\","
                  "\"email\":\"reports@%s.hotline.example\"}",
              lower, lower);
    }
    b_raw(&b, "\n]}\n");
    char path[PATH_MAX];
    int rc = 0;
    if (b.oom)
        rc = fail(err, errlen, "feedgen: out of memory");
    else if (snprintf(path, sizeof path, "%s/hotlines.json", dir) >= (int)sizeof path)
        rc = fail(err, errlen, "feedgen: output path too long");
    else if (write_file(path, &b) != 0)
        rc = fail(err, errlen, "feedgen: cannot write %s: %s", path, strerror(errno));
    free(b.p);
    return rc;
}

/* Remove reports-N.json files numbered above npages left over from a larger run. */
static void remove_stale_pages(const char *dir, long npages)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (strncmp(n, "reports-", 8) != 0)
            continue;
        char *end;
        long k = strtol(n + 8, &end, 10);
        if (end == n + 8 || strcmp(end, ".json") != 0 || k <= npages)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, n) < (int)sizeof path)
            unlink(path);
    }
    closedir(d);
}

/* ------------------------------------------------------------------------- */
/* Events and the main entry point                                           */
/* ------------------------------------------------------------------------- */

enum { EV_ORIG, EV_UPD, EV_DEL };

struct event {
    int64_t t;
    uint32_t r;
    uint16_t v;   /* 0 original, 1.. update number, delete: last update + 1 */
    uint8_t kind;
    uint32_t u;   /* update ordinal (EV_UPD): gives the id of a media item it adds */
};

/* Order events by (time, report, version): a report's versions stay in order. */
static int ev_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Order update events by (report, version) for the replay lookup. */
static int upd_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    return (x->v > y->v) - (x->v < y->v);
}

/* Time between two versions of a report (deterministic per report and version). */
static int64_t version_gap(uint64_t seed, uint32_t r, uint32_t v, int tag)
{
    rng_t g;
    rng_seed(&g, seed, ((uint64_t)r << 16) | v, (uint64_t)tag);
    return 3600 + (int64_t)rng_below(&g, (tag == TAG_DEL_DT ? 30 : 20) * 86400ULL);
}

/* Find the update event (r, v) in the (report, version)-sorted array. */
static const struct event *find_upd(const struct event *ups, size_t n, uint32_t r, uint16_t v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ups[mid].r < r || (ups[mid].r == r && ups[mid].v < v))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ups[lo].r == r && ups[lo].v == v ? &ups[lo] : NULL;
}

/* Write the whole feed: see feedgen.h. */
int feedgen_write(const struct feedgen_opts *o, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!o)
        return fail(err, errlen, "feedgen: no options");
    if (!o->out_dir || !*o->out_dir)
        return fail(err, errlen, "feedgen: out_dir is required");
    if (o->count < 0 || o->count > 100000000L)
        return fail(err, errlen, "feedgen: count must be between 0 and 100000000");
    double ur = o->update_ratio == 0 ? 0.02 : o->update_ratio < 0 ? 0 : o->update_ratio;
    double dr = o->delete_ratio == 0 ? 0.005 : o->delete_ratio < 0 ? 0 : o->delete_ratio;
    if (ur > 100 || ur != ur)
        return fail(err, errlen, "feedgen: update_ratio must be at most 100");
    if (dr > 1 || dr != dr)
        return fail(err, errlen, "feedgen: delete_ratio must be at most 1");
    long page_size = o->page_size > 0 ? o->page_size : 500;

    struct world w;
    char path_media[PATH_MAX];
    memset(&w, 0, sizeof w);
    const char *sd = o->start_date ? o->start_date : "2026-01-01";
    if (parse_date(sd, &w.start, &w.year) != 0)
        return fail(err, errlen, "feedgen: bad start_date \"%.20s\" (want YYYY-MM-DD)", sd);
    if (mkdir_p(o->out_dir) != 0)
        return fail(err, errlen, "feedgen: cannot create %s: %s", o->out_dir, strerror(errno));
    if (write_hotlines(o->out_dir, err, errlen) != 0)
        return -1;
    w.out_dir = o->out_dir;
    w.media_files = o->media_files > 0 ? o->media_files : 0;
    if (w.media_files) {
        snprintf(path_media, sizeof path_media, "%s/media", o->out_dir);
        if (mkdir_p(path_media) != 0)
            return fail(err, errlen, "feedgen: cannot create %s: %s", path_media, strerror(errno));
    }

    uint32_t count = (uint32_t)o->count;
    size_t n_upd = (size_t)(count * ur + 0.5), n_del = (size_t)(count * dr + 0.5);
    if (n_del > count)
        n_del = count;
    if (count == 0)
        n_upd = n_del = 0;
    size_t n_ev = count + n_upd + n_del;

    int rc = -1;
    struct event *ev = NULL, *ups = NULL;
    uint32_t *media_base = NULL, *perm = NULL;
    uint16_t *nver = NULL;
    int64_t *last_t = NULL;
    struct report *rp = NULL;
    struct buf b = {0};
    FILE *f = NULL;
    char *fbuf = NULL;
    char path[PATH_MAX];

    if (world_init(&w, o->seed, (long)count) != 0) {
        fail(err, errlen, "feedgen: out of memory");
        goto out;
    }
    ev = malloc((n_ev ? n_ev : 1) * sizeof *ev);
    ups = malloc((n_upd ? n_upd : 1) * sizeof *ups);
    media_base = malloc((count ? count : 1) * sizeof *media_base);
    perm = malloc((count ? count : 1) * sizeof *perm);
    nver = calloc(count ? count : 1, sizeof *nver);
    last_t = malloc((count ? count : 1) * sizeof *last_t);
    rp = malloc(sizeof *rp);
    fbuf = malloc(1 << 20);
    if (!ev || !ups || !media_base || !perm || !nver || !last_t || !rp || !fbuf) {
        fail(err, errlen, "feedgen: out of memory");
        goto out;
    }

    /* Pass 1: heads, then updates and deletes, then sort by time. */
    uint32_t next_media = 1;
    size_t ne = 0;
    for (uint32_t i = 0; i < count; i++) {
        rng_t r;
        gen_head(&w, &r, i, rp);
        media_base[i] = next_media;
        next_media += (uint32_t)rp->nmedia;
        last_t[i] = rp->updated;
        ev[ne++] = (struct event){rp->updated, i, 0, EV_ORIG, 0};
    }
    rng_t er;
    rng_seed(&er, w.seed, 0, TAG_UPD_DT);
    for (size_t u = 0; u < n_upd; u++) {
        uint32_t i;
        do
            i = (uint32_t)rng_below(&er, count);
        while (nver[i] >= 65000);
        uint16_t v = ++nver[i];
        last_t[i] += version_gap(w.seed, i, v, TAG_UPD_DT);
        ev[ne] = (struct event){last_t[i], i, v, EV_UPD, (uint32_t)u};
        ups[u] = ev[ne++];
    }
    for (uint32_t i = 0; i < count; i++)
        perm[i] = i;
    for (size_t k = 0; k < n_del; k++) { /* partial Fisher-Yates: distinct reports */
        size_t j = k + (size_t)rng_below(&er, count - k);
        uint32_t tmp = perm[k];
        perm[k] = perm[j];
        perm[j] = tmp;
        uint32_t i = perm[k];
        int64_t t = last_t[i] + version_gap(w.seed, i, 0, TAG_DEL_DT);
        ev[ne++] = (struct event){t, i, (uint16_t)(nver[i] + 1), EV_DEL, 0};
    }
    qsort(ev, ne, sizeof *ev, ev_cmp);
    qsort(ups, n_upd, sizeof *ups, upd_cmp);

    /* Pass 2: pages. */
    long npages = ne ? (long)((ne + (size_t)page_size - 1) / (size_t)page_size) : 1;
    size_t e = 0;
    for (long pg = 1; pg <= npages; pg++) {
        if (snprintf(path, sizeof path, "%s/reports-%04ld.json", o->out_dir, pg) >=
            (int)sizeof path) {
            fail(err, errlen, "feedgen: output path too long");
            goto out;
        }
        f = fopen(path, "w");
        if (!f) {
            fail(err, errlen, "feedgen: cannot write %s: %s", path, strerror(errno));
            goto out;
        }
        setvbuf(f, fbuf, _IOFBF, 1 << 20);
        fputs("{\"reports\":[\n", f);
        for (long k = 0; k < page_size && e < ne; k++, e++) {
            const struct event *x = &ev[e];
            b.len = 0;
            if (k)
                b_raw(&b, ",\n");
            if (x->kind == EV_DEL) {
                b_fmt(&b, "{\"iccam_id\":\"R-%04d-%07u\",\"updated_at\":", w.year, x->r + 1);
                b_time(&b, x->t);
                b_raw(&b, ",\"deleted\":true}");
            } else {
                gen_report(&w, x->r, media_base[x->r], rp);
                int64_t t = rp->updated;
                for (uint16_t v = 1; v <= x->v; v++) {
                    const struct event *up = find_upd(ups, n_upd, x->r, v);
                    t += version_gap(w.seed, x->r, v, TAG_UPD_DT);
                    apply_update(&w, rp, v, t, next_media + (up ? up->u : 0));
                }
                if (attach_files(&w, rp) != 0) {
                    fail(err, errlen, "feedgen: cannot write media files under %s/media: %s", o->out_dir,
                         strerror(errno));
                    goto out;
                }
                emit_report(&w, &b, rp);
            }
            if (b.oom) {
                fail(err, errlen, "feedgen: out of memory");
                goto out;
            }
            fwrite(b.p, 1, b.len, f);
        }
        if (pg < npages)
            fprintf(f, "\n],\"next_cursor\":\"reports-%04ld.json\",\"has_more\":true}\n", pg + 1);
        else
            fputs("\n],\"next_cursor\":null,\"has_more\":false}\n", f);
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            f = NULL;
            fail(err, errlen, "feedgen: write error on %s: %s", path, strerror(errno));
            goto out;
        }
        f = NULL;
    }
    remove_stale_pages(o->out_dir, npages);
    rc = 0;

out:
    if (f)
        fclose(f);
    free(fbuf);
    free(b.p);
    free(rp);
    free(last_t);
    free(nver);
    free(perm);
    free(media_base);
    free(ups);
    free(ev);
    free(w.dom);
    return rc;
}
