/*
 * pkgzip - signed, optionally encrypted ZIP packages: members staged on disk,
 * the manifest and its Ed25519 signature, the ZIP written with libarchive, the
 * CPORTENC encryption around it, and the offline verifier. The formats are
 * described in pkgzip.h.
 */
#include "pkgzip.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define IOBUF 65536  /* every copy, hash and encryption goes through buffers this big */
#define SIG_MAX 4096 /* manifest.sig a verifier reads, at most */

/* One staged member. */
struct member {
    char *name;
    char *tmp; /* its staged file in tmpdir; NULL once removed */
    int64_t bytes;
    uint8_t sha[32];
};

struct pkgzip {
    char *path, *tmpdir;
    char *out_tmp; /* path + ".tmp": the output until it is complete */
    int out_made;  /* we created out_tmp and it has not been renamed yet */
    char *zip_tmp; /* the plaintext ZIP staged in tmpdir when encrypting */
    struct member *m;
    size_t n, cap;
    FILE *cur;                  /* the open member's staged file, or NULL */
    crypto_hash_sha256_state h; /* ... and its running hash */
};

/* ------------------------------------------------------------------ I/O */

/* malloc'd a followed by b, or NULL. */
static char *str_cat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}



/* Create a fresh temp file "pkgzip-XXXXXX" in dir; its fd (close-on-exec,
 * mode 0600) and malloc'd name in *name, or -1. */
static int stage_file(const char *dir, char **name)
{
    *name = str_cat(dir, "/pkgzip-XXXXXX");
    if (!*name)
        return -1;
    int fd = mkostemp(*name, O_CLOEXEC);
    if (fd < 0) {
        free(*name);
        *name = NULL;
    }
    return fd;
}

/* An anonymous temp file in $TMPDIR (or /tmp), unlinked at once so nothing
 * survives us even on a crash: for decrypted packages. fd or -1. */
static int anon_file(void)
{
    const char *dir = getenv("TMPDIR");
    char *name;
    int fd = stage_file(dir && *dir ? dir : "/tmp", &name);
    if (fd >= 0) {
        unlink(name);
        free(name);
    }
    return fd;
}

/* fsync the directory holding path, so a rename into it survives a crash.
 * Best effort: the file itself is already complete and synced. */
static void sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Store a u32 little-endian (chunk lengths of the encrypted format). */
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Store a u64 little-endian (Argon2id parameters of the encrypted header). */
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Load a little-endian u32. */
static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Load a little-endian u64. */
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Where the final file's bytes go: a file descriptor, hashed and counted on the
 * way, so pkgzip_finish can report the SHA-256 without reading the file again. */
struct sink {
    int fd;
    crypto_hash_sha256_state h;
    int64_t bytes;
    int errnum; /* first write error, 0 if none */
};

/* Append to the sink; 0 or -1 (errnum set). */
static int sink_put(struct sink *s, const void *p, size_t n)
{
    if (util_write_all(s->fd, p, n) != 0) {
        s->errnum = errno ? errno : EIO;
        return -1;
    }
    crypto_hash_sha256_update(&s->h, p, n);
    s->bytes += (int64_t)n;
    return 0;
}

/* libarchive's write callback onto a sink. */
static la_ssize_t sink_write(struct archive *a, void *arg, const void *p, size_t n)
{
    struct sink *s = arg;
    if (sink_put(s, p, n) != 0) {
        archive_set_error(a, s->errnum, "%s", strerror(s->errnum));
        return -1;
    }
    return (la_ssize_t)n;
}

/* ------------------------------------------------------------- members */

/* Member names: [A-Za-z0-9._/-], not empty, at most PKGZIP_NAME_MAX bytes, no
 * "..", no empty or "." path component (so no leading, trailing or doubled
 * "/"), and not one of the names pkgzip writes itself. Every unzip tool then
 * extracts the member where the manifest says it is, and nowhere else. */
int pkgzip_name_ok(const char *name)
{
    if (!name || !*name || strlen(name) > PKGZIP_NAME_MAX || strstr(name, ".."))
        return 0;
    if (!strcmp(name, PKGZIP_MANIFEST) || !strcmp(name, PKGZIP_SIGNATURE))
        return 0;
    const char *seg = name;
    for (const char *p = name;; p++) {
        char c = *p;
        if (c == '/' || c == 0) {
            size_t len = (size_t)(p - seg);
            if (len == 0 || (len == 1 && seg[0] == '.'))
                return 0;
            if (!c)
                return 1;
            seg = p + 1;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == '-')) {
            return 0;
        }
    }
}

/* Start a package: remember where it goes; nothing is created yet. */
int pkgzip_begin(struct pkgzip **out, const char *path, const char *tmpdir, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || !tmpdir || !*tmpdir)
        return fail(err, errlen, CP_BAD, "a package path and a temp directory are required");
    struct stat st;
    if (stat(tmpdir, &st) != 0)
        return fail(err, errlen, CP_BAD, "temp directory %s: %s", tmpdir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, errlen, CP_BAD, "temp directory %s: not a directory", tmpdir);
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium cannot be initialised");
    struct pkgzip *pz = calloc(1, sizeof *pz);
    if (!pz)
        return fail(err, errlen, CP_ERR, "out of memory");
    pz->path = strdup(path);
    pz->tmpdir = strdup(tmpdir);
    pz->out_tmp = str_cat(path, ".tmp");
    if (!pz->path || !pz->tmpdir || !pz->out_tmp) {
        pkgzip_abort(pz);
        return fail(err, errlen, CP_ERR, "out of memory");
    }
    *out = pz;
    return CP_OK;
}

