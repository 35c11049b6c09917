/*
 * media_bench - the media benchmark's in-process half (scripts/bench-media):
 *   cport-bench-media feed DIR N     write a file:// feed of N reports, each with
 *                                    one generated 640x480 JPEG (quality 85) as
 *                                    its content, for `cport import --media`
 *   cport-bench-media pdq N          decode+PDQ and PDQ alone (from luma) of N
 *                                    generated 640x480 JPEGs; prints images/s
 *   cport-bench-media pipeline DIR N the whole per-item path without the feed
 *                                    transport: digests, sniff, decode, PDQ,
 *                                    preview, encrypt+store, store preview, a
 *                                    sync every 64 items as the import does
 * Images are benign generated shapes (lib/image.c); nothing else is read.
 */
#include "image.h"
#include "mfetch.h"
#include "mstore.h"
#include "pdq.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N distinct 640x480 JPEGs of generated shapes. */
static struct buf *make_jpegs(int n)
{
    struct buf *b = calloc((size_t)n, sizeof *b);
    for (int i = 0; b && i < n; i++) {
        struct image img = {0};
        buf_init(&b[i]);
        if (image_generate(IMAGE_SHAPES, 640, 480, (uint32_t)(1000 + i), &img) != CP_OK ||
            image_encode_jpeg(&img, 85, &b[i]) != CP_OK) {
            fprintf(stderr, "cannot generate image %d\n", i);
            exit(1);
        }
        image_free(&img);
    }
    return b;
}

/* Write a feed of n reports with one JPEG each. */
static int cmd_feed(const char *dir, int n)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/media", dir);
    mkdir(dir, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/hotlines.json", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return 1;
    fputs("{\"hotlines\":[]}\n", f);
    fclose(f);
    struct buf *jp = make_jpegs(n);
    snprintf(p, sizeof p, "%s/reports-0001.json", dir);
    FILE *page = fopen(p, "w");
    if (!page)
        return 1;
    fputs("{\"reports\":[\n", page);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/media/B-%07d.jpg", dir, i);
        FILE *m = fopen(p, "wb");
        if (!m || fwrite(jp[i].p, 1, jp[i].len, m) != jp[i].len)
            return 1;
        fclose(m);
        fprintf(page,
                "%s{\"iccam_id\":\"R-2026-8%06d\",\"updated_at\":\"2026-11-01T10:00:00Z\","
                "\"reported_at\":\"2026-11-01T09:00:00Z\",\"reporting_hotline\":\"NL-EOKM\","
                "\"assessing_hotline\":\"NL-EOKM\",\"url\":\"https://bench-%d.example.test/a\","
                "\"site_type\":\"image_host\",\"hosting\":{\"country\":\"NL\",\"ip\":\"192.0.2.7\",\"asn\":64500,"
                "\"provider\":\"Bench Hosting B.V.\"},\"commercial\":false,\"status\":\"assessed\","
                "\"timeline\":{\"assessed_at\":\"2026-11-01T09:30:00Z\"},\"media\":[{\"iccam_media_id\":"
                "\"M-2026-8%06d\",\"content_url\":\"https://cdn.bench-%d.example.test/a.jpg\",\"media_type\":"
                "\"image\",\"mime\":\"image/jpeg\",\"bytes\":%zu,\"width\":640,\"height\":480,"
                "\"content\":\"media/B-%07d.jpg\"}]}\n",
                i ? "," : "", i, i, i, i, jp[i].len, i);
        buf_free(&jp[i]);
    }
    fputs("],\"next_cursor\":null,\"has_more\":false}\n", page);
    fclose(page);
    free(jp);
    return 0;
}

/* Decode+PDQ and PDQ alone. */
static int cmd_pdq(int n)
{
    struct buf *jp = make_jpegs(n);
    uint8_t h[32];
    int q;
    double t0 = now(), dec = 0;
    for (int i = 0; i < n; i++) {
        struct image img = {0};
        char err[200];
        double a = now();
        if (image_decode((const uint8_t *)jp[i].p, jp[i].len, 50000000, &img, err, sizeof err) != CP_OK)
            return 1;
        dec += now() - a;
        pdq_hash_image(&img, h, &q);
        image_free(&img);
    }
    double all = now() - t0;
    printf("decode+pdq %.0f images/s\npdq alone %.0f images/s\n", n / all, n / (all - dec));
    for (int i = 0; i < n; i++)
        buf_free(&jp[i]);
    free(jp);
    return 0;
}

/* The per-item path into a fresh store under dir. */
static int cmd_pipeline(const char *dir, int n)
{
    char err[300];
    char keys[4096];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    struct mstore ms;
    if (mstore_key_create(keys, err, sizeof err) != CP_OK || mstore_open(&ms, dir, keys, err, sizeof err) != CP_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct buf *jp = make_jpegs(n);
    ms.lazy_sync = 1;
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    double t0 = now();
    for (int i = 0; i < n; i++) {
        if (i % 64 == 63 && mstore_sync(&ms, err, sizeof err) != CP_OK)
            return 1;
        struct mfetch_file f;
        if (mfetch_process((const uint8_t *)jp[i].p, jp[i].len, 40000000, 192, &f, err, sizeof err) != CP_OK ||
            mstore_put(&ms, f.sha256, (const uint8_t *)jp[i].p, jp[i].len, err, sizeof err) != CP_OK ||
            mstore_put_preview(&ms, f.sha256, f.preview.p, f.preview.len, err, sizeof err) != CP_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        mfetch_file_free(&f);
    }
    printf("pipeline %.0f images/s\n", n / (now() - t0));
    mstore_close(&ms);
    for (int i = 0; i < n; i++)
        buf_free(&jp[i]);
    free(jp);
    return 0;
}

/* Dispatch on the subcommand (see the header comment). */
int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "feed") == 0)
        return cmd_feed(argv[2], atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "pdq") == 0)
        return cmd_pdq(atoi(argv[2]));
    if (argc == 4 && strcmp(argv[1], "pipeline") == 0)
        return cmd_pipeline(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: cport-bench-media feed DIR N | pdq N | pipeline DIR N\n");
    return 2;
}
