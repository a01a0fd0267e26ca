/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-alarm.c — the alarm state machine, one scenario per row.
 *
 * A scenario is a list of inputs at times in seconds (readings, series of
 * readings one second apart, session changes, acks, silences, technical
 * conditions) and the list of events it must produce, in order, with their
 * times.  The runner ticks the engine every 0.1 s between inputs (an input
 * at a tick's time goes first), so "at exactly t0 + 10 s" means exactly.
 * The profile is the shipped ketamine-infusion one, spelled out in code
 * (test-profile.c checks that the file says the same), with latching off
 * unless a row turns it on.  The runner also hands the engine a pair of
 * clocks every tick (alarm_engine_clock()); a CLOCK row steps the wall clock.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarm.h"
#include "testlib.h"

#define NS 1000000000LL
#define WALL0 1767268800000000000LL /* 2026-01-01T12:00:00Z */
#define TICK_NS (NS / 10)
#define USEC 1000000ULL
#define NURSE "nurse.jo"

/* ---- the profile ---------------------------------------------------------- */

static void rule(AlarmProfile *p, const char *cond, const char *param, bool above, double limit,
                 AlarmPriority prio, double on_s, double off_s, double hyst)
{
        AlarmRule *r = &p->rules[p->n_rules++];

        snprintf(r->condition, sizeof(r->condition), "%s", cond);
        snprintf(r->parameter, sizeof(r->parameter), "%s", param);
        r->above = above;
        r->limit = limit;
        r->priority = prio;
        r->on_delay_usec = (uint64_t)(on_s * 1e6);
        r->off_delay_usec = (uint64_t)(off_s * 1e6);
        r->hysteresis = hyst;
}

static void ketamine_profile(AlarmProfile *p)
{
        alarm_profile_init(p);
        snprintf(p->name, sizeof(p->name), "ketamine-infusion");
        rule(p, "SPO2_LOW", "SPO2", false, 92, ALARM_PRIO_MEDIUM, 10, 5, 1);
        rule(p, "SPO2_DESAT", "SPO2", false, 88, ALARM_PRIO_HIGH, 0, 5, 1);
        rule(p, "HR_HIGH", "HR", true, 120, ALARM_PRIO_MEDIUM, 10, 5, 5);
        rule(p, "HR_LOW", "HR", false, 50, ALARM_PRIO_MEDIUM, 10, 5, 5);
        rule(p, "NIBP_SYS_HIGH", "NIBP_SYS", true, 180, ALARM_PRIO_HIGH, 0, 0, 0);
        rule(p, "NIBP_SYS_ELEVATED", "NIBP_SYS", true, 160, ALARM_PRIO_MEDIUM, 0, 0, 0);
        rule(p, "NIBP_DIA_HIGH", "NIBP_DIA", true, 110, ALARM_PRIO_HIGH, 0, 0, 0);
        rule(p, "NIBP_DIA_ELEVATED", "NIBP_DIA", true, 100, ALARM_PRIO_MEDIUM, 0, 0, 0);
        rule(p, "NIBP_SYS_LOW", "NIBP_SYS", false, 90, ALARM_PRIO_MEDIUM, 0, 0, 0);
}

static void latch_high(AlarmProfile *p)
{
        p->latch[ALARM_PRIO_HIGH] = true;
}

static void latch_medium(AlarmProfile *p)
{
        p->latch[ALARM_PRIO_MEDIUM] = true;
}

static void no_parameter_no_data(AlarmProfile *p)
{
        p->no_data_periods = 0;
}

static void hr_high_is_low(AlarmProfile *p)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (strcmp(p->rules[i].condition, "HR_HIGH") == 0)
                        p->rules[i].priority = ALARM_PRIO_LOW;
}

/* ---- scenario tables ---------------------------------------------------- */

typedef enum InputKind {
        IN_END,
        IN_READ,
        IN_SERIES, /* readings from t to t_end, every `every` seconds */
        IN_SESSION,
        IN_ACK,    /* acknowledge the occurrence of the last event of `name` */
        IN_ACK_ID, /* acknowledge id `value` */
        IN_SILENCE,
        IN_TECH,
        IN_PERIOD, /* declare parameter `name` reported every `value` seconds */
        IN_CLOCK,  /* the wall clock steps by `value` seconds */
} InputKind;

typedef struct Input {
        InputKind kind;
        double t;
        const char *name; /* parameter, condition, phase */
        double value;     /* reading value, silence seconds, ack id */
        ReadingStatus status;
        uint32_t flags;
        double t_end, every;
        int rc; /* expected return of ack / silence / technical */
        AlarmPriority prio;
        bool on; /* session open, technical present */
        const char *bed;
} Input;

typedef struct Expect {
        double t;
        const char *condition;
        const char *state;
        int prio;     /* AlarmPriority, or -1: not checked */
        int announce; /* 0, 1, or -1: not checked */
} Expect;

typedef struct Scenario {
        const char *name;
        void (*tweak)(AlarmProfile *p);
        double until;
        Input in[20];
        Expect out[12];
} Scenario;

#define READ(T, P, V) {.kind = IN_READ, .t = (T), .name = (P), .value = (V)}
#define READ_ST(T, P, V, ST, FL)                                                                  \
        {.kind = IN_READ, .t = (T), .name = (P), .value = (V), .status = (ST), .flags = (FL)}
#define NIBP(T, P, V)                                                                              \
        {.kind = IN_READ, .t = (T), .name = (P), .value = (V),                                     \
         .flags = READING_FLAG_NEW_MEASUREMENT}
#define NIBP_REPEAT(T, P, V) {.kind = IN_READ, .t = (T), .name = (P), .value = (V)}
#define SERIES(T0, T1, P, V)                                                                       \
        {.kind = IN_SERIES, .t = (T0), .t_end = (T1), .every = 1, .name = (P), .value = (V)}
#define SERIES_EVERY(T0, T1, STEP, P, V)                                                           \
        {.kind = IN_SERIES, .t = (T0), .t_end = (T1), .every = (STEP), .name = (P), .value = (V)}
#define SERIES_ST(T0, T1, P, V, ST, FL)                                                            \
        {.kind = IN_SERIES, .t = (T0), .t_end = (T1), .every = 1, .name = (P), .value = (V),     \
         .status = (ST), .flags = (FL)}
#define SESSION(T, ON, PHASE) {.kind = IN_SESSION, .t = (T), .on = (ON), .name = (PHASE)}
#define ACK(T, COND, RC) {.kind = IN_ACK, .t = (T), .name = (COND), .rc = (RC)}
#define ACK_ID(T, ID, RC) {.kind = IN_ACK_ID, .t = (T), .value = (ID), .rc = (RC)}
#define SILENCE(T, SECONDS, RC) {.kind = IN_SILENCE, .t = (T), .value = (SECONDS), .rc = (RC)}
#define TECH(T, COND, PRIO, ON)                                                                    \
        {.kind = IN_TECH, .t = (T), .name = (COND), .prio = (PRIO), .on = (ON)}
#define PERIOD(T, P, SECONDS) {.kind = IN_PERIOD, .t = (T), .name = (P), .value = (SECONDS)}
#define CLOCK(T, STEP) {.kind = IN_CLOCK, .t = (T), .value = (STEP)}
/* A GE S/5 at its default rate: HR, SpO2 and PR every 5 s. */
#define GE_PERIODS(T) PERIOD(T, "HR", 5), PERIOD(T, "SPO2", 5), PERIOD(T, "PR", 5)

