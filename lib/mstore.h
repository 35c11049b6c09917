/*
 * mstore - the encrypted, content-addressed media store. Originals of media are
 * kept encrypted at rest under a key file outside the database; the database
 * holds only references (the plaintext SHA-256). Previews (small, blurred,
 * greyscale JPEGs) are kept in plain beside them for nginx to serve.
 *
 * The key: <key_dir>/media.key, 32 random bytes, mode 0600, created once by
 * mstore_key_create (`cport migrate`) and never overwritten. Two keys are
 * derived from it with crypto_kdf_derive_from_key, context "cportmed":
 * subkey 1 encrypts contents, subkey 2 keys the file names.
 *
 * On-disk layout under <data_dir>:
 *
 *   media/<n0n1>/<name>              an encrypted original
 *   previews/<n0n1>/<name>.jpg       its preview, plaintext
 *
 * where name = hex(BLAKE2b-256(sha256, key = name key)), so a directory listing
 * does not reveal which contents are stored, and n0n1 are its first two hex
 * digits (256 subdirectories). Directories are 0750, files 0640 (the service
 * group lets nginx read previews). Every file is written to a temp file in its
 * final directory, fsync'd, renamed into place and the directory fsync'd: a
 * file is either absent or complete.
 *
 * An encrypted original:
 *
 *   offset  size  field
 *        0     8  magic "CPORTMS1"
 *        8     8  plaintext length n, u64 little-endian
 *       16    24  crypto_secretstream_xchacha20poly1305 header
 *       40   ...  ceil(n / MSTORE_CHUNK) messages (one for n = 0), each the
 *                 secretstream ciphertext of MSTORE_CHUNK plaintext bytes (the
 *                 last: the rest) plus ABYTES (17); tagged TAG_MESSAGE except
 *                 the last, TAG_FINAL; the additional data of every message is
 *                 the content's 32-byte SHA-256, so a file moved under another
 *                 content's name does not decrypt. Nothing follows.
 *
 * The file size is therefore 40 + n + 17 * max(1, ceil(n / MSTORE_CHUNK)),
 * checked before decrypting. Reading authenticates every chunk, the tags, the
 * length and at the end the plaintext's SHA-256.
 */
#ifndef CPORT_MSTORE_H
#define CPORT_MSTORE_H

#include <stddef.h>
#include <stdint.h>

#define MSTORE_CHUNK 65536
#define MSTORE_MAGIC "CPORTMS1"
#define MSTORE_HEADER 40                 /* bytes before the first chunk */
#define MSTORE_PATH_MAX 4352             /* every path mstore builds fits in this */
#define MSTORE_PREVIEW_MAX (1024 * 1024) /* a preview larger than this is refused */

struct mstore {
    char dir[4096];         /* <data_dir>/media */
    char preview_dir[4096]; /* <data_dir>/previews */
    uint8_t key[32];        /* crypto_secretstream_xchacha20poly1305 key */
    uint8_t name_key[32];   /* keys the on-disk names (crypto_generichash, BLAKE2b) */
    /* Batch writers (the import's fetch) set this: puts then skip their own
     * fsyncs and the writer calls mstore_sync once before it records a batch
     * in the database. A crash in between can leave a file whose bytes never
     * reached the disk; nothing refers to it, and the writer verifies a file it
     * finds unrecorded before trusting it. */
    int lazy_sync;
};

/* Create key_dir (0700) and key_dir/media.key (0600, 32 random bytes, written
 * to a temp file, fsync'd and linked into place, so an existing key is never
 * overwritten, not even by a concurrent creator) when absent. CP_OK when it
 * exists (whatever it holds: mstore_open judges that) or was created; CP_BAD
 * for an empty or too long key_dir; CP_ERR. */
int mstore_key_create(const char *key_dir, char *err, size_t errlen);

/* Read key_dir/media.key and derive ms->key and ms->name_key from it; set the
 * two dirs (not created here). CP_NOTFOUND when the key is missing ("run cport
 * migrate"); CP_BAD naming the file when it is not 32 bytes, not a regular
 * file, or accessible by group or others, or data_dir is too long; CP_ERR. */
