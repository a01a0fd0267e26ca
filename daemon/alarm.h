/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * alarm.h — the alarm engine: conditions, priorities, delays, acknowledgement,
 * latching, escalation, reminders and audio silence (IEC 60601-1-8 style,
 * ../shared/DESIGN.md "Alarm engine").
 *
 * The engine is pure: no I/O, no clocks, no logging, no store.  The caller
 * passes every time in (CLOCK_BOOTTIME for judgement, wall time only to stamp
 * events) and receives every transition through one callback.  It never
 * fails at run time: all memory of a bed is allocated when the bed is first
 * named; a bed holds at most ALARM_CONDITIONS_MAX conditions.
 *
 * Semantics the tests pin (tests/unit/test-alarm.c), in brief:
 *
 *  - A physiological rule is out of range when the value is strictly beyond
 *    the limit (SPO2 < 92: 92.0 is in range, 91.99 is out).  It becomes ACTIVE
 *    once every valid value for on_delay has been out of range (the value is
 *    held between readings; a tick activates it when the delay has run and
 *    the latest valid value is still out).  Once present it clears only after
 *    valid values have been back past limit ∓ hysteresis for off_delay.
 *  - Judgement pauses while a parameter's latest reading is not VALID
 *    (invalid, unavailable, questionable, calibrating, demo, or flagged
 *    READING_FLAG_SENSOR_OFF): such a reading neither resets nor completes an
 *    on-delay or off-delay; the timers keep their start, and the next valid
 *    reading is judged against them.  Those readings feed SENSOR_OFF_<PARAM>.
 *  - Episodic parameters (catalogue `episodic`: NIBP_*) are judged only on
 *    valid readings flagged READING_FLAG_NEW_MEASUREMENT, without delays: one
 *    measurement out of range activates, the next one in range clears.
 *  - Two rules on one parameter are independent conditions: NIBP_SYS 185
 *    makes both "> 160 medium" and "> 180 high" active; the console orders
 *    by priority (alarm_engine_list()).
 *  - When a present condition ends, it goes LATCHED if the profile latches
 *    its current priority and nobody acknowledged it, else INACTIVE.  A
 *    LATCHED alarm whose condition returns goes ACTIVE again under the same
 *    alarm_id.  Acknowledging a LATCHED alarm resets it (ALARM_EV_RESET,
 *    state "inactive", actor = the user).
 *  - ACKNOWLEDGED stops announcement; while the condition is still present a
 *    REMINDER (announce) follows every reminder_usec after the ack, and the
 *    alarm stays acknowledged.  A reminder that falls due during an audio
 *    silence is held until the silence ends.
 *  - An ACTIVE, unacknowledged physiological alarm rises one priority every
 *    escalate_usec (low → medium → high).  Technical alarms never escalate.
 *  - Technical conditions share the states, acknowledgement, reminders and
 *    the per-priority latch table.
 *  - NO_DATA_<PARAM> (per parameter): a parameter some continuous rule
 *    uses and that the bed's devices report periodically
 *    (alarm_bed_set_period()) has had no reading at all, of any status,
 *    for no_data_periods × its period, counted from the later of its last
 *    reading and the session's start, while the bed demonstrably still
 *    talks: some other reading arrived after that parameter's last one.  A
 *    bed gone wholly quiet is NO_DATA's (and DEVICE_DISCONNECTED's) to
 *    report, not one alarm per parameter.  The next reading of the
 *    parameter, of any status, clears it (SENSOR_OFF_<PARAM> then judges
 *    an invalid one).
 *  - CLOCK_JUMP: alarm_engine_clock() saw the wall clock step by more than
 *    ALARM_CLOCK_JUMP_NS against the monotonic clock.  Every bed raises it
 *    (medium, value = the step in seconds, limit = 2); it clears by itself
 *    ALARM_CLOCK_JUMP_HOLD_USEC after the last step, through the latch
 *    table.  It is not session-bound.
 *  - Session-bound conditions (all physiological rules, NO_DATA,
 *    NO_DATA_*, SENSOR_OFF_*, NIBP_OVERDUE) end — straight to INACTIVE, detail
 *    "session closed", no latching — when the session closes: the patient
 *    left and every occurrence stays inside one session.  Equipment
 *    conditions raised with alarm_bed_technical() are not touched.
 *  - Silence: see alarm_engine_silence().  Events emitted while a bed is
 *    silenced carry announce = false, except SILENCE_BROKEN and the ACTIVE
 *    that broke through.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define ALARM_CONDITION_MAX 32 /* name length including NUL */
