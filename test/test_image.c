/*
 * test_image - lib/image: sniffing of every named type from real magic bytes (and
 * of markup, text, random bytes and nothing); PNG and JPEG round trips of every
 * generated kind in grey and RGB; PNGs with alpha, palette and 16 bits written with
 * libspng directly, progressive and CMYK JPEGs with libjpeg; clean CP_BAD refusal of truncated, corrupted, bomb,
 * random, non-image, empty and oversized input; previews that are small grey JPEGs with the contrast blurred away; and
 * pdq_hash_image agreeing with pdq_hash_file, the bridge photograph included (SKIP when ../shared/pdq-vectors is
 * absent). Only generated pictures and the bridge photographs are used. Scratch files go to a mkdtemp directory in /tmp
 * that is removed at the end.
 */
#include "image.h"
#include "pdq.h"
#include "pngcraft.h"
#include "test.h"
#include "util.h"

#include <math.h>
#include <spng.h>
#include <stdint.h>
#include <stdio.h> /* before jpeglib.h */
#include <stdlib.h>
#include <unistd.h>

#include <jpeglib.h>

static char vec[512]; /* the PDQ vectors directory, or "" when absent */
static char dir[64];  /* scratch directory */

/* A path in the scratch directory. */
static const char *tpath(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}



/* Deterministic bytes for tests. */
static uint64_t rng = 0x243f6a8885a308d3ull;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 32);
}

/* The sniffed type of a C string's bytes. */
static const char *sniff_s(const char *s)
{
    return image_sniff((const uint8_t *)s, strlen(s));
}

/* The sniffed type of n bytes (for headers with NULs). */
static const char *sniff_n(const char *s, size_t n)
{
    return image_sniff((const uint8_t *)s, n);
}

/* Mean absolute difference of two pictures of the same shape. */
static double mean_err(const struct image *a, const struct image *b)
{
    size_t n = (size_t)a->w * a->h * a->comps;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += abs((int)a->px[i] - (int)b->px[i]);
    return s / (double)n;
}

/* Standard deviation of all samples. */
static double stddev(const struct image *a)
{
    size_t n = (size_t)a->w * a->h * a->comps;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += a->px[i];
        s2 += (double)a->px[i] * a->px[i];
    }
    double m = s / (double)n;
    return sqrt(s2 / (double)n - m * m);
}

/* A grey copy of an RGB picture (integer luma), for the one-channel paths. */
static int to_grey(const struct image *rgb, struct image *g)
{
    size_t n = (size_t)rgb->w * rgb->h;
    g->w = rgb->w;
    g->h = rgb->h;
    g->comps = 1;
    g->px = malloc(n);
    if (!g->px)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = rgb->px + 3 * i;
        g->px[i] = (uint8_t)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
    }
    return 0;
}

/* libspng output stream into a struct buf, for PNGs the test writes itself. */
static int spng_to_buf(spng_ctx *ctx, void *user, void *data, size_t len)
{
    (void)ctx;
    buf_add(user, data, len);
    return 0;
}

/* Write a PNG of any colour type and depth with libspng directly: raw (big-endian)
 * samples, optional palette and tRNS. 0 or a libspng error. */
static int write_png(struct buf *out, int w, int h, int colour, int depth, const void *px, size_t len,
                     struct spng_plte *plte, struct spng_trns *trns)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return -1;
    struct spng_ihdr ihdr = {(uint32_t)w, (uint32_t)h, (uint8_t)depth, (uint8_t)colour, 0, 0, 0};
    int ret = spng_set_png_stream(ctx, spng_to_buf, out);
    if (!ret)
        ret = spng_set_ihdr(ctx, &ihdr);
    if (!ret && plte)
        ret = spng_set_plte(ctx, plte);
    if (!ret && trns)
        ret = spng_set_trns(ctx, trns);
    if (!ret)
        ret = spng_encode_image(ctx, px, len, SPNG_FMT_RAW, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    return ret;
}