/* Open a new member: check its name, stage a temp file for it. */
int pkgzip_member_begin(struct pkgzip *pz, const char *name, char *err, size_t errlen)
{
    if (pz->cur)
        return fail(err, errlen, CP_BAD, "member %s is still open", pz->m[pz->n - 1].name);
    if (!pkgzip_name_ok(name))
        return fail(err, errlen, CP_BAD,
                    "bad member name \"%.80s\": [A-Za-z0-9._/-], no \"..\", no empty component, not reserved",
                    name ? name : "");
    for (size_t i = 0; i < pz->n; i++)
        if (!strcmp(pz->m[i].name, name))
            return fail(err, errlen, CP_BAD, "member %s already written", name);
    if (pz->n == pz->cap) {
        size_t cap = pz->cap ? 2 * pz->cap : 16;
        struct member *m = realloc(pz->m, cap * sizeof *m);
        if (!m)
            return fail(err, errlen, CP_ERR, "out of memory");
        pz->m = m;
        pz->cap = cap;
    }
    struct member *m = &pz->m[pz->n];
    memset(m, 0, sizeof *m);
    m->name = strdup(name);
    if (!m->name)
        return fail(err, errlen, CP_ERR, "out of memory");
    int fd = stage_file(pz->tmpdir, &m->tmp);
    if (fd < 0) {
        free(m->name);
        return fail(err, errlen, CP_ERR, "cannot create a temp file in %s: %s", pz->tmpdir, strerror(errno));
    }
    pz->n++; /* from here on pkgzip_abort removes the staged file */
    pz->cur = fdopen(fd, "wb");
    if (!pz->cur) {
        close(fd);
        return fail(err, errlen, CP_ERR, "out of memory");
    }
    crypto_hash_sha256_init(&pz->h);
    return CP_OK;
}

/* Append to the open member and to its hash. */
int pkgzip_member_write(struct pkgzip *pz, const void *p, size_t n, char *err, size_t errlen)
{
    if (!pz->cur)
        return fail(err, errlen, CP_BAD, "no member is open");
    if (n == 0)
        return CP_OK;
    if (fwrite(p, 1, n, pz->cur) != n)
        return fail(err, errlen, CP_ERR, "writing member %s to %s: %s", pz->m[pz->n - 1].name, pz->tmpdir,
                    strerror(errno));
    crypto_hash_sha256_update(&pz->h, p, n);
    pz->m[pz->n - 1].bytes += (int64_t)n;
    return CP_OK;
}

/* Close the open member: flush its staged file, record its SHA-256. */
int pkgzip_member_end(struct pkgzip *pz, char *err, size_t errlen)
{
    if (!pz->cur)
        return fail(err, errlen, CP_BAD, "no member is open");
    struct member *m = &pz->m[pz->n - 1];
    int bad = fflush(pz->cur) != 0;
    int e = errno;
    if (fclose(pz->cur) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    pz->cur = NULL;
    if (bad)
        return fail(err, errlen, CP_ERR, "writing member %s to %s: %s", m->name, pz->tmpdir, strerror(e));
    crypto_hash_sha256_final(&pz->h, m->sha);
    return CP_OK;
}

/* Remove what is staged and whatever partial output we created; free pz. Also
 * the cleanup of a successful finish, whose output was renamed away before. */
void pkgzip_abort(struct pkgzip *pz)
{
    if (!pz)
        return;
    if (pz->cur)
        fclose(pz->cur);
    for (size_t i = 0; i < pz->n; i++) {
        if (pz->m[i].tmp)
            unlink(pz->m[i].tmp);
        free(pz->m[i].tmp);
        free(pz->m[i].name);
    }
    if (pz->zip_tmp)
        unlink(pz->zip_tmp);
    if (pz->out_made)
        unlink(pz->out_tmp);
    free(pz->zip_tmp);
    free(pz->out_tmp);
    free(pz->tmpdir);
    free(pz->path);
    free(pz->m);
    free(pz);
}

/* ---------------------------------------------------------------- finish */

/* Complete the caller's manifest with format, files and public key, and print
 * it: the exact bytes that get signed and stored. */
static int manifest_text(struct pkgzip *pz, cJSON *manifest, const uint8_t pk[32], struct buf *out, char *err,
                         size_t errlen)
{
    static const char *const ours[] = {"format", "files", "public_key"};
    for (size_t i = 0; i < 3; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(manifest, ours[i]);
    char hex[65];
    int ok = cJSON_AddStringToObject(manifest, "format", PKGZIP_FORMAT) != NULL;
    cJSON *files = cJSON_AddArrayToObject(manifest, "files");
    ok = ok && files;
    for (size_t i = 0; ok && i < pz->n; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f || !cJSON_AddItemToArray(files, f)) {
            cJSON_Delete(f);
            ok = 0;
            break;
        }
        util_hex_encode(pz->m[i].sha, 32, hex);
        ok = cJSON_AddStringToObject(f, "name", pz->m[i].name) &&
             cJSON_AddNumberToObject(f, "bytes", (double)pz->m[i].bytes) && cJSON_AddStringToObject(f, "sha256", hex);
    }
    util_hex_encode(pk, 32, hex);
    ok = ok && cJSON_AddStringToObject(manifest, "public_key", hex);
    char *s = ok ? cJSON_Print(manifest) : NULL;
    if (!s)
        return fail(err, errlen, CP_ERR, "out of memory printing the manifest");
    buf_adds(out, s);
    buf_adds(out, "\n");
    free(s);
    return CP_OK;
}

/* Write one ZIP entry header for a regular file of the given size. */
static int zip_header(struct archive *a, struct archive_entry *e, const char *name, int64_t size, time_t now)
{
    archive_entry_clear(e);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, now, 0);
    return archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
}

