/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export.c — `vitalsctl export`: one session of the session log as CSV or JSON.
 *
 * Owns the export verb and the CSV/JSON writers.  Rows are streamed from
 * SQLite (export_query.c) straight to the output, one at a time, so memory
 * stays flat for a 24-hour session; JSON rows are built with json-c one
 * object at a time inside a document skeleton printed here.  The database is
 * opened read-only and the whole export is one read snapshot, so vitalsd is
 * never blocked and the files agree with each other.  --output goes to a
 * hidden temporary file in the target directory that is renamed into place
 * only when complete: a partial export never looks like a finished one.
 *
 * CSV follows RFC 4180 (CRLF, header row, quoting) and INTEROP.md §3.6: a
 * missing or non-valid value is an empty cell, never 0, and every free-text
 * cell is protected against spreadsheet formula injection.  Numeric and time
 * columns are never altered.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "export.h"
#include "store.h"
#include "timefmt.h"
#include "vitalsctl.h"

#define CSV_EOL "\r\n"
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define OUTPUT_BUFFER_SIZE (64 * 1024)

/* After a write: the errno of the failure, if the stream has one. */
int export_stream_error(FILE *f)
{
        if (!ferror(f))
                return 0;
        return errno > 0 ? -errno : -EIO;
}

char *export_format_number(double v, char *buf, size_t size)
{
        /* 15 significant digits (DBL_DIG) print any decimal a monitor sent, or
         * a unit conversion made, without binary noise: 96.65, not
         * 96.650000000000006. */
        snprintf(buf, size, "%.15g", v);
        return buf;
}

/* The value a reading may be shown with: only valid or questionable, never
 * one the device flagged, never NULL read as 0. */
bool export_reading_value(const ExportReading *r, double *ret)
{
        if (!r->has_value || !isfinite(r->value))
                return false;
        if (strcmp(r->status, "valid") != 0 && strcmp(r->status, "questionable") != 0)
                return false;
        *ret = r->value;
        return true;
}

/* ---- CSV ---------------------------------------------------------------- */

void export_csv_text(FILE *f, const char *s)
{
        bool quote;

        if (!s || !*s)
                return;
        /* CWE-1236 / OWASP: a spreadsheet evaluates a cell that starts with
         * one of these; a leading ' makes it text. */
        quote = strpbrk(s, ",\"\r\n") != NULL;
        if (quote)
                fputc('"', f);
        if (strchr("=+-@\t\r", s[0]))
                fputc('\'', f);
        for (const char *p = s; *p; p++) {
                if (*p == '"')
                        fputc('"', f);
                fputc(*p, f);
        }
        if (quote)
                fputc('"', f);
}

static void csv_sep(FILE *f)
{
        fputc(',', f);
}

static void csv_number(FILE *f, bool present, double v)
{
        char buf[64];

        if (present && isfinite(v))
                fputs(export_format_number(v, buf, sizeof(buf)), f);
}

static void csv_int(FILE *f, int64_t v)
{
        fprintf(f, "%lld", (long long)v);
}

static void csv_time(FILE *f, bool present, int64_t ns)
{
        char buf[TIMEFMT_ISO_MAX];

        if (present)
                fputs(timefmt_iso_ms(ns, buf), f);
}

/* time,session,bed: the first three columns of every CSV. */
static void csv_row_start(FILE *f, int64_t wall_ns, const ExportSession *s)
{
        csv_time(f, true, wall_ns);
        csv_sep(f);
        csv_int(f, s->id);
        csv_sep(f);
        export_csv_text(f, s->bed);
}

typedef struct CsvContext {
        FILE *f;
        const ExportSession *session;
} CsvContext;

static int csv_reading(void *userdata, const ExportReading *r)
{
        CsvContext *c = userdata;
        FILE *f = c->f;
        double v = 0;
        bool present = export_reading_value(r, &v);

        csv_row_start(f, r->wall_ns, c->session);
        csv_sep(f);
        export_csv_text(f, r->device);
        csv_sep(f);
        export_csv_text(f, r->parameter);
        csv_sep(f);
        csv_number(f, present, v);
        csv_sep(f);
        export_csv_text(f, r->unit);
        csv_sep(f);
        export_csv_text(f, r->status);
        csv_sep(f);
        csv_time(f, r->has_device_time, r->device_ns);
        fputs(CSV_EOL, f);
        return export_stream_error(f);
}

