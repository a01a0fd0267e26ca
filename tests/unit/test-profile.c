/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-profile.c — alarm profiles: the shipped ketamine-infusion profile
 * says what DESIGN.md says, and every kind of mistake in a profile is an
 * error that names its line and key.
 *
 * Argument: the shipped profiles directory (config/profiles).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alarm.h"
#include "profile.h"
#include "testlib.h"

#define USEC 1000000ULL
#define NS 1000000000LL

static const char *shipped_dir = "config/profiles";
static char tmp_dir[] = "/tmp/test-profile-XXXXXX";

/* ---- the shipped profile --------------------------------------------------- */

typedef struct ExpectRule {
        const char *condition, *parameter;
        bool above;
        double limit;
        AlarmPriority priority;
        double on_delay_s, off_delay_s, hysteresis;
} ExpectRule;

/* DESIGN.md "Alarm engine", plus the hysteresis and off-delays the profile
 * documents. */
static const ExpectRule ketamine_rules[] = {
        {"SPO2_LOW", "SPO2", false, 92, ALARM_PRIO_MEDIUM, 10, 5, 1},
        {"SPO2_DESAT", "SPO2", false, 88, ALARM_PRIO_HIGH, 0, 5, 1},
        {"HR_HIGH", "HR", true, 120, ALARM_PRIO_MEDIUM, 10, 5, 5},
        {"HR_LOW", "HR", false, 50, ALARM_PRIO_MEDIUM, 10, 5, 5},
        {"NIBP_SYS_HIGH", "NIBP_SYS", true, 180, ALARM_PRIO_HIGH, 0, 0, 0},
        {"NIBP_SYS_ELEVATED", "NIBP_SYS", true, 160, ALARM_PRIO_MEDIUM, 0, 0, 0},
        {"NIBP_DIA_HIGH", "NIBP_DIA", true, 110, ALARM_PRIO_HIGH, 0, 0, 0},
        {"NIBP_DIA_ELEVATED", "NIBP_DIA", true, 100, ALARM_PRIO_MEDIUM, 0, 0, 0},
        {"NIBP_SYS_LOW", "NIBP_SYS", false, 90, ALARM_PRIO_MEDIUM, 0, 0, 0},
};

TEST(shipped_ketamine_profile_has_the_design_values)
{
        static AlarmProfile p;
        size_t n = sizeof(ketamine_rules) / sizeof(ketamine_rules[0]);

        CHECK_INT(profile_load(shipped_dir, "ketamine-infusion", &p), 0);
        CHECK_STR(p.name, "ketamine-infusion");
        CHECK(strstr(p.description, "medical director") != NULL);
        CHECK_INT(p.n_rules, n);
        for (size_t i = 0; i < n && i < p.n_rules; i++) {
                const ExpectRule *x = &ketamine_rules[i];
                const AlarmRule *r = &p.rules[i];
                CHECK_STR(r->condition, x->condition);
                CHECK_STR(r->parameter, x->parameter);
                CHECK_INT(r->above, x->above);
                CHECK_DBL(r->limit, x->limit, 0);
                CHECK_INT(r->priority, x->priority);
                CHECK_INT(r->on_delay_usec, (uint64_t)(x->on_delay_s * USEC));
                CHECK_INT(r->off_delay_usec, (uint64_t)(x->off_delay_s * USEC));
                CHECK_DBL(r->hysteresis, x->hysteresis, 0);
        }
        CHECK_INT(p.no_data_usec, 30 * USEC);
        CHECK_INT(p.no_data_priority, ALARM_PRIO_HIGH);
        CHECK_INT(p.sensor_off_delay_usec, 10 * USEC);
        CHECK_INT(p.no_data_periods, 3);
        CHECK_INT(p.param_no_data_priority, ALARM_PRIO_MEDIUM);
        CHECK_INT(p.nibp_cycle_usec, 300 * USEC);
        CHECK_INT(p.nibp_grace_usec, 60 * USEC);
        CHECK_INT(p.nibp_overdue_priority, ALARM_PRIO_LOW);
        CHECK_INT(p.reminder_usec, 180 * USEC);
        CHECK_INT(p.escalate_usec, 120 * USEC);
        CHECK_INT(p.silence_max_usec, 120 * USEC);
        CHECK(p.latch[ALARM_PRIO_HIGH]);
        CHECK(!p.latch[ALARM_PRIO_MEDIUM]);
        CHECK(!p.latch[ALARM_PRIO_LOW]);
}

