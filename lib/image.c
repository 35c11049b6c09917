/*
 * image - sniffing, bounded JPEG/PNG decoding, blurred previews, encoders and
 * generated pictures: see image.h.
 *
 * JPEG goes through libjpeg(-turbo) under a setjmp error handler with caps on
 * working memory and progressive scans; PNG through libspng with image and chunk
 * limits, its CRC and Adler-32 checks on. Both decoders write straight into the
 * result's pixels, several rows a call, with no copy and no per-pixel callback:
 * decoding, hashing and a preview are meant to cost a few milliseconds together.
 */
#include "image.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h> /* before jpeglib.h, which uses FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <spng.h>

#define IMAGE_MAX_SCANS 500                 /* progressive scans (libjpeg-turbo's tj limit) */
#define IMAGE_JPEG_MEM (256L * 1024 * 1024) /* libjpeg working memory cap */
#define IMAGE_PNG_CHUNK (1024 * 1024)       /* largest PNG chunk kept (text, ICC ...) */
#define IMAGE_PNG_CACHE (16 * 1024 * 1024)  /* all such chunks together */
#define IMAGE_SNIFF_TEXT 512                /* bytes looked at to call something text */
#define IMAGE_JPEG_ROWS 16                  /* scanlines a libjpeg call */

/* ---- sniffing ---- */

/* True when the len bytes of magic are at offset off of p (n bytes). */
static int at(const uint8_t *p, size_t n, size_t off, const char *magic, size_t len)
{
    return n >= off + len && memcmp(p + off, magic, len) == 0;
}

/* ASCII case-insensitive prefix match of pattern (upper case) at p. */
static int at_nocase(const uint8_t *p, size_t n, const char *pattern)
{
    size_t len = strlen(pattern);
    if (n < len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int c = p[i];
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (c != (unsigned char)pattern[i])
            return 0;
    }
    return 1;
}

/* The ISO base media file types: QuickTime by its "qt  " brand, MP4 by the
 * mp4/iso/avc families and their kin; other brands (HEIF, AVIF, 3GP) are left
 * unnamed. */
static const char *sniff_ftyp(const uint8_t *brand)
{
    static const char *const mp4[] = {"mp4", "iso", "avc", "M4V", "f4v", "das", "mmp", NULL};
    if (memcmp(brand, "qt  ", 4) == 0)
        return "video/quicktime";
    for (int i = 0; mp4[i]; i++)
        if (memcmp(brand, mp4[i], 3) == 0)
            return "video/mp4";
    return NULL;
}

/* Markup a browser would run: after a UTF-8 BOM and whitespace, one of the tags
 * the WHATWG sniffing rules treat as HTML (ended by a space or '>'), an XML
 * declaration, or an SVG root. */