static int csv_alarm(void *userdata, const ExportAlarm *a)
{
        CsvContext *c = userdata;
        FILE *f = c->f;

        /* Alarm rows carry their own session and bed, as stored. */
        csv_time(f, true, a->wall_ns);
        csv_sep(f);
        if (a->has_session)
                csv_int(f, a->session_id);
        csv_sep(f);
        export_csv_text(f, a->bed);
        csv_sep(f);
        csv_int(f, a->alarm_id);
        csv_sep(f);
        export_csv_text(f, a->condition);
        csv_sep(f);
        csv_int(f, a->technical ? 1 : 0);
        csv_sep(f);
        export_csv_text(f, a->priority);
        csv_sep(f);
        export_csv_text(f, a->state);
        csv_sep(f);
        export_csv_text(f, a->phase);
        csv_sep(f);
        csv_number(f, a->has_value, a->value);
        csv_sep(f);
        csv_number(f, a->has_limit, a->limit_value);
        csv_sep(f);
        export_csv_text(f, a->actor);
        csv_sep(f);
        export_csv_text(f, a->detail);
        fputs(CSV_EOL, f);
        return export_stream_error(f);
}

static int csv_marker(void *userdata, const ExportMarker *m)
{
        CsvContext *c = userdata;
        FILE *f = c->f;

        csv_row_start(f, m->wall_ns, c->session);
        csv_sep(f);
        export_csv_text(f, m->kind);
        csv_sep(f);
        export_csv_text(f, m->text);
        csv_sep(f);
        export_csv_text(f, m->actor);
        fputs(CSV_EOL, f);
        return export_stream_error(f);
}

/* Wide: readings of one frame share one wall_ns, so a row is every reading
 * with the same wall_ns; the row is written when the time moves on.  When two
 * devices report the same parameter at the same instant, the first usable
 * value wins. */
typedef struct WideContext {
        FILE *f;
        const ExportSession *session;
        char **params;
        size_t n;
        double *values;
        bool *present;
        bool row_open;
        int64_t wall_ns;
        size_t hint;
} WideContext;

static void wide_flush(WideContext *w)
{
        if (!w->row_open)
                return;
        csv_row_start(w->f, w->wall_ns, w->session);
        for (size_t i = 0; i < w->n; i++) {
                csv_sep(w->f);
                csv_number(w->f, w->present[i], w->values[i]);
                w->present[i] = false;
        }
        fputs(CSV_EOL, w->f);
        w->row_open = false;
}

static size_t wide_column(WideContext *w, const char *parameter)
{
        /* Readings tend to come in the same order every frame: try the next
         * column first. */
        for (size_t k = 0; k < w->n; k++) {
                size_t i = (w->hint + k) % w->n;

                if (strcmp(w->params[i], parameter) == 0) {
                        w->hint = i + 1;
                        return i;
                }
        }
        return SIZE_MAX;
}

static int wide_reading(void *userdata, const ExportReading *r)
{
        WideContext *w = userdata;
        size_t i;
        double v;

        if (w->row_open && r->wall_ns != w->wall_ns) {
                wide_flush(w);
                if (ferror(w->f))
                        return export_stream_error(w->f);
        }
        if (!w->row_open) {
                w->row_open = true;
                w->wall_ns = r->wall_ns;
        }
        i = wide_column(w, r->parameter);
        if (i != SIZE_MAX && !w->present[i] && export_reading_value(r, &v)) {
                w->values[i] = v;
                w->present[i] = true;
        }
        return 0;
}

