/*
 * mfetch - media content for `cport import --media`: fetch each pending media
 * item's bytes from the feed (its `content` path under the feed's base, over
 * libcurl or from the file:// directory), sniff the type from the bytes, hash
 * them (MD5, SHA-1, SHA-256, and PDQ for decodable images), make a blurred
 * greyscale preview, and keep the original encrypted in the media store. A
 * failure is recorded on the item and retried by the next run; it never stops
 * the import of metadata.
 */
#ifndef CPORT_MFETCH_H
#define CPORT_MFETCH_H

#include <stddef.h> /* before db.h, which uses size_t without including it */
#include <stdint.h>

#include "db.h"
#include "util.h"

/* ICCAM's PDQ and ours may differ by a few bits when their JPEG decoders differ
 * (libjpeg-turbo's own IDCT variants move the reference vectors' hashes by up
 * to 2 bits); more than this is flagged as a mismatch. */
#define MFETCH_PDQ_TOLERANCE 10

/* What was learnt from one content. */
struct mfetch_file {
    const char *type;               /* sniffed (image_sniff) */
    uint8_t md5[16], sha1[20], sha256[32];
    int has_pdq;
    uint8_t pdq[32];
    int pdq_quality;
    int w, h;                       /* 0 when not decoded */
    char decode_error[256];         /* why not decoded; "" when it was, or is not an image */
    struct buf preview;             /* blurred greyscale JPEG; empty when none */
};

/* Where and how to fetch. */
struct mfetch_opts {
    const char *base;        /* the feed: a directory path (is_file) or URL, no trailing slash */
    int is_file;
    const char *token;       /* bearer token for http(s); NULL: none */
    const char *ca_file, *client_cert, *client_key;
    long max_bytes;          /* a content larger than this is refused */
    int timeout_s;           /* whole-transfer timeout of one fetch */
    int retries;             /* retries of transient failures within this run */
    int attempts;            /* runs that try a failing item */
    long max_pixels;         /* images with more are stored but not decoded */
    int preview_size;        /* long side of previews */
    const char *data_dir, *key_dir;
    int max_items;           /* 0: every pending item */
    void (*progress)(void *arg, long done, long total);
    void *progress_arg;
};

struct mfetch_result {
    long tried, stored, deduplicated, failed, refused, mismatched;
    long removed; /* stored contents no media item refers to any more, deleted */
};

/* Learn everything from one content in memory into *f (f->preview is
 * initialised here; free with mfetch_file_free). A type that is not media
 * (HTML, text, PDF, unknown bytes) is CP_BAD with err saying what it is; an
 * image that cannot be decoded is CP_OK with f->decode_error set (the bytes are
 * still evidence). CP_ERR when out of memory. */
int mfetch_process(const uint8_t *p, size_t n, long max_pixels, int preview_size, struct mfetch_file *f, char *err,
                   size_t errlen);
void mfetch_file_free(struct mfetch_file *f);

/* Fetch every pending item (and failed ones with attempts left) of d, in id
 * order. *r counts what happened. Returns CP_OK when the run could work (items
 * that failed are recorded on the items, not returned), or an error that stopped
 * it: no media key (CP_NOTFOUND), database busy or broken. */
int mfetch_run(struct db *d, const struct mfetch_opts *o, struct mfetch_result *r, char *err, size_t errlen);

#endif
