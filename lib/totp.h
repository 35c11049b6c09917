/*
 * totp - the groundwork for second-factor sign-in: one-time passwords from an
 * authenticator app (HOTP, RFC 4226; TOTP, RFC 6238), the base32 secrets and
 * otpauth:// URIs those apps take, and single-use recovery codes.
 *
 * Nothing here touches the database: callers store the secret, the last
 * accepted time step (for replay refusal) and the hashed recovery codes.
 */
#ifndef CPORT_TOTP_H
#define CPORT_TOTP_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

/* The HMAC hash behind a code. Authenticator apps use SHA1; the others exist
 * so the RFC 6238 test vectors can be checked. */
enum totp_alg { TOTP_SHA1, TOTP_SHA256, TOTP_SHA512 };

#define TOTP_SECRET_LEN 20 /* bytes of a new secret: SHA-1's block of entropy, 160 bits */
#define TOTP_STEP 30       /* seconds per time step */
#define TOTP_DIGITS 6      /* digits of the codes sign-in accepts */

/* Characters of the unpadded base32 form of n bytes (add 1 for the NUL). */
#define TOTP_BASE32_LEN(n) (((n)*8 + 4) / 5)

/* Encode n bytes as RFC 4648 base32, upper case, without '=' padding, into out
 * (TOTP_BASE32_LEN(n) + 1 bytes). Returns the length written. */
size_t totp_base32_encode(const uint8_t *in, size_t n, char *out);

/* Decode base32 as people type it: any case, spaces anywhere, optional trailing
 * '=' padding (which, when present, must be complete). Anything else is
 * refused: other characters, a length no encoding has, non-zero leftover bits,
 * more than outcap bytes. Returns the byte count or -1. */
int totp_base32_decode(const char *in, uint8_t *out, size_t outcap);

/* HOTP (RFC 4226): the digits-long (6..8) code for counter under key, written
 * with leading zeros into out (digits + 1 bytes). CP_OK, CP_BAD (bad digits or
 * key length) or CP_ERR (HMAC failed). */
int totp_hotp(enum totp_alg alg, const uint8_t *key, size_t keylen, uint64_t counter, int digits, char *out);

/* TOTP (RFC 6238): the HOTP code for time step t / TOTP_STEP (T0 = 0). t must
 * not be negative. Returns as totp_hotp. */
int totp_generate(enum totp_alg alg, const uint8_t *key, size_t keylen, int64_t t, int digits, char *out);

/* Check a 6-digit SHA1 code typed at time now against the steps now/30 - 1,
 * now/30 and now/30 + 1 (clock drift and typing time). Every candidate is
 * computed and compared in constant time. A step <= last_step was already used
 * (pass -1 when no code was ever accepted) and is refused, so a code cannot be
 * replayed; on success *matched_step (may be NULL) receives the step to store
 * as the new last_step. Returns CP_OK, CP_DENIED (wrong, expired or replayed),
 * CP_BAD (code not exactly 6 ASCII digits, empty secret, negative now) or
 * CP_ERR (HMAC failed). */
int totp_verify(const uint8_t *secret, size_t len, const char *code, int64_t now, int64_t last_step,
                int64_t *matched_step);

/* Fill out with a new random secret (libsodium's CSPRNG). CP_OK or CP_ERR. */
int totp_new_secret(uint8_t out[TOTP_SECRET_LEN]);

/* Append to b the enrolment URI an authenticator app reads from a QR code:
 * otpauth://totp/<issuer>:<account>?secret=<BASE32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
 * with issuer and account percent-encoded (only RFC 3986 unreserved characters
 * kept). CP_OK, or CP_BAD when issuer, account or the secret is empty. */
int totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t len, struct buf *b);

/*
 * Recovery codes: the way in when the authenticator is lost. Each is
 * "xxxx-xxxx-xx", 10 characters from a 31-letter alphabet without look-alikes
 * (no 0/o/O, 1/l/i), about 49 bits each.
 *
 * They are passwords: the caller must store them only hashed (crypto_pwhash_str,
 * or BLAKE2b/crypto_generichash since they are random) and delete each one when
 * used; the plain codes are shown to the user once and never kept.
 */
#define TOTP_RECOVERY_COUNT 10
#define TOTP_RECOVERY_SIZE 16 /* room for "xxxx-xxxx-xx" and its NUL */

/* Fill codes with TOTP_RECOVERY_COUNT new random codes. CP_OK or CP_ERR. */
int totp_recovery_codes(char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE]);

/* Bring a typed recovery code to its stored form before hashing or comparing:
 * lower case, spaces and hyphens dropped and the hyphens put back in place.
 * Returns CP_OK, or CP_BAD when it is not 10 characters of the alphabet. */
int totp_recovery_normalize(const char *in, char out[TOTP_RECOVERY_SIZE]);

#endif