static int csv_readings_wide(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        WideContext w = {.f = f, .session = s};
        int r;

        r = export_parameters(db, s->id, o->range, &w.params, &w.n);
        if (r < 0)
                return r;
        w.values = calloc(w.n ? w.n : 1, sizeof(double));
        w.present = calloc(w.n ? w.n : 1, sizeof(bool));
        if (!w.values || !w.present) {
                r = -ENOMEM;
                goto finish;
        }

        fputs("time,session,bed", f);
        for (size_t i = 0; i < w.n; i++) {
                csv_sep(f);
                export_csv_text(f, w.params[i]);
        }
        fputs(CSV_EOL, f);

        r = export_readings_foreach(db, s->id, o->range, wide_reading, &w);
        if (r >= 0) {
                wide_flush(&w);
                r = export_stream_error(f);
        }
finish:
        free(w.values);
        free(w.present);
        export_strv_free(w.params);
        return r;
}

int export_write_csv(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        CsvContext c = {.f = f, .session = s};
        int r;

        switch (o->what) {
        case EXPORT_WHAT_READINGS:
                if (o->wide)
                        return csv_readings_wide(db, s, o, f);
                fputs("time,session,bed,device,parameter,value,unit,status,device_time" CSV_EOL, f);
                r = export_readings_foreach(db, s->id, o->range, csv_reading, &c);
                break;
        case EXPORT_WHAT_ALARMS:
                fputs("time,session,bed,alarm_id,condition,technical,priority,state,phase,value,"
                      "limit,actor,detail" CSV_EOL,
                      f);
                r = export_alarms_foreach(db, s->id, o->range, csv_alarm, &c);
                break;
        case EXPORT_WHAT_MARKERS:
                fputs("time,session,bed,kind,text,actor" CSV_EOL, f);
                r = export_markers_foreach(db, s->id, o->range, csv_marker, &c);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        return export_stream_error(f);
}

/* ---- JSON --------------------------------------------------------------- */

static json_object *json_string_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static json_object *json_number_or_null(bool present, double v)
{
        char buf[64];

        if (!present || !isfinite(v))
                return NULL;
        /* The text given here is what json-c prints, so numbers look like the
         * CSV ones instead of json-c's default %.17g. */
        return json_object_new_double_s(v, export_format_number(v, buf, sizeof(buf)));
}

static json_object *json_time_or_null(bool present, int64_t ns)
{
        char buf[TIMEFMT_ISO_MAX];

        return present ? json_object_new_string(timefmt_iso_ms(ns, buf)) : NULL;
}

typedef struct JsonArray {
        FILE *f;
        bool any;
} JsonArray;

/* Prints o as the next element of the array being streamed, then frees it. */
static int json_array_emit(JsonArray *a, json_object *o)
{
        if (!o)
                return -ENOMEM;
        fputs(a->any ? ",\n" : "\n", a->f);
        fputs(json_object_to_json_string_ext(o, JSON_FLAGS), a->f);
        json_object_put(o);
        a->any = true;
        return export_stream_error(a->f);
}

static void json_array_begin(JsonArray *a, FILE *f, const char *name)
{
        *a = (JsonArray){.f = f};
        fprintf(f, ",\n\"%s\":[", name);
}

static void json_array_end(JsonArray *a)
{
        fputs(a->any ? "\n]" : "]", a->f);
}

static int json_reading(void *userdata, const ExportReading *r)
{
        json_object *o = json_object_new_object();
        double v = 0;
        bool present = export_reading_value(r, &v);

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "time", json_time_or_null(true, r->wall_ns));
        json_object_object_add(o, "device_time",
                               json_time_or_null(r->has_device_time, r->device_ns));
        json_object_object_add(o, "device", json_object_new_string(r->device));
        json_object_object_add(o, "parameter", json_object_new_string(r->parameter));
        json_object_object_add(o, "value", json_number_or_null(present, v));
        json_object_object_add(o, "unit", json_object_new_string(r->unit));
        json_object_object_add(o, "status", json_object_new_string(r->status));
        return json_array_emit(userdata, o);
}