/* Feed n bytes of entry data to libarchive; 0 or -1. */
static int zip_data(struct archive *a, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        la_ssize_t w = archive_write_data(a, c, n);
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copy one staged member into the ZIP through iobuf, hashing it again on the
 * way: a staged file that changed since member_end fails the build rather than
 * yield a package that cannot verify. */
static int zip_member(struct archive *a, struct archive_entry *e, const struct member *m, time_t now,
                      unsigned char *iobuf, char *err, size_t errlen)
{
    int fd = open(m->tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, CP_ERR, "staged member %s: %s", m->name, strerror(errno));
    if (zip_header(a, e, m->name, m->bytes, now) != 0) {
        close(fd);
        return fail(err, errlen, CP_ERR, "ZIP entry %s: %s", m->name, archive_error_string(a));
    }
    /* The member's hash was taken as it was written; hashing it again here
     * would cost a third of a large build for a check of our own temp file,
     * so only its size is checked. */
    int64_t total = 0;
    ssize_t n;
    while ((n = util_read_full(fd, iobuf, IOBUF)) > 0) {
        total += n;
        if (zip_data(a, iobuf, (size_t)n) != 0) {
            close(fd);
            return fail(err, errlen, CP_ERR, "ZIP entry %s: %s", m->name, archive_error_string(a));
        }
    }
    int e_read = n < 0 ? errno : 0;
    close(fd);
    if (e_read)
        return fail(err, errlen, CP_ERR, "staged member %s: %s", m->name, strerror(e_read));
    if (total != m->bytes)
        return fail(err, errlen, CP_ERR, "staged member %s changed size on disk", m->name);
    return CP_OK;
}

/* Write the whole ZIP into the sink: members in order, manifest.json,
 * manifest.sig. Deflate everywhere; libarchive adds zip64 extensions only for
 * entries that need them. No padding after the end (bytes_in_last_block 1). */
static int zip_write(struct pkgzip *pz, const struct buf *manifest, const char *sig, struct sink *s, char *err,
                     size_t errlen)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    unsigned char *iobuf = malloc(IOBUF);
    int rc = CP_OK;
    if (!a || !e || !iobuf) {
        rc = fail(err, errlen, CP_ERR, "out of memory");
        goto done;
    }
    if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
        /* Level 1: a tenth of the CPU of the default for ~15% more bytes; a
         * 100k-report package is dominated by deflate otherwise. */
        archive_write_set_options(a, "zip:compression=deflate,zip:compression-level=1") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open2(a, s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
        rc = fail(err, errlen, CP_ERR, "starting the ZIP: %s", archive_error_string(a));
        goto done;
    }
    time_t now = (time_t)util_now();
    for (size_t i = 0; i < pz->n && rc == CP_OK; i++)
        rc = zip_member(a, e, &pz->m[i], now, iobuf, err, errlen);
    if (rc != CP_OK)
        goto done;
    if (zip_header(a, e, PKGZIP_MANIFEST, (int64_t)manifest->len, now) != 0 ||
        zip_data(a, manifest->p, manifest->len) != 0 || zip_header(a, e, PKGZIP_SIGNATURE, (int64_t)strlen(sig), now) ||
        zip_data(a, sig, strlen(sig)) != 0 || archive_write_close(a) != ARCHIVE_OK) {
        rc = fail(err, errlen, CP_ERR, "writing the ZIP: %s", archive_error_string(a));
        goto done;
    }
    if (s->errnum)
        rc = fail(err, errlen, CP_ERR, "writing the package: %s", strerror(s->errnum));
done:
    if (a)
        archive_write_free(a);
    archive_entry_free(e);
    free(iobuf);
    return rc;
}

/* Encrypt the file open at in (the staged ZIP) into the sink in the CPORTENC
 * format: header, then 64 KiB chunks through secretstream, the last one FINAL. */