static int sniff_html(const uint8_t *p, size_t n)
{
    static const char *const tags[] = {
        "<!DOCTYPE HTML", "<HTML",  "<HEAD", "<SCRIPT", "<IFRAME", "<H1", "<DIV", "<FONT", "<TABLE", "<A",
        "<STYLE",         "<TITLE", "<B",    "<BODY",   "<BR",     "<P",  "<!--", "<SVG",  NULL};
    size_t i = 0;
    if (at(p, n, 0, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r' || p[i] == '\f'))
        i++;
    p += i;
    n -= i;
    if (at_nocase(p, n, "<?XML"))
        return 1;
    for (int t = 0; tags[t]; t++) {
        size_t len = strlen(tags[t]);
        if (n > len && at_nocase(p, n, tags[t]) &&
            (p[len] == ' ' || p[len] == '>' || p[len] == '\t' || p[len] == '\n' || p[len] == '\r' || p[len] == '\f' ||
             p[len] == '/'))
            return 1;
    }
    return 0;
}

/* True when the first IMAGE_SNIFF_TEXT bytes are printable UTF-8: no controls but
 * tab, newline, form feed and carriage return, no C1 controls, no overlong forms
 * or surrogates. A character cut by the end of the window (not of the data) is
 * allowed. */
static int sniff_text(const uint8_t *p, size_t n)
{
    size_t lim = n < IMAGE_SNIFF_TEXT ? n : IMAGE_SNIFF_TEXT;
    size_t i = 0;
    while (i < lim) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (i + len > lim)
            return lim < n; /* cut by the window: fine; cut by the data's end: not text */
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
            return 0;
        i += len;
    }
    return 1;
}

/* The type from the magic numbers first, then markup, then text; see image.h. */
const char *image_sniff(const uint8_t *p, size_t n)
{
    if (!p || n == 0)
        return "application/octet-stream";
    if (at(p, n, 0, "\xff\xd8\xff", 3))
        return "image/jpeg";
    if (at(p, n, 0, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (at(p, n, 0, "GIF87a", 6) || at(p, n, 0, "GIF89a", 6))
        return "image/gif";
    if (at(p, n, 0, "RIFF", 4) && at(p, n, 8, "WEBP", 4))
        return "image/webp";
    if (at(p, n, 0, "RIFF", 4) && at(p, n, 8, "AVI ", 4))
        return "video/x-msvideo";
    if (at(p, n, 0, "BM", 2) && n >= 18) {
        /* "BM" alone is too common a start of text: the info header size must be
         * one of the known ones. */
        uint32_t dib = p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 | (uint32_t)p[17] << 24;
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124)
            return "image/bmp";
    }
    if (at(p, n, 0, "II*\0", 4) || at(p, n, 0, "MM\0*", 4) || at(p, n, 0, "II+\0", 4) || at(p, n, 0, "MM\0+", 4))
        return "image/tiff";
    if (at(p, n, 4, "ftyp", 4) && n >= 12) {
        const char *t = sniff_ftyp(p + 8);
        if (t)
            return t;
    }
    if (at(p, n, 0, "\x1a\x45\xdf\xa3", 4))
        return "video/webm";
    if (at(p, n, 0, "%PDF-", 5))
        return "application/pdf";
    if (sniff_html(p, n))
        return "text/html";
    if (sniff_text(p, n))
        return "text/plain";
    return "application/octet-stream";
}

/* The sniffed types image_decode takes. */
int image_decodable(const char *type)
{
    return type && (strcmp(type, "image/jpeg") == 0 || strcmp(type, "image/png") == 0);
}

/* ---- decoding ---- */

/* Release the pixels; see image.h. */
void image_free(struct image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

/* The header's dimensions against the caps, before anything is allocated. */
static int check_size(unsigned long w, unsigned long h, long max_pixels, char *err, size_t errlen)
{
    if (w < 1 || h < 1)
        return fail(err, errlen, CP_BAD, "image of %lux%lu pixels: no pixels", w, h);
    if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
        return fail(err, errlen, CP_BAD, "image of %lux%lu pixels: over the limit of %ld pixels (and %d a side)", w, h,
                    max_pixels, IMAGE_MAX_SIDE);
    if (max_pixels < 1 || (long)(w * h) > max_pixels)
        return fail(err, errlen, CP_BAD, "image of %lux%lu pixels: over the limit of %ld pixels", w, h, max_pixels);
    return CP_OK;
}

/* libjpeg error manager that longjmps back with the library's message. */
struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    int code; /* the failing message's code, or -1 for our own refusals */
    char msg[JMSG_LENGTH_MAX];
};

/* Fatal library error: keep the message and unwind to the setjmp. */
static void jerr_exit(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)cinfo->err;
    e->code = e->pub.msg_code;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Decoder messages: warnings (level -1) about corrupt or missing data are fatal,
 * since a half-grey truncated photo would hash as a different picture; stray
 * bytes between markers, common in real files, are tolerated. Trace output is
 * dropped. */
static void jerr_decode_message(j_common_ptr cinfo, int level)
{
    if (level >= 0 || cinfo->err->msg_code == JWRN_EXTRANEOUS_DATA)
        return;
    jerr_exit(cinfo);
}

/* Encoder messages: nothing an encoder warns about matters here; stay quiet. */
static void jerr_quiet(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

/* Progress monitor: refuse progressive files with absurd numbers of scans, which
 * cost decoding time out of all proportion to their size. */
static void jprogress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > IMAGE_MAX_SCANS) {
        struct jerr *e = (struct jerr *)cinfo->err;
        e->code = -1;
        snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", IMAGE_MAX_SCANS);
        longjmp(e->jmp, 1);
    }
}

/* Decode a JPEG from memory into img, grey JPEGs as grey and the rest as RGB,
 * with libjpeg's default (accurate integer) IDCT and fancy upsampling, which the
 * PDQ reference vectors were checked against. */
static int decode_jpeg(const uint8_t *p, size_t n, long max_pixels, struct image *img, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr je;
    struct jpeg_progress_mgr prog;
    uint8_t *volatile px = NULL;
    volatile int oom = 0;

    memset(&cinfo, 0, sizeof cinfo);
    memset(&prog, 0, sizeof prog);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_decode_message;
    je.code = 0;
    je.msg[0] = 0;
    if (setjmp(je.jmp)) {
        jpeg_destroy_decompress(&cinfo);
        free(px);
        if (oom || je.code == JERR_OUT_OF_MEMORY)
            return fail(err, errlen, CP_ERR, "out of memory decoding JPEG");
        if (je.code == JERR_NO_BACKING_STORE)
            return fail(err, errlen, CP_BAD, "bad JPEG: needs more than %ld MB to decode", IMAGE_JPEG_MEM >> 20);
        return fail(err, errlen, CP_BAD, "bad JPEG: %s", je.msg[0] ? je.msg : "decoder error");
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = IMAGE_JPEG_MEM;
    prog.progress_monitor = jprogress;
    cinfo.progress = &prog;
    jpeg_mem_src(&cinfo, p, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);

    int rc = check_size(cinfo.image_width, cinfo.image_height, max_pixels, err, errlen);
    if (rc != CP_OK) {
        jpeg_destroy_decompress(&cinfo);
        return rc;
    }
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, CP_BAD, "CMYK JPEGs are not supported");
    default:
        jpeg_destroy_decompress(&cinfo);
        return fail(err, errlen, CP_BAD, "JPEG with %d colour components is not supported", cinfo.num_components);
    }
    jpeg_start_decompress(&cinfo);

    int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
    int comps = cinfo.output_components;
    size_t stride = (size_t)w * (size_t)comps;
    px = malloc(stride * (size_t)h);
    if (!px) {
        oom = 1;
        longjmp(je.jmp, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rows[IMAGE_JPEG_ROWS];
        JDIMENSION y = cinfo.output_scanline, k;
        for (k = 0; k < IMAGE_JPEG_ROWS && y + k < cinfo.output_height; k++)
            rows[k] = px + (size_t)(y + k) * stride;
        jpeg_read_scanlines(&cinfo, rows, k);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    img->w = w;
    img->h = h;
    img->comps = comps;
    img->px = px;
    return CP_OK;
}

/* A big-endian 32-bit value. */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decode a PNG from memory into img: plain grey of 8 bits or fewer through
 * libspng's G8, everything else through RGB8 (16 bits reduced, palette expanded,
 * alpha and tRNS dropped, no gamma), grey+alpha and 16-bit grey folded back to
 * one channel afterwards. The IHDR's dimensions are checked from the bytes
 * themselves before libspng sees the file; the chunks after the image are read
 * too, so a file missing its end is refused like a truncated JPEG. */
static int decode_png(const uint8_t *p, size_t n, long max_pixels, struct image *img, char *err, size_t errlen)
{
    if (n < 33 || !at(p, n, 12, "IHDR", 4))
        return fail(err, errlen, CP_BAD, "bad PNG: no image header");
    int rc = check_size(be32(p + 16), be32(p + 20), max_pixels, err, errlen);
    if (rc != CP_OK)
        return rc;

    spng_ctx *ctx = spng_ctx_new(0); /* checksums on: no SPNG_CTX_IGNORE_ADLER32 */
    if (!ctx)
        return fail(err, errlen, CP_ERR, "out of memory decoding PNG");
    struct spng_ihdr ihdr;
    uint8_t *px = NULL;
    size_t len = 0;
    int fmt = SPNG_FMT_RGB8, ret;
    ret = spng_set_image_limits(ctx, IMAGE_MAX_SIDE, IMAGE_MAX_SIDE);
    if (!ret)
        ret = spng_set_chunk_limits(ctx, IMAGE_PNG_CHUNK, IMAGE_PNG_CACHE);
    if (!ret)
        ret = spng_set_png_buffer(ctx, p, n);
    if (!ret)
        ret = spng_get_ihdr(ctx, &ihdr);
    if (ret)
        goto out;
    rc = check_size(ihdr.width, ihdr.height, max_pixels, err, errlen);
    if (rc != CP_OK) {
        spng_ctx_free(ctx);
        return rc;
    }
    int grey = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
    if (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE && ihdr.bit_depth <= 8)
        fmt = SPNG_FMT_G8;
    ret = spng_decoded_image_size(ctx, fmt, &len);
    if (ret)
        goto out;
    size_t pixels = (size_t)ihdr.width * ihdr.height;
    if (len != pixels * (fmt == SPNG_FMT_G8 ? 1 : 3)) {
        spng_ctx_free(ctx);
        return fail(err, errlen, CP_BAD, "bad PNG: unexpected decoded size");
    }
    px = malloc(len);
    if (!px) {
        ret = SPNG_EMEM;
        goto out;
    }
    ret = spng_decode_image(ctx, px, len, fmt, 0);
    if (!ret) /* read on to IEND: a file cut anywhere is refused, as for JPEG */
        ret = spng_decode_chunks(ctx);
    if (ret)
        goto out;
    spng_ctx_free(ctx);
    if (grey && fmt == SPNG_FMT_RGB8) {
        for (size_t i = 0; i < pixels; i++)
            px[i] = px[3 * i];
        uint8_t *q = realloc(px, pixels);
        if (q)
            px = q;
    }
    img->w = (int)ihdr.width;
    img->h = (int)ihdr.height;
    img->comps = grey ? 1 : 3;
    img->px = px;
    return CP_OK;

out:
    spng_ctx_free(ctx);
    free(px);
    if (ret == SPNG_EMEM)
        return fail(err, errlen, CP_ERR, "out of memory decoding PNG");
    return fail(err, errlen, CP_BAD, "bad PNG: %s", spng_strerror(ret));
}

/* Sniff and hand to the decoder for the type; see image.h. */
int image_decode(const uint8_t *p, size_t n, long max_pixels, struct image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    if (!p || n == 0)
        return fail(err, errlen, CP_BAD, "no image data");
    const char *type = image_sniff(p, n);
    if (strcmp(type, "image/jpeg") == 0)
        return decode_jpeg(p, n, max_pixels, img, err, errlen);
    if (strcmp(type, "image/png") == 0)
        return decode_png(p, n, max_pixels, img, err, errlen);
    return fail(err, errlen, CP_BAD, "cannot decode %s: only JPEG and PNG", type);
}

/* ---- encoding ---- */

/* True when img is a well-formed picture. */
static int image_ok(const struct image *img)
{
    return img && img->px && img->w >= 1 && img->h >= 1 && img->w <= IMAGE_MAX_SIDE && img->h <= IMAGE_MAX_SIDE &&
           (img->comps == 1 || img->comps == 3);
}

/* Put out back to its first len bytes after a failed append. */
static void buf_truncate(struct buf *out, size_t len)
{
    out->len = len;
    if (out->p)
        out->p[len] = 0;
}

/* A libjpeg destination that appends to a struct buf a chunk at a time. */
struct jdest {
    struct jpeg_destination_mgr pub;
    struct buf *out;
    JOCTET chunk[16384];
};

/* Start with an empty chunk. */
static void jdest_init(j_compress_ptr cinfo)
{
    struct jdest *d = (struct jdest *)cinfo->dest;
    d->pub.next_output_byte = d->chunk;
    d->pub.free_in_buffer = sizeof d->chunk;
}

/* A full chunk: append all of it (libjpeg's contract) and start again. */
static boolean jdest_empty(j_compress_ptr cinfo)
{
    struct jdest *d = (struct jdest *)cinfo->dest;
    buf_add(d->out, d->chunk, sizeof d->chunk);
    jdest_init(cinfo);
    return TRUE;
}

/* The end: append what the last chunk holds. */
static void jdest_term(j_compress_ptr cinfo)
{
    struct jdest *d = (struct jdest *)cinfo->dest;
    buf_add(d->out, d->chunk, sizeof d->chunk - d->pub.free_in_buffer);
}

/* A baseline JPEG; from quality 90 up colour is not subsampled (4:4:4), so a
 * round trip stays close to the original. */
int image_encode_jpeg(const struct image *img, int quality, struct buf *out)
{
    struct jpeg_compress_struct cinfo;
    struct jerr je;
    struct jdest dest;
    size_t start = out->len;

    if (!image_ok(img) || quality < 1 || quality > 100)
        return CP_ERR;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_quiet;
    if (setjmp(je.jmp)) {
        jpeg_destroy_compress(&cinfo);
        buf_truncate(out, start);
        return CP_ERR;
    }
    jpeg_create_compress(&cinfo);
    dest.out = out;
    dest.pub.init_destination = jdest_init;
    dest.pub.empty_output_buffer = jdest_empty;
    dest.pub.term_destination = jdest_term;
    cinfo.dest = &dest.pub;
    cinfo.image_width = (JDIMENSION)img->w;
    cinfo.image_height = (JDIMENSION)img->h;
    cinfo.input_components = img->comps;
    cinfo.in_color_space = img->comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (img->comps == 3 && quality >= 90)
        cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)img->w * (size_t)img->comps;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rows[IMAGE_JPEG_ROWS];
        JDIMENSION y = cinfo.next_scanline, k;
        for (k = 0; k < IMAGE_JPEG_ROWS && y + k < cinfo.image_height; k++)
            rows[k] = (JSAMPROW)(img->px + (size_t)(y + k) * stride);
        jpeg_write_scanlines(&cinfo, rows, k);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return CP_OK;
}

