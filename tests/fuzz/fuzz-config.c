/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-config.c — vitalsd.conf parsing (daemon/conffile.c, libinih) under
 * arbitrary bytes.  The loader reads a file, so the input goes to a scratch
 * vitalsd.conf first.  A config either loads with no error, every device
 * complete and every value in range, or is rejected as a whole.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conffile.h"
#include "fuzz-common.h"
#include "fuzz.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        log_set_max_level(-1); /* every error is logged; keep the fuzzer's output readable */
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char path[PATH_MAX];
        Config *c = NULL;
        int r;

        snprintf(path, sizeof(path), "%s/vitalsd.conf", fuzz_scratch_dir());
        if (fuzz_write_file(path, data, size) < 0)
                return 0;
        r = config_load(path, &c);
        if (r < 0) {
                FUZZ_ASSERT(c == NULL);
                return 0;
        }
        FUZZ_ASSERT(c != NULL && c->n_errors == 0);
        FUZZ_ASSERT(c->reconnect_min_usec <= c->reconnect_max_usec);
        FUZZ_ASSERT(c->tick_usec > 0);
        for (size_t i = 0; i < c->n_devices; i++) {
                const DeviceConfig *d = &c->devices[i];
                FUZZ_ASSERT(d->name && d->driver && d->port && d->bed);
                FUZZ_ASSERT(d->n_options <= CONFIG_MAX_DEVICE_OPTIONS);
                for (size_t k = 0; k < d->n_options; k++)
                        FUZZ_ASSERT(device_config_option(d, d->options[k].key) != NULL);
        }
        config_free(c);
        return 0;
}
