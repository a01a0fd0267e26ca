/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-export.c — `vitalsctl export` against a real session log.
 *
 * The database is written through the daemon's own store API (store_open,
 * store_session_open, store_reading_add, store_marker_add,
 * store_alarm_event_add, store_flush), so the test pins the schema the
 * daemon really writes; the export side reads it through export_query.c and
 * the console's writers into memory (open_memstream), and the expected
 * output is spelled out line by line.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "export.h"
#include "export_query.h"
#include "store.h"
#include "testlib.h"
#include "timefmt.h"
#include "vitalsctl.h"

#define NS 1000000000LL
#define MS 1000000LL

static char dir[] = "/tmp/test-export-XXXXXX";
static char db_path[256];
static int64_t t0; /* 2026-01-01T12:00:00Z */
static int64_t session1, session2, session3;

static void add_reading(Store *s, int64_t session, const char *device, const char *parameter,
                        const char *unit, ReadingStatus status, double value, int64_t wall_ns,
                        int64_t device_ns)
{
        Reading r = {.status = status,
                     .value = value,
                     .wall_ns = wall_ns,
                     .mono_ns = wall_ns - t0 + 5 * NS,
                     .device_time_ns = device_ns};

        reading_set_name(&r, parameter, unit);
        store_reading_add(s, session, device, &r);
}

static void add_alarm(Store *s, int64_t session, int64_t wall_ns, const char *state, double value,
                      double limit, const char *actor, const char *detail)
{
        StoreAlarmEvent e = {
            .alarm_id = 7,
            .session_id = session,
            .bed = "chair-1",
            .wall_ns = wall_ns,
            .mono_ns = wall_ns - t0,
            .condition = "SPO2_LOW",
            .technical = false,
            .priority = "medium",
            .state = state,
            .phase = "baseline",
            .value = value,
            .limit_value = limit,
            .actor = actor,
            .detail = detail,
        };

        store_alarm_event_add(s, &e);
}

/* Session 1 on chair-1: the one the tests read.  Session 2 on chair-2 and
 * session 3 (later) on chair-1 must never leak into session 1's export. */
static void write_fixture(void)
{
        Store *s = NULL;
        int r;

        r = store_open(db_path, 0, &s);
        CHECK_INT(r, 0);
        if (r < 0)
                exit(1);

        session1 =
            store_session_open(s, "chair-1", NULL, "ketamine-infusion", t0 - 60 * NS, "nurse.ann");
        session2 = store_session_open(s, "chair-2", "PT-77", NULL, t0 - 30 * NS, "auto");

        add_reading(s, session1, "mon1", "HR", "/min", READING_VALID, 72, t0, t0 - 2 * NS);
        add_reading(s, session1, "mon1", "SPO2", "%", READING_VALID, 96.65, t0, t0 - 2 * NS);
        add_reading(s, session2, "mon9", "HR", "/min", READING_VALID, 55, t0, 0);
        /* Invalid: the store keeps no value; the export must not invent one. */
        add_reading(s, session1, "mon1", "HR", "/min", READING_INVALID, 71, t0 + 1500 * MS, 0);
        add_reading(s, session1, "mon1", "SPO2", "%", READING_VALID, 97, t0 + 1500 * MS, 0);
        /* A device named like a formula; a negative value stays a number. */
        add_reading(s, session1, "=1+2", "ST_II", "mV", READING_VALID, -0.5, t0 + 2250 * MS, 0);

        store_marker_add(s, session1, t0 + 500 * MS, 5 * NS, "infusion-start", NULL, "nurse.ann");
        store_marker_add(s, session1, t0 + 2 * NS, 7 * NS, "note",
                         "-5 mmHg after dose, \"slow\" push", "@nurse.bob");
        store_marker_add(s, session2, t0 + 2 * NS, 7 * NS, "note", "other bed", "auto");

        add_alarm(s, session1, t0 + 1 * NS, "active", 87, 88, "vitalsd", NULL);
        add_alarm(s, session1, t0 + 2 * NS, "acknowledged", NAN, NAN, "nurse.ann", "SpO2 low, ack");
        add_alarm(s, 0, t0 + 3 * NS, "active", NAN, NAN, "vitalsd", "no session");

        store_session_close(s, session1, t0 + 10 * NS, "nurse.ann", "done");
        session3 = store_session_open(s, "chair-1", NULL, NULL, t0 + 20 * NS, "auto");
        add_reading(s, session3, "mon1", "HR", "/min", READING_VALID, 80, t0 + 21 * NS, 0);

        CHECK_INT(store_flush(s), 0);
        store_close(s);
}

