/*
 * hidx - the mmap'd hash index of the shared lists: file layout, builder and
 * lookups. See hidx.h for the design.
 */
#include "hidx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "hidx maps its little-endian file in place: little-endian hosts only"
#endif

#define HIDX_MAGIC "CPHIDX01"
#define HIDX_NALG 6 /* arrays indexed by enum hidx_alg; slot 0 unused */
#define HIDX_MIN_CHUNKS 11
#define HIDX_MAX_CHUNKS 32
#define HIDX_MAX_CHUNK_BITS 24
#define HIDX_MAX_DIR_BITS 22
#define HIDX_MAX_ENTRIES 0xfffffff0u /* ordinals and bucket offsets are uint32 */
#define HIDX_ALIGN 64                /* sections start on cache lines: a PDQ hash never straddles two */

/* Section table slots: three per exact algorithm (values, ids, directory) in
 * the order of EXACT_ALGS, then the PDQ hashes, their ids, one bucket-offset
 * table per chunk and one ordinal list per chunk after the first. */
#define SEC_PDQ_HASHES 12
#define SEC_PDQ_IDS 13
#define SEC_PDQ_OFF 14                                 /* + chunk */
#define SEC_PDQ_ORD (SEC_PDQ_OFF + HIDX_MAX_CHUNKS)    /* + chunk; chunk 0 has none */
#define HIDX_NSECTIONS (SEC_PDQ_ORD + HIDX_MAX_CHUNKS) /* 78 */

static const enum hidx_alg EXACT_ALGS[4] = {HIDX_MD5, HIDX_SHA1, HIDX_SHA256, HIDX_PHOTODNA};

/* Where a section lies in the file. */
struct hidx_section {
    uint64_t off, len; /* bytes from the start of the file; len 0 when empty */
};

/* The file header at offset 0. Every field is little-endian; the section table
 * is redundant with the counts and layout fields and must agree with them. */
struct hidx_header {
    char magic[8];               /* "CPHIDX01" */
    uint64_t version;            /* data version the file was built from */
    uint64_t file_size;          /* bytes of the whole file */
    uint64_t count[HIDX_NALG];   /* entries per algorithm */
    uint8_t dir_bits[HIDX_NALG]; /* directory bits per exact algorithm */
    uint8_t nchunks;             /* PDQ chunks; 0 without PDQ entries */
    uint8_t pad0;
    uint8_t chunk_bits[HIDX_MAX_CHUNKS]; /* width of each chunk, summing to 256 */
    uint32_t nsections;                  /* HIDX_NSECTIONS */
    uint32_t pad1;
    struct hidx_section sec[HIDX_NSECTIONS];
    uint64_t checksum; /* FNV-1a 64 of all bytes before it */
};
_Static_assert(sizeof(struct hidx_header) == 1376, "the header layout is part of the file format");

/* One PDQ chunk as a lookup sees it. */
struct hidx_chunk {
    unsigned bits, word, shift; /* `bits` bits of word `word` from bit `shift`, on into word + 1 if need be */
    const uint32_t *off;        /* 2^bits + 1 bucket starts */
    const uint32_t *ord;        /* ordinals sorted by this chunk's value; NULL for chunk 0 */
    uint64_t mask[4];           /* the chunk's bits within the 256 */
};

/* An exact algorithm's arrays. */
struct hidx_exact_tab {
    const uint8_t *vals; /* n values, sorted bytewise */
    const int64_t *ids;  /* their entry ids */
    const uint32_t *dir; /* 2^bits + 1 starts by leading value bits */
    uint64_t n;
    unsigned bits;
    size_t size;
};

