/*
 * pdq - the PDQ perceptual hash: see pdq.h. Every float operation below is written
 * in the reference's order and precision (float sums, float/int divisions, the DCT
 * matrix rounded from double), because the hash bits are the signs of small
 * differences and a reordered sum can flip one.
 */
#include "pdq.h"
#include "util.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#define PDQ_MIN_DIM 5       /* the reference refuses smaller sides */
#define PDQ_MAX_SCANS 500   /* progressive scans allowed (libjpeg-turbo's tj limit) */
#define PDQ_JPEG_MEM (256L * 1024 * 1024) /* decoder working memory cap */

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

/* One 1-D box filter of width `win` over n values `stride` apart, clipped at the
 * ends (the average of the part of the window inside the vector), in the
 * reference's running-sum order. */
static void box_1d(const float *in, float *out, int n, int stride, int win)
{
    int half = (win + 2) / 2;
    int p1 = half - 1, p2 = win - half + 1, p3 = n - win, p4 = half - 1;
    int li = 0, ri = 0, oi = 0, cur = 0;
    float sum = 0.0f;

    for (int i = 0; i < p1; i++) {
        sum += in[ri];
        cur++;
        ri += stride;
    }
    for (int i = 0; i < p2; i++) {
        sum += in[ri];
        cur++;
        out[oi] = sum / cur;
        ri += stride;
        oi += stride;
    }
    for (int i = 0; i < p3; i++) {
        sum += in[ri];
        sum -= in[li];
        out[oi] = sum / cur;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for (int i = 0; i < p4; i++) {
        sum -= in[li];
        cur--;
        out[oi] = sum / cur;
        li += stride;
        oi += stride;
    }
}

/* Two passes of box filters along rows (b1 -> b2) then columns (b2 -> b1): a
 * tent-like blur that leaves the result in b1. */
static void jarosz_filter(float *b1, float *b2, int rows, int cols, int win_rows,
                          int win_cols)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < rows; i++)
            box_1d(b1 + (size_t)i * cols, b2 + (size_t)i * cols, cols, 1, win_rows);
        for (int j = 0; j < cols; j++)
            box_1d(b2 + j, b1 + j, rows, cols, win_cols);
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

/* Hash a luminance image: blur and decimate to 64x64 (or take it as is when it
 * already is 64x64, as the reference does), quality, DCT, bits. */
int pdq_hash_luma(const float *luma, int w, int h, uint8_t hash[32], int *quality)
{
    float a[64][64], b[16][16];

    memset(hash, 0, 32);
    *quality = 0;
    if (w < PDQ_MIN_DIM || h < PDQ_MIN_DIM)
        return CP_BAD;
    if (w > PDQ_MAX_DIM || h > PDQ_MAX_DIM || (long)w * h > PDQ_MAX_PIXELS)
        return CP_BAD;
    dct_init();

    if (w == 64 && h == 64) {
        memcpy(a, luma, sizeof a);
    } else {
        size_t n = (size_t)w * (size_t)h;
        float *b1 = malloc(n * sizeof *b1), *b2 = malloc(n * sizeof *b2);
        if (!b1 || !b2) {
            free(b1);
            free(b2);
            return CP_ERR;
        }
        memcpy(b1, luma, n * sizeof *b1);
        jarosz_filter(b1, b2, h, w, jarosz_window(w, 64), jarosz_window(h, 64));
        decimate(b1, h, w, a);
        free(b1);
        free(b2);
    }
    *quality = quality_metric(a);
    dct_64_to_16(a, b);
    to_bits(b, hash);
    return CP_OK;
}

/* ---- JPEG decoding ---- */

/* libjpeg error manager that longjmps back with the decoder's message. */
struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
};

/* Fatal decoder error: keep the message and unwind to pdq_hash_file. */
static void jerr_exit(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Decoder messages: warnings (level -1) about corrupt or missing data are fatal,
 * since a half-grey truncated photo would hash as a different picture; stray
 * bytes between markers, common in real files, are tolerated. Trace output is
 * dropped. */
static void jerr_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return;
    if (cinfo->err->msg_code == JWRN_EXTRANEOUS_DATA)
        return;
    jerr_exit(cinfo);
}