#define ALARM_PARAMETER_MAX READING_PARAM_MAX
#define ALARM_RULES_MAX 48
#define ALARM_BED_NAME_MAX 64
#define ALARM_ACTOR_MAX 32
#define ALARM_DETAIL_MAX 96
#define ALARM_PHASE_MAX 16
/* Rules, rules kept alive by a profile change, and technical conditions. */
#define ALARM_CONDITIONS_MAX (2 * ALARM_RULES_MAX + 32)

/* IEC 60601-1-8: audio paused for at most 120 s; a profile may lower it. */
#define ALARM_SILENCE_MAX_USEC (120ULL * 1000000ULL)

#define ALARM_ACTOR_AUTO "vitalsd"

/* Technical conditions the engine raises by itself. */
#define ALARM_COND_NO_DATA "NO_DATA"
#define ALARM_COND_NO_DATA_PREFIX "NO_DATA_"       /* + parameter: "NO_DATA_SPO2" */
#define ALARM_COND_SENSOR_OFF_PREFIX "SENSOR_OFF_" /* + parameter: "SENSOR_OFF_SPO2" */
#define ALARM_COND_NIBP_OVERDUE "NIBP_OVERDUE"
#define ALARM_COND_CLOCK_JUMP "CLOCK_JUMP"
/* Technical conditions the core raises through alarm_bed_technical(). */
#define ALARM_COND_DEVICE_DISCONNECTED "DEVICE_DISCONNECTED"
#define ALARM_COND_DECODE_ERRORS "DECODE_ERRORS"
#define ALARM_COND_MODBUS_ERRORS "MODBUS_ERRORS" /* a device answers polls wrongly */
#define ALARM_COND_STORE_FAILURE "STORE_FAILURE"

/* A step of the wall clock against the monotonic clock larger than this is
 * a clock jump (NTP slews at most 0.5 ms/s, so a tick never sees this much
 * without a step); CLOCK_JUMP stays present this long after the last one. */
#define ALARM_CLOCK_JUMP_NS (2LL * 1000000000LL)
#define ALARM_CLOCK_JUMP_HOLD_USEC (60ULL * 1000000ULL)
#define ALARM_CLOCK_JUMP_PRIORITY ALARM_PRIO_MEDIUM
/* Parameters with a declared period per bed (alarm_bed_set_period()). */
#define ALARM_PERIODS_MAX 32
/* The condition column of SILENCED / SILENCE_ENDED / SILENCE_BROKEN events. */
#define ALARM_COND_AUDIO_SILENCE "AUDIO_SILENCE"

typedef enum AlarmPriority {
        ALARM_PRIO_NONE,
        ALARM_PRIO_LOW,
        ALARM_PRIO_MEDIUM,
        ALARM_PRIO_HIGH,
        _ALARM_PRIO_MAX,
} AlarmPriority;

typedef enum AlarmState {
        ALARM_INACTIVE,
        ALARM_ACTIVE,       /* present, not acknowledged (possibly escalated) */
        ALARM_ACKNOWLEDGED, /* present, acknowledged */
        ALARM_LATCHED,      /* condition gone, never acknowledged, held by the latch table */
        _ALARM_STATE_MAX,
} AlarmState;

const char *alarm_priority_to_string(AlarmPriority p); /* "none" "low" "medium" "high" */
/* -EINVAL when unknown; accepts "low", "medium", "high". */
int alarm_priority_from_string(const char *s);
const char *alarm_state_to_string(AlarmState s); /* "inactive" "active" "acknowledged" "latched" */