static int json_alarm(void *userdata, const ExportAlarm *a)
{
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "time", json_time_or_null(true, a->wall_ns));
        json_object_object_add(o, "bed", json_object_new_string(a->bed));
        json_object_object_add(o, "session",
                               a->has_session ? json_object_new_int64(a->session_id) : NULL);
        json_object_object_add(o, "alarm_id", json_object_new_int64(a->alarm_id));
        json_object_object_add(o, "condition", json_object_new_string(a->condition));
        json_object_object_add(o, "technical", json_object_new_boolean(a->technical));
        json_object_object_add(o, "priority", json_object_new_string(a->priority));
        json_object_object_add(o, "state", json_object_new_string(a->state));
        json_object_object_add(o, "phase", json_string_or_null(a->phase));
        json_object_object_add(o, "value", json_number_or_null(a->has_value, a->value));
        json_object_object_add(o, "limit", json_number_or_null(a->has_limit, a->limit_value));
        json_object_object_add(o, "actor", json_object_new_string(a->actor));
        json_object_object_add(o, "detail", json_string_or_null(a->detail));
        return json_array_emit(userdata, o);
}

static int json_marker(void *userdata, const ExportMarker *m)
{
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "time", json_time_or_null(true, m->wall_ns));
        json_object_object_add(o, "kind", json_object_new_string(m->kind));
        json_object_object_add(o, "text", json_string_or_null(m->text));
        json_object_object_add(o, "actor", json_object_new_string(m->actor));
        return json_array_emit(userdata, o);
}

static json_object *json_session(const ExportSession *s)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_int64(s->id));
        json_object_object_add(o, "bed", json_object_new_string(s->bed));
        json_object_object_add(o, "patient_ref", json_object_new_string(s->patient_ref));
        json_object_object_add(o, "profile", json_string_or_null(s->profile));
        json_object_object_add(o, "started", json_time_or_null(true, s->started_ns));
        json_object_object_add(o, "ended", json_time_or_null(s->ended, s->ended_ns));
        json_object_object_add(o, "opened_by", json_object_new_string(s->opened_by));
        json_object_object_add(o, "closed_by", json_string_or_null(s->closed_by));
        json_object_object_add(o, "end_reason", json_string_or_null(s->end_reason));
        return o;
}

int export_write_json(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        json_object *session = json_session(s);
        JsonArray a;
        int r;

        if (!session)
                return -ENOMEM;
        fprintf(f, "{\"session\":%s", json_object_to_json_string_ext(session, JSON_FLAGS));
        json_object_put(session);

        json_array_begin(&a, f, "readings");
        r = export_readings_foreach(db, s->id, o->range, json_reading, &a);
        if (r < 0)
                return r;
        json_array_end(&a);

        json_array_begin(&a, f, "alarms");
        r = export_alarms_foreach(db, s->id, o->range, json_alarm, &a);
        if (r < 0)
                return r;
        json_array_end(&a);

        json_array_begin(&a, f, "markers");
        r = export_markers_foreach(db, s->id, o->range, json_marker, &a);
        if (r < 0)
                return r;
        json_array_end(&a);

        fputs("}\n", f);
        return export_stream_error(f);
}

int export_write(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        switch (o->format) {
        case EXPORT_FORMAT_CSV:
                return export_write_csv(db, s, o, f);
        case EXPORT_FORMAT_JSON:
                return export_write_json(db, s, o, f);
        case EXPORT_FORMAT_FHIR:
                return export_write_fhir(db, s, o, f);
        case EXPORT_FORMAT_HL7:
                return export_write_hl7(db, s, o, f);
        case EXPORT_FORMAT_PDF:
        case EXPORT_FORMAT_PNG:
        case EXPORT_FORMAT_SVG:
                return export_write_chart(db, s, o, f);
        default:
                return -EINVAL;
        }
}

/* ---- Output file -------------------------------------------------------- */

typedef struct Output {
        FILE *f;
        char *path; /* NULL for stdout */
        char *tmp;
} Output;

static int output_open(const char *path, Output *ret)
{
        const char *slash, *base;
        char *tmp = NULL;
        mode_t mask;
        int fd, r;
        FILE *f;

        if (!path || strcmp(path, "-") == 0) {
                *ret = (Output){.f = stdout};
                return 0;
        }

        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        if (!*base)
                return -EISDIR;
        /* Hidden, in the same directory (rename stays atomic), and not
         * matching a "*.csv" glob while incomplete. */
        if (asprintf(&tmp, "%.*s.%s.XXXXXX", slash ? (int)(slash - path + 1) : 0, path, base) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                free(tmp);
                return r;
        }
        /* mkostemp makes 0600; give the file what a shell redirect would. */
        mask = umask(0);
        umask(mask);
        (void)fchmod(fd, 0666 & ~mask);

        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                free(tmp);
                return r;
        }
        *ret = (Output){.f = f, .path = strdup(path), .tmp = tmp};
        if (!ret->path) {
                fclose(f);
                unlink(tmp);
                free(tmp);
                return -ENOMEM;
        }
        return 0;
}

