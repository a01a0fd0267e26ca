/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include "export.h"
int export_write_chart(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        return -ENOSYS;
}