#define EV(T, C, S) {(T), (C), (S), -1, -1}
#define EVP(T, C, S, P, A) {(T), (C), (S), (P), (A)}

#define LOW ALARM_PRIO_LOW
#define MEDIUM ALARM_PRIO_MEDIUM
#define HIGH ALARM_PRIO_HIGH
#define SILENCE_COND ALARM_COND_AUDIO_SILENCE

static const Scenario scenarios[] = {
        /* Limits and on-delays. */
        {"SpO2 exactly at the limit (92.0) never alarms", NULL, 70,
         {SERIES(0, 60, "SPO2", 92.0)},
         {{0}}},
        {"SpO2 one step past the limit (91.99) alarms after the 10 s on-delay", NULL, 25,
         {SERIES(0, 20, "SPO2", 91.99)},
         {EVP(10, "SPO2_LOW", "active", MEDIUM, 1)}},
        {"a dip of 9.9 s is not an alarm", NULL, 40,
         {SERIES(5, 14, "SPO2", 91), READ(14.9, "SPO2", 95), SERIES(15, 30, "SPO2", 95)},
         {{0}}},
        {"a dip of 10.0 s alarms at exactly t0 + 10 s, and clears after the 5 s off-delay", NULL,
         30,
         {SERIES(5, 14, "SPO2", 91), READ(15.5, "SPO2", 95), SERIES(16, 25, "SPO2", 95)},
         {EVP(15, "SPO2_LOW", "active", MEDIUM, 1), EV(20.5, "SPO2_LOW", "inactive")}},
        {"HR exactly at the upper limit (120) never alarms", NULL, 40,
         {SERIES(0, 30, "HR", 120)},
         {{0}}},
        {"HR one step past the upper limit (121) alarms after the 10 s on-delay", NULL, 15,
         {SERIES(0, 15, "HR", 121)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1)}},
        {"HR exactly at the lower limit (50) never alarms; 49 alarms after 10 s", NULL, 45,
         {SERIES(0, 20, "HR", 50), SERIES(21, 40, "HR", 49)},
         {EVP(31, "HR_LOW", "active", MEDIUM, 1)}},

        /* Hysteresis and off-delay. */
        {"hysteresis: 92.9 keeps an active SpO2 alarm, 93.0 clears it after the off-delay", NULL,
         55,
         {SERIES(0, 10, "SPO2", 91), SERIES(11, 40, "SPO2", 92.9), SERIES(41, 50, "SPO2", 93.0)},
         {EV(10, "SPO2_LOW", "active"), EV(46, "SPO2_LOW", "inactive")}},
        {"a value hovering 91.5/92.5 around the limit never becomes an alarm", NULL, 125,
         {SERIES_EVERY(0, 118, 2, "SPO2", 91.5), SERIES_EVERY(1, 119, 2, "SPO2", 92.5)},
         {{0}}},
        {"a value hovering 91.5/92.5 after an alarm keeps one alarm, no flapping", NULL, 100,
         {SERIES(0, 10, "SPO2", 91), SERIES_EVERY(11, 99, 2, "SPO2", 91.5),
          SERIES_EVERY(12, 98, 2, "SPO2", 92.5)},
         {EV(10, "SPO2_LOW", "active")}},
        {"hysteresis above: 115.1 keeps an active HR alarm, 115 clears it after the off-delay",
         NULL, 45,
         {SERIES(0, 10, "HR", 125), SERIES(11, 30, "HR", 115.1), SERIES(31, 40, "HR", 115)},
         {EV(10, "HR_HIGH", "active"), EV(36, "HR_HIGH", "inactive")}},
        {"back in range for 4.9 s is not enough to clear (off-delay edge)", NULL, 30,
         {SERIES(0, 10, "SPO2", 91), READ(11, "SPO2", 95), READ(15.9, "SPO2", 91),
          SERIES(16, 25, "SPO2", 91)},
         {EV(10, "SPO2_LOW", "active")}},
        {"the off-delay starts again when the value returns into the hysteresis band", NULL, 30,
         {SERIES(0, 10, "SPO2", 91), SERIES(11, 13, "SPO2", 95), READ(14, "SPO2", 92.5),
          SERIES(15, 25, "SPO2", 95)},
         {EV(10, "SPO2_LOW", "active"), EV(20, "SPO2_LOW", "inactive")}},

        /* Desaturation: no delay. */
        {"desaturation below 88 % alarms high on the first reading", NULL, 25,
         {SERIES(0, 2, "SPO2", 97), READ(3, "SPO2", 87.9), READ(4, "SPO2", 87.5),
          SERIES(5, 20, "SPO2", 97)},
         {EVP(3, "SPO2_DESAT", "active", HIGH, 1), EV(10, "SPO2_DESAT", "inactive")}},
        {"SpO2 exactly 88 % is not a desaturation", NULL, 9,
         {SERIES(0, 8, "SPO2", 88.0)},
         {{0}}},

        /* NIBP: per measurement. */
        {"NIBP systolic 185 raises both the > 160 medium and the > 180 high rule at once", NULL,
         5,
         {NIBP(0, "NIBP_SYS", 185)},
         {EVP(0, "NIBP_SYS_HIGH", "active", HIGH, 1),
          EVP(0, "NIBP_SYS_ELEVATED", "active", MEDIUM, 1)}},
        {"NIBP repeats and failed measurements are ignored; the next measurement decides", NULL,
         125,
         {NIBP(0, "NIBP_SYS", 170), NIBP_REPEAT(30, "NIBP_SYS", 170),
          NIBP_REPEAT(60, "NIBP_SYS", 150),
          READ_ST(75, "NIBP_SYS", 0, READING_UNAVAILABLE, READING_FLAG_NEW_MEASUREMENT),
          NIBP(90, "NIBP_SYS", 150), NIBP(120, "NIBP_SYS", 185)},
         {EV(0, "NIBP_SYS_ELEVATED", "active"), EV(90, "NIBP_SYS_ELEVATED", "inactive"),
          EV(120, "NIBP_SYS_HIGH", "active"), EV(120, "NIBP_SYS_ELEVATED", "active")}},
        {"NIBP systolic exactly 180 is elevated, not high; 181 is high", NULL, 15,
         {NIBP(0, "NIBP_SYS", 180), NIBP(10, "NIBP_SYS", 181)},
         {EVP(0, "NIBP_SYS_ELEVATED", "active", MEDIUM, 1),
          EVP(10, "NIBP_SYS_HIGH", "active", HIGH, 1)}},
        {"NIBP systolic exactly 90 is not low; 89 is", NULL, 15,
         {NIBP(0, "NIBP_SYS", 90), NIBP(10, "NIBP_SYS", 89)},
         {EVP(10, "NIBP_SYS_LOW", "active", MEDIUM, 1)}},
        {"NIBP diastolic 105 is medium, systolic 85 is low-pressure medium", NULL, 5,
         {NIBP(0, "NIBP_DIA", 105), NIBP(1, "NIBP_SYS", 85)},
         {EVP(0, "NIBP_DIA_ELEVATED", "active", MEDIUM, 1),
          EVP(1, "NIBP_SYS_LOW", "active", MEDIUM, 1)}},

        /* Invalid readings: neither in nor out of range. */
        {"invalid readings neither complete nor reset a running on-delay", NULL, 11,
         {SERIES(0, 4, "SPO2", 91), SERIES_ST(5, 7, "SPO2", 0, READING_INVALID, 0),
          SERIES(8, 9, "SPO2", 91)},
         {EV(10, "SPO2_LOW", "active")}},
        {"no alarm while the latest SpO2 is unavailable; the next valid low value alarms", NULL,
         14,
         {SERIES(0, 4, "SPO2", 91), SERIES_ST(5, 12, "SPO2", 0, READING_UNAVAILABLE, 0),
          READ(13, "SPO2", 91)},
         {EV(13, "SPO2_LOW", "active")}},
        {"an in-range value after invalid ones ends the dip", NULL, 30,
         {SERIES(0, 4, "SPO2", 91), SERIES_ST(5, 12, "SPO2", 0, READING_INVALID, 0),
          SERIES(13, 25, "SPO2", 95)},
         {{0}}},
        {"invalid readings do not clear an active alarm", NULL, 70,
         {SERIES(0, 10, "SPO2", 91), SERIES_ST(11, 60, "SPO2", 0, READING_UNAVAILABLE, 0)},
         {EV(10, "SPO2_LOW", "active")}},
        {"questionable values are not judged", NULL, 40,
         {SERIES_ST(0, 30, "SPO2", 85, READING_QUESTIONABLE, 0)},
         {{0}}},

        /* Escalation. */
        {"an unacknowledged medium alarm escalates to high at exactly 120 s", NULL, 300,
         {SERIES(0, 280, "HR", 130)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1), EVP(130, "HR_HIGH", "escalated", HIGH, 1)}},
        {"a low alarm escalates one priority per period", hr_high_is_low, 400,
         {SERIES(0, 390, "HR", 130)},
         {EVP(10, "HR_HIGH", "active", LOW, 1), EVP(130, "HR_HIGH", "escalated", MEDIUM, 1),
          EVP(250, "HR_HIGH", "escalated", HIGH, 1)}},

        {"an alarm acknowledged 0.1 s before its escalation does not escalate", NULL, 200,
         {SERIES(0, 200, "HR", 130), ACK(129.9, "HR_HIGH", 0)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1), EVP(129.9, "HR_HIGH", "acknowledged", MEDIUM, 0)}},

        /* Acknowledgement and reminders. */
        {"an acknowledged alarm reminds every 180 s while present and never escalates", NULL, 400,
         {SERIES(0, 400, "HR", 130), ACK(20, "HR_HIGH", 0)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1), EVP(20, "HR_HIGH", "acknowledged", MEDIUM, 0),
          EVP(200, "HR_HIGH", "reminder", MEDIUM, 1), EVP(380, "HR_HIGH", "reminder", MEDIUM, 1)}},
        {"an acknowledged alarm ends when its condition does; acknowledging twice is EALREADY",
         NULL, 45,
         {SERIES(0, 30, "HR", 130), ACK(15, "HR_HIGH", 0), ACK(16, "HR_HIGH", -EALREADY),
          SERIES(31, 40, "HR", 80)},
         {EV(10, "HR_HIGH", "active"), EV(15, "HR_HIGH", "acknowledged"),
          EV(36, "HR_HIGH", "inactive")}},
        {"acknowledging an unknown alarm id is ENOENT", NULL, 10,
         {ACK_ID(5, 424242, -ENOENT)},
         {{0}}},

        /* Latching. */
        {"a latched high alarm stays latched after its condition ends, until acknowledged",
         latch_high, 100,
         {READ(0, "SPO2", 85), SERIES(1, 100, "SPO2", 97), ACK(60, "SPO2_DESAT", 0),
          ACK(70, "SPO2_DESAT", -ENOENT)},
         {EVP(0, "SPO2_DESAT", "active", HIGH, 1), EVP(6, "SPO2_DESAT", "latched", HIGH, 0),
          EVP(60, "SPO2_DESAT", "inactive", HIGH, 0)}},
        {"medium alarms do not latch when only high latches", latch_high, 30,
         {SERIES(0, 12, "HR", 130), SERIES(13, 25, "HR", 80)},
         {EV(10, "HR_HIGH", "active"), EV(18, "HR_HIGH", "inactive")}},

        /* Audio silence. */
        {"silence lasts 120 s when 300 s are asked; lower or equal alarms stay quiet", NULL, 150,
         {SERIES(0, 200, "HR", 130), SILENCE(20, 300, 0), SERIES(30, 45, "SPO2", 90)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1), EVP(20, SILENCE_COND, "silenced", MEDIUM, 0),
          EVP(40, "SPO2_LOW", "active", MEDIUM, 0), EVP(130, "HR_HIGH", "escalated", HIGH, 0),
          EVP(140, SILENCE_COND, "silence-ended", MEDIUM, 1)}},
        {"a new higher-priority condition breaks through the silence", NULL, 45,
         {SERIES(0, 40, "HR", 130), SILENCE(20, 120, 0), READ(30, "SPO2", 85)},
         {EVP(10, "HR_HIGH", "active", MEDIUM, 1), EV(20, SILENCE_COND, "silenced"),
          EVP(30, SILENCE_COND, "silence-broken", MEDIUM, 1),
          EVP(30, "SPO2_DESAT", "active", HIGH, 1), EVP(40, "SPO2_LOW", "active", MEDIUM, 1)}},
        {"a silence ends at exactly 120 s: an equal alarm at 139.9 is quiet, one at 140 rings",
         NULL, 145,
         {SERIES(0, 145, "HR", 130), ACK(12, "HR_HIGH", 0), SILENCE(20, 120, 0),
          READ(129.9, "SPO2", 91), SERIES(130, 145, "SPO2", 91), NIBP(140, "NIBP_DIA", 105)},
         {EV(10, "HR_HIGH", "active"), EV(12, "HR_HIGH", "acknowledged"),
          EVP(20, SILENCE_COND, "silenced", MEDIUM, 0), EVP(139.9, "SPO2_LOW", "active", MEDIUM, 0),
          EVP(140, SILENCE_COND, "silence-ended", MEDIUM, 1),
          EVP(140, "NIBP_DIA_ELEVATED", "active", MEDIUM, 1)}},
        {"with nothing present, any new condition breaks through a silence", NULL, 25,
         {SILENCE(0, 60, 0), SERIES(10, 25, "HR", 130)},
         {EVP(0, SILENCE_COND, "silenced", ALARM_PRIO_NONE, 0),
          EVP(20, SILENCE_COND, "silence-broken", ALARM_PRIO_NONE, 1),
          EVP(20, "HR_HIGH", "active", MEDIUM, 1)}},
        {"a reminder due during a silence waits for its end", NULL, 280,
         {SERIES(0, 280, "HR", 130), ACK(12, "HR_HIGH", 0), SILENCE(150, 120, 0)},
         {EV(10, "HR_HIGH", "active"), EV(12, "HR_HIGH", "acknowledged"),
          EV(150, SILENCE_COND, "silenced"),
          /* nothing unacknowledged: the end of the silence itself does not ring */
          EVP(270, SILENCE_COND, "silence-ended", MEDIUM, 0),
          EVP(270, "HR_HIGH", "reminder", MEDIUM, 1)}},

        /* Technical conditions. */
        {"no data for 30 s during a session raises NO_DATA high; the next reading clears it",
         NULL, 45,
         {SESSION(0, true, "baseline"), READ(1, "HR", 80), READ(40, "HR", 80)},
         {EVP(31, "NO_DATA", "active", HIGH, 1), EV(40, "NO_DATA", "inactive")}},
        {"NO_DATA with high latching stays latched after data returns", latch_high, 45,
         {SESSION(0, true, "baseline"), READ(40, "HR", 80)},
         {EV(30, "NO_DATA", "active"), EV(40, "NO_DATA", "latched")}},
        {"a reading 29.9 s after the last one keeps NO_DATA away", NULL, 90,
         {SESSION(0, true, "baseline"), READ(1, "HR", 80), READ(30.9, "HR", 80),
          READ(60.8, "HR", 80)},
         {{0}}},
        {"no NO_DATA without a session", NULL, 100,
         {READ(1, "HR", 80)},
         {{0}}},
        {"SpO2 unavailable for 10 s raises SENSOR_OFF_SPO2 medium; a valid value clears it", NULL,
         35,
         {SESSION(0, true, "baseline"), SERIES(0, 35, "HR", 80), SERIES(0, 4, "SPO2", 97),
          SERIES_ST(5, 30, "SPO2", 0, READING_UNAVAILABLE, 0), READ(31, "SPO2", 97)},
         {EVP(15, "SENSOR_OFF_SPO2", "active", MEDIUM, 1), EV(31, "SENSOR_OFF_SPO2", "inactive")}},
        {"the device's sensor-off flag counts as no valid value", NULL, 20,
         {SESSION(0, true, "baseline"), SERIES(0, 20, "HR", 80),
          SERIES_ST(0, 20, "SPO2", 97, READING_VALID, READING_FLAG_SENSOR_OFF)},
         {EV(10, "SENSOR_OFF_SPO2", "active")}},
        {"no SENSOR_OFF without a session", NULL, 40,
         {SERIES_ST(0, 30, "SPO2", 0, READING_UNAVAILABLE, 0)},
         {{0}}},
        {"NIBP_OVERDUE only in the infusion phase, after cycle + grace", NULL, 1300,
         {SESSION(0, true, "baseline"), SERIES(0, 1300, "HR", 80),
          SESSION(500, true, "infusion"), NIBP(900, "NIBP_SYS", 120),
          SESSION(1000, true, "recovery")},
         {EVP(860, "NIBP_OVERDUE", "active", LOW, 1), EV(900, "NIBP_OVERDUE", "inactive")}},
        {"leaving the infusion phase ends NIBP_OVERDUE", NULL, 500,
         {SESSION(0, true, "infusion"), SERIES(0, 500, "HR", 80), SESSION(400, true, "recovery")},
         {EV(360, "NIBP_OVERDUE", "active"), EV(400, "NIBP_OVERDUE", "inactive")}},
        {"technical alarms keep their priority (no escalation) and clear at once", NULL, 410,
         {TECH(5, ALARM_COND_DEVICE_DISCONNECTED, MEDIUM, true),
          TECH(400, ALARM_COND_DEVICE_DISCONNECTED, MEDIUM, false)},
         {EVP(5, "DEVICE_DISCONNECTED", "active", MEDIUM, 1),
          EVP(400, "DEVICE_DISCONNECTED", "inactive", MEDIUM, 0)}},
        {"closing the session ends its alarms but not equipment alarms", NULL, 25,
         {SESSION(0, true, "baseline"), SERIES(0, 20, "HR", 130),
          TECH(15, ALARM_COND_STORE_FAILURE, HIGH, true), SESSION(20, false, NULL)},
         {EV(10, "HR_HIGH", "active"), EV(15, "STORE_FAILURE", "active"),
          EV(20, "HR_HIGH", "inactive")}},

        /* No data of one parameter: 3 periods, while the bed still talks. */
        {"SpO2 gone for 3 periods while HR still arrives: NO_DATA_SPO2 at exactly 15 s; SpO2 "
         "clears it",
         NULL, 45,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 45, 5, "HR", 80),
          SERIES_EVERY(0, 10, 5, "SPO2", 97), READ(40, "SPO2", 97)},
         {EVP(25, "NO_DATA_SPO2", "active", MEDIUM, 1),
          EVP(40, "NO_DATA_SPO2", "inactive", MEDIUM, 0)}},
        {"SpO2 back after 14.9 s is not missing", NULL, 40,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 40, 5, "HR", 80),
          READ(0, "SPO2", 97), READ(14.9, "SPO2", 97), READ(29.8, "SPO2", 97)},
         {{0}}},
        {"a bed gone wholly quiet is NO_DATA alone; when only HR returns, SpO2 is missing", NULL,
         55,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 10, 5, "HR", 80),
          SERIES_EVERY(0, 10, 5, "SPO2", 97), READ(50, "HR", 80)},
         {EVP(40, "NO_DATA", "active", HIGH, 1), EV(50, "NO_DATA", "inactive"),
          EVP(50, "NO_DATA_SPO2", "active", MEDIUM, 1)}},
        {"one record bringing HR and SpO2 back after a silence raises no NO_DATA_SPO2 in between",
         NULL, 55,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 10, 5, "HR", 80),
          SERIES_EVERY(0, 10, 5, "SPO2", 97), READ(50, "HR", 80), READ(50, "SPO2", 97)},
         {EV(40, "NO_DATA", "active"), EV(50, "NO_DATA", "inactive")}},
        {"a watched parameter that never arrives is missing 3 periods after the session starts",
         NULL, 20,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 20, 5, "HR", 80)},
         {EVP(15, "NO_DATA_SPO2", "active", MEDIUM, 1)}},
        {"undeclared parameters and episodic NIBP are never missing", NULL, 60,
         {SESSION(0, true, "baseline"), PERIOD(0, "HR", 5), SERIES_EVERY(0, 60, 5, "HR", 80)},
         {{0}}},
        {"parameter_no_data_periods = 0 turns NO_DATA_<PARAM> off", no_parameter_no_data, 30,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 30, 5, "HR", 80)},
         {{0}}},
        {"closing the session ends NO_DATA_SPO2; without a session nothing is missing", NULL, 60,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 60, 5, "HR", 80),
          SESSION(20, false, NULL)},
         {EV(15, "NO_DATA_SPO2", "active"), EV(20, "NO_DATA_SPO2", "inactive")}},
        {"the shortest period declared for a parameter wins", NULL, 10,
         {SESSION(0, true, "baseline"), PERIOD(0, "HR", 1), PERIOD(0, "SPO2", 5),
          PERIOD(0, "SPO2", 2), SERIES(0, 10, "HR", 80), READ(0, "SPO2", 97)},
         {EV(6, "NO_DATA_SPO2", "active")}},
        {"an unavailable SpO2 ends NO_DATA_SPO2; SENSOR_OFF_SPO2 then judges it", NULL, 50,
         {SESSION(0, true, "baseline"), GE_PERIODS(0), SERIES_EVERY(0, 50, 5, "HR", 80),
          READ(0, "SPO2", 97), SERIES_ST(30, 50, "SPO2", 0, READING_UNAVAILABLE, 0)},
         {EV(15, "NO_DATA_SPO2", "active"), EV(30, "NO_DATA_SPO2", "inactive"),
          EVP(40, "SENSOR_OFF_SPO2", "active", MEDIUM, 1)}},

        /* Wall-clock steps. */
        {"a wall-clock step of +2.5 s raises CLOCK_JUMP medium; it clears by itself 60 s later",
         NULL, 80,
         {CLOCK(10, 2.5)},
         {EVP(10, "CLOCK_JUMP", "active", MEDIUM, 1), EVP(70, "CLOCK_JUMP", "inactive", MEDIUM, 0)}},
        {"a step of exactly 2 s is not a jump; -2.1 s is", NULL, 85,
         {CLOCK(10, 2.0), CLOCK(20, -2.1)},
         {EV(20, "CLOCK_JUMP", "active"), EV(80, "CLOCK_JUMP", "inactive")}},
        {"a second step while present holds CLOCK_JUMP 60 s from the latest", NULL, 105,
         {CLOCK(10, 5), CLOCK(40, -5)},
         {EV(10, "CLOCK_JUMP", "active"), EV(100, "CLOCK_JUMP", "inactive")}},
        {"an acknowledged CLOCK_JUMP still clears by itself", NULL, 75,
         {CLOCK(10, 30), ACK(15, "CLOCK_JUMP", 0)},
         {EV(10, "CLOCK_JUMP", "active"), EV(15, "CLOCK_JUMP", "acknowledged"),
          EV(70, "CLOCK_JUMP", "inactive")}},
        {"a site that latches medium keeps CLOCK_JUMP until a nurse acknowledges it",
         latch_medium, 85,
         {CLOCK(10, 30), ACK(80, "CLOCK_JUMP", 0)},
         {EV(10, "CLOCK_JUMP", "active"), EV(70, "CLOCK_JUMP", "latched"),
          EV(80, "CLOCK_JUMP", "inactive")}},
        {"CLOCK_JUMP outlives the session that saw it", NULL, 75,
         {SESSION(0, true, "baseline"), CLOCK(10, 3600), SESSION(20, false, NULL)},
         {EV(10, "CLOCK_JUMP", "active"), EV(70, "CLOCK_JUMP", "inactive")}},
};