typedef struct Buffer {
        char *data;
        size_t size;
        FILE *f;
} Buffer;

static void buffer_open(Buffer *b)
{
        *b = (Buffer){0};
        b->f = open_memstream(&b->data, &b->size);
        if (!b->f)
                exit(1);
}

static void buffer_close(Buffer *b)
{
        fclose(b->f);
        b->f = NULL;
}

static int export_to(Buffer *b, int64_t session_id, const ExportOptions *o)
{
        char err[EXPORT_ERROR_MAX];
        ExportSession s = {0};
        sqlite3 *db = NULL;
        int r;

        buffer_open(b);
        r = export_db_open(db_path, &db, err);
        CHECK_INT(r, 0);
        if (r < 0) {
                fprintf(stderr, "%s\n", err);
                buffer_close(b);
                return r;
        }
        CHECK_INT(export_snapshot_begin(db), 0);
        r = export_session_by_id(db, session_id, &s);
        CHECK_INT(r, 0);
        if (r >= 0)
                r = export_write(db, &s, o, b->f);
        export_session_done(&s);
        export_snapshot_end(db);
        export_db_close(db);
        buffer_close(b);
        return r;
}

TEST(csv_readings_long_format)
{
        ExportOptions o = {
            .format = EXPORT_FORMAT_CSV, .what = EXPORT_WHAT_READINGS, .range = EXPORT_RANGE_ALL};
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        CHECK_STR(b.data, "time,session,bed,device,parameter,value,unit,status,device_time\r\n"
                          "2026-01-01T12:00:00.000Z,1,chair-1,mon1,HR,72,/min,valid,"
                          "2026-01-01T11:59:58.000Z\r\n"
                          "2026-01-01T12:00:00.000Z,1,chair-1,mon1,SPO2,96.65,%,valid,"
                          "2026-01-01T11:59:58.000Z\r\n"
                          "2026-01-01T12:00:01.500Z,1,chair-1,mon1,HR,,/min,invalid,\r\n"
                          "2026-01-01T12:00:01.500Z,1,chair-1,mon1,SPO2,97,%,valid,\r\n"
                          "2026-01-01T12:00:02.250Z,1,chair-1,'=1+2,ST_II,-0.5,mV,valid,\r\n");
        free(b.data);
}

TEST(csv_readings_wide_one_row_per_time)
{
        ExportOptions o = {.format = EXPORT_FORMAT_CSV,
                           .what = EXPORT_WHAT_READINGS,
                           .wide = true,
                           .range = EXPORT_RANGE_ALL};
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        /* Catalogue parameters first in catalogue order, then the others. */
        CHECK_STR(b.data, "time,session,bed,HR,SPO2,ST_II\r\n"
                          "2026-01-01T12:00:00.000Z,1,chair-1,72,96.65,\r\n"
                          "2026-01-01T12:00:01.500Z,1,chair-1,,97,\r\n"
                          "2026-01-01T12:00:02.250Z,1,chair-1,,,-0.5\r\n");
        free(b.data);
}

TEST(csv_markers_quote_commas_and_quotes)
{
        ExportOptions o = {
            .format = EXPORT_FORMAT_CSV, .what = EXPORT_WHAT_MARKERS, .range = EXPORT_RANGE_ALL};
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        CHECK_STR(b.data, "time,session,bed,kind,text,actor\r\n"
                          "2026-01-01T12:00:00.500Z,1,chair-1,infusion-start,,nurse.ann\r\n"
                          "2026-01-01T12:00:02.000Z,1,chair-1,note,"
                          "\"'-5 mmHg after dose, \"\"slow\"\" push\",'@nurse.bob\r\n");
        free(b.data);
}