int mstore_open(struct mstore *ms, const char *data_dir, const char *key_dir, char *err, size_t errlen);

/* Wipe the keys (sodium_memzero). */
void mstore_close(struct mstore *ms);

/* The on-disk name of a content: 64 hex digits + NUL into name. */
void mstore_name(const struct mstore *ms, const uint8_t sha256[32], char name[65]);

/* Path of the encrypted original: <dir>/<name[0..1]>/<name> (len >= MSTORE_PATH_MAX always suffices). */
void mstore_path(const struct mstore *ms, const uint8_t sha256[32], char *path, size_t len);

/* 1 when the original is stored (a regular file at its path), else 0. */
int mstore_has(const struct mstore *ms, const uint8_t sha256[32]);

/* Store n bytes whose SHA-256 is sha256 (re-checked: CP_BAD on a mismatch,
 * nothing written). Idempotent: an existing file is kept as it is (de-duplication;
 * mstore_verify tells whether it is sound). Otherwise the directories are
 * created and the file written in the format above. On any failure (CP_ERR)
 * the temp file is removed and nothing is left half-written. */
int mstore_put(const struct mstore *ms, const uint8_t sha256[32], const uint8_t *p, size_t n, char *err, size_t errlen);

/* Decrypt the stored content chunk by chunk, calling write(w, p, n) for each
 * plaintext piece (never with n = 0); a non-zero return stops it: CP_ERR
 * "write failed". CP_NOTFOUND when absent; CP_BAD "stored content failed its
 * integrity check: <why>" for a bad magic or size, a chunk failing
 * authentication, a truncated stream (no FINAL tag) or bytes after FINAL, a
 * plaintext length differing from the header, or (at the end) a plaintext
 * SHA-256 differing from sha256; CP_ERR for I/O. Pieces are handed out before
 * the end is verified: callers who must not emit unverified bytes call
 * mstore_verify first. */
int mstore_stream(const struct mstore *ms, const uint8_t sha256[32], int (*write)(void *w, const void *p, size_t n),
                  void *w, char *err, size_t errlen);

/* mstore_stream without output: the whole-file integrity check; *bytes (may be
 * NULL) gets the plaintext length on CP_OK. */
int mstore_verify(const struct mstore *ms, const uint8_t sha256[32], int64_t *bytes, char *err, size_t errlen);

/* The whole verified plaintext in memory: *out malloc'd (caller frees; not
 * NUL-terminated), *n its length. Contents over max bytes are refused (CP_BAD)
 * before anything is read or allocated. *out is NULL unless CP_OK. */
int mstore_get(const struct mstore *ms, const uint8_t sha256[32], size_t max, uint8_t **out, size_t *n, char *err,
               size_t errlen);

/* The preview's path relative to the data dir, "previews/<n0n1>/<name>.jpg",
 * for nginx's X-Accel-Redirect. */
void mstore_preview_rel(const struct mstore *ms, const uint8_t sha256[32], char *rel, size_t len);

/* Write (or overwrite) the preview of a content: n bytes of JPEG (it must start
 * like one, FF D8 FF, and be at most MSTORE_PREVIEW_MAX: CP_BAD otherwise, a
 * guard against storing an original in plain). Same temp, fsync, rename
 * discipline as originals. CP_OK, CP_BAD or CP_ERR. */
int mstore_put_preview(const struct mstore *ms, const uint8_t sha256[32], const void *jpeg, size_t n, char *err,
                       size_t errlen);

/* Flush everything written to the store's file system (syncfs): the one
 * durability point of a lazy_sync batch. CP_OK or CP_ERR. */
int mstore_sync(const struct mstore *ms, char *err, size_t errlen);

/* Remove a stored original and its preview (a content withdrawn). CP_OK also
 * when either or both are absent; CP_ERR when one cannot be removed. */
int mstore_remove(const struct mstore *ms, const uint8_t sha256[32], char *err, size_t errlen);

#endif
