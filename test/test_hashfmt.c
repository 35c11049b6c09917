/*
 * test_hashfmt - the hash-list readers and writers: every format on good input
 * with the exact entries expected; malformed input with each invalid line or
 * object counted and named; whole-file errors naming their line; the same results
 * whatever the chunking (pipes read 1, 7 and 64 KiB at a time, the push parser fed
 * byte by byte); write-then-read round trips; bounded memory on a ~50 MB VICS
 * file; the fuzz entry point on every sample and its truncations.
 *
 * Fixtures live in test/fixtures/hashfmt; every hash in them is random.
 */
#include "hashfmt.h"
#include "test.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* What a parse delivered, as text: one line per entry or invalid record. */
struct got {
    struct buf b;
    int full;    /* PhotoDNA values in full rather than abbreviated */
    int no_line; /* leave line numbers out (round trips) */
    long entries, invalid;
    long stop_after; /* > 0: the entry callback refuses the entry after this many */
};

/* Append " k=v" when v is set. */
static void put_opt(struct buf *b, const char *k, const char *v)
{
    if (v)
        buf_printf(b, " %s=%s", k, v);
}

/* A flag as one character: '-' unknown, '0', '1'. */
static char flagc(int f)
{
    return f < 0 ? '-' : f ? '1' : '0';
}

/* Sink: "line alg hex c=.. s=.. id=.. vod=FFF"; PhotoDNA abbreviated to its first
 * 8 and last 4 bytes unless g->full. */
static int got_entry(void *arg, const struct hashfmt_entry *e)
{
    struct got *g = arg;
    if (g->stop_after && g->entries == g->stop_after)
        return CP_CONFLICT;
    char hex[289];
    CHECK_INT(e->len, hashfmt_alg_size(e->alg));
    util_hex_encode(e->value, e->len, hex);
    if (e->alg == HF_PHOTODNA && !g->full) {
        memmove(hex + 17, hex + 280, 9);
        hex[16] = '.';
    }
    if (!g->no_line)
        buf_printf(&g->b, "%ld ", e->line);
    buf_printf(&g->b, "%s %s", hashfmt_alg_name(e->alg), hex);
    put_opt(&g->b, "c", e->category);
    put_opt(&g->b, "s", e->series);
    put_opt(&g->b, "id", e->media_id);
    buf_printf(&g->b, " vod=%c%c%c\n", flagc(e->victim_identified), flagc(e->offender_identified),
               flagc(e->is_distributed));
    g->entries++;
    return CP_OK;
}

/* Sink: "line ! reason". */
static void got_invalid(void *arg, long line, const char *why)
{
    struct got *g = arg;
    buf_printf(&g->b, "%ld ! %s\n", line, why);
    g->invalid++;
}

/* Start collecting. */
static void got_init(struct got *g, struct hashfmt_sink *s)
{
    memset(g, 0, sizeof *g);
    buf_init(&g->b);
    buf_adds(&g->b, "");
    s->entry = got_entry;
    s->invalid = got_invalid;
    s->arg = g;
}

/* The path of a fixture. */
static const char *fixture_path(const char *name)
{
    static char path[1024];
    const char *root = getenv("CPORT_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/test/fixtures/hashfmt/%s", root ? root : "..", name);
    return path;
}

/* Read a fixture whole into a buf. */
static int slurp(const char *name, struct buf *b)
{
    buf_init(b);
    buf_adds(b, "");
    int fd = open(fixture_path(name), O_RDONLY);
    if (fd < 0)
        return -1;
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        buf_add(b, tmp, (size_t)n);
    close(fd);
    return 0;
}

/* Parse n bytes with the memory variant; the text of what came out, then
 * "= rc err" so one string comparison covers everything. Caller frees. */
static char *run_mem(const char *data, size_t n, enum hashfmt_format f, enum hashfmt_alg a)
{
    struct got g;
    struct hashfmt_sink s;
    char err[256] = "";
    got_init(&g, &s);
    g.full = 1;
    int rc = hashfmt_parse_mem(data, n, f, a, &s, err, sizeof err);
    buf_printf(&g.b, "= %d %s\n", rc, rc ? err : "");
    return g.b.p;
}

/* Parse a fixture (memory variant) into got g; returns the status, err filled. */
static int parse_fixture(const char *name, enum hashfmt_format f, enum hashfmt_alg a, struct got *g, char *err,
                         size_t errlen)
{
    struct buf in;
    struct hashfmt_sink s;
    got_init(g, &s);
    err[0] = 0;
    if (slurp(name, &in) != 0) {
        fprintf(stderr, "  cannot read fixture %s\n", name);
        return -100;
    }
    int rc = hashfmt_parse_mem(in.p, in.len, f, a, &s, err, errlen);
    buf_free(&in);
    return rc;
}

/* Parse a fixture and compare everything delivered with want. */
#define EXPECT_FIXTURE(name, fmt, alg, want_rc, want_err, want)                                                        \
    do {                                                                                                               \
        struct got g_;                                                                                                 \
        char err_[256];                                                                                                \
        CHECK_INT(parse_fixture(name, fmt, alg, &g_, err_, sizeof err_), want_rc);                                     \
        CHECK_STR(g_.b.p, want);                                                                                       \
        if (want_rc != CP_OK)                                                                                          \
            CHECK_STR(err_, want_err);                                                                                 \
        buf_free(&g_.b);                                                                                               \
    } while (0)

/* ---------------------------------------------------------- names, sniff */

/* Names, parsing of names and sizes agree with each other. */
static void test_names(void)
{
    static const size_t sizes[] = {0, 16, 20, 32, 32, 144};
    for (int a = HF_MD5; a <= HF_PHOTODNA; a++) {
        enum hashfmt_alg back = 0;
        CHECK_INT(hashfmt_alg_parse(hashfmt_alg_name((enum hashfmt_alg)a), &back), CP_OK);
        CHECK_INT(back, a);
        CHECK_INT(hashfmt_alg_size((enum hashfmt_alg)a), sizes[a]);
    }
    enum hashfmt_alg a;
    CHECK_INT(hashfmt_alg_parse("PhotoDNA", &a), CP_OK);
    CHECK_INT(a, HF_PHOTODNA);
    CHECK_INT(hashfmt_alg_parse("sha512", &a), CP_BAD);
    CHECK_INT(hashfmt_alg_parse(NULL, &a), CP_BAD);
    CHECK_INT(hashfmt_alg_size((enum hashfmt_alg)9), 0);
    CHECK_STR(hashfmt_alg_name((enum hashfmt_alg)0), "?");
    const char *names[] = {NULL, "vics", "icse", "csv", "text"};
    for (int f = HF_VICS; f <= HF_TEXT; f++) {
        enum hashfmt_format back = 0;
        CHECK_STR(hashfmt_format_name((enum hashfmt_format)f), names[f]);
        CHECK_INT(hashfmt_format_parse(names[f], &back), CP_OK);
        CHECK_INT(back, f);
    }
    enum hashfmt_format f;
    CHECK_INT(hashfmt_format_parse("VICS", &f), CP_OK);
    CHECK_INT(f, HF_VICS);
    CHECK_INT(hashfmt_format_parse("xml", &f), CP_BAD);
}

