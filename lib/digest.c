/*
 * digest - MD5 and SHA-1 through libcrypto's EVP interface, SHA-256 through
 * libsodium, fed the same bytes together. See digest.h.
 */
#include "digest.h"
#include "util.h"

#include <string.h>

/* Release the EVP contexts; NULL pointers are fine, so this also serves a
 * half-finished digest_init and a second call. */
void digest_free(struct digest_ctx *c)
{
    EVP_MD_CTX_free(c->md5);
    EVP_MD_CTX_free(c->sha1);
    c->md5 = c->sha1 = NULL;
    sodium_memzero(&c->sha256, sizeof c->sha256);
}

/* Allocate and start the two EVP digests and libsodium's SHA-256. */
int digest_init(struct digest_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->md5 = EVP_MD_CTX_new();
    c->sha1 = EVP_MD_CTX_new();
    if (!c->md5 || !c->sha1 || EVP_DigestInit_ex(c->md5, EVP_md5(), NULL) != 1 ||
        EVP_DigestInit_ex(c->sha1, EVP_sha1(), NULL) != 1) {
        digest_free(c);
        return CP_ERR;
    }
    crypto_hash_sha256_init(&c->sha256);
    return CP_OK;
}

/* Feed all three; an EVP failure is remembered for digest_final rather than
 * returned, so a reading loop needs no check per piece. */
void digest_update(struct digest_ctx *c, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (!c->md5 || !c->sha1 || EVP_DigestUpdate(c->md5, p, n) != 1 || EVP_DigestUpdate(c->sha1, p, n) != 1)
        c->failed = 1;
    crypto_hash_sha256_update(&c->sha256, p, n);
}

/* Finish all three and release the contexts; on a libcrypto failure the
 * outputs are zeroed so a caller ignoring the status still stores no
 * half-computed value. */
int digest_final(struct digest_ctx *c, uint8_t md5[16], uint8_t sha1[20], uint8_t sha256[32])
{
    unsigned l5 = 0, l1 = 0;
    int ok = !c->failed && c->md5 && c->sha1 && EVP_DigestFinal_ex(c->md5, md5, &l5) == 1 &&
             EVP_DigestFinal_ex(c->sha1, sha1, &l1) == 1 && l5 == 16 && l1 == 20;
    crypto_hash_sha256_final(&c->sha256, sha256);
    digest_free(c);
    if (!ok) {
        memset(md5, 0, 16);
        memset(sha1, 0, 20);
        memset(sha256, 0, 32);
        return CP_ERR;
    }
    return CP_OK;
}

/* One pass over bytes in memory. On a libcrypto failure md5 and sha1 are zero
 * but sha256 (libsodium, which cannot fail) is still right. */
void digest_all(const uint8_t *p, size_t n, uint8_t md5[16], uint8_t sha1[20], uint8_t sha256[32])
{
    struct digest_ctx c;
    if (digest_init(&c) == CP_OK) {
        digest_update(&c, p, n);
        if (digest_final(&c, md5, sha1, sha256) == CP_OK)
            return;
    }
    memset(md5, 0, 16);
    memset(sha1, 0, 20);
    crypto_hash_sha256(sha256, p, n);
}