static int encrypt_fd(int in, struct sink *s, const char *passphrase, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(in, &st) != 0)
        return fail(err, errlen, CP_ERR, "staged ZIP: %s", strerror(errno));
    uint8_t hdr[PKGZIP_ENC_HEADER], key[32];
    memcpy(hdr, PKGZIP_ENC_MAGIC, 8);
    hdr[8] = PKGZIP_ENC_VERSION;
    randombytes_buf(hdr + 9, 16);
    put_u64(hdr + 25, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    put_u64(hdr + 33, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), hdr + 9, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                      crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return fail(err, errlen, CP_ERR, "out of memory deriving the key");
    crypto_secretstream_xchacha20poly1305_state ss;
    crypto_secretstream_xchacha20poly1305_init_push(&ss, hdr + 41, key);
    sodium_memzero(key, sizeof key);
    unsigned char *plain = malloc(PKGZIP_ENC_CHUNK);
    unsigned char *cipher = malloc(4 + PKGZIP_ENC_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES);
    int rc = CP_OK;
    if (!plain || !cipher) {
        rc = fail(err, errlen, CP_ERR, "out of memory");
        goto done;
    }
    if (sink_put(s, hdr, sizeof hdr) != 0) {
        rc = fail(err, errlen, CP_ERR, "writing the package: %s", strerror(s->errnum));
        goto done;
    }
    int64_t total = st.st_size, done_bytes = 0;
    do {
        size_t want = total - done_bytes > PKGZIP_ENC_CHUNK ? PKGZIP_ENC_CHUNK : (size_t)(total - done_bytes);
        ssize_t got = util_read_full(in, plain, want);
        if (got != (ssize_t)want) {
            rc = fail(err, errlen, CP_ERR, "reading the staged ZIP: %s", got < 0 ? strerror(errno) : "short");
            goto done;
        }
        done_bytes += got;
        unsigned char tag = done_bytes == total ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                                : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(&ss, cipher + 4, &clen, plain, (unsigned long long)got, NULL, 0,
                                                   tag);
        put_u32(cipher, (uint32_t)clen);
        if (sink_put(s, cipher, 4 + (size_t)clen) != 0) {
            rc = fail(err, errlen, CP_ERR, "writing the package: %s", strerror(s->errnum));
            goto done;
        }
    } while (done_bytes < total);
done:
    sodium_memzero(&ss, sizeof ss);
    if (plain)
        sodium_memzero(plain, PKGZIP_ENC_CHUNK);
    free(plain);
    free(cipher);
    return rc;
}

/* The body of pkgzip_finish; pkgzip_finish cleans up after it either way. */
static int finish(struct pkgzip *pz, cJSON *manifest, const uint8_t pk[32], const uint8_t sk[64],
                  const char *passphrase, char sha256_hex[65], int64_t *bytes, char *err, size_t errlen)
{
    if (pz->cur)
        return fail(err, errlen, CP_BAD, "member %s is still open", pz->m[pz->n - 1].name);
    if (!cJSON_IsObject(manifest))
        return fail(err, errlen, CP_BAD, "the manifest must be a JSON object");
    if (!pk || !sk)
        return fail(err, errlen, CP_BAD, "a signing key pair is required");
    uint8_t pk2[32];
    if (crypto_sign_ed25519_sk_to_pk(pk2, sk) != 0 || sodium_memcmp(pk, pk2, 32) != 0)
        return fail(err, errlen, CP_BAD, "the public key does not belong to the secret key");
    if (passphrase && !*passphrase)
        return fail(err, errlen, CP_BAD, "the passphrase is empty");

    struct buf text;
    buf_init(&text);
    int rc = manifest_text(pz, manifest, pk, &text, err, errlen);
    if (rc != CP_OK) {
        buf_free(&text);
        return rc;
    }
    uint8_t sig[64];
    char sigtxt[92];
    crypto_sign_detached(sig, NULL, (const uint8_t *)text.p, text.len, sk);
    util_b64_encode(sig, sizeof sig, sigtxt);
    strcat(sigtxt, "\n");

    /* the ZIP: straight to path.tmp, or to tmpdir to be encrypted from there */
    int zfd, ofd = -1;
    if (passphrase) {
        zfd = stage_file(pz->tmpdir, &pz->zip_tmp);
    } else {
        zfd = open(pz->out_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        pz->out_made = zfd >= 0;
    }
    if (zfd < 0) {
        buf_free(&text);
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", passphrase ? "a temp file" : pz->out_tmp,
                    strerror(errno));
    }
    struct sink s = {.fd = zfd};
    crypto_hash_sha256_init(&s.h);
    rc = zip_write(pz, &text, sigtxt, &s, err, errlen);
    buf_free(&text);
    if (rc != CP_OK)
        goto done;
    ofd = zfd;
    zfd = -1;
    if (passphrase) {
        zfd = ofd;
        ofd = open(pz->out_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        pz->out_made = ofd >= 0;
        if (ofd < 0 || lseek(zfd, 0, SEEK_SET) != 0) {
            rc = fail(err, errlen, CP_ERR, "cannot create %s: %s", pz->out_tmp, strerror(errno));
            goto done;
        }
        memset(&s, 0, sizeof s);
        s.fd = ofd;
        crypto_hash_sha256_init(&s.h);
        rc = encrypt_fd(zfd, &s, passphrase, err, errlen);
        if (rc != CP_OK)
            goto done;
    }
    if (fsync(ofd) != 0) {
        rc = fail(err, errlen, CP_ERR, "syncing %s: %s", pz->out_tmp, strerror(errno));
        goto done;
    }
    int c = close(ofd);
    ofd = -1;
    if (c != 0 || rename(pz->out_tmp, pz->path) != 0) {
        rc = fail(err, errlen, CP_ERR, "completing %s: %s", pz->path, strerror(errno));
        goto done;
    }
    pz->out_made = 0;
    sync_dir_of(pz->path);
    uint8_t digest[32];
    crypto_hash_sha256_final(&s.h, digest);
    if (sha256_hex)
        util_hex_encode(digest, 32, sha256_hex);
    if (bytes)
        *bytes = s.bytes;
done:
    if (zfd >= 0)
        close(zfd);
    if (ofd >= 0)
        close(ofd);
    return rc;
}

/* Write manifest, signature and ZIP (encrypted if asked), then release pz:
 * pkgzip_abort's cleanup serves both outcomes, since after a success only
 * staged files remain. */
int pkgzip_finish(struct pkgzip *pz, cJSON *manifest, const uint8_t pk[32], const uint8_t sk[64],
                  const char *passphrase, char sha256_hex[65], int64_t *bytes, char *err, size_t errlen)
{
    int rc = finish(pz, manifest, pk, sk, passphrase, sha256_hex, bytes, err, errlen);
    pkgzip_abort(pz);
    return rc;
}

/* ---------------------------------------------------------------- verify */

/* A file of the ZIP as the verifier saw it. */
struct seen {
    char *name;
    int64_t bytes;
    uint8_t sha[32];
    char *why; /* why its data could not be read, or NULL */
    int used;  /* matched by a manifest entry */
};

/* What the verifier collects in one pass over the ZIP. */
struct vstate {
    struct seen *v;
    size_t n, cap;
    struct buf manifest, sig;
    int have_manifest, have_sig;
    unsigned char *iobuf;
};

/* libarchive's view of the package file: an fd with read, seek and skip, so the
 * seekable ZIP reader can go by the central directory as unzip tools do. */
struct src {
    int fd;
    int64_t size;
    unsigned char *buf;
};

/* libarchive read callback. */
static la_ssize_t src_read(struct archive *a, void *arg, const void **out)
{
    struct src *s = arg;
    ssize_t n;
    do
        n = read(s->fd, s->buf, IOBUF);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        archive_set_error(a, errno, "read: %s", strerror(errno));
        return -1;
    }
    *out = s->buf;
    return n;
}

