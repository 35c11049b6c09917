/*
 * pkgzip - the container of an intelligence package: a signed ZIP file that an
 * LEA analyst downloads and anyone can verify offline, optionally encrypted as
 * a whole under a passphrase. What goes into the members is the caller's
 * business (lib/package); pkgzip streams them to temp files in bounded memory,
 * records each one's size and SHA-256, and at the end writes
 *
 *   <member 1> ... <member n>   deflated, in the order they were written
 *   manifest.json               the caller's manifest object plus
 *                                 "format": "cport-package/1",
 *                                 "files": [{"name", "bytes", "sha256"}, ...] (every member, in order),
 *                                 "public_key": hex of the signer's Ed25519 public key
 *   manifest.sig                base64 (standard, padded) of the 64-byte Ed25519 detached
 *                               signature of manifest.json's exact bytes, then "\n"
 *
 * as a ZIP (libarchive; zip64 extensions only where a member needs them).
 * Verifying a package means: the signature over manifest.json with a public key
 * the verifier already trusts, then every member's size and SHA-256 against the
 * manifest, and that no member is missing or extra. By hand:
 *
 *   unzip pkg.zip manifest.json manifest.sig
 *   base64 -d manifest.sig > sig.bin    # then Ed25519-verify manifest.json with sig.bin
 *   sha256sum <each member>              # compare with manifest.json's "files"
 *
 * Encrypted packages (passphrase given to pkgzip_finish) wrap the whole ZIP:
 *
 *   offset  size  field
 *        0     8  magic "CPORTENC"
 *        8     1  version, 1
 *        9    16  Argon2id salt (random)
 *       25     8  opslimit, u64 little-endian
 *       33     8  memlimit in bytes, u64 little-endian
 *       41    24  crypto_secretstream_xchacha20poly1305 header
 *       65   ...  chunks: u32 little-endian ciphertext length L, then L bytes of
 *                 ciphertext: up to 64 KiB (PKGZIP_ENC_CHUNK) of the ZIP plus
 *                 crypto_secretstream_xchacha20poly1305_ABYTES (17). Every chunk is
 *                 tagged TAG_MESSAGE except the last, tagged TAG_FINAL; nothing
 *                 may follow it. No additional data.
 *
 *   key = crypto_pwhash(32 bytes, passphrase, salt, opslimit, memlimit,
 *                       crypto_pwhash_ALG_ARGON2ID13)
 *
 * pkgzip writes opslimit/memlimit = crypto_pwhash_OPSLIMIT_INTERACTIVE /
 * MEMLIMIT_INTERACTIVE (2 passes, 64 MiB); a reader uses the recorded values but
 * refuses anything outside [libsodium's minimum, PKGZIP_ENC_OPS_MAX /
 * PKGZIP_ENC_MEM_MAX], so a hostile header cannot make it burn hours or gigabytes.
 * The secretstream ensures a truncated, reordered or altered file never
 * decrypts. Decrypting by hand: libsodium's secretstream pull over the chunks.
 *
 * Memory stays bounded everywhere: members are staged on disk and copied through
 * 64 KiB buffers; verification hashes members as they stream out of libarchive
 * and holds only manifest.json (at most PKGZIP_MANIFEST_MAX) and a list of
 * names, sizes and hashes.
 */
#ifndef CPORT_PKGZIP_H
#define CPORT_PKGZIP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define PKGZIP_FORMAT "cport-package/1"
#define PKGZIP_MANIFEST "manifest.json"
#define PKGZIP_SIGNATURE "manifest.sig"
#define PKGZIP_NAME_MAX 255                     /* bytes of a member name */
#define PKGZIP_MANIFEST_MAX (64L * 1024 * 1024) /* manifest.json a verifier accepts */
#define PKGZIP_MEMBERS_MAX 1000000              /* entries a verifier accepts */

#define PKGZIP_ENC_MAGIC "CPORTENC"
#define PKGZIP_ENC_VERSION 1
#define PKGZIP_ENC_CHUNK 65536                     /* plaintext bytes per chunk, at most */
#define PKGZIP_ENC_HEADER 65                       /* bytes before the first chunk */
#define PKGZIP_ENC_OPS_MAX 16ULL                   /* Argon2id passes a reader accepts */
#define PKGZIP_ENC_MEM_MAX (1024ULL * 1024 * 1024) /* Argon2id memory a reader accepts */

