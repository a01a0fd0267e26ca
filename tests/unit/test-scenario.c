/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-scenario.c — the vitals-sim scenario parser and evaluator
 * (sim/scenario.c): every shipped scenario parses, bad lines are rejected
 * with their line number, and the monitor shows what the file says at the
 * times it says it.  argv[1] is the directory of shipped scenarios.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ge_s5.h"
#include "scenario.h"
#include "testlib.h"

static const char *scenario_dir;

static Scenario *parse_ok(const char *text)
{
        char error[512];
        Scenario *s = NULL;
        int r = scenario_parse(text, "test.scn", &s, error, sizeof(error));

        if (r < 0)
                fprintf(stderr, "unexpected parse error: %s\n", error);
        CHECK_INT(r, 0);
        return s;
}

static ScenarioSample sample_at(const Scenario *s, double t)
{
        ScenarioSample sample;

        CHECK_INT(scenario_sample(s, t, 1, &sample), 0);
        return sample;
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                fclose(f);
                return NULL;
        }
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
        }
        if (buf)
                buf[n] = '\0';
        fclose(f);
        return buf;
}

static Scenario *load_shipped(const char *name)
{
        char path[4096], error[512];
        Scenario *s = NULL;
        char *text;

        snprintf(path, sizeof(path), "%s/%s", scenario_dir, name);
        text = slurp(path);
        CHECK(text != NULL);
        if (!text)
                return NULL;
        if (scenario_parse(text, path, &s, error, sizeof(error)) < 0)
                fprintf(stderr, "%s\n", error);
        free(text);
        CHECK(s != NULL);
        return s;
}

TEST(shipped_scenarios_all_parse)
{
        DIR *d = opendir(scenario_dir);
        struct dirent *de;
        unsigned n = 0;

        CHECK(d != NULL);
        if (!d)
                return;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                Scenario *s;

                if (len < 5 || strcmp(de->d_name + len - 4, ".scn") != 0)
                        continue;
                s = load_shipped(de->d_name);
                if (s) {
                        ScenarioSample sample;

                        /* Every one of them reports something at 0:00 and at its end. */
                        CHECK(scenario_end_s(s) > 0);
                        CHECK_INT(scenario_sample(s, 0, 1, &sample), 0);
                        CHECK_INT(scenario_sample(s, scenario_end_s(s), 1, &sample), 0);
                }
                scenario_free(s);
                n++;
        }
        closedir(d);
        /* The ones the project promises (DESIGN, sim/scenarios/README.md). */
        CHECK(n >= 10);
}

TEST(times_in_every_spelling)
{
        static const struct {
                const char *text;
                double seconds; /* < 0: rejected */
        } rows[] = {
            {"0", 0},        {"90", 90},      {"90s", 90}, {"5m", 300},      {"5min", 300},
            {"1.5h", 5400},  {"1:30", 90},    {"0:07", 7}, {"100:00", 6000}, {"1:02:03", 3723},
            {"0:00.5", 0.5}, {"1:60", -1},    {"1:5", -1}, {"1:02:3", -1},   {"-5", -1},
            {"abc", -1},     {"5x", -1},      {"", -1},    {"1:2:3:4", -1},  {"1::00", -1},
            {"1e3", -1},     {"1:00:60", -1}, {":30", -1},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                double t = -1;
                int r = scenario_parse_time(rows[i].text, &t);

                if (rows[i].seconds < 0) {
                        if (r == 0)
                                fprintf(stderr, "accepted '%s' as %g\n", rows[i].text, t);
                        CHECK(r < 0);
                } else {
                        CHECK_INT(r, 0);
                        CHECK_DBL(t, rows[i].seconds, 1e-9);
                }
        }
}