/* libarchive seek callback. */
static la_int64_t src_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
    struct src *s = arg;
    off_t r = lseek(s->fd, (off_t)off, whence);
    if (r < 0) {
        archive_set_error(a, errno, "seek: %s", strerror(errno));
        return ARCHIVE_FATAL;
    }
    return r;
}

/* libarchive skip callback: never past the end, so truncation shows as such. */
static la_int64_t src_skip(struct archive *a, void *arg, la_int64_t n)
{
    (void)a;
    struct src *s = arg;
    off_t cur = lseek(s->fd, 0, SEEK_CUR);
    if (cur < 0 || n <= 0)
        return 0;
    if (n > s->size - cur)
        n = s->size - cur;
    if (n <= 0 || lseek(s->fd, cur + n, SEEK_SET) < 0)
        return 0;
    return n;
}

/* Put name into bad_name, and a printable copy into out for messages: names
 * from an untrusted ZIP may hold anything. */
static void name_out(const char *name, char *bad, size_t badlen, char *out, size_t outlen)
{
    size_t i = 0;
    for (; name[i] && i + 1 < outlen && i < 120; i++)
        out[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
    if (outlen)
        out[i] = 0;
    if (bad && badlen)
        snprintf(bad, badlen, "%s", out);
}

/* Fail with CP_CONFLICT naming the bad file: bad_name gets it, err "name: why". */
static int conflict(const char *name, char *bad, size_t badlen, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int conflict(const char *name, char *bad, size_t badlen, char *err, size_t errlen, const char *fmt, ...)
{
    char clean[128], why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    size_t wl = strlen(why); /* libarchive's messages may end in a newline */
    while (wl && (why[wl - 1] == '\n' || why[wl - 1] == ' '))
        why[--wl] = 0;
    name_out(name, bad, badlen, clean, sizeof clean);
    if (*clean)
        return fail(err, errlen, CP_CONFLICT, "%s: %s", clean, why);
    return fail(err, errlen, CP_CONFLICT, "%s", why);
}

/* Read the current entry whole into b, at most cap bytes: 0, 1 when larger,
 * -1 on a read error (message from libarchive). For manifest.json and .sig. */
static int read_capped(struct archive *a, struct buf *b, size_t cap, unsigned char *iobuf)
{
    for (;;) {
        la_ssize_t n = archive_read_data(a, iobuf, IOBUF);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        if (b->len + (size_t)n > cap)
            return 1;
        buf_add(b, iobuf, (size_t)n);
    }
}

/* Hash the current entry as it streams out into a new record. A data error is
 * recorded in why (reported when the checks reach that file); returns -1 only
 * when libarchive cannot go on past it. */
static int read_member(struct archive *a, struct vstate *vs, const char *name)
{
    if (vs->n == vs->cap) {
        size_t cap = vs->cap ? 2 * vs->cap : 64;
        struct seen *v = realloc(vs->v, cap * sizeof *v);
        if (!v)
            return -2;
        vs->v = v;
        vs->cap = cap;
    }
    struct seen *s = &vs->v[vs->n];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name)))
        return -2;
    vs->n++;
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    for (;;) {
        la_ssize_t n = archive_read_data(a, vs->iobuf, IOBUF);
        if (n == 0)
            break;
        if (n < 0) {
            const char *msg = archive_error_string(a);
            s->why = strdup(msg ? msg : "unreadable");
            return n == ARCHIVE_FATAL ? -1 : 0;
        }
        crypto_hash_sha256_update(&h, vs->iobuf, (size_t)n);
        s->bytes += n;
    }
    crypto_hash_sha256_final(&h, s->sha);
    return 0;
}