/* ---- the runner ------------------------------------------------------------ */

typedef struct Seen {
        int64_t mono_ns;
        int64_t id;
        char condition[ALARM_CONDITION_MAX];
        char state[24];
        char actor[ALARM_ACTOR_MAX];
        char detail[ALARM_DETAIL_MAX];
        AlarmEventKind kind;
        AlarmPriority prio;
        bool announce;
        bool technical;
        double value, limit;
} Seen;

typedef struct Recorder {
        Seen ev[256];
        size_t n;
        int64_t wall_step; /* the sum of CLOCK steps so far: wall = WALL0 + mono + this */
} Recorder;

static void record(void *userdata, const AlarmEvent *ev)
{
        Recorder *rec = userdata;
        Seen *s;

        if (rec->n >= sizeof(rec->ev) / sizeof(rec->ev[0]))
                return;
        s = &rec->ev[rec->n++];
        s->mono_ns = ev->mono_ns;
        s->id = ev->alarm_id;
        snprintf(s->condition, sizeof(s->condition), "%s", ev->condition);
        snprintf(s->state, sizeof(s->state), "%s", ev->state);
        snprintf(s->actor, sizeof(s->actor), "%s", ev->actor);
        snprintf(s->detail, sizeof(s->detail), "%s", ev->detail ? ev->detail : "");
        s->kind = ev->kind;
        s->prio = ev->priority;
        s->announce = ev->announce;
        s->technical = ev->technical;
        s->value = ev->value;
        s->limit = ev->limit;
        CHECK(ev->wall_ns == WALL0 + ev->mono_ns + rec->wall_step);
        CHECK(ev->bed && ev->state && ev->actor && ev->condition);
}