/* Every named type from its magic bytes; markup in its disguises; text; the rest. */
static void test_sniff(void)
{
    struct image img;
    struct buf b;
    buf_init(&b);
    REQUIRE(image_generate(IMAGE_SHAPES, 40, 30, 1, &img) == CP_OK);
    REQUIRE(image_encode_jpeg(&img, 80, &b) == CP_OK);
    CHECK_STR(image_sniff((uint8_t *)b.p, b.len), "image/jpeg");
    buf_reset(&b);
    REQUIRE(image_encode_png(&img, &b) == CP_OK);
    CHECK_STR(image_sniff((uint8_t *)b.p, b.len), "image/png");
    buf_free(&b);
    image_free(&img);

    CHECK_STR(sniff_n("GIF89a\x01\x00\x01\x00\x80\x00\x00", 13), "image/gif");
    CHECK_STR(sniff_n("GIF87a\x01\x00\x01\x00\x80\x00\x00", 13), "image/gif");
    CHECK_STR(sniff_n("RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", 20), "image/webp");
    CHECK_STR(sniff_n("BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00"
                      "\x00\x01\x00\x00",
                      22),
              "image/bmp");
    CHECK_STR(sniff_n("II*\x00\x08\x00\x00\x00", 8), "image/tiff");
    CHECK_STR(sniff_n("MM\x00*\x00\x00\x00\x08", 8), "image/tiff");
    CHECK_STR(sniff_n("\0\0\0\030ftypisom\0\0\2\0isomiso2", 24), "video/mp4");
    CHECK_STR(sniff_n("\0\0\0\024ftypmp42\0\0\0\0mp42", 20), "video/mp4");
    CHECK_STR(sniff_n("\0\0\0\024ftypavc1\0\0\0\0avc1", 20), "video/mp4");
    CHECK_STR(sniff_n("\0\0\0\024ftypqt  \x20\x05\x03\x00qt  ", 20), "video/quicktime");
    CHECK_STR(sniff_n("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01", 13), "video/webm");
    CHECK_STR(sniff_n("RIFF\0\020\0\0AVI LIST\0\1\0\0", 20), "video/x-msvideo");
    CHECK_STR(sniff_s("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), "application/pdf");
    /* Other ISO BMFF brands (a HEIF still) are not video/mp4. */
    CHECK_STR(sniff_n("\0\0\0\030ftypheic\0\0\0\0mif1heic", 24), "application/octet-stream");
    /* RIFF of another kind (WAVE) is neither. */
    CHECK_STR(sniff_n("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", 20), "application/octet-stream");

    /* Markup, whatever its case and whatever precedes it. */
    CHECK_STR(sniff_s("<!DOCTYPE html><html><body>x</body></html>"), "text/html");
    CHECK_STR(sniff_s("\xef\xbb\xbf \r\n\t<!doctype HTML>\n<title>t</title>"), "text/html");
    CHECK_STR(sniff_s("<HtMl lang=en>"), "text/html");
    CHECK_STR(sniff_s("  \n<HEAD>"), "text/html");
    CHECK_STR(sniff_s("<body onload=x()>"), "text/html");
    CHECK_STR(sniff_s("\n\n<SCRIPT>alert(1)</SCRIPT>"), "text/html");
    CHECK_STR(sniff_s("<?xml version=\"1.0\"?><svg/>"), "text/html");
    CHECK_STR(sniff_s("\xef\xbb\xbf<?XML version=\"1.0\"?>"), "text/html");
    /* Not markup: a tag later in the text, or a longer word. */
    CHECK_STR(sniff_s("see <html> below\n"), "text/plain");
    CHECK_STR(sniff_s("<htmlish>\n"), "text/plain");

    /* Text: ASCII and UTF-8 ("BM" at the start is no bitmap). */
    CHECK_STR(sniff_s("hello, world\n"), "text/plain");
    CHECK_STR(sniff_s("BM is short for nothing in particular.\r\n"), "text/plain");
    CHECK_STR(sniff_s("Gr\xc3\xbc\xc3\237e \xe2\x80\x93 \xf0\x9f\x99\x82\tok\n"), "text/plain");
    CHECK_STR(sniff_n("hello\0world", 11), "application/octet-stream");
    CHECK_STR(sniff_s("bell\x07"), "application/octet-stream");
    CHECK_STR(sniff_s("overlong \xc0\x80"), "application/octet-stream");
    CHECK_STR(sniff_s("cut short \xe2\x80"), "application/octet-stream");
    CHECK_STR(sniff_s("latin-1 caf\xe9"), "application/octet-stream");
    /* Only the first 512 bytes count, and a character cut by that edge is fine. */
    char longtext[700];
    memset(longtext, 'a', sizeof longtext);
    memcpy(longtext + 511, "\xe2\x80\x93", 3);
    longtext[600] = 0x01;
    CHECK_STR(sniff_n(longtext, sizeof longtext), "text/plain");
    longtext[100] = 0x01;
    CHECK_STR(sniff_n(longtext, sizeof longtext), "application/octet-stream");

    /* Random bytes and nothing at all. */
    uint8_t noise[4096];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = rnd8();
    noise[0] = 0x00;
    CHECK_STR(image_sniff(noise, sizeof noise), "application/octet-stream");
    CHECK_STR(image_sniff(noise, 0), "application/octet-stream");
    CHECK_STR(image_sniff(NULL, 0), "application/octet-stream");

    CHECK(image_decodable("image/jpeg"));
    CHECK(image_decodable("image/png"));
    CHECK(!image_decodable("image/gif"));
    CHECK(!image_decodable("text/html"));
    CHECK(!image_decodable(NULL));
}

/* Each generated kind, RGB and grey: PNG decodes back identical, JPEG of quality
 * 95 close; generation is deterministic and the kinds differ as described. */
static void test_round_trips(void)
{
    static const enum image_kind kinds[] = {IMAGE_SOLID, IMAGE_GRADIENT, IMAGE_NOISE, IMAGE_SHAPES};
    static const char *const names[] = {"solid", "gradient", "noise", "shapes"};
    /* Noise is the worst case for JPEG: every pixel an edge. */
    static const double jpeg_tol[] = {1.0, 1.5, 5.0, 2.5};
    char err[256];

    for (int k = 0; k < 4; k++)
        for (int grey = 0; grey < 2; grey++) {
            struct image rgb, src, back;
            struct buf b;
            buf_init(&b);
            REQUIRE(image_generate(kinds[k], 97, 61, 7 + k, &rgb) == CP_OK);
            CHECK_INT(rgb.comps, 3);
            if (grey) {
                REQUIRE(to_grey(&rgb, &src) == 0);
                image_free(&rgb);
            } else {
                src = rgb;
            }

            REQUIRE(image_encode_png(&src, &b) == CP_OK);
            int rc = image_decode((uint8_t *)b.p, b.len, 1000000, &back, err, sizeof err);
            CHECK_INT(rc, CP_OK);
            if (rc == CP_OK) {
                CHECK_INT(back.w, 97);
                CHECK_INT(back.h, 61);
                CHECK_INT(back.comps, src.comps);
                CHECK(memcmp(back.px, src.px, (size_t)97 * 61 * src.comps) == 0);
            }
            image_free(&back);

            buf_reset(&b);
            REQUIRE(image_encode_jpeg(&src, 95, &b) == CP_OK);
            rc = image_decode((uint8_t *)b.p, b.len, 1000000, &back, err, sizeof err);
            CHECK_INT(rc, CP_OK);
            if (rc == CP_OK) {
                CHECK_INT(back.w, 97);
                CHECK_INT(back.h, 61);
                CHECK_INT(back.comps, src.comps);
                double e = mean_err(&src, &back);
                printf("  %-8s %s: JPEG q95 %zu bytes, mean error %.2f\n", names[k], grey ? "grey" : "RGB ", b.len, e);
                CHECK(e <= jpeg_tol[k]);
            }
            image_free(&back);
            buf_free(&b);
            image_free(&src);
        }

    /* Same seed, same picture; another seed, another one. */
    struct image a, b2, c;
    REQUIRE(image_generate(IMAGE_SHAPES, 64, 48, 42, &a) == CP_OK);
    REQUIRE(image_generate(IMAGE_SHAPES, 64, 48, 42, &b2) == CP_OK);
    REQUIRE(image_generate(IMAGE_SHAPES, 64, 48, 43, &c) == CP_OK);
    CHECK(memcmp(a.px, b2.px, 64 * 48 * 3) == 0);
    CHECK(memcmp(a.px, c.px, 64 * 48 * 3) != 0);
    image_free(&a);
    image_free(&b2);
    image_free(&c);

    /* A solid picture is one colour; noise is not. */
    REQUIRE(image_generate(IMAGE_SOLID, 20, 10, 5, &a) == CP_OK);
    int same = 1;
    for (int i = 1; i < 200; i++)
        same &= memcmp(a.px, a.px + 3 * i, 3) == 0;
    CHECK(same);
    image_free(&a);
    REQUIRE(image_generate(IMAGE_NOISE, 64, 64, 5, &a) == CP_OK);
    CHECK(stddev(&a) > 60);
    image_free(&a);

    /* Bad arguments. */
    CHECK_INT(image_generate(IMAGE_SOLID, 0, 10, 1, &a), CP_ERR);
    CHECK_INT(image_generate(IMAGE_SOLID, 10, IMAGE_MAX_SIDE + 1, 1, &a), CP_ERR);
    CHECK_INT(image_generate((enum image_kind)9, 10, 10, 1, &a), CP_ERR);
    struct buf out;
    buf_init(&out);
    REQUIRE(image_generate(IMAGE_SOLID, 8, 8, 1, &a) == CP_OK);
    CHECK_INT(image_encode_jpeg(&a, 0, &out), CP_ERR);
    CHECK_INT(image_encode_jpeg(&a, 101, &out), CP_ERR);
    a.comps = 2;
    CHECK_INT(image_encode_png(&a, &out), CP_ERR);
    a.comps = 3;
    CHECK_INT(out.len, 0);
    image_free(&a);
    buf_free(&out);
}

/* PNGs written by libspng itself in the forms our encoder never makes: alpha is
 * dropped (not composited: a transparent red pixel stays red), 16 bits become the
 * high byte, grey+alpha and 16-bit grey stay one channel, palettes expand. */
static void test_png_forms(void)
{
    enum { W = 6, H = 4 };
    char err[256];
    struct image img;
    struct buf b;
    buf_init(&b);

    /* RGBA 8: alpha from 0 to 255 across the picture. */
    uint8_t rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        rgba[4 * i] = (uint8_t)(200 + i);
        rgba[4 * i + 1] = (uint8_t)(10 * i);
        rgba[4 * i + 2] = (uint8_t)(255 - i);
        rgba[4 * i + 3] = (uint8_t)(i * 11);
    }
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, rgba, sizeof rgba, NULL, NULL) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 3);
    int ok = 1;
    for (int i = 0; i < W * H; i++)
        ok &= img.px[3 * i] == rgba[4 * i] && img.px[3 * i + 1] == rgba[4 * i + 1] &&
              img.px[3 * i + 2] == rgba[4 * i + 2];
    CHECK(ok);
    image_free(&img);

    /* RGB 16, big-endian samples: 0x12ff must give 0x12 (the high byte). */
    uint8_t rgb16[W * H * 6];
    for (int i = 0; i < W * H * 3; i++) {
        rgb16[2 * i] = (uint8_t)(i * 7);
        rgb16[2 * i + 1] = 0xff;
    }
    buf_reset(&b);
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_TRUECOLOR, 16, rgb16, sizeof rgb16, NULL, NULL) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 3);
    ok = 1;
    for (int i = 0; i < W * H * 3; i++)
        ok &= img.px[i] == (uint8_t)(i * 7);
    CHECK(ok);
    image_free(&img);

    /* Grey+alpha 8: one channel, the grey values. */
    uint8_t ga[W * H * 2];
    for (int i = 0; i < W * H; i++) {
        ga[2 * i] = (uint8_t)(i * 10 + 3);
        ga[2 * i + 1] = (uint8_t)(255 - i * 10);
    }
    buf_reset(&b);
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, ga, sizeof ga, NULL, NULL) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 1);
    ok = 1;
    for (int i = 0; i < W * H; i++)
        ok &= img.px[i] == ga[2 * i];
    CHECK(ok);
    image_free(&img);

    /* Grey 16: one channel, high bytes. */
    uint8_t g16[W * H * 2];
    for (int i = 0; i < W * H; i++) {
        g16[2 * i] = (uint8_t)(250 - i);
        g16[2 * i + 1] = 0x80;
    }
    buf_reset(&b);
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_GRAYSCALE, 16, g16, sizeof g16, NULL, NULL) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 1);
    ok = 1;
    for (int i = 0; i < W * H; i++)
        ok &= img.px[i] == (uint8_t)(250 - i);
    CHECK(ok);
    image_free(&img);

    /* Palette of 3 with a transparent entry: RGB, transparency ignored. */
    struct spng_plte plte = {0};
    plte.n_entries = 3;
    plte.entries[0] = (struct spng_plte_entry){255, 0, 0, 0};
    plte.entries[1] = (struct spng_plte_entry){0, 128, 0, 0};
    plte.entries[2] = (struct spng_plte_entry){1, 2, 3, 0};
    struct spng_trns trns = {0};
    trns.n_type3_entries = 1;
    trns.type3_alpha[0] = 0;
    uint8_t idx[W * H];
    for (int i = 0; i < W * H; i++)
        idx[i] = (uint8_t)(i % 3);
    buf_reset(&b);
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_INDEXED, 8, idx, sizeof idx, &plte, &trns) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 3);
    ok = 1;
    for (int i = 0; i < W * H; i++) {
        const struct spng_plte_entry *e = &plte.entries[i % 3];
        ok &= img.px[3 * i] == e->red && img.px[3 * i + 1] == e->green && img.px[3 * i + 2] == e->blue;
    }
    CHECK(ok);
    image_free(&img);

    /* Grey of 4 bits: scaled to 0..255 (15 -> 255). */
    uint8_t g4[H * (W / 2)];
    for (int i = 0; i < H * (W / 2); i++)
        g4[i] = 0xf0 | (uint8_t)(i % 16);
    buf_reset(&b);
    REQUIRE(write_png(&b, W, H, SPNG_COLOR_TYPE_GRAYSCALE, 4, g4, sizeof g4, NULL, NULL) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, 1000, &img, err, sizeof err) == CP_OK);
    CHECK_INT(img.comps, 1);
    CHECK_INT(img.px[0], 255);
    CHECK_INT(img.px[1], 0);
    CHECK_INT(img.px[3], 17);
    image_free(&img);
    buf_free(&b);
}