typedef struct AlarmRule {
        char condition[ALARM_CONDITION_MAX]; /* "SPO2_LOW"; unique within a profile */
        char parameter[ALARM_PARAMETER_MAX]; /* catalogue name: "SPO2" */
        bool above; /* true: out of range when value > limit; false: when value < limit */
        double limit;
        AlarmPriority priority;
        uint64_t on_delay_usec, off_delay_usec; /* ignored for episodic parameters */
        double hysteresis; /* present until the value is back to limit -/+ hysteresis */
} AlarmRule;

typedef struct AlarmProfile {
        char name[64];
        char description[160];
        AlarmRule rules[ALARM_RULES_MAX];
        size_t n_rules;
        uint64_t no_data_usec; /* session open, no reading at all → NO_DATA; 0 disables */
        AlarmPriority no_data_priority;    /* high */
        uint64_t sensor_off_delay_usec;    /* only non-valid readings of a monitored parameter */
        AlarmPriority sensor_off_priority; /* medium */
        unsigned no_data_periods;          /* NO_DATA_<PARAM> after this many periods; 0 off */
        AlarmPriority param_no_data_priority; /* medium */
        uint64_t
            nibp_cycle_usec; /* NIBP_OVERDUE in the infusion phase after cycle + grace; 0 off */
        uint64_t nibp_grace_usec;
        AlarmPriority nibp_overdue_priority; /* low */
        bool latch[_ALARM_PRIO_MAX];         /* indexed by AlarmPriority */
        uint64_t reminder_usec;              /* 0: no reminders */
        uint64_t escalate_usec;              /* 0: no escalation */
        uint64_t silence_max_usec;           /* ≤ ALARM_SILENCE_MAX_USEC */
} AlarmProfile;

/* Technical defaults, no rules: no data 30 s high, no data of a parameter
 * for 3 periods medium, sensor off 10 s medium, NIBP cycle 300 s + 60 s
 * low, no latching, reminder 180 s, escalation 120 s, silence 120 s. */
void alarm_profile_init(AlarmProfile *p);
/* True for names the engine or the core use for technical conditions
 * (a profile rule may not use them). */
bool alarm_condition_name_reserved(const char *name);
/* True for 1..31 characters of [A-Z0-9_]. */
bool alarm_condition_name_valid(const char *name);

typedef enum AlarmEventKind {
        ALARM_EV_ACTIVE,
        ALARM_EV_INACTIVE,
        ALARM_EV_ACKNOWLEDGED,
        ALARM_EV_LATCHED,
        ALARM_EV_ESCALATED,
        ALARM_EV_REMINDER,
        ALARM_EV_SILENCED,
        ALARM_EV_SILENCE_ENDED,
        ALARM_EV_SILENCE_BROKEN,
        ALARM_EV_RESET, /* latched alarm cleared by a user's ack */
        _ALARM_EV_MAX,
} AlarmEventKind;

/* "active" "inactive" "acknowledged" "latched" "escalated" "reminder"
 * "silenced" "silence-ended" "silence-broken" "reset" — for the journal
 * (choose the MESSAGE_ID by kind); the store uses AlarmEvent.state. */
const char *alarm_event_kind_to_string(AlarmEventKind k);

typedef struct AlarmEvent {
        AlarmEventKind kind;
        /* One occurrence from its first ACTIVE to its INACTIVE (or RESET);
         * a silence from SILENCED to SILENCE_ENDED/BROKEN has its own id. */
        int64_t alarm_id;
        const char *bed;
        const char *condition; /* rule name, technical name, or ALARM_COND_AUDIO_SILENCE */
        bool technical;
        AlarmPriority priority; /* current, after escalation; for silences the priority silenced */
        /* "active" "acknowledged" "latched" "escalated" "inactive" "reminder"
         * "silenced" "silence-ended" "silence-broken"; RESET is "inactive". */
        const char *state;
        double value, limit;      /* latest valid value and the rule's limit; NAN when n/a.
                                     SILENCED: value = granted seconds. */
        const char *actor;        /* ALARM_ACTOR_AUTO or the acting user */
        const char *detail;       /* NULL or free text ("requested 300 s", "session closed", ...) */
        const char *phase;        /* bed's phase at the time, NULL without a session */
        int64_t mono_ns, wall_ns; /* the time passed into the call that caused it */
        bool announce;            /* the console should sound: new alarm, escalation, reminder,
                                     silence broken, silence ended with unacknowledged alarms */
} AlarmEvent;

