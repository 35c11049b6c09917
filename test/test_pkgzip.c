/*
 * test_pkgzip - the package container: a package of four members (one of 3 MB
 * written 1000 bytes at a time, one empty) verifies with its key and lists its
 * files in the manifest; the ZIP holds members, manifest.json and manifest.sig
 * in order, and the signature checks by hand. Tampering is named: each member
 * changed in turn (the ZIP rewritten with libarchive), the manifest edited,
 * a member removed, added or doubled, raw bytes flipped. Keys: another key or
 * none fails. Encrypted packages: right, wrong and missing passphrase,
 * truncation (mid-chunk and at a chunk boundary), a flipped byte, trailing
 * data, hostile headers. pkgzip_abort and failed finishes leave no files; bad
 * member names are refused. Peak RSS grows < 16 MB writing a ~30 MB member.
 */
#include "pkgzip.h"
#include "test.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static uint8_t PK[32], SK[64], PK2[32], SK2[64];
static char root[64]; /* this run's directory; tmp/ inside it stages members */

/* The members of the test package, in the order they are written. */
static const char *const NAMES[] = {"reports.csv", "media/hashes.txt", "empty.txt", "notes/readme.txt"};
#define NMEMBERS 4
#define BIG_BYTES (3 * 1000 * 1000)

/* A path under the run's directory, in one of four rotating buffers: for
 * immediate use only; tests copy the paths they keep. */
static const char *at(const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", root, name);
    return p[k];
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

/* nftw callback removing everything. */
static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* A deterministic stream of CSV-like lines ("00000042,https://media.example/
 * item/1a2b3c4d,ok"), as compressible as a real report list, handed out in
 * pieces of any size. */
struct gen {
    uint32_t x;
    long row;
    char line[64];
    size_t len, pos;
};

/* Fill n bytes from the stream. */
static void fill(struct gen *g, char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (g->pos == g->len) {
            g->x ^= g->x << 13, g->x ^= g->x >> 17, g->x ^= g->x << 5;
            g->len = (size_t)snprintf(g->line, sizeof g->line, "%08ld,https://media.example/item/%08x,ok\n", g->row++,
                                      (unsigned)g->x);
            g->pos = 0;
        }
        p[i] = g->line[g->pos++];
    }
}

/* Write one member in pieces of `piece` bytes. */
static int put_member(struct pkgzip *pz, const char *name, const char *data, size_t n, size_t piece)
{
    char err[256];
    int rc = pkgzip_member_begin(pz, name, err, sizeof err);
    for (size_t o = 0; rc == CP_OK && o < n; o += piece)
        rc = pkgzip_member_write(pz, data + o, n - o < piece ? n - o : piece, err, sizeof err);
    if (rc == CP_OK)
        rc = pkgzip_member_end(pz, err, sizeof err);
    if (rc != CP_OK)
        fprintf(stderr, "  member %s: %s\n", name, err);
    return rc;
}

/* Build the test package at path (encrypted when pass is set) with the key
 * pair (pk, sk); the final file's SHA-256 and size into sha/bytes. */
static int build_with(const char *path, const char *pass, const uint8_t *pk, const uint8_t *sk, char sha[65],
                      int64_t *bytes)
{
    struct pkgzip *pz;
    char err[256];
    int rc = pkgzip_begin(&pz, path, at("tmp"), err, sizeof err);
    if (rc != CP_OK) {
        fprintf(stderr, "  begin: %s\n", err);
        return rc;
    }
    static const char csv[] = "id,url\n1,https://a.example/x\n2,https://b.example/y\n3,https://c.example/z\n";
    static const char readme[] = "A synthetic test package.\n";
    char *big = malloc(BIG_BYTES);
    struct gen g = {.x = 2463534242u};
    fill(&g, big, BIG_BYTES);
    rc = put_member(pz, NAMES[0], csv, strlen(csv), 7);
    if (rc == CP_OK)
        rc = put_member(pz, NAMES[1], big, BIG_BYTES, 1000);
    if (rc == CP_OK)
        rc = put_member(pz, NAMES[2], "", 0, 1);
    if (rc == CP_OK)
        rc = put_member(pz, NAMES[3], readme, strlen(readme), 4096);
    free(big);
    if (rc != CP_OK) {
        pkgzip_abort(pz);
        return rc;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "package_id", "pkg-test-1");
    cJSON_AddStringToObject(m, "creator", "analyst@example.test");
    cJSON_AddStringToObject(m, "format", "not ours"); /* replaced by pkgzip */
    cJSON *counts = cJSON_AddObjectToObject(m, "counts");
    cJSON_AddNumberToObject(counts, "reports", 3);
    rc = pkgzip_finish(pz, m, pk, sk, pass, sha, bytes, err, sizeof err);
    if (rc != CP_OK)
        fprintf(stderr, "  finish: %s\n", err);
    cJSON_Delete(m);
    return rc;
}

/* Build the test package signed with the main key. */
static int build_pkg(const char *path, const char *pass, char sha[65], int64_t *bytes)
{
    return build_with(path, pass, PK, SK, sha, bytes);
}

/* Read a whole file into b (test files are a few MB at most). */
static int slurp(const char *path, struct buf *b)
{
    buf_init(b);
    buf_adds(b, "");
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    char tmp[65536];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0)
        buf_add(b, tmp, (size_t)n);
    close(fd);
    return 0;
}

