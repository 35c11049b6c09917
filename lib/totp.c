/*
 * totp - one-time passwords (HOTP/TOTP), base32 secrets, otpauth:// URIs and
 * recovery codes for second-factor sign-in.
 */
#include "totp.h"

#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <string.h>

static const char totp_b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Recovery code letters: digits and lower case without 0 o 1 l i, which read alike. */
static const char totp_rc_alphabet[] = "23456789abcdefghjkmnpqrstuvwxyz";
#define TOTP_RC_CHARS 10

/* Encode n bytes five bits at a time, most significant first, as RFC 4648 does. */
size_t totp_base32_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = totp_b32_alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = totp_b32_alphabet[(acc << (5 - bits)) & 31];
    out[o] = 0;
    return o;
}

/* The 5-bit value of a base32 letter in either case, or -1. */
static int totp_b32_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* Decode base32 strictly enough that every accepted text has one meaning: the
 * data length must be one an encoder produces (not 1, 3 or 6 mod 8), padding
 * must be complete and last, and the bits beyond the last byte must be zero. */
int totp_base32_decode(const char *in, uint8_t *out, size_t outcap)
{
    if (!in)
        return -1;
    size_t o = 0, data = 0, pad = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p == '=') {
            pad++;
            continue;
        }
        int v = totp_b32_value(*p);
        if (v < 0 || pad)
            return -1; /* a foreign character, or data after padding */
        data++;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outcap || o >= INT_MAX)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
        acc &= (1u << bits) - 1; /* keep only the bits not yet emitted */
    }
    size_t rem = data % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return -1;
    if (pad && (pad >= 8 || (data + pad) % 8 != 0))
        return -1;
    if (acc != 0)
        return -1;
    return (int)o;
}

