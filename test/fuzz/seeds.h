/*
 * seeds.h - constants the fuzz targets share with the seed maker
 * (test/fuzz/mkseeds.c): the fixed signing key and passphrase of fuzz_pkgverify
 * and the pixel cap of fuzz_image, so seeds made once keep verifying and
 * decoding in every later run.
 */
#ifndef CPORT_FUZZ_SEEDS_H
#define CPORT_FUZZ_SEEDS_H

/* 32 bytes: the Ed25519 seed of the key fuzz_pkgverify trusts (synthetic). */
#define FUZZ_PKG_KEY_SEED "cport-fuzz pkgverify test key 01"
/* The passphrase fuzz_pkgverify tries on encrypted packages. */
#define FUZZ_PKG_PASSPHRASE "fuzz passphrase, synthetic"
/* Encrypted packages asking for more Argon2id work than this are verified
 * without a passphrase (header checks only), so the fuzzer's time goes to
 * parsing rather than to key derivation. */
#define FUZZ_PKG_CHEAP_OPS 3
#define FUZZ_PKG_CHEAP_MEM (1024 * 1024)
/* fuzz_image decodes at most this many pixels (cport's default is 40 M). */
#define FUZZ_IMAGE_MAX_PIXELS 4000000L
/* ... and makes previews of this long side (cport's default). */
#define FUZZ_IMAGE_PREVIEW 192

#endif