static int64_t ns_of(double t)
{
        return llround(t * 1e9);
}

typedef struct Item {
        Input in;
        int64_t t_ns;
        size_t seq;
} Item;

static int item_cmp(const void *a, const void *b)
{
        const Item *x = a, *y = b;

        if (x->t_ns != y->t_ns)
                return x->t_ns < y->t_ns ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t expand(const Input *in, Item *items, size_t max)
{
        size_t n = 0;

        for (const Input *i = in; i->kind != IN_END; i++) {
                if (i->kind != IN_SERIES) {
                        if (n < max)
                                items[n] = (Item){*i, ns_of(i->t), n};
                        n++;
                        continue;
                }
                for (int k = 0;; k++) {
                        double t = i->t + k * i->every;
                        Input r = *i;
                        if (t > i->t_end + 1e-9)
                                break;
                        r.kind = IN_READ;
                        r.t = t;
                        if (n < max)
                                items[n] = (Item){r, ns_of(t), n};
                        n++;
                }
        }
        return n;
}

static int64_t last_id_of(const Recorder *rec, const char *condition)
{
        for (size_t i = rec->n; i > 0; i--)
                if (strcmp(rec->ev[i - 1].condition, condition) == 0)
                        return rec->ev[i - 1].id;
        return -1;
}

static void apply(AlarmEngine *e, Recorder *rec, const Input *in, int64_t t)
{
        AlarmBed *b = alarm_bed_get(e, in->bed ? in->bed : "bed1");
        int64_t wall = WALL0 + t + rec->wall_step;
        int r;

        switch (in->kind) {
        case IN_READ: {
                Reading rd = {.value = in->value, .status = in->status, .flags = in->flags};
                reading_set_name(&rd, in->name, "");
                rd.mono_ns = t;
                rd.wall_ns = wall;
                alarm_bed_reading(b, &rd, t, wall);
                break;
        }
        case IN_SESSION:
                alarm_bed_set_session(b, in->on, in->name, t, wall);
                break;
        case IN_ACK:
                r = alarm_engine_ack(e, last_id_of(rec, in->name), NURSE, t, wall);
                CHECK_INT(r, in->rc);
                break;
        case IN_ACK_ID:
                r = alarm_engine_ack(e, (int64_t)in->value, NURSE, t, wall);
                CHECK_INT(r, in->rc);
                break;
        case IN_SILENCE:
                r = alarm_engine_silence(e, alarm_bed_name(b), (uint64_t)(in->value * 1e6), NURSE,
                                         t, wall);
                CHECK_INT(r, in->rc);
                break;
        case IN_TECH:
                r = alarm_bed_technical(b, in->name, in->prio, in->on, NULL, t, wall);
                CHECK_INT(r, in->rc);
                break;
        case IN_PERIOD:
                CHECK_INT(alarm_bed_set_period(b, in->name, (uint64_t)(in->value * 1e6)), 0);
                break;
        case IN_CLOCK:
                /* Seen by the next alarm_engine_clock(), as in the daemon's tick. */
                rec->wall_step += ns_of(in->value);
                break;
        default:
                break;
        }
}

static void print_events(const Recorder *rec, const Expect *out)
{
        fprintf(stderr, "    got:\n");
        for (size_t i = 0; i < rec->n; i++)
                fprintf(stderr, "      %8.3f %-20s %-15s %-6s announce=%d\n",
                        (double)rec->ev[i].mono_ns / 1e9, rec->ev[i].condition, rec->ev[i].state,
                        alarm_priority_to_string(rec->ev[i].prio), rec->ev[i].announce);
        fprintf(stderr, "    expected:\n");
        for (const Expect *x = out; x->condition; x++)
                fprintf(stderr, "      %8.3f %-20s %-15s\n", x->t, x->condition, x->state);
}

static void run_scenario(const Scenario *sc)
{
        static Item items[4096];
        static Recorder rec;
        AlarmProfile prof;
        AlarmEngine *e;
        size_t n, next = 0, n_expected = 0;
        int64_t until = ns_of(sc->until), tick = 0;
        int before = testlib_failures;

        memset(&rec, 0, sizeof(rec));
        n = expand(sc->in, items, sizeof(items) / sizeof(items[0]));
        CHECK(n <= sizeof(items) / sizeof(items[0]));
        qsort(items, n, sizeof(items[0]), item_cmp);

        ketamine_profile(&prof);
        if (sc->tweak)
                sc->tweak(&prof);
        e = alarm_engine_new(record, &rec, 1);
        alarm_bed_set_profile(alarm_bed_get(e, "bed1"), &prof);

        /* Inputs and ticks in time order; an input goes before a tick at
         * the same time. */
        while (next < n || tick <= until) {
                if (next < n && (items[next].t_ns <= tick || tick > until)) {
                        apply(e, &rec, &items[next].in, items[next].t_ns);
                        next++;
                } else {
                        alarm_engine_clock(e, tick, WALL0 + tick + rec.wall_step);
                        alarm_engine_tick(e, tick, WALL0 + tick + rec.wall_step);
                        tick += TICK_NS;
                }
        }

        for (const Expect *x = sc->out; x->condition; x++) {
                const Seen *s = &rec.ev[n_expected];
                if (n_expected >= rec.n) {
                        testlib_failures++;
                        fprintf(stderr, "  missing event %s %s at %.3f\n", x->condition, x->state,
                                x->t);
                        n_expected++;
                        continue;
                }
                testlib_checks++;
                if (s->mono_ns != ns_of(x->t) || strcmp(s->condition, x->condition) != 0 ||
                    strcmp(s->state, x->state) != 0 || (x->prio >= 0 && (int)s->prio != x->prio) ||
                    (x->announce >= 0 && (int)s->announce != x->announce)) {
                        testlib_failures++;
                        fprintf(stderr,
                                "  event %zu: got %.3f %s %s %s announce=%d, expected %.3f %s %s",
                                n_expected, (double)s->mono_ns / 1e9, s->condition, s->state,
                                alarm_priority_to_string(s->prio), s->announce, x->t,
                                x->condition, x->state);
                        if (x->prio >= 0)
                                fprintf(stderr, " %s", alarm_priority_to_string(x->prio));
                        if (x->announce >= 0)
                                fprintf(stderr, " announce=%d", x->announce);
                        fprintf(stderr, "\n");
                }
                n_expected++;
        }
        testlib_checks++;
        if (rec.n > n_expected) {
                testlib_failures++;
                fprintf(stderr, "  %zu unexpected event(s)\n", rec.n - n_expected);
        }
        if (testlib_failures != before)
                print_events(&rec, sc->out);
        printf("%s %s\n", testlib_failures == before ? "ok  " : "FAIL", sc->name);
        alarm_engine_free(e);
}

/* ---- checks that need more than a table row ------------------------------- */

static Recorder rec;

static AlarmEngine *engine_with(const char *bed, void (*tweak)(AlarmProfile *p))
{
        AlarmProfile prof;
        AlarmEngine *e;

        memset(&rec, 0, sizeof(rec));
        ketamine_profile(&prof);
        if (tweak)
                tweak(&prof);
        e = alarm_engine_new(record, &rec, 100);
        alarm_bed_set_profile(alarm_bed_get(e, bed), &prof);
        return e;
}

static void reading(AlarmEngine *e, const char *bed, double t, const char *param, double v,
                    uint32_t flags)
{
        Reading rd = {.value = v, .status = READING_VALID, .flags = flags};

        reading_set_name(&rd, param, "");
        alarm_bed_reading(alarm_bed_get(e, bed), &rd, ns_of(t), WALL0 + ns_of(t));
}

TEST(alarm_ids_come_from_the_seeded_counter)
{
        AlarmEngine *e = engine_with("bed1", NULL);

        reading(e, "bed1", 0, "SPO2", 85, 0);
        CHECK_INT(rec.n, 1);
        CHECK_INT(rec.ev[0].id, 100);
        CHECK_INT(alarm_engine_next_id(e), 101);
        CHECK_DBL(rec.ev[0].value, 85, 1e-9);
        CHECK_DBL(rec.ev[0].limit, 88, 1e-9);
        CHECK_STR(rec.ev[0].actor, ALARM_ACTOR_AUTO);
        CHECK(!rec.ev[0].technical);
        alarm_engine_free(e);
}

TEST(a_latched_alarm_that_returns_keeps_its_id)
{
        AlarmEngine *e = engine_with("bed1", latch_high);
        AlarmBed *b = alarm_bed_get(e, "bed1");

        reading(e, "bed1", 0, "SPO2", 85, 0);
        for (int t = 1; t <= 10; t++)
                reading(e, "bed1", t, "SPO2", 97, 0);
        alarm_bed_tick(b, ns_of(6), WALL0 + ns_of(6));
        reading(e, "bed1", 20, "SPO2", 85, 0);
        CHECK_INT(rec.n, 3);
        CHECK_STR(rec.ev[1].state, "latched");
        CHECK_STR(rec.ev[2].state, "active");
        CHECK_INT(rec.ev[2].id, rec.ev[0].id);
        CHECK(rec.ev[2].announce);
        alarm_engine_free(e);
}

TEST(reset_of_a_latched_alarm_names_the_nurse)
{
        AlarmEngine *e = engine_with("bed1", latch_high);

        reading(e, "bed1", 0, "SPO2", 85, 0);
        for (int t = 1; t <= 6; t++)
                reading(e, "bed1", t, "SPO2", 97, 0);
        CHECK_STR(rec.ev[rec.n - 1].state, "latched");
        CHECK_INT(alarm_engine_ack(e, rec.ev[0].id, NURSE, ns_of(7), WALL0 + ns_of(7)), 0);
        CHECK_INT(rec.ev[rec.n - 1].kind, ALARM_EV_RESET);
        CHECK_STR(rec.ev[rec.n - 1].state, "inactive");
        CHECK_STR(rec.ev[rec.n - 1].actor, NURSE);
        CHECK_INT(alarm_engine_ack(e, rec.ev[0].id, NURSE, ns_of(8), WALL0 + ns_of(8)), -ENOENT);
        CHECK_INT(alarm_engine_ack(e, rec.ev[0].id, NULL, ns_of(8), WALL0 + ns_of(8)), -EINVAL);
        alarm_engine_free(e);
}

TEST(list_orders_by_priority_then_activation)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");
        AlarmInfo info[8];
        size_t n;

        alarm_bed_technical(b, ALARM_COND_DECODE_ERRORS, ALARM_PRIO_LOW, true, "ttyUSB0: 5 bad",
                            ns_of(0), WALL0);
        for (int t = 0; t <= 10; t++)
                reading(e, "bed1", t, "HR", 130, 0); /* HR_HIGH medium at 10 */
        reading(e, "bed1", 11, "NIBP_DIA", 112, READING_FLAG_NEW_MEASUREMENT); /* high + medium */
        reading(e, "bed1", 12, "SPO2", 85, 0); /* desat high at 12 */

        n = alarm_engine_list(e, NULL, info, 8);
        CHECK_INT(n, 5);
        CHECK_STR(info[0].condition, "NIBP_DIA_HIGH");
        CHECK_STR(info[1].condition, "SPO2_DESAT");
        CHECK_STR(info[2].condition, "HR_HIGH");
        CHECK_STR(info[3].condition, "NIBP_DIA_ELEVATED");
        CHECK_STR(info[4].condition, "DECODE_ERRORS");
        CHECK(info[4].technical);
        CHECK_STR(info[4].detail, "ttyUSB0: 5 bad");
        CHECK_STR(info[0].state, "active");
        CHECK_STR(info[0].bed, "bed1");
        CHECK_INT(info[1].since_wall_ns, WALL0 + ns_of(12));

        /* Bounded output still holds the top entries, in order. */
        n = alarm_engine_list(e, "bed1", info, 2);
        CHECK_INT(n, 5);
        CHECK_STR(info[0].condition, "NIBP_DIA_HIGH");
        CHECK_STR(info[1].condition, "SPO2_DESAT");
        CHECK_INT(alarm_engine_list(e, "no-such-bed", info, 8), 0);

        CHECK_INT(alarm_engine_ack(e, info[1].id, NURSE, ns_of(13), WALL0 + ns_of(13)), 0);
        n = alarm_engine_list(e, NULL, info, 8);
        CHECK_STR(info[1].state, "acknowledged");
        CHECK_STR(info[1].acknowledged_by, NURSE);
        alarm_engine_free(e);
}