TEST(bad_lines_are_named_by_file_and_line)
{
        static const struct {
                const char *text;
                const char *error; /* expected substring */
        } rows[] = {
            {"end 5:00\nat 0:00 hr 72\nat 1:00 hrx 80\n", "test.scn:3: unknown item 'hrx'"},
            {"end 5:00\nat 0:00 spo2 120\n", "test.scn:2: spo2 120 is out of range"},
            {"end 5:00\n\n# c\nat 1:7 hr 80\n", "test.scn:4: at: '1:7' is not a time"},
            {"at 0:00 hr 72\n", "missing 'end' line"},
            {"end 5:00\nend 6:00\nat 0:00 hr 1\n", "test.scn:2: end: given twice"},
            {"end 5:00\nhr 72\n", "test.scn:2: 'hr' needs a time"},
            {"end 5:00\nfrobnicate 3\n", "test.scn:2: unknown statement 'frobnicate'"},
            {"end 5:00\nat 0:00 hr 72\nramp 2:00-1:00 hr 80->90\n",
             "test.scn:3: ramp: the range must end after it starts"},
            {"end 5:00\nat 0:00 spo2 97\nramp 1:00-2:00 hr ->90\n",
             "test.scn:3: ramp hr ->90: hr has no value before 1:00"},
            {"end 5:00\nat 0:00 hr 72\nat 1:00 nibp 80/120\n",
             "test.scn:3: nibp '80/120': systolic is below diastolic"},
            {"end 5:00\nat 0:00 hr 72\nat 1:00 nibp 120/80 for 0:10\n",
             "test.scn:3: 'for' does not apply to nibp"},
            {"end 5:00\nat 0:00 hr 72\nevery 1:00 nibp auto\n",
             "test.scn:3: nibp auto at 0:00: nibp_sys and nibp_dia have no value yet"},
            {"end 5:00\nat 0:00 hr 72\nat 6:00 hr 80\n", "test.scn:3: this starts after the end"},
            {"end 5:00\nat 0:00 hr 72\nat 1:00 garbage lots\n",
             "test.scn:3: garbage: expected a count"},
            {"end 5:00\nat 0:00 hr 72 for\n", "test.scn:2: "},
            {"end 5:00\nat 0:00 hr 72\nat 1:00 sensor-off toe\n",
             "test.scn:3: sensor-off: expected a sensor"},
            {"end 5:00\ninterval 0.5\nat 0:00 hr 1\n", "test.scn:2: interval: 0.5 is out of range"},
            {"end 5:00\nrequire-request = maybe\nat 0:00 hr 1\n",
             "test.scn:2: require-request: expected yes or no"},
            {"end 5:00\nnoise hr\nat 0:00 hr 1\n", "test.scn:2: noise: expected pairs"},
            {"end 5:00\n", "the scenario sets no values"},
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                char error[512] = "";
                Scenario *s = NULL;
                int r = scenario_parse(rows[i].text, "test.scn", &s, error, sizeof(error));

                CHECK_INT(r, -EINVAL);
                CHECK(s == NULL);
                if (!strstr(error, rows[i].error)) {
                        fprintf(stderr, "row %zu: got \"%s\", expected \"%s\"\n", i, error,
                                rows[i].error);
                        CHECK(strstr(error, rows[i].error) != NULL);
                }
                scenario_free(s);
        }
}

TEST(settings_comments_and_spellings)
{
        Scenario *s = parse_ok("# a comment\n"
                               "END = 10:00   # trailing comment\n"
                               "Interval 2\n"
                               "require_request = yes\n"
                               "nibp_duration 40s\n"
                               "AT 0:00 HR 70 SpO2 96\n");

        if (!s)
                return;
        CHECK_DBL(scenario_end_s(s), 600, 1e-9);
        CHECK_DBL(scenario_interval_s(s), 2, 1e-9);
        CHECK_DBL(scenario_nibp_duration_s(s), 40, 1e-9);
        CHECK(scenario_require_request(s));
        scenario_free(s);
}

