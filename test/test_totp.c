/*
 * test_totp - RFC 4226/6238 vectors, base32, the verification window and replay
 * refusal, enrolment URIs and recovery codes.
 */
#include "test.h"
#include "totp.h"

#include <stdint.h>

static const uint8_t seed20[] = "12345678901234567890";
static const uint8_t seed32[] = "12345678901234567890123456789012";
static const uint8_t seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";

/* RFC 4226 appendix D: HOTP-SHA1, 6 digits, counters 0..9. */
static void test_rfc4226(void)
{
    static const char *want[] = {"755224", "287082", "359152", "969429", "338314",
                                 "254676", "287922", "162583", "399871", "520489"};
    char code[9];
    for (int i = 0; i < 10; i++) {
        CHECK_INT(totp_hotp(TOTP_SHA1, seed20, 20, (uint64_t)i, 6, code), CP_OK);
        CHECK_STR(code, want[i]);
    }
}

/* RFC 6238 appendix B: all three hashes, 8 digits, every listed time. */
static void test_rfc6238(void)
{
    static const struct {
        int64_t t;
        const char *sha1, *sha256, *sha512;
    } v[] = {
        /* clang-format off */
        {59, "94287082", "46119246", "90693936"},
        {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"},
        {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"},
        {20000000000, "65353130", "77737706", "47863826"},
        /* clang-format on */
    };
    char code[9];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_INT(totp_generate(TOTP_SHA1, seed20, 20, v[i].t, 8, code), CP_OK);
        CHECK_STR(code, v[i].sha1);
        CHECK_INT(totp_generate(TOTP_SHA256, seed32, 32, v[i].t, 8, code), CP_OK);
        CHECK_STR(code, v[i].sha256);
        CHECK_INT(totp_generate(TOTP_SHA512, seed64, 64, v[i].t, 8, code), CP_OK);
        CHECK_STR(code, v[i].sha512);
    }
    /* The 6-digit form is the last six digits of the 8-digit one. */
    CHECK_INT(totp_generate(TOTP_SHA1, seed20, 20, 1111111109, 6, code), CP_OK);
    CHECK_STR(code, "081804");
}

/* Digits outside 6..8, an empty key, a negative time are refused. */
static void test_generate_bad(void)
{
    char code[16];
    CHECK_INT(totp_hotp(TOTP_SHA1, seed20, 20, 0, 5, code), CP_BAD);
    CHECK_INT(totp_hotp(TOTP_SHA1, seed20, 20, 0, 9, code), CP_BAD);
    CHECK_INT(totp_hotp(TOTP_SHA1, seed20, 0, 0, 6, code), CP_BAD);
    CHECK_INT(totp_hotp((enum totp_alg)7, seed20, 20, 0, 6, code), CP_BAD);
    CHECK_INT(totp_generate(TOTP_SHA1, seed20, 20, -1, 6, code), CP_BAD);
}

/* RFC 4648 section 10 vectors: unpadded out, padded or not back in. */
static void test_base32_vectors(void)
{
    static const struct {
        const char *plain, *padded, *bare;
    } v[] = {
        {"", "", ""},
        {"f", "MY======", "MY"},
        {"fo", "MZXQ====", "MZXQ"},
        {"foo", "MZXW6===", "MZXW6"},
        {"foob", "MZXW6YQ=", "MZXW6YQ"},
        {"fooba", "MZXW6YTB", "MZXW6YTB"},
        {"foobar", "MZXW6YTBOI======", "MZXW6YTBOI"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char enc[32];
        uint8_t dec[16];
        size_t n = strlen(v[i].plain);
        CHECK_INT(totp_base32_encode((const uint8_t *)v[i].plain, n, enc), strlen(v[i].bare));
        CHECK_STR(enc, v[i].bare);
        CHECK_INT(totp_base32_decode(v[i].padded, dec, sizeof dec), n);
        CHECK(memcmp(dec, v[i].plain, n) == 0);
        CHECK_INT(totp_base32_decode(v[i].bare, dec, sizeof dec), n);
        CHECK(memcmp(dec, v[i].plain, n) == 0);
    }
    char enc[40];
    totp_base32_encode(seed20, 20, enc);
    CHECK_STR(enc, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

/* Every length 0..40 and every byte value survives a round trip, in both cases. */
static void test_base32_roundtrip(void)
{
    uint8_t in[40], out[40];
    char enc[TOTP_BASE32_LEN(40) + 1];
    for (int i = 0; i < 40; i++)
        in[i] = (uint8_t)(i * 37 + 200);
    for (size_t n = 0; n <= 40; n++) {
        size_t len = totp_base32_encode(in, n, enc);
        CHECK_INT(len, TOTP_BASE32_LEN(n));
        CHECK_INT(strlen(enc), len);
        CHECK_INT(totp_base32_decode(enc, out, sizeof out), n);
        CHECK(memcmp(in, out, n) == 0);
        for (char *p = enc; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        CHECK_INT(totp_base32_decode(enc, out, sizeof out), n);
        CHECK(memcmp(in, out, n) == 0);
    }
    for (int b = 0; b < 256; b++) {
        uint8_t one = (uint8_t)b, back = 0;
        totp_base32_encode(&one, 1, enc);
        CHECK(totp_base32_decode(enc, &back, 1) == 1 && back == one);
    }
}

/* Spaces as apps print them, lower case, and padding are all accepted. */
static void test_base32_lenient(void)
{
    uint8_t out[32];
    CHECK_INT(totp_base32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", out, sizeof out), 20);
    CHECK(memcmp(out, seed20, 20) == 0);
    CHECK_INT(totp_base32_decode(" MZXW6YQ = ", out, sizeof out), 4);
    CHECK(memcmp(out, "foob", 4) == 0);
    CHECK_INT(totp_base32_decode("mZxW6yTb", out, sizeof out), 5);
    CHECK(memcmp(out, "fooba", 5) == 0);
    CHECK_INT(totp_base32_decode("   ", out, sizeof out), 0);
}

/* Foreign characters, impossible lengths, bad padding, stray bits, overflow. */
static void test_base32_reject(void)
{
    uint8_t out[32];
    CHECK_INT(totp_base32_decode(NULL, out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW6YQ1", out, sizeof out), -1); /* 1 is not base32 */
    CHECK_INT(totp_base32_decode("MZXW6YQ0", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW8YQ", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZX-W6YQ", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW6YQ\t", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW6YQ\n", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW\xc3\xa9", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("M", out, sizeof out), -1);      /* 1 mod 8 */
    CHECK_INT(totp_base32_decode("MZX", out, sizeof out), -1);    /* 3 mod 8 */
    CHECK_INT(totp_base32_decode("MZXW6Y", out, sizeof out), -1); /* 6 mod 8 */
    CHECK_INT(totp_base32_decode("MY=", out, sizeof out), -1);    /* short padding */
    CHECK_INT(totp_base32_decode("MY=======", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZXW6YTB========", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MY======MY", out, sizeof out), -1); /* data after padding */
    CHECK_INT(totp_base32_decode("=MY", out, sizeof out), -1);
    CHECK_INT(totp_base32_decode("MZ", out, sizeof out), -1); /* leftover bits not zero */
    CHECK_INT(totp_base32_decode("MZXW6YTB", out, 4), -1);    /* 5 bytes into 4 */
    CHECK_INT(totp_base32_decode("MZXW6YTB", out, 5), 5);
}

/* Steps now/30 - 1 .. now/30 + 1 are accepted, the ones beyond are not.
 * At now = 65 (step 2) the window is counters 1, 2, 3 of RFC 4226. */
static void test_verify_window(void)
{
    int64_t m = -9;
    CHECK_INT(totp_verify(seed20, 20, "287082", 65, -1, &m), CP_OK);
    CHECK_INT(m, 1);
    CHECK_INT(totp_verify(seed20, 20, "359152", 65, -1, &m), CP_OK);
    CHECK_INT(m, 2);
    CHECK_INT(totp_verify(seed20, 20, "969429", 65, -1, &m), CP_OK);
    CHECK_INT(m, 3);
    m = -9;
    CHECK_INT(totp_verify(seed20, 20, "755224", 65, -1, &m), CP_DENIED); /* step 0: too old */
    CHECK_INT(totp_verify(seed20, 20, "338314", 65, -1, &m), CP_DENIED); /* step 4: too new */
    CHECK_INT(totp_verify(seed20, 20, "000000", 65, -1, &m), CP_DENIED);
    CHECK_INT(m, -9); /* untouched on failure */
    /* Step 0 at the epoch: no step -1 to look at. */
    CHECK_INT(totp_verify(seed20, 20, "755224", 0, -1, NULL), CP_OK);
    CHECK_INT(totp_verify(seed20, 20, "287082", 29, -1, NULL), CP_OK);
    /* A real, current code from the generator verifies, also with a wrong secret not. */
    char code[9];
    int64_t now = 1793606400;
    CHECK_INT(totp_generate(TOTP_SHA1, seed20, 20, now, 6, code), CP_OK);
    CHECK_INT(totp_verify(seed20, 20, code, now, -1, &m), CP_OK);
    CHECK_INT(m, now / 30);
    CHECK_INT(totp_verify(seed32, 32, code, now, -1, NULL), CP_DENIED);
    CHECK_INT(totp_verify(seed20, 20, code, now + 30, -1, NULL), CP_OK);
    CHECK_INT(totp_verify(seed20, 20, code, now - 30, -1, NULL), CP_OK);
    CHECK_INT(totp_verify(seed20, 20, code, now + 60, -1, NULL), CP_DENIED);
    CHECK_INT(totp_verify(seed20, 20, code, now - 60, -1, NULL), CP_DENIED);
}

/* A code whose step is at or before the last accepted one is refused. */
static void test_verify_replay(void)
{
    int64_t m = 0;
    CHECK_INT(totp_verify(seed20, 20, "359152", 65, -1, &m), CP_OK);
    CHECK_INT(m, 2);
    CHECK_INT(totp_verify(seed20, 20, "359152", 65, m, NULL), CP_DENIED); /* same code again */
    CHECK_INT(totp_verify(seed20, 20, "287082", 65, m, NULL), CP_DENIED); /* an older one */
    CHECK_INT(totp_verify(seed20, 20, "969429", 65, m, &m), CP_OK);       /* the next one */
    CHECK_INT(m, 3);
    CHECK_INT(totp_verify(seed20, 20, "969429", 95, m, NULL), CP_DENIED);
}

/* Anything but exactly six ASCII digits is CP_BAD, as are an empty secret and a negative time. */
static void test_verify_bad(void)
{
    static const char *bad[] = {"",        "28708",  "2870820", "28708a",   " 287082", "287082 ",
                                "287 082", "-28708", "+28708",  "287082\n", "٣٥٩١٥٢",  "12345678"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(totp_verify(seed20, 20, bad[i], 65, -1, NULL), CP_BAD);
    CHECK_INT(totp_verify(seed20, 20, NULL, 65, -1, NULL), CP_BAD);
    CHECK_INT(totp_verify(seed20, 0, "287082", 65, -1, NULL), CP_BAD);
    CHECK_INT(totp_verify(NULL, 20, "287082", 65, -1, NULL), CP_BAD);
    CHECK_INT(totp_verify(seed20, 20, "287082", -1, -1, NULL), CP_BAD);
}

/* New secrets are 20 random bytes: two in a row differ and survive base32. */
static void test_new_secret(void)
{
    uint8_t a[TOTP_SECRET_LEN], b[TOTP_SECRET_LEN], back[TOTP_SECRET_LEN];
    char enc[TOTP_BASE32_LEN(TOTP_SECRET_LEN) + 1];
    REQUIRE(totp_new_secret(a) == CP_OK);
    REQUIRE(totp_new_secret(b) == CP_OK);
    CHECK(memcmp(a, b, TOTP_SECRET_LEN) != 0);
    CHECK_INT(totp_base32_encode(a, sizeof a, enc), 32);
    CHECK_INT(totp_base32_decode(enc, back, sizeof back), TOTP_SECRET_LEN);
    CHECK(memcmp(a, back, TOTP_SECRET_LEN) == 0);
}

/* The enrolment URI percent-encodes label and issuer, and refuses empty parts. */
static void test_uri(void)
{
    struct buf b;
    buf_init(&b);
    CHECK_INT(totp_uri("cport", "a b@police.example", seed20, 20, &b), CP_OK);
    CHECK_STR(b.p, "otpauth://totp/cport:a%20b%40police.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                   "&issuer=cport&algorithm=SHA1&digits=6&period=30");
    buf_reset(&b);
    CHECK_INT(totp_uri("Police & Co: NL", "x~y_z-1.2", seed20, 10, &b), CP_OK);
    CHECK_STR(b.p, "otpauth://totp/Police%20%26%20Co%3A%20NL:x~y_z-1.2?secret=GEZDGNBVGY3TQOJQ"
                   "&issuer=Police%20%26%20Co%3A%20NL&algorithm=SHA1&digits=6&period=30");
    buf_reset(&b);
    CHECK_INT(totp_uri("cport", "b\xc3\xbc?#/", seed20, 5, &b), CP_OK);
    CHECK_STR(b.p, "otpauth://totp/cport:b%C3%BC%3F%23%2F?secret=GEZDGNBV"
                   "&issuer=cport&algorithm=SHA1&digits=6&period=30");
    buf_reset(&b);
    CHECK_INT(totp_uri("", "a", seed20, 20, &b), CP_BAD);
    CHECK_INT(totp_uri("cport", "", seed20, 20, &b), CP_BAD);
    CHECK_INT(totp_uri(NULL, "a", seed20, 20, &b), CP_BAD);
    CHECK_INT(totp_uri("cport", "a", seed20, 0, &b), CP_BAD);
    CHECK_INT(b.len, 0);
    buf_free(&b);
}

/* Ten distinct codes of the form xxxx-xxxx-xx, nothing ambiguous in them. */
static void test_recovery_codes(void)
{
    char codes[TOTP_RECOVERY_COUNT][TOTP_RECOVERY_SIZE];
    REQUIRE(totp_recovery_codes(codes) == CP_OK);
    for (int i = 0; i < TOTP_RECOVERY_COUNT; i++) {
        const char *c = codes[i];
        CHECK_INT(strlen(c), 12);
        CHECK(c[4] == '-' && c[9] == '-');
        for (int j = 0; j < 12; j++) {
            if (j == 4 || j == 9)
                continue;
            CHECK(strchr("23456789abcdefghjkmnpqrstuvwxyz", c[j]) != NULL);
            CHECK(!strchr("0O1lIio", c[j]));
        }
        char norm[TOTP_RECOVERY_SIZE];
        CHECK_INT(totp_recovery_normalize(c, norm), CP_OK);
        CHECK_STR(norm, c);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(codes[k], c) != 0);
    }
}

/* Retyped codes come back to the stored form; impossible ones are refused. */
static void test_recovery_normalize(void)
{
    char out[TOTP_RECOVERY_SIZE];
    CHECK_INT(totp_recovery_normalize("ABCD-EFGH-JK", out), CP_OK);
    CHECK_STR(out, "abcd-efgh-jk");
    CHECK_INT(totp_recovery_normalize(" abcdefghjk ", out), CP_OK);
    CHECK_STR(out, "abcd-efgh-jk");
    CHECK_INT(totp_recovery_normalize("ab cd-ef gh-j k", out), CP_OK);
    CHECK_STR(out, "abcd-efgh-jk");
    CHECK_INT(totp_recovery_normalize("abcd-efgh-j", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize("abcd-efgh-jkm", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize("abcd-efgh-j0", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize("abcd-efgh-jl", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize("abcd_efgh_jk", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize("", out), CP_BAD);
    CHECK_INT(totp_recovery_normalize(NULL, out), CP_BAD);
}

int main(void)
{
    RUN(test_rfc4226);
    RUN(test_rfc6238);
    RUN(test_generate_bad);
    RUN(test_base32_vectors);
    RUN(test_base32_roundtrip);
    RUN(test_base32_lenient);
    RUN(test_base32_reject);
    RUN(test_verify_window);
    RUN(test_verify_replay);
    RUN(test_verify_bad);
    RUN(test_new_secret);
    RUN(test_uri);
    RUN(test_recovery_codes);
    RUN(test_recovery_normalize);
    return TEST_DONE();
}