/* Sort records by name (ties by position), for lookups and duplicate checks. */
static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = *(const struct seen *const *)a, *y = *(const struct seen *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* The record named name in the sorted index, or NULL. */
static struct seen *seen_find(struct seen **idx, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(idx[mid]->name, name);
        if (c == 0) {
            while (mid > 0 && !strcmp(idx[mid - 1]->name, name))
                mid--;
            return idx[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* One pass over the ZIP at fd: every regular file hashed into vs, manifest.json
 * and manifest.sig kept. Faults that stop the pass are returned as
 * CP_CONFLICT; anything else is left for check_collected. */
static int collect(int fd, struct vstate *vs, char *bad, size_t badlen, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return fail(err, errlen, CP_ERR, "package: %s", strerror(errno));
    struct src src = {.fd = fd, .size = st.st_size, .buf = malloc(IOBUF)};
    struct archive *a = archive_read_new();
    int rc = CP_OK;
    if (!src.buf || !a) {
        rc = fail(err, errlen, CP_ERR, "out of memory");
        goto done;
    }
    archive_read_support_format_zip_seekable(a);
    archive_read_set_callback_data(a, &src);
    archive_read_set_read_callback(a, src_read);
    archive_read_set_seek_callback(a, src_seek);
    archive_read_set_skip_callback(a, src_skip);
    if (archive_read_open1(a) != ARCHIVE_OK) {
        rc = conflict("", bad, badlen, err, errlen, "not a readable ZIP: %s", archive_error_string(a));
        goto done;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            rc = conflict("", bad, badlen, err, errlen, "damaged ZIP: %s", archive_error_string(a));
            goto done;
        }
        const char *name = archive_entry_pathname(e);
        if (!name || !*name) {
            rc = conflict("", bad, badlen, err, errlen, "damaged ZIP: an entry without a name");
            goto done;
        }
        if (archive_entry_filetype(e) != AE_IFREG) {
            rc = conflict(name, bad, badlen, err, errlen, "not a regular file");
            goto done;
        }
        if (archive_entry_is_encrypted(e)) {
            rc = conflict(name, bad, badlen, err, errlen, "a ZIP-encrypted entry");
            goto done;
        }
        int is_man = !strcmp(name, PKGZIP_MANIFEST), is_sig = !strcmp(name, PKGZIP_SIGNATURE);
        if (is_man || is_sig) {
            int *have = is_man ? &vs->have_manifest : &vs->have_sig;
            if (*have) {
                rc = conflict(name, bad, badlen, err, errlen, "appears twice in the ZIP");
                goto done;
            }
            *have = 1;
            int r2 = read_capped(a, is_man ? &vs->manifest : &vs->sig, is_man ? (size_t)PKGZIP_MANIFEST_MAX : SIG_MAX,
                                 vs->iobuf);
            if (r2 != 0) {
                const char *why = r2 > 0 ? "too large" : archive_error_string(a);
                rc = conflict(name, bad, badlen, err, errlen, "%s", why ? why : "unreadable");
                goto done;
            }
            continue;
        }
        if (vs->n >= PKGZIP_MEMBERS_MAX) {
            rc = conflict(name, bad, badlen, err, errlen, "more than %d files in the ZIP", PKGZIP_MEMBERS_MAX);
            goto done;
        }
        int r2 = read_member(a, vs, name);
        if (r2 == -2) {
            rc = fail(err, errlen, CP_ERR, "out of memory");
            goto done;
        }
        if (r2 < 0) {
            rc = conflict(name, bad, badlen, err, errlen, "cannot be read: %s", vs->v[vs->n - 1].why);
            goto done;
        }
    }
done:
    if (a)
        archive_read_free(a);
    free(src.buf);
    return rc;
}

/* The checks after the pass, in the documented order: signature, manifest
 * form, duplicates, each manifest file, extras. On CP_OK *out is the manifest. */
static int check_collected(struct vstate *vs, const uint8_t pk[32], cJSON **out, char *bad, size_t badlen, char *err,
                           size_t errlen)
{
    const char *M = PKGZIP_MANIFEST;
    if (!vs->have_manifest)
        return conflict(M, bad, badlen, err, errlen, "missing");
    if (!vs->have_sig)
        return conflict(PKGZIP_SIGNATURE, bad, badlen, err, errlen, "missing");
    uint8_t sig[64 + 3];
    char *s = vs->sig.p ? vs->sig.p : "";
    size_t sl = vs->sig.len;
    if (sl && s[sl - 1] == '\n')
        s[--sl] = 0;
    if (strlen(s) != sl || util_b64_decode(s, sig, sizeof sig) != 64)
        return conflict(PKGZIP_SIGNATURE, bad, badlen, err, errlen, "not a base64 Ed25519 signature");
    if (crypto_sign_verify_detached(sig, (const uint8_t *)vs->manifest.p, vs->manifest.len, pk) != 0)
        return conflict(M, bad, badlen, err, errlen, "the signature does not verify with the given key");

    /* signed by the key we trust: now its content can be believed */
    cJSON *m = cJSON_ParseWithLength(vs->manifest.p, vs->manifest.len);
    if (!cJSON_IsObject(m)) {
        cJSON_Delete(m);
        return conflict(M, bad, badlen, err, errlen, "not a JSON object");
    }
    int rc = CP_OK;
    char hex[65];
    const char *fmt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "format"));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "public_key"));
    cJSON *files = cJSON_GetObjectItemCaseSensitive(m, "files");
    util_hex_encode(pk, 32, hex);
    if (!fmt || strcmp(fmt, PKGZIP_FORMAT) != 0) {
        rc = conflict(M, bad, badlen, err, errlen, "format is not %s", PKGZIP_FORMAT);
        goto done;
    }
    if (!key || strcasecmp(key, hex) != 0) {
        rc = conflict(M, bad, badlen, err, errlen, "public_key is not the given key");
        goto done;
    }
    if (!cJSON_IsArray(files)) {
        rc = conflict(M, bad, badlen, err, errlen, "no files array");
        goto done;
    }

    /* a sorted index of what the ZIP holds; a name twice is a fault of its own */
    struct seen **idx = malloc((vs->n ? vs->n : 1) * sizeof *idx);
    if (!idx) {
        rc = fail(err, errlen, CP_ERR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < vs->n; i++)
        idx[i] = &vs->v[i];
    qsort(idx, vs->n, sizeof *idx, seen_cmp);
    for (size_t i = 1; i < vs->n; i++)
        if (!strcmp(idx[i - 1]->name, idx[i]->name)) {
            rc = conflict(idx[i]->name, bad, badlen, err, errlen, "appears twice in the ZIP");
            goto done_idx;
        }

    int k = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "name"));
        const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));
        const cJSON *jb = cJSON_GetObjectItemCaseSensitive(f, "bytes");
        uint8_t want[32];
        double d = cJSON_IsNumber(jb) ? jb->valuedouble : -1;
        if (!name || !pkgzip_name_ok(name) || !sha || util_hex_decode(sha, want, 32) != 0 || !(d >= 0) ||
            d > 9007199254740992.0 || d != (double)(int64_t)d) {
            rc = conflict(M, bad, badlen, err, errlen, "files[%d] is not a valid entry", k);
            goto done_idx;
        }
        k++;
        struct seen *z = seen_find(idx, vs->n, name);
        if (!z) {
            rc = conflict(name, bad, badlen, err, errlen, "missing from the package");
            goto done_idx;
        }
        if (z->used) {
            rc = conflict(M, bad, badlen, err, errlen, "lists %s twice", name);
            goto done_idx;
        }
        z->used = 1;
        if (z->why) {
            rc = conflict(name, bad, badlen, err, errlen, "cannot be read: %s", z->why);
            goto done_idx;
        }
        if (z->bytes != (int64_t)d) {
            rc = conflict(name, bad, badlen, err, errlen, "%lld bytes, the manifest says %lld", (long long)z->bytes,
                          (long long)d);
            goto done_idx;
        }
        if (memcmp(z->sha, want, 32) != 0) {
            rc = conflict(name, bad, badlen, err, errlen, "SHA-256 differs from the manifest");
            goto done_idx;
        }
    }
    for (size_t i = 0; i < vs->n; i++)
        if (!vs->v[i].used) {
            rc = conflict(vs->v[i].name, bad, badlen, err, errlen, "not in the manifest");
            goto done_idx;
        }