TEST(shipped_profiles_directory_checks_clean)
{
        CHECK_INT(profile_check_dir(shipped_dir), 0);
        CHECK_INT(profile_check_dir("/nonexistent/profiles"), -ENOENT);
}

typedef struct Seen {
        char condition[ALARM_CONDITION_MAX];
        char state[24];
        AlarmPriority prio;
        int64_t mono_ns;
} Seen;

static Seen seen[16];
static size_t n_seen;

static void record(void *userdata, const AlarmEvent *ev)
{
        if (n_seen >= 16)
                return;
        snprintf(seen[n_seen].condition, sizeof(seen[0].condition), "%s", ev->condition);
        snprintf(seen[n_seen].state, sizeof(seen[0].state), "%s", ev->state);
        seen[n_seen].prio = ev->priority;
        seen[n_seen].mono_ns = ev->mono_ns;
        n_seen++;
}

static void feed(AlarmBed *b, double t, const char *param, double v, uint32_t flags)
{
        Reading r = {.value = v, .status = READING_VALID, .flags = flags};
        int64_t ns = llround(t * 1e9);

        reading_set_name(&r, param, "");
        alarm_bed_reading(b, &r, ns, ns);
}

TEST(shipped_profile_drives_the_engine)
{
        static AlarmProfile p;
        AlarmEngine *e = alarm_engine_new(record, NULL, 1);
        AlarmBed *b = alarm_bed_get(e, "chair-1");

        CHECK_INT(profile_load(shipped_dir, "ketamine-infusion", &p), 0);
        alarm_bed_set_profile(b, &p);
        n_seen = 0;

        feed(b, 0, "SPO2", 87, 0); /* desaturation: at once, high */
        feed(b, 1, "NIBP_SYS", 185, READING_FLAG_NEW_MEASUREMENT);
        for (int t = 2; t <= 8; t++)
                feed(b, t, "SPO2", 97, 0); /* desat ends at 7 and latches (high) */
        CHECK_INT(n_seen, 4);
        CHECK_STR(seen[0].condition, "SPO2_DESAT");
        CHECK_INT(seen[0].prio, ALARM_PRIO_HIGH);
        CHECK_STR(seen[1].condition, "NIBP_SYS_HIGH");
        CHECK_STR(seen[2].condition, "NIBP_SYS_ELEVATED");
        CHECK_STR(seen[3].condition, "SPO2_DESAT");
        CHECK_STR(seen[3].state, "latched");
        CHECK_INT(seen[3].mono_ns, 7 * NS);
        alarm_engine_free(e);
}

/* ---- mistakes ---------------------------------------------------------------- */

#define RULE_OK "parameter = SPO2\nbelow = 92\npriority = medium\n"

typedef struct BadProfile {
        const char *what;
        const char *text;
        unsigned line;
        const char *key; /* "" when the error names no key */
        const char *message_part;
} BadProfile;