/* Every fixture is recognised as its format; junk is not recognised. */
static void test_sniff(void)
{
    static const struct {
        const char *name;
        int fmt;
    } fx[] = {
        {"vics13_media.json", HF_VICS}, {"vics20_media.json", HF_VICS}, {"vics20_cases.json", HF_VICS},
        {"vics_bad.json", HF_VICS},     {"icse.csv", HF_ICSE},          {"icse_bad.csv", HF_ICSE},
        {"quoted.csv", HF_CSV},         {"csv_bad.csv", HF_CSV},        {"text_len.txt", HF_TEXT},
        {"text_pdq.txt", HF_TEXT},      {"text_crlf.txt", HF_TEXT},     {"text_bad.txt", HF_TEXT},
    };
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        struct buf b;
        enum hashfmt_format f = 0;
        REQUIRE(slurp(fx[i].name, &b) == 0);
        CHECK_INT(hashfmt_sniff(b.p, b.len, &f), CP_OK);
        if ((int)f != fx[i].fmt)
            fprintf(stderr, "  %s sniffed as %s\n", fx[i].name, hashfmt_format_name(f));
        CHECK_INT(f, fx[i].fmt);
        buf_free(&b);
    }
    static const struct {
        const char *in;
        int rc, fmt;
    } v[] = {
        {"\xef\xbb\xbf  {\"value\":[]}", CP_OK, HF_VICS},
        {"\n\n# a list\n", CP_OK, HF_TEXT},
        {"d41d8cd98f00b204e9800998ecf8427e\n", CP_OK, HF_TEXT},
        {"MD5,SHA1\n", CP_OK, HF_CSV},
        {"md5\n", CP_OK, HF_CSV},
        {"\"Series\",\"sha256\"\r\n", CP_OK, HF_CSV},
        {"Image ID;MD5;Baseline\n", CP_OK, HF_ICSE},
        {"", CP_BAD, 0},
        {"   \n\t", CP_BAD, 0},
        {"hello world\n", CP_BAD, 0},
        {"name,size\n", CP_BAD, 0},
        {"<html>", CP_BAD, 0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        enum hashfmt_format f = 0;
        CHECK_INT(hashfmt_sniff(v[i].in, strlen(v[i].in), &f), v[i].rc);
        if (v[i].rc == CP_OK)
            CHECK_INT(f, v[i].fmt);
    }
}

/* ------------------------------------------------------------- good input */

/* VICS 1.3 Media: one object with MD5, SHA1 and PhotoDNA gives three entries
 * sharing its fields; upper-case hex is read; nested MediaFiles and Exifs (with
 * JSON-looking strings) are skipped; flags as booleans, strings and numbers;
 * null members are absent. */
static void test_vics13_media(void)
{
    EXPECT_FIXTURE("vics13_media.json", HF_VICS, 0, CP_OK, "",
                   "4 md5 9bd1c55642cf265db7c1dd5e55043bb3 c=1 s=Synthetic series A id=1 vod=101\n"
                   "4 sha1 ad4de6981fdd0c685bbf4cae9a152e1f07335300 c=1 s=Synthetic series A id=1 vod=101\n"
                   "4 photodna 3c4c4dd36a6635d1.7ee6fb9d c=1 s=Synthetic series A id=1 vod=101\n"
                   "24 md5 b1692f2f489f0ebde2d28ee6f6f40db4 c=3 id=2 vod=0-0\n");
}

/* VICS 2.0 Media with CRLF line ends: SHA256, PDQ and hex PhotoDNA; JSON escapes in
 * the series decoded; an empty MD5 is an absent one; arrays of tags skipped. */
static void test_vics20_media(void)
{
    EXPECT_FIXTURE("vics20_media.json", HF_VICS, 0, CP_OK, "",
                   "3 md5 72ccc1cdca55acb1cf12605fe36a19f1 c=2 s=Serie \"Q\" \xc3\xa9t\xc3\xa9 id=1001 vod=-1-\n"
                   "3 sha256 b249005cb5312a375225eae368c5e8be98da135898516ccae846149ffe0a6992 c=2 "
                   "s=Serie \"Q\" \xc3\xa9t\xc3\xa9 id=1001 vod=-1-\n"
                   "3 pdq 798aa3b84c4cc93e6ab48a29d9ec16e14dde4d83382cba6f625faf31c6ff6cca c=2 "
                   "s=Serie \"Q\" \xc3\xa9t\xc3\xa9 id=1001 vod=-1-\n"
                   "3 photodna aad376be063f011b.a3b39c4f c=2 s=Serie \"Q\" \xc3\xa9t\xc3\xa9 id=1001 vod=-1-\n"
                   "6 sha1 02d2a5911e12ddef002bd601b1fd8c6bae02effa id=A-7 vod=--0\n");
}

/* VICS 2.0 Cases: the media inside each case's Media array; the case's own members
 * (even one called MD5) and the media's MediaFiles are not entries; empty cases are
 * fine; a media object without a hash is reported. */
static void test_vics20_cases(void)
{
    EXPECT_FIXTURE("vics20_cases.json", HF_VICS, 0, CP_OK, "",
                   "7 md5 ecd7ec4dff679d2dfe8845b44c172a07 c=A id=11 vod=1--\n"
                   "8 sha1 b11fd8730c13da5a223bbc997951bbc99824a513 c=B id=12 vod=---\n"
                   "17 sha256 7ec44bae1acc6772c9b585cad8895682cb7df8d113c97fdb795c7e8f18939676 s=Case four id=41 "
                   "vod=---\n"
                   "18 ! no hash\n");
}

/* Without metadata an object with a Media array is a case, others media; Media[]
 * elements that are not objects are reported. */
