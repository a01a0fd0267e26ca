/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * testlib.h — the smallest test harness that reads well: table-driven
 * cases, CHECK() that reports file:line and keeps going, and a summary.
 * Each unit-test executable is one meson test; exit status 1 on failure,
 * 77 (meson's "skip") when SKIP_ALL() is called.
 */
#pragma once

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testlib_failures;
static int testlib_checks;
static const char *testlib_current = "";

#define TEST(name) static void name(void)
#define RUN(name)                                                                                  \
        do {                                                                                       \
                int _before = testlib_failures;                                                    \
                testlib_current = #name;                                                           \
                name();                                                                            \
                printf("%s %s\n", testlib_failures == _before ? "ok  " : "FAIL", #name);           \
        } while (0)

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                testlib_checks++;                                                                  \
                if (!(cond)) {                                                                     \
                        testlib_failures++;                                                        \
                        fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,       \
                                testlib_current, #cond);                                           \
                }                                                                                  \
        } while (0)

#define CHECK_INT(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long)(a), _b = (long long)(b);                                \
                testlib_checks++;                                                                  \
                if (_a != _b) {                                                                    \
                        testlib_failures++;                                                        \
                        fprintf(stderr, "%s:%d: %s: %s == %lld, expected %lld\n", __FILE__,        \
                                __LINE__, testlib_current, #a, _a, _b);                            \
                }                                                                                  \
        } while (0)

#define CHECK_DBL(a, b, eps)                                                                       \
        do {                                                                                       \
                double _a = (a), _b = (b);                                                         \
                testlib_checks++;                                                                  \
                if (!(fabs(_a - _b) <= (eps))) {                                                   \
                        testlib_failures++;                                                        \
                        fprintf(stderr, "%s:%d: %s: %s == %.6g, expected %.6g\n", __FILE__,        \
                                __LINE__, testlib_current, #a, _a, _b);                            \
                }                                                                                  \
        } while (0)

#define CHECK_STR(a, b)                                                                            \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                testlib_checks++;                                                                  \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
                        testlib_failures++;                                                        \
                        fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__,    \
                                __LINE__, testlib_current, #a, _a ? _a : "(null)",                 \
                                _b ? _b : "(null)");                                               \
                }                                                                                  \
        } while (0)

#define SKIP_ALL(why)                                                                              \
        do {                                                                                       \
                printf("SKIP: %s\n", why);                                                         \
                exit(77);                                                                          \
        } while (0)

static inline int testlib_finish(void)
{
        printf("%d checks, %d failed\n", testlib_checks, testlib_failures);
        return testlib_failures ? 1 : 0;
}