static void output_abort(Output *o)
{
        if (o->tmp) {
                fclose(o->f);
                unlink(o->tmp);
        }
        free(o->tmp);
        free(o->path);
        *o = (Output){0};
}

static int output_commit(Output *o)
{
        int r = 0;

        if (fflush(o->f) != 0 || ferror(o->f))
                r = errno > 0 ? -errno : -EIO;
        if (!o->tmp)
                return r;
        if (r == 0 && fsync(fileno(o->f)) < 0)
                r = -errno;
        if (fclose(o->f) != 0 && r == 0)
                r = -errno;
        o->f = NULL;
        if (r == 0 && rename(o->tmp, o->path) < 0)
                r = -errno;
        if (r < 0)
                unlink(o->tmp);
        free(o->tmp);
        free(o->path);
        *o = (Output){0};
        return r;
}

/* ---- The verb ----------------------------------------------------------- */

static void export_help(void)
{
        printf(
            "Usage: vitalsctl export [--state-dir DIR | --db FILE] (--session ID | --bed BED)\n"
            "                        [--format csv|json|fhir|hl7|pdf|png|svg]\n"
            "                        [--what readings|alarms|markers] [--wide]\n"
            "                        [--paper a4|letter] [--config FILE]\n"
            "                        [--from TIME] [--to TIME] [--output FILE]\n"
            "\n"
            "Writes one session of the session log. The database is opened read-only;\n"
            "exporting while vitalsd runs is safe and never delays it.\n"
            "\n"
            "  --state-dir DIR   where vitals.db lives (default: $STATE_DIRECTORY, else %s)\n"
            "  --db FILE         the database file itself (overrides --state-dir)\n"
            "  --session ID      the session with this id\n"
            "  --bed BED         the latest session (last started) of this bed\n"
            "  --format FORMAT   csv (default), json, fhir (an R4 Bundle), hl7 (v2.6 ORU^R01,\n"
            "                    IHE PCD-01), or the chart page: pdf, png or svg\n"
            "  --what WHAT       csv: readings (default), alarms or markers;\n"
            "                    json always holds session, readings, alarms and markers\n"
            "  --wide            csv readings: one row per time, one column per parameter\n"
            "  --from TIME       only rows at or after TIME (ISO 8601, e.g. 2026-01-01T12:00:00Z)\n"
            "  --to TIME         only rows before TIME\n"
            "  --paper PAPER     chart page size: a4 (default) or letter\n"
            "  --config FILE     vitalsd.conf for the clinic name and, beside it, profiles/\n"
            "                    (default %s/vitalsd.conf; a missing file is no error)\n"
            "  --output FILE     write FILE (replaced only when complete); default stdout\n"
            "  -h, --help        this text\n"
            "\n"
            "CSV is RFC 4180 (CRLF). Times are UTC. A missing or invalid value is an empty\n"
            "cell, never 0. Text cells starting with = + - @ are prefixed with ' so\n"
            "spreadsheets do not run them as formulas.\n"
            "\n"
            "Exit status: 0 ok, 1 the session or database could not be read or the output\n"
            "written, 2 usage error.\n",
            VITALS_STATEDIR, VITALS_SYSCONFDIR);
}

int export_format_from_string(const char *s, ExportFormat *ret)
{
        static const char *const names[] = {
            [EXPORT_FORMAT_CSV] = "csv", [EXPORT_FORMAT_JSON] = "json", [EXPORT_FORMAT_FHIR] = "fhir",
            [EXPORT_FORMAT_HL7] = "hl7", [EXPORT_FORMAT_PDF] = "pdf",   [EXPORT_FORMAT_PNG] = "png",
            [EXPORT_FORMAT_SVG] = "svg",
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(s, names[i]) == 0) {
                        *ret = (ExportFormat)i;
                        return 0;
                }
        return -EINVAL;
}

