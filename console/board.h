/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * board.h — the nurse console's picture of the daemon: beds, sessions,
 * devices, the latest HR/SpO2/NIBP, alarms and audio silences.
 *
 * Built from one `status` reply, then kept current by the pushed events
 * (`readings`, `device`, `alarm`, `session`, `marker`); every later `status`
 * reply replaces it wholesale, so a missed or misread event cannot make the
 * picture drift for longer than one refresh.  Pure: no I/O, no terminal, no
 * clock (callers pass the time in), fixed-size tables, so it is unit-tested
 * row by row (tests/unit/test-board.c).  Fields the daemon leaves out are
 * absent here, never invented.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define BOARD_BEDS_MAX 32
#define BOARD_ALARMS_MAX 128
#define BOARD_DEVICES_MAX 4
#define BOARD_NAME_MAX 64

/* A continuous value (HR, SpO2) older than this is not shown as current,
 * whatever the device state says: 60 s is the longest record interval a
 * monitor may be configured for, plus slack for one late record. */
#define BOARD_CONTINUOUS_CURRENT_SEC 75

typedef enum BoardParam {
        BOARD_HR,
        BOARD_PR,
        BOARD_SPO2,
        BOARD_NIBP_SYS,
        BOARD_NIBP_DIA,
        BOARD_NIBP_MEAN,
        _BOARD_PARAM_MAX,
} BoardParam;

/* Catalogue names: "HR", "PR", "SPO2", "NIBP_SYS", ...; -1 for others. */
int board_param_from_name(const char *name);

typedef struct BoardValue {
        bool known;      /* a reading of this parameter has been seen */
        bool usable;     /* status valid or questionable, with a finite value */
        double value;    /* when usable */
        char status[24]; /* "valid", "unavailable", "invalid", ... */
        int64_t time_ns; /* host wall time of the reading; 0 unknown */
} BoardValue;

typedef struct BoardDevice {
        char name[BOARD_NAME_MAX];
        char state[16]; /* "connecting" "live" "stale" "disconnected" */
        int64_t since_ns;
        char last_error[96];
} BoardDevice;

typedef struct BoardSession {
        bool open;
        int64_t id;
        char patient_ref[BOARD_NAME_MAX];
        char phase[16]; /* "baseline" "infusion" "recovery" */
        char profile[BOARD_NAME_MAX];
        int64_t started_ns;
        bool automatic;
} BoardSession;

typedef struct BoardBed {
        char name[BOARD_NAME_MAX];
        BoardSession session;
        BoardDevice devices[BOARD_DEVICES_MAX];
        size_t n_devices;
        BoardValue values[_BOARD_PARAM_MAX];
        int64_t silenced_until_ns; /* 0: not silenced */
} BoardBed;

typedef enum BoardPriority {
        BOARD_PRIO_NONE,
        BOARD_PRIO_LOW,
        BOARD_PRIO_MEDIUM,
        BOARD_PRIO_HIGH,
} BoardPriority;

typedef enum BoardAlarmState {
        BOARD_ALARM_ACTIVE,       /* present, unacknowledged */
        BOARD_ALARM_ACKNOWLEDGED, /* present, acknowledged */
        BOARD_ALARM_LATCHED,      /* gone, never acknowledged */
} BoardAlarmState;

typedef struct BoardAlarm {
        int64_t id; /* what `ack` takes */
        char bed[BOARD_NAME_MAX];
        char condition[32];
        bool technical;
        BoardPriority priority;
        BoardAlarmState state;
        double value, limit; /* NAN when the daemon gave none */
        int64_t since_ns;    /* first activation */
        char acknowledged_by[32];
        char detail[96];
} BoardAlarm;

typedef struct Board {
        BoardBed beds[BOARD_BEDS_MAX];
        size_t n_beds;
        BoardAlarm alarms[BOARD_ALARMS_MAX]; /* by priority (high first), then since, then id */
        size_t n_alarms;
        bool have_status; /* one status reply has been applied */
        char version[32]; /* the daemon's */
        bool store_ok;    /* the session log accepts writes */
        char store_error[96];
} Board;

/* What an event means for the console beyond the picture. */
typedef struct BoardNotice {
        bool bell;         /* an alarm event the daemon says to announce */
        char message[160]; /* a line for the status line ("" for none) */
} BoardNotice;

void board_init(Board *b);

/* Replaces the picture with a status reply.  -EBADMSG when reply is not a
 * successful status reply (the board is then left as it was). */
int board_apply_status(Board *b, json_object *reply);

/* Applies one pushed event.  0 (applied or ignored: unknown types and
 * malformed events change nothing), notice filled in either case. */
int board_apply_event(Board *b, json_object *event, BoardNotice *notice);

BoardBed *board_bed_find(Board *b, const char *name);
const BoardAlarm *board_alarm_find(const Board *b, int64_t id);
/* Index of alarm id in b->alarms, or -1. */
int board_alarm_index(const Board *b, int64_t id);

/* The bed's device state as one word: the best of its devices ("live"
 * beats "stale" beats "connecting" beats "disconnected"), "none" without
 * devices. */
const char *board_bed_device_state(const BoardBed *bed);

/* Whether a value may be shown as current at now_ns: usable, the bed has a
 * live device, and (for HR, PR and SpO2) not older than
 * BOARD_CONTINUOUS_CURRENT_SEC.  The caller adds "the console is connected". */
bool board_value_current(const BoardBed *bed, BoardParam p, int64_t now_ns);

/* Seconds of silence left at now_ns, 0 when not silenced. */
int64_t board_bed_silence_left_sec(const BoardBed *bed, int64_t now_ns);

/* Highest priority among the bed's active or latched alarms (acknowledged
 * ones count as BOARD_PRIO_NONE: somebody is on it). */
BoardPriority board_bed_alarm_priority(const Board *b, const char *bed);

/* True when an unacknowledged (active or latched) high-priority alarm of a
 * bed that is not silenced exists: the console repeats its bell. */
bool board_needs_repeat_bell(const Board *b, int64_t now_ns);

const char *board_priority_marker(BoardPriority p); /* "***" "**" "*" "" */
const char *board_priority_name(BoardPriority p);   /* "high" "medium" "low" "none" */
const char *board_alarm_state_name(BoardAlarmState s);