/* libspng's output stream: append to the struct buf. */
static int png_write(spng_ctx *ctx, void *user, void *data, size_t len)
{
    (void)ctx;
    buf_add(user, data, len);
    return 0;
}

/* An 8-bit grey or RGB PNG with libspng's default filtering and compression. */
int image_encode_png(const struct image *img, struct buf *out)
{
    if (!image_ok(img))
        return CP_ERR;
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return CP_ERR;
    size_t start = out->len;
    struct spng_ihdr ihdr = {
        .width = (uint32_t)img->w,
        .height = (uint32_t)img->h,
        .bit_depth = 8,
        .color_type = img->comps == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR,
    };
    size_t len = (size_t)img->w * (size_t)img->h * (size_t)img->comps;
    int ret = spng_set_png_stream(ctx, png_write, out);
    if (!ret)
        ret = spng_set_ihdr(ctx, &ihdr);
    if (!ret)
        ret = spng_encode_image(ctx, img->px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (ret) {
        buf_truncate(out, start);
        return CP_ERR;
    }
    return CP_OK;
}

/* ---- previews ---- */

/* Output o of m area-averaged outputs over n >= m sources covers sources first
 * to last: first with weight wfirst (all of it when first == last), the ones
 * between with weight mid, last with weight wlast; the weights sum to 1. Worked
 * in integers (source s spans [s*m, (s+1)*m), output o spans [o*n, (o+1)*n)),
 * so no output loses or gains a sliver. */
struct span {
    int first, last;
    float wfirst, mid, wlast;
};

/* The m spans of n sources; NULL when out of memory. */
static struct span *spans_new(int n, int m)
{
    struct span *sp = malloc((size_t)m * sizeof *sp);
    if (!sp)
        return NULL;
    for (int o = 0; o < m; o++) {
        long lo = (long)o * n, hi = lo + n;
        long first = lo / m, last = (hi - 1) / m;
        long first_end = (first + 1) * m < hi ? (first + 1) * m : hi;
        sp[o].first = (int)first;
        sp[o].last = (int)last;
        sp[o].wfirst = (float)(first_end - lo) / (float)n;
        sp[o].mid = (float)m / (float)n;
        sp[o].wlast = (float)(hi - last * m) / (float)n;
    }
    return sp;
}

/* Grey of the source pixels, by the value of each channel: the float products
 * of PDQ's 0.299/0.587/0.114 (so the grey is PDQ's luminance, bit for bit),
 * looked up rather than converted and multiplied per pixel. */
struct greytab {
    float r[256], g[256], b[256];
};

/* Fill the tables. */
static void greytab_init(struct greytab *t)
{
    for (int v = 0; v < 256; v++) {
        t->r[v] = 0.299f * v;
        t->g[v] = 0.587f * v;
        t->b[v] = 0.114f * v;
    }
}

/* Source row y of img as grey floats in lrow, then squeezed to ow values in
 * hrow: a tight conversion loop first, the weighted sums after. */
static void squeeze_row(const struct image *img, const struct greytab *t, int y, const struct span *xs, int ow,
                        float *lrow, float *hrow)
{
    int w = img->w;
    const uint8_t *p = img->px + (size_t)y * (size_t)w * (size_t)img->comps;
    if (img->comps == 1) {
        for (int x = 0; x < w; x++)
            lrow[x] = (float)p[x];
    } else {
        for (int x = 0; x < w; x++, p += 3)
            lrow[x] = t->r[p[0]] + t->g[p[1]] + t->b[p[2]];
    }
    for (int o = 0; o < ow; o++) {
        const struct span *sp = &xs[o];
        float acc = sp->wfirst * lrow[sp->first];
        if (sp->last > sp->first) {
            float between = 0.0f;
            for (int x = sp->first + 1; x < sp->last; x++)
                between += lrow[x];
            acc += sp->mid * between + sp->wlast * lrow[sp->last];
        }
        hrow[o] = acc;
    }
}

/* Area-average img down to ow x oh grey floats in g: each output row is the
 * weighted sum of its source rows, each squeezed once (a row shared by two
 * output rows is kept from the previous one). lrow: w floats of scratch, hrow: ow. */
static void downscale_grey(const struct image *img, int ow, int oh, const struct span *xs, const struct span *ys,
                           float *lrow, float *hrow, float *g)
{
    struct greytab t;
    int have = -1;
    greytab_init(&t);
    for (int oy = 0; oy < oh; oy++) {
        const struct span *sp = &ys[oy];
        float *d = g + (size_t)oy * (size_t)ow;
        for (int x = 0; x < ow; x++)
            d[x] = 0.0f;
        for (int sy = sp->first; sy <= sp->last; sy++) {
            float wt = sy == sp->first ? sp->wfirst : sy == sp->last ? sp->wlast : sp->mid;
            if (sy != have) {
                squeeze_row(img, &t, sy, xs, ow, lrow, hrow);
                have = sy;
            }
            for (int x = 0; x < ow; x++)
                d[x] += wt * hrow[x];
        }
    }
}

/* One box filter of radius r down every column of the w x h floats in (edges
 * repeated) into out: a running sum per column, advanced a whole row at a time
 * so the columns' sums are independent. sum: w floats. */
static void box_down(const float *in, float *out, int w, int h, int r, float *sum)
{
    float inv = 1.0f / (float)(2 * r + 1);
    for (int x = 0; x < w; x++)
        sum[x] = 0.0f;
    for (int i = -r; i <= r; i++) {
        const float *row = in + (size_t)(i < 0 ? 0 : i >= h ? h - 1 : i) * w;
        for (int x = 0; x < w; x++)
            sum[x] += row[x];
    }
    for (int y = 0; y < h; y++) {
        int add = y + r + 1, sub = y - r;
        const float *ra = in + (size_t)(add >= h ? h - 1 : add) * w;
        const float *rs = in + (size_t)(sub < 0 ? 0 : sub) * w;
        float *o = out + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            o[x] = sum[x] * inv;
            sum[x] += ra[x] - rs[x];
        }
    }
}

