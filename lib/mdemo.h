/*
 * mdemo - media files for the synthetic demo feed (feedgen --media-files):
 * benign generated images (shapes, gradients, noise, solid colours) written
 * as JPEG or PNG, with the hashes the feed declares for them. Kept apart from
 * feedgen, whose own buffer and error helpers predate util.h.
 */
#ifndef CPORT_MDEMO_H
#define CPORT_MDEMO_H

#include <stdint.h>

/* What the feed says about a generated file. */
struct mdemo_file {
    uint8_t md5[16], sha1[20], sha256[32], pdq[32];
    int pdq_quality, width, height;
    uint64_t bytes;
};

/* Generate the image of seed (same seed, same bytes) as PNG or JPEG, write it
 * to path unless a file is there already, and describe it in *out. 0, or -1
 * with errno set. */
int mdemo_make(uint32_t seed, int png, const char *path, struct mdemo_file *out);

#endif