TEST(ramps_interpolate_linearly_then_hold)
{
        Scenario *s = parse_ok("end 60:00\n"
                               "at 0:00 nibp_sys 120 nibp_dia 78 hr 75\n"
                               "ramp 0:00-40:00 nibp_sys 120->165 nibp_dia 78->98\n"
                               "ramp 10:00-20:00 hr ->95\n"
                               "ramp 40:00-60:00 nibp_sys ->130\n");
        static const struct {
                ScenarioParam param;
                double t, value;
        } rows[] = {
            {SCENARIO_NIBP_SYS, 0, 120},
            {SCENARIO_NIBP_SYS, 20 * 60, 142.5},
            {SCENARIO_NIBP_SYS, 40 * 60, 165},
            {SCENARIO_NIBP_SYS, 50 * 60, 147.5},
            {SCENARIO_NIBP_SYS, 60 * 60, 130},
            {SCENARIO_NIBP_DIA, 10 * 60, 83},
            {SCENARIO_NIBP_DIA, 59 * 60, 98},
            {SCENARIO_HR, 9 * 60, 75},
            {SCENARIO_HR, 15 * 60, 85},
            {SCENARIO_HR, 30 * 60, 95},
            /* pr follows hr when never set */
            {SCENARIO_PR, 15 * 60, 85},
        };

        if (!s)
                return;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                CHECK_DBL(scenario_param_value(s, rows[i].param, rows[i].t), rows[i].value, 1e-9);
        /* Sent values are whole numbers, like the monitor's. */
        CHECK_INT(sample_at(s, 15 * 60).basic.ecg_hr, 85);
        CHECK_INT(sample_at(s, 15 * 60).basic.spo2_pr, GE_S5_DATA_INVALID); /* no oximeter */
        scenario_free(s);
}

TEST(desaturation_window_returns_to_the_ramp)
{
        Scenario *s = parse_ok("end 40:00\n"
                               "at 0:00 hr 80 spo2 98\n"
                               "ramp 20:00-30:00 spo2 ->94\n"
                               "at 22:00 spo2 86 for 0:40\n");
        static const struct {
                double t;
                int spo2_hundredths;
        } rows[] = {
            {21 * 60 + 55, 9700}, /* ramp: 98 - 4 * 115/600 = 97.23 → 97 */
            {22 * 60, 8600},      {22 * 60 + 20, 8600},
            {22 * 60 + 39, 8600}, {22 * 60 + 40, 9700}, /* 98 - 4 * 160/600 = 96.93 → 97 */
            {35 * 60, 9400},
        };

        if (!s)
                return;
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                CHECK_INT(sample_at(s, rows[i].t).basic.spo2, rows[i].spo2_hundredths);
        CHECK_INT(sample_at(s, 22 * 60).basic.spo2_status, SCENARIO_GROUP_EXISTS_ACTIVE);
        CHECK_INT(sample_at(s, 22 * 60).basic.ecg_hr, 80);
        scenario_free(s);
}

TEST(nibp_measures_then_repeats_like_an_s5)
{
        /* Cuff at 5:00 and 10:00 (30 s each); values show at +28 s,
         * "measuring" clears at +30 s, "older than 60 s" at +88 s. */
        Scenario *s = parse_ok("end 20:00\n"
                               "at 0:00 hr 70\n"
                               "at 5:00 nibp 128/82\n"
                               "at 10:00 nibp 140/90/110\n");
        ScenarioSample x;
        double start, result;

        if (!s)
                return;
        CHECK_INT(scenario_nibp_count(s), 2);
        CHECK_INT(scenario_nibp_get(s, 0, &start, &result), 0);
        CHECK_DBL(start, 300, 1e-9);
        CHECK_DBL(result, 330, 1e-9);

        x = sample_at(s, 4 * 60);
        CHECK_INT(x.basic.nibp_sys, GE_S5_DATA_INVALID);
        CHECK_INT(x.basic.nibp_status, SCENARIO_GROUP_EXISTS_ACTIVE);

        x = sample_at(s, 5 * 60 + 10);
        CHECK(x.nibp_measuring);
        CHECK_INT(x.basic.nibp_status, SCENARIO_GROUP_EXISTS_ACTIVE | SCENARIO_NIBP_MEASURING);
        CHECK_INT(x.basic.nibp_sys, GE_S5_DATA_INVALID);

        x = sample_at(s, 5 * 60 + 29);
        CHECK(x.nibp_measuring);
        CHECK_INT(x.basic.nibp_sys, 12800);

        x = sample_at(s, 5 * 60 + 30);
        CHECK(!x.nibp_measuring);
        CHECK(x.nibp_new);
        CHECK_INT(x.basic.nibp_sys, 12800);
        CHECK_INT(x.basic.nibp_dia, 8200);
        CHECK_INT(x.basic.nibp_mean, 9700); /* 82 + 46/3 = 97.3 → 97 */
        CHECK_INT(x.basic.nibp_status, SCENARIO_GROUP_EXISTS_ACTIVE);

        x = sample_at(s, 5 * 60 + 35);
        CHECK(!x.nibp_new);

        x = sample_at(s, 6 * 60 + 27);
        CHECK_INT(x.basic.nibp_status & SCENARIO_NIBP_OLDER_60S, 0);
        x = sample_at(s, 6 * 60 + 28);
        CHECK_INT(x.basic.nibp_status & SCENARIO_NIBP_OLDER_60S, SCENARIO_NIBP_OLDER_60S);
        CHECK_INT(x.basic.nibp_sys, 12800);

        /* The second cuff: old values, marked old and measuring, until +28 s. */
        x = sample_at(s, 10 * 60 + 5);
        CHECK_INT(x.basic.nibp_status,
                  SCENARIO_GROUP_EXISTS_ACTIVE | SCENARIO_NIBP_MEASURING | SCENARIO_NIBP_OLDER_60S);
        CHECK_INT(x.basic.nibp_sys, 12800);
        x = sample_at(s, 10 * 60 + 30);
        CHECK_INT(x.basic.nibp_sys, 14000);
        CHECK_INT(x.basic.nibp_mean, 11000);
        scenario_free(s);
}