/* The OpenSSL digest for alg, or NULL. */
static const EVP_MD *totp_md(enum totp_alg alg)
{
    switch (alg) {
    case TOTP_SHA1:
        return EVP_sha1();
    case TOTP_SHA256:
        return EVP_sha256();
    case TOTP_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

/* HMAC the big-endian counter, then take RFC 4226's dynamic truncation: 31 bits
 * at the offset named by the low nibble of the last byte, modulo 10^digits. */
int totp_hotp(enum totp_alg alg, const uint8_t *key, size_t keylen, uint64_t counter, int digits, char *out)
{
    static const uint32_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    const EVP_MD *md = totp_md(alg);
    if (!md || digits < 6 || digits > 8 || !key || keylen == 0 || keylen > INT_MAX || !out)
        return CP_BAD;
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)(counter & 0xff);
    if (!HMAC(md, key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20)
        return CP_ERR;
    unsigned off = mac[maclen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
    uint32_t v = bin % pow10[digits];
    for (int i = digits - 1; i >= 0; i--, v /= 10)
        out[i] = (char)('0' + v % 10);
    out[digits] = 0;
    sodium_memzero(mac, sizeof mac);
    return CP_OK;
}

/* TOTP is HOTP over the number of whole steps since the epoch. */
int totp_generate(enum totp_alg alg, const uint8_t *key, size_t keylen, int64_t t, int digits, char *out)
{
    if (t < 0)
        return CP_BAD;
    return totp_hotp(alg, key, keylen, (uint64_t)(t / TOTP_STEP), digits, out);
}

/* Try the three steps around now, all of them every time so the timing says
 * nothing about which one matched; a step already used (<= last_step) never
 * counts. Should a code match two steps, the later one is recorded, which
 * refuses more replays rather than fewer. */
int totp_verify(const uint8_t *secret, size_t len, const char *code, int64_t now, int64_t last_step,
                int64_t *matched_step)
{
    if (!code || !secret || len == 0 || now < 0)
        return CP_BAD;
    for (int i = 0; i < TOTP_DIGITS; i++)
        if (code[i] < '0' || code[i] > '9')
            return CP_BAD; /* also stops at the NUL of a short code */
    if (code[TOTP_DIGITS] != 0)
        return CP_BAD;
    int64_t step = now / TOTP_STEP, found = -1;
    for (int64_t s = step - 1; s <= step + 1; s++) {
        char want[TOTP_DIGITS + 1];
        if (s < 0)
            continue;
        int rc = totp_hotp(TOTP_SHA1, secret, len, (uint64_t)s, TOTP_DIGITS, want);
        if (rc != CP_OK)
            return rc;
        int same = sodium_memcmp(want, code, TOTP_DIGITS) == 0;
        if (same && s > last_step)
            found = s;
        sodium_memzero(want, sizeof want);
    }
    if (found < 0)
        return CP_DENIED;
    if (matched_step)
        *matched_step = found;
    return CP_OK;
}

/* 160 random bits, the key size RFC 4226 recommends for HMAC-SHA1. */
int totp_new_secret(uint8_t out[TOTP_SECRET_LEN])
{
    if (sodium_init() < 0)
        return CP_ERR;
    randombytes_buf(out, TOTP_SECRET_LEN);
    return CP_OK;
}

/* Append s percent-encoded, keeping only RFC 3986's unreserved characters, so
 * ':', '@', '&', '?', spaces and UTF-8 bytes cannot break the URI apart. */
static void totp_pct(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            buf_add(b, p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_add(b, e, 3);
        }
    }
}

/* Build the Key Uri Format authenticator apps scan; the issuer goes in both the
 * label and the parameter, as Google's format asks for older and newer apps. */
int totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t len, struct buf *b)
{
    if (!issuer || !*issuer || !account || !*account || !secret || len == 0 || len > 1024)
        return CP_BAD;
    char b32[TOTP_BASE32_LEN(1024) + 1];
    totp_base32_encode(secret, len, b32);
    buf_adds(b, "otpauth://totp/");
    totp_pct(b, issuer);
    buf_adds(b, ":");
    totp_pct(b, account);
    buf_adds(b, "?secret=");
    buf_adds(b, b32);
    buf_adds(b, "&issuer=");
    totp_pct(b, issuer);
    buf_adds(b, "&algorithm=SHA1&digits=6&period=30");
    sodium_memzero(b32, sizeof b32);
    return CP_OK;
}

/* Write ten alphabet characters as "xxxx-xxxx-xx" into out. */
static void totp_rc_format(const char *chars, char out[TOTP_RECOVERY_SIZE])
{
    size_t o = 0;
    for (int i = 0; i < TOTP_RC_CHARS; i++) {
        if (i == 4 || i == 8)
            out[o++] = '-';
        out[o++] = chars[i];
    }
    out[o] = 0;
}

/* Draw each character uniformly (randombytes_uniform has no modulo bias). */
int totp_recovery_codes(char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE])
{
    if (sodium_init() < 0)
        return CP_ERR;
    const uint32_t n = (uint32_t)(sizeof totp_rc_alphabet - 1);
    for (int k = 0; k < TOTP_RECOVERY_COUNT; k++) {
        char chars[TOTP_RC_CHARS];
        for (int i = 0; i < TOTP_RC_CHARS; i++)
            chars[i] = totp_rc_alphabet[randombytes_uniform(n)];
        totp_rc_format(chars, codes[k]);
        sodium_memzero(chars, sizeof chars);
    }
    return CP_OK;
}

/* Accept what people retype from paper: any case, with or without the hyphens
 * or spaces, and give back the one form that was hashed. */
int totp_recovery_normalize(const char *in, char out[TOTP_RECOVERY_SIZE])
{
    char chars[TOTP_RC_CHARS];
    int n = 0;
    if (!in)
        return CP_BAD;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!strchr(totp_rc_alphabet, c) || n == TOTP_RC_CHARS)
            return CP_BAD;
        chars[n++] = c;
    }
    if (n != TOTP_RC_CHARS)
        return CP_BAD;
    totp_rc_format(chars, out);
    return CP_OK;
}