static int parse_session_id(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end || v <= 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* $STATE_DIRECTORY may list several directories separated by ':'; ours is
 * the first. */
char *ctl_default_state_dir(void)
{
        const char *e = getenv("STATE_DIRECTORY");

        if (e && *e)
                return strndup(e, strcspn(e, ":"));
        return strdup(VITALS_STATEDIR);
}

int verb_export(int argc, char **argv, const CtlGlobal *g)
{
        enum {
                OPT_STATE_DIR = 0x100,
                OPT_SESSION,
                OPT_BED,
                OPT_FORMAT,
                OPT_OUTPUT,
                OPT_WHAT,
                OPT_WIDE,
                OPT_FROM,
                OPT_TO,
                OPT_DB,
                OPT_PAPER,
                OPT_CONFIG,
        };
        static const struct option options[] = {
            {"state-dir", required_argument, NULL, OPT_STATE_DIR},
            {"session", required_argument, NULL, OPT_SESSION},
            {"bed", required_argument, NULL, OPT_BED},
            {"format", required_argument, NULL, OPT_FORMAT},
            {"output", required_argument, NULL, OPT_OUTPUT},
            {"what", required_argument, NULL, OPT_WHAT},
            {"wide", no_argument, NULL, OPT_WIDE},
            {"from", required_argument, NULL, OPT_FROM},
            {"to", required_argument, NULL, OPT_TO},
            {"db", required_argument, NULL, OPT_DB},
            {"paper", required_argument, NULL, OPT_PAPER},
            {"config", required_argument, NULL, OPT_CONFIG},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        ExportOptions o = {.format = EXPORT_FORMAT_CSV,
                           .what = EXPORT_WHAT_READINGS,
                           .range = EXPORT_RANGE_ALL,
                           .config_path = VITALS_SYSCONFDIR "/vitalsd.conf"};
        const char *state_dir = NULL, *db_path = NULL, *bed = NULL, *output = NULL;
        char *db_alloc = NULL, err[EXPORT_ERROR_MAX];
        int64_t session_id = 0;
        ExportSession session = {0};
        Output out = {0};
        sqlite3 *db = NULL;
        int c, r, ret = CTL_EXIT_FAILURE;

        (void)g;
        argv[0] = (char *)"vitalsctl export";
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_STATE_DIR:
                        state_dir = optarg;
                        break;
                case OPT_DB:
                        db_path = optarg;
                        break;
                case OPT_SESSION:
                        if (parse_session_id(optarg, &session_id) < 0) {
                                fprintf(stderr,
                                        "vitalsctl export: --session wants a positive session "
                                        "id, not '%s'\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case OPT_BED:
                        if (!*optarg) {
                                fprintf(stderr, "vitalsctl export: --bed wants a bed name\n");
                                return CTL_EXIT_USAGE;
                        }
                        bed = optarg;
                        break;
                case OPT_FORMAT:
                        if (export_format_from_string(optarg, &o.format) < 0) {
                                fprintf(stderr,
                                        "vitalsctl export: unknown format '%s' (csv, json, fhir, "
                                        "hl7, pdf, png or svg)\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case OPT_PAPER:
                        if (strcmp(optarg, "a4") == 0)
                                o.paper = EXPORT_PAPER_A4;
                        else if (strcmp(optarg, "letter") == 0)
                                o.paper = EXPORT_PAPER_LETTER;
                        else {
                                fprintf(stderr,
                                        "vitalsctl export: --paper wants a4 or letter, not '%s'\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case OPT_CONFIG:
                        o.config_path = optarg;
                        break;
                case OPT_OUTPUT:
                        output = optarg;
                        break;
                case OPT_WHAT:
                        if (strcmp(optarg, "readings") == 0)
                                o.what = EXPORT_WHAT_READINGS;
                        else if (strcmp(optarg, "alarms") == 0)
                                o.what = EXPORT_WHAT_ALARMS;
                        else if (strcmp(optarg, "markers") == 0)
                                o.what = EXPORT_WHAT_MARKERS;
                        else {
                                fprintf(stderr,
                                        "vitalsctl export: --what wants readings, alarms or "
                                        "markers, not '%s'\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case OPT_WIDE:
                        o.wide = true;
                        break;
                case OPT_FROM:
                case OPT_TO:
                        if (timefmt_parse_iso(optarg, c == OPT_FROM ? &o.range.from_ns
                                                                    : &o.range.to_ns) < 0) {
                                fprintf(stderr,
                                        "vitalsctl export: %s wants an ISO 8601 time such as "
                                        "2026-01-01T12:00:00Z, not '%s'\n",
                                        c == OPT_FROM ? "--from" : "--to", optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case 'h':
                        export_help();
                        return CTL_EXIT_OK;
                default:
                        return CTL_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "vitalsctl export: unexpected argument '%s'\n", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        if ((session_id > 0) == (bed != NULL)) {
                fprintf(stderr,
                        "vitalsctl export: give exactly one of --session ID or --bed BED\n");
                return CTL_EXIT_USAGE;
        }
        if (o.wide && (o.format != EXPORT_FORMAT_CSV || o.what != EXPORT_WHAT_READINGS)) {
                fprintf(stderr, "vitalsctl export: --wide applies to csv readings only\n");
                return CTL_EXIT_USAGE;
        }
        if (o.range.from_ns >= o.range.to_ns) {
                fprintf(stderr, "vitalsctl export: --from must be before --to\n");
                return CTL_EXIT_USAGE;
        }

        if (!db_path) {
                char *dir = state_dir ? strdup(state_dir) : ctl_default_state_dir();

                if (!dir || asprintf(&db_alloc, "%s/%s", dir, STORE_DB_NAME) < 0) {
                        free(dir);
                        fprintf(stderr, "vitalsctl export: out of memory\n");
                        return CTL_EXIT_FAILURE;
                }
                free(dir);
                db_path = db_alloc;
        }

        r = export_db_open(db_path, &db, err);
        if (r < 0) {
                fprintf(stderr, "vitalsctl export: %s\n", err);
                goto finish;
        }
        r = export_snapshot_begin(db);
        if (r < 0) {
                fprintf(stderr, "vitalsctl export: %s: cannot start reading: %s\n", db_path,
                        sqlite3_errmsg(db));
                goto finish;
        }

        if (bed)
                r = export_session_latest_for_bed(db, bed, &session);
        else
                r = export_session_by_id(db, session_id, &session);
        if (r == -ENOENT) {
                if (bed)
                        fprintf(stderr, "vitalsctl export: bed '%s' has no sessions in %s\n", bed,
                                db_path);
                else
                        fprintf(stderr, "vitalsctl export: no session %lld in %s\n",
                                (long long)session_id, db_path);
                goto finish;
        }
        if (r < 0) {
                fprintf(stderr, "vitalsctl export: %s: reading the session: %s\n", db_path,
                        r == -ENOMEM ? strerror(ENOMEM) : sqlite3_errmsg(db));
                goto finish;
        }

        r = output_open(output, &out);
        if (r < 0) {
                fprintf(stderr, "vitalsctl export: cannot create %s: %s\n", output, strerror(-r));
                goto finish;
        }
        setvbuf(out.f, NULL, _IOFBF, OUTPUT_BUFFER_SIZE);

        r = export_write(db, &session, &o, out.f);
        if (r < 0) {
                /* A failed write leaves the stream in error; a failed query
                 * leaves SQLite's message. */
                if (ferror(out.f))
                        fprintf(stderr, "vitalsctl export: writing %s: %s\n",
                                output ? output : "stdout", strerror(-r));
                else
                        fprintf(stderr, "vitalsctl export: %s: reading session %lld: %s\n", db_path,
                                (long long)session.id,
                                r == -ENOMEM ? strerror(ENOMEM) : sqlite3_errmsg(db));
                output_abort(&out);
                goto finish;
        }
        r = output_commit(&out);
        if (r < 0) {
                fprintf(stderr, "vitalsctl export: writing %s: %s\n", output ? output : "stdout",
                        strerror(-r));
                goto finish;
        }
        ret = CTL_EXIT_OK;

finish:
        export_session_done(&session);
        if (db) {
                export_snapshot_end(db);
                export_db_close(db);
        }
        free(db_alloc);
        return ret;
}