/* Progress monitor: refuse progressive files with absurd numbers of scans, which
 * cost decoding time out of all proportion to their size. */
static void jprogress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number > PDQ_MAX_SCANS) {
            struct jerr *e = (struct jerr *)cinfo->err;
            snprintf(e->msg, sizeof e->msg, "more than %d progressive scans",
                     PDQ_MAX_SCANS);
            longjmp(e->jmp, 1);
        }
    }
}

/* Luminance of one decoded pixel: grey as is (the reference reads greyscale
 * JPEGs as one channel), RGB weighted in the reference's order. */
static float px_luma(const JSAMPLE *p, int comps)
{
    if (comps == 1)
        return (float)p[0];
    return luma_r * p[0] + luma_g * p[1] + luma_b * p[2];
}

/* Decode f as JPEG into a full-resolution luminance image of *ow x *oh, returned
 * in *out (malloc'd). Returns CP_OK or fails into err. */
static int decode_jpeg(FILE *f, float **out, int *ow, int *oh, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr je;
    struct jpeg_progress_mgr prog;
    float *volatile luma = NULL;
    JSAMPLE *volatile row = NULL;
    volatile int rc = CP_BAD;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_message;
    je.msg[0] = 0;
    if (setjmp(je.jmp)) {
        jpeg_destroy_decompress(&cinfo);
        free(luma);
        free(row);
        if (rc == CP_ERR)
            return fail(err, errlen, CP_ERR, "out of memory decoding JPEG");
        return fail(err, errlen, CP_BAD, "bad JPEG: %s", je.msg[0] ? je.msg : "decoder error");
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = PDQ_JPEG_MEM;
    prog.progress_monitor = jprogress;
    cinfo.progress = &prog;
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);

    long w = cinfo.image_width, h = cinfo.image_height;
    if (w < PDQ_MIN_DIM || h < PDQ_MIN_DIM || w > PDQ_MAX_DIM || h > PDQ_MAX_DIM ||
        w * h > PDQ_MAX_PIXELS) {
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, CP_BAD, "JPEG of %ldx%ld pixels: sides must be %d..%d, at most %ld pixels",
                    w, h, PDQ_MIN_DIM, PDQ_MAX_DIM, PDQ_MAX_PIXELS);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, CP_BAD, "CMYK JPEGs are not supported");
    }
    cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);

    int cw = (int)cinfo.output_width, ch = (int)cinfo.output_height;
    int comps = cinfo.output_components;
    row = malloc((size_t)cw * comps);
    luma = malloc((size_t)cw * ch * sizeof(float));
    if (!row || !luma) {
        rc = CP_ERR;
        longjmp(je.jmp, 1);
    }

    while (cinfo.output_scanline < cinfo.output_height) {
        float *dst = luma + (size_t)cinfo.output_scanline * cw;
        JSAMPROW rp = row;
        jpeg_read_scanlines(&cinfo, &rp, 1);
        for (int x = 0; x < cw; x++)
            dst[x] = px_luma(row + (size_t)x * comps, comps);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *out = luma;
    *ow = cw;
    *oh = ch;
    return CP_OK;
}

/* Decode a JPEG file and hash it; see pdq.h. */
int pdq_hash_file(const char *path, uint8_t hash[32], int *quality, char *err,
                  size_t errlen)
{
    unsigned char magic[3];
    float *luma = NULL;
    int w = 0, h = 0, rc;

    memset(hash, 0, 32);
    *quality = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, CP_BAD, "cannot open %s", path);
    if (fread(magic, 1, 3, f) != 3 || magic[0] != 0xff || magic[1] != 0xd8 ||
        magic[2] != 0xff) {
        fclose(f);
        return fail(err, errlen, CP_BAD, "%s is not a JPEG", path);
    }
    rewind(f);
    rc = decode_jpeg(f, &luma, &w, &h, err, errlen);
    fclose(f);
    if (rc != CP_OK)
        return rc;
    rc = pdq_hash_luma(luma, w, h, hash, quality);
    free(luma);
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
