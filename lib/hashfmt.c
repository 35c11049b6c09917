/*
 * hashfmt - streaming readers and writers of the hash-list formats; see hashfmt.h.
 *
 * Inside: one record type (struct rec) that every reader fills field by field and
 * hands to rec_emit, which reports it as invalid or splits it into entries; a yajl
 * event handler for VICS JSON that keeps a small stack of where it is in the
 * document; a delimiter-separated tokenizer (RFC 4180 quoting) shared by ICSE, CSV
 * and text; the writers; the push-parser driver around them.
 */
#include "hashfmt.h"
#include "jw.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#define HF_CHUNK (64 * 1024)                /* read size of hashfmt_parse_fd */
#define HF_REC_MAX (64 * 1024)              /* longest CSV/ICSE/text record */
#define HF_FIELDS_MAX 64                    /* most fields in a CSV/ICSE record */
#define HF_JSON_TOKEN_MAX (4 * 1024 * 1024) /* longest JSON string or number */
#define HF_JSON_DEPTH 64                    /* deepest JSON nesting */

static const char *const ALG_NAMES[] = {NULL, "md5", "sha1", "sha256", "pdq", "photodna"};
static const size_t ALG_SIZES[] = {0, 16, 20, 32, 32, 144};
static const char *const FORMAT_NAMES[] = {NULL, "vics", "icse", "csv", "text"};

/* The name of an algorithm, for messages, the CLI and the CSV header. */
const char *hashfmt_alg_name(enum hashfmt_alg a)
{
    return a >= HF_MD5 && a <= HF_ALG_MAX ? ALG_NAMES[a] : "?";
}

/* Look an algorithm up by name (the CLI's --algorithm), ignoring case. */
int hashfmt_alg_parse(const char *name, enum hashfmt_alg *a)
{
    for (int i = HF_MD5; name && i <= HF_ALG_MAX; i++)
        if (!strcasecmp(name, ALG_NAMES[i])) {
            *a = (enum hashfmt_alg)i;
            return CP_OK;
        }
    return CP_BAD;
}

/* Bytes of a binary value of algorithm a, 0 when a is none. */
size_t hashfmt_alg_size(enum hashfmt_alg a)
{
    return a >= HF_MD5 && a <= HF_ALG_MAX ? ALG_SIZES[a] : 0;
}

/* The name of a format, for messages and the CLI. */
const char *hashfmt_format_name(enum hashfmt_format f)
{
    return f >= HF_VICS && f <= HF_TEXT ? FORMAT_NAMES[f] : "?";
}

/* Look a format up by name (the CLI's --format), ignoring case. */
int hashfmt_format_parse(const char *name, enum hashfmt_format *f)
{
    for (int i = HF_VICS; name && i <= HF_TEXT; i++)
        if (!strcasecmp(name, FORMAT_NAMES[i])) {
            *f = (enum hashfmt_format)i;
            return CP_OK;
        }
    return CP_BAD;
}

/* ------------------------------------------------------------------ records */

/* One record of any format - a VICS media object, a CSV/ICSE row, a text line -
 * while it is being read. Fixed-size, so reading never allocates per record. */
struct rec {
    long line;
    int nhash;
    uint8_t have[HF_ALG_MAX + 1];
    uint8_t val[HF_ALG_MAX + 1][144];
    char media_id[HF_MEDIA_ID_MAX + 1], category[HF_CATEGORY_MAX + 1], series[HF_SERIES_MAX + 1];
    int has_id, has_cat, has_series;
    int victim, offender, distrib;
    int has_media; /* VICS: the object had a "Media" array, so it is a case */
    char why[128]; /* the first problem found; empty while the record is fine */
};

/* Start a record that begins on line. */
static void rec_reset(struct rec *r, long line)
{
    r->line = line;
    r->nhash = 0;
    memset(r->have, 0, sizeof r->have);
    r->has_id = r->has_cat = r->has_series = r->has_media = 0;
    r->victim = r->offender = r->distrib = -1;
    r->why[0] = 0;
}