static void test_vics_no_metadata(void)
{
    const char *in = "{\"value\":[\n"
                     "{\"MD5\":\"00112233445566778899aabbccddeeff\"},\n"
                     "{\"CaseID\":7,\"Media\":[\n"
                     "  {\"SHA1\":\"00112233445566778899aabbccddeeff00112233\"},\n"
                     "  \"x\"]},\n"
                     "{\"Series\":\"\xff\",\"MD5\":\"00112233445566778899aabbccddeeff\",\"Junk\":\"\xfe\"},\n"
                     "{\"Series\":\"a\\u0000b\",\"MD5\":\"00112233445566778899aabbccddeeff\"}\n"
                     "],\"odata.count\":3}";
    char *got = run_mem(in, strlen(in), HF_VICS, 0);
    CHECK_STR(got, "2 md5 00112233445566778899aabbccddeeff vod=---\n"
                   "4 sha1 00112233445566778899aabbccddeeff00112233 vod=---\n"
                   "5 ! a Media[] element that is not an object\n"
                   "6 ! Series: not printable text\n"
                   "7 ! Series: not printable text\n"
                   "= 0 \n");
    free(got);
}

/* ICSE with CRLF: booleans in their spellings, a quoted series with ';' and quotes,
 * Baseline true as category "baseline", a row of empty cells but an MD5. */
static void test_icse(void)
{
    EXPECT_FIXTURE("icse.csv", HF_ICSE, 0, CP_OK, "",
                   "2 md5 8a5127d9a12a76738ddadcbeff307159 c=baseline s=Synthetic id=900001 vod=101\n"
                   "2 sha1 622bb63ce27a222c4bb0db02ab3427b9850aeb95 c=baseline s=Synthetic id=900001 vod=101\n"
                   "2 photodna cea9f5ffb1987509.05db7e00 c=baseline s=Synthetic id=900001 vod=101\n"
                   "3 sha1 7038ec0d50e2e43f910aa6ece4dd21560cb03277 s=Semi;colon \"quoted\" id=900002 vod=010\n"
                   "4 md5 45bb0fec64d4e1099252536c9d17d11a vod=---\n");
}

/* CSV: header names in any case and quoted, unknown columns ignored, quoted fields
 * with commas, doubled quotes and line breaks (the line count goes on right). */
static void test_csv_quoted(void)
{
    EXPECT_FIXTURE("quoted.csv", HF_CSV, 0, CP_OK, "",
                   "2 md5 31b96dbb1ec1ada80c896abb777d075c c=1 s=Series, \"one\" id=m1 vod=---\n"
                   "2 sha256 4c6c124f491cacab9f82dd0c1c23e35bbc34c7e4e4f081ff28575fb41f5468d0 c=1 "
                   "s=Series, \"one\" id=m1 vod=---\n"
                   "3 pdq fa7b1c115ec0a8df096661467a553029c60589faf3a6d381596b7ab2bee6352b c=2 s=plain vod=---\n"
                   "6 md5 4d1f6c838c0df25c340959255db4cdbc id=id \"3\" vod=---\n");
}

/* Text by length: comments, blank lines, padding, upper case, hex and base64
 * PhotoDNA, a last line without newline; CRLF lines. */
static void test_text_length(void)
{
    EXPECT_FIXTURE("text_len.txt", HF_TEXT, 0, CP_OK, "",
                   "2 md5 fb0ab9a33e0c5c17c37988af86de91b8 vod=---\n"
                   "4 sha1 df1da2529e487d4347944e7172527fbc3c3b7773 vod=---\n"
                   "6 sha256 8905d9d3c0d34f5720ffd7244833720376ff6938cd50b27960775754c142d2dc vod=---\n"
                   "7 photodna 30b29bf66df2651f.4e7b5683 vod=---\n"
                   "8 photodna 2616971bd51b8c28.7390f410 vod=---\n");
    EXPECT_FIXTURE("text_crlf.txt", HF_TEXT, 0, CP_OK, "",
                   "1 md5 044b9c01b9c42a7cbc20dc7266a12a54 vod=---\n"
                   "2 sha1 194aa19be4964a79d566939622b13ecb9bcf792d vod=---\n");
}

/* 64 hex digits are SHA-256 unless the caller says PDQ. */
static void test_text_algorithm(void)
{
    EXPECT_FIXTURE("text_pdq.txt", HF_TEXT, HF_PDQ, CP_OK, "",
                   "2 pdq 94b572a4a56958bf57f3db6c86cea1d25529dfcd0c25c8c97016453f5ef08985 vod=---\n"
                   "3 pdq e656072f273a31495ddbf5c351270a66baf6ca80a7eab15dc2fa5be3fc21b822 vod=---\n");
    EXPECT_FIXTURE("text_pdq.txt", HF_TEXT, 0, CP_OK, "",
                   "2 sha256 94b572a4a56958bf57f3db6c86cea1d25529dfcd0c25c8c97016453f5ef08985 vod=---\n"
                   "3 sha256 e656072f273a31495ddbf5c351270a66baf6ca80a7eab15dc2fa5be3fc21b822 vod=---\n");
}