TEST(next_deadline_is_when_the_tick_would_act)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");

        CHECK(alarm_engine_next_deadline(e) == INT64_MAX);
        reading(e, "bed1", 5, "SPO2", 91, 0);
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(15));
        alarm_bed_tick(b, ns_of(14.999), WALL0 + ns_of(14.999));
        CHECK_INT(rec.n, 0);
        alarm_bed_tick(b, ns_of(15), WALL0 + ns_of(15));
        CHECK_INT(rec.n, 1);
        /* Now escalation is next. */
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(135));

        alarm_bed_set_session(b, true, "infusion", ns_of(20), WALL0 + ns_of(20));
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(50)); /* NO_DATA: 20 + 30 */
        alarm_engine_free(e);
}

TEST(technical_priority_rises_with_an_escalated_event_and_never_drops)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");
        AlarmInfo info[4];

        CHECK_INT(alarm_bed_technical(b, "DEVICE_DISCONNECTED", ALARM_PRIO_MEDIUM, true, "ttyUSB0",
                                      ns_of(1), WALL0 + ns_of(1)),
                  0);
        CHECK_INT(alarm_bed_technical(b, "DEVICE_DISCONNECTED", ALARM_PRIO_HIGH, true, "ttyUSB0",
                                      ns_of(2), WALL0 + ns_of(2)),
                  0);
        CHECK_INT(alarm_bed_technical(b, "DEVICE_DISCONNECTED", ALARM_PRIO_MEDIUM, true, NULL,
                                      ns_of(3), WALL0 + ns_of(3)),
                  0);
        CHECK_INT(rec.n, 2);
        CHECK_STR(rec.ev[1].state, "escalated");
        CHECK_INT(rec.ev[1].prio, ALARM_PRIO_HIGH);
        CHECK(rec.ev[1].technical);
        CHECK_INT(alarm_engine_list(e, NULL, info, 4), 1);
        CHECK_INT(info[0].priority, ALARM_PRIO_HIGH);
        CHECK_INT(info[0].base_priority, ALARM_PRIO_MEDIUM);

        /* Names the engine owns, rule names and bad names are refused. */
        CHECK_INT(alarm_bed_technical(b, "NO_DATA", ALARM_PRIO_HIGH, true, NULL, 0, 0), -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "SENSOR_OFF_SPO2", ALARM_PRIO_HIGH, true, NULL, 0, 0),
                  -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "NO_DATA_SPO2", ALARM_PRIO_HIGH, true, NULL, 0, 0),
                  -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "CLOCK_JUMP", ALARM_PRIO_HIGH, true, NULL, 0, 0), -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "SPO2_LOW", ALARM_PRIO_HIGH, true, NULL, 0, 0), -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "bad name", ALARM_PRIO_HIGH, true, NULL, 0, 0), -EINVAL);
        CHECK_INT(alarm_bed_technical(b, "X", ALARM_PRIO_NONE, true, NULL, 0, 0), -EINVAL);
        alarm_engine_free(e);
}

