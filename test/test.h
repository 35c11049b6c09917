/*
 * test.h - the tiny test harness every test/test_<module>.c uses.
 *
 * A test file defines functions `static void test_x(void)` and a main that calls
 * RUN(test_x) for each, then returns TEST_DONE(). CHECK records a failure and goes
 * on; REQUIRE stops the current test. The last line printed is "N passed, N failed".
 */
#ifndef CPORT_TEST_H
#define CPORT_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            test_cur_failed = 1;                                                   \
        }                                                                          \
    } while (0)

#define REQUIRE(cond)                                                              \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            test_cur_failed = 1;                                                   \
            return;                                                                \
        }                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                            \
    do {                                                                           \
        const char *a_ = (a), *b_ = (b);                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                   \
            fprintf(stderr, "  %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,     \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                       \
            test_cur_failed = 1;                                                   \
        }                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                            \
    do {                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                        \
        if (a_ != b_) {                                                            \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", __FILE__,      \
                    __LINE__, #a, a_, b_);                                         \
            test_cur_failed = 1;                                                   \
        }                                                                          \
    } while (0)

#define RUN(fn)                                                                    \
    do {                                                                           \
        test_cur_failed = 0;                                                       \
        fn();                                                                      \
        if (test_cur_failed) {                                                     \
            test_failed++;                                                         \
            fprintf(stderr, "FAIL %s\n", #fn);                                     \
        } else {                                                                   \
            test_passed++;                                                         \
        }                                                                          \
    } while (0)

/* The whole of a file (malloc'd, with a NUL after the last byte) and its size
 * in *n; NULL when it cannot be read. */
static inline uint8_t *test_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p)
        p[len] = 0;
    *n = p ? (size_t)len : 0;
    return p;
}

/* Write n bytes to path (created or truncated); 0, or -1 when it cannot. */
static inline int test_spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

#define TEST_DONE()                                                                \
    (printf("%d passed, %d failed\n", test_passed, test_failed), test_failed ? 1 : 0)

#endif