/* A UTF-8 byte order mark is skipped, also when fed a byte at a time. */
static void test_bom(void)
{
    static const struct {
        const char *in;
        int fmt;
        const char *want;
    } v[] = {
        {"\xef\xbb\xbf{\"value\":[{\"MD5\":\"00112233445566778899aabbccddeeff\"}]}", HF_VICS,
         "1 md5 00112233445566778899aabbccddeeff vod=---\n= 0 \n"},
        {"\xef\xbb\xbfMD5;Image ID\r\n00112233445566778899aabbccddeeff;7\r\n", HF_ICSE,
         "2 md5 00112233445566778899aabbccddeeff id=7 vod=---\n= 0 \n"},
        {"\xef\xbb\xbfmd5\n00112233445566778899aabbccddeeff\n", HF_CSV,
         "2 md5 00112233445566778899aabbccddeeff vod=---\n= 0 \n"},
        {"\xef\xbb\xbf", HF_TEXT, "= 0 \n"},
        {"\xef\xbb", HF_TEXT, "1 ! not a hash: 2 characters\n= 0 \n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *got = run_mem(v[i].in, strlen(v[i].in), (enum hashfmt_format)v[i].fmt, 0);
        CHECK_STR(got, v[i].want);
        free(got);
        /* byte by byte through the push parser */
        struct got g;
        struct hashfmt_sink s;
        struct hashfmt_parser *p;
        char err[256];
        got_init(&g, &s);
        g.full = 1;
        REQUIRE(hashfmt_parser_new(&p, (enum hashfmt_format)v[i].fmt, 0, &s, err, sizeof err) == CP_OK);
        int rc = CP_OK;
        for (size_t k = 0; v[i].in[k] && rc == CP_OK; k++)
            rc = hashfmt_parser_feed(p, v[i].in + k, 1, err, sizeof err);
        if (rc == CP_OK)
            rc = hashfmt_parser_finish(p, err, sizeof err);
        buf_printf(&g.b, "= %d %s\n", rc, rc ? err : "");
        CHECK_STR(g.b.p, v[i].want);
        hashfmt_parser_free(p);
        buf_free(&g.b);
    }
}

/* ------------------------------------------------------------ bad input */

/* Each kind of bad media object is reported with the line it began on and the
 * member at fault, and the objects after it still import. */
static void test_vics_bad(void)
{
    EXPECT_FIXTURE("vics_bad.json", HF_VICS, 0, CP_OK, "",
                   "3 ! MD5: not hex\n"
                   "4 ! SHA1: 38 characters, expected 40 hex digits\n"
                   "5 ! no hash\n"
                   "6 ! no hash\n"
                   "7 ! Category: longer than 32 bytes\n"
                   "8 ! Series: longer than 200 bytes\n"
                   "9 ! MediaID: longer than 64 bytes\n"
                   "10 ! MD5: not a string\n"
                   "11 ! Category: not a string or number\n"
                   "12 ! a value[] element that is not an object\n"
                   "13 ! VictimIdentified: not a boolean\n"
                   "14 ! Series: not printable text\n"
                   "15 ! PhotoDNA: 188 characters, expected 192 base64 or 288 hex\n"
                   "16 ! Series: not a single value\n"
                   "17 md5 79e994003e2aaf1bac490289b71b4396 id=15 vod=---\n");
}

/* A syntax error mid-file stops the parse naming its line, after the entries
 * before it; a truncated file names the last line it has. */
static void test_vics_broken(void)
{
    EXPECT_FIXTURE("vics_broken.json", HF_VICS, 0, CP_BAD,
                   "line 5: not valid JSON: parse error: after array element, I expect ',' or ']'",
                   "3 md5 0bd73d7eaeb0f16bda80f9cae0078b25 id=1 vod=---\n"
                   "4 md5 6f2b030c8af7204d90d8efbf4c2b3e28 id=2 vod=---\n");
    EXPECT_FIXTURE("vics_truncated.json", HF_VICS, 0, CP_BAD, "line 4: not valid JSON: parse error: premature EOF",
                   "3 md5 90c3098f6492ae6c845324e1090f687b id=1 vod=---\n");
}

/* Documents that are JSON but not VICS, or not JSON, or too deep. */
static void test_vics_not_vics(void)
{
    static const struct {
        const char *in, *want;
    } v[] = {
        {"[1,2]", "= -2 line 1: not VICS JSON: the document is not an object\n"},
        {"\"x\"", "= -2 line 1: not VICS JSON: the document is not an object\n"},
        {"{\"value\":\n3}", "= -2 line 2: not VICS JSON: \"value\" is not an array\n"},
        {"{\"value\":{}}", "= -2 line 1: not VICS JSON: \"value\" is not an array\n"},
        {"{\"x\":[1],\n\"y\":{}\n}\n", "= -2 line 3: not VICS JSON: no \"value\" array\n"},
        {"", "= -2 line 1: not valid JSON: parse error: premature EOF\n"},
        {"{\"value\":[]}\n\nx", "= -2 line 3: not valid JSON: parse error: trailing garbage\n"},
        {"{\"value\":[]}", "= 0 \n"},
        {"{\"value\":[{\"MD5\":\"00112233445566778899aabbccddeeff\"}\n,\n{'MD5':1}]}",
         "1 md5 00112233445566778899aabbccddeeff vod=---\n"
         "= -2 line 3: not valid JSON: lexical error: invalid char in json text.\n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *got = run_mem(v[i].in, strlen(v[i].in), HF_VICS, 0);
        CHECK_STR(got, v[i].want);
        free(got);
    }
    /* 70 levels of arrays inside a skipped member */
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "{\"value\":[{\"MD5\":\"00112233445566778899aabbccddeeff\",\n\"x\":");
    for (int i = 0; i < 70; i++)
        buf_adds(&b, "[");
    char *got = run_mem(b.p, b.len, HF_VICS, 0);
    CHECK_STR(got, "= -2 line 2: JSON nested deeper than 64 levels\n");
    free(got);
    buf_free(&b);
}

/* A JSON string over the token cap (yajl would buffer it whole) stops the parse,
 * the media before it delivered. */
static void test_vics_long_token(void)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "{\"value\":[{\"MD5\":\"00112233445566778899aabbccddeeff\"},\n{\"Tags\":\"");
    char *x = malloc(1 << 20);
    REQUIRE(x);
    memset(x, 'x', 1 << 20);
    for (int i = 0; i < 5; i++)
        buf_add(&b, x, 1 << 20);
    free(x);
    buf_adds(&b, "\"}]}");
    char *got = run_mem(b.p, b.len, HF_VICS, 0);
    CHECK_STR(got, "1 md5 00112233445566778899aabbccddeeff vod=---\n"
                   "= -2 line 2: a JSON string or number longer than 4194304 bytes\n");
    free(got);
    buf_free(&b);
}

/* ICSE rows: bad hex, wrong length, no hash, a bad boolean, an overlong series, a
 * stray extra field, short PhotoDNA; a trailing ';' is not an extra field. */
static void test_icse_bad(void)
{
    EXPECT_FIXTURE("icse_bad.csv", HF_ICSE, 0, CP_OK, "",
                   "2 ! MD5: not hex\n"
                   "3 ! SHA1: 42 characters, expected 40 hex digits\n"
                   "4 ! no hash\n"
                   "5 ! Is distributed: not a boolean\n"
                   "6 ! Series name: longer than 200 bytes\n"
                   "7 ! 13 fields, the header has 12\n"
                   "8 ! PhotoDNA: 100 characters, expected 192 base64 or 288 hex\n"
                   "9 md5 c4d146daef0be36f682edcb2e4e845cd id=8 vod=---\n");
    const char *trailing = "MD5;Image ID\n00112233445566778899aabbccddeeff;9;\n";
    char *got = run_mem(trailing, strlen(trailing), HF_ICSE, 0);
    CHECK_STR(got, "2 md5 00112233445566778899aabbccddeeff id=9 vod=---\n= 0 \n");
    free(got);
}