TEST(nibp_cycles_auto_overlap_and_stale)
{
        Scenario *s = parse_ok("end 30:00\n"
                               "nibp-duration 40\n"
                               "at 0:00 nibp_sys 120 nibp_dia 80\n"
                               "ramp 0:00-10:00 nibp_sys ->150\n"
                               "every 2:00 until 10:00 nibp auto\n"
                               "at 2:20 nibp 200/100\n" /* dropped: 2:00 is still running */
                               "every 3:00 from 10:00 nibp auto\n"
                               "at 15:00 stale-nibp for 5:00\n"); /* drops 15:00 and 18:00 */
        static const double starts[] = {0, 120, 240, 360, 480, 600, 780, 1320, 1500, 1680};
        ScenarioSample x;

        if (!s)
                return;
        CHECK_INT(scenario_nibp_count(s), sizeof(starts) / sizeof(starts[0]));
        for (size_t i = 0; i < scenario_nibp_count(s) && i < sizeof(starts) / sizeof(starts[0]);
             i++) {
                double start;

                CHECK_INT(scenario_nibp_get(s, i, &start, NULL), 0);
                CHECK_DBL(start, starts[i], 1e-6);
        }

        /* nibp auto reads the ramp when the result comes: 2:40 → 120 + 30*160/600 = 128. */
        x = sample_at(s, 2 * 60 + 40);
        CHECK_INT(x.basic.nibp_sys, 12800);
        CHECK_INT(x.basic.nibp_dia, 8000);
        CHECK(x.nibp_label & SCENARIO_NIBP_AUTO);

        /* In the stale window: the last result repeats, marked old, no cuff. */
        x = sample_at(s, 16 * 60);
        CHECK(!x.nibp_measuring);
        CHECK(x.nibp_label & SCENARIO_NIBP_OLDER_60S);
        CHECK_INT(x.basic.nibp_sys, 15000);
        scenario_free(s);
}

TEST(sensor_off_silence_and_hangup_windows)
{
        Scenario *s = parse_ok("end 10:00\n"
                               "at 0:00 hr 76 spo2 97 pr 75\n"
                               "at 1:00 sensor-off spo2 for 0:30\n"
                               "at 2:00 sensor-off ecg\n"
                               "at 2:20 sensor-on ecg\n"
                               "at 3:00 silence for 0:45\n"
                               "at 5:00 hangup for 0:20\n");
        ScenarioSample x;

        if (!s)
                return;
        x = sample_at(s, 59);
        CHECK_INT(x.basic.spo2, 9700);
        CHECK_INT(x.basic.spo2_pr, 75);
        x = sample_at(s, 60);
        CHECK_INT(x.basic.spo2, GE_S5_DISCONT);
        CHECK_INT(x.basic.spo2_pr, GE_S5_DISCONT);
        CHECK_INT(x.basic.ecg_hr, 76);
        CHECK_INT(sample_at(s, 90).basic.spo2, 9700);
        CHECK_INT(sample_at(s, 125).basic.ecg_hr, GE_S5_DISCONT);
        CHECK_INT(sample_at(s, 140).basic.ecg_hr, 76);

        CHECK(!sample_at(s, 179).silent);
        x = sample_at(s, 200);
        CHECK(x.silent && !x.hangup);
        CHECK(!sample_at(s, 225).silent);
        x = sample_at(s, 305);
        CHECK(x.silent && x.hangup);
        CHECK(!sample_at(s, 320).hangup);
        scenario_free(s);
}

