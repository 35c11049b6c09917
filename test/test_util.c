/*
 * test_util - time parsing and formatting, hex and base64, validators, buffers.
 */
#include "test.h"
#include "config.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Dates and times in every accepted form, and the impossible ones refused. */
static void test_parse_time(void)
{
    int64_t t;
    CHECK(util_parse_time("1970-01-01", &t) == 0 && t == 0);
    CHECK(util_parse_time("2026-11-02T08:00:00Z", &t) == 0 && t == 1793606400);
    CHECK(util_parse_time("2026-11-02T09:00:00+01:00", &t) == 0 && t == 1793606400);
    CHECK(util_parse_time("2026-11-02T08:00:00.123Z", &t) == 0 && t == 1793606400);
    CHECK(util_parse_time("2026-11-02T08:00Z", &t) == 0 && t == 1793606400);
    CHECK(util_parse_time("2024-02-29", &t) == 0);
    CHECK(util_parse_time("2026-02-29", &t) == -1);
    CHECK(util_parse_time("2026-02-30", &t) == -1);
    CHECK(util_parse_time("2026-13-01", &t) == -1);
    CHECK(util_parse_time("2026-11-02T24:00:00Z", &t) == -1);
    CHECK(util_parse_time("2026-11-02T08:00:00", &t) == -1); /* no zone: ambiguous */
    CHECK(util_parse_time("yesterday", &t) == -1);
    CHECK(util_parse_time("2026-11-02x", &t) == -1);
    CHECK(util_parse_time("", &t) == -1);
    CHECK(util_parse_time(NULL, &t) == -1);
}

/* Formatting is the inverse of parsing. */
static void test_format_time(void)
{
    char s[21];
    util_format_time(1793606400, s);
    CHECK_STR(s, "2026-11-02T08:00:00Z");
    int64_t t;
    CHECK(util_parse_time(s, &t) == 0 && t == 1793606400);
}

/* Hex decoding takes exactly the right length, any case. */
static void test_hex(void)
{
    uint8_t b[4];
    char s[9];
    CHECK(util_hex_decode("00aFff10", b, 4) == 0 && b[1] == 0xaf && b[3] == 0x10);
    util_hex_encode(b, 4, s);
    CHECK_STR(s, "00afff10");
    CHECK(util_hex_decode("00aFff1", b, 4) == -1);
    CHECK(util_hex_decode("00aFff100", b, 4) == -1);
    CHECK(util_hex_decode("zz000000", b, 4) == -1);
}

/* base64url and standard base64 round trips and rejections. */
static void test_base64(void)
{
    const uint8_t in[] = {0xfb, 0xff, 0x00, 0x41, 0x42};
    char s[16];
    uint8_t out[8];
    util_b64url_encode(in, 5, s);
    CHECK_STR(s, "-_8AQUI");
    CHECK_INT(util_b64url_decode(s, out, sizeof out), 5);
    CHECK(memcmp(in, out, 5) == 0);
    util_b64_encode(in, 5, s);
    CHECK_STR(s, "+/8AQUI=");
    CHECK_INT(util_b64_decode(s, out, sizeof out), 5);
    CHECK_INT(util_b64_decode("+/8AQUI", out, sizeof out), -1); /* padding required */
    CHECK_INT(util_b64url_decode("a$b", out, sizeof out), -1);
    CHECK_INT(util_b64url_decode("AAAAAAAAAAAAAAAA", out, 4), -1); /* too long for the buffer */
}

/* Country codes must be assigned ISO codes in upper case. */
static void test_country(void)
{
    CHECK(util_is_country("NL"));
    CHECK(util_is_country("ZW"));
    CHECK(util_is_country("AD"));
    CHECK(!util_is_country("nl"));
    CHECK(!util_is_country("XX"));
    CHECK(!util_is_country("NLD"));
    CHECK(!util_is_country(""));
    CHECK(!util_is_country(NULL));
}

/* Clean text: UTF-8, no controls, bounded. */
static void test_clean_text(void)
{
    CHECK(util_is_clean_text("gallery.example", 100));
    CHECK(util_is_clean_text("b\xc3\xbc" "cher", 100));
    CHECK(!util_is_clean_text("a\nb", 100));
    CHECK(!util_is_clean_text("\xc3", 100));
    CHECK(!util_is_clean_text("\xc0\xaf", 100));
    CHECK(!util_is_clean_text("abcdef", 5));
    CHECK(util_is_clean_text("abcde", 5));
}

/* The buffer grows and stays terminated. */
static void test_buf(void)
{
    struct buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000 && b.p[b.len] == 0);
    CHECK(strncmp(b.p, "0,1,2,", 6) == 0);
    buf_reset(&b);
    CHECK(b.len == 0 && b.p[0] == 0);
    buf_free(&b);
}

/* The config file: units scaled to seconds, bounds and unknown keys refused. */
static void test_config(void)
{
    char path[] = "/tmp/cport-test-conf-XXXXXX", err[256];
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\nsession_idle_minutes = 15\nsession_max_hours = 2\nlockout_minutes = 3\n"
          "mfa_required = 1\ninstance = test\n",
          f);
    fclose(f);
    struct config c;
    REQUIRE(config_load(&c, path, err, sizeof err) == 0);
    CHECK_INT(c.session_idle_s, 900);
    CHECK_INT(c.session_max_s, 7200);
    CHECK_INT(c.lockout_s, 180);
    CHECK_INT(c.lockout_attempts, 5);
    CHECK_INT(c.mfa_required, 1);
    CHECK_STR(c.instance, "test");
    f = fopen(path, "w");
    fputs("lockout_minutes = 0\n", f);
    fclose(f);
    CHECK(config_load(&c, path, err, sizeof err) == -1 && strstr(err, "lockout_minutes"));
    f = fopen(path, "w");
    fputs("sesion_idle_minutes = 5\n", f);
    fclose(f);
    CHECK(config_load(&c, path, err, sizeof err) == -1 && strstr(err, ":1:"));
    unlink(path);
}

int main(void)
{
    RUN(test_parse_time);
    RUN(test_format_time);
    RUN(test_hex);
    RUN(test_base64);
    RUN(test_country);
    RUN(test_clean_text);
    RUN(test_buf);
    RUN(test_config);
    return TEST_DONE();
}