/* CSV rows: bad hex, wrong length, only an unknown algorithm's column filled,
 * an overlong category, quotes in the wrong places, and a quoted field the
 * truncated file never closes. */
static void test_csv_bad(void)
{
    EXPECT_FIXTURE("csv_bad.csv", HF_CSV, 0, CP_OK, "",
                   "2 ! md5: not hex\n"
                   "3 ! sha1: 41 characters, expected 40 hex digits\n"
                   "4 ! no hash\n"
                   "5 ! category: longer than 32 bytes\n"
                   "6 ! a quote inside an unquoted field\n"
                   "7 ! text after a closing quote\n"
                   "8 md5 83d830ed28074cbd4ba574b6f874addd s=ok vod=---\n"
                   "8 sha1 65ee85b9030d21a9b6003b77ab62dd3753ba0da5 s=ok vod=---\n"
                   "9 ! a quoted field that never ends\n");
}

/* Headers that make a file not a hash list at all. */
static void test_csv_header_errors(void)
{
    EXPECT_FIXTURE("csv_noalg.csv", HF_CSV, 0, CP_BAD,
                   "line 1: the header names no hash column (md5, sha1, sha256, pdq, photodna)", "");
    static const struct {
        const char *in;
        int fmt;
        const char *want;
    } v[] = {
        {"\n\nseries,category\n", HF_CSV,
         "= -2 line 3: the header names no hash column (md5, sha1, sha256, pdq, photodna)\n"},
        {"md5,MD5\n", HF_CSV, "= -2 line 1: column \"md5\" appears twice in the header\n"},
        {"", HF_CSV, "= -2 line 1: no header line\n"},
        {"\n\n", HF_ICSE, "= -2 line 3: no header line\n"},
        {"md5,sha1\n", HF_CSV, "= 0 \n"},
        {"md5,\"sha\n1\"\n", HF_CSV, "= 0 \n"},
        {"Image ID;Series name\n1;2\n", HF_ICSE,
         "= -2 line 1: the header names no hash column (MD5, SHA1, PhotoDNA)\n"},
        {"md5,\"x\"y\n", HF_CSV, "= -2 line 1: bad header: text after a closing quote\n"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *got = run_mem(v[i].in, strlen(v[i].in), (enum hashfmt_format)v[i].fmt, 0);
        CHECK_STR(got, v[i].want);
        free(got);
    }
}

/* Text lines: bad hex, lengths no algorithm has, trailing words; and with an
 * explicit algorithm every other length is wrong. */
static void test_text_bad(void)
{
    EXPECT_FIXTURE("text_bad.txt", HF_TEXT, 0, CP_OK, "",
                   "1 md5 1606968e24feb7600fcfbc62d6868aa7 vod=---\n"
                   "2 ! md5: not hex\n"
                   "3 ! not a hash: 34 characters\n"
                   "4 ! not a hash: 55 characters\n"
                   "5 sha256 1430798b87f89693c5cca679375ed9d48bd7fa78d37e16282692084b49604dcc vod=---\n"
                   "6 ! not a hash: 286 characters\n"
                   "7 sha1 16db255372bbd6a992bf9a589c7d48d5e6632bb9 vod=---\n"
                   "8 ! not a hash: 20 characters\n");
    EXPECT_FIXTURE("text_bad.txt", HF_TEXT, HF_SHA1, CP_OK, "",
                   "1 ! sha1: 32 characters, expected 40 hex digits\n"
                   "2 ! sha1: 32 characters, expected 40 hex digits\n"
                   "3 ! sha1: 34 characters, expected 40 hex digits\n"
                   "4 ! sha1: 55 characters, expected 40 hex digits\n"
                   "5 ! sha1: 64 characters, expected 40 hex digits\n"
                   "6 ! sha1: 286 characters, expected 40 hex digits\n"
                   "7 sha1 16db255372bbd6a992bf9a589c7d48d5e6632bb9 vod=---\n"
                   "8 ! sha1: 20 characters, expected 40 hex digits\n");
    char *got = run_mem("a\0b\n00112233445566778899aabbccddeeff\n", 37, HF_TEXT, 0);
    CHECK_STR(got, "1 ! a NUL byte\n2 md5 00112233445566778899aabbccddeeff vod=---\n= 0 \n");
    free(got);
    struct got g;
    struct hashfmt_sink s;
    got_init(&g, &s);
    CHECK_INT(hashfmt_parse_mem("", 0, HF_TEXT, (enum hashfmt_alg)6, &s, NULL, 0), CP_BAD);
    CHECK_INT(hashfmt_parse_mem("", 0, (enum hashfmt_format)5, 0, &s, NULL, 0), CP_BAD);
    buf_free(&g.b);
}

/* Records over 64 KiB or 64 fields are reported, not buffered, and the next
 * line's number is still right; an overlong comment is skipped. */
static void test_long_records(void)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 70000; i++)
        buf_add(&b, "a", 1);
    buf_adds(&b, "\n00112233445566778899aabbccddeeff\n#");
    for (int i = 0; i < 70000; i++)
        buf_add(&b, "b", 1);
    buf_adds(&b, "\n00112233445566778899aabbccddeeff00112233\n");
    char *got = run_mem(b.p, b.len, HF_TEXT, 0);
    CHECK_STR(got, "1 ! longer than 64 KiB\n"
                   "2 md5 00112233445566778899aabbccddeeff vod=---\n"
                   "4 sha1 00112233445566778899aabbccddeeff00112233 vod=---\n"
                   "= 0 \n");
    free(got);

    buf_reset(&b);
    buf_adds(&b, "md5,series\n00112233445566778899aabbccddeeff,\"");
    for (int i = 0; i < 7000; i++)
        buf_adds(&b, "0123456789\n");
    buf_adds(&b, "\"\n00112233445566778899aabbccddeeff,");
    for (int i = 0; i < 70; i++)
        buf_adds(&b, ",");
    buf_adds(&b, "\n00112233445566778899aabbccddeeff,fine\n");
    got = run_mem(b.p, b.len, HF_CSV, 0);
    CHECK_STR(got, "2 ! longer than 64 KiB\n"
                   "7003 ! more than 64 fields\n"
                   "7004 md5 00112233445566778899aabbccddeeff s=fine vod=---\n"
                   "= 0 \n");
    free(got);
    buf_free(&b);
}

