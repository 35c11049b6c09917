/*
 * mdemo - generated demo media files: see mdemo.h.
 */
#include "mdemo.h"
#include "digest.h"
#include "image.h"
#include "pdq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Write n bytes to path through a temp name, unless path exists. */
static int write_once(const char *path, const void *p, size_t n)
{
    if (access(path, F_OK) == 0)
        return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    if (fclose(f) != 0 || w != n || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e ? e : EIO;
        return -1;
    }
    return 0;
}

/* See mdemo.h. Mostly shapes (they look like something and hash with high
 * quality), some gradients, noise and flat colours (PDQ quality 0). */
int mdemo_make(uint32_t seed, int png, const char *path, struct mdemo_file *out)
{
    static const enum image_kind kinds[] = {IMAGE_SHAPES, IMAGE_SHAPES, IMAGE_SHAPES, IMAGE_SHAPES, IMAGE_SHAPES,
                                            IMAGE_GRADIENT, IMAGE_GRADIENT, IMAGE_NOISE, IMAGE_SHAPES, IMAGE_SOLID};
    int portrait = (seed >> 8) % 4 == 0;
    struct image img = {0};
    if (image_generate(kinds[seed % 10], portrait ? 240 : 320, portrait ? 320 : 240, seed, &img) != CP_OK) {
        errno = ENOMEM;
        return -1;
    }
    struct buf b;
    buf_init(&b);
    int st = png ? image_encode_png(&img, &b) : image_encode_jpeg(&img, 85, &b);
    if (st != CP_OK) {
        image_free(&img);
        buf_free(&b);
        errno = ENOMEM;
        return -1;
    }
    memset(out, 0, sizeof *out);
    digest_all((const uint8_t *)b.p, b.len, out->md5, out->sha1, out->sha256);
    /* Hash what a reader of the file gets (a JPEG decodes to other pixels). */
    struct image back = {0};
    char err[200];
    if (image_decode((const uint8_t *)b.p, b.len, PDQ_MAX_PIXELS, &back, err, sizeof err) == CP_OK) {
        pdq_hash_image(&back, out->pdq, &out->pdq_quality);
        image_free(&back);
    }
    out->width = img.w;
    out->height = img.h;
    out->bytes = b.len;
    image_free(&img);
    int rc = write_once(path, b.p, b.len);
    buf_free(&b);
    return rc;
}
