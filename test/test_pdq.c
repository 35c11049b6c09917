/*
 * test_pdq - the PDQ hash: the reference vectors of ../shared/pdq-vectors (the
 * eight dihedral bridge images against expected-dih.csv, the edited copies
 * within the match distance of the original), hex and distance, quality of flat
 * and busy images, and clean refusal of missing, non-JPEG, corrupt, truncated and
 * oversized files. Vector tests print SKIP and pass when the vectors are absent.
 * Scratch files go to a mkdtemp directory in /tmp that is removed at the end.
 */
#include "pdq.h"
#include "test.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Reference vs ours on the dih/ images: bit for bit (libjpeg-turbo's accurate
 * IDCT decodes these JPEGs to the pixels the reference hashed). */
#define DIH_TOLERANCE 0
#define MATCH_DISTANCE 31

static char vec[512];  /* the vectors directory, or "" when absent */
static char dir[64];   /* scratch directory */

/* A path in the vectors directory. */
static const char *vpath(const char *name)
{
    static char p[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", vec, name);
    return p[k];
}

/* A path in the scratch directory. */
static const char *tpath(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}



/* Each dih/ image against the reference's hash and quality from expected-dih.csv
 * ("pdq,quality,file" after a header line). */
static void test_dih_vectors(void)
{
    if (!vec[0]) {
        printf("SKIP test_dih_vectors: no pdq-vectors\n");
        return;
    }
    FILE *f = fopen(vpath("expected-dih.csv"), "r");
    REQUIRE(f);
    char line[512];
    int rows = 0, exact = 0, maxd = 0;
    REQUIRE(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char hex[65], file[256];
        int q_exp;
        if (sscanf(line, "%64[0-9a-f],%d,%255[^,\r\n]", hex, &q_exp, file) != 3)
            continue;
        uint8_t want[32], got[32];
        int q;
        char err[256], gothex[65];
        REQUIRE(util_hex_decode(hex, want, 32) == 0);
        int rc = pdq_hash_file(vpath(file), got, &q, err, sizeof err);
        CHECK_INT(rc, CP_OK);
        if (rc != CP_OK) {
            fprintf(stderr, "  %s: %s\n", file, err);
            continue;
        }
        pdq_hex(got, gothex);
        int d = pdq_distance(got, want);
        rows++;
        exact += d == 0;
        maxd = d > maxd ? d : maxd;
        printf("  %-32s distance %d quality %d%s\n", file, d, q, d ? "" : " (exact)");
        if (d)
            printf("    ours %s\n    ref  %s\n", gothex, hex);
        CHECK(d <= DIH_TOLERANCE);
        CHECK_INT(q, q_exp);
    }
    fclose(f);
    CHECK_INT(rows, 8);
    printf("  dih: %d of %d bit-exact, largest distance %d\n", exact, rows, maxd);
    CHECK_INT(exact, rows);
}

/* Every edited copy stays within the match distance of the original. */
static void test_bridge_mods(void)
{
    static const char *const mods[] = {
        "blur-a-little.jpg",  "blur-a-lot.jpg",     "high-contrast.jpg",
        "high-saturation.jpg", "sharpen-a-little.jpg", "sharpen-a-lot.jpg",
        "shrink-a-little.jpg", "shrink-a-lot.jpg",   "square-128x128.jpg",
        "square-256x256.jpg", "square-512x512.jpg",  NULL};
    if (!vec[0]) {
        printf("SKIP test_bridge_mods: no pdq-vectors\n");
        return;
    }
    uint8_t orig[32], h[32];
    int q;
    char err[256], name[128];
    REQUIRE(pdq_hash_file(vpath("bridge-mods/aaa-orig.jpg"), orig, &q, err, sizeof err) ==
            CP_OK);
    for (int i = 0; mods[i]; i++) {
        snprintf(name, sizeof name, "bridge-mods/%s", mods[i]);
        int rc = pdq_hash_file(vpath(name), h, &q, err, sizeof err);
        CHECK_INT(rc, CP_OK);
        if (rc != CP_OK)
            continue;
        int d = pdq_distance(orig, h);
        printf("  %-24s distance %d quality %d\n", mods[i], d, q);
        CHECK(d <= MATCH_DISTANCE);
        CHECK(q >= 0 && q <= 100);
    }
}

/* Hex is the bytes in order; distance counts differing bits. */
static void test_hex_distance(void)
{
    uint8_t a[32] = {0}, b[32];
    char hex[65];
    memset(b, 0xff, sizeof b);
    CHECK_INT(pdq_distance(a, a), 0);
    CHECK_INT(pdq_distance(a, b), 256);
    a[0] = 0xf8;
    a[31] = 0x22;
    pdq_hex(a, hex);
    CHECK_STR(hex, "f8000000000000000000000000000000000000000000000000000000000000"
                   "22");
    CHECK_INT(pdq_distance(a, b), 256 - 5 - 2);
}

/* A flat image has quality 0; a busy one is in range and high; tiny ones are refused. */
static void test_quality(void)
{
    int w = 300, h = 200, q = -1;
    float *img = malloc(sizeof(float) * w * h);
    uint8_t hash[32];
    REQUIRE(img);
    for (int i = 0; i < w * h; i++)
        img[i] = 128.0f;
    CHECK_INT(pdq_hash_luma(img, w, h, hash, &q), CP_OK);
    CHECK_INT(q, 0);

    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            img[y * w + x] = (float)((x / 10 + y / 10) % 2 ? 230 : 20) + (float)(s >> 61);
        }
    CHECK_INT(pdq_hash_luma(img, w, h, hash, &q), CP_OK);
    CHECK(q > 50 && q <= 100);
    int ones = 0;
    for (int i = 0; i < 32; i++)
        ones += __builtin_popcount(hash[i]);
    CHECK(ones <= 128 && ones > 64); /* bits above the median: at most half */

    /* 64x64 is taken as the downsample itself, as in the reference. */
    CHECK_INT(pdq_hash_luma(img, 64, 64, hash, &q), CP_OK);
    CHECK(q >= 0 && q <= 100);
    CHECK_INT(pdq_hash_luma(img, 4, 100, hash, &q), CP_BAD);
    CHECK_INT(q, 0);
    free(img);
}

