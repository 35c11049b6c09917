/*
 * pdq - the PDQ perceptual hash: see pdq.h. Every float operation below is written
 * in the reference's order and precision (float sums, float/int divisions, the DCT
 * matrix rounded from double), because the hash bits are the signs of small
 * differences and a reordered sum can flip one.
 */
#include "pdq.h"
#include "image.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PDQ_MIN_DIM 5 /* the reference refuses smaller sides */

/* The reference's luminance weights, as floats. */
static const float luma_r = 0.299f, luma_g = 0.587f, luma_b = 0.114f;

/* The 16x64 DCT-II rows 1..16 (row 0, the DC term, is skipped), computed once in
 * double and rounded to float as the reference's table is. */
static float dct_matrix[16][64];
static int dct_ready;

/* Fill dct_matrix on first use. Benign if two threads race: both write the same values. */
static void dct_init(void)
{
    if (dct_ready)
        return;
    const double pi = 3.14159265358979323846;
    const float scale = (float)sqrt(2.0 / 64.0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++)
            dct_matrix[i][j] =
                (float)(scale * cos((pi / 2.0 / 64.0) * (double)(i + 1) * (double)(2 * j + 1)));
    dct_ready = 1;
}

/* The Jarosz window per pass: half of the source pixels per output pixel, rounded up. */
static int jarosz_window(int old_dim, int new_dim)
{
    return (old_dim + 2 * new_dim - 1) / (2 * new_dim);
}

/* 1-D box filters of width `win` over `count` lines at once, each clipped at its
 * ends (the average of the part of the window inside the line), in the
 * reference's running-sum order. Line k starts at in + k*kstep and its n values
 * are istep apart. Every line gets exactly the operations the reference's
 * one-line filter performs, in the same order; the lines are only interleaved,
 * which keeps the bits and lets independent sums proceed side by side (and, for
 * neighbouring columns, in vector registers). Inlined so that constant count and
 * kstep specialise it; count is at most BOX_LANES. */
#define BOX_LANES 16
static inline __attribute__((always_inline)) void
box_lines(const float *restrict in, float *restrict out, int n, size_t istep, int count,
          size_t kstep, int win)
{
    int half = (win + 2) / 2;
    int p1 = half - 1, p2 = win - half + 1, p3 = n - win, p4 = half - 1;
    size_t li = 0, ri = 0, oi = 0;
    int cur = 0;
    float sum[BOX_LANES];

    for (int k = 0; k < count; k++)
        sum[k] = 0.0f;
    for (int i = 0; i < p1; i++) {
        for (int k = 0; k < count; k++)
            sum[k] += in[ri + k * kstep];
        cur++;
        ri += istep;
    }
    for (int i = 0; i < p2; i++) {
        cur++;
        for (int k = 0; k < count; k++) {
            sum[k] += in[ri + k * kstep];
            out[oi + k * kstep] = sum[k] / cur;
        }
        ri += istep;
        oi += istep;
    }
    for (int i = 0; i < p3; i++) {
        for (int k = 0; k < count; k++) {
            sum[k] += in[ri + k * kstep];
            sum[k] -= in[li + k * kstep];
            out[oi + k * kstep] = sum[k] / cur;
        }
        li += istep;
        ri += istep;
        oi += istep;
    }
    for (int i = 0; i < p4; i++) {
        cur--;
        for (int k = 0; k < count; k++) {
            sum[k] -= in[li + k * kstep];
            out[oi + k * kstep] = sum[k] / cur;
        }
        li += istep;
        oi += istep;
    }
}

/* Two passes of box filters along rows (b1 -> b2) then columns (b2 -> b1): a
 * tent-like blur that leaves the result in b1. Rows go eight at a time and
 * columns BOX_LANES at a time (each a run of adjacent floats), the remainders
 * one by one. */
static void jarosz_filter(float *b1, float *b2, int rows, int cols, int win_rows,
                          int win_cols)
{
    /* A window longer than its line would read past it (the windows come from
     * the other side, so a narrow, tall picture has them): clip it to the line,
     * which is what the filter then averages anyway. Pictures of any ordinary
     * shape never get here, so their hashes are untouched. */
    if (win_rows > cols)
        win_rows = cols;
    if (win_cols > rows)
        win_cols = rows;
    size_t c = (size_t)cols;
    for (int pass = 0; pass < 2; pass++) {
        int i = 0, j = 0;
        for (; i + 8 <= rows; i += 8)
            box_lines(b1 + i * c, b2 + i * c, cols, 1, 8, c, win_rows);
        for (; i < rows; i++)
            box_lines(b1 + i * c, b2 + i * c, cols, 1, 1, c, win_rows);
        for (; j + BOX_LANES <= cols; j += BOX_LANES)
            box_lines(b2 + j, b1 + j, rows, c, BOX_LANES, 1, win_cols);
        for (; j < cols; j++)
            box_lines(b2 + j, b1 + j, rows, c, 1, 1, win_cols);
    }
}