done_idx:
    free(idx);
done:
    if (rc == CP_OK && out)
        *out = m;
    else
        cJSON_Delete(m);
    return rc;
}

/* Verify the plain ZIP open at fd: one pass collecting, then the checks. */
static int verify_zip(int fd, const uint8_t pk[32], cJSON **summary, char *bad, size_t badlen, char *err, size_t errlen)
{
    struct vstate vs;
    memset(&vs, 0, sizeof vs);
    buf_init(&vs.manifest);
    buf_init(&vs.sig);
    vs.iobuf = malloc(IOBUF);
    int rc = vs.iobuf ? collect(fd, &vs, bad, badlen, err, errlen) : fail(err, errlen, CP_ERR, "out of memory");
    if (rc == CP_OK)
        rc = check_collected(&vs, pk, summary, bad, badlen, err, errlen);
    for (size_t i = 0; i < vs.n; i++) {
        free(vs.v[i].name);
        free(vs.v[i].why);
    }
    free(vs.v);
    buf_free(&vs.manifest);
    buf_free(&vs.sig);
    free(vs.iobuf);
    return rc;
}

/* Decrypt the CPORTENC file at in (positioned just after the magic) into out.
 * Header parameters are checked before any key derivation; every chunk must
 * authenticate, the stream must end with a FINAL chunk and nothing after it. */