TEST(csv_alarms_of_the_session_only)
{
        ExportOptions o = {
            .format = EXPORT_FORMAT_CSV, .what = EXPORT_WHAT_ALARMS, .range = EXPORT_RANGE_ALL};
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        CHECK_STR(b.data,
                  "time,session,bed,alarm_id,condition,technical,priority,state,phase,value,"
                  "limit,actor,detail\r\n"
                  "2026-01-01T12:00:01.000Z,1,chair-1,7,SPO2_LOW,0,medium,active,baseline,87,"
                  "88,vitalsd,\r\n"
                  "2026-01-01T12:00:02.000Z,1,chair-1,7,SPO2_LOW,0,medium,acknowledged,baseline,"
                  ",,nurse.ann,\"SpO2 low, ack\"\r\n");
        free(b.data);
}

TEST(csv_from_to_is_half_open)
{
        ExportOptions o = {.format = EXPORT_FORMAT_CSV,
                           .what = EXPORT_WHAT_READINGS,
                           .range = {t0 + 1 * NS, t0 + 2250 * MS}};
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        CHECK_STR(b.data, "time,session,bed,device,parameter,value,unit,status,device_time\r\n"
                          "2026-01-01T12:00:01.500Z,1,chair-1,mon1,HR,,/min,invalid,\r\n"
                          "2026-01-01T12:00:01.500Z,1,chair-1,mon1,SPO2,97,%,valid,\r\n");
        free(b.data);
}

TEST(csv_cells)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
            {"mon1", "mon1"},
            {"", ""},
            {"a,b", "\"a,b\""},
            {"say \"hi\"", "\"say \"\"hi\"\"\""},
            {"two\r\nlines", "\"two\r\nlines\""},
            {"=SUM(A1:A9)", "'=SUM(A1:A9)"},
            {"+1", "'+1"},
            {"-1", "'-1"},
            {"@cmd", "'@cmd"},
            {"\tx", "'\tx"},
            {"\rx", "\"'\rx\""},
            {"=a,b", "\"'=a,b\""},
            {"a=b", "a=b"},
        };
        static const struct {
                double v;
                const char *out;
        } numbers[] = {
            {96.65, "96.65"}, {72, "72"},
            {-0.5, "-0.5"},   {0, "0"},
            {36.6, "36.6"},   {128.0 * 1000.0 / 133.322387415 * 133.322387415 / 1000.0, "128"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Buffer b;

                buffer_open(&b);
                export_csv_text(b.f, cases[i].in);
                buffer_close(&b);
                CHECK_STR(b.data, cases[i].out);
                free(b.data);
        }
        for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
                char buf[64];

                CHECK_STR(export_format_number(numbers[i].v, buf, sizeof(buf)), numbers[i].out);
        }
}

