/*
 * test_qr - the enrolment QR code: a well-formed SVG of the right size whose
 * drawn squares are exactly libqrencode's dark modules, no input text in the
 * output, and empty or over-long text refused.
 */
#include "qr.h"
#include "test.h"

#include <qrencode.h>
#include <stdlib.h>

static const char *uri = "otpauth://totp/cport:alice%40example.org?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                         "&issuer=cport&algorithm=SHA1&digits=6&period=30";

/* True when s ends with suffix. */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Redraw the SVG path of svg into grid (size x size, one byte a unit square,
 * counting how often each is drawn), checking every command has the form qr.c
 * promises. Returns the sum of the h lengths (unit squares drawn), or -1 when
 * the path does not parse or draws outside the viewBox. */
static long redraw(const char *svg, int size, unsigned char *grid)
{
    const char *d = strstr(svg, " d=\"");
    if (!d)
        return -1;
    d += 4;
    long units = 0;
    while (*d == 'M') {
        int x, y, n, back, used = 0;
        if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &back, &used) != 4 || used == 0)
            return -1;
        if (n < 1 || back != n || x < 0 || y < 0 || x + n > size || y >= size)
            return -1;
        for (int i = 0; i < n; i++)
            grid[(size_t)y * (size_t)size + (size_t)(x + i)]++;
        units += n;
        d += used;
    }
    return *d == '"' ? units : -1;
}

/* The document's frame: starts with <svg, ends with </svg>, carries the
 * namespace, crisp edges, a white background over the whole viewBox, and the
 * viewBox is the symbol plus a 4-module quiet zone on every side. */
static void test_document(void)
{
    struct buf b;
    buf_init(&b);
    char err[128] = "";
    REQUIRE(qr_svg(uri, &b, err, sizeof err) == CP_OK);
    QRcode *q = QRcode_encodeString8bit(uri, 0, QR_ECLEVEL_M);
    REQUIRE(q != NULL);

    CHECK(strncmp(b.p, "<svg", 4) == 0);
    CHECK(ends_with(b.p, "</svg>"));
    CHECK(strstr(b.p, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(b.p, "shape-rendering=\"crispEdges\"") != NULL);
    int size = q->width + 8;
    char want[96];
    snprintf(want, sizeof want, "viewBox=\"0 0 %d %d\"", size, size);
    CHECK(strstr(b.p, want) != NULL);
    snprintf(want, sizeof want, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>", size, size);
    CHECK(strstr(b.p, want) != NULL);
    CHECK_INT(q->width, 21 + 4 * (q->version - 1));
    QRcode_free(q);
    buf_free(&b);
}

/* Bit level: with no decoder at hand, encode the same text with libqrencode
 * here and check that the unit squares drawn (the sum of the h lengths) equal
 * its dark modules in number, and in position too: each dark module is drawn
 * exactly once, nothing else is, and the quiet zone stays white. */
static void test_modules(void)
{
    static const char *texts[] = {"a", "0123456789", "otpauth://totp/x:y?secret=AAAA", NULL};
    for (int t = -1; t < 4; t++) {
        const char *text = t < 0 ? uri : texts[t];
        char big[QR_MAX_TEXT + 1];
        if (!text) { /* the largest text accepted: the largest symbol we draw */
            memset(big, 'z', QR_MAX_TEXT);
            big[QR_MAX_TEXT] = 0;
            text = big;
        }
        struct buf b;
        buf_init(&b);
        char err[128] = "";
        REQUIRE(qr_svg(text, &b, err, sizeof err) == CP_OK);
        QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
        REQUIRE(q != NULL);

        int w = q->width, size = w + 8;
        unsigned char *grid = calloc((size_t)size * (size_t)size, 1);
        REQUIRE(grid != NULL);
        long units = redraw(b.p, size, grid);
        long dark = 0, mismatched = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int inside = x >= 4 && y >= 4 && x < w + 4 && y < w + 4;
                int on = inside && (q->data[(size_t)(y - 4) * (size_t)w + (size_t)(x - 4)] & 1);
                dark += on;
                mismatched += grid[(size_t)y * (size_t)size + (size_t)x] != on;
            }
        CHECK(dark > 0);
        CHECK_INT(units, dark);
        CHECK_INT(mismatched, 0);
        free(grid);
        QRcode_free(q);
        buf_free(&b);
    }
}

/* Nothing of the text reaches the SVG: markup in the text leaves no trace. */
static void test_no_text(void)
{
    struct buf b;
    buf_init(&b);
    char err[128] = "";
    REQUIRE(qr_svg("<script>alert(1)</script>\"'&", &b, err, sizeof err) == CP_OK);
    CHECK(strstr(b.p, "script") == NULL);
    CHECK(strchr(b.p, '&') == NULL);
    CHECK(strchr(b.p, '\'') == NULL);
    CHECK_INT(strchr(b.p + 1, '<') - b.p, strstr(b.p, "<rect") - b.p);
    buf_free(&b);
}

/* Empty and over-long text are refused with CP_BAD and leave out untouched;
 * exactly QR_MAX_TEXT bytes is still accepted (test_modules draws it). */
static void test_refused(void)
{
    struct buf b;
    buf_init(&b);
    char err[128] = "";
    CHECK_INT(qr_svg("", &b, err, sizeof err), CP_BAD);
    CHECK(err[0] != 0);
    CHECK_INT(qr_svg(NULL, &b, err, sizeof err), CP_BAD);
    char big[QR_MAX_TEXT + 2];
    memset(big, 'a', QR_MAX_TEXT + 1);
    big[QR_MAX_TEXT + 1] = 0;
    err[0] = 0;
    CHECK_INT(qr_svg(big, &b, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "1024") != NULL);
    CHECK_INT(b.len, 0);
    big[QR_MAX_TEXT] = 0;
    CHECK_INT(qr_svg(big, &b, err, sizeof err), CP_OK);
    buf_free(&b);
}

int main(void)
{
    RUN(test_document);
    RUN(test_modules);
    RUN(test_no_text);
    RUN(test_refused);
    return TEST_DONE();
}
