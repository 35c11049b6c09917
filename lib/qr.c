/*
 * qr - otpauth:// URIs as SVG QR codes for TOTP enrolment (libqrencode).
 */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>
#include <string.h>

/* Append the path commands for row y of the symbol: each horizontal run of
 * dark modules becomes one rectangle, which keeps the document a fraction of
 * the size one square per module would take. */
static void qr_row(struct buf *out, const QRcode *q, int y)
{
    const unsigned char *row = q->data + (size_t)y * (size_t)q->width;
    for (int x = 0; x < q->width;) {
        if (!(row[x] & 1)) { /* bit 0 of each module byte: 1 is dark */
            x++;
            continue;
        }
        int n = 1;
        while (x + n < q->width && (row[x + n] & 1))
            n++;
        buf_printf(out, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, n, n);
        x += n;
    }
}

/* Validate the text, encode it and write the SVG. The text is checked here
 * rather than left to libqrencode so a caller gets CP_BAD with a reason
 * instead of an errno, and so no request can make us build a 177x177 symbol
 * from arbitrary input. */
int qr_svg(const char *text, struct buf *out, char *err, size_t errlen)
{
    if (!text || !*text)
        return fail(err, errlen, CP_BAD, "qr: empty text");
    if (strnlen(text, QR_MAX_TEXT + 1) > QR_MAX_TEXT)
        return fail(err, errlen, CP_BAD, "qr: text longer than %d bytes", QR_MAX_TEXT);

    errno = 0;
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!q)
        return fail(err, errlen, CP_ERR, "qr: encoding failed: %s", errno ? strerror(errno) : "unknown error");

    int size = q->width + 2 * QR_QUIET;
    buf_printf(out,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
               "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
               size, size, size, size);
    for (int y = 0; y < q->width; y++)
        qr_row(out, q, y);
    buf_adds(out, "\"/></svg>");
    QRcode_free(q);
    return CP_OK;
}