static json_object *get(json_object *o, const char *key)
{
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const char *get_str(json_object *o, const char *key)
{
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool has_null(json_object *o, const char *key)
{
        json_object *v = (json_object *)1;

        return json_object_object_get_ex(o, key, &v) && v == NULL;
}

TEST(json_document)
{
        ExportOptions o = {.format = EXPORT_FORMAT_JSON, .range = EXPORT_RANGE_ALL};
        json_object *doc, *session, *readings, *alarms, *markers, *e;
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        /* json-c's default would print 96.650000000000006. */
        CHECK(strstr(b.data, "\"value\":96.65,") != NULL);
        CHECK(strstr(b.data, "96.650000") == NULL);

        doc = json_tokener_parse(b.data);
        CHECK(doc != NULL);
        if (!doc) {
                fprintf(stderr, "%s\n", b.data);
                free(b.data);
                return;
        }

        session = get(doc, "session");
        CHECK_INT(json_object_get_int64(get(session, "id")), session1);
        CHECK_STR(get_str(session, "bed"), "chair-1");
        CHECK_STR(get_str(session, "patient_ref"), "SESSION-1");
        CHECK_STR(get_str(session, "profile"), "ketamine-infusion");
        CHECK_STR(get_str(session, "started"), "2026-01-01T11:59:00.000Z");
        CHECK_STR(get_str(session, "ended"), "2026-01-01T12:00:10.000Z");
        CHECK_STR(get_str(session, "opened_by"), "nurse.ann");
        CHECK_STR(get_str(session, "closed_by"), "nurse.ann");
        CHECK_STR(get_str(session, "end_reason"), "done");

        readings = get(doc, "readings");
        CHECK_INT(json_object_array_length(readings), 5);
        e = json_object_array_get_idx(readings, 0);
        CHECK_STR(get_str(e, "time"), "2026-01-01T12:00:00.000Z");
        CHECK_STR(get_str(e, "device_time"), "2026-01-01T11:59:58.000Z");
        CHECK_STR(get_str(e, "device"), "mon1");
        CHECK_STR(get_str(e, "parameter"), "HR");
        CHECK_DBL(json_object_get_double(get(e, "value")), 72, 0);
        CHECK_STR(get_str(e, "unit"), "/min");
        CHECK_STR(get_str(e, "status"), "valid");
        e = json_object_array_get_idx(readings, 1);
        CHECK_DBL(json_object_get_double(get(e, "value")), 96.65, 0);
        e = json_object_array_get_idx(readings, 2);
        CHECK_STR(get_str(e, "status"), "invalid");
        CHECK(has_null(e, "value"));
        CHECK(has_null(e, "device_time"));
        e = json_object_array_get_idx(readings, 4);
        CHECK_STR(get_str(e, "device"), "=1+2"); /* JSON is data, not a spreadsheet */
        CHECK_DBL(json_object_get_double(get(e, "value")), -0.5, 0);

        alarms = get(doc, "alarms");
        CHECK_INT(json_object_array_length(alarms), 2);
        e = json_object_array_get_idx(alarms, 0);
        CHECK_STR(get_str(e, "time"), "2026-01-01T12:00:01.000Z");
        CHECK_STR(get_str(e, "bed"), "chair-1");
        CHECK_INT(json_object_get_int64(get(e, "session")), session1);
        CHECK_INT(json_object_get_int64(get(e, "alarm_id")), 7);
        CHECK_STR(get_str(e, "condition"), "SPO2_LOW");
        CHECK(json_object_is_type(get(e, "technical"), json_type_boolean) &&
              !json_object_get_boolean(get(e, "technical")));
        CHECK_STR(get_str(e, "priority"), "medium");
        CHECK_STR(get_str(e, "state"), "active");
        CHECK_STR(get_str(e, "phase"), "baseline");
        CHECK_DBL(json_object_get_double(get(e, "value")), 87, 0);
        CHECK_DBL(json_object_get_double(get(e, "limit")), 88, 0);
        CHECK_STR(get_str(e, "actor"), "vitalsd");
        CHECK(has_null(e, "detail"));
        e = json_object_array_get_idx(alarms, 1);
        CHECK(has_null(e, "value"));
        CHECK(has_null(e, "limit"));
        CHECK_STR(get_str(e, "detail"), "SpO2 low, ack");

        markers = get(doc, "markers");
        CHECK_INT(json_object_array_length(markers), 2);
        e = json_object_array_get_idx(markers, 0);
        CHECK_STR(get_str(e, "kind"), "infusion-start");
        CHECK(has_null(e, "text"));
        e = json_object_array_get_idx(markers, 1);
        CHECK_STR(get_str(e, "time"), "2026-01-01T12:00:02.000Z");
        CHECK_STR(get_str(e, "text"), "-5 mmHg after dose, \"slow\" push");
        CHECK_STR(get_str(e, "actor"), "@nurse.bob");

        json_object_put(doc);
        free(b.data);
}

TEST(json_empty_session_is_a_valid_document)
{
        ExportOptions o = {.format = EXPORT_FORMAT_JSON, .range = {t0 + 100 * NS, t0 + 200 * NS}};
        json_object *doc;
        Buffer b;

        CHECK_INT(export_to(&b, session1, &o), 0);
        doc = json_tokener_parse(b.data);
        CHECK(doc != NULL);
        CHECK_INT(json_object_array_length(get(doc, "readings")), 0);
        CHECK_INT(json_object_array_length(get(doc, "alarms")), 0);
        CHECK_INT(json_object_array_length(get(doc, "markers")), 0);
        json_object_put(doc);
        free(b.data);
}

TEST(session_lookup)
{
        char err[EXPORT_ERROR_MAX];
        ExportSession s = {0};
        sqlite3 *db = NULL;

        CHECK_INT(export_db_open(db_path, &db, err), 0);
        if (!db)
                return;
        CHECK_INT(export_session_latest_for_bed(db, "chair-1", &s), 0);
        CHECK_INT(s.id, session3); /* started last */
        CHECK(!s.ended);
        CHECK(s.profile == NULL);
        export_session_done(&s);
        CHECK_INT(export_session_latest_for_bed(db, "chair-2", &s), 0);
        CHECK_STR(s.patient_ref, "PT-77");
        export_session_done(&s);
        CHECK_INT(export_session_latest_for_bed(db, "chair-9", &s), -ENOENT);
        CHECK_INT(export_session_by_id(db, 999, &s), -ENOENT);
        export_db_close(db);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        if (!f)
                exit(1);
        fputs(text, f);
        fclose(f);
}

static void make_db(const char *path, const char *sql)
{
        sqlite3 *db;

        unlink(path);
        if (sqlite3_open(path, &db) != SQLITE_OK)
                exit(1);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
}

TEST(open_refuses_what_it_cannot_read)
{
        char path[300], err[EXPORT_ERROR_MAX];
        sqlite3 *db = NULL;

        snprintf(path, sizeof(path), "%s/missing.db", dir);
        CHECK_INT(export_db_open(path, &db, err), -ENOENT);
        CHECK(strstr(err, "missing.db") != NULL);
        CHECK(access(path, F_OK) < 0); /* read-only: never created */

        snprintf(path, sizeof(path), "%s/text.db", dir);
        write_file(path, "time,session\r\nthis is not a database, it is long enough to have a "
                         "header of its own and then some more bytes to pass 100 bytes......\n");
        CHECK_INT(export_db_open(path, &db, err), -EMEDIUMTYPE);
        unlink(path);

        snprintf(path, sizeof(path), "%s/other.db", dir);
        make_db(path, "CREATE TABLE t(x);");
        CHECK_INT(export_db_open(path, &db, err), -EMEDIUMTYPE);
        make_db(path, "CREATE TABLE t(x); PRAGMA user_version=99;");
        CHECK_INT(export_db_open(path, &db, err), -EPROTO);
        CHECK(strstr(err, "newer") != NULL);
        unlink(path);
}

TEST(reader_never_blocks_the_writer)
{
        char err[EXPORT_ERROR_MAX];
        sqlite3 *db = NULL;
        Store *s = NULL;
        int64_t before = 0, after = 0;
        sqlite3_stmt *st;

        CHECK_INT(store_open(db_path, 0, &s), 0);
        CHECK_INT(export_db_open(db_path, &db, err), 0);
        if (!s || !db)
                return;
        CHECK_INT(export_snapshot_begin(db), 0);
        sqlite3_prepare_v2(db, "SELECT count(*) FROM readings", -1, &st, NULL);
        if (sqlite3_step(st) == SQLITE_ROW)
                before = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);

        /* The writer commits while the export holds its snapshot. */
        add_reading(s, session3, "mon1", "HR", "/min", READING_VALID, 81, t0 + 22 * NS, 0);
        CHECK_INT(store_flush(s), 0);

        if (sqlite3_step(st) == SQLITE_ROW)
                after = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        CHECK_INT(after, before); /* one snapshot for the whole export */
        export_snapshot_end(db);
        if (sqlite3_step(st) == SQLITE_ROW)
                after = sqlite3_column_int64(st, 0);
        CHECK_INT(after, before + 1);
        sqlite3_finalize(st);

        /* query_only: even a bug could not write through this connection. */
        CHECK(sqlite3_exec(db, "DELETE FROM readings", NULL, NULL, NULL) != SQLITE_OK);
        export_db_close(db);
        store_close(s);
}

static char *read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        char *data = NULL;
        size_t size = 0;
        FILE *m;
        int c;

        if (!f)
                return NULL;
        m = open_memstream(&data, &size);
        while ((c = fgetc(f)) != EOF)
                fputc(c, m);
        fclose(m);
        fclose(f);
        return data;
}

