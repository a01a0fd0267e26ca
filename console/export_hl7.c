/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_hl7.c — one session as HL7 v2.6 ORU^R01 messages profiled by IHE
 * PCD-01 (DEC), one message per observation time.
 *
 * Owns the HL7 writer.  Layout (INTEROP.md §3.1, GE B40 PCD-01 guide, HL7
 * uv-pocd mappingv2.md):
 *
 *   MSH|^~\&|VITALSD|<clinic>|||<now>||ORU^R01^ORU_R01|EX<session>-<n>|P|2.6|||AL|NE||
 *       UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO
 *   PID|||<pseudonym>^^^VITALSD^PI||^^^^^^U        the session's pseudonym, no name
 *   PV1||O|^^<bed>
 *   OBR|1|<ctl>^VITALSD|<ctl>^VITALSD|182777000^monitoring of patient^SCT|||<time>
 *   OBX|k||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|<m>.0.0.0|||||||X|||<time>||||<device>^VITALSD
 *   OBX|k|NM|<MDC code>^<REFID>^MDC|<m>.<vmd>.<chan>.<metric>|<value>|
 *       <MDC unit>^<REFID>^MDC^<UCUM>^<UCUM>^UCUM|||||R|||<time>||||<device>^VITALSD
 *
 * One MDS row per monitor in the message (m = 1, 2, ...), its metrics below
 * it.  Containment (OBX-4) follows the INTEROP.md example: pulse oximetry is
 * VMD 1 (SpO2 .1.1, pulse rate .1.2), NIBP VMD 2 (sys .1.1, dia .1.2, mean
 * .1.3, cuff pulse .1.4), ECG heart rate VMD 3, respiration VMD 4,
 * temperature VMD 5, anything else VMD 6 numbered in order; "the ordinal
 * numbers in an OBX-4 are not normative", they are unique per message.
 * Units carry the MDC code and, as the alternate coding, UCUM.  A reading
 * without a value keeps its row with an empty OBX-5 and result status X
 * ("results cannot be obtained", HL7 table 0085): never a zero.  Times are
 * the host's (UTC) to the millisecond, never the device clock (DESIGN.md).
 *
 * Segments end in CR (0x0D), messages follow each other directly (what
 * MLLP senders and python-hl7's parse_batch() take).  Free text (clinic,
 * pseudonym, bed, device, parameter and unit names) is escaped with the
 * MSH-2 escape sequences \F\ \S\ \T\ \R\ \E\ and \Xhh\ for control bytes.
 *
 * Streaming: only the readings of the current observation time are held,
 * at most HL7_MAX_ROWS of them; a larger group goes out as two messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalogue.h"
#include "export.h"
#include "reading.h"

#define HL7_SEGMENT_END "\r"
#define HL7_NAMESPACE "VITALSD"
#define HL7_MAX_ROWS 64
#define HL7_TIME_MAX 32

/* MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS (GE B40 PCD-01 guide p.20). */
#define MDC_MDS_MULTI_PARAM "69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC"
/* SNOMED CT 182777000 "monitoring of patient" (Mindray PCD-01 example). */
#define OBR_SERVICE "182777000^monitoring of patient^SCT"
#define PCD01_PROFILE "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"

typedef struct Hl7Row {
        char *device;
        char parameter[READING_PARAM_MAX];
        char unit[READING_UNIT_MAX];
        bool has_value;
        double value;
} Hl7Row;

typedef struct Hl7Writer {
        FILE *f;
        const ExportSession *session;
        char *clinic;
        char now[HL7_TIME_MAX];
        uint64_t n_messages;
        int64_t wall_ns;
        Hl7Row rows[HL7_MAX_ROWS];
        size_t n_rows;
} Hl7Writer;

typedef struct Containment {
        const char *parameter;
        unsigned vmd, channel, metric;
} Containment;

