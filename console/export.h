/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.h — writing one session of the session log: CSV and JSON (export.c),
 * FHIR R4 (export_fhir.c), HL7 v2.6 / IHE PCD-01 (export_hl7.c) and the
 * chart page as PDF, PNG or SVG (export_chart.c).
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "export_query.h"

typedef enum ExportFormat {
        EXPORT_FORMAT_CSV,
        EXPORT_FORMAT_JSON,
        EXPORT_FORMAT_FHIR,
        EXPORT_FORMAT_HL7,
        EXPORT_FORMAT_PDF,
        EXPORT_FORMAT_PNG,
        EXPORT_FORMAT_SVG,
} ExportFormat;

typedef enum ExportPaper {
        EXPORT_PAPER_A4,
        EXPORT_PAPER_LETTER,
} ExportPaper;

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
        ExportPaper paper;       /* chart only */
        /* vitalsd.conf, for the clinic name (chart header, HL7 MSH-4) and,
         * beside it, profiles/ (the chart's SpO2 limit lines).  NULL or a
         * missing file: no clinic name, no limit lines. */
        const char *config_path;
        int64_t now_ns;          /* the export's own time stamp; 0: the clock */
} ExportOptions;

/* Streams session s from db to f; memory use does not grow with the
 * session.  0, or a negative errno (a query failure, or the errno of a
 * failed write to f).  The caller holds the snapshot (export_snapshot_begin). */
int export_write(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_csv(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_json(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_fhir(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
int export_write_hl7(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);
/* o->format picks PDF, PNG or SVG. */
int export_write_chart(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f);

/* The value a reading may be shown with: status valid or questionable and a
 * finite stored value; never an invalid reading's, never NULL read as 0. */
bool export_reading_value(const ExportReading *r, double *ret);
/* After writes to f: 0, or the negative errno of a failed write. */
int export_stream_error(FILE *f);
/* The clinic name from o->config_path ([daemon] clinic), or NULL when the
 * file, the key or memory is missing.  Free with free(). */
char *export_clinic_name(const ExportOptions *o);
/* HL7 v2 text with the MSH-2 escapes (\F\ \S\ \T\ \R\ \E\, \Xhh\ for
 * control bytes). */
void export_hl7_escape(FILE *f, const char *s);
/* HL7 DTM in UTC to the millisecond: "20260101120000.000+0000". */
char *export_hl7_time(int64_t wall_ns, char *buf, size_t size);
/* HL7 NM: "96.65", "-0.5"; never an exponent. */
char *export_hl7_number(double v, char *buf, size_t size);

/* "csv", "json", "fhir", "hl7", "pdf", "png", "svg".  0 or -EINVAL. */
int export_format_from_string(const char *s, ExportFormat *ret);
/* o->now_ns, or the wall clock. */
int64_t export_now_ns(const ExportOptions *o);

/* One CSV cell of free text, RFC 4180 quoted when needed and protected
 * against formula injection (a leading = + - @ TAB or CR gets a '). */
void export_csv_text(FILE *f, const char *s);
/* A number as the shortest text up to 15 significant digits ("96.65"). */
char *export_format_number(double v, char *buf, size_t size);
