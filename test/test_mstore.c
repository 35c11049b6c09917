/*
 * test_mstore - the media store and the digests it relies on. Digests: MD5,
 * SHA-1 and SHA-256 of "", "abc" and a million 'a' (at once and in pieces).
 * Keys: created 0600 in a 0700 dir and never overwritten; a missing, short or
 * group-readable key is refused. Originals: round trips of 0, 1, 65535, 65536,
 * 65537 and 3 MB random bytes (size on disk as the format says), de-duplication
 * keeps the stored file, a wrong SHA-256 stores nothing, names do not reveal
 * the SHA-256. Tampering (header, secretstream header, chunk 2, last byte,
 * truncation by a byte and by a chunk, appended bytes, swapped chunks, another
 * content's file, another store's key) is CP_BAD. mstore_get's limit, a failing
 * writer, previews, removal; failed writes leave no temp files behind. All
 * contents are random bytes.
 */
#include "digest.h"
#include "mstore.h"
#include "test.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define INTEGRITY "stored content failed its integrity check: "
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

static char root[64];    /* this run's directory */
static struct mstore MS; /* the store under root/data, key in root/keys */

/* ---------------------------------------------------------------- helpers */

/* A path under the run's directory, in one of four rotating buffers. */
static const char *at(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", root, name);
    return p[k];
}

/* nftw callback removing everything. */
static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}


/* Replace a file's bytes in place (same inode, mode kept); 0 or -1. */
static int spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(p, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* n random bytes (malloc'd) and their SHA-256. */
static uint8_t *random_content(size_t n, uint8_t sha[32])
{
    uint8_t *p = malloc(n ? n : 1);
    randombytes_buf(p, n);
    crypto_hash_sha256(sha, p, n);
    return p;
}

/* Store n random bytes; the content (malloc'd) and its SHA-256, or NULL. */
static uint8_t *put_random(const struct mstore *ms, size_t n, uint8_t sha[32])
{
    char err[256];
    uint8_t *p = random_content(n, sha);
    if (mstore_put(ms, sha, p, n, err, sizeof err) != CP_OK) {
        fprintf(stderr, "  put %zu bytes: %s\n", n, err);
        free(p);
        return NULL;
    }
    return p;
}

/* The size the format gives an encrypted content of n bytes. */
static long long stored_size(size_t n)
{
    size_t chunks = n == 0 ? 1 : (n - 1) / MSTORE_CHUNK + 1;
    return MSTORE_HEADER + (long long)n + ABYTES * (long long)chunks;
}

/* A writer collecting what mstore_stream hands out; fails on call fail_at. */
struct sink {
    uint8_t *p;
    size_t len, cap;
    int calls, fail_at;
};

static int sink_write(void *w, const void *p, size_t n)
{
    struct sink *s = w;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return 1;
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->p = realloc(s->p, s->cap);
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    return 0;
}

/* True when the stored content sha fails every reader with CP_BAD and the
 * integrity message (containing why, when given). */
static int tampered(const uint8_t sha[32], const char *why)
{
    char err[256] = "";
    int64_t bytes = -1;
    int ok = 1;
    int rc = mstore_verify(&MS, sha, &bytes, err, sizeof err);
    if (rc != CP_BAD || strncmp(err, INTEGRITY, strlen(INTEGRITY)) != 0 || (why && !strstr(err, why))) {
        fprintf(stderr, "  verify: %d %s (expected \"%s\")\n", rc, err, why ? why : "");
        ok = 0;
    }
    struct sink s = {0};
    if (mstore_stream(&MS, sha, sink_write, &s, err, sizeof err) != CP_BAD)
        ok = 0;
    free(s.p);
    uint8_t *out = (uint8_t *)1;
    size_t n = 1;
    if (mstore_get(&MS, sha, 1 << 30, &out, &n, err, sizeof err) != CP_BAD || out != NULL || n != 0)
        ok = 0;
    return ok;
}

/* True when the stored content sha verifies as n bytes. */
static int sound(const uint8_t sha[32], size_t n)
{
    char err[256] = "";
    int64_t bytes = -1;
    int rc = mstore_verify(&MS, sha, &bytes, err, sizeof err);
    if (rc != CP_OK)
        fprintf(stderr, "  verify: %s\n", err);
    return rc == CP_OK && bytes == (int64_t)n;
}

/* Files whose names are not what the store writes (64 hex digits, plus .jpg
 * under previews/, media.key under keys): temp files left behind. */
static int strays;
static int stray_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)f;
    if (flag != FTW_F)
        return 0;
    const char *base = strrchr(p, '/') + 1;
    size_t len = strlen(base);
    int hex = len >= 64;
    for (size_t i = 0; hex && i < 64; i++)
        hex = util_hexval(base[i]) >= 0 && !(base[i] >= 'A' && base[i] <= 'F');
    int ok = (hex && len == 64 && strstr(p, "/media/")) || (hex && len == 68 && !strcmp(base + 64, ".jpg")) ||
             !strcmp(base, "media.key");
    if (!ok) {
        fprintf(stderr, "  stray file %s\n", p);
        strays++;
    }
    return 0;
}