/* Write a JPEG with libjpeg directly, in the forms our encoder never makes:
 * progressive, or CMYK (comps 4). The caller frees *out. */
static void write_jpeg(const uint8_t *px, int w, int h, int comps, int progressive, unsigned char **out,
                       unsigned long *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    *out = NULL;
    *len = 0;
    jpeg_mem_dest(&c, out, len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
}

/* A progressive JPEG decodes to the same pixels as the baseline one with the same
 * tables (progression only reorders the coefficients); CMYK is refused by name. */
static void test_jpeg_forms(void)
{
    char err[256];
    struct image src, base, back;
    unsigned char *jpg;
    unsigned long len;

    REQUIRE(image_generate(IMAGE_SHAPES, 120, 90, 5, &src) == CP_OK);
    write_jpeg(src.px, 120, 90, 3, 0, &jpg, &len);
    REQUIRE(jpg);
    REQUIRE(image_decode(jpg, len, 1000000, &base, err, sizeof err) == CP_OK);
    free(jpg);
    write_jpeg(src.px, 120, 90, 3, 1, &jpg, &len);
    REQUIRE(jpg && len > 100);
    int rc = image_decode(jpg, len, 1000000, &back, err, sizeof err);
    CHECK_INT(rc, CP_OK);
    if (rc == CP_OK) {
        CHECK_INT(back.comps, 3);
        CHECK(memcmp(back.px, base.px, 120 * 90 * 3) == 0);
        CHECK(mean_err(&src, &back) < 8.0);
    }
    image_free(&back);
    image_free(&base);
    /* Truncated progressive: the later scans missing is still refused. */
    CHECK_INT(image_decode(jpg, len * 6 / 10, 1000000, &back, err, sizeof err), CP_BAD);
    free(jpg);

    uint8_t *cmyk = malloc(120 * 90 * 4);
    REQUIRE(cmyk);
    for (int i = 0; i < 120 * 90 * 4; i++)
        cmyk[i] = (uint8_t)(i * 13);
    write_jpeg(cmyk, 120, 90, 4, 0, &jpg, &len);
    free(cmyk);
    REQUIRE(jpg);
    CHECK_STR(image_sniff(jpg, len), "image/jpeg");
    CHECK_INT(image_decode(jpg, len, 1000000, &back, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "CMYK") != NULL);
    free(jpg);
    image_free(&src);
}

/* A CP_BAD refusal with a message and an empty image. */
static int refused(const uint8_t *p, size_t n, long max_pixels, char *err, size_t errlen)
{
    struct image img = {1, 1, 1, NULL};
    err[0] = 0;
    int rc = image_decode(p, n, max_pixels, &img, err, errlen);
    if (rc == CP_OK)
        image_free(&img);
    return rc == CP_BAD && err[0] && !img.px && img.w == 0;
}

/* Broken and hostile input: CP_BAD with a message, never a crash (ASan too). */
static void test_bad_inputs(void)
{
    char err[256];
    struct image img;
    struct buf jpg, png;
    buf_init(&jpg);
    buf_init(&png);
    REQUIRE(image_generate(IMAGE_SHAPES, 320, 240, 3, &img) == CP_OK);
    REQUIRE(image_encode_jpeg(&img, 85, &jpg) == CP_OK);
    REQUIRE(image_encode_png(&img, &png) == CP_OK);
    image_free(&img);

    /* Truncated at 60%. */
    CHECK(refused((uint8_t *)jpg.p, jpg.len * 6 / 10, 1000000, err, sizeof err));
    printf("  truncated JPEG: %s\n", err);
    CHECK(refused((uint8_t *)png.p, png.len * 6 / 10, 1000000, err, sizeof err));
    printf("  truncated PNG: %s\n", err);
    /* Only the IEND missing: still refused (the file is incomplete). */
    CHECK(refused((uint8_t *)png.p, png.len - 12, 1000000, err, sizeof err));

    /* Corrupted entropy-coded data: random bytes over 64 bytes in the middle of
     * the scan, and, separately, a marker planted in it. */
    size_t sos = 0;
    for (size_t i = 2; i + 1 < jpg.len; i++)
        if ((uint8_t)jpg.p[i] == 0xff && (uint8_t)jpg.p[i + 1] == 0xda) {
            sos = i;
            break;
        }
    REQUIRE(sos > 0);
    size_t data = sos + 2 + (((uint8_t)jpg.p[sos + 2] << 8) | (uint8_t)jpg.p[sos + 3]);
    size_t mid = data + (jpg.len - data) / 2;
    uint8_t *bad = malloc(jpg.len);
    REQUIRE(bad);
    memcpy(bad, jpg.p, jpg.len);
    for (size_t i = mid; i < mid + 64; i++)
        bad[i] = rnd8();
    CHECK(refused(bad, jpg.len, 1000000, err, sizeof err));
    printf("  corrupted JPEG: %s\n", err);
    memcpy(bad, jpg.p, jpg.len);
    bad[mid] = 0xff;
    bad[mid + 1] = 0xd3;
    CHECK(refused(bad, jpg.len, 1000000, err, sizeof err));
    /* A flipped byte in the PNG's image data fails the CRC. */
    free(bad);
    bad = malloc(png.len);
    REQUIRE(bad);
    memcpy(bad, png.p, png.len);
    bad[png.len / 2] ^= 0x40;
    CHECK(refused(bad, png.len, 1000000, err, sizeof err));
    printf("  corrupted PNG: %s\n", err);
    free(bad);

    /* The PNG bomb: a correct signature and IHDR (CRC and all) declaring
     * 100000x100000, then a small valid IDAT: refused from the header. */
    struct buf bomb;
    buf_init(&bomb);
    static const uint8_t idat[] = {0x78, 0xda, 0x63, 0x60, 0x18, 0x05, 0x44, 0x03, 0x00, 0x01, 0x2d, 0x00, 0x01};
    png_claiming(&bomb, 100000, 100000, idat, sizeof idat);
    CHECK_STR(image_sniff((uint8_t *)bomb.p, bomb.len), "image/png");
    CHECK(refused((uint8_t *)bomb.p, bomb.len, PDQ_MAX_PIXELS, err, sizeof err));
    CHECK(strstr(err, "100000x100000") && strstr(err, "limit"));
    printf("  PNG bomb: %s\n", err);
    /* Within the side limit but over the pixel limit: 20000x20000. */
    png_claiming(&bomb, 20000, 20000, idat, sizeof idat);
    CHECK(refused((uint8_t *)bomb.p, bomb.len, PDQ_MAX_PIXELS, err, sizeof err));
    CHECK(strstr(err, "over the limit of 50000000 pixels") != NULL);
    buf_free(&bomb);

    /* 50 MB of random bytes after a JPEG SOI. */
    size_t big = 50u * 1024 * 1024;
    uint8_t *junk = malloc(big);
    REQUIRE(junk);
    for (size_t i = 0; i < big; i++)
        junk[i] = rnd8();
    junk[0] = 0xff, junk[1] = 0xd8, junk[2] = 0xff;
    CHECK(refused(junk, big, PDQ_MAX_PIXELS, err, sizeof err));
    printf("  50 MB of noise after SOI: %s\n", err);
    free(junk);

    /* Not an image at all, nothing at all, and a picture over max_pixels. */
    static const char html[] = "<!DOCTYPE html><html><body><img src=x></body></html>";
    CHECK(refused((const uint8_t *)html, sizeof html - 1, 1000000, err, sizeof err));
    CHECK(strstr(err, "text/html") != NULL);
    CHECK(refused((const uint8_t *)"", 0, 1000000, err, sizeof err));
    CHECK(refused(NULL, 0, 1000000, err, sizeof err));
    CHECK(refused((uint8_t *)jpg.p, jpg.len, 320 * 240 - 1, err, sizeof err));
    CHECK(strstr(err, "320x240") && strstr(err, "over the limit of 76799 pixels"));
    CHECK(refused((uint8_t *)png.p, png.len, 320 * 240 - 1, err, sizeof err));
    CHECK(strstr(err, "320x240") && strstr(err, "limit"));
    /* Exactly at the limit is fine. */
    REQUIRE(image_decode((uint8_t *)png.p, png.len, 320 * 240, &img, err, sizeof err) == CP_OK);
    image_free(&img);
    image_free(&img); /* twice is harmless */
    buf_free(&jpg);
    buf_free(&png);
}

/* Decode a preview and check it is a grey JPEG that fits max_side. */
static int preview_of(const struct image *src, int max_side, struct image *out)
{
    struct buf b;
    char err[256];
    buf_init(&b);
    int rc = image_preview(src, max_side, &b, err, sizeof err);
    if (rc != CP_OK) {
        fprintf(stderr, "  preview: %s\n", err);
        buf_free(&b);
        return rc;
    }
    if (strcmp(image_sniff((uint8_t *)b.p, b.len), "image/jpeg") != 0) {
        buf_free(&b);
        return CP_BAD;
    }
    rc = image_decode((uint8_t *)b.p, b.len, 100000000L, out, err, sizeof err);
    buf_free(&b);
    return rc;
}

/* Previews: small grey JPEGs, never enlarged, with the detail blurred away. */
static void test_preview(void)
{
    /* Black and white squares of 8 px: all contrast, no content. */
    int w = 640, h = 480;
    struct image check = {w, h, 3, malloc((size_t)w * h * 3)}, pv;
    REQUIRE(check.px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memset(check.px + ((size_t)y * w + x) * 3, (x / 8 + y / 8) % 2 ? 255 : 0, 3);
    double sd0 = stddev(&check);
    REQUIRE(preview_of(&check, 256, &pv) == CP_OK);
    CHECK_INT(pv.comps, 1);
    CHECK_INT(pv.w, 256);
    CHECK_INT(pv.h, 192);
    double sd1 = stddev(&pv);
    printf("  checkerboard: stddev %.1f -> preview %.1f\n", sd0, sd1);
    CHECK(sd1 < 0.25 * sd0);
    image_free(&pv);

    /* Blurred at preview size too: a large-scale pattern (squares of 1/10 the
     * side, the size of a face in a photo) loses most of its contrast. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memset(check.px + ((size_t)y * w + x) * 3, (x / 64 + y / 64) % 2 ? 255 : 0, 3);
    REQUIRE(preview_of(&check, 256, &pv) == CP_OK);
    printf("  64 px squares: stddev %.1f -> preview %.1f\n", stddev(&check), stddev(&pv));
    CHECK(stddev(&pv) < 0.35 * stddev(&check));
    image_free(&pv);
    image_free(&check);

    /* Tall grey picture: the long side is the height. */
    struct image rgb, grey;
    REQUIRE(image_generate(IMAGE_SHAPES, 300, 1000, 9, &rgb) == CP_OK);
    REQUIRE(to_grey(&rgb, &grey) == 0);
    image_free(&rgb);
    REQUIRE(preview_of(&grey, 128, &pv) == CP_OK);
    CHECK_INT(pv.h, 128);
    CHECK_INT(pv.w, 38);
    CHECK_INT(pv.comps, 1);
    image_free(&pv);
    image_free(&grey);

    /* Tiny: 10x7 is not enlarged; a flat colour stays that grey. */
    REQUIRE(image_generate(IMAGE_SOLID, 10, 7, 4, &rgb) == CP_OK);
    REQUIRE(preview_of(&rgb, 256, &pv) == CP_OK);
    CHECK_INT(pv.w, 10);
    CHECK_INT(pv.h, 7);
    CHECK_INT(pv.comps, 1);
    int expect = (int)(0.299f * rgb.px[0] + 0.587f * rgb.px[1] + 0.114f * rgb.px[2] + 0.5f);
    CHECK(abs((int)pv.px[0] - expect) <= 2 && abs((int)pv.px[69] - expect) <= 2);
    image_free(&pv);
    /* 1x1 and a very thin strip. */
    struct image one = {1, 1, 3, rgb.px};
    REQUIRE(preview_of(&one, 256, &pv) == CP_OK);
    CHECK_INT(pv.w, 1);
    image_free(&pv);
    image_free(&rgb);
    REQUIRE(image_generate(IMAGE_NOISE, 3000, 2, 4, &rgb) == CP_OK);
    REQUIRE(preview_of(&rgb, 100, &pv) == CP_OK);
    CHECK_INT(pv.w, 100);
    CHECK_INT(pv.h, 1);
    image_free(&pv);

    /* Bad arguments. */
    struct buf b;
    char err[128];
    buf_init(&b);
    CHECK_INT(image_preview(&rgb, 0, &b, err, sizeof err), CP_ERR);
    struct image empty = {0, 0, 0, NULL};
    CHECK_INT(image_preview(&empty, 256, &b, err, sizeof err), CP_ERR);
    CHECK_INT(b.len, 0);
    buf_free(&b);
    image_free(&rgb);
}

/* pdq_hash_image agrees with pdq_hash_file; PNG and JPEG of the same pixels hash
 * the same; the bridge photograph re-encoded as PNG keeps its hash exactly. */
static void test_pdq(void)
{
    struct image img, back;
    struct buf b;
    uint8_t h1[32], h2[32];
    int q1, q2;
    char err[256];

    buf_init(&b);
    REQUIRE(image_generate(IMAGE_SHAPES, 640, 480, 11, &img) == CP_OK);
    REQUIRE(image_encode_jpeg(&img, 90, &b) == CP_OK);
    REQUIRE(test_spit(tpath("shapes.jpg"), b.p, b.len) == 0);
    REQUIRE(image_decode((uint8_t *)b.p, b.len, PDQ_MAX_PIXELS, &back, err, sizeof err) == CP_OK);
    CHECK_INT(pdq_hash_image(&back, h1, &q1), CP_OK);
    CHECK_INT(pdq_hash_file(tpath("shapes.jpg"), h2, &q2, err, sizeof err), CP_OK);
    CHECK(memcmp(h1, h2, 32) == 0);
    CHECK_INT(q1, q2);
    printf("  shapes: PDQ quality %d\n", q1);
    CHECK(q1 > 50);
    image_free(&back);

    /* The PNG of the same picture: the file path now takes PNGs, and a lossless
     * file hashes like the pixels themselves. */
    CHECK_INT(pdq_hash_image(&img, h1, &q1), CP_OK);
    buf_reset(&b);
    REQUIRE(image_encode_png(&img, &b) == CP_OK);
    REQUIRE(test_spit(tpath("shapes.png"), b.p, b.len) == 0);
    CHECK_INT(pdq_hash_file(tpath("shapes.png"), h2, &q2, err, sizeof err), CP_OK);
    CHECK_INT(pdq_distance(h1, h2), 0);
    CHECK_INT(q1, q2);

    /* Grey images are hashed from their grey values, which is pdq_hash_luma on
     * those values. */
    struct image grey;
    REQUIRE(to_grey(&img, &grey) == 0);
    float *luma = malloc(sizeof(float) * 640 * 480);
    REQUIRE(luma);
    for (int i = 0; i < 640 * 480; i++)
        luma[i] = grey.px[i];
    CHECK_INT(pdq_hash_image(&grey, h1, &q1), CP_OK);
    CHECK_INT(pdq_hash_luma(luma, 640, 480, h2, &q2), CP_OK);
    CHECK(memcmp(h1, h2, 32) == 0 && q1 == q2);
    free(luma);
    image_free(&grey);

    /* Refusals: too small, malformed; a GIF file is not hashed. */
    struct image tiny = {4, 40, 3, img.px};
    CHECK_INT(pdq_hash_image(&tiny, h1, &q1), CP_BAD);
    struct image odd = {64, 64, 2, img.px};
    CHECK_INT(pdq_hash_image(&odd, h1, &q1), CP_BAD);
    image_free(&img);
    REQUIRE(test_spit(tpath("x.gif"), "GIF89a\x01\x00\x01\x00\x80\x00\x00", 13) == 0);
    CHECK_INT(pdq_hash_file(tpath("x.gif"), h1, &q1, err, sizeof err), CP_BAD);
    printf("  gif: %s\n", err);
    REQUIRE(image_generate(IMAGE_SHAPES, 4, 4, 1, &img) == CP_OK);
    buf_reset(&b);
    REQUIRE(image_encode_png(&img, &b) == CP_OK);
    REQUIRE(test_spit(tpath("tiny.png"), b.p, b.len) == 0);
    CHECK_INT(pdq_hash_file(tpath("tiny.png"), h1, &q1, err, sizeof err), CP_BAD);
    printf("  tiny: %s\n", err);
    image_free(&img);

    char path[1024];
    snprintf(path, sizeof path, "%s/bridge-mods/aaa-orig.jpg", vec);
    if (!vec[0] || access(path, R_OK) != 0) {
        printf("SKIP test_pdq (bridge part): no pdq-vectors\n");
        buf_free(&b);
        return;
    }
    size_t n;
    uint8_t *jpg = test_slurp(path, &n);
    REQUIRE(jpg);
    REQUIRE(image_decode(jpg, n, PDQ_MAX_PIXELS, &img, err, sizeof err) == CP_OK);
    free(jpg);
    buf_reset(&b);
    REQUIRE(image_encode_png(&img, &b) == CP_OK);
    REQUIRE(test_spit(tpath("bridge.png"), b.p, b.len) == 0);
    CHECK_INT(pdq_hash_file(path, h1, &q1, err, sizeof err), CP_OK);
    CHECK_INT(pdq_hash_file(tpath("bridge.png"), h2, &q2, err, sizeof err), CP_OK);
    char hex1[65], hex2[65];
    pdq_hex(h1, hex1);
    pdq_hex(h2, hex2);
    printf("  bridge %dx%d JPEG %s\n  bridge as PNG     %s\n", img.w, img.h, hex1, hex2);
    CHECK_INT(pdq_distance(h1, h2), 0);
    CHECK_INT(q1, q2);
    image_free(&img);
    buf_free(&b);
}

/* Remove the scratch files and directory. */
static void cleanup(void)
{
    static const char *const names[] = {"shapes.jpg", "shapes.png", "x.gif", "tiny.png", "bridge.png", NULL};
    for (int i = 0; names[i]; i++)
        unlink(tpath(names[i]));
    rmdir(dir);
}

int main(void)
{
    const char *src = getenv("CPORT_SOURCE_DIR");
    if (src) {
        snprintf(vec, sizeof vec, "%s/../shared/pdq-vectors", src);
        char probe[600];
        snprintf(probe, sizeof probe, "%s/expected-dih.csv", vec);
        if (access(probe, R_OK) != 0)
            vec[0] = 0;
    }
    snprintf(dir, sizeof dir, "/tmp/cport-test-image-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_sniff);
    RUN(test_round_trips);
    RUN(test_png_forms);
    RUN(test_jpeg_forms);
    RUN(test_bad_inputs);
    RUN(test_preview);
    RUN(test_pdq);
    cleanup();
    return TEST_DONE();
}