/* A non-OK status from the entry callback stops the parse with that status. */
static void test_stop(void)
{
    struct got g;
    char err[256];
    struct buf in;
    REQUIRE(slurp("vics13_media.json", &in) == 0);
    struct hashfmt_sink s;
    got_init(&g, &s);
    g.stop_after = 2;
    CHECK_INT(hashfmt_parse_mem(in.p, in.len, HF_VICS, 0, &s, err, sizeof err), CP_CONFLICT);
    CHECK_INT(g.entries, 2);
    CHECK_STR(err, "line 4: stopped by the entry callback");
    buf_free(&in);
    buf_free(&g.b);

    REQUIRE(slurp("icse.csv", &in) == 0);
    got_init(&g, &s);
    g.stop_after = 3;
    CHECK_INT(hashfmt_parse_mem(in.p, in.len, HF_ICSE, 0, &s, err, sizeof err), CP_CONFLICT);
    CHECK_INT(g.entries, 3);
    CHECK_STR(err, "line 3: stopped by the entry callback");
    buf_free(&in);
    buf_free(&g.b);
}

/* ---------------------------------------------------------- chunk bounds */

/* Every sample, as (fixture, format, algorithm). */
static const struct sample {
    const char *name;
    int fmt, alg;
} SAMPLES[] = {
    {"vics13_media.json", HF_VICS, 0}, {"vics20_media.json", HF_VICS, 0}, {"vics20_cases.json", HF_VICS, 0},
    {"vics_bad.json", HF_VICS, 0},     {"vics_broken.json", HF_VICS, 0},  {"vics_truncated.json", HF_VICS, 0},
    {"icse.csv", HF_ICSE, 0},          {"icse_bad.csv", HF_ICSE, 0},      {"quoted.csv", HF_CSV, 0},
    {"csv_bad.csv", HF_CSV, 0},        {"csv_noalg.csv", HF_CSV, 0},      {"text_len.txt", HF_TEXT, 0},
    {"text_crlf.txt", HF_TEXT, 0},     {"text_pdq.txt", HF_TEXT, HF_PDQ}, {"text_bad.txt", HF_TEXT, 0},
    {"text_bad.txt", HF_TEXT, HF_MD5},
};

/* Parse data through a pipe a child writes it into, reading chunk bytes at a time. */
static char *run_pipe(const char *data, size_t n, size_t chunk, enum hashfmt_format f, enum hashfmt_alg a)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fds[1], data + off, n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    struct got g;
    struct hashfmt_sink s;
    char err[256] = "";
    got_init(&g, &s);
    g.full = 1;
    int rc = hashfmt_parse_fd_chunked(fds[0], chunk, f, a, &s, err, sizeof err);
    buf_printf(&g.b, "= %d %s\n", rc, rc ? err : "");
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return g.b.p;
}

/* The fd variant at chunk sizes 1, 7 and 64 KiB, and the push parser fed byte by
 * byte, deliver exactly what the memory variant does, line numbers included. */
static void test_chunks(void)
{
    static const size_t sizes[] = {1, 7, 65536};
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        const struct sample *sm = &SAMPLES[i];
        struct buf in;
        REQUIRE(slurp(sm->name, &in) == 0);
        char *want = run_mem(in.p, in.len, (enum hashfmt_format)sm->fmt, (enum hashfmt_alg)sm->alg);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            char *got = run_pipe(in.p, in.len, sizes[k], (enum hashfmt_format)sm->fmt, (enum hashfmt_alg)sm->alg);
            if (!got || strcmp(got, want))
                fprintf(stderr, "  %s at chunk size %zu differs\n", sm->name, sizes[k]);
            CHECK_STR(got, want);
            free(got);
        }
        /* the fd variant with its default chunk, from the file itself */
        int fd = open(fixture_path(sm->name), O_RDONLY);
        REQUIRE(fd >= 0);
        struct got g;
        struct hashfmt_sink s;
        char err[256];
        got_init(&g, &s);
        g.full = 1;
        int rc = hashfmt_parse_fd(fd, (enum hashfmt_format)sm->fmt, (enum hashfmt_alg)sm->alg, &s, err, sizeof err);
        buf_printf(&g.b, "= %d %s\n", rc, rc ? err : "");
        close(fd);
        CHECK_STR(g.b.p, want);
        buf_free(&g.b);
        free(want);
        buf_free(&in);
    }
    /* a read error is CP_ERR */
    struct hashfmt_sink s = {NULL, NULL, NULL};
    char err[256];
    CHECK_INT(hashfmt_parse_fd(-1, HF_TEXT, 0, &s, err, sizeof err), CP_ERR);
}

/* -------------------------------------------------------------- writers */

/* The entries of the round trips: every algorithm, text that needs escaping and
 * quoting, numbers and not-quite-numbers as ids and categories, every flag. */
