/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_site.c — what an export knows beyond the session log: the clinic's
 * name from vitalsd.conf ([daemon] clinic) and the export's own time stamp.
 *
 * The config is read leniently (conffile.c's config_read_clinic): a missing
 * or unreadable file gives no name and no error, so an export on a machine
 * without vitalsd's config still works and prints a neutral header.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"
#include "export.h"
#include "timefmt.h"

char *export_clinic_name(const ExportOptions *o)
{
        char *clinic = NULL;

        if (!o->config_path || config_read_clinic(o->config_path, &clinic) < 0)
                return NULL;
        if (clinic && !*clinic) {
                free(clinic);
                return NULL;
        }
        return clinic;
}

int64_t export_now_ns(const ExportOptions *o)
{
        return o->now_ns != 0 ? o->now_ns : now_wall_ns();
}