/* Write n bytes as a new file. */
static int spit(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    int ok = write(fd, p, n) == (ssize_t)n;
    close(fd);
    return ok ? 0 : -1;
}

/* How rewrite changes the package. */
enum { ED_FLIP, ED_DROP, ED_ADD, ED_COUNT };

/* Rewrite the ZIP src as dst with libarchive, entry by entry: ED_FLIP changes
 * one byte of member `name` (adds one to an empty member), ED_DROP leaves it
 * out, ED_ADD inserts a member `name` after reports.csv, ED_COUNT sets
 * counts.reports to 4 in manifest.json. Every CRC is right, so only the
 * manifest can tell. */
static int rewrite(const char *src, const char *dst, int op, const char *name)
{
    struct archive *r = archive_read_new(), *w = archive_write_new();
    archive_read_support_format_zip(r);
    archive_write_set_format_zip(w);
    archive_write_set_bytes_in_last_block(w, 1);
    int rc = -1;
    if (archive_read_open_filename(r, src, 65536) != ARCHIVE_OK || archive_write_open_filename(w, dst) != ARCHIVE_OK)
        goto done;
    struct archive_entry *e, *o = archive_entry_new();
    struct buf data;
    buf_init(&data);
    char tmp[65536];
    while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
        char en[256];
        snprintf(en, sizeof en, "%s", archive_entry_pathname(e));
        buf_reset(&data);
        la_ssize_t n;
        while ((n = archive_read_data(r, tmp, sizeof tmp)) > 0)
            buf_add(&data, tmp, (size_t)n);
        if (op == ED_DROP && !strcmp(en, name))
            continue;
        if (op == ED_FLIP && !strcmp(en, name)) {
            if (data.len)
                data.p[data.len / 2] ^= 0x20;
            else
                buf_adds(&data, "x");
        }
        if (op == ED_COUNT && !strcmp(en, PKGZIP_MANIFEST)) {
            cJSON *m = cJSON_ParseWithLength(data.p, data.len);
            cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "counts"), "reports"), 4);
            char *s = cJSON_Print(m);
            buf_reset(&data);
            buf_adds(&data, s);
            buf_adds(&data, "\n");
            free(s);
            cJSON_Delete(m);
        }
        for (int pass = 0; pass < 2; pass++) {
            const char *nm = pass ? name : en;
            const char *p = pass ? "extra member\n" : data.p;
            size_t len = pass ? 13 : data.len;
            if (pass && !(op == ED_ADD && !strcmp(en, "reports.csv")))
                break;
            archive_entry_clear(o);
            archive_entry_set_pathname(o, nm);
            archive_entry_set_filetype(o, AE_IFREG);
            archive_entry_set_perm(o, 0644);
            archive_entry_set_size(o, (la_int64_t)len);
            if (archive_write_header(w, o) != ARCHIVE_OK || (len && archive_write_data(w, p, len) != (la_ssize_t)len))
                goto done_e;
        }
    }
    rc = archive_write_close(w) == ARCHIVE_OK ? 0 : -1;