/* Transpose the w x h floats in into out (h x w). */
static void transpose(const float *in, float *out, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            out[(size_t)x * h + y] = in[(size_t)y * w + x];
}

/* Blur the w x h grey image in a with three box passes down the columns, then,
 * transposed, three down the rows: an approximate Gaussian. The result is left
 * transposed (h x w) in a; b is scratch of the same size, sum of max(w, h). */
static void blur_transposed(float *a, float *b, int w, int h, int r, float *sum)
{
    box_down(a, b, w, h, r, sum);
    box_down(b, a, w, h, r, sum);
    box_down(a, b, w, h, r, sum);
    transpose(b, a, w, h);
    box_down(a, b, h, w, r, sum);
    box_down(b, a, h, w, r, sum);
    box_down(a, b, h, w, r, sum);
    memcpy(a, b, (size_t)w * (size_t)h * sizeof *a);
}

/* Downscale first (so the blur works on the small image), then grey, blur,
 * quantise and encode; see image.h. The box radius comes from sigma: three
 * passes of width 2r+1 have variance 3((2r+1)^2-1)/12 = sigma^2. */
int image_preview(const struct image *img, int max_side, struct buf *out, char *err, size_t errlen)
{
    if (!image_ok(img))
        return fail(err, errlen, CP_ERR, "preview of an empty or malformed image");
    if (max_side < 1 || max_side > IMAGE_MAX_SIDE)
        return fail(err, errlen, CP_ERR, "preview side %d out of range", max_side);

    int w = img->w, h = img->h, ow = w, oh = h, side = w > h ? w : h;
    if (side > max_side) {
        ow = (int)(((long)w * max_side + side / 2) / side);
        oh = (int)(((long)h * max_side + side / 2) / side);
        ow = ow < 1 ? 1 : ow;
        oh = oh < 1 ? 1 : oh;
    }
    double sigma = max_side / 24.0 < 3.0 ? 3.0 : max_side / 24.0;
    int r = (int)lround((sqrt(4.0 * sigma * sigma + 1.0) - 1.0) / 2.0);
    r = r < 1 ? 1 : r;

    size_t n = (size_t)ow * (size_t)oh;
    int line = ow > oh ? ow : oh;
    struct span *xs = spans_new(w, ow), *ys = spans_new(h, oh);
    float *g = calloc(n, sizeof *g), *tmp = malloc(n * sizeof *tmp);
    float *lrow = malloc((size_t)w * sizeof *lrow), *sum = malloc((size_t)line * sizeof *sum);
    struct image small = {oh, ow, 1, malloc(n)}; /* transposed until the end */
    int rc = CP_ERR;
    if (!xs || !ys || !g || !tmp || !lrow || !sum || !small.px) {
        fail(err, errlen, CP_ERR, "out of memory making a preview");
        goto done;
    }
    downscale_grey(img, ow, oh, xs, ys, lrow, sum, g);
    blur_transposed(g, tmp, ow, oh, r, sum);
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            float v = g[(size_t)x * oh + y] + 0.5f;
            small.px[(size_t)y * ow + x] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
        }
    small.w = ow;
    small.h = oh;
    rc = image_encode_jpeg(&small, 75, out);
    if (rc != CP_OK)
        fail(err, errlen, CP_ERR, "cannot encode the preview");
