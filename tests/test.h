/*
 * test.h - Corral's tiny unit-test harness. A test file defines functions
 * with TEST(name), lists them in a main() built by TEST_MAIN(...), and each
 * check records file:line and the values on failure. A test binary runs every
 * test, or only those named on the command line, prints one line per test and
 * "N passed, M failed", and exits non-zero when any failed. The allocation
 * counter must return to its starting value in every test (leak check).
 */
#ifndef CORRAL_TEST_H
#define CORRAL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral_base.h"

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case_t;

extern int test_failures_;

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) {#name, test_##name}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            test_failures_++;                                                                      \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);           \
            test_failures_++;                                                                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a,    \
                    #b, a_, b_);                                                                   \
            test_failures_++;                                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__,    \
                    #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                               \
            test_failures_++;                                                                      \
        }                                                                                          \
    } while (0)

/* Checks that haystack contains needle (for error messages). */
#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,       \
                    h_ ? h_ : "(null)", n_);                                                       \
            test_failures_++;                                                                      \
        }                                                                                          \
    } while (0)

int test_run_(const test_case_t *cases, size_t n, int argc, char **argv);

#define TEST_MAIN(...)                                                                             \
    int test_failures_;                                                                            \
    int main(int argc, char **argv) {                                                              \
        static const test_case_t cases_[] = {__VA_ARGS__};                                         \
        return test_run_(cases_, sizeof cases_ / sizeof cases_[0], argc, argv);                    \
    }

#endif
