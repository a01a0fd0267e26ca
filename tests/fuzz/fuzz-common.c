/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-common.c — helpers shared by the fuzz targets: the invariant-failure
 * report and a private scratch directory for targets whose code under test
 * reads files (the config and profile parsers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "fuzz.h"

_Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
        fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
        abort();
}

static char scratch[64];

static void scratch_remove(void)
{
        char cmd[128];

        if (!scratch[0])
                return;
        /* Only our own mkdtemp() directory, never anything else. */
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", scratch);
        if (system(cmd) != 0)
                fprintf(stderr, "fuzz: could not remove %s\n", scratch);
}

const char *fuzz_scratch_dir(void)
{
        if (!scratch[0]) {
                const char *tmp = getenv("TMPDIR");
                snprintf(scratch, sizeof(scratch), "%s/vitals-fuzz-XXXXXX",
                         tmp && strlen(tmp) < 40 ? tmp : "/tmp");
                if (!mkdtemp(scratch)) {
                        perror("fuzz: mkdtemp");
                        abort();
                }
                atexit(scratch_remove);
        }
        return scratch;
}

int fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -1;
        if (size && fwrite(data, 1, size, f) != size) {
                fclose(f);
                return -1;
        }
        return fclose(f) == 0 ? 0 : -1;
}