done:
    free(xs);
    free(ys);
    free(g);
    free(tmp);
    free(lrow);
    free(sum);
    free(small.px);
    return rc;
}

/* ---- generated pictures ---- */

/* A 32-bit mixer (lowbias32), so neighbouring seeds give unrelated pictures. */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* Marsaglia's xorshift32; the state is never zero. */
static uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A random colour. */
static void rand_colour(uint32_t *s, uint8_t c[3])
{
    uint32_t v = xorshift32(s);
    c[0] = (uint8_t)v;
    c[1] = (uint8_t)(v >> 8);
    c[2] = (uint8_t)(v >> 16);
}

/* The diagonal blend of c0 (top left) into c1 (bottom right). */
static void fill_gradient(struct image *img, const uint8_t c0[3], const uint8_t c1[3])
{
    long dx = img->w > 1 ? img->w - 1 : 1, dy = img->h > 1 ? img->h - 1 : 1;
    long den = 2 * dx * dy;
    uint8_t *d = img->px;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++, d += 3) {
            long t = x * dy + y * dx; /* 0..den */
            for (int k = 0; k < 3; k++)
                d[k] = (uint8_t)((c0[k] * (den - t) + c1[k] * t + den / 2) / den);
        }
}

/* A filled rectangle or circle, clipped to the picture. */
static void draw_shape(struct image *img, int circle, int cx, int cy, int rx, int ry, const uint8_t c[3])
{
    int y0 = cy - ry < 0 ? 0 : cy - ry, y1 = cy + ry >= img->h ? img->h - 1 : cy + ry;
    int x0 = cx - rx < 0 ? 0 : cx - rx, x1 = cx + rx >= img->w ? img->w - 1 : cx + rx;
    long r2 = (long)rx * rx;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            if (circle && (long)(x - cx) * (x - cx) + (long)(y - cy) * (y - cy) > r2)
                continue;
            memcpy(img->px + ((size_t)y * img->w + x) * 3, c, 3);
        }
}