/* Sample the blurred image at the centres of a 64x64 grid. */
static void decimate(const float *in, int rows, int cols, float out[64][64])
{
    for (int i = 0; i < 64; i++) {
        int si = (int)(((i + 0.5) * rows) / 64);
        for (int j = 0; j < 64; j++) {
            int sj = (int)(((j + 0.5) * cols) / 64);
            out[i][j] = in[(size_t)si * cols + sj];
        }
    }
}

/* The reference's quality: the sum of quantised neighbour differences of the 64x64
 * image, scaled so that ordinary photographs reach 100 and flat images stay near 0. */
static int quality_metric(float a[64][64])
{
    int sum = 0;
    for (int i = 0; i < 63; i++)
        for (int j = 0; j < 64; j++) {
            int d = (int)(((a[i][j] - a[i + 1][j]) * 100) / 255);
            sum += abs(d);
        }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 63; j++) {
            int d = (int)(((a[i][j] - a[i][j + 1]) * 100) / 255);
            sum += abs(d);
        }
    int q = sum / 90;
    return q > 100 ? 100 : q;
}

/* B = D A D^T: the 16x16 low-frequency DCT coefficients of the 64x64 image, the
 * float sums taken in the reference's order. */
static void dct_64_to_16(float a[64][64], float b[16][16])
{
    float tl[16][64];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 64; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++)
                s += dct_matrix[i][k] * a[k][j];
            tl[i][j] = s;
        }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            float s = 0.0f;
            for (int k = 0; k < 64; k++)
                s += tl[i][k] * dct_matrix[j][k];
            b[i][j] = s;
        }
}

/* Compare floats for qsort. */
static int cmp_float(const void *x, const void *y)
{
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* Bits from coefficients: bit i*16+j is set when coefficient [i][j] exceeds the
 * median. The median is the (n+1)/2-th smallest value, which is what the
 * reference's Torben selection returns for n = 256. Bit k lives in 16-bit word
 * k/16, and the reference prints word 15 first, big-endian: so word w is bytes
 * 30-2w (high) and 31-2w (low). */
static void to_bits(float b[16][16], uint8_t hash[32])
{
    float sorted[256];
    memcpy(sorted, b, sizeof sorted);
    qsort(sorted, 256, sizeof sorted[0], cmp_float);
    float median = sorted[127];

    memset(hash, 0, 32);
    for (int k = 0; k < 256; k++) {
        if (!(b[k / 16][k % 16] > median))
            continue;
        int w = k >> 4, bit = k & 15;
        int byte = 2 * (15 - w) + (bit >= 8 ? 0 : 1);
        hash[byte] |= (uint8_t)(1u << (bit & 7));
    }
}

/* True when the reference would hash a w x h image and it is within our caps. */
static int size_ok(int w, int h)
{
    return w >= PDQ_MIN_DIM && h >= PDQ_MIN_DIM && w <= PDQ_MAX_DIM && h <= PDQ_MAX_DIM &&
           (long)w * h <= PDQ_MAX_PIXELS;
}

/* Quality, DCT and bits of the 64x64 downsample. */
static void hash_64(float a[64][64], uint8_t hash[32], int *quality)
{
    float b[16][16];
    *quality = quality_metric(a);
    dct_64_to_16(a, b);
    to_bits(b, hash);
}

/* Hash the luminance in b1 (w x h, not 64x64; blurred in place) with b2 as the
 * filter's scratch of the same size. */
static void hash_blur(float *b1, float *b2, int w, int h, uint8_t hash[32], int *quality)
{
    float a[64][64];
    /* The window of the horizontal passes comes from the height and that of
     * the vertical passes from the width. That is what Meta's hasher computes:
     * its published hashes of all eight dihedral bridge vectors come out bit for
     * bit this way, and 2..8 bits off with the windows the other way round (as
     * the names in the reference's sources read). */
    jarosz_filter(b1, b2, h, w, jarosz_window(h, 64), jarosz_window(w, 64));
    decimate(b1, h, w, a);
    hash_64(a, hash, quality);
}

/* Hash a luminance image: blur and decimate to 64x64 (or take it as is when it
 * already is 64x64, as the reference does), quality, DCT, bits. */
int pdq_hash_luma(const float *luma, int w, int h, uint8_t hash[32], int *quality)
{
    memset(hash, 0, 32);
    *quality = 0;
    if (!size_ok(w, h))
        return CP_BAD;
    dct_init();

    if (w == 64 && h == 64) {
        float a[64][64];
        memcpy(a, luma, sizeof a);
        hash_64(a, hash, quality);
        return CP_OK;
    }
    size_t n = (size_t)w * (size_t)h;
    float *b1 = malloc(n * sizeof *b1), *b2 = malloc(n * sizeof *b2);
    if (!b1 || !b2) {
        free(b1);
        free(b2);
        return CP_ERR;
    }
    memcpy(b1, luma, n * sizeof *b1);
    hash_blur(b1, b2, w, h, hash, quality);
    free(b1);
    free(b2);
    return CP_OK;
}

/* The luminance of a decoded image straight into the filter's first buffer (no
 * intermediate copy), then the same steps as pdq_hash_luma. Grey is taken as is,
 * as the reference reads greyscale JPEGs as one channel; RGB is weighted in the
 * reference's order and in float. */
int pdq_hash_image(const struct image *img, uint8_t hash[32], int *quality)
{
    memset(hash, 0, 32);
    *quality = 0;
    if (!img || !img->px || (img->comps != 1 && img->comps != 3) || !size_ok(img->w, img->h))
        return CP_BAD;
    dct_init();

    int w = img->w, h = img->h;
    size_t n = (size_t)w * (size_t)h;
    float *b1 = malloc(n * sizeof *b1);
    if (!b1)
        return CP_ERR;
    const uint8_t *p = img->px;
    if (img->comps == 1) {
        for (size_t i = 0; i < n; i++)
            b1[i] = (float)p[i];
    } else {
        /* luma_r * r + luma_g * g + luma_b * b from tables of the three float
         * products: the same roundings and the same two sums in the same order,
         * so the same bits, without three int-to-float conversions a pixel. */
        float tr[256], tg[256], tb[256];
        for (int v = 0; v < 256; v++) {
            tr[v] = luma_r * v;
            tg[v] = luma_g * v;
            tb[v] = luma_b * v;
        }
        for (size_t i = 0; i < n; i++, p += 3)
            b1[i] = tr[p[0]] + tg[p[1]] + tb[p[2]];
    }
    if (w == 64 && h == 64) {
        float a[64][64];
        memcpy(a, b1, sizeof a);
        free(b1);
        hash_64(a, hash, quality);
        return CP_OK;
    }
    float *b2 = malloc(n * sizeof *b2);
    if (!b2) {
        free(b1);
        return CP_ERR;
    }
    hash_blur(b1, b2, w, h, hash, quality);
    free(b1);
    free(b2);
    return CP_OK;
}

/* Read at most PDQ_MAX_FILE bytes of path into data; CP_OK or CP_BAD. */
static int read_capped(const char *path, struct buf *data, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, CP_BAD, "cannot open %s", path);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (data->len + got > (size_t)PDQ_MAX_FILE) {
            fclose(f);
            return fail(err, errlen, CP_BAD, "%s is larger than %ld MB", path,
                        PDQ_MAX_FILE >> 20);
        }
        buf_add(data, chunk, got);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return fail(err, errlen, CP_BAD, "cannot read %s", path);
    return CP_OK;
}