/* A package being written. */
struct pkgzip;

/* Start a package whose final file will be `path`; members are staged as temp
 * files in `tmpdir` (bounded memory: never a whole member in RAM). `path` is
 * only ever created by a successful pkgzip_finish (by renaming path + ".tmp"),
 * so one path must not be built by two packages at once. CP_OK, CP_BAD (bad
 * path or tmpdir) or CP_ERR (no memory). */
int pkgzip_begin(struct pkgzip **pz, const char *path, const char *tmpdir, char *err, size_t errlen);

/* Members: begin one (name like "reports.csv": [A-Za-z0-9._/-], at most
 * PKGZIP_NAME_MAX bytes, no "..", no leading, trailing or doubled "/", no "."
 * component, not manifest.json or manifest.sig, not a name already used), write
 * to it in pieces, end it (its size and SHA-256 are recorded for the manifest).
 * One member open at a time. A failure leaves pz usable only for pkgzip_abort.
 * CP_OK, CP_BAD (name, order of calls) or CP_ERR (disk). */
int pkgzip_member_begin(struct pkgzip *pz, const char *name, char *err, size_t errlen);
int pkgzip_member_write(struct pkgzip *pz, const void *p, size_t n, char *err, size_t errlen);
int pkgzip_member_end(struct pkgzip *pz, char *err, size_t errlen);

/* Finish: manifest is a cJSON object the caller filled (package id, creator,
 * scope, counts...); pkgzip adds (replacing any the caller set) "format",
 * "files" and "public_key" as described above, writes manifest.json (cJSON_Print
 * plus "\n": the signed bytes) and manifest.sig, then the ZIP to path + ".tmp",
 * fsyncs it and renames it to path (mode 0640, so nginx in the service group can send it; the directory is fsynced too).
 * With passphrase non-NULL (and not empty) the ZIP is staged in tmpdir and path
 * receives its encryption instead. sha256_hex (65 bytes, lower-case hex) and
 * bytes (either may be NULL) receive the final file's SHA-256 and size, as the
 * download's checksum. The manifest object is not freed (but gains the three
 * members). pk must be sk's public key. pz is released whatever
 * the outcome; on failure no file is left at path + ".tmp" or in tmpdir, and
 * path is untouched. CP_OK, CP_BAD or CP_ERR. */
int pkgzip_finish(struct pkgzip *pz, cJSON *manifest, const uint8_t pk[32], const uint8_t sk[64],
                  const char *passphrase, char sha256_hex[65], int64_t *bytes, char *err, size_t errlen);

/* Abandon: remove every temp file and any partial output, release pz (NULL is
 * fine). A failed build leaves no partial file. */
void pkgzip_abort(struct pkgzip *pz);

/* Offline verification of a package file (plain ZIP or encrypted, told apart by
 * the magic; an encrypted one needs passphrase). pk: the signer's public key to
 * trust (NULL: trust nothing -> CP_DENIED "no key given"); the manifest's own
 * public_key is never trusted by itself but must equal pk. Checks, in order:
 * the signature over manifest.json, the manifest's form, then every member of
 * the manifest (in its order) for presence, size and SHA-256, then that the ZIP
 * holds nothing else (only regular files, no duplicate names).
 *
 * Returns CP_OK; CP_CONFLICT with bad_name receiving the first bad file
 * ("manifest.json" for a bad signature or manifest, "manifest.sig" for a missing
 * or malformed signature, "" for damage outside any file: a broken ZIP or
 * encrypted stream) and err saying why; CP_DENIED for no key, no passphrase for
 * an encrypted file, or a wrong passphrase (a first chunk that does not
 * decrypt); CP_BAD for a file that is neither a ZIP nor CPORTENC or has an
 * unsupported version or hostile parameters; CP_NOTFOUND for no such file;
 * CP_ERR for I/O or memory. summary (may be NULL) receives the parsed manifest
 * on CP_OK only (caller frees with cJSON_Delete), NULL otherwise. Decrypted
 * data goes to an unlinked temp file in $TMPDIR (or /tmp), gone when done. */
int pkgzip_verify(const char *path, const uint8_t pk[32], const char *passphrase, cJSON **summary, char *bad_name,
                  size_t bad_len, char *err, size_t errlen);

/* True when name is acceptable as a member name (the rules of member_begin). */
int pkgzip_name_ok(const char *name);

#endif