static const Containment containments[] = {
    {"SPO2", 1, 1, 1},     {"PR", 1, 1, 2},        {"NIBP_SYS", 2, 1, 1},
    {"NIBP_DIA", 2, 1, 2}, {"NIBP_MEAN", 2, 1, 3}, {"NIBP_PR", 2, 1, 4},
    {"HR", 3, 1, 1},       {"RR", 4, 1, 1},        {"TEMP", 5, 1, 1},
};
#define VMD_OTHER 6

void export_hl7_escape(FILE *f, const char *s)
{
        for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
                switch (*p) {
                case '|':
                        fputs("\\F\\", f);
                        break;
                case '^':
                        fputs("\\S\\", f);
                        break;
                case '&':
                        fputs("\\T\\", f);
                        break;
                case '~':
                        fputs("\\R\\", f);
                        break;
                case '\\':
                        fputs("\\E\\", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\X%02X\\", *p);
                        else
                                fputc(*p, f);
                }
        }
}

char *export_hl7_time(int64_t wall_ns, char *buf, size_t size)
{
        int64_t sec = wall_ns / 1000000000LL, rem = wall_ns % 1000000000LL;
        time_t t;
        struct tm tm;

        if (rem < 0) {
                rem += 1000000000LL;
                sec--;
        }
        t = (time_t)sec;
        gmtime_r(&t, &tm);
        snprintf(buf, size, "%04d%02d%02d%02d%02d%02d.%03d+0000", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(rem / 1000000));
        return buf;
}

/* HL7 NM: optional sign, digits, optional decimal point; no exponent. */
char *export_hl7_number(double v, char *buf, size_t size)
{
        char *dot, *end;

        export_format_number(v, buf, size);
        if (!strpbrk(buf, "eE"))
                return buf;
        snprintf(buf, size, "%.6f", v);
        dot = strchr(buf, '.');
        if (dot) {
                end = buf + strlen(buf) - 1;
                while (end > dot && *end == '0')
                        *end-- = '\0';
                if (end == dot)
                        *end = '\0';
        }
        return buf;
}

static const Containment *containment_of(const char *parameter)
{
        for (size_t i = 0; i < sizeof(containments) / sizeof(containments[0]); i++)
                if (strcmp(containments[i].parameter, parameter) == 0)
                        return &containments[i];
        return NULL;
}

static void rows_clear(Hl7Writer *w)
{
        for (size_t i = 0; i < w->n_rows; i++)
                free(w->rows[i].device);
        w->n_rows = 0;
}

static void write_header(Hl7Writer *w, const char *control_id, const char *when)
{
        FILE *f = w->f;

        fputs("MSH|^~\\&|" HL7_NAMESPACE "|", f);
        export_hl7_escape(f, w->clinic);
        fprintf(f,
                "|||%s||ORU^R01^ORU_R01|%s|P|2.6|||AL|NE||UNICODE UTF-8|||" PCD01_PROFILE
                    HL7_SEGMENT_END,
                w->now, control_id);
        fputs("PID|||", f);
        export_hl7_escape(f, w->session->patient_ref);
        fputs("^^^" HL7_NAMESPACE "^PI||^^^^^^U" HL7_SEGMENT_END, f);
        fputs("PV1||O|^^", f);
        export_hl7_escape(f, w->session->bed);
        fputs(HL7_SEGMENT_END, f);
        fprintf(f,
                "OBR|1|%s^" HL7_NAMESPACE "|%s^" HL7_NAMESPACE "|" OBR_SERVICE
                "|||%s" HL7_SEGMENT_END,
                control_id, control_id, when);
}

