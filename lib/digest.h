/*
 * digest - MD5, SHA-1 and SHA-256 of the same bytes in one pass: the three
 * hashes hotlines and hash lists identify media by. MD5 and SHA-1 come from
 * OpenSSL's libcrypto (EVP), SHA-256 from libsodium, the same SHA-256 the media
 * store (lib/mstore) files contents under. One call for bytes in memory, or
 * init/update/final for a stream read in pieces.
 */
#ifndef CPORT_DIGEST_H
#define CPORT_DIGEST_H

#include <openssl/evp.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

/* A digest in progress. Its two EVP contexts are allocated by digest_init and
 * released by digest_final or digest_free, so every init needs one of them. */
struct digest_ctx {
    EVP_MD_CTX *md5, *sha1;
    crypto_hash_sha256_state sha256;
    int failed; /* an EVP update failed: digest_final reports CP_ERR */
};

/* The three digests of n bytes at p. libcrypto can fail (out of memory, or
 * MD5/SHA-1 missing because only a FIPS provider is loaded); then md5 and sha1
 * are all zeros, which never matches anything. Callers that must tell that
 * apart use digest_init/update/final, which report it. */
void digest_all(const uint8_t *p, size_t n, uint8_t md5[16], uint8_t sha1[20], uint8_t sha256[32]);

/* Start a stream: CP_OK, or CP_ERR when libcrypto cannot (nothing to free then). */
int digest_init(struct digest_ctx *c);
/* Feed n more bytes. */
void digest_update(struct digest_ctx *c, const void *p, size_t n);
/* Finish: the three digests of everything fed, and the contexts released.
 * CP_OK, or CP_ERR (outputs zeroed) when libcrypto failed on the way. */
int digest_final(struct digest_ctx *c, uint8_t md5[16], uint8_t sha1[20], uint8_t sha256[32]);
/* Abandon a stream without a result (safe after digest_final too). */
void digest_free(struct digest_ctx *c);

#endif