done_e:
    archive_entry_free(o);
    buf_free(&data);
done:
    archive_read_free(r);
    archive_write_free(w);
    return rc;
}

/* Verify path with pk and pass; the status, bad_name into bad (64 bytes). */
static int verify(const char *path, const uint8_t *pk, const char *pass, char *bad, char *err)
{
    return pkgzip_verify(path, pk, pass, NULL, bad, 64, err, 256);
}

/* Expect verification of path to fail with rc, naming bad_name. */
#define EXPECT_BAD(path, pk, pass, want_rc, want_bad)                                                                  \
    do {                                                                                                               \
        char bad_[64], err_[256];                                                                                      \
        int rc_ = verify(path, pk, pass, bad_, err_);                                                                  \
        CHECK_INT(rc_, want_rc);                                                                                       \
        CHECK_STR(bad_, want_bad);                                                                                     \
        if (rc_ != (want_rc) || strcmp(bad_, want_bad) || getenv("PKGZIP_DEBUG"))                                      \
            fprintf(stderr, "  %s: %s\n", path, err_);                                                                 \
    } while (0)

/* Peak resident set so far, KiB. */
static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* ------------------------------------------------------------------ tests */

/* A ~30 MB member written 4 KiB at a time, finished and verified: peak RSS
 * grows by well under 16 MB (members are staged on disk and streamed). */
static void test_bounded_memory(void)
{
    char path[256], err[256], sha[65], bad[64];
    snprintf(path, sizeof path, "%s", at("big.zip"));
    int64_t bytes;
    long before = maxrss_kb();
    struct pkgzip *pz;
    REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
    REQUIRE(pkgzip_member_begin(pz, "big.txt", err, sizeof err) == CP_OK);
    char piece[4096];
    struct gen g = {.x = 88172645u};
    for (long done = 0; done < 30L * 1000 * 1000; done += (long)sizeof piece) {
        fill(&g, piece, sizeof piece);
        REQUIRE(pkgzip_member_write(pz, piece, sizeof piece, err, sizeof err) == CP_OK);
    }
    REQUIRE(pkgzip_member_end(pz, err, sizeof err) == CP_OK);
    cJSON *m = cJSON_CreateObject();
    CHECK_INT(pkgzip_finish(pz, m, PK, SK, NULL, sha, &bytes, err, sizeof err), CP_OK);
    cJSON_Delete(m);
    CHECK_INT(pkgzip_verify(path, PK, NULL, NULL, bad, sizeof bad, err, sizeof err), CP_OK);
    long growth = maxrss_kb() - before;
    if (getenv("PKGZIP_DEBUG") || growth >= 16 * 1024)
        fprintf(stderr, "  peak RSS grew by %ld KiB for a 30 MB member\n", growth);
    CHECK(growth < 16 * 1024);
    unlink(path);
}

/* Build, then look at everything: the file's hash and size, no temp files
 * left, the ZIP's entries in order, the manifest's content, the signature
 * checked by hand, and pkgzip_verify's summary. */