/* Narrow, tall and wide, flat pictures: the box filter's window (taken from
 * the other side) is longer than a line; hashing must stay inside the
 * buffers (the sanitizer pass checks) and still give a hash. Found by
 * fuzz_image (corpus/image/crash-b150c220...). */
static void test_extreme_shapes(void)
{
    static const int shapes[][2] = {{5, 3000}, {3000, 5}, {17, 29000}, {6, 640}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        int w = shapes[i][0], h = shapes[i][1];
        float *l = malloc((size_t)w * (size_t)h * sizeof *l);
        REQUIRE(l);
        for (long k = 0; k < (long)w * h; k++)
            l[k] = (float)((k * 37) % 256);
        uint8_t hash[32];
        int q;
        CHECK_INT(pdq_hash_luma(l, w, h, hash, &q), CP_OK);
        free(l);
    }
}

/* Missing, empty, non-JPEG, truncated, corrupted and oversized files: CP_BAD with
 * a message, never a crash (run also under ASan). */
static void test_refusals(void)
{
    uint8_t hash[32];
    int q;
    char err[256];

    CHECK_INT(pdq_hash_file(tpath("missing.jpg"), hash, &q, err, sizeof err), CP_BAD);
    REQUIRE(test_spit(tpath("empty.jpg"), "", 0) == 0);
    CHECK_INT(pdq_hash_file(tpath("empty.jpg"), hash, &q, err, sizeof err), CP_BAD);
    REQUIRE(test_spit(tpath("text.jpg"), "hello, world\n", 13) == 0);
    CHECK_INT(pdq_hash_file(tpath("text.jpg"), hash, &q, err, sizeof err), CP_BAD);
    static const uint8_t soi_junk[] = {0xff, 0xd8, 0xff, 0x00, 0x01, 0x02, 0x03};
    REQUIRE(test_spit(tpath("junk.jpg"), soi_junk, sizeof soi_junk) == 0);
    CHECK_INT(pdq_hash_file(tpath("junk.jpg"), hash, &q, err, sizeof err), CP_BAD);
    CHECK(err[0] != 0);

    if (!vec[0]) {
        printf("SKIP test_refusals (vector-based part): no pdq-vectors\n");
        return;
    }
    size_t n;
    uint8_t *jpg = test_slurp(vpath("bridge-mods/shrink-a-lot.jpg"), &n);
    REQUIRE(jpg && n > 1000);

    /* Truncated at several points, header included. */
    static const size_t cuts[] = {10, 100, 400, 1000, 3000};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        REQUIRE(test_spit(tpath("trunc.jpg"), jpg, cuts[i] < n ? cuts[i] : n / 2) == 0);
        int rc = pdq_hash_file(tpath("trunc.jpg"), hash, &q, err, sizeof err);
        CHECK_INT(rc, CP_BAD);
        if (i == 3)
            printf("  truncated: %s\n", err);
    }

    /* Corrupted bytes in the entropy-coded data and in the headers: any outcome but
     * a crash; most are refused. */
    uint8_t *bad = malloc(n);
    REQUIRE(bad);
    uint64_t s = 12345;
    int refused = 0;
    for (int t = 0; t < 200; t++) {
        memcpy(bad, jpg, n);
        for (int k = 0; k < 8; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            bad[2 + (s >> 33) % (n - 2)] = (uint8_t)(s >> 20);
        }
        REQUIRE(test_spit(tpath("bad.jpg"), bad, n) == 0);
        int rc = pdq_hash_file(tpath("bad.jpg"), hash, &q, err, sizeof err);
        CHECK(rc == CP_OK || rc == CP_BAD);
        refused += rc == CP_BAD;
    }
    printf("  corrupted copies refused: %d of 200\n", refused);

    /* A frame header claiming 65000x65000: refused before any pixel is decoded. */
    memcpy(bad, jpg, n);
    int patched = 0;
    for (size_t i = 2; i + 9 < n; i++)
        if (bad[i] == 0xff && (bad[i + 1] == 0xc0 || bad[i + 1] == 0xc2)) {
            bad[i + 5] = bad[i + 7] = 0xfd;
            bad[i + 6] = bad[i + 8] = 0xe8;
            patched = 1;
            break;
        }
    CHECK(patched);
    REQUIRE(test_spit(tpath("huge.jpg"), bad, n) == 0);
    CHECK_INT(pdq_hash_file(tpath("huge.jpg"), hash, &q, err, sizeof err), CP_BAD);
    printf("  huge: %s\n", err);
    free(bad);
    free(jpg);
}

/* Remove the scratch files and directory. */
static void cleanup(void)
{
    static const char *const names[] = {"empty.jpg", "text.jpg", "junk.jpg", "trunc.jpg",
                                        "bad.jpg",   "huge.jpg", NULL};
    for (int i = 0; names[i]; i++)
        unlink(tpath(names[i]));
    rmdir(dir);
}

int main(void)
{
    const char *src = getenv("CPORT_SOURCE_DIR");
    if (src) {
        snprintf(vec, sizeof vec, "%s/../shared/pdq-vectors", src);
        if (access(vpath("expected-dih.csv"), R_OK) != 0)
            vec[0] = 0;
    }
    snprintf(dir, sizeof dir, "/tmp/cport-test-pdq-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_hex_distance);
    RUN(test_quality);
    RUN(test_dih_vectors);
    RUN(test_bridge_mods);
    RUN(test_refusals);
    RUN(test_extreme_shapes);
    cleanup();
    return TEST_DONE();
}