/* Called synchronously for every transition; ev and its strings are valid
 * only during the call.  The callback must not call back into the engine. */
typedef void (*AlarmEventFn)(void *userdata, const AlarmEvent *ev);

typedef struct AlarmEngine AlarmEngine;
typedef struct AlarmBed AlarmBed;

/* first_alarm_id: the daemon seeds it with the store's max alarm_id + 1
 * (values < 1 are taken as 1).  NULL on out of memory. */
AlarmEngine *alarm_engine_new(AlarmEventFn fn, void *userdata, int64_t first_alarm_id);
void alarm_engine_free(AlarmEngine *e);
int64_t alarm_engine_next_id(const AlarmEngine *e);

/* Created on first use with alarm_profile_init() defaults; NULL on out of
 * memory or a name of ALARM_BED_NAME_MAX or more characters. */
AlarmBed *alarm_bed_get(AlarmEngine *e, const char *bed);
AlarmBed *alarm_bed_find(AlarmEngine *e, const char *bed);
const char *alarm_bed_name(const AlarmBed *b);

/* Copies p (NULL: technical defaults, no rules).  Conditions whose rule name
 * survives keep their occurrence (id, state, priority) and are judged anew
 * against the new limits; present conditions whose rule disappeared end
 * (INACTIVE, detail "rule removed from profile") at the next tick or reading,
 * since this call carries no time. */
void alarm_bed_set_profile(AlarmBed *b, const AlarmProfile *p);
const AlarmProfile *alarm_bed_get_profile(const AlarmBed *b);

/* open=false ends the session-bound conditions (see above).  phase:
 * "baseline", "infusion", "recovery" (NULL = "baseline"); NIBP_OVERDUE
 * applies only in "infusion" and counts from the later of the phase change
 * and the last NIBP measurement.  Leaving "infusion" ends NIBP_OVERDUE. */
void alarm_bed_set_session(AlarmBed *b, bool open, const char *phase, int64_t mono_ns,
                           int64_t wall_ns);

/* How often the bed's devices report a parameter (the driver's
 * ParamPeriod, scaled to the device's configured rate); the shortest wins
 * when two devices report it.  Episodic parameters are never declared.
 * clear_periods forgets them all (a reload re-declares them).  0, -EINVAL
 * (no name, period 0), -ENOSPC (more than ALARM_PERIODS_MAX). */
int alarm_bed_set_period(AlarmBed *b, const char *parameter, uint64_t period_usec);
void alarm_bed_clear_periods(AlarmBed *b);

/* Every reading of the bed, any parameter, any status.  Any reading clears
 * NO_DATA (through the latch table), a reading of P clears NO_DATA_<P>.
 * Only parameters some rule uses are judged and watched for SENSOR_OFF and
 * NO_DATA_<P>; any valid new episodic measurement (NIBP_*) resets
 * NIBP_OVERDUE. */
void alarm_bed_reading(AlarmBed *b, const Reading *r, int64_t mono_ns, int64_t wall_ns);

/* Delays, off-delays, NO_DATA, SENSOR_OFF, NIBP_OVERDUE, escalation,
 * reminders, silence expiry.  Call at least once a second, or at
 * alarm_engine_next_deadline(). */
void alarm_bed_tick(AlarmBed *b, int64_t mono_ns, int64_t wall_ns);
void alarm_engine_tick(AlarmEngine *e, int64_t mono_ns, int64_t wall_ns);

/* Earliest monotonic time at which a tick would change something; INT64_MAX
 * when nothing is pending (0 when something is due now).  Lets the daemon
 * arm one timer so transitions happen at their exact time. */
int64_t alarm_bed_next_deadline(const AlarmBed *b);
int64_t alarm_engine_next_deadline(const AlarmEngine *e);

