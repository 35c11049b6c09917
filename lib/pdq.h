/*
 * pdq - Meta's PDQ perceptual image hash (256 bits plus a 0..100 quality), computed
 * the way the reference (ThreatExchange pdq/cpp: pdqhashing.cpp, downscaling.cpp,
 * pdqio.cpp) computes it, so hashes agree bit for bit with the reference's hex and
 * stay comparable with hashes other members send: float luminance, two passes of a
 * Jarosz box filter, decimation to 64x64, the 16x16 low-frequency corner of the DCT
 * (DC row and column skipped) and a threshold at the median.
 *
 * Pictures are decoded by lib/image (JPEG and PNG, with caps on dimensions, pixel
 * count, decoder memory and progressive scans), so hostile input is refused with
 * CP_BAD rather than crashing or eating the machine; this module only hashes.
 */
#ifndef CPORT_PDQ_H
#define CPORT_PDQ_H

#include <stddef.h>
#include <stdint.h>

/* Refused above these: decoding cost grows with the pixel count. */
#define PDQ_MAX_DIM 30000
#define PDQ_MAX_PIXELS 50000000L /* hashing holds 2 floats a pixel: 400 MB here */
#define PDQ_MAX_FILE (64L * 1024 * 1024) /* pdq_hash_file reads no more */

struct image; /* image.h */

/* PDQ of a luminance image (row-major float, w x h, 0..255): the 32-byte hash
 * (bytes in the order of the reference's hex) and quality 0..100. The image is
 * hashed at full resolution. CP_OK; CP_BAD when a side is below 5 pixels
 * (the reference's minimum) or the image is too large; CP_ERR when out of memory. */
int pdq_hash_luma(const float *luma, int w, int h, uint8_t hash[32], int *quality);

/* PDQ of a decoded picture (image.h): the luminance as the reference computes it
 * (grey taken as is, RGB as 0.299f*r + 0.587f*g + 0.114f*b in float), hashed at
 * full resolution by pdq_hash_luma. Same results as pdq_hash_luma: CP_OK, CP_BAD
 * for a side below 5 pixels, an image over the caps or a malformed struct,
 * CP_ERR when out of memory. */
int pdq_hash_image(const struct image *img, uint8_t hash[32], int *quality);

/* Read a file (at most PDQ_MAX_FILE bytes), tell its type from its bytes, decode it
 * (JPEG or PNG, at most PDQ_MAX_PIXELS) and hash it at full resolution, as the
 * reference vectors were made: the published hashes of the eight dihedral bridge
 * vectors come out bit for bit.
 * CP_OK; CP_BAD (err says why) when the file is missing, too large, neither JPEG
 * nor PNG, corrupt, truncated, CMYK, too small to hash or over the caps; CP_ERR
 * when out of memory. */
int pdq_hash_file(const char *path, uint8_t hash[32], int *quality, char *err,
                  size_t errlen);

/* The reference's hex form: 64 lower-case hex digits and a NUL. */
void pdq_hex(const uint8_t hash[32], char out[65]);

/* Hamming distance of two hashes, 0..256. */
int pdq_distance(const uint8_t a[32], const uint8_t b[32]);

#endif