static int count_entries(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                        n++;
        closedir(d);
        return n;
}

static int run_export(const char *const *args)
{
        char *argv[32];
        CtlGlobal g = {.socket_path = "/nonexistent"};
        int argc = 0;

        for (; args[argc]; argc++)
                argv[argc] = (char *)args[argc];
        argv[argc] = NULL;
        return verb_export(argc, argv, &g);
}

TEST(verb_export_command_line)
{
        char out_dir[300], out[400], *text;

        snprintf(out_dir, sizeof(out_dir), "%s/out", dir);
        mkdir(out_dir, 0700);
        snprintf(out, sizeof(out), "%s/markers.csv", out_dir);

        CHECK_INT(run_export((const char *const[]){"export", "--state-dir", dir, "--bed", "chair-2",
                                                   "--what", "markers", "--output", out, NULL}),
                  CTL_EXIT_OK);
        text = read_file(out);
        CHECK_STR(text, "time,session,bed,kind,text,actor\r\n"
                        "2026-01-01T12:00:02.000Z,2,chair-2,note,other bed,auto\r\n");
        free(text);
        CHECK_INT(count_entries(out_dir), 1); /* no temporary file left behind */

        /* --db and --from/--to with offsets. */
        CHECK_INT(run_export(
                      (const char *const[]){"export", "--db", db_path, "--session", "1", "--format",
                                            "json", "--from", "2026-01-01T13:00:01+01:00", "--to",
                                            "2026-01-01T12:00:01.600Z", "--output", out, NULL}),
                  CTL_EXIT_OK);
        text = read_file(out);
        {
                json_object *doc = text ? json_tokener_parse(text) : NULL;

                CHECK(doc != NULL);
                CHECK_INT(json_object_array_length(get(doc, "readings")), 2);
                CHECK_INT(json_object_array_length(get(doc, "alarms")), 1);
                json_object_put(doc);
        }
        free(text);

        /* Failures: exit 1, and an existing output is left as it was. */
        write_file(out, "previous\n");
        CHECK_INT(run_export((const char *const[]){"export", "--state-dir", dir, "--session", "999",
                                                   "--output", out, NULL}),
                  CTL_EXIT_FAILURE);
        CHECK_INT(run_export((const char *const[]){"export", "--state-dir", out_dir, "--session",
                                                   "1", "--output", out, NULL}),
                  CTL_EXIT_FAILURE);
        text = read_file(out);
        CHECK_STR(text, "previous\n");
        free(text);
        CHECK_INT(count_entries(out_dir), 1);

        /* Usage errors: exit 2. */
        CHECK_INT(run_export((const char *const[]){"export", "--state-dir", dir, NULL}),
                  CTL_EXIT_USAGE);
        CHECK_INT(
            run_export((const char *const[]){"export", "--session", "1", "--bed", "chair-1", NULL}),
            CTL_EXIT_USAGE);
        CHECK_INT(run_export((const char *const[]){"export", "--session", "x1", NULL}),
                  CTL_EXIT_USAGE);
        CHECK_INT(
            run_export((const char *const[]){"export", "--session", "1", "--format", "xml", NULL}),
            CTL_EXIT_USAGE);
        CHECK_INT(run_export((const char *const[]){"export", "--session", "1", "--format", "json",
                                                   "--wide", NULL}),
                  CTL_EXIT_USAGE);
        CHECK_INT(run_export((const char *const[]){"export", "--session", "1", "--from",
                                                   "yesterday", NULL}),
                  CTL_EXIT_USAGE);

        unlink(out);
        rmdir(out_dir);
}

int main(void)
{
        char path[300];

        if (!mkdtemp(dir))
                return 1;
        snprintf(db_path, sizeof(db_path), "%s/%s", dir, STORE_DB_NAME);
        if (timefmt_parse_iso("2026-01-01T12:00:00Z", &t0) < 0)
                return 1;
        write_fixture();

        RUN(csv_readings_long_format);
        RUN(csv_readings_wide_one_row_per_time);
        RUN(csv_markers_quote_commas_and_quotes);
        RUN(csv_alarms_of_the_session_only);
        RUN(csv_from_to_is_half_open);
        RUN(csv_cells);
        RUN(json_document);
        RUN(json_empty_session_is_a_valid_document);
        RUN(session_lookup);
        RUN(open_refuses_what_it_cannot_read);
        RUN(reader_never_blocks_the_writer);
        RUN(verb_export_command_line);

        unlink(db_path);
        snprintf(path, sizeof(path), "%s-wal", db_path);
        unlink(path);
        snprintf(path, sizeof(path), "%s-shm", db_path);
        unlink(path);
        rmdir(dir);
        return testlib_finish();
}
