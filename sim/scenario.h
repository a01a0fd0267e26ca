/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scenario.h — vitals-sim scenario files: parse text into a Scenario, then ask
 * what a bedside monitor would report at a given scenario time.
 *
 * Pure code: no I/O, no globals, no logging.  The file format is documented
 * at the top of scenario.c and in sim/scenarios/README.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ge_s5.h"

/* Continuous parameters a scenario can set, ramp and override. */
typedef enum ScenarioParam {
        SCENARIO_HR,       /* ECG heart rate, 1/min */
        SCENARIO_PR,       /* pulse rate from the oximeter, 1/min; follows hr when never set */
        SCENARIO_SPO2,     /* % */
        SCENARIO_NIBP_SYS, /* what the cuff would measure now, mmHg ("nibp auto" uses it) */
        SCENARIO_NIBP_DIA, /* mmHg */
        SCENARIO_TEMP,     /* temperature T1, °C */
        SCENARIO_ETCO2,    /* end-tidal CO2, % (GE reports CO2 in %) */
        SCENARIO_RR,       /* respiration rate from CO2, 1/min */
        _SCENARIO_PARAM_MAX,
        _SCENARIO_PARAM_INVALID = -1,
} ScenarioParam;

/* Signal groups a sensor-off window can disconnect. */
typedef enum ScenarioSensor {
        SCENARIO_SENSOR_ECG,  /* hr */
        SCENARIO_SENSOR_SPO2, /* spo2 and pr */
        SCENARIO_SENSOR_NIBP, /* the cuff: nibp values become DISCONT */
        SCENARIO_SENSOR_TEMP,
        SCENARIO_SENSOR_CO2, /* etco2 and rr */
        _SCENARIO_SENSOR_MAX,
        _SCENARIO_SENSOR_INVALID = -1,
} ScenarioSensor;

/* NIBP label bits, 8005313 Table 3-18 (PROTOCOLS.md §3.2).  Real S/5 streams
 * (../shared/captures/ge-s5/db00.raw) show the sequence: 0x10b while the last
 * result is older than 60 s, 0x12b when a cycle starts, new values with 0x2b
 * about 30 s later, then 0x0b. */
#define SCENARIO_NIBP_AUTO (UINT32_C(1) << 3)
#define SCENARIO_NIBP_STAT (UINT32_C(1) << 4)
#define SCENARIO_NIBP_MEASURING (UINT32_C(1) << 5)
#define SCENARIO_NIBP_OLDER_60S (UINT32_C(1) << 8)

/* Group status_bits: the group exists and is active (8005313 §3.3.3). */
#define SCENARIO_GROUP_EXISTS_ACTIVE UINT32_C(0x3)

typedef enum ScenarioEventType {
        SCENARIO_EVENT_GARBAGE, /* send `count` random bytes (never 0x7E/0x7D) between frames */
        SCENARIO_EVENT_DAMAGE,  /* the next `count` frames go out with one flipped bit */
        SCENARIO_EVENT_NOTE,    /* print `text` on stderr (a label for the demo) */
        SCENARIO_EVENT_DROP,    /* Modbus TCP: close every client connection */
        _SCENARIO_EVENT_TYPE_MAX,
} ScenarioEventType;

#define SCENARIO_TEXT_MAX 128

/* An instantaneous happening; the simulator acts on it before the first
 * record at or after `time_s`. */
typedef struct ScenarioEvent {
        ScenarioEventType type;
        double time_s;
        unsigned count;
        char text[SCENARIO_TEXT_MAX];
        unsigned line;
} ScenarioEvent;

typedef struct Scenario Scenario;

/* What the monitor reports at one moment. */
typedef struct ScenarioSample {
        GeS5Basic basic;     /* values in monitor units; basic.time is left 0 for the caller */
        uint32_t nibp_label; /* SCENARIO_NIBP_* bits */
        bool silent;         /* a silence or hangup window: send nothing */
        bool hangup;         /* a hangup window: the cable is pulled */
        bool nibp_measuring;
        bool nibp_new; /* the NIBP result is at most one interval old (for logs) */
        bool ended;    /* t is past the end; values are frozen at the end */
        /* Modbus faults (the GE S/5 simulator ignores them). */
        unsigned modbus_exception; /* answer with this exception code; 0: none */
        double modbus_delay_s;     /* answer this late; 0: at once */
        bool modbus_bad_crc;       /* RTU: answer with a wrong CRC */
} ScenarioSample;

/* Parses a whole scenario text.  `name` is used in error messages only.  On
 * error returns -EINVAL (or -ENOMEM) and writes "name:line: what is wrong" to
 * error (when non-NULL). */
int scenario_parse(const char *text, const char *name, Scenario **ret, char *error,
                   size_t error_size);
Scenario *scenario_free(Scenario *s);

double scenario_interval_s(const Scenario *s);
double scenario_end_s(const Scenario *s);
double scenario_nibp_duration_s(const Scenario *s);
bool scenario_require_request(const Scenario *s);

/* Sorted by time (file order among equal times). */
const ScenarioEvent *scenario_events(const Scenario *s, size_t *ret_n);

/* Completed NIBP measurements, sorted by start time, after cycle expansion and
 * suppression (overlap, stale-nibp windows).  For tests and --help output. */
size_t scenario_nibp_count(const Scenario *s);
int scenario_nibp_get(const Scenario *s, size_t i, double *ret_start_s, double *ret_result_s);

/* The monitor's view at scenario time t_s (>= 0).  seed drives the optional
 * noise; the same seed and t_s always give the same sample. */
int scenario_sample(const Scenario *s, double t_s, uint64_t seed, ScenarioSample *ret);

/* The underlying value of a parameter at t_s without noise, overrides
 * included; NaN when the parameter is not reported at that time. */
double scenario_param_value(const Scenario *s, ScenarioParam p, double t_s);

const char *scenario_param_to_string(ScenarioParam p);
ScenarioParam scenario_param_from_string(const char *s);

/* "90", "90s", "5m", "1.5h", "1:30", "1:02:03" → seconds.  -EINVAL if malformed. */
int scenario_parse_time(const char *s, double *ret_s);
/* Formats seconds as m:ss (or h:mm:ss). */
const char *scenario_format_time(double t_s, char *buf, size_t size);