static int rt_entries(struct hashfmt_entry *out, int max)
{
    static const char *cats[] = {NULL, "1", "A2", "0", "cat,\"x\"", "007"};
    static const char *series[] = {NULL, "Series \"q\", <b>&amp;</b>", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x99\x82", "a\\b/c"};
    static const char *ids[] = {NULL, "12345", "007", "id-9", "999999999999999"};
    uint32_t x = 2463534242u;
    int n = 0;
    for (int i = 0; i < max; i++) {
        struct hashfmt_entry *e = &out[n++];
        memset(e, 0, sizeof *e);
        e->alg = (enum hashfmt_alg)(HF_MD5 + i % 5);
        e->len = hashfmt_alg_size(e->alg);
        for (size_t k = 0; k < e->len; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            e->value[k] = (uint8_t)x;
        }
        e->category = cats[i % 6];
        e->series = series[i % 4];
        e->media_id = ids[i % 5];
        e->victim_identified = i % 3 - 1;
        e->offender_identified = (i / 3) % 3 - 1;
        e->is_distributed = (i / 9) % 3 - 1;
    }
    return n;
}

/* Write entries in format f, parse the result back; the text of what came back. */
static char *write_read(const struct hashfmt_entry *es, int n, enum hashfmt_format f, enum hashfmt_alg text_alg)
{
    struct hashfmt_writer w;
    struct buf out;
    char err[256];
    buf_init(&out);
    buf_adds(&out, "");
    CHECK_INT(hashfmt_writer_begin(&w, f, &out, "NL", err, sizeof err), CP_OK);
    for (int i = 0; i < n; i++)
        CHECK_INT(hashfmt_writer_entry(&w, &es[i], i % 2 ? "changed" : NULL, err, sizeof err), CP_OK);
    hashfmt_writer_end(&w);
    enum hashfmt_format sniffed;
    CHECK_INT(hashfmt_sniff(out.p, out.len, &sniffed), CP_OK);
    CHECK_INT(sniffed, f);
    struct got g;
    struct hashfmt_sink s;
    got_init(&g, &s);
    g.full = 1;
    g.no_line = 1;
    CHECK_INT(hashfmt_parse_mem(out.p, out.len, f, text_alg, &s, err, sizeof err), CP_OK);
    CHECK_INT(g.invalid, 0);
    buf_free(&out);
    return g.b.p;
}

/* The same entries as text, keeping only what format f carries. */
static char *expect_text(const struct hashfmt_entry *es, int n, enum hashfmt_format f)
{
    struct got g;
    got_init(&g, &(struct hashfmt_sink){0});
    g.full = 1;
    g.no_line = 1;
    for (int i = 0; i < n; i++) {
        struct hashfmt_entry e = es[i];
        if (f != HF_VICS)
            e.victim_identified = e.offender_identified = e.is_distributed = -1;
        if (f == HF_TEXT)
            e.category = e.series = e.media_id = NULL;
        got_entry(&g, &e);
    }
    return g.b.p;
}

/* Write each format, read it back: the same entries, as far as the format goes. */
static void test_roundtrip(void)
{
    struct hashfmt_entry es[60], pdq[12], other[48];
    int n = rt_entries(es, 60), npdq = 0, nother = 0;
    for (int i = 0; i < n; i++) {
        if (es[i].alg == HF_PDQ)
            pdq[npdq++] = es[i];
        else
            other[nother++] = es[i];
    }
    static const int fmts[] = {HF_VICS, HF_CSV};
    for (size_t k = 0; k < 2; k++) {
        char *got = write_read(es, n, (enum hashfmt_format)fmts[k], 0);
        char *want = expect_text(es, n, (enum hashfmt_format)fmts[k]);
        CHECK_STR(got, want);
        free(got);
        free(want);
    }
    /* text: PDQ and SHA-256 share a length, so PDQ lists are read as such */
    char *got = write_read(other, nother, HF_TEXT, 0), *want = expect_text(other, nother, HF_TEXT);
    CHECK_STR(got, want);
    free(got);
    free(want);
    got = write_read(pdq, npdq, HF_TEXT, HF_PDQ);
    want = expect_text(pdq, npdq, HF_TEXT);
    CHECK_STR(got, want);
    free(got);
    free(want);
    /* an empty list is a valid list in every format */
    for (size_t k = 0; k < 2; k++) {
        got = write_read(es, 0, (enum hashfmt_format)fmts[k], 0);
        CHECK_STR(got, "");
        free(got);
    }
}

/* The exact text of a small export, so the format does not drift unnoticed. */
static void test_writer_exact(void)
{
    /* bytes 0..143 */
    static const char pdna[] =
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xN"
        "Tk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6P";
    struct hashfmt_entry a = {.alg = HF_MD5,
                              .len = 16,
                              .category = "1",
                              .series = "Q \"x\" <y>",
                              .media_id = "42",
                              .victim_identified = 1,
                              .offender_identified = -1,
                              .is_distributed = 0};
    struct hashfmt_entry b = {
        .alg = HF_PHOTODNA, .len = 144, .victim_identified = -1, .offender_identified = -1, .is_distributed = -1};
    for (int i = 0; i < 16; i++)
        a.value[i] = (uint8_t)(i * 17);
    for (int i = 0; i < 144; i++)
        b.value[i] = (uint8_t)i;
    struct hashfmt_writer w;
    struct buf out;
    char err[256], want[1024];
    buf_init(&out);
    REQUIRE(hashfmt_writer_begin(&w, HF_VICS, &out, "NL", err, sizeof err) == CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &a, "added", err, sizeof err), CP_OK);
    buf_reset(&out); /* the caller may flush between entries */
    CHECK_INT(hashfmt_writer_entry(&w, &b, NULL, err, sizeof err), CP_OK);
    hashfmt_writer_end(&w);
    snprintf(want, sizeof want, ",\n{\"PhotoDNA\":\"%s\"}\n]}\n", pdna);
    CHECK_STR(out.p, want);

    buf_reset(&out);
    REQUIRE(hashfmt_writer_begin(&w, HF_VICS, &out, NULL, err, sizeof err) == CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &a, "added", err, sizeof err), CP_OK);
    hashfmt_writer_end(&w);
    CHECK_STR(out.p, "{\"@odata.context\":\"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/"
                     "$metadata#Media\",\"value\":[\n"
                     "{\"MediaID\":42,\"Category\":1,\"MD5\":\"00112233445566778899AABBCCDDEEFF\","
                     "\"Series\":\"Q \\\"x\\\" \\u003cy\\u003e\",\"VictimIdentified\":true,\"IsDistributed\":false,"
                     "\"cport\":{\"change\":\"added\"}}\n]}\n");

    buf_reset(&out);
    REQUIRE(hashfmt_writer_begin(&w, HF_CSV, &out, NULL, err, sizeof err) == CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &a, "added", err, sizeof err), CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &b, NULL, err, sizeof err), CP_OK);
    hashfmt_writer_end(&w);
    snprintf(want, sizeof want,
             "md5,sha1,sha256,pdq,photodna,category,series,media_id,change\n"
             "00112233445566778899aabbccddeeff,,,,,1,\"Q \"\"x\"\" <y>\",42,added\n"
             ",,,,%s,,,,\n",
             pdna);
    CHECK_STR(out.p, want);

    buf_reset(&out);
    REQUIRE(hashfmt_writer_begin(&w, HF_TEXT, &out, NULL, err, sizeof err) == CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &a, NULL, err, sizeof err), CP_OK);
    CHECK_INT(hashfmt_writer_entry(&w, &b, NULL, err, sizeof err), CP_OK);
    hashfmt_writer_end(&w);
    snprintf(want, sizeof want, "00112233445566778899aabbccddeeff\n%s\n", pdna);
    CHECK_STR(out.p, want);

    /* refusals write nothing */
    buf_reset(&out);
    CHECK_INT(hashfmt_writer_begin(&w, HF_VICS, &out, "XX", err, sizeof err), CP_BAD);
    CHECK_INT(hashfmt_writer_begin(&w, HF_VICS, &out, "nl", err, sizeof err), CP_BAD);
    CHECK_INT(hashfmt_writer_begin(&w, HF_ICSE, &out, NULL, err, sizeof err), CP_BAD);
    CHECK_STR(err, "icse lists cannot be written");
    CHECK_INT(out.len, 0);
    REQUIRE(hashfmt_writer_begin(&w, HF_CSV, &out, NULL, err, sizeof err) == CP_OK);
    size_t len = out.len;
    struct hashfmt_entry bad = a;
    CHECK_INT(hashfmt_writer_entry(&w, &a, "deleted", err, sizeof err), CP_BAD);
    bad.len = 15;
    CHECK_INT(hashfmt_writer_entry(&w, &bad, NULL, err, sizeof err), CP_BAD);
    bad = a;
    bad.alg = (enum hashfmt_alg)0;
    CHECK_INT(hashfmt_writer_entry(&w, &bad, NULL, err, sizeof err), CP_BAD);
    bad = a;
    bad.category = "012345678901234567890123456789012";
    CHECK_INT(hashfmt_writer_entry(&w, &bad, NULL, err, sizeof err), CP_BAD);
    bad = a;
    bad.series = "line\nbreak";
    CHECK_INT(hashfmt_writer_entry(&w, &bad, NULL, err, sizeof err), CP_BAD);
    bad = a;
    bad.media_id = "\xff";
    CHECK_INT(hashfmt_writer_entry(&w, &bad, NULL, err, sizeof err), CP_BAD);
    CHECK_INT(out.len, len);
    buf_free(&out);
}

