/*
 * fuzz_image - libFuzzer target for pictures somebody else sent (lib/image.c,
 * lib/pdq.c): image_sniff on the bytes, image_decode (libjpeg-turbo under its
 * setjmp handler with memory and scan caps, libspng with CRC and Adler-32 on,
 * the dimension checks before any allocation) at a cap of 4 M pixels so runs
 * stay fast, and on what decodes pdq_hash_image and image_preview, whose JPEG
 * must decode again as a grey picture no larger than the preview side.
 * Beyond memory errors and leaks it checks: a decode succeeds only for a type
 * image_decodable accepts, a failed one leaves the image empty, a decoded one
 * is well formed and within the cap.
 */
#include "image.h"
#include "pdq.h"
#include "seeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop with a message: the property named does not hold. */
static void fz_broken(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_image: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    abort();
}

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    const char *type = image_sniff(data, size);
    if (!type || !*type)
        fz_broken("no sniffed type", NULL);
    struct image img;
    int rc = image_decode(data, size, FUZZ_IMAGE_MAX_PIXELS, &img, err, sizeof err);
    if (rc != CP_OK) {
        if (img.px || img.w || img.h)
            fz_broken("a failed decode left pixels", err);
        if (rc != CP_BAD && rc != CP_ERR)
            fz_broken("decode answered neither CP_OK, CP_BAD nor CP_ERR", err);
        return 0;
    }
    if (!image_decodable(type))
        fz_broken("decoded a type image_decodable refuses", type);
    if (!img.px || img.w < 1 || img.h < 1 || (long)img.w * img.h > FUZZ_IMAGE_MAX_PIXELS ||
        (img.comps != 1 && img.comps != 3))
        fz_broken("decoded image malformed", NULL);
    uint8_t hash[32];
    int quality = -1;
    rc = pdq_hash_image(&img, hash, &quality);
    if (rc == CP_OK ? quality < 0 || quality > 100 : rc != CP_BAD || (img.w >= 5 && img.h >= 5))
        fz_broken("pdq_hash_image refused a decoded image or gave a bad quality", NULL);
    struct buf out;
    buf_init(&out);
    if (image_preview(&img, FUZZ_IMAGE_PREVIEW, &out, err, sizeof err) != CP_OK)
        fz_broken("no preview of a decoded image", err);
    struct image pv;
    if (image_decode((const uint8_t *)out.p, out.len, FUZZ_IMAGE_MAX_PIXELS, &pv, err, sizeof err) != CP_OK ||
        pv.comps != 1 || pv.w > FUZZ_IMAGE_PREVIEW || pv.h > FUZZ_IMAGE_PREVIEW)
        fz_broken("the preview is not a small grey JPEG", err);
    image_free(&pv);
    buf_free(&out);
    image_free(&img);
    return 0;
}

#include "replay.h"
