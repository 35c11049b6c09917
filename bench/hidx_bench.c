/*
 * cport-bench-hidx - speed, size and recall of the hash index (lib/hidx.c).
 *   usage: cport-bench-hidx N QUERIES [CHUNKS]
 * Builds N random PDQ hashes plus, for each of QUERIES random query hashes, 32
 * planted near-duplicates at distances 0..31; writes the index to a temporary
 * file (TMPDIR or /tmp) and measures build time, file size, radius-31 queries/s
 * on one core, recall (every planted hash found; the full result equal to a
 * brute-force scan for a sample of queries), and exact md5 lookups/s against N
 * md5 entries in a second index file. CHUNKS forces the PDQ chunk count (11..32)
 * to compare layouts. Prints one "name value unit" line per metric; exits 1 when
 * recall is below 100%.
 */
#include "hidx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PLANTS 32 /* near-duplicates per query, at distances 0..31 */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: a fixed-seed generator, so runs are comparable. */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Fill n random bytes. */
static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = rnd();
        memcpy(p + i, &v, n - i < 8 ? n - i : 8);
    }
}

/* Copy src with exactly d distinct bits flipped. */
static void flip_bits(const uint8_t *src, uint8_t *dst, int d)
{
    memcpy(dst, src, 32);
    uint8_t used[256] = {0};
    for (int k = 0; k < d;) {
        int b = (int)(rnd() % 256);
        if (used[b])
            continue;
        used[b] = 1;
        dst[b / 8] ^= (uint8_t)(1u << (b % 8));
        k++;
    }
}

/* Wall-clock seconds. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Hamming distance of two 32-byte hashes, hardware popcount. */
__attribute__((target("popcnt"))) static int dist(const uint8_t *a, const uint8_t *b)
{
    uint64_t x[4], y[4];
    memcpy(x, a, 32);
    memcpy(y, b, 32);
    return __builtin_popcountll(x[0] ^ y[0]) + __builtin_popcountll(x[1] ^ y[1]) + __builtin_popcountll(x[2] ^ y[2]) +
           __builtin_popcountll(x[3] ^ y[3]);
}

/* Hits of one query, collected for comparison. */
struct hits {
    int64_t *id;
    int *d;
    size_t n, cap;
};

/* Collect a PDQ hit. */
static void on_pdq(void *arg, int64_t id, int d)
{
    struct hits *h = arg;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->id = realloc(h->id, h->cap * sizeof *h->id);
        h->d = realloc(h->d, h->cap * sizeof *h->d);
        if (!h->id || !h->d) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    h->id[h->n] = id;
    h->d[h->n++] = d;
}

/* Count hits only. */
static void on_count(void *arg, int64_t id, int d)
{
    (void)id;
    (void)d;
    (*(size_t *)arg)++;
}

/* Count exact hits. */
static void on_exact(void *arg, int64_t id)
{
    (void)id;
    (*(size_t *)arg)++;
}

/* Sort key for comparing result sets: by id. */
static int cmp_pair(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* True when hits equal the brute-force set of query q within r over all hashes. */
static int same_as_brute(const struct hits *h, const uint8_t *all, size_t n, const uint8_t *q, int r)
{
    size_t cap = h->n + 16, k = 0;
    int64_t *want = malloc(cap * 2 * sizeof *want), *got = malloc((h->n + 1) * 2 * sizeof *got);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        int d = dist(all + 32 * i, q);
        if (d <= r) {
            if (k == cap) {
                ok = 0;
                break;
            }
            want[2 * k] = (int64_t)i + 1;
            want[2 * k + 1] = d;
            k++;
        }
    }
    if (ok && k != h->n)
        ok = 0;
    if (ok) {
        for (size_t i = 0; i < h->n; i++) {
            got[2 * i] = h->id[i];
            got[2 * i + 1] = h->d[i];
        }
        qsort(want, k, 2 * sizeof *want, cmp_pair);
        qsort(got, k, 2 * sizeof *got, cmp_pair);
        ok = memcmp(want, got, k * 2 * sizeof *want) == 0;
    }
    free(want);
    free(got);
    return ok;
}

/* Run all queries at radius r and return queries/s (hits summed into *hits). */
static double run_queries(const struct hidx *x, const uint8_t *qs, size_t nq, int r, size_t *hits)
{
    size_t total = 0;
    double t0 = now();
    for (size_t i = 0; i < nq; i++)
        hidx_pdq(x, qs + 32 * i, r, on_count, &total);
    double t = now() - t0;
    if (hits)
        *hits = total;
    return nq / t;
}