/* ------------------------------------------------------ bounded memory */

/* Peak resident set so far, KiB. */
static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Sink that only counts. */
static int count_entry(void *arg, const struct hashfmt_entry *e)
{
    (void)e;
    ((long *)arg)[0]++;
    return CP_OK;
}
static void count_invalid(void *arg, long line, const char *why)
{
    (void)line;
    (void)why;
    ((long *)arg)[1]++;
}

/* A ~50 MB VICS file written by the writer (flushed as it grows) parses from its
 * fd with peak memory growing by well under 16 MB. */
static void test_bounded_memory(void)
{
    char path[] = "/tmp/cport-test-hashfmt-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    struct hashfmt_entry es[60];
    rt_entries(es, 60);
    struct hashfmt_writer w;
    struct buf out;
    char err[256];
    buf_init(&out);
    REQUIRE(hashfmt_writer_begin(&w, HF_VICS, &out, "GB", err, sizeof err) == CP_OK);
    long n = 0;
    off_t total = 0;
    while (total < 50L * 1000 * 1000) {
        struct hashfmt_entry e = es[n % 60];
        e.value[0] = (uint8_t)n, e.value[1] = (uint8_t)(n >> 8), e.value[2] = (uint8_t)(n >> 16);
        REQUIRE(hashfmt_writer_entry(&w, &e, n % 7 ? NULL : "removed", err, sizeof err) == CP_OK);
        n++;
        if (out.len > (1 << 20)) {
            REQUIRE(write(fd, out.p, out.len) == (ssize_t)out.len);
            total += (off_t)out.len;
            buf_reset(&out);
        }
    }
    hashfmt_writer_end(&w);
    REQUIRE(write(fd, out.p, out.len) == (ssize_t)out.len);
    buf_free(&out);
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);

    long counts[2] = {0, 0};
    struct hashfmt_sink s = {count_entry, count_invalid, counts};
    long before = maxrss_kb();
    CHECK_INT(hashfmt_parse_fd(fd, HF_VICS, 0, &s, err, sizeof err), CP_OK);
    long growth = maxrss_kb() - before;
    close(fd);
    CHECK_INT(counts[0], n);
    CHECK_INT(counts[1], 0);
    if (getenv("HF_DEBUG") || growth >= 16 * 1024)
        fprintf(stderr, "  peak RSS grew by %ld KiB parsing %ld entries\n", growth, n);
    CHECK(growth < 16 * 1024);
}

/* ------------------------------------------------------------------ fuzz */

/* The fuzz entry point survives every sample, every prefix of it (truncations
 * at every byte), and a few hostile inputs. */
static void test_fuzz_samples(void)
{
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        struct buf in;
        REQUIRE(slurp(SAMPLES[i].name, &in) == 0);
        for (size_t k = 0; k <= in.len; k += (k < 400 ? 1 : 13))
            CHECK_INT(hashfmt_fuzz_one((const uint8_t *)in.p, k), 0);
        CHECK_INT(hashfmt_fuzz_one((const uint8_t *)in.p, in.len), 0);
        buf_free(&in);
    }
    static const char *const hostile[] = {
        "\"",
        "{",
        "{\"value\":[{\"MD5\":\"\\ud800\"}]}",
        "\xef\xbb\xbf\xef\xbb\xbf",
        "\r\r\r\n\"\"\"\n",
        "{\"value\":[{\"Media\":[{\"Media\":[{}]}]}]}",
        "md5\n\"",
        ";;;;;;\n;;;",
        "#\n#\n#",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
        CHECK_INT(hashfmt_fuzz_one((const uint8_t *)hostile[i], strlen(hostile[i])), 0);
}

int main(void)
{
    RUN(test_bounded_memory); /* first: ru_maxrss is a peak, later tests would raise it */
    RUN(test_names);
    RUN(test_sniff);
    RUN(test_vics13_media);
    RUN(test_vics20_media);
    RUN(test_vics20_cases);
    RUN(test_vics_no_metadata);
    RUN(test_icse);
    RUN(test_csv_quoted);
    RUN(test_text_length);
    RUN(test_text_algorithm);
    RUN(test_bom);
    RUN(test_vics_bad);
    RUN(test_vics_broken);
    RUN(test_vics_not_vics);
    RUN(test_vics_long_token);
    RUN(test_icse_bad);
    RUN(test_csv_bad);
    RUN(test_csv_header_errors);
    RUN(test_text_bad);
    RUN(test_long_records);
    RUN(test_stop);
    RUN(test_chunks);
    RUN(test_roundtrip);
    RUN(test_writer_exact);
    RUN(test_fuzz_samples);
    return TEST_DONE();
}