static void test_roundtrip(void)
{
    char path[256], sha[65], err[256], bad[64];
    snprintf(path, sizeof path, "%s", at("pkg.zip"));
    int64_t bytes = 0;
    REQUIRE(build_pkg(path, NULL, sha, &bytes) == CP_OK);
    CHECK_INT(count_files(at("tmp")), 0);
    CHECK(access(at("pkg.zip.tmp"), F_OK) != 0);

    struct buf file;
    REQUIRE(slurp(path, &file) == 0);
    uint8_t digest[32];
    char hex[65];
    crypto_hash_sha256(digest, (const uint8_t *)file.p, file.len);
    util_hex_encode(digest, 32, hex);
    CHECK_STR(sha, hex);
    CHECK_INT(bytes, file.len);
    CHECK(file.len < BIG_BYTES / 2); /* deflated */
    CHECK(!memcmp(file.p, "PK\3\4", 4));
    buf_free(&file);

    /* entries in order; manifest.json and manifest.sig as documented */
    struct archive *r = archive_read_new();
    archive_read_support_format_zip(r);
    REQUIRE(archive_read_open_filename(r, path, 65536) == ARCHIVE_OK);
    struct archive_entry *e;
    struct buf names, man, sig;
    buf_init(&names);
    buf_init(&man);
    buf_init(&sig);
    buf_adds(&names, "");
    char tmp[65536];
    while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
        const char *n = archive_entry_pathname(e);
        struct buf *to = !strcmp(n, PKGZIP_MANIFEST) ? &man : !strcmp(n, PKGZIP_SIGNATURE) ? &sig : NULL;
        buf_printf(&names, "%s ", n);
        la_ssize_t k;
        while ((k = archive_read_data(r, tmp, sizeof tmp)) > 0)
            if (to)
                buf_add(to, tmp, (size_t)k);
    }
    archive_read_free(r);
    CHECK_STR(names.p, "reports.csv media/hashes.txt empty.txt notes/readme.txt manifest.json manifest.sig ");
    REQUIRE(sig.len == 89 && sig.p[88] == '\n');
    sig.p[88] = 0;
    uint8_t s[64];
    CHECK_INT(util_b64_decode(sig.p, s, sizeof s), 64);
    CHECK_INT(crypto_sign_verify_detached(s, (const uint8_t *)man.p, man.len, PK), 0);
    CHECK(man.len > 0 && man.p[man.len - 1] == '\n');

    cJSON *sum = NULL;
    CHECK_INT(pkgzip_verify(path, PK, NULL, &sum, bad, sizeof bad, err, sizeof err), CP_OK);
    CHECK_STR(bad, "");
    REQUIRE(sum);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(sum, "format")), "cport-package/1");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(sum, "package_id")), "pkg-test-1");
    util_hex_encode(PK, 32, hex);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(sum, "public_key")), hex);
    cJSON *files = cJSON_GetObjectItem(sum, "files");
    CHECK_INT(cJSON_GetArraySize(files), NMEMBERS);
    for (int i = 0; i < NMEMBERS && i < cJSON_GetArraySize(files); i++) {
        cJSON *f = cJSON_GetArrayItem(files, i);
        CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(f, "name")), NAMES[i]);
        CHECK_INT(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256"))), 64);
    }
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 1), "bytes")), BIG_BYTES);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 2), "bytes")), 0);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(files, 2), "sha256")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* the summary is the signed manifest, byte for byte */
    char *again = cJSON_Print(sum);
    CHECK(again && strlen(again) + 1 == man.len && !memcmp(again, man.p, man.len - 1));
    free(again);
    cJSON_Delete(sum);
    buf_free(&names);
    buf_free(&man);
    buf_free(&sig);

    /* a rewrite that changes nothing still verifies (the rewriter is fair) */
    REQUIRE(rewrite(path, at("same.zip"), ED_FLIP, "no-such-member") == 0);
    CHECK_INT(verify(at("same.zip"), PK, NULL, bad, err), CP_OK);
}

/* Each member changed in turn (one byte; the empty one gains a byte) fails
 * verification naming that member. */
static void test_tamper_members(void)
{
    char bad[64], err[256];
    for (int i = 0; i < NMEMBERS; i++) {
        REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_FLIP, NAMES[i]) == 0);
        EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, NAMES[i]);
    }
    /* the rewritten manifest itself, byte-flipped, breaks the signature */
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_FLIP, PKGZIP_MANIFEST) == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "manifest.json");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_FLIP, PKGZIP_SIGNATURE) == 0);
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_CONFLICT);
    CHECK(!strcmp(bad, "manifest.json") || !strcmp(bad, "manifest.sig"));
    unlink(at("t.zip"));
}

/* The manifest edited (a count), signature or member removed, a member added
 * or doubled, raw bytes flipped, the file truncated or not a package. */
