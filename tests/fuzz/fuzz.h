/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz.h — the libFuzzer entry points every target in tests/fuzz defines.
 *
 * Built two ways: with clang and -fsanitize=fuzzer (./run.sh fuzz), and with
 * gcc against replay-main.c, which feeds every file of the committed corpus
 * through the same entry point in the normal test suite.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional; targets that need one-time setup define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A target's own invariant check: abort() so that libFuzzer records the input
 * as a crash and the replay test fails. */
#define FUZZ_ASSERT(cond)                                                                          \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        fuzz_fail(__FILE__, __LINE__, #cond);                                      \
        } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);
