/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-export-formats.c — the FHIR, HL7 and chart writers against a small
 * session log written through the daemon's own store API, and the HL7 text
 * helpers case by case.  The HL7 message is spelled out byte by byte; the
 * FHIR Bundle is parsed back with json-c; the chart is rendered as SVG and
 * PNG and checked for what the page must hold.  (The integration test
 * test_export.py does the same against a real vitalsd with third-party
 * readers.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "export.h"
#include "export_query.h"
#include "store.h"
#include "testlib.h"
#include "timefmt.h"

#define NS 1000000000LL
#define MS 1000000LL

static char dir[] = "/tmp/test-export-formats-XXXXXX";
static char db_path[256], conf_path[256];
static int64_t t0; /* 2026-01-01T12:00:00Z */
static int64_t session;

static void reading(Store *s, const char *parameter, const char *unit, ReadingStatus status,
                    double value, uint32_t flags, int64_t wall_ns)
{
        Reading r = {.status = status,
                     .value = value,
                     .flags = flags,
                     .wall_ns = wall_ns,
                     .mono_ns = wall_ns - t0};

        reading_set_name(&r, parameter, unit);
        store_reading_add(s, session, "mon|1", &r);
}

static void write_fixture(void)
{
        Store *s = NULL;
        FILE *f;

        CHECK_INT(store_open(db_path, 0, &s), 0);
        if (!s)
                exit(1);
        session = store_session_open(s, "chair^1", "PT&7", "ketamine-infusion", t0, "nurse");
        reading(s, "HR", "/min", READING_VALID, 72, 0, t0);
        reading(s, "SPO2", "%", READING_VALID, 96.65, 0, t0);
        reading(s, "SPO2", "%", READING_UNAVAILABLE, 0, READING_FLAG_SENSOR_OFF, t0 + 5 * NS);
        reading(s, "NIBP_SYS", "mm[Hg]", READING_VALID, 128, READING_FLAG_NEW_MEASUREMENT,
                t0 + 10 * NS);
        reading(s, "NIBP_DIA", "mm[Hg]", READING_VALID, 82, READING_FLAG_NEW_MEASUREMENT,
                t0 + 10 * NS);
        reading(s, "NIBP_MEAN", "mm[Hg]", READING_VALID, 97, READING_FLAG_NEW_MEASUREMENT,
                t0 + 10 * NS);
        reading(s, "ETCO2", "%", READING_VALID, 5.1, 0, t0 + 15 * NS);
        store_marker_add(s, session, t0 + 2 * NS, 0, "infusion-start", NULL, "nurse");
        CHECK_INT(store_flush(s), 0);
        store_close(s);

        f = fopen(conf_path, "we");
        if (!f)
                exit(1);
        fputs("[daemon]\nclinic = Bay|Clinic\ntick = 1\n\n[device x]\nport = /dev/null\n", f);
        fclose(f);
}

static char *export_text(ExportFormat format, ExportRange range, size_t *ret_size)
{
        ExportOptions o = {
            .format = format, .range = range, .config_path = conf_path, .now_ns = t0 + 3600 * NS};
        char err[EXPORT_ERROR_MAX], *data = NULL;
        ExportSession s = {0};
        sqlite3 *db = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&data, &size);
        int r;

        CHECK_INT(export_db_open(db_path, &db, err), 0);
        CHECK_INT(export_snapshot_begin(db), 0);
        CHECK_INT(export_session_by_id(db, session, &s), 0);
        r = export_write(db, &s, &o, f);
        CHECK_INT(r, 0);
        export_session_done(&s);
        export_snapshot_end(db);
        export_db_close(db);
        fclose(f);
        if (ret_size)
                *ret_size = size;
        return data;
}

