/*
 * qr - the QR code an authenticator app scans at TOTP enrolment, drawn as a
 * standalone SVG document from the otpauth:// URI (see totp_uri) with
 * libqrencode.
 *
 * Safe by construction: the encoded text never reaches the SVG. The document
 * is fixed markup plus integer coordinates of the dark modules, so it can be
 * served as image/svg+xml or inlined in a page without any escaping.
 */
#ifndef CPORT_QR_H
#define CPORT_QR_H

#include "util.h"

#include <stddef.h>

#define QR_MAX_TEXT 1024 /* bytes: an otpauth URI is ~150; more is a caller's mistake */
#define QR_QUIET 4       /* modules of white border the QR standard asks for */

/* Encode text (1..QR_MAX_TEXT bytes) as a QR code, error correction level M,
 * whole text in 8-bit mode, smallest version that fits, and append to out an
 * SVG document:
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 S S" shape-rendering="crispEdges">
 *   <rect width="S" height="S" fill="#fff"/><path fill="#000" d="..."/></svg>
 * where S = modules + 2 * QR_QUIET and d holds one "Mx yhNv1h-Nz" (say
 * "M4 4h7v1h-7z") per horizontal run of N dark modules, one unit per module,
 * quiet zone included in the coordinates. Returns CP_OK, CP_BAD (text empty or too long; out
 * untouched) or CP_ERR (libqrencode failed; out untouched), message in err. */
int qr_svg(const char *text, struct buf *out, char *err, size_t errlen);

#endif