/* Call once per tick with a fresh pair of clocks.  When wall - mono moved
 * by more than ALARM_CLOCK_JUMP_NS since the previous call, every bed
 * raises CLOCK_JUMP (or, while present, takes the new step as its detail
 * and holds it again) and the step is returned (signed, ns; the caller
 * logs it); otherwise 0.  The first call only takes the offset. */
int64_t alarm_engine_clock(AlarmEngine *e, int64_t mono_ns, int64_t wall_ns);

/* Technical conditions of the core (ALARM_COND_DEVICE_DISCONNECTED, ...;
 * any valid name that is not a rule and not NO_DATA, NO_DATA_*,
 * SENSOR_OFF_*, NIBP_OVERDUE or CLOCK_JUMP).  present=true raises it (a higher prio while present
 * raises its priority with an ESCALATED event; priorities never drop within
 * an occurrence); present=false clears it at once, through the latch table.
 * 0, -EINVAL (bad name or prio), -ENOSPC (bed full). */
int alarm_bed_technical(AlarmBed *b, const char *condition, AlarmPriority prio, bool present,
                        const char *detail, int64_t mono_ns, int64_t wall_ns);

/* True while the bed's condition of that name is active or acknowledged. */
bool alarm_bed_present(const AlarmBed *b, const char *condition);

/* ACTIVE → ACKNOWLEDGED; LATCHED → INACTIVE (RESET).  0, -ENOENT (unknown
 * or inactive id), -EALREADY (already acknowledged), -EINVAL (no actor). */
int alarm_engine_ack(AlarmEngine *e, int64_t alarm_id, const char *actor, int64_t mono_ns,
                     int64_t wall_ns);
/* Acknowledges every ACTIVE and LATCHED alarm of a bed (NULL: all beds), as
 * the console's "acknowledge" key does.  Returns how many, or -ENOENT
 * (unknown bed), -EINVAL. */
int alarm_engine_ack_all(AlarmEngine *e, const char *bed, const char *actor, int64_t mono_ns,
                         int64_t wall_ns);

/* Audio silence for one bed or all beds (bed == NULL): lasts
 * min(duration, profile silence_max, 120 s).  A new condition (first ACTIVE,
 * or a LATCHED one returning) of higher priority than the highest alarm
 * present when the silence began breaks through: SILENCE_BROKEN, then its
 * ACTIVE, both announced.  With nothing present, any new condition breaks
 * through.  A new request while silenced restarts the period (same silence
 * id).  0, -EINVAL (duration 0, no actor), -ENOENT (unknown bed). */
int alarm_engine_silence(AlarmEngine *e, const char *bed, uint64_t duration_usec, const char *actor,
                         int64_t mono_ns, int64_t wall_ns);
bool alarm_bed_silenced(const AlarmBed *b, int64_t mono_ns, uint64_t *ret_remaining_usec);

typedef struct AlarmInfo {
        int64_t id;
        char bed[ALARM_BED_NAME_MAX];
        char condition[ALARM_CONDITION_MAX];
        bool technical;
        AlarmPriority priority;      /* current */
        AlarmPriority base_priority; /* before escalation */
        AlarmState state_code;
        const char *state; /* alarm_state_to_string(state_code) */
        bool present;      /* false when latched */
        double value, limit;
        int64_t since_mono_ns, since_wall_ns;  /* first ACTIVE of this occurrence */
        char acknowledged_by[ALARM_ACTOR_MAX]; /* "" unless acknowledged */
        char detail[ALARM_DETAIL_MAX];
} AlarmInfo;

/* Alarms that are not INACTIVE, of one bed or all, ordered by priority
 * (high first), then activation time, then id.  Fills at most max entries
 * and returns how many there are in all. */
size_t alarm_engine_list(AlarmEngine *e, const char *bed_or_null, AlarmInfo *out, size_t max);
/* The same for the given beds (NULL entries skipped), without a search by name. */
size_t alarm_beds_list(const AlarmBed *const *beds, size_t n_beds, AlarmInfo *out, size_t max);