/* What identifies the file at a path for hidx_refresh. */
struct hidx_stat {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* An open index: the map and pointers into it, resolved once at open. */
struct hidx {
    const uint8_t *map;
    size_t size;
    const struct hidx_header *h;
    struct hidx_stat id;      /* the mapped file, for hidx_refresh */
    struct hidx_stat refused; /* a replacement that failed to open; not retried while unchanged */
    int have_refused;
    struct hidx_exact_tab ex[HIDX_NALG];
    const uint64_t *pdq;   /* 4 words per hash, sorted by chunk 0 */
    const int64_t *pdq_id; /* entry ids in the same order */
    uint32_t pdq_n;
    int m;
    struct hidx_chunk c[HIDX_MAX_CHUNKS];
};

/* One algorithm's entries in a builder, in insertion order. */
struct hidx_list {
    uint8_t *vals;
    int64_t *ids;
    size_t n, cap;
};

/* Entries per algorithm, indexed by enum hidx_alg. */
struct hidx_builder {
    struct hidx_list a[HIDX_NALG];
    int nchunks; /* PDQ chunks asked for; 0 = by entry count */
};

/* Value size per algorithm, 0 for anything else. */
size_t hidx_alg_size(enum hidx_alg a)
{
    switch (a) {
    case HIDX_MD5:
        return 16;
    case HIDX_SHA1:
        return 20;
    case HIDX_SHA256:
    case HIDX_PDQ:
        return 32;
    case HIDX_PHOTODNA:
        return 144;
    }
    return 0;
}

/* FNV-1a 64 over n bytes: the header checksum, cheap and enough to catch a
 * header that is damaged rather than forged. */
static uint64_t hidx_fnv(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* The first 8 bytes of a value as a big-endian number, so that its leading bits
 * order values the way memcmp does. */
static uint64_t hidx_be64(const uint8_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | v[i];
    return x;
}

/* Directory slot of a value: its leading `bits` bits. */
static uint32_t hidx_dir_key(const uint8_t *v, unsigned bits)
{
    return bits ? (uint32_t)(hidx_be64(v) >> (64 - bits)) : 0;
}

/* Directory bits for n exact values: four to eight values a slot, so a lookup
 * reads one directory word and a cache line or two of values. */
static unsigned hidx_dir_bits_for(uint64_t n)
{
    unsigned lg = 0;
    while (lg < 63 && (2ull << lg) <= n)
        lg++;
    return lg < 2 ? 0 : lg - 2 > HIDX_MAX_DIR_BITS ? HIDX_MAX_DIR_BITS : lg - 2;
}

/* PDQ chunks for n hashes. Multi-index hashing is fastest with chunks of about
 * log2(n) bits, but each chunk's bucket table has 2^bits words whatever n is, so
 * smaller lists use more, narrower chunks. The thresholds are where the bench's
 * radius-31 rate of one layout overtook the next (16 chunks: 19.9k/s at 500k
 * against 13.6k/s for 14; 14: 11.5k/s at 1M; 13: 10.9k/s at 2M; 12: 6.7k/s at
 * 4M and 3.6k/s at 10M, against 2.8k/s for 13 chunks). */
static int hidx_chunks_for(uint64_t n)
{
    if (n < 750000)
        return 16;
    if (n < 1500000)
        return 14;
    if (n < 3500000)
        return 13;
    return 12;
}

/* Round up to the section alignment. */
static uint64_t hidx_align(uint64_t x)
{
    return (x + HIDX_ALIGN - 1) & ~(uint64_t)(HIDX_ALIGN - 1);
}

/* Fill h->sec and h->file_size from the counts, directory bits and chunk widths,
 * the one layout writer and reader agree on. CP_OK, or CP_BAD when those fields
 * are out of range (a reader's first check of a header). */
static int hidx_layout(struct hidx_header *h)
{
    memset(h->sec, 0, sizeof h->sec);
    h->nsections = HIDX_NSECTIONS;
    uint64_t at = hidx_align(sizeof *h);
    for (int e = 0; e < 4; e++) {
        enum hidx_alg a = EXACT_ALGS[e];
        uint64_t n = h->count[a];
        if (n > HIDX_MAX_ENTRIES || h->dir_bits[a] > HIDX_MAX_DIR_BITS || (!n && h->dir_bits[a]))
            return CP_BAD;
        uint64_t len[3] = {n * hidx_alg_size(a), n * 8, n ? ((1ull << h->dir_bits[a]) + 1) * 4 : 0};
        for (int k = 0; k < 3; k++) {
            h->sec[3 * e + k] = (struct hidx_section){len[k] ? at : 0, len[k]};
            at = hidx_align(at + len[k]);
        }
    }
    uint64_t n = h->count[HIDX_PDQ];
    int m = h->nchunks;
    if (n > HIDX_MAX_ENTRIES || h->count[0] || h->dir_bits[0] || h->dir_bits[HIDX_PDQ] || h->pad0 || h->pad1 ||
        (n ? m < HIDX_MIN_CHUNKS || m > HIDX_MAX_CHUNKS : m != 0))
        return CP_BAD;
    unsigned sum = 0;
    for (int c = 0; c < HIDX_MAX_CHUNKS; c++) {
        unsigned b = h->chunk_bits[c];
        if (c < m ? b < 1 || b > HIDX_MAX_CHUNK_BITS : b != 0)
            return CP_BAD;
        sum += b;
    }
    if (m && sum != 256)
        return CP_BAD;
    if (n) {
        h->sec[SEC_PDQ_HASHES] = (struct hidx_section){at, n * 32};
        at = hidx_align(at + n * 32);
        h->sec[SEC_PDQ_IDS] = (struct hidx_section){at, n * 8};
        at = hidx_align(at + n * 8);
        for (int c = 0; c < m; c++) {
            uint64_t len = ((1ull << h->chunk_bits[c]) + 1) * 4;
            h->sec[SEC_PDQ_OFF + c] = (struct hidx_section){at, len};
            at = hidx_align(at + len);
        }
        for (int c = 1; c < m; c++) {
            h->sec[SEC_PDQ_ORD + c] = (struct hidx_section){at, n * 4};
            at = hidx_align(at + n * 4);
        }
    }
    h->file_size = at;
    return CP_OK;
}

/* Bit offset of chunk c's first bit. */
static unsigned hidx_chunk_start(const struct hidx_header *h, int c)
{
    unsigned s = 0;
    for (int i = 0; i < c; i++)
        s += h->chunk_bits[i];
    return s;
}

/* Chunk c's value of a hash given as four little-endian words. */
static inline uint32_t hidx_chunk_val(const struct hidx_chunk *c, const uint64_t *w)
{
    uint64_t v = w[c->word] >> c->shift;
    if (c->shift + c->bits > 64)
        v |= w[c->word + 1] << (64 - c->shift);
    return (uint32_t)(v & ((1ull << c->bits) - 1));
}

/* Describe chunks of the given widths (word, shift, mask), without tables. */
static void hidx_chunks_init(struct hidx_chunk *cs, const struct hidx_header *h)
{
    for (int c = 0; c < h->nchunks; c++) {
        unsigned s = hidx_chunk_start(h, c);
        struct hidx_chunk *ch = &cs[c];
        memset(ch, 0, sizeof *ch);
        ch->bits = h->chunk_bits[c];
        ch->word = s / 64;
        ch->shift = s % 64;
        for (unsigned b = s; b < s + ch->bits; b++)
            ch->mask[b / 64] |= 1ull << (b % 64);
    }
}

/* ---- builder ---- */

/* A new empty builder. */
struct hidx_builder *hidx_builder_new(void)
{
    return calloc(1, sizeof(struct hidx_builder));
}

/* Append one entry, doubling the arrays as they fill. */
int hidx_builder_add(struct hidx_builder *b, enum hidx_alg alg, const uint8_t *value, int64_t entry_id)
{
    size_t sz = hidx_alg_size(alg);
    if (!b || !sz || !value)
        return CP_BAD;
    struct hidx_list *l = &b->a[alg];
    if (l->n >= HIDX_MAX_ENTRIES)
        return CP_BAD;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        uint8_t *v = realloc(l->vals, cap * sz);
        if (!v)
            return CP_ERR;
        l->vals = v;
        int64_t *ids = realloc(l->ids, cap * sizeof *ids);
        if (!ids)
            return CP_ERR;
        l->ids = ids;
        l->cap = cap;
    }
    memcpy(l->vals + l->n * sz, value, sz);
    l->ids[l->n++] = entry_id;
    return CP_OK;
}

/* Choose the PDQ chunk count, or go back to the automatic one with 0. */
int hidx_builder_pdq_chunks(struct hidx_builder *b, int nchunks)
{
    if (!b || (nchunks && (nchunks < HIDX_MIN_CHUNKS || nchunks > HIDX_MAX_CHUNKS)))
        return CP_BAD;
    b->nchunks = nchunks;
    return CP_OK;
}

/* Free everything the builder holds. */
void hidx_builder_free(struct hidx_builder *b)
{
    if (!b)
        return;
    for (int a = 0; a < HIDX_NALG; a++) {
        free(b->a[a].vals);
        free(b->a[a].ids);
    }
    free(b);
}

/* qsort_r comparator of ordinals by the values they name (ctx: base, size). */
static int hidx_cmp_ord(const void *pa, const void *pb, void *ctx)
{
    const struct hidx_list *l = ((void **)ctx)[0];
    size_t sz = *(const size_t *)((void **)ctx)[1];
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    int r = memcmp(l->vals + a * sz, l->vals + b * sz, sz);
    return r ? r : (a > b) - (a < b); /* stable: duplicates keep insertion order */
}

/* Write one exact algorithm's sections: counting sort on the directory bits,
 * then each (small) directory slot sorted bytewise. CP_OK or CP_ERR. */
static int hidx_write_exact(const struct hidx_list *l, enum hidx_alg a, const struct hidx_header *h, uint8_t *map,
                            int e)
{
    size_t n = l->n, sz = hidx_alg_size(a);
    if (!n)
        return CP_OK;
    unsigned bits = h->dir_bits[a];
    size_t slots = (size_t)1 << bits;
    uint8_t *vals = map + h->sec[3 * e].off;
    int64_t *ids = (int64_t *)(map + h->sec[3 * e + 1].off);
    uint32_t *dir = (uint32_t *)(map + h->sec[3 * e + 2].off);
    uint32_t *perm = malloc(n * sizeof *perm), *cur = malloc(slots * sizeof *cur);
    if (!perm || !cur) {
        free(perm);
        free(cur);
        return CP_ERR;
    }
    memset(dir, 0, (slots + 1) * 4);
    for (size_t i = 0; i < n; i++)
        dir[hidx_dir_key(l->vals + i * sz, bits) + 1]++;
    for (size_t s = 0; s < slots; s++)
        dir[s + 1] += dir[s];
    memcpy(cur, dir, slots * sizeof *cur);
    for (size_t i = 0; i < n; i++)
        perm[cur[hidx_dir_key(l->vals + i * sz, bits)]++] = (uint32_t)i;
    const void *ctx[2] = {l, &sz};
    for (size_t s = 0; s < slots; s++) {
        uint32_t lo = dir[s], hi = dir[s + 1];
        if (hi - lo < 2)
            continue;
        if (hi - lo <= 16) { /* insertion sort: the usual slot holds a handful */
            for (uint32_t i = lo + 1; i < hi; i++) {
                uint32_t v = perm[i], j = i;
                while (j > lo && hidx_cmp_ord(&perm[j - 1], &v, ctx) > 0) {
                    perm[j] = perm[j - 1];
                    j--;
                }
                perm[j] = v;
            }
        } else {
            qsort_r(perm + lo, hi - lo, sizeof *perm, hidx_cmp_ord, ctx);
        }
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(vals + i * sz, l->vals + (size_t)perm[i] * sz, sz);
        ids[i] = l->ids[perm[i]];
    }
    free(perm);
    free(cur);
    return CP_OK;
}

/* Load a 32-byte hash as four little-endian words. */
static inline void hidx_words(const uint8_t *v, uint64_t w[4])
{
    memcpy(w, v, 32);
}

/* Counting sort step shared by all chunks: off[] (2^bits + 1 words) holds the
 * bucket sizes in off[v]; turn them into bucket ends, so that placing entries
 * in reverse order at --off[v] leaves off[v] at each bucket's start (and the
 * entries of a bucket in ascending order), with no cursor array. */
static void hidx_bucket_ends(uint32_t *off, size_t slots, size_t n)
{
    for (size_t s = 1; s < slots; s++)
        off[s] += off[s - 1];
    off[slots] = (uint32_t)n;
}

/* Write the PDQ sections: hashes and ids counting-sorted on chunk 0 (so its
 * buckets are ranges of them), then chunk by chunk the bucket starts and the
 * ordinals counting-sorted on that chunk. (Doing all chunks in one pass over
 * the hashes reads less but scatters into eleven regions at once: twice as
 * slow at 10M.) CP_OK or CP_ERR. */
static int hidx_write_pdq(const struct hidx_list *l, const struct hidx_header *h, uint8_t *map)
{
    size_t n = l->n;
    if (!n)
        return CP_OK;
    int m = h->nchunks;
    struct hidx_chunk cs[HIDX_MAX_CHUNKS];
    hidx_chunks_init(cs, h);
    uint32_t *off[HIDX_MAX_CHUNKS], *ord[HIDX_MAX_CHUNKS];
    for (int c = 0; c < m; c++) {
        off[c] = (uint32_t *)(map + h->sec[SEC_PDQ_OFF + c].off);
        ord[c] = c ? (uint32_t *)(map + h->sec[SEC_PDQ_ORD + c].off) : NULL;
        memset(off[c], 0, (((size_t)1 << cs[c].bits) + 1) * 4);
    }
    uint32_t *perm = malloc(n * sizeof *perm);
    if (!perm)
        return CP_ERR;
    uint64_t *hashes = (uint64_t *)(map + h->sec[SEC_PDQ_HASHES].off);
    int64_t *ids = (int64_t *)(map + h->sec[SEC_PDQ_IDS].off);
    uint64_t w[4];
    for (size_t i = 0; i < n; i++) {
        hidx_words(l->vals + i * 32, w);
        off[0][hidx_chunk_val(&cs[0], w)]++;
    }
    hidx_bucket_ends(off[0], (size_t)1 << cs[0].bits, n);
    for (size_t i = n; i-- > 0;) {
        hidx_words(l->vals + i * 32, w);
        perm[--off[0][hidx_chunk_val(&cs[0], w)]] = (uint32_t)i;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(hashes + 4 * i, l->vals + (size_t)perm[i] * 32, 32);
        ids[i] = l->ids[perm[i]];
    }
    free(perm);
    for (int c = 1; c < m; c++) {
        for (size_t i = 0; i < n; i++)
            off[c][hidx_chunk_val(&cs[c], hashes + 4 * i)]++;
        hidx_bucket_ends(off[c], (size_t)1 << cs[c].bits, n);
        for (size_t i = n; i-- > 0;)
            ord[c][--off[c][hidx_chunk_val(&cs[c], hashes + 4 * i)]] = (uint32_t)i;
    }
    return CP_OK;
}

/* Build the header of what b holds: counts, directory bits, PDQ chunk widths
 * (as even as possible, wider ones first), then the layout. */
static int hidx_header_of(const struct hidx_builder *b, uint64_t version, struct hidx_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, HIDX_MAGIC, 8);
    h->version = version;
    for (int e = 0; e < 4; e++) {
        enum hidx_alg a = EXACT_ALGS[e];
        h->count[a] = b->a[a].n;
        h->dir_bits[a] = (uint8_t)hidx_dir_bits_for(b->a[a].n);
    }
    uint64_t n = b->a[HIDX_PDQ].n;
    h->count[HIDX_PDQ] = n;
    if (n) {
        int m = b->nchunks ? b->nchunks : hidx_chunks_for(n);
        h->nchunks = (uint8_t)m;
        for (int c = 0; c < m; c++)
            h->chunk_bits[c] = (uint8_t)(256 / m + (c < 256 % m));
    }
    return hidx_layout(h);
}