TEST(silence_of_all_beds_and_its_errors)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b1 = alarm_bed_get(e, "bed1"), *b2 = alarm_bed_get(e, "bed2");
        uint64_t left;

        CHECK_INT(alarm_engine_silence(e, NULL, 60 * USEC, NURSE, ns_of(10), WALL0 + ns_of(10)), 0);
        CHECK_INT(rec.n, 2);
        CHECK_STR(rec.ev[0].state, "silenced");
        CHECK_STR(rec.ev[0].actor, NURSE);
        CHECK_DBL(rec.ev[0].value, 60, 1e-9);
        CHECK(alarm_bed_silenced(b1, ns_of(20), &left));
        CHECK_INT(left, 50 * USEC);
        CHECK(alarm_bed_silenced(b2, ns_of(69.9), NULL));
        CHECK(!alarm_bed_silenced(b2, ns_of(70), &left));
        CHECK_INT(left, 0);
        CHECK(rec.ev[0].id != rec.ev[1].id);

        CHECK_INT(alarm_engine_silence(e, "bed9", 60 * USEC, NURSE, 0, 0), -ENOENT);
        CHECK_INT(alarm_engine_silence(e, "bed1", 0, NURSE, 0, 0), -EINVAL);
        CHECK_INT(alarm_engine_silence(e, "bed1", 60 * USEC, NULL, 0, 0), -EINVAL);

        /* A profile may lower the maximum. */
        {
                AlarmProfile p = *alarm_bed_get_profile(b2);
                p.silence_max_usec = 30 * USEC;
                alarm_bed_set_profile(b2, &p);
                CHECK_INT(alarm_engine_silence(e, "bed2", 120 * USEC, NURSE, ns_of(100),
                                               WALL0 + ns_of(100)),
                          0);
                CHECK(alarm_bed_silenced(b2, ns_of(129.9), NULL));
                CHECK(!alarm_bed_silenced(b2, ns_of(130), NULL));
                /* and never raise it */
                p.silence_max_usec = 600 * USEC;
                alarm_bed_set_profile(b2, &p);
                CHECK_INT(alarm_bed_get_profile(b2)->silence_max_usec, 120 * USEC);
        }
        alarm_engine_free(e);
}

