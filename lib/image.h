/*
 * image - what a file is, and its pixels: type sniffing from the first bytes,
 * bounded decoding of JPEG (libjpeg-turbo) and PNG (libspng) into 8-bit grey or
 * RGB, the blurred grey preview a reviewer may look at instead of the picture,
 * encoders, and generated benign images for tests and demo data.
 *
 * Everything here reads bytes somebody else sent: the type comes from the bytes
 * and never from a name or a header, the declared dimensions are checked before
 * any pixel is allocated (so a few bytes claiming 100000x100000 cost nothing),
 * and corrupt or truncated data is refused with CP_BAD rather than decoded into
 * a half-grey picture that would hash as a different one.
 */
#ifndef CPORT_IMAGE_H
#define CPORT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h" /* struct buf, CP_* */

#define IMAGE_MAX_SIDE 30000

/* A decoded picture. */
struct image {
    int w, h;    /* pixels */
    int comps;   /* 1 (grey) or 3 (RGB) */
    uint8_t *px; /* w*h*comps bytes, row-major; malloc'd */
};

/* The type of some bytes from their first bytes only (never from a name or a
 * header someone sent): "image/jpeg", "image/png", "image/gif", "image/webp",
 * "image/bmp", "image/tiff", "video/mp4" (ISO BMFF ftyp with mp4/isom/avc
 * brands), "video/quicktime" (ftyp qt), "video/webm" (EBML 1A45DFA3),
 * "video/x-msvideo" (RIFF....AVI ), "application/pdf", "text/html" (after an
 * optional BOM and whitespace: <!doctype html, <html, <head, <body, <script,
 * <?xml and the other tags browsers sniff as HTML, any case), "text/plain" (all
 * printable UTF-8 in the first 512 bytes), else "application/octet-stream"
 * (also for no bytes at all). Never NULL; static strings. */
const char *image_sniff(const uint8_t *p, size_t n);

/* 1 when image_decode can decode that sniffed type (image/jpeg, image/png). */
int image_decodable(const char *type);

/* Decode a JPEG or PNG from memory into 8-bit grey or RGB: alpha dropped (not
 * composited), 16-bit reduced to 8, palette and grey+alpha expanded, no gamma
 * applied; CMYK JPEGs refused. The dimensions are checked from the header before
 * any pixel allocation: each side 1..IMAGE_MAX_SIDE and w*h <= max_pixels, else
 * CP_BAD "image of WxH pixels: over the limit of N pixels". The pixels take at
 * most max_pixels*3 bytes; libjpeg's own working memory (a progressive file's
 * coefficients, up to 6 bytes a pixel) is capped at 256 MB, refused beyond.
 * Truncated or corrupt data (libjpeg's warnings included; stray bytes between
 * JPEG markers tolerated; PNG CRC and Adler-32 checked), other types, and empty
 * input are CP_BAD with the reason in err; CP_ERR only when out of memory.
 * On success img owns its pixels (image_free); on failure img is empty. */
int image_decode(const uint8_t *p, size_t n, long max_pixels, struct image *img, char *err, size_t errlen);

/* Release the pixels and leave img empty; safe on an empty image. */
void image_free(struct image *img);

/* A safe preview: scaled down to fit max_side x max_side (area averaging, never
 * scaled up), turned to grey (PDQ's luma weights), blurred so faces and text are
 * not recognisable (three box-blur passes approximating a Gaussian of sigma
 * max_side/24, at least 3 px), and appended to out as a baseline grey JPEG of
 * quality 75. CP_OK, or CP_ERR (err says why) for a bad image or max_side. */
int image_preview(const struct image *img, int max_side, struct buf *out, char *err, size_t errlen);

/* Encoders, for generated test and demo images: append a baseline JPEG of quality
 * 1..100 (libjpeg), or a PNG (libspng; 8-bit grey or RGB), to out. CP_OK, or
 * CP_ERR for a bad image or quality; out is left as it was on failure. */
int image_encode_jpeg(const struct image *img, int quality, struct buf *out);
int image_encode_png(const struct image *img, struct buf *out);

/* Generated benign pictures, all RGB and fully determined by the seed:
 * IMAGE_SOLID one colour, IMAGE_GRADIENT a two-colour diagonal gradient,
 * IMAGE_NOISE xorshift noise, IMAGE_SHAPES a few coloured rectangles and circles
 * on a gradient (enough structure for a PDQ quality well above 50). */
enum image_kind { IMAGE_SOLID, IMAGE_GRADIENT, IMAGE_NOISE, IMAGE_SHAPES };

/* Fill img (w x h, each side 1..IMAGE_MAX_SIDE) with a generated picture of that
 * kind. CP_OK, or CP_ERR for bad arguments or out of memory. */
int image_generate(enum image_kind kind, int w, int h, uint32_t seed, struct image *img);

#endif