/* Write the index file: reserve "<path>.tmp" at its final size, map it, fill
 * the sections and the header, fsync, rename over path and fsync the
 * directory, so a crash leaves the old file or the complete new one. */
int hidx_builder_write(struct hidx_builder *b, const char *path, uint64_t version, char *err, size_t errlen)
{
    struct hidx_header h;
    if (!b || !path)
        return fail(err, errlen, CP_ERR, "hidx: no builder or path");
    if (hidx_header_of(b, version, &h) != CP_OK)
        return fail(err, errlen, CP_ERR, "hidx: index too large");
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return fail(err, errlen, CP_ERR, "hidx: path too long: %s", path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(err, errlen, CP_ERR, "hidx: cannot create %s: %s", tmp, strerror(errno));
    uint8_t *map = MAP_FAILED;
    int rc = posix_fallocate(fd, 0, (off_t)h.file_size); /* ENOSPC here, not SIGBUS while filling the map */
    if (rc) {
        fail(err, errlen, CP_ERR, "hidx: cannot size %s: %s", tmp, strerror(rc));
        goto bad;
    }
    map = mmap(NULL, h.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        fail(err, errlen, CP_ERR, "hidx: cannot map %s: %s", tmp, strerror(errno));
        goto bad;
    }
    for (int e = 0; e < 4; e++) {
        if (hidx_write_exact(&b->a[EXACT_ALGS[e]], EXACT_ALGS[e], &h, map, e) != CP_OK) {
            fail(err, errlen, CP_ERR, "hidx: out of memory");
            goto bad;
        }
    }
    if (hidx_write_pdq(&b->a[HIDX_PDQ], &h, map) != CP_OK) {
        fail(err, errlen, CP_ERR, "hidx: out of memory");
        goto bad;
    }
    h.checksum = hidx_fnv(&h, offsetof(struct hidx_header, checksum));
    memcpy(map, &h, sizeof h);
    munmap(map, h.file_size);
    map = MAP_FAILED;
    if (fsync(fd) != 0) {
        fail(err, errlen, CP_ERR, "hidx: cannot sync %s: %s", tmp, strerror(errno));
        goto bad;
    }
    if (close(fd) != 0) {
        fd = -1;
        fail(err, errlen, CP_ERR, "hidx: cannot write %s: %s", tmp, strerror(errno));
        goto bad;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        fail(err, errlen, CP_ERR, "hidx: cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto bad;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* best effort: the rename itself is durable on most file systems anyway */
        fsync(dfd);
        close(dfd);
    }
    return CP_OK;
bad:
    if (map != MAP_FAILED)
        munmap(map, h.file_size);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return CP_ERR;
}

/* ---- reader ---- */

/* The identity of a file for hidx_refresh: replacing it by rename changes the
 * inode, and rewriting it in place (which must not happen) changes the mtime. */
static void hidx_stat_of(const struct stat *st, struct hidx_stat *s)
{
    s->dev = st->st_dev;
    s->ino = st->st_ino;
    s->size = st->st_size;
    s->mtime = st->st_mtim;
}

/* True when two identities name the same file state. */
static int hidx_stat_eq(const struct hidx_stat *a, const struct hidx_stat *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Check a mapped header against the file size and the layout its counts imply.
 * NULL when valid, else what is wrong. */
static const char *hidx_check_header(const uint8_t *map, size_t size)
{
    struct hidx_header h, want;
    if (size < sizeof h)
        return "too short for an index header";
    memcpy(&h, map, sizeof h);
    if (memcmp(h.magic, HIDX_MAGIC, 8) != 0)
        return "not an index file (bad magic)";
    if (h.checksum != hidx_fnv(&h, offsetof(struct hidx_header, checksum)))
        return "header checksum mismatch";
    if (h.file_size != size)
        return "file size differs from the header's (truncated?)";
    want = h;
    if (hidx_layout(&want) != CP_OK)
        return "header counts or layout out of range";
    if (want.file_size != h.file_size || want.nsections != h.nsections || memcmp(want.sec, h.sec, sizeof h.sec) != 0)
        return "section table does not match the counts";
    return NULL;
}

/* Map path and check its header; on success x's tables point into the map. */
struct hidx *hidx_open(const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        *err = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fail(err, errlen, CP_ERR, "hidx: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(err, errlen, CP_ERR, "hidx: %s is not a readable file", path);
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size < sizeof(struct hidx_header)) {
        fail(err, errlen, CP_ERR, "hidx: %s: too short for an index header", path);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        fail(err, errlen, CP_ERR, "hidx: cannot map %s: %s", path, strerror(errno));
        return NULL;
    }
    const char *why = hidx_check_header(map, size);
    struct hidx *x = why ? NULL : calloc(1, sizeof *x);
    if (!x) {
        fail(err, errlen, CP_ERR, "hidx: %s: %s", path, why ? why : "out of memory");
        munmap((void *)map, size);
        return NULL;
    }
    x->map = map;
    x->size = size;
    x->h = (const struct hidx_header *)map;
    hidx_stat_of(&st, &x->id);
    const struct hidx_header *h = x->h;
    for (int e = 0; e < 4; e++) {
        enum hidx_alg a = EXACT_ALGS[e];
        struct hidx_exact_tab *t = &x->ex[a];
        t->n = h->count[a];
        t->bits = h->dir_bits[a];
        t->size = hidx_alg_size(a);
        t->vals = map + h->sec[3 * e].off;
        t->ids = (const int64_t *)(map + h->sec[3 * e + 1].off);
        t->dir = (const uint32_t *)(map + h->sec[3 * e + 2].off);
    }
    x->pdq_n = (uint32_t)h->count[HIDX_PDQ];
    x->m = x->pdq_n ? h->nchunks : 0;
    x->pdq = (const uint64_t *)(map + h->sec[SEC_PDQ_HASHES].off);
    x->pdq_id = (const int64_t *)(map + h->sec[SEC_PDQ_IDS].off);
    hidx_chunks_init(x->c, h);
    for (int c = 0; c < x->m; c++) {
        x->c[c].off = (const uint32_t *)(map + h->sec[SEC_PDQ_OFF + c].off);
        x->c[c].ord = c ? (const uint32_t *)(map + h->sec[SEC_PDQ_ORD + c].off) : NULL;
    }
    /* Every query reads pages all over the file: have the kernel start
     * reading all of it now rather than fault it in a page at a time. */
    madvise((void *)map, size, MADV_WILLNEED);
    return x;
}

/* The data version from the header. */
uint64_t hidx_version(const struct hidx *x)
{
    return x ? x->h->version : 0;
}

/* Entry count of one algorithm. */
size_t hidx_count(const struct hidx *x, enum hidx_alg alg)
{
    if (!x || !hidx_alg_size(alg))
        return 0;
    return alg == HIDX_PDQ ? x->pdq_n : (size_t)x->ex[alg].n;
}

/* PDQ chunk count of the open index. */
int hidx_pdq_chunks(const struct hidx *x)
{
    return x ? x->m : 0;
}

/* Unmap and free. */
void hidx_close(struct hidx *x)
{
    if (!x)
        return;
    munmap((void *)x->map, x->size);
    free(x);
}

/* Reopen path when the file there is no longer the one x maps (see hidx.h). */
struct hidx *hidx_refresh(struct hidx *x, const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        *err = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        fail(err, errlen, CP_ERR, "hidx: cannot stat %s: %s", path, strerror(errno));
        return x;
    }
    struct hidx_stat now;
    hidx_stat_of(&st, &now);
    if (x && (hidx_stat_eq(&now, &x->id) || (x->have_refused && hidx_stat_eq(&now, &x->refused))))
        return x;
    struct hidx *y = hidx_open(path, err, errlen);
    if (!y) {
        if (x) {
            x->refused = now;
            x->have_refused = 1;
        }
        return x;
    }
    hidx_close(x);
    return y;
}

/* ---- exact lookups ---- */

/* Adapter that lets hidx_exact on PDQ reuse the radius-0 search. */
struct hidx_exact_pdq {
    void (*fn)(void *arg, int64_t entry_id);
    void *arg;
};

/* Forward a radius-0 PDQ hit to an exact-match callback. */
static void hidx_exact_pdq_hit(void *arg, int64_t entry_id, int distance)
{
    struct hidx_exact_pdq *a = arg;
    (void)distance;
    if (a->fn)
        a->fn(a->arg, entry_id);
}

/* Exact lookup: directory slot, binary search for the first equal value inside
 * it, then every equal value after it. Slot bounds read from the file are
 * clamped, so a damaged body cannot send the search outside the arrays. */
size_t hidx_exact(const struct hidx *x, enum hidx_alg alg, const uint8_t *value,
                  void (*fn)(void *arg, int64_t entry_id), void *arg)
{
    if (!x || !value || !hidx_alg_size(alg))
        return 0;
    if (alg == HIDX_PDQ) {
        struct hidx_exact_pdq a = {fn, arg};
        return hidx_pdq_ex(x, value, 0, HIDX_PLAN_AUTO, hidx_exact_pdq_hit, &a);
    }
    const struct hidx_exact_tab *t = &x->ex[alg];
    if (!t->n)
        return 0;
    uint32_t key = hidx_dir_key(value, t->bits);
    uint64_t lo = t->dir[key], hi = t->dir[key + 1];
    if (hi > t->n)
        hi = t->n;
    if (lo > hi)
        lo = hi;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->vals + mid * t->size, value, t->size) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t hits = 0;
    for (; lo < t->n && memcmp(t->vals + lo * t->size, value, t->size) == 0; lo++, hits++)
        if (fn)
            fn(arg, t->ids[lo]);
    return hits;
}

/* ---- PDQ lookups ---- */

/* Cost model of a query, in nanoseconds as measured by the bench on a 2-core
 * Xeon VM: a probe (a bucket-table read and the start of its list) and a
 * candidate (a random 32-byte hash read and compare) each cost about 20 ns at
 * 1M-10M hashes (15 ns at 100k), a hash of a sequential scan 3-5 ns (popcount
 * bound in cache, bandwidth bound beyond). Only the ratios matter: they pick
 * the thresholds and whether to scan instead (for small lists at large radii;
 * at 10M probing still beats scanning 3:1 at radius 64). */
#define HIDX_COST_PROBE 20.0
#define HIDX_COST_CAND 20.0
#define HIDX_COST_SCAN 4.0

#define HIDX_NBR_BLOCK 256   /* neighbour values probed together (prefetch batch) */
#define HIDX_CAND_BLOCK 2048 /* candidates verified together */
#define HIDX_PREFETCH 16     /* candidates prefetched ahead */

/* One PDQ query in flight: query, thresholds, callback and candidate buffer. */
struct hidx_query {
    const struct hidx *x;
    uint64_t q[4];
    int r;
    int t[HIDX_MAX_CHUNKS]; /* threshold per chunk; -1 = not probed */
    void (*fn)(void *arg, int64_t entry_id, int distance);
    void *arg;
    size_t hits;
    size_t ncand;
    uint32_t cand[HIDX_CAND_BLOCK];
};

/* Binomial coefficient as a double (b <= 32). */
static double hidx_binom(unsigned b, int k)
{
    if (k < 0 || (unsigned)k > b)
        return 0;
    double r = 1;
    for (int i = 1; i <= k; i++)
        r = r * (b - k + i) / i;
    return r;
}

/* Choose the thresholds t[] for radius r: start with every chunk unused and
 * raise, one step at a time, the threshold whose next step adds the least
 * modelled cost, until sum(t + 1) >= r + 1 (the pigeonhole condition). A
 * chunk's step costs grow with t (up to half its width), so greedy steps give
 * the cheapest such set. Returns the modelled cost of probing. */
static double hidx_plan_thresholds(const struct hidx *x, int r, int *t)
{
    double unit[HIDX_MAX_CHUNKS], cost = 0;
    for (int c = 0; c < x->m; c++) {
        t[c] = -1;
        unit[c] = HIDX_COST_PROBE + HIDX_COST_CAND * (double)x->pdq_n / (double)(1ull << x->c[c].bits);
    }
    for (int need = r + 1; need > 0; need--) {
        int best = -1;
        double best_cost = 0;
        for (int c = 0; c < x->m; c++) {
            if ((unsigned)(t[c] + 1) > x->c[c].bits)
                continue;
            double step = hidx_binom(x->c[c].bits, t[c] + 1) * unit[c];
            if (best < 0 || step < best_cost) {
                best = c;
                best_cost = step;
            }
        }
        if (best < 0) /* every chunk fully enumerated: unreachable for r <= 256 */
            break;
        t[best]++;
        cost += best_cost;
    }
    return cost;
}

/* Number of set bits; hardware popcount where the caller was compiled for it. */
static inline __attribute__((always_inline)) int hidx_pop(uint64_t v)
{
    return __builtin_popcountll(v);
}

/* Report candidate o (found through chunk c at distance d) unless an earlier
 * probed chunk is within its threshold, i.e. it was already reported there. */
static inline __attribute__((always_inline)) void hidx_report(struct hidx_query *qr, uint32_t o, int c, int d)
{
    const struct hidx *x = qr->x;
    const uint64_t *h = x->pdq + 4 * (size_t)o;
    for (int i = 0; i < c; i++) {
        if (qr->t[i] < 0)
            continue;
        const uint64_t *mk = x->c[i].mask;
        int di = hidx_pop((h[0] ^ qr->q[0]) & mk[0]) + hidx_pop((h[1] ^ qr->q[1]) & mk[1]) +
                 hidx_pop((h[2] ^ qr->q[2]) & mk[2]) + hidx_pop((h[3] ^ qr->q[3]) & mk[3]);
        if (di <= qr->t[i])
            return;
    }
    qr->hits++;
    if (qr->fn)
        qr->fn(qr->arg, x->pdq_id[o], d);
}

/* Verify the buffered candidates of chunk c on all 256 bits, prefetching the
 * hashes a few candidates ahead so their cache misses overlap. */
static inline __attribute__((always_inline)) void hidx_verify_body(struct hidx_query *qr, int c)
{
    const uint64_t *base = qr->x->pdq;
    const uint64_t q0 = qr->q[0], q1 = qr->q[1], q2 = qr->q[2], q3 = qr->q[3];
    size_t n = qr->ncand;
    for (size_t k = 0; k < n; k++) {
        if (k + HIDX_PREFETCH < n)
            __builtin_prefetch(base + 4 * (size_t)qr->cand[k + HIDX_PREFETCH]);
        const uint64_t *h = base + 4 * (size_t)qr->cand[k];
        int d = hidx_pop(h[0] ^ q0) + hidx_pop(h[1] ^ q1) + hidx_pop(h[2] ^ q2) + hidx_pop(h[3] ^ q3);
        if (d <= qr->r)
            hidx_report(qr, qr->cand[k], c, d);
    }
    qr->ncand = 0;
}

/* Scan every hash: the plan for radii where probing would touch most of them. */
static inline __attribute__((always_inline)) void hidx_scan_body(struct hidx_query *qr)
{
    const uint64_t *h = qr->x->pdq;
    const int64_t *ids = qr->x->pdq_id;
    const size_t n = qr->x->pdq_n;
    const uint64_t q0 = qr->q[0], q1 = qr->q[1], q2 = qr->q[2], q3 = qr->q[3];
    const int r = qr->r;
    for (size_t i = 0; i < n; i++, h += 4) {
        int d = hidx_pop(h[0] ^ q0) + hidx_pop(h[1] ^ q1) + hidx_pop(h[2] ^ q2) + hidx_pop(h[3] ^ q3);
        if (d <= r) {
            qr->hits++;
            if (qr->fn)
                qr->fn(qr->arg, ids[i], d);
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define HIDX_HW_POPCNT 1
/* The two hot loops compiled for the POPCNT instruction (the project builds
 * for baseline x86-64, whose popcount is a slow bit-twiddling call). */
__attribute__((target("popcnt"))) static void hidx_verify_hw(struct hidx_query *qr, int c)
{
    hidx_verify_body(qr, c);
}
__attribute__((target("popcnt"))) static void hidx_scan_hw(struct hidx_query *qr)
{
    hidx_scan_body(qr);
}
#endif

/* The same loops for CPUs without POPCNT. */
static void hidx_verify_sw(struct hidx_query *qr, int c)
{
    hidx_verify_body(qr, c);
}
static void hidx_scan_sw(struct hidx_query *qr)
{
    hidx_scan_body(qr);
}

/* Whether the CPU has POPCNT, asked once. */
static int hidx_have_popcnt(void)
{
#ifdef HIDX_HW_POPCNT
    static int have = -1;
    if (have < 0) {
        __builtin_cpu_init();
        have = __builtin_cpu_supports("popcnt") ? 1 : 0;
    }
    return have;
#else
    return 0;
#endif
}

/* Verify and empty the candidate buffer. */
static void hidx_verify(struct hidx_query *qr, int c)
{
#ifdef HIDX_HW_POPCNT
    if (hidx_have_popcnt()) {
        hidx_verify_hw(qr, c);
        return;
    }
#endif
    hidx_verify_sw(qr, c);
}

/* Probe a block of neighbour values of chunk c: read all their bucket bounds
 * (prefetched together), then queue every entry of those buckets. Bounds are
 * clamped and ordinals checked, so a damaged body cannot read out of bounds. */
static void hidx_probe_block(struct hidx_query *qr, int c, const uint32_t *vals, size_t nv)
{
    const struct hidx *x = qr->x;
    const struct hidx_chunk *ch = &x->c[c];
    uint32_t lo[HIDX_NBR_BLOCK], hi[HIDX_NBR_BLOCK];
    for (size_t i = 0; i < nv; i++)
        __builtin_prefetch(ch->off + vals[i]);
    for (size_t i = 0; i < nv; i++) {
        uint32_t l = ch->off[vals[i]], h = ch->off[vals[i] + 1];
        if (h > x->pdq_n)
            h = x->pdq_n;
        if (l > h)
            l = h;
        lo[i] = l;
        hi[i] = h;
        if (l < h)
            __builtin_prefetch(ch->ord ? (const void *)(ch->ord + l) : (const void *)(x->pdq + 4 * (size_t)l));
    }
    for (size_t i = 0; i < nv; i++) {
        for (uint32_t j = lo[i]; j < hi[i]; j++) {
            uint32_t o = ch->ord ? ch->ord[j] : j;
            if (o >= x->pdq_n)
                continue;
            if (qr->ncand == HIDX_CAND_BLOCK)
                hidx_verify(qr, c);
            qr->cand[qr->ncand++] = o;
        }
    }
}

/* Probe chunk c: every value within t[c] bits of the query's chunk value, by
 * popcount 0, 1, ... t[c], each popcount's masks in order (Gosper's hack). */
static void hidx_probe_chunk(struct hidx_query *qr, int c)
{
    const struct hidx_chunk *ch = &qr->x->c[c];
    uint32_t qc = hidx_chunk_val(ch, qr->q), vals[HIDX_NBR_BLOCK];
    uint64_t limit = 1ull << ch->bits;
    size_t nv = 0;
    for (int k = 0; k <= qr->t[c]; k++) {
        for (uint64_t mk = (1ull << k) - 1; mk < limit;) {
            vals[nv++] = qc ^ (uint32_t)mk;
            if (nv == HIDX_NBR_BLOCK) {
                hidx_probe_block(qr, c, vals, nv);
                nv = 0;
            }
            if (!mk)
                break;
            uint64_t u = mk & -mk, v = mk + u;
            mk = v + (((v ^ mk) / u) >> 2);
        }
    }
    if (nv)
        hidx_probe_block(qr, c, vals, nv);
    if (qr->ncand)
        hidx_verify(qr, c);
}

/* PDQ search with the plan chosen by the cost model or forced. */
size_t hidx_pdq_ex(const struct hidx *x, const uint8_t value[32], int max_distance, enum hidx_plan plan,
                   void (*fn)(void *arg, int64_t entry_id, int distance), void *arg)
{
    if (!x || !value || max_distance < 0 || !x->pdq_n)
        return 0;
    struct hidx_query qr;
    qr.x = x;
    hidx_words(value, qr.q);
    qr.r = max_distance > 256 ? 256 : max_distance;
    qr.fn = fn;
    qr.arg = arg;
    qr.hits = 0;
    qr.ncand = 0;
    double probe_cost = hidx_plan_thresholds(x, qr.r, qr.t);
    if (plan == HIDX_PLAN_SCAN || (plan == HIDX_PLAN_AUTO && probe_cost >= HIDX_COST_SCAN * x->pdq_n)) {
#ifdef HIDX_HW_POPCNT
        if (hidx_have_popcnt())
            hidx_scan_hw(&qr);
        else
#endif
            hidx_scan_sw(&qr);
        return qr.hits;
    }
    for (int c = 0; c < x->m; c++)
        if (qr.t[c] >= 0)
            hidx_probe_chunk(&qr, c);
    return qr.hits;
}

/* PDQ search, plan by cost model. */
size_t hidx_pdq(const struct hidx *x, const uint8_t value[32], int max_distance,
                void (*fn)(void *arg, int64_t entry_id, int distance), void *arg)
{
    return hidx_pdq_ex(x, value, max_distance, HIDX_PLAN_AUTO, fn, arg);
}