/* Read, sniff, decode and hash a file; see pdq.h. */
int pdq_hash_file(const char *path, uint8_t hash[32], int *quality, char *err,
                  size_t errlen)
{
    struct buf data;
    struct image img;
    int rc;

    memset(hash, 0, 32);
    *quality = 0;
    buf_init(&data);
    rc = read_capped(path, &data, err, errlen);
    if (rc != CP_OK) {
        buf_free(&data);
        return rc;
    }
    const uint8_t *p = (const uint8_t *)data.p;
    if (!image_decodable(image_sniff(p, data.len))) {
        buf_free(&data);
        return fail(err, errlen, CP_BAD, "%s is not a JPEG or PNG", path);
    }
    rc = image_decode(p, data.len, PDQ_MAX_PIXELS, &img, err, errlen);
    buf_free(&data);
    if (rc != CP_OK)
        return rc;
    if (img.w < PDQ_MIN_DIM || img.h < PDQ_MIN_DIM) {
        rc = fail(err, errlen, CP_BAD, "%s: image of %dx%d pixels is too small to hash "
                  "(sides must be at least %d)", path, img.w, img.h, PDQ_MIN_DIM);
        image_free(&img);
        return rc;
    }
    rc = pdq_hash_image(&img, hash, quality);
    image_free(&img);
    if (rc == CP_ERR)
        return fail(err, errlen, CP_ERR, "out of memory hashing %s", path);
    if (rc != CP_OK)
        return fail(err, errlen, rc, "%s cannot be hashed", path);
    return CP_OK;
}

/* The reference's hex: the bytes are already in print order. */
void pdq_hex(const uint8_t hash[32], char out[65])
{
    util_hex_encode(hash, 32, out);
}

/* Hamming distance: popcount of the XOR. */
int pdq_distance(const uint8_t a[32], const uint8_t b[32])
{
    int d = 0;
    for (int i = 0; i < 32; i++)
        d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return d;
}