static void test_tamper_package(void)
{
    char bad[64], err[256];
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_COUNT, NULL) == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "manifest.json");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_DROP, PKGZIP_MANIFEST) == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "manifest.json");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_DROP, PKGZIP_SIGNATURE) == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "manifest.sig");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_DROP, "notes/readme.txt") == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "notes/readme.txt");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_DROP, "empty.txt") == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "empty.txt");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_ADD, "extra/evil.sh") == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "extra/evil.sh");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_ADD, "../escape") == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "../escape");
    REQUIRE(rewrite(at("pkg.zip"), at("t.zip"), ED_ADD, "reports.csv") == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "reports.csv");

    /* raw bytes flipped inside the big member's compressed data */
    struct buf f;
    REQUIRE(slurp(at("pkg.zip"), &f) == 0);
    f.p[f.len / 2] ^= 0x55;
    REQUIRE(spit(at("t.zip"), f.p, f.len) == 0);
    EXPECT_BAD(at("t.zip"), PK, NULL, CP_CONFLICT, "media/hashes.txt");
    f.p[f.len / 2] ^= 0x55;
    /* truncated: the central directory is gone */
    REQUIRE(spit(at("t.zip"), f.p, f.len / 2) == 0);
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_CONFLICT);
    CHECK_STR(bad, "");
    REQUIRE(spit(at("t.zip"), f.p, f.len - 10) == 0);
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_CONFLICT);
    buf_free(&f);
    /* not a package at all; no file */
    REQUIRE(spit(at("t.zip"), "hello\n", 6) == 0);
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_BAD);
    REQUIRE(spit(at("t.zip"), "", 0) == 0);
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_BAD);
    unlink(at("t.zip"));
    CHECK_INT(verify(at("t.zip"), PK, NULL, bad, err), CP_NOTFOUND);
}

/* Only the given key is trusted: another key fails at the signature, no key
 * is refused; a package signed by another key fails with ours even though its
 * manifest names its own key. */
static void test_keys(void)
{
    char bad[64], err[256], sha[65];
    int64_t bytes;
    EXPECT_BAD(at("pkg.zip"), PK2, NULL, CP_CONFLICT, "manifest.json");
    CHECK_INT(verify(at("pkg.zip"), NULL, NULL, bad, err), CP_DENIED);
    CHECK_STR(err, "no key given");
    REQUIRE(build_with(at("other.zip"), NULL, PK2, SK2, sha, &bytes) == CP_OK);
    CHECK_INT(verify(at("other.zip"), PK2, NULL, bad, err), CP_OK);
    EXPECT_BAD(at("other.zip"), PK, NULL, CP_CONFLICT, "manifest.json");
    unlink(at("other.zip"));
}

/* Offset of the last chunk of an encrypted package (to cut it off whole). */
static size_t last_chunk(const struct buf *f)
{
    size_t o = PKGZIP_ENC_HEADER, last = o;
    while (o + 4 <= f->len) {
        const uint8_t *p = (const uint8_t *)f->p + o;
        last = o;
        o += 4 + ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    }
    return last;
}

/* Encrypted package: the magic and header as documented; verifies with the
 * passphrase; no, wrong passphrase; truncations, a flipped byte, trailing
 * data and hostile headers fail cleanly. */