/* Note a problem; the first one is the reason reported, later ones add nothing. */
static void rec_bad(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec_bad(struct rec *r, const char *fmt, ...)
{
    if (r->why[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
}

/* Narrow s/n to drop blanks around it: cells are often padded by hand or by Excel. */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
        (*n)--;
}

/* Decode n hex digits (either case) into n/2 bytes; 0, or -1 on a non-hex digit.
 * Takes a length because JSON strings from yajl are not NUL-terminated. */
static int hex_decode(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        int hi = util_hexval((unsigned char)s[i]), lo = util_hexval((unsigned char)s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Set the record's hash of algorithm a from its text: hex for every algorithm,
 * base64 (VICS's form) also for PhotoDNA. Empty text means no such hash, as VICS
 * and CSV leave absent hashes empty. label names the field in the reason. */
static void rec_hash(struct rec *r, enum hashfmt_alg a, const char *label, const char *s, size_t n)
{
    trim(&s, &n);
    if (!n)
        return;
    size_t size = ALG_SIZES[a];
    if (n == 2 * size) {
        if (hex_decode(s, n, r->val[a])) {
            rec_bad(r, "%s: not hex", label);
            return;
        }
    } else if (a == HF_PHOTODNA && n == 192) {
        char tmp[193];
        memcpy(tmp, s, n);
        tmp[n] = 0;
        if (util_b64_decode(tmp, r->val[a], size) != (int)size) {
            rec_bad(r, "%s: not base64 of 144 bytes", label);
            return;
        }
    } else {
        if (a == HF_PHOTODNA)
            rec_bad(r, "%s: %zu characters, expected 192 base64 or 288 hex", label, n);
        else
            rec_bad(r, "%s: %zu characters, expected %zu hex digits", label, n, 2 * size);
        return;
    }
    if (!r->have[a]) {
        r->have[a] = 1;
        r->nhash++;
    }
}

/* Set a text field (category, series, media id): printable UTF-8 of at most max
 * bytes, so nothing odd reaches the database, the web page or an export. */
static void rec_text(struct rec *r, char *dst, int *has, size_t max, const char *label, const char *s, size_t n)
{
    trim(&s, &n);
    if (!n)
        return;
    if (n > max) {
        rec_bad(r, "%s: longer than %zu bytes", label, max);
        return;
    }
    memcpy(dst, s, n);
    dst[n] = 0;
    if (memchr(s, 0, n) || !util_is_clean_text(dst, max)) {
        rec_bad(r, "%s: not printable text", label);
        return;
    }
    *has = 1;
}

/* Read a flag: true/false, yes/no, 1/0 in any case; empty leaves it unknown (-1). */
static void rec_flag(struct rec *r, int *flag, const char *label, const char *s, size_t n)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    trim(&s, &n);
    if (!n)
        return;
    for (int i = 0; i < 3; i++) {
        if (n == strlen(yes[i]) && !strncasecmp(s, yes[i], n)) {
            *flag = 1;
            return;
        }
        if (n == strlen(no[i]) && !strncasecmp(s, no[i], n)) {
            *flag = 0;
            return;
        }
    }
    rec_bad(r, "%s: not a boolean", label);
}

/* --------------------------------------------------------------- the parser */

struct json {
    yajl_handle h;
    /* Line numbers: yajl tells how far into the current chunk it is; scan follows
     * it, counting newlines, so each byte is looked at once. */
    const unsigned char *chunk;
    size_t chunk_len, scan;
    long line, last_line; /* current line; line of the last non-blank byte */
    /* The pre-scan that caps token length (yajl buffers a whole string). */
    int in_str, esc;
    size_t tok;
    unsigned char fr[HF_JSON_DEPTH]; /* what each open container is (J_...) */
    int depth;
    int key;  /* K_... of the last key in the innermost object */
    int mode; /* M_... from the metadata URL */
    int seen_value;
    struct rec rec[2]; /* [0] an object of value[], [1] a media object inside a case */
};

struct dsv {
    int delim;   /* ',', ';', or -1 (text: the whole line is one field) */
    int quoting; /* RFC 4180 quotes are special */
    int st;      /* S_... */
    int in_rec, quoted, nf;
    const char *bad; /* the first problem of the record being read */
    long line, rec_line;
    size_t len, fstart;
    size_t off[HF_FIELDS_MAX];
    int have_header, ncols;
    signed char col[HF_FIELDS_MAX]; /* C_... of each header column */
    const char *label[HF_FIELDS_MAX];
    struct rec r;
    char rec[HF_REC_MAX + HF_FIELDS_MAX + 2]; /* room for every field's NUL past the cap */
};

struct hashfmt_parser {
    enum hashfmt_format fmt;
    enum hashfmt_alg text_alg;
    struct hashfmt_sink sink;
    int status; /* CP_OK until something stops the parse; sticky */
    int finished;
    int bom; /* bytes of a UTF-8 BOM matched so far; 3 once decided */
    char err[256];
    struct json j;
    struct dsv d;
};

/* Stop the parse: the input is not the declared format. The message names the line. */
static int p_fatal(struct hashfmt_parser *p, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int p_fatal(struct hashfmt_parser *p, long line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, sizeof p->err, "line %ld: %s", line, msg);
    p->status = CP_BAD;
    return CP_BAD;
}

/* Tell the sink about an invalid record. */
static void p_invalid(struct hashfmt_parser *p, long line, const char *why)
{
    if (p->sink.invalid)
        p->sink.invalid(p->sink.arg, line, why);
}

/* Hand a finished record to the sink: as one invalid record when anything in it was
 * wrong or it had no hash, else as one entry per hash. Returns the sink's status. */
static int rec_emit(struct hashfmt_parser *p, const struct rec *r)
{
    if (r->why[0] || !r->nhash) {
        p_invalid(p, r->line, r->why[0] ? r->why : "no hash");
        return CP_OK;
    }
    if (!p->sink.entry)
        return CP_OK;
    struct hashfmt_entry e;
    e.category = r->has_cat ? r->category : NULL;
    e.series = r->has_series ? r->series : NULL;
    e.media_id = r->has_id ? r->media_id : NULL;
    e.victim_identified = r->victim;
    e.offender_identified = r->offender;
    e.is_distributed = r->distrib;
    e.line = r->line;
    for (int a = HF_MD5; a <= HF_ALG_MAX; a++) {
        if (!r->have[a])
            continue;
        e.alg = (enum hashfmt_alg)a;
        e.len = ALG_SIZES[a];
        memcpy(e.value, r->val[a], e.len);
        int rc = p->sink.entry(p->sink.arg, &e);
        if (rc != CP_OK) {
            snprintf(p->err, sizeof p->err, "line %ld: stopped by the entry callback", r->line);
            p->status = rc;
            return rc;
        }
    }
    return CP_OK;
}

/* ----------------------------------------------------------------- VICS JSON */

enum { J_ROOT = 1, J_VALUE, J_OBJ, J_MEDIA_ARR, J_MEDIA, J_SKIP };
enum { M_UNKNOWN, M_MEDIA, M_CASES };
enum { K_OTHER, K_META, K_VALUE, K_MEDIA, K_ID, K_CAT, K_SERIES, K_VICT, K_OFF, K_DIST, K_HASH };
enum { T_NULL, T_BOOL, T_NUM, T_STR };

/* The members of a media object we read, by their VICS spelling. */
static const struct {
    const char *name;
    int key;
} MEDIA_KEYS[] = {
    {"MediaID", K_ID},
    {"Category", K_CAT},
    {"Series", K_SERIES},
    {"VictimIdentified", K_VICT},
    {"OffenderIdentified", K_OFF},
    {"IsDistributed", K_DIST},
    {"MD5", K_HASH + HF_MD5},
    {"SHA1", K_HASH + HF_SHA1},
    {"SHA256", K_HASH + HF_SHA256},
    {"PDQ", K_HASH + HF_PDQ},
    {"PhotoDNA", K_HASH + HF_PHOTODNA},
    {"Media", K_MEDIA},
};

/* The VICS name of a key, for reasons. */
static const char *key_label(int key)
{
    for (size_t i = 0; i < sizeof MEDIA_KEYS / sizeof MEDIA_KEYS[0]; i++)
        if (MEDIA_KEYS[i].key == key)
            return MEDIA_KEYS[i].name;
    return "?";
}

/* True when the n bytes at s are the string lit. */
static int is_key(const unsigned char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && !memcmp(s, lit, n);
}

/* Count the lines of the current chunk up to byte upto (never backwards). */
static void j_advance(struct json *j, size_t upto)
{
    for (; j->scan < upto; j->scan++) {
        unsigned char c = j->chunk[j->scan];
        if (c == '\n')
            j->line++;
        else if (c != ' ' && c != '\t' && c != '\r')
            j->last_line = j->line;
    }
}

/* The line yajl is on now: inside a callback, the line of the token just read. */
static long j_line(struct hashfmt_parser *p)
{
    struct json *j = &p->j;
    if (j->chunk) {
        size_t upto = yajl_get_bytes_consumed(j->h);
        j_advance(j, upto < j->chunk_len ? upto : j->chunk_len);
    }
    return j->line;
}

/* Stop from inside a callback with a whole-file error; 0 makes yajl cancel. */
static int j_fatal(struct hashfmt_parser *p, const char *msg)
{
    p_fatal(p, j_line(p), "%s", msg);
    return 0;
}

/* Enter a container of kind fr; the nesting cap bounds yajl's state stack too. */
static int j_push(struct hashfmt_parser *p, int fr)
{
    struct json *j = &p->j;
    if (j->depth == HF_JSON_DEPTH)
        return j_fatal(p, "JSON nested deeper than 64 levels");
    j->fr[j->depth++] = (unsigned char)fr;
    j->key = K_OTHER;
    return 1;
}

/* What the innermost open container is, 0 before the document starts. */
static int j_top(const struct json *j)
{
    return j->depth ? j->fr[j->depth - 1] : 0;
}

/* The record a member of the innermost object goes to. */
static struct rec *j_rec(struct json *j)
{
    return &j->rec[j_top(j) == J_MEDIA];
}

/* A known media member holding an object or array: the record is malformed. */
static void j_container_member(struct json *j)
{
    if (j->key != K_OTHER && j->key != K_MEDIA)
        rec_bad(j_rec(j), "%s: not a single value", key_label(j->key));
}

/* Set the media member j->key from a scalar of JSON type type (text s, n bytes). */
static void j_member(struct json *j, int type, const char *s, size_t n)
{
    struct rec *r = j_rec(j);
    int key = j->key;
    if (key == K_OTHER || key == K_MEDIA || type == T_NULL)
        return; /* null: the member is absent */
    const char *label = key_label(key);
    if (key > K_HASH) {
        if (type != T_STR)
            rec_bad(r, "%s: not a string", label);
        else
            rec_hash(r, (enum hashfmt_alg)(key - K_HASH), label, s, n);
    } else if (key == K_VICT || key == K_OFF || key == K_DIST) {
        rec_flag(r, key == K_VICT ? &r->victim : key == K_OFF ? &r->offender : &r->distrib, label, s, n);
    } else if (type == T_BOOL) {
        rec_bad(r, "%s: not a string or number", label);
    } else if (key == K_ID) {
        rec_text(r, r->media_id, &r->has_id, HF_MEDIA_ID_MAX, label, s, n);
    } else if (key == K_CAT) {
        rec_text(r, r->category, &r->has_cat, HF_CATEGORY_MAX, label, s, n);
    } else if (key == K_SERIES) {
        rec_text(r, r->series, &r->has_series, HF_SERIES_MAX, label, s, n);
    }
}

/* Any scalar value, wherever it is in the document. */
static int j_scalar(struct hashfmt_parser *p, int type, const char *s, size_t n)
{
    struct json *j = &p->j;
    switch (j_top(j)) {
    case 0:
        return j_fatal(p, "not VICS JSON: the document is not an object");
    case J_ROOT:
        if (j->key == K_VALUE)
            return j_fatal(p, "not VICS JSON: \"value\" is not an array");
        if (j->key == K_META && type == T_STR) {
            /* ".../$metadata#Media" or "#Cases": which objects value[] holds */
            const char *hash = memchr(s, '#', n);
            size_t rest = hash ? n - (size_t)(hash - s) - 1 : 0;
            if (hash && rest == 5 && !memcmp(hash + 1, "Media", 5))
                j->mode = M_MEDIA;
            else if (hash && rest == 5 && !memcmp(hash + 1, "Cases", 5))
                j->mode = M_CASES;
        }
        return 1;
    case J_VALUE:
        p_invalid(p, j_line(p), "a value[] element that is not an object");
        return 1;
    case J_MEDIA_ARR:
        p_invalid(p, j_line(p), "a Media[] element that is not an object");
        return 1;
    case J_OBJ:
    case J_MEDIA:
        j_member(j, type, s, n);
        return 1;
    default:
        return 1;
    }
}

/* yajl callbacks: each hands its event to the handlers above. */
static int j_null(void *ctx)
{
    return j_scalar(ctx, T_NULL, "", 0);
}
static int j_bool(void *ctx, int v)
{
    return j_scalar(ctx, T_BOOL, v ? "true" : "false", v ? 4 : 5);
}
static int j_number(void *ctx, const char *s, size_t n)
{
    return j_scalar(ctx, T_NUM, s, n);
}
static int j_string(void *ctx, const unsigned char *s, size_t n)
{
    return j_scalar(ctx, T_STR, (const char *)s, n);
}

/* A key: remember which known member (if any) the next value belongs to. */
static int j_key(void *ctx, const unsigned char *k, size_t n)
{
    struct hashfmt_parser *p = ctx;
    struct json *j = &p->j;
    int top = j_top(j);
    j->key = K_OTHER;
    if (top == J_ROOT) {
        if (is_key(k, n, "odata.metadata") || is_key(k, n, "@odata.context"))
            j->key = K_META;
        else if (is_key(k, n, "value"))
            j->key = K_VALUE;
    } else if (top == J_OBJ && j->mode == M_CASES) {
        if (is_key(k, n, "Media"))
            j->key = K_MEDIA; /* a case: only its media matter */
    } else if (top == J_OBJ || top == J_MEDIA) {
        for (size_t i = 0; i < sizeof MEDIA_KEYS / sizeof MEDIA_KEYS[0]; i++)
            if (is_key(k, n, MEDIA_KEYS[i].name))
                j->key = MEDIA_KEYS[i].key;
        if (top == J_MEDIA && j->key == K_MEDIA)
            j->key = K_OTHER; /* cases do not nest */
    }
    return 1;
}

/* '{': the document, an object of value[], a media object in a case, or skipped. */
static int j_start_map(void *ctx)
{
    struct hashfmt_parser *p = ctx;
    struct json *j = &p->j;
    int push = J_SKIP;
    switch (j_top(j)) {
    case 0:
        push = J_ROOT;
        break;
    case J_ROOT:
        if (j->key == K_VALUE)
            return j_fatal(p, "not VICS JSON: \"value\" is not an array");
        break;
    case J_VALUE:
        push = J_OBJ;
        rec_reset(&j->rec[0], j_line(p));
        break;
    case J_MEDIA_ARR:
        push = J_MEDIA;
        rec_reset(&j->rec[1], j_line(p));
        break;
    case J_OBJ:
    case J_MEDIA:
        j_container_member(j);
        break;
    }
    return j_push(p, push);
}

/* '[': the value array, a case's Media array, or skipped. */
static int j_start_array(void *ctx)
{
    struct hashfmt_parser *p = ctx;
    struct json *j = &p->j;
    int push = J_SKIP;
    switch (j_top(j)) {
    case 0:
        return j_fatal(p, "not VICS JSON: the document is not an object");
    case J_ROOT:
        if (j->key == K_VALUE) {
            push = J_VALUE;
            j->seen_value = 1;
        }
        break;
    case J_VALUE:
        p_invalid(p, j_line(p), "a value[] element that is not an object");
        break;
    case J_MEDIA_ARR:
        p_invalid(p, j_line(p), "a Media[] element that is not an object");
        break;
    case J_OBJ:
        if (j->key == K_MEDIA) {
            push = J_MEDIA_ARR;
            j->rec[0].has_media = 1;
        } else {
            j_container_member(j);
        }
        break;
    case J_MEDIA:
        j_container_member(j);
        break;
    }
    return j_push(p, push);
}

/* '}': a finished media object goes to the sink. An object of value[] is a case
 * (nothing of its own to emit) in Cases files, or when it had a Media array and
 * no hash; otherwise it is a media object. */
static int j_end_map(void *ctx)
{
    struct hashfmt_parser *p = ctx;
    struct json *j = &p->j;
    int top = j->fr[--j->depth];
    if (top == J_MEDIA)
        return rec_emit(p, &j->rec[1]) == CP_OK;
    if (top == J_OBJ) {
        const struct rec *r = &j->rec[0];
        if (j->mode == M_CASES || (r->has_media && !r->nhash && !r->why[0]))
            return 1;
        return rec_emit(p, r) == CP_OK;
    }
    return 1;
}

/* ']': leave the array. */
static int j_end_array(void *ctx)
{
    struct hashfmt_parser *p = ctx;
    p->j.depth--;
    return 1;
}

static const yajl_callbacks J_CALLBACKS = {
    .yajl_null = j_null,
    .yajl_boolean = j_bool,
    .yajl_number = j_number,
    .yajl_string = j_string,
    .yajl_start_map = j_start_map,
    .yajl_map_key = j_key,
    .yajl_end_map = j_end_map,
    .yajl_start_array = j_start_array,
    .yajl_end_array = j_end_array,
};

/* How many bytes of d keep every JSON string and number within HF_JSON_TOKEN_MAX.
 * yajl buffers a token whole, so without this one endless string in a 1 GB file
 * would need 1 GB. */
static size_t j_prescan(struct json *j, const unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = d[i];
        if (j->in_str) {
            if (j->esc) {
                j->esc = 0;
            } else if (c == '\\') {
                j->esc = 1;
            } else if (c == '"') {
                j->in_str = 0;
                j->tok = 0;
                continue;
            }
            if (++j->tok > HF_JSON_TOKEN_MAX)
                return i;
        } else if (c == '"') {
            j->in_str = 1;
            j->tok = 0;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '{' || c == '}' || c == '[' || c == ']' ||
                   c == ':' || c == ',') {
            j->tok = 0;
        } else if (++j->tok > HF_JSON_TOKEN_MAX) {
            return i;
        }
    }
    return n;
}

/* yajl's complaint as a whole-file error on line. */
static void j_syntax(struct hashfmt_parser *p, long line)
{
    unsigned char *m = yajl_get_error(p->j.h, 0, NULL, 0);
    char msg[160];
    snprintf(msg, sizeof msg, "%s", m ? (const char *)m : "error");
    if (m)
        yajl_free_error(p->j.h, m);
    size_t n = strlen(msg);
    while (n && isspace((unsigned char)msg[n - 1]))
        msg[--n] = 0;
    p_fatal(p, line, "not valid JSON: %s", msg);
}

/* Feed a chunk of VICS JSON to yajl. */
static void json_feed(struct hashfmt_parser *p, const unsigned char *d, size_t n)
{
    struct json *j = &p->j;
    size_t ok = j_prescan(j, d, n);
    j->chunk = d;
    j->chunk_len = ok;
    j->scan = 0;
    yajl_status st = yajl_parse(j->h, d, ok);
    if (st == yajl_status_error) {
        size_t at = yajl_get_bytes_consumed(j->h);
        j_advance(j, at < ok ? at : ok);
        j_syntax(p, j->line);
    } else if (st == yajl_status_ok) {
        j_advance(j, ok);
        if (ok < n)
            p_fatal(p, j->line, "a JSON string or number longer than %d bytes", HF_JSON_TOKEN_MAX);
    } /* else canceled by a callback, which set the status */
    j->chunk = NULL;
}

/* End of VICS input: the document must be complete and have had a value array. */
static void json_finish(struct hashfmt_parser *p)
{
    struct json *j = &p->j;
    yajl_status st = yajl_complete_parse(j->h);
    if (st == yajl_status_error)
        j_syntax(p, j->last_line);
    else if (st == yajl_status_ok && !j->seen_value)
        p_fatal(p, j->last_line, "not VICS JSON: no \"value\" array");
}

/* ------------------------------------------------------ CSV, ICSE and text */

enum { S_START, S_PLAIN, S_QUOTED, S_QUOTE };
/* What a CSV/ICSE column holds; 1..5 (HF_MD5..HF_PHOTODNA) are the hashes. */
enum { C_NONE = 0, C_CAT = 6, C_SERIES, C_ID, C_VICT, C_OFF, C_DIST, C_BASELINE };

/* Header names (lower case) of the columns read; others are ignored. */
struct colname {
    const char *name, *label;
    int col;
};
static const struct colname ICSE_COLS[] = {
    {"md5", "MD5", HF_MD5},
    {"sha1", "SHA1", HF_SHA1},
    {"photodna", "PhotoDNA", HF_PHOTODNA},
    {"image id", "Image ID", C_ID},
    {"is distributed", "Is distributed", C_DIST},
    {"victim identified", "Victim identified", C_VICT},
    {"offender identified", "Offender identified", C_OFF},
    {"series name", "Series name", C_SERIES},
    {"baseline", "Baseline", C_BASELINE},
    {NULL, NULL, 0},
};
static const struct colname CSV_COLS[] = {
    {"md5", "md5", HF_MD5},
    {"sha1", "sha1", HF_SHA1},
    {"sha256", "sha256", HF_SHA256},
    {"pdq", "pdq", HF_PDQ},
    {"photodna", "photodna", HF_PHOTODNA},
    {"category", "category", C_CAT},
    {"series", "series", C_SERIES},
    {"media_id", "media_id", C_ID},
    {NULL, NULL, 0},
};

/* Find a header name (trimmed, any case, n bytes at s) in tab; NULL if not there. */
static const struct colname *col_lookup(const struct colname *tab, const char *s, size_t n)
{
    trim(&s, &n);
    for (; tab->name; tab++)
        if (n == strlen(tab->name) && !strncasecmp(s, tab->name, n))
            return tab;
    return NULL;
}

/* Note the record's first problem; it becomes the reason it is reported invalid. */
static void dsv_bad(struct dsv *v, const char *why)
{
    if (!v->bad)
        v->bad = why;
}

/* Append a byte to the current field, up to the record cap. */
static void dsv_put(struct dsv *v, int c)
{
    if (!c)
        dsv_bad(v, "a NUL byte");
    if (v->len >= HF_REC_MAX) {
        dsv_bad(v, "longer than 64 KiB");
        return;
    }
    v->rec[v->len++] = (char)c;
    v->rec[v->len] = 0;
}

/* End the current field: NUL-terminate it and remember where it starts. */
static void dsv_field(struct dsv *v)
{
    if (v->nf == HF_FIELDS_MAX) {
        dsv_bad(v, "more than 64 fields");
        return;
    }
    v->rec[v->len++] = 0; /* fits: the buffer has a spare byte per field */
    v->off[v->nf++] = v->fstart;
    v->fstart = v->len;
    v->rec[v->len] = 0;
}

/* The header of a CSV or ICSE file: which column is what. A file without a hash
 * column is not a hash list, so that is a whole-file error. */
static int dsv_header(struct hashfmt_parser *p)
{
    struct dsv *v = &p->d;
    const struct colname *tab = p->fmt == HF_ICSE ? ICSE_COLS : CSV_COLS;
    v->have_header = 1;
    if (v->bad)
        return p_fatal(p, v->rec_line, "bad header: %s", v->bad);
    unsigned seen = 0;
    int nhash = 0;
    for (int i = 0; i < v->nf; i++) {
        const char *name = v->rec + v->off[i];
        const struct colname *c = col_lookup(tab, name, strlen(name));
        v->col[i] = C_NONE;
        if (!c)
            continue;
        if (seen & 1u << c->col)
            return p_fatal(p, v->rec_line, "column \"%s\" appears twice in the header", c->label);
        seen |= 1u << c->col;
        v->col[i] = (signed char)c->col;
        v->label[i] = c->label;
        nhash += c->col <= HF_ALG_MAX;
    }
    v->ncols = v->nf;
    if (!nhash)
        return p_fatal(p, v->rec_line, "the header names no hash column (%s)",
                       p->fmt == HF_ICSE ? "MD5, SHA1, PhotoDNA" : "md5, sha1, sha256, pdq, photodna");
    return CP_OK;
}

/* A CSV or ICSE data row: every known column into the record, then out. */
static int dsv_data(struct hashfmt_parser *p)
{
    struct dsv *v = &p->d;
    struct rec *r = &v->r;
    rec_reset(r, v->rec_line);
    if (v->bad)
        rec_bad(r, "%s", v->bad);
    for (int i = 0; i < v->nf && !r->why[0]; i++) {
        const char *s = v->rec + v->off[i];
        size_t n = strlen(s);
        if (i >= v->ncols) {
            trim(&s, &n);
            if (n) /* an empty extra field is a trailing delimiter; text would be lost */
                rec_bad(r, "%d fields, the header has %d", v->nf, v->ncols);
            continue;
        }
        int c = v->col[i];
        const char *label = v->label[i];
        int baseline = -1;
        if (c >= HF_MD5 && c <= HF_ALG_MAX)
            rec_hash(r, (enum hashfmt_alg)c, label, s, n);
        else if (c == C_CAT)
            rec_text(r, r->category, &r->has_cat, HF_CATEGORY_MAX, label, s, n);
        else if (c == C_SERIES)
            rec_text(r, r->series, &r->has_series, HF_SERIES_MAX, label, s, n);
        else if (c == C_ID)
            rec_text(r, r->media_id, &r->has_id, HF_MEDIA_ID_MAX, label, s, n);
        else if (c == C_VICT)
            rec_flag(r, &r->victim, label, s, n);
        else if (c == C_OFF)
            rec_flag(r, &r->offender, label, s, n);
        else if (c == C_DIST)
            rec_flag(r, &r->distrib, label, s, n);
        else if (c == C_BASELINE)
            rec_flag(r, &baseline, label, s, n);
        if (baseline == 1) {
            strcpy(r->category, "baseline");
            r->has_cat = 1;
        }
    }
    return rec_emit(p, r);
}

/* A text line: one hash, its algorithm the caller's or told by its length. */
static int text_line(struct hashfmt_parser *p)
{
    struct dsv *v = &p->d;
    struct rec *r = &v->r;
    const char *s = v->rec;
    size_t n = strlen(s);
    trim(&s, &n);
    if (n && s[0] == '#')
        return CP_OK; /* a comment, however long */
    rec_reset(r, v->rec_line);
    if (v->bad) {
        rec_bad(r, "%s", v->bad);
    } else {
        enum hashfmt_alg a = p->text_alg;
        if (!a)
            a = n == 32 ? HF_MD5 : n == 40 ? HF_SHA1 : n == 64 ? HF_SHA256 : n == 192 || n == 288 ? HF_PHOTODNA : 0;
        if (a)
            rec_hash(r, a, ALG_NAMES[a], s, n);
        else
            rec_bad(r, "not a hash: %zu characters", n);
    }
    return rec_emit(p, r);
}

/* A complete record: skip it when blank, else header, data row or text line. */
static void dsv_record(struct hashfmt_parser *p)
{
    struct dsv *v = &p->d;
    dsv_field(v);
    v->in_rec = 0;
    if (!v->bad && v->nf == 1 && !v->quoted) {
        const char *s = v->rec;
        size_t n = strlen(s);
        trim(&s, &n);
        if (!n)
            return;
    }
    if (p->fmt == HF_TEXT)
        text_line(p);
    else if (!v->have_header)
        dsv_header(p);
    else
        dsv_data(p);
}

/* Drop a '\r' that ends the current unquoted field: CRLF line ends. */
static void dsv_strip_cr(struct dsv *v)
{
    if (v->len > v->fstart && v->rec[v->len - 1] == '\r')
        v->rec[--v->len] = 0;
}

/* Feed a chunk of delimiter-separated text, byte by byte: RFC 4180 fields, quoted
 * ones may hold the delimiter, doubled quotes and line breaks. */
static void dsv_feed(struct hashfmt_parser *p, const unsigned char *d, size_t n)
{
    struct dsv *v = &p->d;
    for (size_t i = 0; i < n && p->status == CP_OK; i++) {
        int c = d[i];
        if (!v->in_rec) {
            v->in_rec = 1;
            v->rec_line = v->line;
            v->len = v->fstart = 0;
            v->nf = v->quoted = 0;
            v->bad = NULL;
            v->st = S_START;
            v->rec[0] = 0;
        }
        switch (v->st) {
        case S_QUOTED:
            if (c == '"') {
                v->st = S_QUOTE;
            } else {
                if (c == '\n')
                    v->line++;
                dsv_put(v, c);
            }
            continue;
        case S_QUOTE: /* after a quote inside a quoted field */
            if (c == '"') {
                dsv_put(v, c);
                v->st = S_QUOTED;
            } else if (c == v->delim) {
                dsv_field(v);
                v->st = S_START;
            } else if (c == '\n') {
                v->line++;
                dsv_record(p);
            } else if (c != '\r') {
                dsv_bad(v, "text after a closing quote");
                dsv_put(v, c);
                v->st = S_PLAIN;
            }
            continue;
        case S_START:
            if (c == '"' && v->quoting) {
                v->st = S_QUOTED;
                v->quoted = 1;
                continue;
            }
            v->st = S_PLAIN;
            /* fall through */
        default:
            if (c == v->delim) {
                dsv_field(v);
                v->st = S_START;
            } else if (c == '\n') {
                v->line++;
                dsv_strip_cr(v);
                dsv_record(p);
            } else {
                if (c == '"' && v->quoting)
                    dsv_bad(v, "a quote inside an unquoted field");
                dsv_put(v, c);
            }
        }
    }
}

/* End of CSV/ICSE/text input: the last record may lack its newline. */
static void dsv_finish(struct hashfmt_parser *p)
{
    struct dsv *v = &p->d;
    if (v->in_rec) {
        if (v->st == S_QUOTED)
            dsv_bad(v, "a quoted field that never ends");
        else if (v->st != S_QUOTE)
            dsv_strip_cr(v);
        dsv_record(p);
    }
    if (p->status == CP_OK && p->fmt != HF_TEXT && !v->have_header)
        p_fatal(p, v->line, "no header line");
}

/* ------------------------------------------------------------------ driver */

/* Create a push parser for format fmt delivering to sink. */
int hashfmt_parser_new(struct hashfmt_parser **pp, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                       const struct hashfmt_sink *sink, char *err, size_t errlen)
{
    *pp = NULL;
    if (fmt < HF_VICS || fmt > HF_TEXT)
        return fail(err, errlen, CP_BAD, "unknown hash list format");
    if ((int)text_alg < 0 || text_alg > HF_ALG_MAX)
        return fail(err, errlen, CP_BAD, "unknown hash algorithm");
    struct hashfmt_parser *p = calloc(1, sizeof *p);
    if (!p)
        return fail(err, errlen, CP_ERR, "out of memory");
    p->fmt = fmt;
    p->text_alg = text_alg;
    if (sink)
        p->sink = *sink;
    p->j.line = p->j.last_line = 1;
    p->d.line = 1;
    if (fmt == HF_VICS) {
        p->j.h = yajl_alloc(&J_CALLBACKS, NULL, p);
        if (!p->j.h) {
            free(p);
            return fail(err, errlen, CP_ERR, "out of memory");
        }
        /* UTF-8 is checked per field (util_is_clean_text), so one Latin-1 series
         * name makes its object invalid instead of ending the whole file. */
        yajl_config(p->j.h, yajl_dont_validate_strings, 1);
    } else {
        p->d.delim = fmt == HF_ICSE ? ';' : fmt == HF_CSV ? ',' : -1;
        p->d.quoting = fmt != HF_TEXT;
    }
    *pp = p;
    return CP_OK;
}

/* Hand bytes to the format's reader. */
static void p_feed(struct hashfmt_parser *p, const unsigned char *d, size_t n)
{
    if (p->status != CP_OK || !n)
        return;
    if (p->fmt == HF_VICS)
        json_feed(p, d, n);
    else
        dsv_feed(p, d, n);
}

static const unsigned char BOM[3] = {0xef, 0xbb, 0xbf};

/* Copy the parser's status and message out. */
static int p_result(struct hashfmt_parser *p, char *err, size_t errlen)
{
    if (p->status != CP_OK && err && errlen)
        snprintf(err, errlen, "%s", p->err);
    return p->status;
}

/* Push n more bytes of input; a leading BOM is dropped even when split across chunks. */
int hashfmt_parser_feed(struct hashfmt_parser *p, const void *data, size_t n, char *err, size_t errlen)
{
    const unsigned char *d = data;
    if (p->finished && p->status == CP_OK) {
        p->status = CP_ERR;
        snprintf(p->err, sizeof p->err, "input after the end");
    }
    while (p->bom < 3 && n && p->status == CP_OK) {
        if (d[0] == BOM[p->bom]) {
            p->bom++;
            d++;
            n--;
        } else {
            int held = p->bom;
            p->bom = 3;
            p_feed(p, BOM, (size_t)held); /* not a BOM after all: those bytes are data */
        }
    }
    p_feed(p, d, n);
    return p_result(p, err, errlen);
}

/* End of input: complete the last record and check the file as a whole. */
int hashfmt_parser_finish(struct hashfmt_parser *p, char *err, size_t errlen)
{
    if (p->status == CP_OK && !p->finished) {
        p->finished = 1;
        if (p->bom < 3)
            p_feed(p, BOM, (size_t)p->bom);
        if (p->status == CP_OK) {
            if (p->fmt == HF_VICS)
                json_finish(p);
            else
                dsv_finish(p);
        }
    }
    return p_result(p, err, errlen);
}

/* Release a parser (NULL is fine). */
void hashfmt_parser_free(struct hashfmt_parser *p)
{
    if (!p)
        return;
    if (p->j.h)
        yajl_free(p->j.h);
    free(p);
}

/* Read fd to its end in reads of at most chunk bytes, feeding the parser. */
int hashfmt_parse_fd_chunked(int fd, size_t chunk, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                             const struct hashfmt_sink *sink, char *err, size_t errlen)
{
    if (!chunk)
        chunk = HF_CHUNK;
    struct hashfmt_parser *p;
    int rc = hashfmt_parser_new(&p, fmt, text_alg, sink, err, errlen);
    if (rc != CP_OK)
        return rc;
    char *b = malloc(chunk);
    if (!b) {
        hashfmt_parser_free(p);
        return fail(err, errlen, CP_ERR, "out of memory");
    }
    for (;;) {
        ssize_t got = read(fd, b, chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = fail(err, errlen, CP_ERR, "reading the hash list: %s", strerror(errno));
            break;
        }
        if (got == 0) {
            rc = hashfmt_parser_finish(p, err, errlen);
            break;
        }
        rc = hashfmt_parser_feed(p, b, (size_t)got, err, errlen);
        if (rc != CP_OK)
            break;
    }
    free(b);
    hashfmt_parser_free(p);
    return rc;
}

/* Read fd to its end, 64 KiB at a time. */
int hashfmt_parse_fd(int fd, enum hashfmt_format fmt, enum hashfmt_alg text_alg, const struct hashfmt_sink *sink,
                     char *err, size_t errlen)
{
    return hashfmt_parse_fd_chunked(fd, HF_CHUNK, fmt, text_alg, sink, err, errlen);
}

/* Parse a list held in memory, in one feed. */
int hashfmt_parse_mem(const char *data, size_t n, enum hashfmt_format fmt, enum hashfmt_alg text_alg,
                      const struct hashfmt_sink *sink, char *err, size_t errlen)
{
    struct hashfmt_parser *p;
    int rc = hashfmt_parser_new(&p, fmt, text_alg, sink, err, errlen);
    if (rc != CP_OK)
        return rc;
    rc = hashfmt_parser_feed(p, data, n, err, errlen);
    if (rc == CP_OK)
        rc = hashfmt_parser_finish(p, err, errlen);
    hashfmt_parser_free(p);
    return rc;
}

/* ------------------------------------------------------------------- sniff */

/* True when the line's fields (split at delim, quotes and blanks dropped) include
 * a hash column of tab. */
static int header_has_hash(const char *s, size_t n, char delim, const struct colname *tab)
{
    while (n) {
        const char *end = memchr(s, delim, n);
        size_t len = end ? (size_t)(end - s) : n;
        const char *f = s;
        size_t fl = len;
        trim(&f, &fl);
        if (fl >= 2 && f[0] == '"' && f[fl - 1] == '"')
            f++, fl -= 2;
        const struct colname *c = col_lookup(tab, f, fl);
        if (c && c->col <= HF_ALG_MAX)
            return 1;
        if (!end)
            break;
        s += len + 1;
        n -= len + 1;
    }
    return 0;
}

/* Guess the format of a file from its first bytes. */
int hashfmt_sniff(const char *head, size_t n, enum hashfmt_format *f)
{
    size_t i = 0;
    if (n >= 3 && !memcmp(head, BOM, 3))
        i = 3;
    while (i < n && isspace((unsigned char)head[i]))
        i++;
    if (i == n)
        return CP_BAD;
    if (head[i] == '{') {
        *f = HF_VICS;
        return CP_OK;
    }
    if (head[i] == '#') {
        *f = HF_TEXT;
        return CP_OK;
    }
    const char *line = head + i, *nl = memchr(line, '\n', n - i);
    size_t len = nl ? (size_t)(nl - line) : n - i;
    if (memchr(line, ';', len) && header_has_hash(line, len, ';', ICSE_COLS)) {
        *f = HF_ICSE;
        return CP_OK;
    }
    if (header_has_hash(line, len, ',', CSV_COLS)) {
        *f = HF_CSV;
        return CP_OK;
    }
    trim(&line, &len);
    size_t k = 0;
    while (k < len && (isalnum((unsigned char)line[k]) || line[k] == '+' || line[k] == '/' || line[k] == '='))
        k++;
    if (k == len && (len == 32 || len == 40 || len == 64 || len == 192 || len == 288)) {
        *f = HF_TEXT;
        return CP_OK;
    }
    return CP_BAD;
}

/* ----------------------------------------------------------------- writers */

#define VICS_CONTEXT "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"

/* Start a list; see hashfmt.h. */
int hashfmt_writer_begin(struct hashfmt_writer *w, enum hashfmt_format fmt, struct buf *out, const char *country,
                         char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->fmt = fmt;
    w->out = out;
    switch (fmt) {
    case HF_VICS:
        if (!country)
            country = "US";
        if (!util_is_country(country))
            return fail(err, errlen, CP_BAD, "not an ISO 3166 country code");
        /* Only our constants and a checked two-letter code: nothing to escape. */
        buf_adds(out, "{\"@odata.context\":\"" VICS_CONTEXT);
        buf_adds(out, country);
        buf_adds(out, "/$metadata#Media\",\"value\":[");
        return CP_OK;
    case HF_CSV:
        buf_adds(out, "md5,sha1,sha256,pdq,photodna,category,series,media_id,change\n");
        return CP_OK;
    case HF_TEXT:
        return CP_OK;
    default:
        return fail(err, errlen, CP_BAD, "%s lists cannot be written", hashfmt_format_name(fmt));
    }
}

/* True when s is a plain non-negative integer JSON can carry exactly: VICS has
 * MediaID and Category as numbers, so those that are numbers are written as such. */
static int plain_int(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 15 || (s[0] == '0' && n > 1))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A VICS member that is a number when it looks like one, else a string. */
static void vics_intish(struct jw *jw, const char *key, const char *s)
{
    jw_key(jw, key);
    if (plain_int(s))
        jw_int(jw, strtoll(s, NULL, 10));
    else
        jw_str(jw, s);
}

/* One CSV cell, quoted (quotes doubled) when it holds a comma, quote or line break. */
static void csv_cell(struct buf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        buf_adds(b, s);
        return;
    }
    buf_add(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"')
            buf_add(b, "\"", 1);
        buf_add(b, s, 1);
    }
    buf_add(b, "\"", 1);
}

/* Append one entry; see hashfmt.h. */
int hashfmt_writer_entry(struct hashfmt_writer *w, const struct hashfmt_entry *e, const char *change, char *err,
                         size_t errlen)
{
    static const char *const changes[] = {"added", "changed", "removed", NULL};
    static const char *const vics_keys[] = {NULL, "MD5", "SHA1", "SHA256", "PDQ", "PhotoDNA"};
    if (e->alg < HF_MD5 || e->alg > HF_ALG_MAX || e->len != ALG_SIZES[e->alg])
        return fail(err, errlen, CP_BAD, "not a valid hash");
    if ((e->category && !util_is_clean_text(e->category, HF_CATEGORY_MAX)) ||
        (e->series && !util_is_clean_text(e->series, HF_SERIES_MAX)) ||
        (e->media_id && !util_is_clean_text(e->media_id, HF_MEDIA_ID_MAX)))
        return fail(err, errlen, CP_BAD, "category, series or media id too long or not printable");
    if (change && !util_in_list(change, changes))
        return fail(err, errlen, CP_BAD, "change must be added, changed or removed");
    char text[289];
    if (e->alg == HF_PHOTODNA)
        util_b64_encode(e->value, e->len, text);
    else
        util_hex_encode(e->value, e->len, text);

    struct buf *b = w->out;
    switch (w->fmt) {
    case HF_VICS: {
        struct jw jws, *jw = &jws;
        if (e->alg != HF_PHOTODNA) /* Project VIC's own files carry upper-case hex */
            for (char *c = text; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        buf_adds(b, w->n ? ",\n" : "\n");
        jw_init(jw, b); /* each media object afresh: the commas between them are ours */
        jw_obj(jw);
        if (e->media_id)
            vics_intish(jw, "MediaID", e->media_id);
        if (e->category)
            vics_intish(jw, "Category", e->category);
        jw_key(jw, vics_keys[e->alg]);
        jw_str(jw, text);
        if (e->series) {
            jw_key(jw, "Series");
            jw_str(jw, e->series);
        }
        if (e->victim_identified >= 0) {
            jw_key(jw, "VictimIdentified");
            jw_bool(jw, e->victim_identified);
        }
        if (e->offender_identified >= 0) {
            jw_key(jw, "OffenderIdentified");
            jw_bool(jw, e->offender_identified);
        }
        if (e->is_distributed >= 0) {
            jw_key(jw, "IsDistributed");
            jw_bool(jw, e->is_distributed);
        }
        if (change) {
            jw_key(jw, "cport");
            jw_obj(jw);
            jw_key(jw, "change");
            jw_str(jw, change);
            jw_obj_end(jw);
        }
        jw_obj_end(jw);
        break;
    }
    case HF_CSV:
        for (int a = HF_MD5; a <= HF_ALG_MAX; a++) {
            if (a == (int)e->alg)
                buf_adds(b, text);
            buf_add(b, ",", 1);
        }
        csv_cell(b, e->category);
        buf_add(b, ",", 1);
        csv_cell(b, e->series);
        buf_add(b, ",", 1);
        csv_cell(b, e->media_id);
        buf_add(b, ",", 1);
        csv_cell(b, change);
        buf_add(b, "\n", 1);
        break;
    case HF_TEXT:
        buf_adds(b, text);
        buf_add(b, "\n", 1);
        break;
    default:
        return fail(err, errlen, CP_BAD, "writer not started");
    }
    w->n++;
    return CP_OK;
}

/* Close the list. */
void hashfmt_writer_end(struct hashfmt_writer *w)
{
    if (w->fmt == HF_VICS)
        buf_adds(w->out, w->n ? "\n]}\n" : "]}\n");
}

/* ------------------------------------------------------------------- fuzz */

/* What the fuzz sink writes into. */
struct fuzz {
    struct buf b;
    struct hashfmt_writer w[3];
};

/* Fuzz sink: write every parsed entry in every writable format. Whatever a reader
 * accepts a writer must be able to write, so a refusal is a bug: crash on it, as
 * a fuzzer needs. */
static int fuzz_entry(void *arg, const struct hashfmt_entry *e)
{
    struct fuzz *z = arg;
    for (int i = 0; i < 3; i++)
        if (hashfmt_writer_entry(&z->w[i], e, "added", NULL, 0) != CP_OK)
            abort();
    if (z->b.len > 1 << 20)
        buf_reset(&z->b);
    return CP_OK;
}

/* The fuzz sink's invalid-record handler: the reason must be a string. */
static void fuzz_invalid(void *arg, long line, const char *why)
{
    (void)arg;
    (void)line;
    if (strlen(why) == 0)
        abort();
}

/* Fuzz entry point; see hashfmt.h. */
int hashfmt_fuzz_one(const uint8_t *data, size_t n)
{
    static const enum hashfmt_format wf[3] = {HF_VICS, HF_CSV, HF_TEXT};
    struct fuzz z;
    char err[256];
    enum hashfmt_format f;
    buf_init(&z.b);
    for (int i = 0; i < 3; i++)
        hashfmt_writer_begin(&z.w[i], wf[i], &z.b, NULL, NULL, 0);
    struct hashfmt_sink sink = {fuzz_entry, fuzz_invalid, &z};
    hashfmt_sniff((const char *)data, n, &f);
    for (int fmt = HF_VICS; fmt <= HF_TEXT; fmt++)
        for (int a = 0; a <= (fmt == HF_TEXT ? HF_ALG_MAX : 0); a++)
            hashfmt_parse_mem((const char *)data, n, (enum hashfmt_format)fmt, (enum hashfmt_alg)a, &sink, err,
                              sizeof err);
    for (int i = 0; i < 3; i++)
        hashfmt_writer_end(&z.w[i]);
    buf_free(&z.b);
    return 0;
}
