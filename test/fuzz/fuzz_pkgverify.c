/*
 * fuzz_pkgverify - libFuzzer target for package verification, pkgzip_verify
 * (lib/pkgzip.c): the magic, the CPORTENC header and its Argon2id parameters,
 * the secretstream chunks, then the ZIP through libarchive's seekable reader,
 * manifest.json and manifest.sig, the Ed25519 signature with a fixed trusted
 * key, the manifest's form and every member's size and SHA-256. Each input is
 * written to one temp file (reused, removed at exit) and verified from there,
 * as `cport package verify` would read a download.
 *
 * Encrypted inputs get the seeds' passphrase when their header asks for cheap
 * key derivation (seeds.h), else none (the "passphrase needed" answer), so a
 * run is not spent inside Argon2id. Beyond memory errors and leaks it checks
 * the documented outcomes: CP_OK with a manifest object, or CP_CONFLICT,
 * CP_DENIED or CP_BAD; never CP_ERR or CP_NOTFOUND for a readable file.
 */
#include "pkgzip.h"
#include "seeds.h"
#include "util.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_path[512];
static uint8_t fz_pk[32];

/* At exit: remove the temp file. */
static void fz_cleanup(void)
{
    if (fz_path[0])
        unlink(fz_path);
}

/* The key and the temp path, on the first call. */
static void fz_setup(void)
{
    if (fz_path[0])
        return;
    uint8_t sk[64];
    if (sodium_init() < 0 || crypto_sign_seed_keypair(fz_pk, sk, (const uint8_t *)FUZZ_PKG_KEY_SEED) != 0)
        abort();
    sodium_memzero(sk, sizeof sk);
    const char *tmp = getenv("TMPDIR");
    snprintf(fz_path, sizeof fz_path, "%s/cport-fuzz-pkgverify-%d.bin", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    atexit(fz_cleanup);
}

/* A little-endian u64 from the header. */
static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The fuzzer's entry point. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_setup();
    int fd = open(fz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    for (size_t o = 0; o < size;) {
        ssize_t w = write(fd, data + o, size - o);
        if (w <= 0)
            abort();
        o += (size_t)w;
    }
    close(fd);
    const char *pass = NULL;
    if (size >= PKGZIP_ENC_HEADER && memcmp(data, PKGZIP_ENC_MAGIC, 8) == 0 && le64(data + 25) <= FUZZ_PKG_CHEAP_OPS &&
        le64(data + 33) <= FUZZ_PKG_CHEAP_MEM)
        pass = FUZZ_PKG_PASSPHRASE;
    cJSON *summary = NULL;
    char bad[256], err[512];
    int rc = pkgzip_verify(fz_path, fz_pk, pass, &summary, bad, sizeof bad, err, sizeof err);
    if (!(rc == CP_OK ? cJSON_IsObject(summary) : !summary && (rc == CP_CONFLICT || rc == CP_DENIED || rc == CP_BAD))) {
        fprintf(stderr, "fuzz_pkgverify: unexpected outcome %d (%s): %s\n", rc, bad, err);
        abort();
    }
    cJSON_Delete(summary);
    return 0;
}

#include "replay.h"