int main(int argc, char **argv)
{
    if (argc < 3 || atol(argv[1]) < 1 || atol(argv[2]) < 1) {
        fprintf(stderr, "usage: cport-bench-hidx N QUERIES [CHUNKS]\n");
        return 2;
    }
    size_t n = (size_t)atol(argv[1]), nq = (size_t)atol(argv[2]);
    int chunks = argc > 3 ? atoi(argv[3]) : 0;
    size_t total = n + nq * PLANTS;
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512], md5path[512], err[256];
    snprintf(path, sizeof path, "%s/cport-bench-hidx-%d.idx", tmpdir, (int)getpid());
    snprintf(md5path, sizeof md5path, "%s/cport-bench-hidx-md5-%d.idx", tmpdir, (int)getpid());

    /* Hashes: id i+1 is all[i]; the planted ones follow the random ones. */
    uint8_t *all = malloc(total * 32), *qs = malloc(nq * 32);
    if (!all || !qs)
        return 2;
    rnd_bytes(all, n * 32);
    for (size_t i = 0; i < nq; i++) {
        rnd_bytes(qs + 32 * i, 32);
        for (int d = 0; d < PLANTS; d++)
            flip_bits(qs + 32 * i, all + 32 * (n + i * PLANTS + d), d);
    }
    struct hidx_builder *b = hidx_builder_new();
    if (!b || (chunks && hidx_builder_pdq_chunks(b, chunks) != CP_OK)) {
        fprintf(stderr, "bad chunk count\n");
        return 2;
    }
    double t0 = now();
    for (size_t i = 0; i < total; i++)
        if (hidx_builder_add(b, HIDX_PDQ, all + 32 * i, (int64_t)i + 1) != CP_OK)
            return 2;
    double t_add = now() - t0;
    t0 = now();
    if (hidx_builder_write(b, path, 1, err, sizeof err) != CP_OK) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    double t_build = now() - t0;
    hidx_builder_free(b);
    struct stat st;
    stat(path, &st);

    t0 = now();
    struct hidx *x = hidx_open(path, err, sizeof err);
    if (!x) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    double t_open = now() - t0;
    int m = hidx_pdq_chunks(x);

    /* First pass: recall on every query (planted ids at their distances) and
     * the whole result against brute force on a sample. */
    size_t sample = (size_t)(4e8 / (double)total);
    sample = sample < 1 ? 1 : sample > nq ? nq : sample;
    size_t planted_found = 0, brute_ok = 0;
    struct hits h = {0};
    t0 = now();
    for (size_t i = 0; i < nq; i++) {
        h.n = 0;
        hidx_pdq(x, qs + 32 * i, 31, on_pdq, &h);
        for (int d = 0; d < PLANTS; d++) {
            int64_t want = (int64_t)(n + i * PLANTS + d) + 1;
            for (size_t k = 0; k < h.n; k++)
                if (h.id[k] == want && h.d[k] == d) {
                    planted_found++;
                    break;
                }
        }
    }
    double t_first = now() - t0;
    for (size_t i = 0; i < sample; i++) {
        h.n = 0;
        hidx_pdq(x, qs + 32 * i, 31, on_pdq, &h);
        brute_ok += same_as_brute(&h, all, total, qs + 32 * i, 31);
    }
    size_t hits31 = 0;
    double qps31 = run_queries(x, qs, nq, 31, &hits31);
    double qps15 = run_queries(x, qs, nq, 15, NULL);
    size_t nq64 = nq < 50 ? nq : 50;
    double qps64 = run_queries(x, qs, nq64, 64, NULL);
    hidx_close(x);
    unlink(path);

    /* md5: N random values in their own index; half the queries hit. */
    struct hidx_builder *mb = hidx_builder_new();
    uint8_t *md5 = malloc(n * 16);
    if (!mb || !md5)
        return 2;
    rnd_bytes(md5, n * 16);
    for (size_t i = 0; i < n; i++)
        hidx_builder_add(mb, HIDX_MD5, md5 + 16 * i, (int64_t)i + 1);
    t0 = now();
    if (hidx_builder_write(mb, md5path, 1, err, sizeof err) != CP_OK) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    double t_md5_build = now() - t0;
    hidx_builder_free(mb);
    struct stat mst;
    stat(md5path, &mst);
    struct hidx *mx = hidx_open(md5path, err, sizeof err);
    if (!mx) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    enum { MQ = 100000 };
    uint8_t *mq = malloc((size_t)MQ * 16);
    for (size_t i = 0; i < MQ; i++) {
        if (i % 2)
            rnd_bytes(mq + 16 * i, 16);
        else
            memcpy(mq + 16 * i, md5 + 16 * (rnd() % n), 16);
    }
    size_t mhits = 0;
    for (size_t i = 0; i < MQ; i++) /* warm the mapping once */
        hidx_exact(mx, HIDX_MD5, mq + 16 * i, on_exact, &mhits);
    mhits = 0;
    t0 = now();
    for (size_t i = 0; i < MQ; i++)
        hidx_exact(mx, HIDX_MD5, mq + 16 * i, on_exact, &mhits);
    double t_md5 = now() - t0;
    hidx_close(mx);
    unlink(md5path);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double recall = 100.0 * planted_found / (double)(nq * PLANTS);
    printf("entries %zu hashes\n", total);
    printf("pdq_chunks %d chunks\n", m);
    printf("add_seconds %.2f s\n", t_add);
    printf("build_seconds %.2f s\n", t_build);
    printf("index_bytes %lld bytes\n", (long long)st.st_size);
    printf("index_bytes_per_hash %.1f bytes\n", (double)st.st_size / total);
    printf("open_seconds %.4f s\n", t_open);
    printf("pdq_r31_qps_first_pass %.0f queries/s\n", nq / t_first);
    printf("pdq_r31_qps %.0f queries/s\n", qps31);
    printf("pdq_r31_hits_per_query %.2f hits\n", (double)hits31 / nq);
    printf("pdq_r15_qps %.0f queries/s\n", qps15);
    printf("pdq_r64_qps %.1f queries/s\n", qps64);
    printf("recall_planted %.3f %%\n", recall);
    printf("brute_force_equal %zu/%zu queries\n", brute_ok, sample);
    printf("md5_build_seconds %.2f s\n", t_md5_build);
    printf("md5_index_bytes %lld bytes\n", (long long)mst.st_size);
    printf("md5_exact_qps %.0f lookups/s\n", MQ / t_md5);
    printf("md5_exact_hits %zu hits\n", mhits);
    printf("peak_rss %.1f MB\n", ru.ru_maxrss / 1024.0);
    free(all);
    free(qs);
    free(md5);
    free(mq);
    free(h.id);
    free(h.d);
    return recall == 100.0 && brute_ok == sample ? 0 : 1;
}