TEST(hl7_text_helpers)
{
        static const struct {
                const char *in, *out;
        } escapes[] = {
            {"chair-1", "chair-1"},
            {"a|b", "a\\F\\b"},
            {"a^b", "a\\S\\b"},
            {"a&b", "a\\T\\b"},
            {"a~b", "a\\R\\b"},
            {"a\\b", "a\\E\\b"},
            {"two\rlines\n", "two\\X0D\\lines\\X0A\\"},
            {"Zürich", "Zürich"},
        };
        static const struct {
                double v;
                const char *out;
        } numbers[] = {
            {96.65, "96.65"},
            {72, "72"},
            {-0.5, "-0.5"},
            {0.00001, "0.00001"},
            {1e20, "100000000000000000000"},
        };
        char buf[64];

        for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
                char *data = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&data, &size);

                export_hl7_escape(f, escapes[i].in);
                fclose(f);
                CHECK_STR(data, escapes[i].out);
                free(data);
        }
        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
                CHECK_STR(export_hl7_number(numbers[i].v, buf, sizeof(buf)), numbers[i].out);
        CHECK_STR(export_hl7_time(t0 + 123 * MS, buf, sizeof(buf)), "20260101120000.123+0000");
}

TEST(hl7_messages_byte_by_byte)
{
        char *data = export_text(EXPORT_FORMAT_HL7, EXPORT_RANGE_ALL, NULL);

#define HDR(n, t)                                                                                  \
        "MSH|^~\\&|VITALSD|Bay\\F\\Clinic|||20260101130000.000+0000||ORU^R01^ORU_R01|EX1-" n       \
        "|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r"    \
        "PID|||PT\\T\\7^^^VITALSD^PI||^^^^^^U\r"                                                   \
        "PV1||O|^^chair\\S\\1\r"                                                                   \
        "OBR|1|EX1-" n "^VITALSD|EX1-" n "^VITALSD|182777000^monitoring of patient^SCT|||" t "\r"  \
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||" t                 \
        "||||mon\\F\\1^VITALSD\r"
        CHECK_STR(
            data,
            HDR("1",
                "20260101120000.000+0000") "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.3.1.1|72|"
                                           "264864^MDC_DIM_BEAT_PER_MIN^"
                                           "MDC^/min^/"
                                           "min^UCUM|||||R|||20260101120000.000+0000||||mon\\F\\1^"
                                           "VITALSD\r"
                                           "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|96.65|"
                                           "262688^MDC_DIM_PERCENT^"
                                           "MDC^%^%^UCUM|||||R|||20260101120000.000+0000||||"
                                           "mon\\F\\1^VITALSD\r" HDR(
                                               "2",
                                               "20260101120005.000+0000") "OBX|2|NM|150456^MDC_"
                                                                          "PULS_OXIM_SAT_O2^MDC|1."
                                                                          "1.1.1||262688^MDC_DIM_"
                                                                          "PERCENT^"
                                                                          "MDC^%^%^UCUM|||||X|||"
                                                                          "20260101120005.000+0000|"
                                                                          "|||mon\\F\\1^"
                                                                          "VITALSD\r" HDR(
                                                                              "3",
                                                                              "20260101120010.000+"
                                                                              "0000") "OBX|2|NM|"
                                                                                      "150021^MDC_"
                                                                                      "PRESS_BLD_"
                                                                                      "NONINV_SYS^"
                                                                                      "MDC|1.2.1.1|"
                                                                                      "128|266016^"
                                                                                      "MDC_DIM_"
                                                                                      "MMHG^"
                                                                                      "MDC^mm[Hg]^"
                                                                                      "mm[Hg]^UCUM|"
                                                                                      "||||R|||"
                                                                                      "202601011200"
                                                                                      "10.000+0000|"
                                                                                      "|||"
                                                                                      "mon\\F\\1^"
                                                                                      "VITALSD\r"
                                                                                      "OBX|3|NM|"
                                                                                      "150022^MDC_"
                                                                                      "PRESS_BLD_"
                                                                                      "NONINV_DIA^"
                                                                                      "MDC|1.2.1.2|"
                                                                                      "82|266016^"
                                                                                      "MDC_DIM_"
                                                                                      "MMHG^"
                                                                                      "MDC^mm[Hg]^"
                                                                                      "mm[Hg]^UCUM|"
                                                                                      "||||R|||"
                                                                                      "202601011200"
                                                                                      "10.000+0000|"
                                                                                      "|||"
                                                                                      "mon\\F\\1^"
                                                                                      "VITALSD\r"
                                                                                      "OBX|4|NM|"
                                                                                      "150023^MDC_"
                                                                                      "PRESS_BLD_"
                                                                                      "NONINV_MEAN^"
                                                                                      "MDC|1.2.1.3|"
                                                                                      "97|266016^"
                                                                                      "MDC_DIM_"
                                                                                      "MMHG^"
                                                                                      "MDC^mm[Hg]^"
                                                                                      "mm[Hg]^UCUM|"
                                                                                      "||||R|||"
                                                                                      "202601011200"
                                                                                      "10.000+0000|"
                                                                                      "|||"
                                                                                      "mon\\F\\1^"
                                                                                      "VITALSD"
                                                                                      "\r" HDR(
                                                                                          "4",
                                                                                          "20260101"
                                                                                          "120015."
                                                                                          "000+"
                                                                                          "0000") "OBX|2|NM|ETCO2^ETCO2^99VITALSD|1.6.1.1|5.1|%^%^UCUM|||||R|||"
                                                                                                  "20260101120015.000+0000||||mon\\F\\1^VITALSD\r");
#undef HDR
        free(data);
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str(json_object *o, const char *key)
{
        return json_object_get_string(get(o, key));
}

static json_object *resource(json_object *bundle, size_t i)
{
        return get(json_object_array_get_idx(get(bundle, "entry"), i), "resource");
}

TEST(fhir_bundle)
{
        char *data = export_text(EXPORT_FORMAT_FHIR, EXPORT_RANGE_ALL, NULL);
        json_object *b = json_tokener_parse(data), *r, *c, *codings;

        CHECK(b != NULL);
        if (!b) {
                free(data);
                return;
        }
        CHECK_STR(str(b, "resourceType"), "Bundle");
        CHECK_STR(str(b, "type"), "collection");
        CHECK_STR(str(b, "timestamp"), "2026-01-01T13:00:00.000Z");
        /* Patient, Device, HR, SpO2, SpO2 absent, BP panel, ETCO2. */
        CHECK_INT(json_object_array_length(get(b, "entry")), 7);

        r = resource(b, 0);
        CHECK_STR(str(r, "resourceType"), "Patient");
        CHECK(get(r, "name") == NULL);
        CHECK_STR(str(json_object_array_get_idx(get(r, "identifier"), 0), "value"), "PT&7");

        r = resource(b, 3);
        codings = get(get(r, "code"), "coding");
        CHECK_INT(json_object_array_length(codings), 3);
        CHECK_STR(str(json_object_array_get_idx(codings, 0), "code"), "2708-6");
        CHECK_STR(str(json_object_array_get_idx(codings, 1), "code"), "59408-5");
        CHECK_STR(str(json_object_array_get_idx(codings, 2), "code"), "150456");
        CHECK_STR(str(json_object_array_get_idx(codings, 2), "system"),
                  "urn:iso:std:iso:11073:10101");
        CHECK_DBL(json_object_get_double(get(get(r, "valueQuantity"), "value")), 96.65, 0);
        CHECK(strstr(data, "\"value\":96.65,") != NULL);
        CHECK_STR(str(get(r, "valueQuantity"), "system"), "http://unitsofmeasure.org");
        CHECK_STR(str(get(r, "valueQuantity"), "code"), "%");

        r = resource(b, 4);
        CHECK(get(r, "valueQuantity") == NULL);
        c = json_object_array_get_idx(get(get(r, "dataAbsentReason"), "coding"), 0);
        CHECK_STR(str(c, "code"), "not-performed");
        CHECK_STR(str(get(r, "dataAbsentReason"), "text"), "sensor off");

        r = resource(b, 5);
        CHECK_STR(str(json_object_array_get_idx(get(get(r, "code"), "coding"), 0), "code"),
                  "85354-9");
        CHECK_STR(str(r, "effectiveDateTime"), "2026-01-01T12:00:10.000Z");
        CHECK_INT(json_object_array_length(get(r, "component")), 3);
        c = json_object_array_get_idx(get(r, "component"), 1);
        CHECK_STR(str(json_object_array_get_idx(get(get(c, "code"), "coding"), 0), "code"),
                  "8462-4");
        CHECK_DBL(json_object_get_double(get(get(c, "valueQuantity"), "value")), 82, 0);
        CHECK_STR(str(get(c, "valueQuantity"), "code"), "mm[Hg]");

        /* Outside the catalogue: named, not claimed as a vital sign or UCUM. */
        r = resource(b, 6);
        CHECK(get(r, "category") == NULL);
        CHECK_STR(str(get(r, "code"), "text"), "ETCO2");
        CHECK(get(get(r, "valueQuantity"), "system") == NULL);

        json_object_put(b);
        free(data);
}

TEST(fhir_window_holds_only_its_readings)
{
        char *data =
            export_text(EXPORT_FORMAT_FHIR, (ExportRange){t0 + 5 * NS, t0 + 11 * NS}, NULL);
        json_object *b = json_tokener_parse(data);

        /* Patient, Device, SpO2 absent, BP panel. */
        CHECK(b != NULL);
        if (b)
                CHECK_INT(json_object_array_length(get(b, "entry")), 4);
        json_object_put(b);
        free(data);
}

TEST(chart_pages)
{
        size_t size = 0;
        char *svg = export_text(EXPORT_FORMAT_SVG, EXPORT_RANGE_ALL, &size);
        char *png, *pdf;

        CHECK(svg && strstr(svg, "<svg") != NULL);
        /* The NIBP bar: 2 pt black, once. */
        CHECK(svg && strstr(svg, "stroke-width:2;stroke-linecap:butt;stroke-linejoin:miter;"
                                 "stroke:rgb(0%,0%,0%)") != NULL);
        free(svg);
        png = export_text(EXPORT_FORMAT_PNG, EXPORT_RANGE_ALL, &size);
        CHECK(size > 20000 && png && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
        free(png);
        pdf = export_text(EXPORT_FORMAT_PDF, EXPORT_RANGE_ALL, &size);
        CHECK(size > 5000 && pdf && memcmp(pdf, "%PDF-", 5) == 0);
        CHECK(pdf && memmem(pdf, size, "/MediaBox [ 0 0 595.276 841.89 ]", 32) != NULL);
        free(pdf);
}

int main(void)
{
        char path[300];

        if (!mkdtemp(dir))
                return 1;
        snprintf(db_path, sizeof(db_path), "%s/%s", dir, STORE_DB_NAME);
        snprintf(conf_path, sizeof(conf_path), "%s/vitalsd.conf", dir);
        if (timefmt_parse_iso("2026-01-01T12:00:00Z", &t0) < 0)
                return 1;
        setenv("TZ", "UTC", 1);
        write_fixture();

        RUN(hl7_text_helpers);
        RUN(hl7_messages_byte_by_byte);
        RUN(fhir_bundle);
        RUN(fhir_window_holds_only_its_readings);
        RUN(chart_pages);

        unlink(db_path);
        unlink(conf_path);
        snprintf(path, sizeof(path), "%s-wal", db_path);
        unlink(path);
        snprintf(path, sizeof(path), "%s-shm", db_path);
        unlink(path);
        rmdir(dir);
        return testlib_finish();
}