static void write_metric(Hl7Writer *w, unsigned *set_id, unsigned mds, const Hl7Row *row,
                         unsigned *other_metric, const char *when)
{
        const CatalogueEntry *e = catalogue_find(row->parameter);
        const Containment *c = containment_of(row->parameter);
        FILE *f = w->f;
        char num[64];

        fprintf(f, "OBX|%u|NM|", ++*set_id);
        if (e && e->mdc_code) {
                fprintf(f, "%" PRIu32 "^%s^MDC", e->mdc_code, e->mdc_refid);
        } else {
                /* A local code: HL7 reserves "99..." coding systems for them. */
                export_hl7_escape(f, row->parameter);
                fputc('^', f);
                export_hl7_escape(f, row->parameter);
                fputs("^99" HL7_NAMESPACE, f);
        }
        if (c)
                fprintf(f, "|%u.%u.%u.%u|", mds, c->vmd, c->channel, c->metric);
        else
                fprintf(f, "|%u.%u.1.%u|", mds, VMD_OTHER, ++*other_metric);
        if (row->has_value)
                fputs(export_hl7_number(row->value, num, sizeof(num)), f);
        fputc('|', f);
        /* MDC first with UCUM as the alternate coding; a unit without an MDC
         * code has UCUM alone, as the primary coding. */
        if (e && e->mdc_unit_code && strcmp(row->unit, e->ucum) == 0)
                fprintf(f, "%" PRIu32 "^%s^MDC^", e->mdc_unit_code, e->mdc_unit_refid);
        if (row->unit[0]) {
                export_hl7_escape(f, row->unit);
                fputc('^', f);
                export_hl7_escape(f, row->unit);
                fputs("^UCUM", f);
        }
        fprintf(f, "|||||%s|||%s||||", row->has_value ? "R" : "X", when);
        export_hl7_escape(f, row->device);
        fputs("^" HL7_NAMESPACE HL7_SEGMENT_END, f);
}

static int flush_message(Hl7Writer *w)
{
        char control_id[64], when[HL7_TIME_MAX];
        unsigned set_id = 0, mds = 0;
        bool done[HL7_MAX_ROWS] = {false};

        if (w->n_rows == 0)
                return 0;
        snprintf(control_id, sizeof(control_id), "EX%" PRId64 "-%" PRIu64, w->session->id,
                 ++w->n_messages);
        export_hl7_time(w->wall_ns, when, sizeof(when));
        write_header(w, control_id, when);

        /* Monitors in order of first appearance, each an MDS with its metrics. */
        for (size_t i = 0; i < w->n_rows; i++) {
                unsigned other_metric = 0;

                if (done[i])
                        continue;
                mds++;
                fprintf(w->f, "OBX|%u||" MDC_MDS_MULTI_PARAM "|%u.0.0.0|||||||X|||%s||||", ++set_id,
                        mds, when);
                export_hl7_escape(w->f, w->rows[i].device);
                fputs("^" HL7_NAMESPACE HL7_SEGMENT_END, w->f);
                for (size_t j = i; j < w->n_rows; j++) {
                        if (done[j] || strcmp(w->rows[j].device, w->rows[i].device) != 0)
                                continue;
                        write_metric(w, &set_id, mds, &w->rows[j], &other_metric, when);
                        done[j] = true;
                }
        }
        rows_clear(w);
        return export_stream_error(w->f);
}

static int hl7_reading(void *userdata, const ExportReading *r)
{
        Hl7Writer *w = userdata;
        Hl7Row *row;
        int k;

        if (w->n_rows > 0 && (r->wall_ns != w->wall_ns || w->n_rows == HL7_MAX_ROWS)) {
                k = flush_message(w);
                if (k < 0)
                        return k;
        }
        w->wall_ns = r->wall_ns;
        row = &w->rows[w->n_rows];
        *row = (Hl7Row){.device = strdup(r->device)};
        if (!row->device)
                return -ENOMEM;
        snprintf(row->parameter, sizeof(row->parameter), "%s", r->parameter);
        snprintf(row->unit, sizeof(row->unit), "%s", r->unit);
        row->has_value = export_reading_value(r, &row->value);
        w->n_rows++;
        return 0;
}

int export_write_hl7(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        Hl7Writer w = {.f = f, .session = s};
        int r;

        w.clinic = export_clinic_name(o);
        export_hl7_time(export_now_ns(o), w.now, sizeof(w.now));
        r = export_readings_foreach(db, s->id, o->range, hl7_reading, &w);
        if (r >= 0)
                r = flush_message(&w);
        rows_clear(&w);
        free(w.clinic);
        return r;
}