static void test_encrypted(void)
{
    const char *pass = "correct horse battery staple";
    char path[256], t[256], sha[65], bad[64], err[256], hex[65];
    snprintf(path, sizeof path, "%s", at("enc.cpkg"));
    snprintf(t, sizeof t, "%s", at("t.cpkg"));
    int64_t bytes;
    REQUIRE(build_pkg(path, pass, sha, &bytes) == CP_OK);
    CHECK_INT(count_files(at("tmp")), 0);
    struct buf f;
    REQUIRE(slurp(path, &f) == 0);
    CHECK_INT(f.len, bytes);
    uint8_t digest[32];
    crypto_hash_sha256(digest, (const uint8_t *)f.p, f.len);
    util_hex_encode(digest, 32, hex);
    CHECK_STR(sha, hex);
    REQUIRE(f.len > 200);
    CHECK(!memcmp(f.p, "CPORTENC\1", 9));
    CHECK_INT(f.p[25], crypto_pwhash_OPSLIMIT_INTERACTIVE);

    cJSON *sum = NULL;
    CHECK_INT(pkgzip_verify(path, PK, pass, &sum, bad, sizeof bad, err, sizeof err), CP_OK);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(sum, "package_id")), "pkg-test-1");
    cJSON_Delete(sum);
    CHECK_INT(verify(path, PK, NULL, bad, err), CP_DENIED);
    CHECK_INT(verify(path, PK, "wrong horse", bad, err), CP_DENIED);
    CHECK(strstr(err, "passphrase") != NULL);
    EXPECT_BAD(path, PK2, pass, CP_CONFLICT, "manifest.json");

    /* truncated inside a chunk, and cut at a chunk boundary before the final one */
    REQUIRE(spit(t, f.p, f.len - 100) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_CONFLICT);
    CHECK(strstr(err, "truncated") != NULL);
    REQUIRE(spit(t, f.p, last_chunk(&f)) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_CONFLICT);
    CHECK(strstr(err, "final chunk") != NULL);
    /* a flipped ciphertext byte in the middle */
    f.p[f.len / 2] ^= 1;
    REQUIRE(spit(t, f.p, f.len) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_CONFLICT);
    CHECK(strstr(err, "does not decrypt") || strstr(err, "bad length"));
    f.p[f.len / 2] ^= 1;
    /* trailing data */
    buf_add(&f, "x", 1);
    REQUIRE(spit(t, f.p, f.len) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_CONFLICT);
    CHECK(strstr(err, "after") != NULL);
    f.len--;
    /* hostile or unknown headers are refused before any key derivation */
    f.p[33 + 5] = 0x10; /* memlimit 2^44 */
    REQUIRE(spit(t, f.p, f.len) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_BAD);
    f.p[33 + 5] = 0;
    f.p[25 + 4] = 1; /* opslimit 2^32 + ... */
    REQUIRE(spit(t, f.p, f.len) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_BAD);
    f.p[25 + 4] = 0;
    f.p[8] = 2;
    REQUIRE(spit(t, f.p, f.len) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_BAD);
    REQUIRE(spit(t, f.p, 20) == 0);
    CHECK_INT(verify(t, PK, pass, bad, err), CP_CONFLICT);
    buf_free(&f);
    unlink(t);
}

/* pkgzip_abort removes staged members (also an open one); failed finishes
 * (member still open, mismatched keys, a rename that cannot happen) leave
 * nothing in tmp and no partial output. */
