/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay-main.c — the corpus replayer: a main() for a fuzz target built
 * without libFuzzer (gcc, the normal test suite, the sanitizer and valgrind
 * runs).  Every argument is a file or a directory whose regular files are
 * fed, in name order, through LLVMFuzzerTestOneInput().  A crash or an
 * invariant failure aborts and fails the test; finding no input at all is an
 * error too, so a misplaced corpus cannot pass vacuously.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (1024 * 1024)

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        return 0;
}

static int replay_file(const char *path)
{
        FILE *f = fopen(path, "re");
        uint8_t *buf;
        size_t n;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        buf = malloc(REPLAY_MAX_INPUT);
        if (!buf) {
                fclose(f);
                return -1;
        }
        n = fread(buf, 1, REPLAY_MAX_INPUT, f);
        fclose(f);
        /* An exactly sized copy, so that the sanitizers catch a read of one
         * byte past the input as libFuzzer would. */
        uint8_t *input = malloc(n ? n : 1);
        if (!input) {
                free(buf);
                return -1;
        }
        memcpy(input, buf, n);
        free(buf);
        LLVMFuzzerTestOneInput(input, n);
        free(input);
        return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path, unsigned *count)
{
        struct dirent **ents;
        struct stat st;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (replay_file(path) < 0)
                        return -1;
                (*count)++;
                return 0;
        }
        n = scandir(path, &ents, NULL, by_name);
        if (n < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char child[4096];
                if (ents[i]->d_name[0] != '.') {
                        snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
                        if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
                                if (replay_file(child) < 0)
                                        r = -1;
                                else
                                        (*count)++;
                        }
                }
                free(ents[i]);
        }
        free(ents);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int r = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
                return 2;
        }
        LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++)
                if (replay_path(argv[i], &count) < 0)
                        r = 1;
        if (count == 0) {
                fprintf(stderr, "no corpus input found\n");
                return 1;
        }
        printf("replayed %u input%s without a crash\n", count, count == 1 ? "" : "s");
        return r;
}