TEST(ack_all_acknowledges_active_and_resets_latched)
{
        AlarmEngine *e = engine_with("bed1", latch_high);

        reading(e, "bed1", 0, "SPO2", 85, 0); /* desat, will latch */
        for (int t = 1; t <= 6; t++)
                reading(e, "bed1", t, "SPO2", 97, 0);
        for (int t = 0; t <= 10; t++)
                reading(e, "bed1", t, "HR", 130, 0);
        CHECK_INT(alarm_engine_ack_all(e, "bed1", NURSE, ns_of(11), WALL0 + ns_of(11)), 2);
        CHECK_INT(alarm_engine_ack_all(e, "bed1", NURSE, ns_of(12), WALL0 + ns_of(12)), 0);
        CHECK_INT(alarm_engine_ack_all(e, "nope", NURSE, ns_of(12), WALL0 + ns_of(12)), -ENOENT);
        alarm_engine_free(e);
}

TEST(profile_change_keeps_surviving_rules_and_ends_removed_ones)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");
        AlarmProfile p;
        AlarmInfo info[4];

        reading(e, "bed1", 0, "SPO2", 85, 0); /* SPO2_DESAT */
        for (int t = 0; t <= 10; t++)
                reading(e, "bed1", t, "HR", 130, 0); /* HR_HIGH at 10 */
        CHECK_INT(rec.n, 2);

        p = *alarm_bed_get_profile(b);
        /* Drop SPO2_DESAT (index 1). */
        memmove(&p.rules[1], &p.rules[2], (p.n_rules - 2) * sizeof(p.rules[0]));
        p.n_rules--;
        alarm_bed_set_profile(b, &p);
        CHECK_INT(rec.n, 3);
        CHECK_STR(rec.ev[2].condition, "SPO2_DESAT");
        CHECK_STR(rec.ev[2].state, "inactive");
        CHECK_INT(rec.ev[2].mono_ns, ns_of(10)); /* the bed's latest time */
        CHECK_INT(alarm_engine_list(e, NULL, info, 4), 1);
        CHECK_STR(info[0].condition, "HR_HIGH");

        alarm_bed_set_profile(b, NULL);
        CHECK_INT(alarm_engine_list(e, NULL, info, 4), 0);
        alarm_engine_free(e);
}

