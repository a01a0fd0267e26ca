/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-profile.c — alarm profile parsing (daemon/profile.c) under arbitrary
 * bytes.  A profile either loads with no error and limits the engine can
 * use, or is rejected with a first error that names a line within the file.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz-common.h"
#include "fuzz.h"
#include "log.h"
#include "profile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        log_set_max_level(-1);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[PATH_MAX];
        AlarmProfile prof;
        ProfileDiag diag;
        unsigned lines = 1;
        int r;

        snprintf(path, sizeof(path), "%s/fuzz.conf", fuzz_scratch_dir());
        if (fuzz_write_file(path, data, size) < 0)
                return 0;
        for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
        memset(&diag, 0, sizeof(diag));
        r = profile_load_file(path, &prof, &diag);
        if (r < 0) {
                FUZZ_ASSERT(diag.n_errors > 0 || r != -EINVAL);
                FUZZ_ASSERT(diag.first_line <= lines);
                FUZZ_ASSERT(memchr(diag.first_message, '\0', sizeof(diag.first_message)));
                FUZZ_ASSERT(memchr(diag.first_key, '\0', sizeof(diag.first_key)));
                return 0;
        }
        FUZZ_ASSERT(diag.n_errors == 0);
        FUZZ_ASSERT(prof.n_rules > 0 && prof.n_rules <= ALARM_RULES_MAX);
        for (size_t i = 0; i < prof.n_rules; i++)
                FUZZ_ASSERT(isfinite(prof.rules[i].limit) &&
                            (unsigned)prof.rules[i].priority < _ALARM_PRIO_MAX);
        FUZZ_ASSERT(prof.silence_max_usec <= ALARM_SILENCE_MAX_USEC);
        return 0;
}
