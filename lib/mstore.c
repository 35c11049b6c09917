/*
 * mstore - the encrypted, content-addressed media store: the key file, the
 * on-disk names, writing originals through libsodium's secretstream and
 * reading them back with every check, and the plaintext previews. The layout
 * and the file format are described in mstore.h.
 */
#include "mstore.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL
#define KEY_FILE "media.key"
#define KDF_CONTEXT "cportmed" /* crypto_kdf_CONTEXTBYTES (8) characters */
#define INTEGRITY "stored content failed its integrity check: "

_Static_assert(MSTORE_HEADER == 16 + SS_HEADER, "the file header is magic, length and secretstream header");
_Static_assert(sizeof KDF_CONTEXT - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");

/* ------------------------------------------------------------------ I/O */



/* fsync a directory, so a rename or unlink in it survives a crash. Best
 * effort: the files themselves are complete and synced already. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* fsync the directory that holds path. */
static void sync_parent(const char *path)
{
    char dir[MSTORE_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        return sync_dir(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof dir)
        return;
    memcpy(dir, path, len);
    dir[len] = 0;
    sync_dir(dir);
}

/* Store a u64 little-endian (the plaintext length in the file header). */
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Load a little-endian u64. */
static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Create directory path with mode 0750 when absent. The mode is set with chmod
 * so a strict umask cannot keep nginx's group out, and the parent is fsync'd
 * so the new entry is durable before files are renamed into it. An existing
 * directory is fine; an existing non-directory is ENOTDIR. 0 or -1 (errno). */
static int make_dir(const char *path)
{
    if (mkdir(path, 0750) == 0) {
        if (chmod(path, 0750) != 0)
            return -1;
        sync_parent(path);
        return 0;
    }
    if (errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ temp files */

/* A file being written: a temp file in its final directory, so the rename
 * that publishes it never crosses file systems. */
struct tmpfile {
    int fd;
    char path[MSTORE_PATH_MAX];
};

/* Create base (the media or previews dir) and base/<sub>, then a fresh temp
 * file ".tmp-XXXXXX" (O_EXCL) in the latter. CP_OK or CP_ERR. */
static int tmp_open(struct tmpfile *t, const char *base, const char *sub, char *err, size_t errlen)
{
    char dir[sizeof((struct mstore *)0)->dir + 4]; /* base is one of the two dirs of a struct mstore */
    t->fd = -1;
    snprintf(dir, sizeof dir, "%s/%s", base, sub);
    if (make_dir(base) != 0)
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", base, strerror(errno));
    if (make_dir(dir) != 0)
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", dir, strerror(errno));
    snprintf(t->path, sizeof t->path, "%s/.tmp-XXXXXX", dir);
    t->fd = mkostemp(t->path, O_CLOEXEC);
    if (t->fd < 0)
        return fail(err, errlen, CP_ERR, "cannot create a temp file in %s: %s", dir, strerror(errno));
    return CP_OK;
}

/* Give up on a temp file: close and remove it. */
static void tmp_abort(struct tmpfile *t)
{
    if (t->fd >= 0) {
        close(t->fd);
        unlink(t->path);
        t->fd = -1;
    }
}

/* Publish a completely written temp file as final: mode 0640, fsync, rename,
 * fsync the directory. On failure the temp file is removed. CP_OK or CP_ERR. */
static int tmp_commit(struct tmpfile *t, const char *final, int lazy, char *err, size_t errlen)
{
    if (fchmod(t->fd, 0640) != 0 || (!lazy && fsync(t->fd) != 0)) {
        int e = errno;
        tmp_abort(t);
        return fail(err, errlen, CP_ERR, "cannot write %s: %s", final, strerror(e));
    }
    int rc = close(t->fd);
    t->fd = -1;
    if (rc != 0 || rename(t->path, final) != 0) {
        int e = errno;
        unlink(t->path);
        return fail(err, errlen, CP_ERR, "cannot store %s: %s", final, strerror(e));
    }
    if (!lazy)
        sync_parent(final);
    return CP_OK;
}

/* ------------------------------------------------------------------ keys */

/* Create the key once: random bytes into a temp file beside it, fsync'd, then
 * link()ed to media.key. link fails when the name exists, so unlike rename it
 * can never replace a key that contents are already encrypted under, even
 * when two processes create it at once; and the key appears complete or not
 * at all. */
int mstore_key_create(const char *key_dir, char *err, size_t errlen)
{
    char path[MSTORE_PATH_MAX], tmp[MSTORE_PATH_MAX];
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    if (!key_dir || !*key_dir || strlen(key_dir) > MSTORE_PATH_MAX - 64)
        return fail(err, errlen, CP_BAD, "the key directory name is empty or too long");
    snprintf(path, sizeof path, "%s/" KEY_FILE, key_dir);
    snprintf(tmp, sizeof tmp, "%s/." KEY_FILE "-XXXXXX", key_dir);
    if (mkdir(key_dir, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", key_dir, strerror(errno));
    struct stat st;
    if (lstat(path, &st) == 0)
        return CP_OK;
    if (errno != ENOENT)
        return fail(err, errlen, CP_ERR, "cannot look at %s: %s", path, strerror(errno));
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, CP_ERR, "cannot create a temp file in %s: %s", key_dir, strerror(errno));
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    int bad = fchmod(fd, 0600) != 0 || util_write_all(fd, key, sizeof key) != 0 || fsync(fd) != 0;
    int e = errno;
    sodium_memzero(key, sizeof key);
    if (close(fd) != 0 && !bad)
        bad = 1, e = errno;
    if (bad) {
        unlink(tmp);
        return fail(err, errlen, CP_ERR, "cannot write %s: %s", tmp, strerror(e));
    }
    if (link(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        if (e == EEXIST) /* another process created it meanwhile: theirs stays */
            return CP_OK;
        return fail(err, errlen, CP_ERR, "cannot create %s: %s", path, strerror(e));
    }
    unlink(tmp);
    sync_dir(key_dir);
    return CP_OK;
}

/* Read the 32-byte master key, refusing one others could read (or replace),
 * and derive the content key and the name key from it. */
int mstore_open(struct mstore *ms, const char *data_dir, const char *key_dir, char *err, size_t errlen)
{
    char path[MSTORE_PATH_MAX];
    memset(ms, 0, sizeof *ms);
    if (sodium_init() < 0)
        return fail(err, errlen, CP_ERR, "libsodium failed to initialise");
    /* room for "/previews/xx/<64 hex>.jpg" and temp names under the data dir */
    if (!data_dir || !*data_dir || strlen(data_dir) > MSTORE_PATH_MAX - 128)
        return fail(err, errlen, CP_BAD, "the data directory name is empty or too long");
    if (!key_dir || !*key_dir || strlen(key_dir) > MSTORE_PATH_MAX - 64)
        return fail(err, errlen, CP_BAD, "the key directory name is empty or too long");
    snprintf(path, sizeof path, "%s/" KEY_FILE, key_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return fail(err, errlen, CP_NOTFOUND, "no media key at %s: run `cport migrate` to create it", path);
    if (fd < 0)
        return fail(err, errlen, CP_ERR, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, CP_ERR, "cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, errlen, CP_BAD, "%s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return fail(err, errlen, CP_BAD, "%s is accessible by group or others (mode %04o): it must be 0600", path,
                    (unsigned)(st.st_mode & 07777));
    }
    if (st.st_size != 32) {
        close(fd);
        return fail(err, errlen, CP_BAD, "%s is %lld bytes, not the 32 of a media key", path, (long long)st.st_size);
    }
    uint8_t master[32];
    ssize_t r = util_read_full(fd, master, sizeof master);
    int e = errno;
    close(fd);
    if (r != (ssize_t)sizeof master) {
        sodium_memzero(master, sizeof master);
        return fail(err, errlen, r < 0 ? CP_ERR : CP_BAD, "cannot read %s: %s", path,
                    r < 0 ? strerror(e) : "shorter than 32 bytes");
    }
    crypto_kdf_derive_from_key(ms->key, sizeof ms->key, 1, KDF_CONTEXT, master);
    crypto_kdf_derive_from_key(ms->name_key, sizeof ms->name_key, 2, KDF_CONTEXT, master);
    sodium_memzero(master, sizeof master);
    snprintf(ms->dir, sizeof ms->dir, "%s/media", data_dir);
    snprintf(ms->preview_dir, sizeof ms->preview_dir, "%s/previews", data_dir);
    return CP_OK;
}

/* Forget the keys, so they do not linger in freed or reused memory. */
void mstore_close(struct mstore *ms)
{
    sodium_memzero(ms->key, sizeof ms->key);
    sodium_memzero(ms->name_key, sizeof ms->name_key);
}

/* ----------------------------------------------------------------- names */

/* Keyed BLAKE2b-256 of the SHA-256: stable for the store, meaningless without
 * the key, so the file names do not reveal which contents are held. */
void mstore_name(const struct mstore *ms, const uint8_t sha256[32], char name[65])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, sha256, 32, ms->name_key, sizeof ms->name_key);
    util_hex_encode(h, sizeof h, name);
}

/* <dir>/<n0n1>/<name>. */
void mstore_path(const struct mstore *ms, const uint8_t sha256[32], char *path, size_t len)
{
    char name[65];
    mstore_name(ms, sha256, name);
    snprintf(path, len, "%s/%.2s/%s", ms->dir, name, name);
}

/* A regular file at the content's path; anything else is not a stored content. */
int mstore_has(const struct mstore *ms, const uint8_t sha256[32])
{
    char path[MSTORE_PATH_MAX];
    struct stat st;
    mstore_path(ms, sha256, path, sizeof path);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ------------------------------------------------------------- originals */

/* Encrypt n bytes into fd in the format of mstore.h. 0, or -1 with errno. */
static int write_encrypted(const struct mstore *ms, int fd, const uint8_t sha256[32], const uint8_t *p, size_t n)
{
    static const uint8_t none[1];
    uint8_t head[MSTORE_HEADER];
    crypto_secretstream_xchacha20poly1305_state st;
    memcpy(head, MSTORE_MAGIC, 8);
    put_u64(head + 8, (uint64_t)n);
    crypto_secretstream_xchacha20poly1305_init_push(&st, head + 16, ms->key);
    uint8_t *c = malloc(MSTORE_CHUNK + ABYTES);
    int rc = c && util_write_all(fd, head, sizeof head) == 0 ? 0 : -1;
    if (!c)
        errno = ENOMEM;
    size_t off = 0;
    while (rc == 0) {
        size_t m = n - off < MSTORE_CHUNK ? n - off : MSTORE_CHUNK;
        uint8_t tag = off + m == n ? TAG_FINAL : TAG_MESSAGE;
        unsigned long long clen;
        crypto_secretstream_xchacha20poly1305_push(&st, c, &clen, n ? p + off : none, m, sha256, 32, tag);
        rc = util_write_all(fd, c, (size_t)clen);
        off += m;
        if (tag == TAG_FINAL)
            break;
    }
    sodium_memzero(&st, sizeof st);
    free(c);
    return rc;
}

/* Check the content against its SHA-256, keep an existing copy, otherwise
 * encrypt it into a temp file and publish it. */
int mstore_put(const struct mstore *ms, const uint8_t sha256[32], const uint8_t *p, size_t n, char *err, size_t errlen)
{
    static const uint8_t none[1];
    uint8_t h[32];
    crypto_hash_sha256(h, n ? p : none, n);
    if (sodium_memcmp(h, sha256, 32) != 0)
        return fail(err, errlen, CP_BAD, "the content does not match its SHA-256");
    if (mstore_has(ms, sha256))
        return CP_OK;
    char name[65], final[MSTORE_PATH_MAX], sub[3];
    mstore_name(ms, sha256, name);
    memcpy(sub, name, 2);
    sub[2] = 0;
    mstore_path(ms, sha256, final, sizeof final);
    struct tmpfile t;
    int st = tmp_open(&t, ms->dir, sub, err, errlen);
    if (st != CP_OK)
        return st;
    if (write_encrypted(ms, t.fd, sha256, p, n) != 0) {
        int e = errno;
        tmp_abort(&t);
        return fail(err, errlen, CP_ERR, "cannot write %s: %s", final, strerror(e));
    }
    return tmp_commit(&t, final, ms->lazy_sync, err, errlen);
}

/* Open a stored content, read its 16-byte header and check the file's size
 * against the length it states: the fd positioned at the secretstream header
 * and the plaintext length, or CP_NOTFOUND / CP_BAD / CP_ERR. */
static int stored_open(const struct mstore *ms, const uint8_t sha256[32], int *fd, uint64_t *n, char *err,
                       size_t errlen)
{
    char path[MSTORE_PATH_MAX];
    mstore_path(ms, sha256, path, sizeof path);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT)
        return fail(err, errlen, CP_NOTFOUND, "the content is not stored");
    if (*fd < 0)
        return fail(err, errlen, CP_ERR, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    uint8_t head[16];
    ssize_t r;
    int rc = CP_OK;
    if (fstat(*fd, &st) != 0)
        rc = fail(err, errlen, CP_ERR, "cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = fail(err, errlen, CP_BAD, INTEGRITY "%s is not a regular file", path);
    else if ((r = util_read_full(*fd, head, sizeof head)) < 0)
        rc = fail(err, errlen, CP_ERR, "cannot read %s: %s", path, strerror(errno));
    else if (r < (ssize_t)sizeof head)
        rc = fail(err, errlen, CP_BAD, INTEGRITY "the file is shorter than its header");
    else if (memcmp(head, MSTORE_MAGIC, 8) != 0)
        rc = fail(err, errlen, CP_BAD, INTEGRITY "not a " MSTORE_MAGIC " file");
    if (rc != CP_OK) {
        close(*fd);
        *fd = -1;
        return rc;
    }
    *n = get_u64(head + 8);
    if (*n > (uint64_t)INT64_MAX / 2) {
        close(*fd);
        *fd = -1;
        return fail(err, errlen, CP_BAD, INTEGRITY "impossible length %llu in the header", (unsigned long long)*n);
    }
    uint64_t chunks = *n == 0 ? 1 : (*n - 1) / MSTORE_CHUNK + 1;
    uint64_t want = MSTORE_HEADER + *n + ABYTES * chunks;
    if ((uint64_t)st.st_size != want) {
        close(*fd);
        *fd = -1;
        return fail(err, errlen, CP_BAD, INTEGRITY "the file is %lld bytes where its header implies %llu (%s)",
                    (long long)st.st_size, (unsigned long long)want,
                    (uint64_t)st.st_size < want ? "truncated" : "bytes appended");
    }
    return CP_OK;
}

/* Decrypt from fd (just after the 16-byte header) a content of n plaintext
 * bytes, chunk by chunk: each must authenticate with sha256 as additional
 * data, carry TAG_MESSAGE except the last, which carries TAG_FINAL, and
 * nothing may follow; at the end the plaintext must hash to sha256. Each
 * piece goes to write (when given) as soon as its chunk has authenticated. */
static int stored_stream(const struct mstore *ms, const uint8_t sha256[32], int fd, uint64_t n,
                         int (*write)(void *w, const void *p, size_t n), void *w, char *err, size_t errlen)
{
    uint8_t ss[SS_HEADER], h[32];
    crypto_secretstream_xchacha20poly1305_state st;
    crypto_hash_sha256_state hs;
    ssize_t r = util_read_full(fd, ss, sizeof ss);
    if (r < 0)
        return fail(err, errlen, CP_ERR, "cannot read the stored content: %s", strerror(errno));
    if (r < (ssize_t)sizeof ss)
        return fail(err, errlen, CP_BAD, INTEGRITY "truncated in its secretstream header");
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st, ss, ms->key) != 0)
        return fail(err, errlen, CP_BAD, INTEGRITY "bad secretstream header");
    uint8_t *c = malloc(MSTORE_CHUNK + ABYTES), *m = malloc(MSTORE_CHUNK);
    int rc = CP_OK;
    if (!c || !m)
        rc = fail(err, errlen, CP_ERR, "out of memory");
    crypto_hash_sha256_init(&hs);
    uint64_t done = 0;
    for (unsigned long k = 1; rc == CP_OK; k++) {
        size_t want = n - done < MSTORE_CHUNK ? (size_t)(n - done) : MSTORE_CHUNK;
        unsigned long long mlen;
        uint8_t tag;
        r = util_read_full(fd, c, want + ABYTES);
        if (r < 0) {
            rc = fail(err, errlen, CP_ERR, "cannot read the stored content: %s", strerror(errno));
            break;
        }
        if (r < (ssize_t)(want + ABYTES)) {
            rc = fail(err, errlen, CP_BAD, INTEGRITY "truncated in chunk %lu", k);
            break;
        }
        if (crypto_secretstream_xchacha20poly1305_pull(&st, m, &mlen, &tag, c, (unsigned long long)r, sha256, 32) !=
            0) {
            rc = fail(err, errlen, CP_BAD, INTEGRITY "chunk %lu failed authentication", k);
            break;
        }
        done += mlen;
        int last = done == n;
        if (tag != TAG_FINAL && tag != TAG_MESSAGE)
            rc = fail(err, errlen, CP_BAD, INTEGRITY "chunk %lu has an unexpected tag %u", k, (unsigned)tag);
        else if (last && tag != TAG_FINAL)
            rc = fail(err, errlen, CP_BAD, INTEGRITY "truncated: no final chunk after chunk %lu", k);
        else if (!last && tag == TAG_FINAL)
            rc = fail(err, errlen, CP_BAD, INTEGRITY "final chunk %lu before the length in the header", k);
        if (rc != CP_OK)
            break;
        crypto_hash_sha256_update(&hs, m, (size_t)mlen);
        if (write && mlen && write(w, m, (size_t)mlen) != 0) {
            rc = fail(err, errlen, CP_ERR, "write failed");
            break;
        }
        if (last)
            break;
    }
    if (rc == CP_OK) {
        r = util_read_full(fd, c, 1);
        if (r < 0)
            rc = fail(err, errlen, CP_ERR, "cannot read the stored content: %s", strerror(errno));
        else if (r > 0)
            rc = fail(err, errlen, CP_BAD, INTEGRITY "data after the final chunk");
    }
    crypto_hash_sha256_final(&hs, h);
    if (rc == CP_OK && sodium_memcmp(h, sha256, 32) != 0)
        rc = fail(err, errlen, CP_BAD, INTEGRITY "the plaintext's SHA-256 differs");
    sodium_memzero(&st, sizeof st);
    if (m)
        sodium_memzero(m, MSTORE_CHUNK);
    free(c);
    free(m);
    return rc;
}

/* Open, check the header, decrypt to the writer. */
int mstore_stream(const struct mstore *ms, const uint8_t sha256[32], int (*write)(void *w, const void *p, size_t n),
                  void *w, char *err, size_t errlen)
{
    int fd;
    uint64_t n;
    int rc = stored_open(ms, sha256, &fd, &n, err, errlen);
    if (rc != CP_OK)
        return rc;
    rc = stored_stream(ms, sha256, fd, n, write, w, err, errlen);
    close(fd);
    return rc;
}

/* Decrypt and check everything, keeping nothing. */
int mstore_verify(const struct mstore *ms, const uint8_t sha256[32], int64_t *bytes, char *err, size_t errlen)
{
    int fd;
    uint64_t n;
    int rc = stored_open(ms, sha256, &fd, &n, err, errlen);
    if (rc != CP_OK)
        return rc;
    rc = stored_stream(ms, sha256, fd, n, NULL, NULL, err, errlen);
    close(fd);
    if (rc == CP_OK && bytes)
        *bytes = (int64_t)n;
    return rc;
}

/* The buffer mstore_get decrypts into. */
struct membuf {
    uint8_t *p;
    size_t len, cap;
};

/* Writer appending to a membuf; refuses to overflow it (stored_stream already
 * stops at the header's length, which sized the buffer). */
static int membuf_write(void *w, const void *p, size_t n)
{
    struct membuf *b = w;
    if (n > b->cap - b->len)
        return 1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* The header's length decides the refusal and the allocation; the stream's
 * checks then guarantee exactly that many verified bytes. */
int mstore_get(const struct mstore *ms, const uint8_t sha256[32], size_t max, uint8_t **out, size_t *n, char *err,
               size_t errlen)
{
    int fd;
    uint64_t len;
    *out = NULL;
    *n = 0;
    int rc = stored_open(ms, sha256, &fd, &len, err, errlen);
    if (rc != CP_OK)
        return rc;
    if (len > max || len > SIZE_MAX - 1) {
        close(fd);
        return fail(err, errlen, CP_BAD, "the stored content is %llu bytes, more than the %zu allowed",
                    (unsigned long long)len, max);
    }
    struct membuf b = {.p = malloc(len ? (size_t)len : 1), .cap = (size_t)len};
    if (!b.p) {
        close(fd);
        return fail(err, errlen, CP_ERR, "out of memory for %llu bytes", (unsigned long long)len);
    }
    rc = stored_stream(ms, sha256, fd, len, membuf_write, &b, err, errlen);
    close(fd);
    if (rc == CP_OK && b.len != b.cap)
        rc = fail(err, errlen, CP_BAD, INTEGRITY "length differs from the header");
    if (rc != CP_OK) {
        sodium_memzero(b.p, b.cap);
        free(b.p);
        return rc;
    }
    *out = b.p;
    *n = b.len;
    return CP_OK;
}

/* -------------------------------------------------------------- previews */

/* previews/<n0n1>/<name>.jpg, relative to the data dir. */
void mstore_preview_rel(const struct mstore *ms, const uint8_t sha256[32], char *rel, size_t len)
{
    char name[65];
    mstore_name(ms, sha256, name);
    snprintf(rel, len, "previews/%.2s/%s.jpg", name, name);
}

/* Write a preview through a temp file; rename replaces an older one. */
int mstore_put_preview(const struct mstore *ms, const uint8_t sha256[32], const void *jpeg, size_t n, char *err,
                       size_t errlen)
{
    const uint8_t *j = jpeg;
    if (!j || n < 3 || j[0] != 0xff || j[1] != 0xd8 || j[2] != 0xff)
        return fail(err, errlen, CP_BAD, "a preview must be a JPEG");
    if (n > MSTORE_PREVIEW_MAX)
        return fail(err, errlen, CP_BAD, "a preview of %zu bytes is larger than the %d allowed", n, MSTORE_PREVIEW_MAX);
    char name[65], final[MSTORE_PATH_MAX], sub[3];
    mstore_name(ms, sha256, name);
    memcpy(sub, name, 2);
    sub[2] = 0;
    snprintf(final, sizeof final, "%s/%s/%s.jpg", ms->preview_dir, sub, name);
    struct tmpfile t;
    int st = tmp_open(&t, ms->preview_dir, sub, err, errlen);
    if (st != CP_OK)
        return st;
    if (util_write_all(t.fd, j, n) != 0) {
        int e = errno;
        tmp_abort(&t);
        return fail(err, errlen, CP_ERR, "cannot write %s: %s", final, strerror(e));
    }
    return tmp_commit(&t, final, ms->lazy_sync, err, errlen);
}

/* Unlink path when present; 0, or -1 with errno for anything but absence. */
static int remove_file(const char *path)
{
    if (unlink(path) == 0) {
        sync_parent(path);
        return 0;
    }
    return errno == ENOENT ? 0 : -1;
}

/* Remove the original and the preview; absence is success. The
 * subdirectories stay: a concurrent put may be about to use them. */
int mstore_remove(const struct mstore *ms, const uint8_t sha256[32], char *err, size_t errlen)
{
    char name[65], path[MSTORE_PATH_MAX];
    mstore_name(ms, sha256, name);
    snprintf(path, sizeof path, "%s/%.2s/%s", ms->dir, name, name);
    if (remove_file(path) != 0)
        return fail(err, errlen, CP_ERR, "cannot remove %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%.2s/%s.jpg", ms->preview_dir, name, name);
    if (remove_file(path) != 0)
        return fail(err, errlen, CP_ERR, "cannot remove %s: %s", path, strerror(errno));
    return CP_OK;
}

/* See mstore.h: one syncfs for the store's file system. */
int mstore_sync(const struct mstore *ms, char *err, size_t errlen)
{
    int fd = open(ms->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return CP_OK; /* nothing stored yet */
    if (fd < 0 || syncfs(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, CP_ERR, "cannot sync the media store %s: %s", ms->dir, strerror(e));
    }
    close(fd);
    return CP_OK;
}