static void test_abort(void)
{
    char err[256], sha[65];
    int64_t bytes;
    struct pkgzip *pz;
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s", at("ab"));
    REQUIRE(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/p.zip", dir);

    REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
    CHECK_INT(put_member(pz, "a.txt", "hello", 5, 2), CP_OK);
    CHECK_INT(pkgzip_member_begin(pz, "b.txt", err, sizeof err), CP_OK);
    CHECK_INT(pkgzip_member_write(pz, "xyz", 3, err, sizeof err), CP_OK);
    CHECK_INT(count_files(at("tmp")), 2);
    pkgzip_abort(pz);
    CHECK_INT(count_files(at("tmp")), 0);
    CHECK_INT(count_files(dir), 0);
    pkgzip_abort(NULL);

    cJSON *m = cJSON_CreateObject();
    REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
    CHECK_INT(pkgzip_member_begin(pz, "a.txt", err, sizeof err), CP_OK);
    CHECK_INT(pkgzip_finish(pz, m, PK, SK, NULL, sha, &bytes, err, sizeof err), CP_BAD);
    CHECK_INT(count_files(at("tmp")), 0);

    REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
    CHECK_INT(put_member(pz, "a.txt", "hello", 5, 5), CP_OK);
    CHECK_INT(pkgzip_finish(pz, m, PK2, SK, NULL, sha, &bytes, err, sizeof err), CP_BAD);
    CHECK_INT(count_files(at("tmp")), 0);

    /* path is a directory: everything is written, the rename fails */
    REQUIRE(mkdir(path, 0700) == 0);
    for (int enc = 0; enc < 2; enc++) {
        REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
        CHECK_INT(put_member(pz, "a.txt", "hello", 5, 5), CP_OK);
        CHECK_INT(pkgzip_finish(pz, m, PK, SK, enc ? "pw" : NULL, sha, &bytes, err, sizeof err), CP_ERR);
        CHECK_INT(count_files(at("tmp")), 0);
        CHECK_INT(count_files(dir), 1); /* only the directory in the way */
        CHECK_INT(count_files(path), 0);
    }
    rmdir(path);
    /* no such directory for the output */
    snprintf(path, sizeof path, "%s/nodir/p.zip", dir);
    REQUIRE(pkgzip_begin(&pz, path, at("tmp"), err, sizeof err) == CP_OK);
    CHECK_INT(put_member(pz, "a.txt", "hello", 5, 5), CP_OK);
    CHECK_INT(pkgzip_finish(pz, m, PK, SK, NULL, sha, &bytes, err, sizeof err), CP_ERR);
    CHECK_INT(count_files(at("tmp")), 0);
    CHECK_INT(count_files(dir), 0);
    cJSON_Delete(m);
    /* bad arguments to begin */
    CHECK_INT(pkgzip_begin(&pz, path, at("no-such-tmp"), err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_begin(&pz, "", at("tmp"), err, sizeof err), CP_BAD);
    rmdir(dir);
}

/* Member names: the allowed characters and shapes; duplicates and reserved
 * names refused; calls out of order refused. */
static void test_names(void)
{
    static const char *const good[] = {"reports.csv", "media/a-b_c.1", "A/B/C.txt", ".hidden", "a.b.c"};
    static const char *const badn[] = {
        "../x", "/etc/passwd", "a/../b",        "a//b",         "a/",          "",     ".",   "a/./b", "a b",
        "a\\b", "x\n",         "manifest.json", "manifest.sig", "caf\xc3\xa9", "a..b", "a:b", "C:x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(pkgzip_name_ok(good[i]));
    for (size_t i = 0; i < sizeof badn / sizeof badn[0]; i++)
        if (pkgzip_name_ok(badn[i])) {
            fprintf(stderr, "  accepted \"%s\"\n", badn[i]);
            CHECK(0);
        }
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[PKGZIP_NAME_MAX] = 0;
    CHECK(pkgzip_name_ok(longname));
    longname[PKGZIP_NAME_MAX] = 'a';
    longname[PKGZIP_NAME_MAX + 1] = 0;
    CHECK(!pkgzip_name_ok(longname));
    CHECK(!pkgzip_name_ok(NULL));

    struct pkgzip *pz;
    char err[256];
    REQUIRE(pkgzip_begin(&pz, at("n.zip"), at("tmp"), err, sizeof err) == CP_OK);
    CHECK_INT(pkgzip_member_begin(pz, "../x", err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_begin(pz, "/x", err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_write(pz, "x", 1, err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_end(pz, err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_begin(pz, "x", err, sizeof err), CP_OK);
    CHECK_INT(pkgzip_member_begin(pz, "y", err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_end(pz, err, sizeof err), CP_OK);
    CHECK_INT(pkgzip_member_begin(pz, "x", err, sizeof err), CP_BAD);
    CHECK_INT(pkgzip_member_begin(pz, "manifest.json", err, sizeof err), CP_BAD);
    pkgzip_abort(pz);
    CHECK_INT(count_files(at("tmp")), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    snprintf(root, sizeof root, "%s", "/tmp/cport-test-pkgzip-XXXXXX");
    if (!mkdtemp(root) || mkdir(at("tmp"), 0700) != 0)
        return 1;
    crypto_sign_keypair(PK, SK);
    crypto_sign_keypair(PK2, SK2);
    RUN(test_bounded_memory); /* first: ru_maxrss is a peak, Argon2id later takes 64 MiB */
    RUN(test_roundtrip);
    RUN(test_tamper_members);
    RUN(test_tamper_package);
    RUN(test_keys);
    RUN(test_encrypted);
    RUN(test_abort);
    RUN(test_names);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_DONE();
}