/* See image.h. */
int image_generate(enum image_kind kind, int w, int h, uint32_t seed, struct image *img)
{
    memset(img, 0, sizeof *img);
    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || kind < IMAGE_SOLID || kind > IMAGE_SHAPES)
        return CP_ERR;
    size_t n = (size_t)w * (size_t)h;
    img->px = malloc(n * 3);
    if (!img->px)
        return CP_ERR;
    img->w = w;
    img->h = h;
    img->comps = 3;

    uint32_t s = mix32(seed ^ (0x9e3779b9u * (uint32_t)(kind + 1)));
    if (!s)
        s = 0x2545f491u;
    uint8_t c0[3], c1[3];
    switch (kind) {
    case IMAGE_SOLID:
        rand_colour(&s, c0);
        for (size_t i = 0; i < n; i++)
            memcpy(img->px + 3 * i, c0, 3);
        break;
    case IMAGE_GRADIENT:
        rand_colour(&s, c0);
        rand_colour(&s, c1);
        fill_gradient(img, c0, c1);
        break;
    case IMAGE_NOISE:
        for (size_t i = 0; i < n; i++)
            rand_colour(&s, img->px + 3 * i);
        break;
    case IMAGE_SHAPES: {
        rand_colour(&s, c0);
        rand_colour(&s, c1);
        fill_gradient(img, c0, c1);
        int small = w < h ? w : h, count = 8 + (int)(xorshift32(&s) % 5);
        for (int i = 0; i < count; i++) {
            uint8_t c[3];
            rand_colour(&s, c);
            int circle = (int)(xorshift32(&s) & 1);
            int cx = (int)(xorshift32(&s) % (uint32_t)w), cy = (int)(xorshift32(&s) % (uint32_t)h);
            int rx = small / 16 + (int)(xorshift32(&s) % (uint32_t)(small / 6 + 1));
            int ry = circle ? rx : small / 16 + (int)(xorshift32(&s) % (uint32_t)(small / 6 + 1));
            draw_shape(img, circle, cx, cy, rx, ry, c);
        }
        break;
    }
    }
    return CP_OK;
}
