/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_fhir.c — one session as a FHIR R4 Bundle of type "collection".
 *
 * Owns the FHIR writer.  The Bundle holds a Patient stub that carries only
 * the session's pseudonymous reference (an identifier, no name, nothing
 * else), one Device per monitor that sent readings, and one Observation per
 * reading — except that the systolic, diastolic and mean pressure of one
 * NIBP measurement (same device, same time) become one blood-pressure panel
 * Observation with components.  Alarms and markers are not in the Bundle:
 * R4 has no alarm resource (INTEROP.md §3.5); they travel as CSV/JSON/HL7.
 *
 * Codes follow INTEROP.md §3.2, §3.3 and §3.5 through the catalogue
 * (catalogue.c): category vital-signs, LOINC first (SpO2 also 59408-5),
 * then the IEEE 11073 MDC code (system urn:iso:std:iso:11073:10101); units
 * are UCUM in valueQuantity (system http://unitsofmeasure.org).  BP is the
 * 85354-9 panel with 8480-6 / 8462-4 (/ 8478-0) components
 * (https://hl7.org/fhir/R4/vitalsigns.html).  A reading without a value
 * (invalid, sensor off, calibrating, demo data) is an Observation with
 * dataAbsentReason (http://terminology.hl7.org/CodeSystem/data-absent-reason),
 * never a number.  Parameters outside the catalogue keep their own name as
 * code.text and are not claimed as vital signs.
 *
 * Streaming: the Bundle's opening is printed by hand, then every entry is
 * built with json-c, printed and freed, so memory does not grow with the
 * session.  Only the pending BP panel (three readings) is held back.
 *
 * Entries are identified by urn:uuid fullUrls (version 4: 122 random bits
 * drawn once per export, the entry's number mixed into the low bits) and
 * refer to each other by them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <json-c/json.h>

#include "catalogue.h"
#include "export.h"
#include "reading.h"
#include "timefmt.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define UUID_STRING_MAX 37

#define SYSTEM_LOINC "http://loinc.org"
#define SYSTEM_MDC "urn:iso:std:iso:11073:10101"
#define SYSTEM_UCUM "http://unitsofmeasure.org"
#define SYSTEM_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define SYSTEM_ABSENT "http://terminology.hl7.org/CodeSystem/data-absent-reason"

/* MDC_PRESS_BLD_NONINV, the compound NIBP (INTEROP.md §3.2). */
#define MDC_PRESS_BLD_NONINV 150020

typedef struct BpComponent {
        bool present;
        const CatalogueEntry *entry;
        bool has_value;
        double value;
        char status[16];
        uint32_t flags;
} BpComponent;

enum { BP_SYS, BP_DIA, BP_MEAN, _BP_MAX };

typedef struct FhirWriter {
        FILE *f;
        uint8_t uuid_base[16];
        uint64_t next_entry;
        char patient_url[UUID_STRING_MAX + 9];
        char **devices; /* sorted, from export_devices() */
        char (*device_urls)[UUID_STRING_MAX + 9];
        size_t n_devices;
        bool any_entry;
        /* The NIBP measurement being collected. */
        bool bp_pending;
        int64_t bp_wall_ns;
        char *bp_device;
        BpComponent bp[_BP_MAX];
} FhirWriter;

static void entry_url(FhirWriter *w, char out[static UUID_STRING_MAX + 9])
{
        uint8_t u[16];
        uint64_t n = ++w->next_entry;

        memcpy(u, w->uuid_base, sizeof(u));
        for (int i = 15; i >= 9 && n; i--, n >>= 8)
                u[i] ^= (uint8_t)(n & 0xff);
        u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
        u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        snprintf(out, UUID_STRING_MAX + 9,
                 "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                 u[13], u[14], u[15]);
}

static json_object *jstr(const char *s)
{
        return json_object_new_string(s ? s : "");
}

static json_object *jnumber(double v)
{
        char buf[64];

        return json_object_new_double_s(v, export_format_number(v, buf, sizeof(buf)));
}

static json_object *reference(const char *url)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "reference", jstr(url));
        return o;
}

static json_object *coding(const char *system, const char *code, const char *display)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "system", jstr(system));
        json_object_object_add(o, "code", jstr(code));
        if (display)
                json_object_object_add(o, "display", jstr(display));
        return o;
}

/* LOINC (and the second LOINC for SpO2), then MDC; text is the label. */
static json_object *parameter_code(const CatalogueEntry *e, const char *name)
{
        json_object *cc = json_object_new_object(), *codings = json_object_new_array();
        char mdc[16];

        if (e) {
                if (e->loinc)
                        json_object_array_add(codings, coding(SYSTEM_LOINC, e->loinc, NULL));
                if (e->loinc_extra)
                        json_object_array_add(codings, coding(SYSTEM_LOINC, e->loinc_extra, NULL));
                if (e->mdc_code) {
                        snprintf(mdc, sizeof(mdc), "%" PRIu32, e->mdc_code);
                        json_object_array_add(codings, coding(SYSTEM_MDC, mdc, e->mdc_refid));
                }
        }
        if (json_object_array_length(codings) > 0)
                json_object_object_add(cc, "coding", codings);
        else
                json_object_put(codings);
        json_object_object_add(cc, "text", jstr(e ? e->label : name));
        return cc;
}

static json_object *vital_signs_category(void)
{
        json_object *cats = json_object_new_array(), *cc = json_object_new_object(),
                    *codings = json_object_new_array();

        json_object_array_add(codings, coding(SYSTEM_CATEGORY, "vital-signs", "Vital Signs"));
        json_object_object_add(cc, "coding", codings);
        json_object_array_add(cats, cc);
        return cats;
}

/* A catalogue unit is UCUM (catalogue.c, checked with ucum-lhc); a unit
 * the monitor named itself is passed on as text only. */
static json_object *quantity(double v, const char *unit, bool ucum)
{
        json_object *q = json_object_new_object();

        json_object_object_add(q, "value", jnumber(v));
        if (unit && *unit) {
                json_object_object_add(q, "unit", jstr(unit));
                if (ucum) {
                        json_object_object_add(q, "system", jstr(SYSTEM_UCUM));
                        json_object_object_add(q, "code", jstr(unit));
                }
        }
        return q;
}

/* Why a reading has no value, as data-absent-reason (R4).  The status the
 * monitor gave stays readable in text. */
static json_object *absent_reason(const char *status, uint32_t flags)
{
        const char *code, *text;
        json_object *cc = json_object_new_object(), *codings = json_object_new_array();

        if (flags & READING_FLAG_SENSOR_OFF) {
                code = "not-performed";
                text = "sensor off";
        } else if (strcmp(status, "unavailable") == 0) {
                code = "not-performed";
                text = "not measured by the monitor";
        } else if (strcmp(status, "calibrating") == 0) {
                code = "temp-unknown";
                text = "monitor calibrating";
        } else if (strcmp(status, "invalid") == 0) {
                code = "error";
                text = "the monitor flagged the value invalid";
        } else if (strcmp(status, "demo") == 0) {
                code = "error";
                text = "monitor demo or test data, not a patient value";
        } else {
                code = "unknown";
                text = "no value recorded";
        }
        json_object_array_add(codings, coding(SYSTEM_ABSENT, code, NULL));
        json_object_object_add(cc, "coding", codings);
        json_object_object_add(cc, "text", jstr(text));
        return cc;
}

static const char *device_url(const FhirWriter *w, const char *device)
{
        size_t lo = 0, hi = w->n_devices;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(device, w->devices[mid]);

                if (c == 0)
                        return w->device_urls[mid];
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

/* Prints resource as the next entry (fullUrl url) and frees it. */
static int emit_entry(FhirWriter *w, const char *url, json_object *resource)
{
        json_object *e = json_object_new_object();

        if (!e || !resource) {
                json_object_put(e);
                json_object_put(resource);
                return -ENOMEM;
        }
        json_object_object_add(e, "fullUrl", jstr(url));
        json_object_object_add(e, "resource", resource);
        fputs(w->any_entry ? ",\n" : "\n", w->f);
        fputs(json_object_to_json_string_ext(e, JSON_FLAGS), w->f);
        json_object_put(e);
        w->any_entry = true;
        return export_stream_error(w->f);
}

/* The vital-signs profile requires a LOINC code: only catalogue parameters
 * that have one (and the BP panel) are claimed as vital signs. */
static json_object *observation_start(FhirWriter *w, json_object *code, bool vital_sign,
                                      int64_t wall_ns, const char *device)
{
        json_object *o = json_object_new_object();
        const char *dev = device_url(w, device);
        char t[TIMEFMT_ISO_MAX];

        json_object_object_add(o, "resourceType", jstr("Observation"));
        json_object_object_add(o, "status", jstr("final"));
        if (vital_sign)
                json_object_object_add(o, "category", vital_signs_category());
        json_object_object_add(o, "code", code);
        json_object_object_add(o, "subject", reference(w->patient_url));
        json_object_object_add(o, "effectiveDateTime", jstr(timefmt_iso_ms(wall_ns, t)));
        if (dev)
                json_object_object_add(o, "device", reference(dev));
        return o;
}

static void add_questionable_note(json_object *o, const char *status)
{
        json_object *notes, *n;

        if (strcmp(status, "questionable") != 0)
                return;
        notes = json_object_new_array();
        n = json_object_new_object();
        json_object_object_add(n, "text", jstr("The monitor flagged this value as questionable."));
        json_object_array_add(notes, n);
        json_object_object_add(o, "note", notes);
}

static int emit_single(FhirWriter *w, const ExportReading *r)
{
        const CatalogueEntry *e = catalogue_find(r->parameter);
        json_object *o = observation_start(w, parameter_code(e, r->parameter), e && e->loinc,
                                           r->wall_ns, r->device);
        char url[UUID_STRING_MAX + 9];
        double v;

        if (export_reading_value(r, &v)) {
                json_object_object_add(o, "valueQuantity", quantity(v, r->unit, e != NULL));
                add_questionable_note(o, r->status);
        } else {
                json_object_object_add(o, "dataAbsentReason", absent_reason(r->status, r->flags));
        }
        entry_url(w, url);
        return emit_entry(w, url, o);
}

static int bp_flush(FhirWriter *w)
{
        static const char *const names[_BP_MAX] = {"NIBP_SYS", "NIBP_DIA", "NIBP_MEAN"};
        json_object *o, *code, *codings, *components;
        char url[UUID_STRING_MAX + 9], mdc[16];
        int r;

        if (!w->bp_pending)
                return 0;
        code = json_object_new_object();
        codings = json_object_new_array();
        json_object_array_add(codings, coding(SYSTEM_LOINC, CATALOGUE_BP_PANEL_LOINC,
                                              "Blood pressure panel with all children optional"));
        snprintf(mdc, sizeof(mdc), "%d", MDC_PRESS_BLD_NONINV);
        json_object_array_add(codings, coding(SYSTEM_MDC, mdc, "MDC_PRESS_BLD_NONINV"));
        json_object_object_add(code, "coding", codings);
        json_object_object_add(code, "text", jstr("Blood pressure (non-invasive)"));
        o = observation_start(w, code, true, w->bp_wall_ns, w->bp_device);

        components = json_object_new_array();
        for (int i = 0; i < _BP_MAX; i++) {
                const BpComponent *c = &w->bp[i];
                const CatalogueEntry *e = catalogue_find(names[i]);
                json_object *comp;

                /* The BP profile wants systolic and diastolic always; the
                 * mean only when the monitor gave one. */
                if (!c->present && i == BP_MEAN)
                        continue;
                comp = json_object_new_object();
                json_object_object_add(comp, "code", parameter_code(e, names[i]));
                if (c->present && c->has_value)
                        json_object_object_add(comp, "valueQuantity",
                                               quantity(c->value, e->ucum, true));
                else
                        json_object_object_add(
                            comp, "dataAbsentReason",
                            absent_reason(c->present ? c->status : "", c->present ? c->flags : 0));
                json_object_array_add(components, comp);
        }
        json_object_object_add(o, "component", components);

        entry_url(w, url);
        r = emit_entry(w, url, o);
        free(w->bp_device);
        w->bp_device = NULL;
        w->bp_pending = false;
        memset(w->bp, 0, sizeof(w->bp));
        return r;
}

static int bp_index(const char *parameter)
{
        if (strcmp(parameter, "NIBP_SYS") == 0)
                return BP_SYS;
        if (strcmp(parameter, "NIBP_DIA") == 0)
                return BP_DIA;
        if (strcmp(parameter, "NIBP_MEAN") == 0)
                return BP_MEAN;
        return -1;
}

static int fhir_reading(void *userdata, const ExportReading *r)
{
        FhirWriter *w = userdata;
        int i = bp_index(r->parameter), k;
        BpComponent *c;
        double v;

        /* Rows come ordered by time: a later row closes the measurement. */
        if (w->bp_pending &&
            (r->wall_ns != w->bp_wall_ns ||
             (i >= 0 && (strcmp(r->device, w->bp_device) != 0 || w->bp[i].present)))) {
                k = bp_flush(w);
                if (k < 0)
                        return k;
        }
        if (i < 0)
                return emit_single(w, r);

        if (!w->bp_pending) {
                w->bp_device = strdup(r->device);
                if (!w->bp_device)
                        return -ENOMEM;
                w->bp_pending = true;
                w->bp_wall_ns = r->wall_ns;
        }
        c = &w->bp[i];
        c->present = true;
        c->has_value = export_reading_value(r, &v);
        c->value = c->has_value ? v : 0;
        snprintf(c->status, sizeof(c->status), "%s", r->status);
        c->flags = r->flags;
        return 0;
}

static int emit_patient(FhirWriter *w, const ExportSession *s)
{
        json_object *p = json_object_new_object(), *ids = json_object_new_array(),
                    *id = json_object_new_object(), *type = json_object_new_object();

        /* The pseudonym only: no name, no birth date, no other identifier. */
        json_object_object_add(type, "text", jstr("vitals-logger session pseudonym"));
        json_object_object_add(id, "use", jstr("secondary"));
        json_object_object_add(id, "type", type);
        json_object_object_add(id, "value", jstr(s->patient_ref));
        json_object_array_add(ids, id);
        json_object_object_add(p, "resourceType", jstr("Patient"));
        json_object_object_add(p, "identifier", ids);
        return emit_entry(w, w->patient_url, p);
}

static int emit_device(FhirWriter *w, size_t i)
{
        json_object *d = json_object_new_object(), *ids = json_object_new_array(),
                    *id = json_object_new_object(), *names = json_object_new_array(),
                    *name = json_object_new_object();

        json_object_object_add(id, "value", jstr(w->devices[i]));
        json_object_array_add(ids, id);
        json_object_object_add(name, "name", jstr(w->devices[i]));
        json_object_object_add(name, "type", jstr("user-friendly-name"));
        json_object_array_add(names, name);
        json_object_object_add(d, "resourceType", jstr("Device"));
        json_object_object_add(d, "identifier", ids);
        json_object_object_add(d, "deviceName", names);
        json_object_object_add(d, "patient", reference(w->patient_url));
        return emit_entry(w, w->device_urls[i], d);
}

static void fhir_writer_done(FhirWriter *w)
{
        export_strv_free(w->devices);
        free(w->device_urls);
        free(w->bp_device);
}

int export_write_fhir(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        FhirWriter w = {.f = f};
        char t[TIMEFMT_ISO_MAX];
        int r;

        if (getrandom(w.uuid_base, sizeof(w.uuid_base), 0) != sizeof(w.uuid_base))
                return errno > 0 ? -errno : -EIO;
        r = export_devices(db, s->id, o->range, &w.devices, &w.n_devices);
        if (r < 0)
                return r;
        w.device_urls = calloc(w.n_devices + 1, sizeof(*w.device_urls));
        if (!w.device_urls) {
                fhir_writer_done(&w);
                return -ENOMEM;
        }
        entry_url(&w, w.patient_url);
        for (size_t i = 0; i < w.n_devices; i++)
                entry_url(&w, w.device_urls[i]);

        fprintf(f,
                "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"timestamp\":\"%s\","
                "\"entry\":[",
                timefmt_iso_ms(export_now_ns(o), t));
        r = emit_patient(&w, s);
        for (size_t i = 0; r >= 0 && i < w.n_devices; i++)
                r = emit_device(&w, i);
        if (r >= 0)
                r = export_readings_foreach(db, s->id, o->range, fhir_reading, &w);
        if (r >= 0)
                r = bp_flush(&w);
        if (r >= 0) {
                fputs("\n]}\n", f);
                r = export_stream_error(f);
        }
        fhir_writer_done(&w);
        return r;
}