/* Stray files under dir (0 when it does not exist). */
static int count_strays(const char *dir)
{
    strays = 0;
    nftw(dir, stray_one, 16, FTW_PHYS);
    return strays;
}

/* Entries in a directory, not counting . and ..; -1 when it cannot be read. */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ tests */

/* Known vectors, at once and in uneven pieces. */
static void test_digest_vectors(void)
{
    static const struct {
        const char *md5, *sha1, *sha256;
    } want[3] = {
        {"d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"900150983cd24fb0d6963f7d28e17f72", "a9993e364706816aba3e25717850c26c9cd0d89d",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"7707d6ae4e027c70eea2a935c2296f21", "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
         "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    uint8_t *million = malloc(1000000);
    REQUIRE(million);
    memset(million, 'a', 1000000);
    const uint8_t *in[3] = {(const uint8_t *)"", (const uint8_t *)"abc", million};
    size_t len[3] = {0, 3, 1000000};
    for (int i = 0; i < 3; i++) {
        uint8_t md5[16], sha1[20], sha256[32];
        char hex[65];
        digest_all(in[i], len[i], md5, sha1, sha256);
        util_hex_encode(md5, 16, hex);
        CHECK_STR(hex, want[i].md5);
        util_hex_encode(sha1, 20, hex);
        CHECK_STR(hex, want[i].sha1);
        util_hex_encode(sha256, 32, hex);
        CHECK_STR(hex, want[i].sha256);

        struct digest_ctx c;
        REQUIRE(digest_init(&c) == CP_OK);
        size_t piece = 1;
        for (size_t o = 0; o < len[i]; piece = piece * 7 % 9973 + 1) {
            size_t k = len[i] - o < piece ? len[i] - o : piece;
            digest_update(&c, in[i] + o, k);
            o += k;
        }
        memset(md5, 0, 16), memset(sha1, 0, 20), memset(sha256, 0, 32);
        CHECK(digest_final(&c, md5, sha1, sha256) == CP_OK);
        util_hex_encode(md5, 16, hex);
        CHECK_STR(hex, want[i].md5);
        util_hex_encode(sha1, 20, hex);
        CHECK_STR(hex, want[i].sha1);
        util_hex_encode(sha256, 32, hex);
        CHECK_STR(hex, want[i].sha256);
    }
    free(million);
    /* an abandoned stream releases its contexts (ASan would report a leak) */
    struct digest_ctx c;
    REQUIRE(digest_init(&c) == CP_OK);
    digest_update(&c, "abc", 3);
    digest_free(&c);
    digest_free(&c);
}

/* Key creation and the refusals of mstore_open. */
static void test_keys(void)
{
    char err[512], kdir[256], kpath[300];
    struct mstore ms;
    snprintf(kdir, sizeof kdir, "%s", at("k1"));
    snprintf(kpath, sizeof kpath, "%s/media.key", kdir);

    CHECK_INT(mstore_open(&ms, at("d1"), kdir, err, sizeof err), CP_NOTFOUND);
    CHECK(strstr(err, "cport migrate") != NULL);

    REQUIRE(mstore_key_create(kdir, err, sizeof err) == CP_OK);
    struct stat st, st2;
    REQUIRE(stat(kdir, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0700);
    REQUIRE(stat(kpath, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0600);
    CHECK_INT(st.st_size, 32);
    CHECK_INT(count_files(kdir), 1); /* no temp file left */
    size_t n1, n2;
    uint8_t *k1 = test_slurp(kpath, &n1);
    REQUIRE(k1 && n1 == 32);

    /* a second call keeps the key: same inode, same bytes */
    CHECK(mstore_key_create(kdir, err, sizeof err) == CP_OK);
    REQUIRE(stat(kpath, &st2) == 0);
    CHECK(st2.st_ino == st.st_ino);
    uint8_t *k2 = test_slurp(kpath, &n2);
    CHECK(k2 && n2 == 32 && memcmp(k1, k2, 32) == 0);
    free(k2);
    CHECK_INT(count_files(kdir), 1);

    /* open derives the two keys with crypto_kdf, context "cportmed" */
    REQUIRE(mstore_open(&ms, at("d1"), kdir, err, sizeof err) == CP_OK);
    uint8_t sub1[32], sub2[32], zero[32] = {0};
    crypto_kdf_derive_from_key(sub1, 32, 1, "cportmed", k1);
    crypto_kdf_derive_from_key(sub2, 32, 2, "cportmed", k1);
    CHECK(memcmp(ms.key, sub1, 32) == 0);
    CHECK(memcmp(ms.name_key, sub2, 32) == 0);
    CHECK(memcmp(ms.key, ms.name_key, 32) != 0);
    CHECK(memcmp(ms.key, k1, 32) != 0);
    CHECK_STR(ms.dir, at("d1/media"));
    CHECK_STR(ms.preview_dir, at("d1/previews"));
    mstore_close(&ms);
    CHECK(memcmp(ms.key, zero, 32) == 0 && memcmp(ms.name_key, zero, 32) == 0);
    free(k1);

    /* readable by others: refused, naming the file */
    REQUIRE(chmod(kpath, 0644) == 0);
    CHECK_INT(mstore_open(&ms, at("d1"), kdir, err, sizeof err), CP_BAD);
    CHECK(strstr(err, kpath) != NULL && strstr(err, "group or others") != NULL);
    REQUIRE(chmod(kpath, 0640) == 0);
    CHECK_INT(mstore_open(&ms, at("d1"), kdir, err, sizeof err), CP_BAD);
    REQUIRE(chmod(kpath, 0600) == 0);
    CHECK_INT(mstore_open(&ms, at("d1"), kdir, err, sizeof err), CP_OK);
    mstore_close(&ms);

    /* a short key: refused, and mstore_key_create does not replace it */
    char sdir[256], spath[300];
    snprintf(sdir, sizeof sdir, "%s", at("k-short"));
    snprintf(spath, sizeof spath, "%s/media.key", sdir);
    REQUIRE(mkdir(sdir, 0700) == 0);
    uint8_t half[16];
    randombytes_buf(half, sizeof half);
    REQUIRE(spill(spath, half, sizeof half) == 0 && chmod(spath, 0600) == 0);
    CHECK_INT(mstore_open(&ms, at("d1"), sdir, err, sizeof err), CP_BAD);
    CHECK(strstr(err, spath) != NULL && strstr(err, "16 bytes") != NULL);
    CHECK_INT(mstore_key_create(sdir, err, sizeof err), CP_OK);
    REQUIRE(stat(spath, &st) == 0);
    CHECK_INT(st.st_size, 16);

    /* a key dir that cannot be created */
    REQUIRE(spill(at("k-file"), "x", 1) == 0);
    CHECK_INT(mstore_key_create(at("k-file"), err, sizeof err), CP_ERR);
}

/* Round trips through put, get, stream and verify. */
static void test_roundtrip(void)
{
    static const size_t sizes[] = {0, 1, 65535, 65536, 65537, 3 * 1000 * 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        uint8_t sha[32];
        char err[256], path[MSTORE_PATH_MAX];
        CHECK(!mstore_has(&MS, (uint8_t[32]){0}));
        uint8_t *p = put_random(&MS, n, sha);
        REQUIRE(p);
        CHECK(mstore_has(&MS, sha));
        mstore_path(&MS, sha, path, sizeof path);
        struct stat st;
        REQUIRE(stat(path, &st) == 0);
        CHECK_INT(st.st_size, stored_size(n));
        CHECK_INT(st.st_mode & 07777, 0640);
        *strrchr(path, '/') = 0;
        REQUIRE(stat(path, &st) == 0);
        CHECK_INT(st.st_mode & 07777, 0750);
        REQUIRE(stat(MS.dir, &st) == 0);
        CHECK_INT(st.st_mode & 07777, 0750);

        uint8_t *out = NULL;
        size_t got = 99;
        CHECK_INT(mstore_get(&MS, sha, n, &out, &got, err, sizeof err), CP_OK);
        CHECK(out && got == n && memcmp(out, p, n) == 0);
        free(out);

        struct sink s = {0};
        CHECK_INT(mstore_stream(&MS, sha, sink_write, &s, err, sizeof err), CP_OK);
        CHECK(s.len == n && (n == 0 || memcmp(s.p, p, n) == 0));
        CHECK_INT(s.calls, (n + MSTORE_CHUNK - 1) / MSTORE_CHUNK); /* one per chunk, none for empty */
        free(s.p);

        CHECK(sound(sha, n));
        free(p);
    }
}

/* A second put of the same content keeps the stored file untouched. */
static void test_dedupe(void)
{
    uint8_t sha[32];
    char err[256], path[MSTORE_PATH_MAX];
    uint8_t *p = put_random(&MS, 100000, sha);
    REQUIRE(p);
    mstore_path(&MS, sha, path, sizeof path);
    struct stat a, b;
    size_t n1, n2;
    REQUIRE(stat(path, &a) == 0);
    uint8_t *before = test_slurp(path, &n1);
    usleep(20000);
    CHECK_INT(mstore_put(&MS, sha, p, 100000, err, sizeof err), CP_OK);
    REQUIRE(stat(path, &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
    uint8_t *after = test_slurp(path, &n2);
    /* a rewrite would differ everywhere: each encryption has a fresh random header */
    CHECK(before && after && n1 == n2 && memcmp(before, after, n1) == 0);
    free(before);
    free(after);
    free(p);
}

/* A content that does not hash to the given SHA-256 is refused, nothing stored. */
static void test_wrong_sha(void)
{
    uint8_t sha[32], other[32];
    char err[256], path[MSTORE_PATH_MAX];
    uint8_t *p = random_content(5000, sha);
    free(random_content(5000, other));
    CHECK_INT(mstore_put(&MS, other, p, 5000, err, sizeof err), CP_BAD);
    CHECK(!mstore_has(&MS, other));
    CHECK(!mstore_has(&MS, sha));
    mstore_path(&MS, other, path, sizeof path);
    CHECK(access(path, F_OK) != 0);
    CHECK_INT(mstore_verify(&MS, other, NULL, err, sizeof err), CP_NOTFOUND);
    p[0] ^= 1; /* one bit off */
    CHECK_INT(mstore_put(&MS, sha, p, 5000, err, sizeof err), CP_BAD);
    CHECK(!mstore_has(&MS, sha));
    free(p);
    CHECK_INT(count_strays(MS.dir), 0);
}

/* Names are keyed hashes: 64 lower-case hex digits unrelated to the SHA-256. */
static void test_names(void)
{
    for (int i = 0; i < 50; i++) {
        uint8_t sha[32];
        char name[65], hex[65], path[MSTORE_PATH_MAX], want[MSTORE_PATH_MAX + 80], rel[200];
        randombytes_buf(sha, 32);
        util_hex_encode(sha, 32, hex);
        mstore_name(&MS, sha, name);
        CHECK_INT(strlen(name), 64);
        CHECK(strspn(name, "0123456789abcdef") == 64);
        CHECK(strcmp(name, hex) != 0);
        CHECK(strstr(name, hex) == NULL);
        mstore_path(&MS, sha, path, sizeof path);
        snprintf(want, sizeof want, "%s/%.2s/%s", MS.dir, name, name);
        CHECK_STR(path, want);
        CHECK(strstr(path, hex) == NULL);
        mstore_preview_rel(&MS, sha, rel, sizeof rel);
        snprintf(want, sizeof want, "previews/%.2s/%s.jpg", name, name);
        CHECK_STR(rel, want);
        char again[65];
        mstore_name(&MS, sha, again);
        CHECK_STR(again, name);
    }
}

/* Every kind of damage to a stored file is CP_BAD, and the undamaged file
 * still verifies afterwards. The content has four chunks, the last partial. */
static void test_tamper(void)
{
    const size_t n = 3 * MSTORE_CHUNK + 3392;
    const size_t C = MSTORE_CHUNK + ABYTES; /* a whole chunk on disk */
    uint8_t sha[32];
    char path[MSTORE_PATH_MAX];
    uint8_t *p = put_random(&MS, n, sha);
    REQUIRE(p);
    mstore_path(&MS, sha, path, sizeof path);
    size_t len;
    uint8_t *orig = test_slurp(path, &len);
    REQUIRE(orig && (long long)len == stored_size(n));
    uint8_t *b = malloc(len + 2 * C);
    REQUIRE(b);

    /* single flipped bytes: magic, length, secretstream header, middle of
     * chunk 2, the very last byte */
    static const struct {
        long off; /* negative: from the end */
        const char *why;
    } flips[] = {
        {0, "not a CPORTMS1 file"},
        {8, "implies"},
        {16 + 3, "chunk 1 failed authentication"},
        {MSTORE_HEADER + MSTORE_CHUNK + ABYTES + (MSTORE_CHUNK + ABYTES) / 2, "chunk 2 failed authentication"},
        {-1, "chunk 4 failed authentication"},
    };
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        memcpy(b, orig, len);
        size_t off = flips[i].off < 0 ? len - (size_t)-flips[i].off : (size_t)flips[i].off;
        b[off] ^= 0x20;
        REQUIRE(spill(path, b, len) == 0);
        CHECK(tampered(sha, flips[i].why));
    }
    REQUIRE(spill(path, orig, len) == 0);
    CHECK(sound(sha, n));

    /* truncated by one byte, and by the whole final chunk */
    REQUIRE(spill(path, orig, len - 1) == 0);
    CHECK(tampered(sha, "truncated"));
    REQUIRE(spill(path, orig, len - (3392 + ABYTES)) == 0);
    CHECK(tampered(sha, "truncated"));
    /* ... and with the header's length rewritten to match: the stream itself
     * shows the missing FINAL tag */
    memcpy(b, orig, len);
    b[8] = 0, b[9] = 0, b[10] = 3, b[11] = 0; /* 3 * 65536 */
    REQUIRE(spill(path, b, len - (3392 + ABYTES)) == 0);
    CHECK(tampered(sha, "no final chunk"));

    /* bytes appended; and appended with the length rewritten to cover them */
    memcpy(b, orig, len);
    memcpy(b + len, "extra", 5);
    REQUIRE(spill(path, b, len + 5) == 0);
    CHECK(tampered(sha, "bytes appended"));
    b[8] = (uint8_t)((n + 5) & 0xff), b[9] = (uint8_t)((n + 5) >> 8), b[10] = (uint8_t)((n + 5) >> 16);
    REQUIRE(spill(path, b, len + 5) == 0);
    CHECK(tampered(sha, "chunk 4 failed authentication"));

    /* chunks 1 and 2 swapped */
    memcpy(b, orig, len);
    memcpy(b + MSTORE_HEADER, orig + MSTORE_HEADER + C, C);
    memcpy(b + MSTORE_HEADER + C, orig + MSTORE_HEADER, C);
    REQUIRE(spill(path, b, len) == 0);
    CHECK(tampered(sha, "chunk 1 failed authentication"));

    /* the file truncated to its first chunk and padded with random bytes to
     * the size the header implies */
    memcpy(b, orig, MSTORE_HEADER + C);
    randombytes_buf(b + MSTORE_HEADER + C, len - MSTORE_HEADER - C);
    REQUIRE(spill(path, b, len) == 0);
    CHECK(tampered(sha, "chunk 2 failed authentication"));

    /* a partial read hands out the authenticated chunk 1 before failing: the
     * reason callers verify first */
    memcpy(b, orig, len);
    b[MSTORE_HEADER + C + 100] ^= 1;
    REQUIRE(spill(path, b, len) == 0);
    struct sink s = {0};
    char err[256];
    CHECK_INT(mstore_stream(&MS, sha, sink_write, &s, err, sizeof err), CP_BAD);
    CHECK(s.len == MSTORE_CHUNK && memcmp(s.p, p, MSTORE_CHUNK) == 0);
    free(s.p);

    REQUIRE(spill(path, orig, len) == 0);
    CHECK(sound(sha, n));
    free(orig);
    free(b);
    free(p);
}

/* FINAL before the header's length: two full chunks (MESSAGE, FINAL), the
 * header claiming three and the file padded to match. */
static void test_early_final(void)
{
    const size_t n = 2 * MSTORE_CHUNK, C = MSTORE_CHUNK + ABYTES;
    uint8_t sha[32];
    char path[MSTORE_PATH_MAX];
    uint8_t *p = put_random(&MS, n, sha);
    REQUIRE(p);
    mstore_path(&MS, sha, path, sizeof path);
    size_t len;
    uint8_t *orig = test_slurp(path, &len);
    REQUIRE(orig && len == MSTORE_HEADER + 2 * C);
    uint8_t *b = malloc(len + C);
    REQUIRE(b);
    memcpy(b, orig, len);
    randombytes_buf(b + len, C);
    b[10] = 3; /* 3 * 65536 */
    REQUIRE(spill(path, b, len + C) == 0);
    CHECK(tampered(sha, "final chunk 2 before the length"));
    REQUIRE(spill(path, orig, len) == 0);
    CHECK(sound(sha, n));
    free(b);
    free(orig);
    free(p);
}

/* Content A's file copied over content B's (same size): B no longer
 * decrypts, since its SHA-256 is every chunk's additional data. */
static void test_moved_file(void)
{
    uint8_t sa[32], sb[32];
    char pa[MSTORE_PATH_MAX], pb[MSTORE_PATH_MAX], err[256];
    uint8_t *a = put_random(&MS, 150000, sa), *bc = put_random(&MS, 150000, sb);
    REQUIRE(a && bc);
    mstore_path(&MS, sa, pa, sizeof pa);
    mstore_path(&MS, sb, pb, sizeof pb);
    size_t la;
    uint8_t *fa = test_slurp(pa, &la);
    REQUIRE(fa && spill(pb, fa, la) == 0);
    CHECK(tampered(sb, "chunk 1 failed authentication"));
    CHECK(sound(sa, 150000));
    /* withdraw the damaged copy and store B again */
    CHECK_INT(mstore_remove(&MS, sb, err, sizeof err), CP_OK);
    CHECK_INT(mstore_put(&MS, sb, bc, 150000, err, sizeof err), CP_OK);
    CHECK(sound(sb, 150000));
    free(fa);
    free(a);
    free(bc);
}

/* Another store (another media.key) has other names and cannot read our files. */
static void test_other_key(void)
{
    struct mstore ms2;
    char err[512], p1[MSTORE_PATH_MAX], p2[MSTORE_PATH_MAX], n1[65], n2[65];
    REQUIRE(mkdir(at("data2"), 0750) == 0);
    REQUIRE(mstore_key_create(at("keys2"), err, sizeof err) == CP_OK);
    REQUIRE(mstore_open(&ms2, at("data2"), at("keys2"), err, sizeof err) == CP_OK);
    CHECK(memcmp(ms2.key, MS.key, 32) != 0);
    uint8_t sha[32];
    uint8_t *p = put_random(&MS, 70000, sha);
    REQUIRE(p);
    mstore_name(&MS, sha, n1);
    mstore_name(&ms2, sha, n2);
    CHECK(strcmp(n1, n2) != 0);
    CHECK(!mstore_has(&ms2, sha));
    CHECK_INT(mstore_verify(&ms2, sha, NULL, err, sizeof err), CP_NOTFOUND);
    /* our file placed where the other store would look for it */
    mstore_path(&MS, sha, p1, sizeof p1);
    mstore_path(&ms2, sha, p2, sizeof p2);
    char sub[MSTORE_PATH_MAX];
    snprintf(sub, sizeof sub, "%s", p2);
    *strrchr(sub, '/') = 0;
    REQUIRE(mkdir(ms2.dir, 0750) == 0 && mkdir(sub, 0750) == 0);
    size_t len;
    uint8_t *f = test_slurp(p1, &len);
    REQUIRE(f && spill(p2, f, len) == 0);
    CHECK(mstore_has(&ms2, sha));
    CHECK_INT(mstore_verify(&ms2, sha, NULL, err, sizeof err), CP_BAD);
    CHECK(strstr(err, "chunk 1 failed authentication") != NULL);
    uint8_t *out = NULL;
    size_t n = 0;
    CHECK_INT(mstore_get(&ms2, sha, 1 << 20, &out, &n, err, sizeof err), CP_BAD);
    CHECK(out == NULL);
    CHECK(sound(sha, 70000));
    mstore_close(&ms2);
    free(f);
    free(p);
}

/* mstore_get refuses contents over its limit; a writer can stop a stream. */
static void test_limits(void)
{
    uint8_t sha[32];
    char err[256];
    uint8_t *p = put_random(&MS, 3 * 1000 * 1000 + 7, sha);
    REQUIRE(p);
    uint8_t *out = (uint8_t *)1;
    size_t n = 5;
    CHECK_INT(mstore_get(&MS, sha, 3 * 1000 * 1000 + 6, &out, &n, err, sizeof err), CP_BAD);
    CHECK(out == NULL && n == 0);
    CHECK(strstr(err, "3000007 bytes") != NULL);
    CHECK_INT(mstore_get(&MS, sha, 3 * 1000 * 1000 + 7, &out, &n, err, sizeof err), CP_OK);
    CHECK(out && n == 3 * 1000 * 1000 + 7 && memcmp(out, p, n) == 0);
    free(out);

    struct sink s = {.fail_at = 2};
    CHECK_INT(mstore_stream(&MS, sha, sink_write, &s, err, sizeof err), CP_ERR);
    CHECK_STR(err, "write failed");
    CHECK_INT(s.calls, 2);
    CHECK_INT(s.len, MSTORE_CHUNK);
    free(s.p);

    uint8_t absent[32];
    randombytes_buf(absent, 32);
    CHECK_INT(mstore_get(&MS, absent, 100, &out, &n, err, sizeof err), CP_NOTFOUND);
    CHECK_INT(mstore_stream(&MS, absent, sink_write, &s, err, sizeof err), CP_NOTFOUND);
    free(p);
}

/* Previews: written, read back through the relative path, overwritten;
 * non-JPEG and oversized ones refused. */
static void test_preview(void)
{
    uint8_t sha[32], j1[3000], j2[1200];
    char err[256], rel[200], full[400];
    randombytes_buf(sha, 32);
    randombytes_buf(j1, sizeof j1);
    randombytes_buf(j2, sizeof j2);
    memcpy(j1, "\xff\xd8\xff", 3);
    memcpy(j2, "\xff\xd8\xff", 3);
    mstore_preview_rel(&MS, sha, rel, sizeof rel);
    snprintf(full, sizeof full, "%s/%s", at("data"), rel);
    REQUIRE(mstore_put_preview(&MS, sha, j1, sizeof j1, err, sizeof err) == CP_OK);
    size_t n;
    uint8_t *got = test_slurp(full, &n);
    CHECK(got && n == sizeof j1 && memcmp(got, j1, n) == 0);
    free(got);
    struct stat st;
    REQUIRE(stat(full, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0640);
    REQUIRE(stat(MS.preview_dir, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0750);

    REQUIRE(mstore_put_preview(&MS, sha, j2, sizeof j2, err, sizeof err) == CP_OK);
    got = test_slurp(full, &n);
    CHECK(got && n == sizeof j2 && memcmp(got, j2, n) == 0);
    free(got);

    j1[0] = 0x89;
    CHECK_INT(mstore_put_preview(&MS, sha, j1, sizeof j1, err, sizeof err), CP_BAD);
    CHECK_INT(mstore_put_preview(&MS, sha, j2, 2, err, sizeof err), CP_BAD);
    uint8_t *big = calloc(1, MSTORE_PREVIEW_MAX + 1);
    REQUIRE(big);
    memcpy(big, "\xff\xd8\xff", 3);
    CHECK_INT(mstore_put_preview(&MS, sha, big, MSTORE_PREVIEW_MAX + 1, err, sizeof err), CP_BAD);
    free(big);
    got = test_slurp(full, &n);
    CHECK(got && n == sizeof j2 && memcmp(got, j2, n) == 0); /* untouched by the refusals */
    free(got);
    CHECK_INT(count_strays(MS.preview_dir), 0);
}

/* Removal takes the original and the preview; absent is fine. */
static void test_remove(void)
{
    uint8_t sha[32], jpg[500];
    char err[256], rel[200], full[400];
    uint8_t *p = put_random(&MS, 1000, sha);
    REQUIRE(p);
    randombytes_buf(jpg, sizeof jpg);
    memcpy(jpg, "\xff\xd8\xff", 3);
    REQUIRE(mstore_put_preview(&MS, sha, jpg, sizeof jpg, err, sizeof err) == CP_OK);
    mstore_preview_rel(&MS, sha, rel, sizeof rel);
    snprintf(full, sizeof full, "%s/%s", at("data"), rel);
    CHECK(access(full, F_OK) == 0);
    CHECK_INT(mstore_remove(&MS, sha, err, sizeof err), CP_OK);
    CHECK(!mstore_has(&MS, sha));
    CHECK(access(full, F_OK) != 0);
    CHECK_INT(mstore_verify(&MS, sha, NULL, err, sizeof err), CP_NOTFOUND);
    CHECK_INT(mstore_remove(&MS, sha, err, sizeof err), CP_OK);
    /* a content without a preview */
    free(p);
    p = put_random(&MS, 10, sha);
    REQUIRE(p);
    CHECK_INT(mstore_remove(&MS, sha, err, sizeof err), CP_OK);
    CHECK(!mstore_has(&MS, sha));
    free(p);
}

/* Failed writes leave nothing: the subdirectory is a regular file (tests run
 * as root, so a read-only directory would not stop them), or the final path
 * is a directory, so the rename fails after the temp file was written. */
static void test_failures(void)
{
    char err[512], path[MSTORE_PATH_MAX], sub[MSTORE_PATH_MAX], name[65];
    uint8_t sha[32];
    uint8_t *p = NULL;
    struct stat st;
    /* a content whose subdirectory does not exist yet */
    for (int i = 0; i < 1000; i++) {
        free(p);
        p = random_content(70000, sha);
        mstore_name(&MS, sha, name);
        snprintf(sub, sizeof sub, "%s/%.2s", MS.dir, name);
        if (stat(sub, &st) != 0)
            break;
    }
    REQUIRE(stat(sub, &st) != 0);
    REQUIRE(spill(sub, "not a directory", 15) == 0);
    CHECK_INT(mstore_put(&MS, sha, p, 70000, err, sizeof err), CP_ERR);
    CHECK(strstr(err, sub) != NULL);
    CHECK(!mstore_has(&MS, sha));
    uint8_t jpg[100] = {0xff, 0xd8, 0xff};
    REQUIRE(unlink(sub) == 0);
    snprintf(sub, sizeof sub, "%s/%.2s", MS.preview_dir, name);
    REQUIRE(stat(sub, &st) != 0);
    REQUIRE(spill(sub, "not a directory", 15) == 0);
    CHECK_INT(mstore_put_preview(&MS, sha, jpg, sizeof jpg, err, sizeof err), CP_ERR);
    REQUIRE(unlink(sub) == 0);

    /* the final path taken by a directory: the temp file is written, the
     * rename fails, the temp file goes */
    mstore_path(&MS, sha, path, sizeof path);
    snprintf(sub, sizeof sub, "%s/%.2s", MS.dir, name);
    REQUIRE(mkdir(sub, 0750) == 0 && mkdir(path, 0750) == 0);
    CHECK_INT(mstore_put(&MS, sha, p, 70000, err, sizeof err), CP_ERR);
    CHECK_INT(count_files(sub), 1); /* only the blocking directory */
    REQUIRE(rmdir(path) == 0);
    char rel[200], full[MSTORE_PATH_MAX + 200];
    mstore_preview_rel(&MS, sha, rel, sizeof rel);
    snprintf(full, sizeof full, "%s/%s", at("data"), rel);
    snprintf(sub, sizeof sub, "%s/%.2s", MS.preview_dir, name);
    REQUIRE(mkdir(sub, 0750) == 0 && mkdir(full, 0750) == 0);
    CHECK_INT(mstore_put_preview(&MS, sha, jpg, sizeof jpg, err, sizeof err), CP_ERR);
    CHECK_INT(count_files(sub), 1);
    REQUIRE(rmdir(full) == 0);

    /* and once the obstacles are gone the same puts succeed */
    CHECK_INT(mstore_put(&MS, sha, p, 70000, err, sizeof err), CP_OK);
    CHECK_INT(mstore_put_preview(&MS, sha, jpg, sizeof jpg, err, sizeof err), CP_OK);
    CHECK(sound(sha, 70000));
    free(p);

    /* a data dir that does not exist */
    struct mstore ms3;
    REQUIRE(mstore_open(&ms3, at("no-such-dir"), at("keys"), err, sizeof err) == CP_OK);
    p = random_content(10, sha);
    CHECK_INT(mstore_put(&ms3, sha, p, 10, err, sizeof err), CP_ERR);
    CHECK(access(at("no-such-dir"), F_OK) != 0);
    mstore_close(&ms3);
    free(p);
}

/* After everything: only finished files in the store, nothing half-written. */
static void test_no_strays(void)
{
    CHECK_INT(count_strays(MS.dir), 0);
    CHECK_INT(count_strays(MS.preview_dir), 0);
    CHECK_INT(count_strays(at("keys")), 0);
    CHECK_INT(count_strays(at("data2")), 0);
    CHECK_INT(count_files(at("keys")), 1);
    CHECK(count_files(MS.dir) > 10);
}

int main(void)
{
    char err[512];
    if (sodium_init() < 0)
        return 1;
    snprintf(root, sizeof root, "%s", "/tmp/cport-test-mstore-XXXXXX");
    if (!mkdtemp(root) || mkdir(at("data"), 0750) != 0)
        return 1;
    if (mstore_key_create(at("keys"), err, sizeof err) != CP_OK ||
        mstore_open(&MS, at("data"), at("keys"), err, sizeof err) != CP_OK) {
        fprintf(stderr, "store: %s\n", err);
        return 1;
    }
    RUN(test_digest_vectors);
    RUN(test_keys);
    RUN(test_roundtrip);
    RUN(test_dedupe);
    RUN(test_wrong_sha);
    RUN(test_names);
    RUN(test_tamper);
    RUN(test_early_final);
    RUN(test_moved_file);
    RUN(test_other_key);
    RUN(test_limits);
    RUN(test_preview);
    RUN(test_remove);
    RUN(test_failures);
    RUN(test_no_strays);
    mstore_close(&MS);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE();
}