static const BadProfile bad_profiles[] = {
        {"unknown key in [profile]", "[profile]\nreminders = 180\n[rule A]\n" RULE_OK, 2,
         "reminders", "unknown key"},
        {"unknown section", "[rules A]\n" RULE_OK, 1, "", "unknown section [rules A]"},
        {"a limit that is not a number", "[rule A]\nparameter = SPO2\nbelow = ninety\n", 3,
         "below", "must be a number"},
        {"an inline # comment is not a comment", "[rule A]\nparameter = SPO2\nbelow = 92 # low\n",
         3, "below", "must be a number"},
        {"a parameter not in the catalogue", "[rule A]\nparameter = SP02\nbelow = 92\n", 2,
         "parameter", "unknown parameter \"SP02\""},
        {"a rule without a parameter", "[profile]\nreminder = 180\n\n[rule A]\nbelow = 90\n"
                                       "priority = high\n",
         4, "parameter", "needs parameter"},
        {"a rule without a limit", "[rule A]\nparameter = SPO2\npriority = high\n", 1, "below",
         "needs above = LIMIT or below = LIMIT"},
        {"a rule without a priority", "[rule A]\nparameter = SPO2\nbelow = 92\n", 1, "priority",
         "needs priority"},
        {"a rule with both above and below", "[rule A]\n" RULE_OK "above = 100\n", 5, "above",
         "one limit"},
        {"an unknown priority", "[rule A]\nparameter = SPO2\nbelow = 92\npriority = urgent\n", 4,
         "priority", "high, medium or low"},
        {"silence_max above 120 s", "[profile]\nsilence_max = 121\n[rule A]\n" RULE_OK, 2,
         "silence_max", "between 1 and 120"},
        {"no_data_timeout above 30 s", "[profile]\nno_data_timeout = 31\n[rule A]\n" RULE_OK, 2,
         "no_data_timeout", "between 1 and 30"},
        {"an NIBP cycle shorter than a minute", "[profile]\nnibp_cycle = 30\n[rule A]\n" RULE_OK,
         2, "nibp_cycle", "0 (off)"},
        {"a parameter no-data check of one period (jitter, not a loss)",
         "[profile]\nparameter_no_data_periods = 1\n[rule A]\n" RULE_OK, 2,
         "parameter_no_data_periods", "between 2 and 20"},
        {"a parameter no-data check of 2.5 periods",
         "[profile]\nparameter_no_data_periods = 2.5\n[rule A]\n" RULE_OK, 2,
         "parameter_no_data_periods", "whole number"},
        {"a rule named after a per-parameter technical condition", "[rule NO_DATA_SPO2]\n" RULE_OK,
         1, "", "technical condition"},
        {"a rule named CLOCK_JUMP", "[rule CLOCK_JUMP]\n" RULE_OK, 1, "", "technical condition"},
        {"latch that is not yes or no", "[profile]\nlatch_high = maybe\n[rule A]\n" RULE_OK, 2,
         "latch_high", "yes or no"},
        {"a negative hysteresis", "[rule A]\n" RULE_OK "hysteresis = -1\n", 5, "hysteresis",
         "between 0 and 1000"},
        {"an on-delay past 600 s", "[rule A]\n" RULE_OK "on_delay = 601\n", 5, "on_delay",
         "between 0 and 600"},
        {"a key set twice", "[rule A]\n" RULE_OK "priority = high\n", 5, "priority",
         "set twice in [rule A] (first on line 4)"},
        {"a rule defined twice", "[rule A]\n" RULE_OK "\n[rule A]\n" RULE_OK, 6, "",
         "[rule A] defined twice (first on line 1)"},
        {"[profile] twice", "[profile]\n[rule A]\n" RULE_OK "[profile]\n", 6, "",
         "[profile] defined twice"},
        {"an on-delay on NIBP, which is judged per measurement",
         "[rule A]\nparameter = NIBP_SYS\non_delay = 10\nabove = 180\npriority = high\n", 3,
         "on_delay", "judged per measurement"},
        {"a rule named after a technical condition", "[rule NO_DATA]\n" RULE_OK, 1, "",
         "technical condition"},
        {"a rule name in lower case", "[rule spo2_low]\n" RULE_OK, 1, "", "condition name"},
        {"a key before any section", "reminder = 180\n[rule A]\n" RULE_OK, 1, "reminder",
         "outside a section"},
        {"a line without =", "[rule A]\nparameter SPO2\n", 2, "", "syntax error"},
        {"a profile without rules", "[profile]\nreminder = 100\n", 2, "", "no [rule NAME]"},
        {"a line longer than 198 characters",
         "[rule A]\n" RULE_OK "# "
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
         5, "", "line too long"},
};

static int write_file(const char *name, const char *text, char *path, size_t size)
{
        FILE *f;

        snprintf(path, size, "%s/%s", tmp_dir, name);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(text, f);
        fclose(f);
        return 0;
}