TEST(events_sorted_and_repeated)
{
        Scenario *s = load_shipped("garbage.scn");
        const ScenarioEvent *ev;
        unsigned garbage = 0, damaged = 0;
        size_t n;

        if (!s)
                return;
        ev = scenario_events(s, &n);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        CHECK(ev[i].time_s >= ev[i - 1].time_s);
                if (ev[i].type == SCENARIO_EVENT_GARBAGE) {
                        garbage++;
                        CHECK_INT(ev[i].count, 100);
                } else if (ev[i].type == SCENARIO_EVENT_DAMAGE)
                        damaged += ev[i].count;
        }
        /* What garbage.scn promises in its header. */
        CHECK_INT(garbage, 9);
        CHECK_INT(damaged, 9);
        scenario_free(s);
}

TEST(note_keeps_the_rest_of_the_line)
{
        Scenario *s =
            parse_ok("end 5:00\nat 0:00 hr 70\nat 1:00 note infusion -> started = now  # c\n");
        const ScenarioEvent *ev;
        size_t n;

        if (!s)
                return;
        ev = scenario_events(s, &n);
        CHECK_INT(n, 1);
        if (n == 1) {
                CHECK_INT(ev[0].type, SCENARIO_EVENT_NOTE);
                CHECK_STR(ev[0].text, "infusion -> started = now");
                CHECK_DBL(ev[0].time_s, 60, 1e-9);
        }
        scenario_free(s);
}

TEST(noise_is_bounded_and_repeatable)
{
        Scenario *s = parse_ok("end 10:00\nat 0:00 spo2 92 hr 80\nnoise spo2 1 hr 3\n");
        bool saw[3] = {false, false, false}, differs = false;

        if (!s)
                return;
        for (double t = 0; t <= 600; t += 5) {
                ScenarioSample a, b, c;

                CHECK_INT(scenario_sample(s, t, 7, &a), 0);
                CHECK_INT(scenario_sample(s, t, 7, &b), 0);
                CHECK_INT(scenario_sample(s, t, 8, &c), 0);
                CHECK_INT(a.basic.spo2, b.basic.spo2);
                CHECK_INT(a.basic.ecg_hr, b.basic.ecg_hr);
                CHECK(a.basic.spo2 >= 9100 && a.basic.spo2 <= 9300);
                CHECK_INT(a.basic.spo2 % 100, 0);
                CHECK(a.basic.ecg_hr >= 77 && a.basic.ecg_hr <= 83);
                if (a.basic.spo2 >= 9100 && a.basic.spo2 <= 9300)
                        saw[(a.basic.spo2 - 9100) / 100] = true;
                if (a.basic.spo2 != c.basic.spo2)
                        differs = true;
        }
        /* hover.scn relies on all three showing up. */
        CHECK(saw[0] && saw[1] && saw[2]);
        CHECK(differs);
        scenario_free(s);
}

TEST(after_the_end_values_freeze)
{
        Scenario *s = parse_ok("end 10:00\nat 0:00 hr 60\nramp 5:00-10:00 hr ->90\n");
        ScenarioSample x;

        if (!s)
                return;
        x = sample_at(s, 3600);
        CHECK(x.ended);
        CHECK_INT(x.basic.ecg_hr, 90);
        CHECK(!sample_at(s, 599).ended);
        scenario_free(s);
}

static unsigned readings_seen;
static double last_hr, last_spo2, last_nibp_sys;
static uint32_t last_nibp_flags;