static int decrypt_fd(int in, int out, const char *passphrase, char *err, size_t errlen)
{
    uint8_t hdr[PKGZIP_ENC_HEADER], key[32];
    ssize_t n = util_read_full(in, hdr + 8, sizeof hdr - 8);
    if (n < 0)
        return fail(err, errlen, CP_ERR, "reading the package: %s", strerror(errno));
    if (n != (ssize_t)(sizeof hdr - 8))
        return fail(err, errlen, CP_CONFLICT, "encrypted package truncated in its header");
    if (hdr[8] != PKGZIP_ENC_VERSION)
        return fail(err, errlen, CP_BAD, "unsupported encrypted package version %d", hdr[8]);
    uint64_t ops = get_u64(hdr + 25), mem = get_u64(hdr + 33);
    if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > PKGZIP_ENC_OPS_MAX ||
        mem < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem > PKGZIP_ENC_MEM_MAX)
        return fail(err, errlen, CP_BAD, "encrypted package asks for unacceptable Argon2id parameters (%llu, %llu)",
                    (unsigned long long)ops, (unsigned long long)mem);
    if (crypto_pwhash(key, sizeof key, passphrase, strlen(passphrase), hdr + 9, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return fail(err, errlen, CP_ERR, "out of memory deriving the key");
    crypto_secretstream_xchacha20poly1305_state ss;
    int init = crypto_secretstream_xchacha20poly1305_init_pull(&ss, hdr + 41, key);
    sodium_memzero(key, sizeof key);
    if (init != 0)
        return fail(err, errlen, CP_CONFLICT, "encrypted package has a bad stream header");
    const size_t maxc = PKGZIP_ENC_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
    unsigned char *cipher = malloc(maxc), *plain = malloc(PKGZIP_ENC_CHUNK);
    int rc = CP_OK;
    if (!cipher || !plain) {
        rc = fail(err, errlen, CP_ERR, "out of memory");
        goto done;
    }
    for (long chunk = 0;; chunk++) {
        uint8_t lenb[4];
        n = util_read_full(in, lenb, 4);
        if (n < 0) {
            rc = fail(err, errlen, CP_ERR, "reading the package: %s", strerror(errno));
            goto done;
        }
        if (n != 4) {
            rc = fail(err, errlen, CP_CONFLICT, "encrypted package truncated (ends before its final chunk)");
            goto done;
        }
        uint32_t clen = get_u32(lenb);
        if (clen < crypto_secretstream_xchacha20poly1305_ABYTES || clen > maxc) {
            rc = fail(err, errlen, CP_CONFLICT, "encrypted package damaged: chunk %ld has a bad length", chunk);
            goto done;
        }
        n = util_read_full(in, cipher, clen);
        if (n != (ssize_t)clen) {
            rc = n < 0 ? fail(err, errlen, CP_ERR, "reading the package: %s", strerror(errno))
                       : fail(err, errlen, CP_CONFLICT, "encrypted package truncated in chunk %ld", chunk);
            goto done;
        }
        unsigned long long plen;
        unsigned char tag;
        if (crypto_secretstream_xchacha20poly1305_pull(&ss, plain, &plen, &tag, cipher, clen, NULL, 0) != 0) {
            rc = chunk == 0
                     ? fail(err, errlen, CP_DENIED, "wrong passphrase (or the encrypted package is damaged)")
                     : fail(err, errlen, CP_CONFLICT, "encrypted package damaged: chunk %ld does not decrypt", chunk);
            goto done;
        }
        if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
            tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            rc = fail(err, errlen, CP_CONFLICT, "encrypted package damaged: chunk %ld has an unknown tag", chunk);
            goto done;
        }
        if (util_write_all(out, plain, (size_t)plen) != 0) {
            rc = fail(err, errlen, CP_ERR, "writing the decrypted package: %s", strerror(errno));
            goto done;
        }
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
            break;
    }
    if (util_read_full(in, cipher, 1) != 0)
        rc = fail(err, errlen, CP_CONFLICT, "encrypted package damaged: data after its final chunk");
done:
    sodium_memzero(&ss, sizeof ss);
    if (plain)
        sodium_memzero(plain, PKGZIP_ENC_CHUNK);
    free(plain);
    free(cipher);
    return rc;
}

/* Verify a package file: tell encrypted from plain by the magic, decrypt the
 * former into an anonymous temp file, verify the ZIP. */
int pkgzip_verify(const char *path, const uint8_t pk[32], const char *passphrase, cJSON **summary, char *bad_name,
                  size_t bad_len, char *err, size_t errlen)
{
    if (summary)
        *summary = NULL;
    if (bad_name && bad_len)
        bad_name[0] = 0;
    if (!pk)
        return fail(err, errlen, CP_DENIED, "no key given");
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium cannot be initialised");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, errno == ENOENT ? CP_NOTFOUND : CP_ERR, "%s: %s", path, strerror(errno));
    uint8_t magic[8];
    ssize_t n = util_read_full(fd, magic, sizeof magic);
    int rc;
    if (n == 8 && !memcmp(magic, PKGZIP_ENC_MAGIC, 8)) {
        if (!passphrase) {
            rc = fail(err, errlen, CP_DENIED, "the package is encrypted: a passphrase is needed");
        } else {
            int tfd = anon_file();
            if (tfd < 0) {
                rc = fail(err, errlen, CP_ERR, "cannot create a temp file: %s", strerror(errno));
            } else {
                rc = decrypt_fd(fd, tfd, passphrase, err, errlen);
                if (rc == CP_OK)
                    rc = verify_zip(tfd, pk, summary, bad_name, bad_len, err, errlen);
                close(tfd);
            }
        }
    } else if (n >= 4 && !memcmp(magic, "PK\3\4", 4)) {
        rc = verify_zip(fd, pk, summary, bad_name, bad_len, err, errlen);
    } else if (n < 0) {
        rc = fail(err, errlen, CP_ERR, "%s: %s", path, strerror(errno));
    } else {
        rc = fail(err, errlen, CP_BAD, "%s is not a cport package (neither a ZIP nor an encrypted package)", path);
    }
    close(fd);
    return rc;
}
