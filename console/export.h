/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.h — writing one session of the session log as CSV or JSON.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "export_query.h"

typedef enum ExportFormat {
        EXPORT_FORMAT_CSV,
        EXPORT_FORMAT_JSON,
} ExportFormat;

typedef enum ExportWhat {
        EXPORT_WHAT_READINGS,
        EXPORT_WHAT_ALARMS,
        EXPORT_WHAT_MARKERS,
} ExportWhat;

typedef struct ExportOptions {
        ExportFormat format;
        ExportWhat what; /* CSV only: JSON always carries the whole document */
        bool wide;       /* CSV readings only: one row per time, a column per parameter */
        ExportRange range;
} ExportOptions;

/* Streams session s from db to f; memory use does not grow with the
 * session.  0, or a negative errno (a query failure, or the errno of a
 * failed write to f).  The caller holds the snapshot (export_snapshot_begin). */
int export_write(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_csv(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_json(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);

/* One CSV cell of free text, RFC 4180 quoted when needed and protected
 * against formula injection (a leading = + - @ TAB or CR gets a '). */
void export_csv_text(FILE *f, const char *s);
/* A number as the shortest text up to 15 significant digits ("96.65"). */
char *export_format_number(double v, char *buf, size_t size);