TEST(clock_steps_are_judged_tick_to_tick_so_slewing_never_alarms)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        int64_t drift = 0;

        /* The first pair only sets the reference, however far apart. */
        CHECK_INT(alarm_engine_clock(e, 0, WALL0 + 3600 * NS), 0);
        /* 15 s of drift over 100 s, 0.15 s per tick: never a step. */
        for (int i = 1; i <= 1000; i++) {
                drift += NS / 10 + NS / 20;
                CHECK_INT(alarm_engine_clock(e, i * TICK_NS, WALL0 + 3600 * NS + i * TICK_NS + drift),
                          0);
        }
        CHECK_INT(rec.n, 0);
        /* One step of 2.001 s is. */
        rec.wall_step = 3600 * NS + drift + 2001000000LL; /* what record() expects */
        CHECK_INT(alarm_engine_clock(e, 1001 * TICK_NS,
                                     WALL0 + 3600 * NS + 1001 * TICK_NS + drift + 2001000000LL),
                  2001000000LL);
        CHECK_INT(rec.n, 1);
        CHECK_STR(rec.ev[0].condition, "CLOCK_JUMP");
        CHECK(rec.ev[0].technical);
        CHECK_DBL(rec.ev[0].value, 2.001, 1e-9);
        CHECK_DBL(rec.ev[0].limit, 2, 1e-9);
        CHECK_STR(rec.ev[0].detail, "wall clock stepped forward by 2.001 s against the monotonic clock");
        CHECK_INT(alarm_engine_next_deadline(e), 1001 * TICK_NS + 60 * NS);
        alarm_engine_free(e);
}

TEST(periods_are_checked_and_bounded)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");
        char name[16];

        CHECK_INT(alarm_bed_set_period(b, "SPO2", 0), -EINVAL);
        CHECK_INT(alarm_bed_set_period(b, "", 5 * USEC), -EINVAL);
        CHECK_INT(alarm_bed_set_period(b, NULL, 5 * USEC), -EINVAL);
        CHECK_INT(alarm_bed_set_period(b, "A_PARAMETER_NAME_TOO_LONG", 5 * USEC), -EINVAL);
        for (int i = 0; i < ALARM_PERIODS_MAX; i++) {
                snprintf(name, sizeof(name), "P%d", i);
                CHECK_INT(alarm_bed_set_period(b, name, 5 * USEC), 0);
        }
        CHECK_INT(alarm_bed_set_period(b, "ONE_MORE", 5 * USEC), -ENOSPC);
        CHECK_INT(alarm_bed_set_period(b, "P3", 1 * USEC), 0); /* known: takes the shorter */
        alarm_bed_clear_periods(b);
        CHECK_INT(alarm_bed_set_period(b, "ONE_MORE", 5 * USEC), 0);
        alarm_engine_free(e);
}

TEST(next_deadline_of_a_missing_parameter)
{
        AlarmEngine *e = engine_with("bed1", NULL);
        AlarmBed *b = alarm_bed_get(e, "bed1");

        alarm_bed_set_period(b, "SPO2", 5 * USEC);
        alarm_bed_set_period(b, "HR", 5 * USEC);
        alarm_bed_set_session(b, true, "baseline", ns_of(0), WALL0);
        reading(e, "bed1", 1, "SPO2", 97, 0);
        reading(e, "bed1", 1, "HR", 80, 0);
        /* One record, one time: nothing arrived after either, so only
         * NO_DATA (1 + 30 s) is pending. */
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(31));
        /* HR alone at 6: SpO2 is due missing at 1 + 3 × 5 s. */
        reading(e, "bed1", 6, "HR", 80, 0);
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(16));
        alarm_bed_tick(b, ns_of(15.999), WALL0 + ns_of(15.999));
        CHECK_INT(rec.n, 0);
        alarm_bed_tick(b, ns_of(16), WALL0 + ns_of(16));
        CHECK_INT(rec.n, 1);
        CHECK_STR(rec.ev[0].condition, "NO_DATA_SPO2");
        CHECK_STR(rec.ev[0].detail, "SPO2: no reading for 15 s (expected every 5 s)");
        /* A present condition is no deadline (the timer must not spin). */
        CHECK_INT(alarm_engine_next_deadline(e), ns_of(36));
        alarm_engine_free(e);
}

TEST(strings)
{
        CHECK_STR(alarm_priority_to_string(ALARM_PRIO_HIGH), "high");
        CHECK_STR(alarm_priority_to_string(ALARM_PRIO_MEDIUM), "medium");
        CHECK_STR(alarm_priority_to_string(ALARM_PRIO_LOW), "low");
        CHECK_INT(alarm_priority_from_string("medium"), ALARM_PRIO_MEDIUM);
        CHECK_INT(alarm_priority_from_string("urgent"), -EINVAL);
        CHECK_STR(alarm_state_to_string(ALARM_LATCHED), "latched");
        CHECK_STR(alarm_event_kind_to_string(ALARM_EV_SILENCE_BROKEN), "silence-broken");
        CHECK_STR(alarm_event_kind_to_string(ALARM_EV_RESET), "reset");
        CHECK(alarm_condition_name_valid("NIBP_SYS_HIGH"));
        CHECK(!alarm_condition_name_valid("nibp"));
        CHECK(!alarm_condition_name_valid(""));
        CHECK(!alarm_condition_name_valid("A_NAME_THAT_IS_FAR_TOO_LONG_FOR_IT"));
        CHECK(alarm_condition_name_reserved("NO_DATA"));
        CHECK(alarm_condition_name_reserved("SENSOR_OFF_HR"));
        CHECK(alarm_condition_name_reserved("NO_DATA_SPO2"));
        CHECK(alarm_condition_name_reserved("CLOCK_JUMP"));
        CHECK(alarm_condition_name_reserved("DECODE_ERRORS"));
        CHECK(!alarm_condition_name_reserved("SPO2_LOW"));
}

int main(void)
{
        for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
                run_scenario(&scenarios[i]);
        RUN(alarm_ids_come_from_the_seeded_counter);
        RUN(a_latched_alarm_that_returns_keeps_its_id);
        RUN(reset_of_a_latched_alarm_names_the_nurse);
        RUN(list_orders_by_priority_then_activation);
        RUN(next_deadline_is_when_the_tick_would_act);
        RUN(technical_priority_rises_with_an_escalated_event_and_never_drops);
        RUN(silence_of_all_beds_and_its_errors);
        RUN(ack_all_acknowledges_active_and_resets_latched);
        RUN(profile_change_keeps_surviving_rules_and_ends_removed_ones);
        RUN(clock_steps_are_judged_tick_to_tick_so_slewing_never_alarms);
        RUN(periods_are_checked_and_bounded);
        RUN(next_deadline_of_a_missing_parameter);
        RUN(strings);
        return testlib_finish();
}
