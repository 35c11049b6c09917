/*
 * test_hidx - the hash index: PDQ radius search equal to brute force (ids and
 * distances) for radii 0..64 under both plans and several chunk layouts, exact
 * lookups with duplicates and misses for every algorithm, refusal of truncated
 * and corrupt files, survival of a damaged body, and hidx_refresh.
 * Files go to a mkdtemp directory in /tmp that is removed at the end.
 */
#include "hidx.h"
#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NRANDOM 50000
#define NQUERY 200
#define MAXDIST 64 /* planted near-duplicates at 0..MAXDIST from every query */
#define NPDQ (NRANDOM + NQUERY * (MAXDIST + 1))

static char dir[64];
static uint64_t rng = 0x243f6a8885a308d3ull;

/* splitmix64 with a fixed seed: every run tests the same data. */
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* n random bytes. */
static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* A path in the test directory. */
static const char *tpath(const char *name)
{
    static char p[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* Hamming distance of two 32-byte hashes, byte by byte: slow and obviously right. */
static int dist(const uint8_t *a, const uint8_t *b)
{
    int d = 0;
    for (int i = 0; i < 32; i++)
        d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return d;
}

/* Checks the hits of one PDQ query as they arrive: each against the brute-force
 * distances, and each id only once (a stamp per id and query). */
struct pdq_hits {
    const int *bd; /* brute-force distance by id - 1 */
    int r;
    unsigned *seen; /* stamp per id: == gen when reported in this query */
    unsigned gen;
    int wrong; /* an id out of range, reported twice, at the wrong distance or beyond r */
    size_t n;
};

/* Record and check one PDQ hit. */
static void on_pdq(void *arg, int64_t id, int d)
{
    struct pdq_hits *h = arg;
    h->n++;
    if (id < 1 || id > NPDQ || h->seen[id] == h->gen || h->bd[id - 1] != d || d > h->r) {
        h->wrong = 1;
        return;
    }
    h->seen[id] = h->gen;
}

static uint8_t *pdq_all, *pdq_q;

/* The PDQ data: NRANDOM random hashes, then for query j the hashes at exactly
 * 0..MAXDIST bits from it (distinct random bits flipped). Id i+1 is hash i. */
static void make_pdq(void)
{
    pdq_all = malloc((size_t)NPDQ * 32);
    pdq_q = malloc((size_t)NQUERY * 32);
    rnd_bytes(pdq_all, (size_t)NRANDOM * 32);
    for (int j = 0; j < NQUERY; j++) {
        uint8_t *q = pdq_q + 32 * j;
        rnd_bytes(q, 32);
        for (int d = 0; d <= MAXDIST; d++) {
            uint8_t *h = pdq_all + 32 * (NRANDOM + (size_t)j * (MAXDIST + 1) + d);
            uint8_t used[256] = {0};
            memcpy(h, q, 32);
            for (int k = 0; k < d;) {
                int b = (int)(rnd() % 256);
                if (used[b])
                    continue;
                used[b] = 1;
                h[b / 8] ^= (uint8_t)(1u << (b % 8));
                k++;
            }
        }
    }
}

/* Build the PDQ index with nchunks chunks (0 = automatic) at path. */
static struct hidx *build_pdq(const char *path, int nchunks)
{
    char err[256];
    struct hidx_builder *b = hidx_builder_new();
    if (!b || hidx_builder_pdq_chunks(b, nchunks) != CP_OK)
        return NULL;
    for (size_t i = 0; i < NPDQ; i++)
        if (hidx_builder_add(b, HIDX_PDQ, pdq_all + 32 * i, (int64_t)i + 1) != CP_OK)
            return NULL;
    int rc = hidx_builder_write(b, path, 7, err, sizeof err);
    hidx_builder_free(b);
    if (rc != CP_OK) {
        fprintf(stderr, "  %s\n", err);
        return NULL;
    }
    struct hidx *x = hidx_open(path, err, sizeof err);
    if (!x)
        fprintf(stderr, "  %s\n", err);
    return x;
}

/* Every query at every tested radius under every plan returns exactly the
 * brute-force (id, distance) set, each id once. Returns the mismatches. */
static int check_pdq(const struct hidx *x, int nquery, const uint8_t *queries)
{
    static const int radii[] = {0, 1, 15, 31, 32, 40, 64};
    static const enum hidx_plan plans[] = {HIDX_PLAN_AUTO, HIDX_PLAN_PROBE, HIDX_PLAN_SCAN};
    int *bd = malloc((size_t)NPDQ * sizeof *bd), bad = 0;
    unsigned *seen = calloc(NPDQ + 1, sizeof *seen), gen = 0;
    for (int j = 0; j < nquery && bad < 5; j++) {
        const uint8_t *q = queries + 32 * j;
        for (size_t i = 0; i < NPDQ; i++)
            bd[i] = dist(pdq_all + 32 * i, q);
        for (size_t ri = 0; ri < sizeof radii / sizeof radii[0]; ri++) {
            int r = radii[ri];
            size_t want = 0;
            for (size_t i = 0; i < NPDQ; i++)
                want += bd[i] <= r;
            for (size_t p = 0; p < 3; p++) {
                /* Every hit right and distinct, and as many as brute force: the same set. */
                struct pdq_hits h = {bd, r, seen, ++gen, 0, 0};
                size_t n = hidx_pdq_ex(x, q, r, plans[p], on_pdq, &h);
                if (n != h.n || h.n != want || h.wrong) {
                    fprintf(stderr, "  query %d radius %d plan %zu: %zu hits, want %zu\n", j, r, p, n, want);
                    bad++;
                }
            }
        }
    }
    free(bd);
    free(seen);
    return bad;
}

/* PDQ radius search equals brute force for the automatic layout (16 chunks
 * of 16 bits at this size), for 24 chunks of 10-11 bits and 13 of 19-20 bits,
 * which straddle 64-bit words; the planted near-duplicates make every radius
 * find something. */
static void test_pdq_brute_force(void)
{
    struct hidx *x = build_pdq(tpath("pdq.idx"), 0);
    REQUIRE(x);
    CHECK_INT(hidx_count(x, HIDX_PDQ), NPDQ);
    CHECK_INT(hidx_pdq_chunks(x), 16);
    CHECK_INT(check_pdq(x, NQUERY, pdq_q), 0);
    /* Queries with nothing planted around them, including one far from all. */
    uint8_t rq[4 * 32];
    rnd_bytes(rq, sizeof rq);
    CHECK_INT(check_pdq(x, 4, rq), 0);
    hidx_close(x);

    x = build_pdq(tpath("pdq24.idx"), 24);
    REQUIRE(x);
    CHECK_INT(hidx_pdq_chunks(x), 24);
    CHECK_INT(check_pdq(x, 40, pdq_q), 0);
    hidx_close(x);

    /* 13 chunks of 19-20 bits, the family used from 1.5M hashes up (radius 31
     * probes some chunks at two bits, some at one). */
    x = build_pdq(tpath("pdq13.idx"), 13);
    REQUIRE(x);
    CHECK_INT(hidx_pdq_chunks(x), 13);
    CHECK_INT(check_pdq(x, 40, pdq_q), 0);
    hidx_close(x);
    unlink(tpath("pdq13.idx"));
}

/* Radii outside 0..64: negative finds nothing, 256 finds every hash. */
static void test_pdq_radius_edges(void)
{
    struct hidx *x = build_pdq(tpath("pdq.idx"), 0);
    REQUIRE(x);
    CHECK_INT(hidx_pdq(x, pdq_q, -1, NULL, NULL), 0);
    CHECK_INT(hidx_pdq(x, pdq_q, 256, NULL, NULL), NPDQ);
    CHECK_INT(hidx_pdq(x, pdq_q, 1000, NULL, NULL), NPDQ);
    CHECK_INT(hidx_pdq_ex(x, pdq_q, 200, HIDX_PLAN_PROBE, NULL, NULL),
              hidx_pdq_ex(x, pdq_q, 200, HIDX_PLAN_SCAN, NULL, NULL));
    hidx_close(x);
}

/* Collected ids of an exact lookup. */
struct ids {
    int64_t id[16];
    size_t n;
};

/* Record one exact hit. */
static void on_exact(void *arg, int64_t id)
{
    struct ids *s = arg;
    if (s->n < 16)
        s->id[s->n] = id;
    s->n++;
}

/* True when s holds exactly the ids lo, lo + step, ... (k of them), any order. */
static int ids_are(const struct ids *s, int64_t lo, int64_t step, size_t k)
{
    if (s->n != k)
        return 0;
    for (size_t i = 0; i < k; i++) {
        int found = 0;
        for (size_t j = 0; j < s->n; j++)
            found |= s->id[j] == lo + (int64_t)i * step;
        if (!found)
            return 0;
    }
    return 1;
}

/* Exact lookups for every algorithm: 3000 values each, every tenth added under
 * three ids; each value returns exactly its ids, random values return nothing.
 * PhotoDNA values share long zero prefixes (as real ones share small bytes), so
 * its directory has crowded slots. Negative and large ids survive the trip. */
static void test_exact(void)
{
    enum { NV = 3000 };
    static const enum hidx_alg algs[] = {HIDX_MD5, HIDX_SHA1, HIDX_SHA256, HIDX_PDQ, HIDX_PHOTODNA};
    char err[256];
    uint8_t *vals[5];
    struct hidx_builder *b = hidx_builder_new();
    REQUIRE(b);
    CHECK_INT(hidx_builder_add(b, (enum hidx_alg)0, pdq_q, 1), CP_BAD);
    CHECK_INT(hidx_builder_add(b, (enum hidx_alg)6, pdq_q, 1), CP_BAD);
    CHECK_INT(hidx_builder_pdq_chunks(b, 10), CP_BAD);
    CHECK_INT(hidx_builder_pdq_chunks(b, 33), CP_BAD);
    for (int a = 0; a < 5; a++) {
        size_t sz = hidx_alg_size(algs[a]);
        vals[a] = malloc(NV * sz);
        rnd_bytes(vals[a], NV * sz);
        if (algs[a] == HIDX_PHOTODNA)
            for (int i = 0; i < NV; i++)
                memset(vals[a] + i * sz, 0, (size_t)(i % 3) * 8);
        for (int i = 0; i < NV; i++) {
            int64_t id = (int64_t)a * 1000000000000ll + i * 10 - 5000;
            CHECK_INT(hidx_builder_add(b, algs[a], vals[a] + i * sz, id), CP_OK);
            if (i % 10 == 0) {
                CHECK_INT(hidx_builder_add(b, algs[a], vals[a] + i * sz, id + 1), CP_OK);
                CHECK_INT(hidx_builder_add(b, algs[a], vals[a] + i * sz, id + 2), CP_OK);
            }
        }
    }
    CHECK_INT(hidx_builder_write(b, tpath("exact.idx"), 42, err, sizeof err), CP_OK);
    hidx_builder_free(b);
    struct hidx *x = hidx_open(tpath("exact.idx"), err, sizeof err);
    REQUIRE(x);
    CHECK_INT(hidx_version(x), 42);
    for (int a = 0; a < 5; a++) {
        size_t sz = hidx_alg_size(algs[a]);
        CHECK_INT(hidx_count(x, algs[a]), NV + NV / 10 * 2);
        int bad = 0;
        for (int i = 0; i < NV; i++) {
            struct ids s = {{0}, 0};
            int64_t id = (int64_t)a * 1000000000000ll + i * 10 - 5000;
            size_t n = hidx_exact(x, algs[a], vals[a] + i * sz, on_exact, &s);
            if (n != s.n || !ids_are(&s, id, 1, i % 10 == 0 ? 3 : 1))
                bad++;
        }
        CHECK_INT(bad, 0);
        uint8_t miss[144];
        for (int i = 0; i < 200; i++) {
            rnd_bytes(miss, sz);
            if (algs[a] == HIDX_PHOTODNA)
                memset(miss, 0, (size_t)(i % 3) * 8);
            struct ids s = {{0}, 0};
            bad += hidx_exact(x, algs[a], miss, on_exact, &s) != 0 || s.n;
        }
        CHECK_INT(bad, 0);
        /* One bit off is a miss too. */
        memcpy(miss, vals[a], sz);
        miss[sz - 1] ^= 1;
        CHECK_INT(hidx_exact(x, algs[a], miss, NULL, NULL), 0);
    }
    CHECK_INT(hidx_exact(x, (enum hidx_alg)9, vals[0], NULL, NULL), 0);
    CHECK_INT(hidx_count(x, (enum hidx_alg)9), 0);
    hidx_close(x);
    for (int a = 0; a < 5; a++)
        free(vals[a]);
}

/* An index with nothing in it opens and answers nothing. */
static void test_empty(void)
{
    char err[256];
    struct hidx_builder *b = hidx_builder_new();
    REQUIRE(b);
    CHECK_INT(hidx_builder_write(b, tpath("empty.idx"), 3, err, sizeof err), CP_OK);
    hidx_builder_free(b);
    struct hidx *x = hidx_open(tpath("empty.idx"), err, sizeof err);
    REQUIRE(x);
    CHECK_INT(hidx_version(x), 3);
    CHECK_INT(hidx_count(x, HIDX_MD5), 0);
    CHECK_INT(hidx_pdq_chunks(x), 0);
    CHECK_INT(hidx_exact(x, HIDX_SHA1, pdq_q, NULL, NULL), 0);
    CHECK_INT(hidx_pdq(x, pdq_q, 64, NULL, NULL), 0);
    hidx_close(x);
}



/* FNV-1a 64, as the header checksum: lets a test forge a consistent checksum
 * to show that the layout check alone refuses a bad section table. */
static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Header offsets used below (struct hidx_header in hidx.c): the section table
 * starts at 120 with 16 bytes a slot, the checksum is the last 8 of 1376. */
#define HDR_SEC 120
#define HDR_SUM 1368

/* True when hidx_open refuses path (and says why). */
static int refused(const char *path)
{
    char err[256] = "";
    struct hidx *x = hidx_open(path, err, sizeof err);
    hidx_close(x);
    return !x && err[0];
}

/* Truncated files, bad magic, a corrupted section offset (with the checksum
 * left stale, and with it forged), a wrong count, empty and missing files and a
 * directory are all refused. */
static void test_corrupt_header(void)
{
    struct hidx *x = build_pdq(tpath("good.idx"), 0);
    REQUIRE(x);
    hidx_close(x);
    size_t n;
    uint8_t *p = test_slurp(tpath("good.idx"), &n);
    REQUIRE(p && n > 4096);
    uint8_t *c = malloc(n);
    const char *bad = tpath("bad.idx");

    test_spit(bad, p, n);
    CHECK(!refused(bad)); /* the copy itself is fine */
    test_spit(bad, p, n - 1);
    CHECK(refused(bad));
    test_spit(bad, p, n / 2);
    CHECK(refused(bad));
    test_spit(bad, p, 100);
    CHECK(refused(bad));
    test_spit(bad, p, 0);
    CHECK(refused(bad));

    memcpy(c, p, n);
    c[0] = 'X';
    test_spit(bad, c, n);
    CHECK(refused(bad));

    /* PDQ hashes' section (slot 12) moved by 64 bytes. */
    memcpy(c, p, n);
    uint64_t off;
    memcpy(&off, c + HDR_SEC + 12 * 16, 8);
    CHECK(off > 0);
    off += 64;
    memcpy(c + HDR_SEC + 12 * 16, &off, 8);
    test_spit(bad, c, n);
    CHECK(refused(bad));
    uint64_t sum = fnv(c, HDR_SUM);
    memcpy(c + HDR_SUM, &sum, 8);
    test_spit(bad, c, n);
    CHECK(refused(bad));

    /* A section pointing past the end, checksum forged. */
    memcpy(c, p, n);
    off = (uint64_t)n * 4;
    memcpy(c + HDR_SEC + 13 * 16, &off, 8);
    sum = fnv(c, HDR_SUM);
    memcpy(c + HDR_SUM, &sum, 8);
    test_spit(bad, c, n);
    CHECK(refused(bad));

    /* A PDQ count (at 24 + 8 * HIDX_PDQ) that no longer matches, checksum forged. */
    memcpy(c, p, n);
    c[24 + 8 * HIDX_PDQ] ^= 1;
    sum = fnv(c, HDR_SUM);
    memcpy(c + HDR_SUM, &sum, 8);
    test_spit(bad, c, n);
    CHECK(refused(bad));

    /* The same file with the checksum forged unchanged opens: the forging is right. */
    memcpy(c, p, n);
    sum = fnv(c, HDR_SUM);
    memcpy(c + HDR_SUM, &sum, 8);
    test_spit(bad, c, n);
    CHECK(!refused(bad));

    CHECK(refused(tpath("missing.idx")));
    CHECK(refused(dir));
    free(c);
    free(p);
}

/* A body overwritten with junk (bucket tables, ordinals, directory) after a
 * valid header gives wrong answers but never reads out of bounds (ASan). */
static void test_corrupt_body(void)
{
    char err[256];
    struct hidx_builder *b = hidx_builder_new();
    REQUIRE(b);
    for (size_t i = 0; i < 20000; i++) {
        hidx_builder_add(b, HIDX_PDQ, pdq_all + 32 * i, (int64_t)i);
        hidx_builder_add(b, HIDX_MD5, pdq_all + 32 * i, (int64_t)i);
    }
    CHECK_INT(hidx_builder_write(b, tpath("body.idx"), 1, err, sizeof err), CP_OK);
    hidx_builder_free(b);
    size_t n;
    uint8_t *p = test_slurp(tpath("body.idx"), &n);
    REQUIRE(p);
    for (size_t i = 1376; i < n; i++)
        p[i] = (uint8_t)(rnd() % 3 == 0 ? 0xff : rnd());
    test_spit(tpath("body.idx"), p, n);
    free(p);
    struct hidx *x = hidx_open(tpath("body.idx"), err, sizeof err);
    REQUIRE(x);
    for (int i = 0; i < 20; i++) {
        hidx_pdq(x, pdq_q + 32 * i, 31, NULL, NULL);
        hidx_pdq_ex(x, pdq_q + 32 * i, 64, HIDX_PLAN_PROBE, NULL, NULL);
        hidx_exact(x, HIDX_MD5, pdq_all + 32 * i, NULL, NULL);
        hidx_exact(x, HIDX_PDQ, pdq_all + 32 * i, NULL, NULL);
    }
    hidx_close(x);
}

/* Write a one-PDQ-entry index for version v with id v; CP_OK or not. */
static int write_version(const char *path, uint64_t v)
{
    char err[256];
    struct hidx_builder *b = hidx_builder_new();
    if (!b)
        return CP_ERR;
    hidx_builder_add(b, HIDX_PDQ, pdq_q, (int64_t)v);
    hidx_builder_add(b, HIDX_SHA1, pdq_q, (int64_t)v);
    int rc = hidx_builder_write(b, path, v, err, sizeof err);
    hidx_builder_free(b);
    return rc;
}

/* hidx_refresh: opens when there is nothing, keeps an unchanged file, moves to
 * a rebuilt one, keeps the old index (and says why once) when the replacement
 * is corrupt or gone, and moves on when a good file appears again. */
static void test_refresh(void)
{
    const char *path = tpath("live.idx");
    char err[256];
    unlink(path);
    CHECK(hidx_refresh(NULL, path, err, sizeof err) == NULL);
    CHECK(err[0]);
    REQUIRE(write_version(path, 1) == CP_OK);
    struct hidx *x = hidx_refresh(NULL, path, err, sizeof err);
    REQUIRE(x);
    CHECK_STR(err, "");
    CHECK_INT(hidx_version(x), 1);
    CHECK(hidx_refresh(x, path, err, sizeof err) == x);
    CHECK_STR(err, "");

    REQUIRE(write_version(path, 2) == CP_OK);
    x = hidx_refresh(x, path, err, sizeof err);
    REQUIRE(x);
    CHECK_STR(err, "");
    CHECK_INT(hidx_version(x), 2);
    struct ids s = {{0}, 0};
    CHECK_INT(hidx_exact(x, HIDX_SHA1, pdq_q, on_exact, &s), 1);
    CHECK_INT(s.id[0], 2);

    /* A corrupt replacement, installed by rename as the builder does. */
    const char *junk = tpath("junk.idx");
    uint8_t zeros[2000] = {0};
    test_spit(junk, zeros, sizeof zeros);
    CHECK_INT(rename(junk, path), 0);
    struct hidx *y = hidx_refresh(x, path, err, sizeof err);
    CHECK(y == x);
    CHECK(err[0]);
    y = hidx_refresh(x, path, err, sizeof err); /* not retried while unchanged */
    CHECK(y == x);
    CHECK_STR(err, "");
    CHECK_INT(hidx_version(x), 2);
    CHECK_INT(hidx_pdq(x, pdq_q, 0, NULL, NULL), 1);

    unlink(path);
    CHECK(hidx_refresh(x, path, err, sizeof err) == x);
    CHECK(err[0]);

    REQUIRE(write_version(path, 3) == CP_OK);
    x = hidx_refresh(x, path, err, sizeof err);
    REQUIRE(x);
    CHECK_INT(hidx_version(x), 3);
    hidx_close(x);
}

/* Remove the test directory and everything in it. */
static void cleanup(void)
{
    static const char *names[] = {"pdq.idx",  "pdq24.idx", "pdq13.idx", "exact.idx", "empty.idx",
                                  "good.idx", "bad.idx",   "body.idx",  "live.idx",  "junk.idx"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unlink(tpath(names[i]));
        char tmp[160];
        snprintf(tmp, sizeof tmp, "%s.tmp", tpath(names[i]));
        unlink(tmp);
    }
    rmdir(dir);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/cport-test-hidx-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_pdq();
    RUN(test_pdq_brute_force);
    RUN(test_pdq_radius_edges);
    RUN(test_exact);
    RUN(test_empty);
    RUN(test_corrupt_header);
    RUN(test_corrupt_body);
    RUN(test_refresh);
    cleanup();
    free(pdq_all);
    free(pdq_q);
    return TEST_DONE();
}