TEST(mistakes_are_errors_naming_line_and_key)
{
        for (size_t i = 0; i < sizeof(bad_profiles) / sizeof(bad_profiles[0]); i++) {
                const BadProfile *bp = &bad_profiles[i];
                static AlarmProfile p;
                ProfileDiag diag;
                char path[512];
                int before = testlib_failures;

                CHECK_INT(write_file("bad.conf", bp->text, path, sizeof(path)), 0);
                CHECK_INT(profile_load_file(path, &p, &diag), -EINVAL);
                CHECK(diag.n_errors >= 1);
                CHECK_INT(diag.first_line, bp->line);
                CHECK_STR(diag.first_key, bp->key);
                CHECK(strstr(diag.first_message, bp->message_part) != NULL);
                if (testlib_failures != before)
                        fprintf(stderr, "  in case: %s (got %u:%s: %s)\n", bp->what,
                                diag.first_line, diag.first_key, diag.first_message);
                unlink(path);
        }
}

TEST(blanks_bom_crlf_and_semicolon_comments_are_fine)
{
        static AlarmProfile p;
        char path[512];
        const char *text = "\xEF\xBB\xBF# a profile\r\n"
                           "[profile]\r\n"
                           "  description = indented keys are fine ; with a comment\r\n"
                           "\tescalate = 90\r\n"
                           "parameter_no_data_periods = 0\r\n"
                           "[ rule HR_HIGH ]\r\n"
                           "    parameter = HR\r\n"
                           "    above = 120.5\r\n"
                           "    priority = low\r\n"
                           "    on_delay = 2.5\r\n";

        CHECK_INT(write_file("good.conf", text, path, sizeof(path)), 0);
        CHECK_INT(profile_load_file(path, &p, NULL), 0);
        CHECK_STR(p.name, "good");
        CHECK_STR(p.description, "indented keys are fine");
        CHECK_INT(p.escalate_usec, 90 * USEC);
        CHECK_INT(p.no_data_periods, 0);
        CHECK_INT(p.n_rules, 1);
        CHECK_STR(p.rules[0].condition, "HR_HIGH");
        CHECK_DBL(p.rules[0].limit, 120.5, 0);
        CHECK_INT(p.rules[0].priority, ALARM_PRIO_LOW);
        CHECK_INT(p.rules[0].on_delay_usec, 2500000);
        /* Defaults for what the file does not say. */
        CHECK_INT(p.reminder_usec, 180 * USEC);
        CHECK_INT(p.silence_max_usec, 120 * USEC);
        CHECK(!p.latch[ALARM_PRIO_HIGH]);
        unlink(path);
}

TEST(profile_names_and_directories)
{
        static AlarmProfile p;
        char path[512];

        CHECK_INT(profile_load(shipped_dir, "../vitalsd", &p), -EINVAL);
        CHECK_INT(profile_load(shipped_dir, "", &p), -EINVAL);
        CHECK_INT(profile_load(shipped_dir, "no-such-profile", &p), -ENOENT);
        CHECK(profile_name_valid("ketamine-infusion"));
        CHECK(!profile_name_valid(".hidden"));

        /* One bad file makes the directory check fail. */
        CHECK_INT(write_file("fine.conf", "[rule A]\n" RULE_OK, path, sizeof(path)), 0);
        CHECK_INT(profile_check_dir(tmp_dir), 0);
        CHECK_INT(write_file("broken.conf", "[rule A]\nparameter = SPO2\n", path, sizeof(path)),
                  0);
        CHECK_INT(profile_check_dir(tmp_dir), -EINVAL);
        unlink(path);
        snprintf(path, sizeof(path), "%s/fine.conf", tmp_dir);
        unlink(path);
}

int main(int argc, char **argv)
{
        if (argc > 1)
                shipped_dir = argv[1];
        if (!mkdtemp(tmp_dir)) {
                perror("mkdtemp");
                return 1;
        }
        RUN(shipped_ketamine_profile_has_the_design_values);
        RUN(shipped_profiles_directory_checks_clean);
        RUN(shipped_profile_drives_the_engine);
        RUN(mistakes_are_errors_naming_line_and_key);
        RUN(blanks_bom_crlf_and_semicolon_comments_are_fine);
        RUN(profile_names_and_directories);
        rmdir(tmp_dir);
        return testlib_finish();
}