static void on_reading(void *userdata, const Reading *r)
{
        readings_seen++;
        if (strcmp(r->parameter, "HR") == 0)
                last_hr = r->status == READING_VALID ? r->value : -1;
        else if (strcmp(r->parameter, "SPO2") == 0)
                last_spo2 = r->status == READING_VALID ? r->value : -1;
        else if (strcmp(r->parameter, "NIBP_SYS") == 0) {
                last_nibp_sys = r->value;
                last_nibp_flags = r->flags;
        }
}

/* The steady scenario through the real encoder and decoder. */
TEST(steady_scenario_round_trips_through_the_codec)
{
        Scenario *s = load_shipped("steady.scn");
        GeS5DecodeState state = {0};
        uint8_t record[GE_S5_DISPL_RECORD_LEN];
        unsigned new_nibp = 0;

        if (!s)
                return;
        for (double t = 0; t <= 12 * 60; t += scenario_interval_s(s)) {
                ScenarioSample x;
                size_t len;

                CHECK_INT(scenario_sample(s, t, 1, &x), 0);
                x.basic.time = 1700000000u + (uint32_t)t;
                len = ge_s5_build_displ_record(&x.basic, record, sizeof(record));
                CHECK_INT(len, GE_S5_DISPL_RECORD_LEN);
                last_nibp_flags = 0;
                CHECK_INT(ge_s5_decode_record(record, len, &state, on_reading, NULL),
                          GE_S5_RECORD_PHDB);
                if (last_nibp_flags & READING_FLAG_NEW_MEASUREMENT)
                        new_nibp++;
        }
        CHECK_DBL(last_hr, 72, 1e-9);
        CHECK_DBL(last_spo2, 98, 1e-9);
        CHECK_DBL(last_nibp_sys, 120, 1e-9);
        /* Cuff at 0:00, 5:00, 10:00: three results, never a repeat counted. */
        CHECK_INT(new_nibp, 3);
        CHECK(readings_seen > 0);
        scenario_free(s);
}

TEST(modbus_fault_windows_and_drop)
{
        Scenario *s = parse_ok("end 2:00\n"
                               "at 0:00 hr 72\n"
                               "at 0:10 exception 2 for 0:05\n"
                               "at 0:12 exception 11 for 0:01\n"
                               "at 0:20 delay 1.5 for 0:05\n"
                               "at 0:30 bad-crc for 0:05\n"
                               "at 0:40 drop\n"
                               "at 1:00 exception 4\n");
        ScenarioSample x;
        const ScenarioEvent *ev;
        size_t n;

        if (!s)
                return;
        x = sample_at(s, 5);
        CHECK_INT(x.modbus_exception, 0);
        CHECK(x.modbus_delay_s == 0 && !x.modbus_bad_crc);
        CHECK_INT(sample_at(s, 10).modbus_exception, 2);
        CHECK_INT(sample_at(s, 12.5).modbus_exception, 11); /* the later window wins */
        CHECK_INT(sample_at(s, 14).modbus_exception, 2);
        CHECK_INT(sample_at(s, 15).modbus_exception, 0);
        CHECK_DBL(sample_at(s, 22).modbus_delay_s, 1.5, 1e-9);
        CHECK_DBL(sample_at(s, 25).modbus_delay_s, 0, 1e-9);
        CHECK(sample_at(s, 31).modbus_bad_crc);
        CHECK(!sample_at(s, 35).modbus_bad_crc);
        /* Without "for": until the end, and frozen after it. */
        CHECK_INT(sample_at(s, 90).modbus_exception, 4);
        CHECK_INT(sample_at(s, 500).modbus_exception, 4);
        /* The faults leave the monitor's values alone. */
        CHECK_INT(sample_at(s, 12).basic.ecg_hr, 72);

        ev = scenario_events(s, &n);
        CHECK_INT(n, 1);
        if (n == 1) {
                CHECK_INT(ev[0].type, SCENARIO_EVENT_DROP);
                CHECK_DBL(ev[0].time_s, 40, 1e-9);
        }
        scenario_free(s);

        static const struct {
                const char *text, *error;
        } rows[] = {
            {"end 1:00\nat 0:00 hr 72\nat 0:10 exception 0\n",
             "test.scn:3: exception: expected a Modbus exception code"},
            {"end 1:00\nat 0:00 hr 72\nat 0:10 exception 256\n", "test.scn:3: exception:"},
            {"end 1:00\nat 0:00 hr 72\nat 0:10 delay\n", "test.scn:3: delay: expected"},
            {"end 1:00\nat 0:00 hr 72\nat 0:10 delay 2m\n", "test.scn:3: delay: expected"},
            {"end 1:00\nat 0:00 hr 72\nat 0:10 drop for 0:05\n",
             "test.scn:3: 'for' does not apply to drop"},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                char error[512] = "";
                Scenario *bad = NULL;

                CHECK_INT(scenario_parse(rows[i].text, "test.scn", &bad, error, sizeof(error)),
                          -EINVAL);
                if (!strstr(error, rows[i].error))
                        fprintf(stderr, "row %zu: got \"%s\", expected \"%s\"\n", i, error,
                                rows[i].error);
                CHECK(strstr(error, rows[i].error) != NULL);
                scenario_free(bad);
        }
}

static unsigned spo2_seen, hr_seen;

static void count_reading(void *userdata, const Reading *r)
{
        if (strcmp(r->parameter, "SPO2") == 0)
                spo2_seen++;
        if (strcmp(r->parameter, "HR") == 0)
                hr_seen++;
}

/* module-off: the parameter is absent from the record, not "sensor off";
 * through the real codec no reading of it comes out at all. */
TEST(module_off_leaves_the_parameter_out_of_the_record)
{
        Scenario *s = parse_ok("end 5:00\n"
                               "at 0:00 hr 76 spo2 97\n"
                               "at 1:00 module-off spo2 for 0:30\n"
                               "at 2:00 module-off ecg\n"
                               "at 2:20 sensor-on ecg\n"
                               "at 2:40 module-on ecg\n");
        GeS5DecodeState state = {0};
        uint8_t record[GE_S5_DISPL_RECORD_LEN];
        ScenarioSample x;

        if (!s)
                return;
        x = sample_at(s, 60);
        CHECK_INT(x.basic.spo2_status, 0);
        CHECK_INT(x.basic.ecg_hr, 76);
        CHECK_INT(sample_at(s, 90).basic.spo2, 9700);
        /* sensor-on does not end a module-off; module-on does. */
        CHECK_INT(sample_at(s, 150).basic.ecg_hr, GE_S5_DATA_INVALID);
        CHECK_INT(sample_at(s, 160).basic.ecg_hr, 76);

        spo2_seen = hr_seen = 0;
        for (double t = 55; t < 95; t += scenario_interval_s(s)) {
                size_t len;

                CHECK_INT(scenario_sample(s, t, 1, &x), 0);
                len = ge_s5_build_displ_record(&x.basic, record, sizeof(record));
                CHECK_INT(ge_s5_decode_record(record, len, &state, count_reading, NULL),
                          GE_S5_RECORD_PHDB);
        }
        /* Records at 55 ... 90 s: SpO2 out from 60 to 90. */
        CHECK_INT(hr_seen, 8);
        CHECK_INT(spo2_seen, 2);
        scenario_free(s);
}

int main(int argc, char *argv[])
{
        if (argc < 2)
                SKIP_ALL("usage: test-scenario SCENARIO_DIR");
        scenario_dir = argv[1];

        RUN(shipped_scenarios_all_parse);
        RUN(times_in_every_spelling);
        RUN(bad_lines_are_named_by_file_and_line);
        RUN(settings_comments_and_spellings);
        RUN(ramps_interpolate_linearly_then_hold);
        RUN(desaturation_window_returns_to_the_ramp);
        RUN(nibp_measures_then_repeats_like_an_s5);
        RUN(nibp_cycles_auto_overlap_and_stale);
        RUN(sensor_off_silence_and_hangup_windows);
        RUN(events_sorted_and_repeated);
        RUN(note_keeps_the_rest_of_the_line);
        RUN(noise_is_bounded_and_repeatable);
        RUN(after_the_end_values_freeze);
        RUN(steady_scenario_round_trips_through_the_codec);
        RUN(modbus_fault_windows_and_drop);
        RUN(module_off_leaves_the_parameter_out_of_the_record);
        return testlib_finish();
}
