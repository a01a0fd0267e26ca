/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * scenario.c — what a simulated bedside monitor shows, and when.
 *
 * Owns the scenario file format (below, and sim/scenarios/README.md for
 * clinic staff) and its evaluation: scenario_sample() turns a scenario time
 * into the values, statuses and line behaviour a GE S/5 would report.  Pure
 * code: text in, Scenario out, no I/O and no logging; errors come back as
 * "file:line: what is wrong".  The same scenario, seed and time always give
 * the same sample, so tests can pin values at chosen times.
 *
 * FILE FORMAT
 *
 * One statement per line; '#' starts a comment; blank lines are ignored;
 * words are case-insensitive and '-' and '_' are interchangeable in them.
 * Times are scenario time: "90" or "90s" (seconds), "5m", "1.5h", "1:30"
 * (m:ss, minutes may exceed 59: "100:00"), "1:02:03" (h:mm:ss).
 *
 *   end TIME                   required: how long the scenario runs
 *   interval TIME              time between DISPL records (default 5 s; 1 s..60 s)
 *   nibp-duration TIME         how long a cuff measurement takes (default 30 s)
 *   require-request yes|no     send nothing until the host's request arrives
 *                              (default no); the clock starts at that request
 *   noise PARAM AMOUNT ...     uniform noise of ±AMOUNT on every record
 *
 *   at TIME ITEM... [for DURATION]
 *       PARAM VALUE            set a value (with "for": a temporary override,
 *                              after which the ramped/previous value returns)
 *       nibp SYS/DIA[/MEAN]    start a cuff measurement with this result
 *       nibp auto              start a measurement of the current nibp_sys/nibp_dia
 *       sensor-off SENSOR      report DISCONT (sensor off) for SENSOR;
 *                              without "for": until "sensor-on SENSOR" or the end
 *       sensor-on SENSOR       end an open sensor-off
 *       module-off SENSOR      the module is taken out: its values are not in the
 *                              records at all (the group does not exist); without
 *                              "for": until "module-on SENSOR" or the end
 *       module-on SENSOR       end an open module-off
 *       silence                send nothing (the line stays up)
 *       hangup                 cable pulled: the line goes down (see vitals-sim --help)
 *       stale-nibp             no new cuff measurement starts; the last result
 *                              repeats marked "older than 60 s"
 *       garbage N              N random bytes between two frames (never 0x7E/0x7D)
 *       damage N               the next N frames are sent with one bit flipped
 *       note TEXT              print TEXT on stderr when reached (rest of the line)
 *     Modbus faults (vitals-sim --protocol modbus-tcp|modbus-rtu; the GE S/5
 *     simulator ignores them):
 *       exception CODE         answer every request with exception CODE (1..255)
 *       delay TIME             answer TIME late (a newer request replaces a
 *                              pending answer)
 *       bad-crc                RTU: answers carry a wrong CRC
 *       drop                   close every TCP connection (an RTU line: use hangup)
 *
 *   ramp T1-T2 PARAM [FROM]->TO ...
 *                              linear change from T1 to T2, then TO holds; without
 *                              FROM the ramp starts at the value PARAM has at T1
 *
 *   every PERIOD [from T] [until T] ITEM
 *                              repeat ITEM (nibp auto, nibp S/D[/M], garbage N,
 *                              damage N) at T, T+PERIOD, ... before "until"
 *                              (default: from 0:00 until the end)
 *
 * PARAM: hr, pr, spo2, nibp_sys, nibp_dia, temp, etco2, rr (units: 1/min,
 * %, mmHg, °C, %, 1/min).  pr follows hr when the file never sets it.
 * SENSOR: ecg, spo2, nibp, temp, co2.
 *
 * Evaluation: for each parameter the latest "at"/"ramp" starting at or
 * before t gives the base value; an active override (at ... for) wins over
 * it.  Values are rounded to the monitor's resolution (1 for hr/pr/spo2/
 * nibp/rr, 0.1 for temp/etco2) after noise.  NIBP copies a real S/5
 * (../shared/captures/ge-s5/db00.raw): a measurement started at T sets the
 * "measuring" label bit until T+duration; the new values replace the
 * previous result 2 s before that; between measurements the last result
 * repeats, marked "older than 60 s" once it is; AUTO is set while an
 * "every ... nibp" cycle runs.  A measurement that would start while
 * another is running, or in a stale-nibp or sensor-off nibp window, is
 * dropped.  After "end" the values stay frozen at their end state.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "scenario.h"

#define LINE_MAX_CHARS 1024
#define TOKENS_MAX 64
#define EXPANDED_MAX 100000    /* measurements and events from "every" lines */
#define NIBP_VALUES_LEAD_S 2.0 /* new values show this long before "measuring" clears */
#define NIBP_OLD_AFTER_S 60.0  /* 8005313 Table 3-18 "data older than 60 s" */
#define TIME_EPSILON 1e-9

typedef enum SegmentKind {
        SEGMENT_SET,
        SEGMENT_RAMP,
        SEGMENT_OVERRIDE,
} SegmentKind;

typedef struct Segment {
        SegmentKind kind;
        ScenarioParam param;
        double start_s;
        double end_s; /* ramp: when TO is reached; override: end of the window */
        double from, to;
        bool from_current; /* ramp "->TO": from resolved in finalize */
        unsigned line;
        unsigned order;
} Segment;

typedef enum WindowKind {
        WINDOW_SENSOR_OFF,
        WINDOW_SILENCE,
        WINDOW_HANGUP,
        WINDOW_STALE_NIBP,
        WINDOW_MODULE_OFF, /* the parameter is not reported at all */
        WINDOW_EXCEPTION, /* Modbus: answer with exception `arg` */
        WINDOW_DELAY,     /* Modbus: answer `arg` seconds late */
        WINDOW_BAD_CRC,   /* Modbus RTU: answer with a wrong CRC */
} WindowKind;

typedef struct Window {
        WindowKind kind;
        ScenarioSensor sensor;
        double start_s, end_s; /* end_s INFINITY while open-ended */
        bool open_ended;
        double arg; /* WINDOW_EXCEPTION: the code; WINDOW_DELAY: seconds */
        unsigned line;
} Window;

typedef struct SensorOn {
        WindowKind kind; /* the window it closes: WINDOW_SENSOR_OFF or WINDOW_MODULE_OFF */
        ScenarioSensor sensor;
        double time_s;
} SensorOn;

typedef struct NibpSpec {
        bool automatic;
        double sys, dia, mean; /* mmHg; mean NAN when to be computed */
} NibpSpec;

typedef struct NibpMeasurement {
        double start_s;
        NibpSpec spec;
        bool from_cycle;
        unsigned line;
        unsigned order;
} NibpMeasurement;

typedef enum RepeatKind {
        REPEAT_NIBP,
        REPEAT_GARBAGE,
        REPEAT_DAMAGE,
} RepeatKind;

typedef struct Repeat {
        RepeatKind kind;
        double period_s, from_s, until_s;
        bool has_until;
        NibpSpec nibp;
        unsigned count;
        unsigned line;
} Repeat;

struct Scenario {
        double interval_s;
        double end_s;
        double nibp_duration_s;
        bool have_end;
        bool require_request;
        double noise[_SCENARIO_PARAM_MAX];
        bool param_used[_SCENARIO_PARAM_MAX];
        bool nibp_used;

        Segment *segments;
        size_t n_segments, cap_segments;
        Window *windows;
        size_t n_windows, cap_windows;
        SensorOn *sensor_ons;
        size_t n_sensor_ons, cap_sensor_ons;
        ScenarioEvent *events;
        size_t n_events, cap_events;
        NibpMeasurement *nibp;
        size_t n_nibp, cap_nibp;
        Repeat *repeats;
        size_t n_repeats, cap_repeats;

        unsigned next_order;
};

/* --- Parameter table ------------------------------------------------------ */

typedef struct ParamInfo {
        const char *name;
        const char *alias;
        double min, max;
        double resolution; /* the monitor shows values in these steps */
        ScenarioSensor sensor;
} ParamInfo;

static const ParamInfo param_info[_SCENARIO_PARAM_MAX] = {
    [SCENARIO_HR] = {"hr", NULL, 0, 300, 1, SCENARIO_SENSOR_ECG},
    [SCENARIO_PR] = {"pr", NULL, 0, 300, 1, SCENARIO_SENSOR_SPO2},
    [SCENARIO_SPO2] = {"spo2", NULL, 0, 100, 1, SCENARIO_SENSOR_SPO2},
    [SCENARIO_NIBP_SYS] = {"nibp_sys", NULL, 0, 300, 1, SCENARIO_SENSOR_NIBP},
    [SCENARIO_NIBP_DIA] = {"nibp_dia", NULL, 0, 300, 1, SCENARIO_SENSOR_NIBP},
    [SCENARIO_TEMP] = {"temp", "t1", 0, 50, 0.1, SCENARIO_SENSOR_TEMP},
    [SCENARIO_ETCO2] = {"etco2", NULL, 0, 20, 0.1, SCENARIO_SENSOR_CO2},
    [SCENARIO_RR] = {"rr", NULL, 0, 150, 1, SCENARIO_SENSOR_CO2},
};

/* Words compare case-insensitively with '-' and '_' the same. */
static bool word_eq(const char *a, const char *b)
{
        for (;; a++, b++) {
                char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

                if (x >= 'A' && x <= 'Z')
                        x = (char)(x - 'A' + 'a');
                if (y >= 'A' && y <= 'Z')
                        y = (char)(y - 'A' + 'a');
                if (x != y)
                        return false;
                if (x == '\0')
                        return true;
        }
}

const char *scenario_param_to_string(ScenarioParam p)
{
        if (p < 0 || p >= _SCENARIO_PARAM_MAX)
                return NULL;
        return param_info[p].name;
}

ScenarioParam scenario_param_from_string(const char *s)
{
        if (!s)
                return _SCENARIO_PARAM_INVALID;
        for (int p = 0; p < _SCENARIO_PARAM_MAX; p++)
                if (word_eq(s, param_info[p].name) ||
                    (param_info[p].alias && word_eq(s, param_info[p].alias)))
                        return (ScenarioParam)p;
        return _SCENARIO_PARAM_INVALID;
}

static ScenarioSensor sensor_from_string(const char *s)
{
        static const struct {
                const char *word;
                ScenarioSensor sensor;
        } words[] = {
            {"ecg", SCENARIO_SENSOR_ECG},   {"hr", SCENARIO_SENSOR_ECG},
            {"spo2", SCENARIO_SENSOR_SPO2}, {"pr", SCENARIO_SENSOR_SPO2},
            {"nibp", SCENARIO_SENSOR_NIBP}, {"cuff", SCENARIO_SENSOR_NIBP},
            {"temp", SCENARIO_SENSOR_TEMP}, {"t1", SCENARIO_SENSOR_TEMP},
            {"co2", SCENARIO_SENSOR_CO2},   {"etco2", SCENARIO_SENSOR_CO2},
            {"rr", SCENARIO_SENSOR_CO2},
        };

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (word_eq(s, words[i].word))
                        return words[i].sensor;
        return _SCENARIO_SENSOR_INVALID;
}

/* --- Numbers and times ------------------------------------------------------ */

static int parse_number(const char *s, double *ret)
{
        char *end = NULL;
        double v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_unsigned(const char *s, unsigned max, unsigned *ret)
{
        char *end = NULL;
        unsigned long v;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v > max)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

/* A run of digits with an optional fraction; no sign, no exponent. */
static int parse_plain_decimal(const char *s, size_t n, double *ret)
{
        char buf[32];
        bool dot = false, digit = false;

        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '.' && !dot)
                        dot = true;
                else if (s[i] >= '0' && s[i] <= '9')
                        digit = true;
                else
                        return -EINVAL;
        }
        if (!digit)
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return parse_number(buf, ret);
}

int scenario_parse_time(const char *s, double *ret_s)
{
        const char *colon1, *colon2;
        double a, b, c;
        size_t n;

        if (!s || !*s || !ret_s)
                return -EINVAL;

        colon1 = strchr(s, ':');
        if (!colon1) {
                double mult = 1;

                n = strlen(s);
                if (n > 3 && strcasecmp(s + n - 3, "min") == 0) {
                        mult = 60;
                        n -= 3;
                } else if (n > 1 && (s[n - 1] == 's' || s[n - 1] == 'S'))
                        n--;
                else if (n > 1 && (s[n - 1] == 'm' || s[n - 1] == 'M')) {
                        mult = 60;
                        n--;
                } else if (n > 1 && (s[n - 1] == 'h' || s[n - 1] == 'H')) {
                        mult = 3600;
                        n--;
                }
                if (parse_plain_decimal(s, n, &a) < 0)
                        return -EINVAL;
                *ret_s = a * mult;
                return 0;
        }

        colon2 = strchr(colon1 + 1, ':');
        if (colon2 && strchr(colon2 + 1, ':'))
                return -EINVAL;

        /* Leading fields are whole numbers, the last may have a fraction. */
        for (const char *p = s; p < colon1; p++)
                if (*p < '0' || *p > '9')
                        return -EINVAL;
        if (parse_plain_decimal(s, (size_t)(colon1 - s), &a) < 0)
                return -EINVAL;

        if (!colon2) {
                n = strlen(colon1 + 1);
                if (n < 2 || parse_plain_decimal(colon1 + 1, n, &b) < 0 || b >= 60)
                        return -EINVAL;
                *ret_s = a * 60 + b;
                return 0;
        }

        if (colon2 - colon1 - 1 != 2)
                return -EINVAL;
        for (const char *p = colon1 + 1; p < colon2; p++)
                if (*p < '0' || *p > '9')
                        return -EINVAL;
        if (parse_plain_decimal(colon1 + 1, 2, &b) < 0 || b >= 60)
                return -EINVAL;
        n = strlen(colon2 + 1);
        if (n < 2 || parse_plain_decimal(colon2 + 1, n, &c) < 0 || c >= 60)
                return -EINVAL;
        *ret_s = a * 3600 + b * 60 + c;
        return 0;
}

const char *scenario_format_time(double t_s, char *buf, size_t size)
{
        long whole;
        double frac;

        if (!buf || size == 0)
                return NULL;
        if (!isfinite(t_s)) {
                snprintf(buf, size, "never");
                return buf;
        }
        if (t_s < 0)
                t_s = 0;
        whole = (long)floor(t_s + TIME_EPSILON);
        frac = t_s - (double)whole;
        if (whole >= 3600)
                snprintf(buf, size, "%ld:%02ld:%02ld", whole / 3600, whole / 60 % 60, whole % 60);
        else
                snprintf(buf, size, "%ld:%02ld", whole / 60, whole % 60);
        if (frac > 0.05) {
                size_t len = strlen(buf);

                if (len + 3 < size)
                        snprintf(buf + len, size - len, ".%d", (int)lround(frac * 10) % 10);
        }
        return buf;
}

/* --- Growing arrays --------------------------------------------------------- */

static void *grow(void *array, size_t *cap, size_t n, size_t elem)
{
        size_t new_cap;
        void *p;

        if (n < *cap)
                return array;
        new_cap = *cap ? *cap * 2 : 16;
        p = reallocarray(array, new_cap, elem);
        if (!p)
                return NULL;
        *cap = new_cap;
        return p;
}

#define APPEND(s, field, value)                                                                    \
        ({                                                                                         \
                int _r = 0;                                                                        \
                void *_p =                                                                         \
                    grow((s)->field, &(s)->cap_##field, (s)->n_##field, sizeof((s)->field[0]));    \
                if (!_p)                                                                           \
                        _r = -ENOMEM;                                                              \
                else {                                                                             \
                        (s)->field = _p;                                                           \
                        (s)->field[(s)->n_##field++] = (value);                                    \
                }                                                                                  \
                _r;                                                                                \
        })

/* --- Parser ------------------------------------------------------------------ */

typedef struct Token {
        char text[LINE_MAX_CHARS];
        size_t offset; /* in the line, for "note" */
} Token;

typedef struct Parser {
        Scenario *s;
        const char *name;
        unsigned line;
        const char *raw; /* the current line, comment removed */
        Token tokens[TOKENS_MAX];
        size_t n;
        char *error;
        size_t error_size;
} Parser;

static int fail(Parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(Parser *p, const char *fmt, ...)
{
        va_list ap;
        int len;

        if (!p->error || p->error_size == 0)
                return -EINVAL;
        len = snprintf(p->error, p->error_size, "%s:%u: ", p->name, p->line);
        if (len < 0 || (size_t)len >= p->error_size)
                return -EINVAL;
        va_start(ap, fmt);
        vsnprintf(p->error + len, p->error_size - (size_t)len, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int fail_oom(Parser *p)
{
        if (p->error && p->error_size > 0)
                snprintf(p->error, p->error_size, "%s: out of memory", p->name);
        return -ENOMEM;
}

/* Splits the line into words; "->" and "=" are words of their own. */
static int tokenize(Parser *p, const char *line)
{
        size_t i = 0, len = strlen(line);

        p->n = 0;
        while (i < len) {
                size_t start, n;

                if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
                        i++;
                        continue;
                }
                if (p->n >= TOKENS_MAX)
                        return fail(p, "too many words on one line (at most %d)", TOKENS_MAX);
                start = i;
                if (line[i] == '=')
                        i++;
                else if (line[i] == '-' && line[i + 1] == '>')
                        i += 2;
                else
                        while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
                               line[i] != '=' && !(line[i] == '-' && line[i + 1] == '>'))
                                i++;
                n = i - start;
                memcpy(p->tokens[p->n].text, line + start, n);
                p->tokens[p->n].text[n] = '\0';
                p->tokens[p->n].offset = start;
                p->n++;
        }
        return 0;
}

static const char *tok(Parser *p, size_t i)
{
        return i < p->n ? p->tokens[i].text : NULL;
}

static int expect_time(Parser *p, size_t i, const char *what, double *ret)
{
        const char *t = tok(p, i);

        if (!t)
                return fail(p, "%s: a time is missing (e.g. 5:00 or 90s)", what);
        if (scenario_parse_time(t, ret) < 0)
                return fail(p, "%s: '%s' is not a time (write 90, 90s, 5m, 1:30 or 1:02:03)", what,
                            t);
        return 0;
}

static int expect_duration(Parser *p, size_t i, const char *what, double *ret)
{
        int r = expect_time(p, i, what, ret);

        if (r < 0)
                return r;
        if (*ret <= 0)
                return fail(p, "%s: the duration must be longer than 0", what);
        return 0;
}

static int check_value(Parser *p, ScenarioParam param, const char *text, double *ret)
{
        const ParamInfo *info = &param_info[param];
        double v;

        if (!text)
                return fail(p, "%s: a value is missing", info->name);
        if (parse_number(text, &v) < 0)
                return fail(p, "%s: '%s' is not a number", info->name, text);
        if (v < info->min || v > info->max)
                return fail(p, "%s %s is out of range (%g..%g)", info->name, text, info->min,
                            info->max);
        *ret = v;
        return 0;
}

/* "128/82" or "128/82/97" or "auto". */
static int parse_nibp_spec(Parser *p, const char *text, NibpSpec *ret)
{
        char buf[LINE_MAX_CHARS], *parts[4] = {0}, *save = NULL, *q;
        size_t n = 0;
        double v[3];

        if (!text)
                return fail(p, "nibp: expected SYS/DIA, SYS/DIA/MEAN or 'auto'");
        if (word_eq(text, "auto")) {
                *ret = (NibpSpec){.automatic = true, .mean = NAN};
                return 0;
        }

        snprintf(buf, sizeof(buf), "%s", text);
        for (q = strtok_r(buf, "/", &save); q; q = strtok_r(NULL, "/", &save)) {
                if (n >= 3)
                        return fail(p, "nibp '%s': expected SYS/DIA or SYS/DIA/MEAN", text);
                parts[n++] = q;
        }
        if (n < 2 || strchr(text, '/') == text || strstr(text, "//"))
                return fail(p, "nibp '%s': expected SYS/DIA, SYS/DIA/MEAN or 'auto'", text);
        for (size_t i = 0; i < n; i++) {
                if (parse_number(parts[i], &v[i]) < 0)
                        return fail(p, "nibp '%s': '%s' is not a number", text, parts[i]);
                if (v[i] < 0 || v[i] > 300)
                        return fail(p, "nibp '%s': %s is out of range (0..300 mmHg)", text,
                                    parts[i]);
        }
        if (v[0] < v[1])
                return fail(p, "nibp '%s': systolic is below diastolic", text);
        if (n == 3 && (v[2] > v[0] || v[2] < v[1]))
                return fail(p, "nibp '%s': mean must lie between diastolic and systolic", text);
        *ret = (NibpSpec){.sys = v[0], .dia = v[1], .mean = n == 3 ? v[2] : NAN};
        return 0;
}

static int parse_bool(Parser *p, const char *what, const char *text, bool *ret)
{
        if (text && (word_eq(text, "yes") || word_eq(text, "true") || word_eq(text, "on") ||
                     strcmp(text, "1") == 0)) {
                *ret = true;
                return 0;
        }
        if (text && (word_eq(text, "no") || word_eq(text, "false") || word_eq(text, "off") ||
                     strcmp(text, "0") == 0)) {
                *ret = false;
                return 0;
        }
        return fail(p, "%s: expected yes or no", what);
}

/* "NAME [=] VALUE" with nothing after it. */
static int setting_value(Parser *p, const char **ret)
{
        size_t i = 1;

        if (tok(p, i) && strcmp(tok(p, i), "=") == 0)
                i++;
        if (!tok(p, i))
                return fail(p, "%s: a value is missing", tok(p, 0));
        if (tok(p, i + 1))
                return fail(p, "%s: unexpected '%s' after the value", tok(p, 0), tok(p, i + 1));
        *ret = tok(p, i);
        return 0;
}

static int parse_setting(Parser *p)
{
        Scenario *s = p->s;
        const char *key = tok(p, 0), *value = NULL;
        double t;
        int r;

        r = setting_value(p, &value);
        if (r < 0)
                return r;

        if (word_eq(key, "end")) {
                if (s->have_end)
                        return fail(p, "end: given twice");
                if (scenario_parse_time(value, &t) < 0 || t <= 0)
                        return fail(p, "end: '%s' is not a time after 0:00", value);
                s->end_s = t;
                s->have_end = true;
        } else if (word_eq(key, "interval")) {
                if (scenario_parse_time(value, &t) < 0)
                        return fail(p, "interval: '%s' is not a time", value);
                if (t < 1 || t > 60)
                        return fail(p, "interval: %s is out of range (1 s..60 s)", value);
                s->interval_s = t;
        } else if (word_eq(key, "nibp_duration")) {
                if (scenario_parse_time(value, &t) < 0)
                        return fail(p, "nibp-duration: '%s' is not a time", value);
                if (t < 5 || t > 180)
                        return fail(p, "nibp-duration: %s is out of range (5 s..3:00)", value);
                s->nibp_duration_s = t;
        } else if (word_eq(key, "require_request"))
                return parse_bool(p, "require-request", value, &s->require_request);
        else
                return fail(p, "unknown setting '%s'", key);
        return 0;
}

static int parse_noise(Parser *p)
{
        if (p->n < 3 || (p->n - 1) % 2 != 0)
                return fail(p, "noise: expected pairs of PARAM AMOUNT, e.g. 'noise hr 2 spo2 1'");
        for (size_t i = 1; i + 1 < p->n; i += 2) {
                ScenarioParam param = scenario_param_from_string(tok(p, i));
                double v;

                if (param == _SCENARIO_PARAM_INVALID)
                        return fail(p, "noise: unknown parameter '%s'", tok(p, i));
                if (parse_number(tok(p, i + 1), &v) < 0 || v < 0 || v > 50)
                        return fail(p, "noise %s: '%s' is not an amount between 0 and 50",
                                    tok(p, i), tok(p, i + 1));
                p->s->noise[param] = v;
        }
        return 0;
}

static int add_segment(Parser *p, Segment seg)
{
        seg.line = p->line;
        seg.order = p->s->next_order++;
        p->s->param_used[seg.param] = true;
        if (APPEND(p->s, segments, seg) < 0)
                return fail_oom(p);
        return 0;
}

static int add_window(Parser *p, WindowKind kind, ScenarioSensor sensor, double start_s,
                      double duration_s)
{
        Window w = {
            .kind = kind,
            .sensor = sensor,
            .start_s = start_s,
            .end_s = duration_s > 0 ? start_s + duration_s : INFINITY,
            .open_ended = duration_s <= 0,
            .line = p->line,
        };

        if (APPEND(p->s, windows, w) < 0)
                return fail_oom(p);
        return 0;
}

static int add_event(Parser *p, ScenarioEventType type, double t, unsigned count, const char *text)
{
        ScenarioEvent e = {.type = type, .time_s = t, .count = count, .line = p->line};

        if (text)
                snprintf(e.text, sizeof(e.text), "%s", text);
        if (APPEND(p->s, events, e) < 0)
                return fail_oom(p);
        return 0;
}

static int add_nibp(Parser *p, double start_s, NibpSpec spec, bool from_cycle)
{
        NibpMeasurement m = {
            .start_s = start_s,
            .spec = spec,
            .from_cycle = from_cycle,
            .line = p->line,
            .order = p->s->next_order++,
        };

        p->s->nibp_used = true;
        if (APPEND(p->s, nibp, m) < 0)
                return fail_oom(p);
        return 0;
}

/* at TIME ITEM... [for DURATION] */
static int parse_at(Parser *p)
{
        double t, duration = 0;
        size_t last = p->n, i;
        int r;

        r = expect_time(p, 1, "at", &t);
        if (r < 0)
                return r;
        if (p->n < 3)
                return fail(p, "at %s: nothing to do (e.g. 'at %s hr 80')", tok(p, 1), tok(p, 1));

        /* "note" takes the rest of the line verbatim, "for" included. */
        if (word_eq(tok(p, 2), "note")) {
                const char *text = p->raw + p->tokens[2].offset + 4;
                char buf[SCENARIO_TEXT_MAX];
                size_t n;

                while (*text == ' ' || *text == '\t')
                        text++;
                n = strlen(text);
                while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\r'))
                        n--;
                if (n == 0)
                        return fail(p, "note: the text is missing");
                if (n >= sizeof(buf))
                        n = sizeof(buf) - 1;
                memcpy(buf, text, n);
                buf[n] = '\0';
                return add_event(p, SCENARIO_EVENT_NOTE, t, 0, buf);
        }

        if (p->n >= 4 && word_eq(tok(p, p->n - 2), "for")) {
                r = expect_duration(p, p->n - 1, "for", &duration);
                if (r < 0)
                        return r;
                last = p->n - 2;
                if (last == 2)
                        return fail(p, "at %s: nothing to do for %s", tok(p, 1), tok(p, p->n - 1));
        }
        for (i = 2; i < last; i++)
                if (word_eq(tok(p, i), "for"))
                        return fail(p, "'for DURATION' must end the line");

        for (i = 2; i < last;) {
                const char *word = tok(p, i), *arg = i + 1 < last ? tok(p, i + 1) : NULL;
                ScenarioParam param = scenario_param_from_string(word);
                ScenarioSensor sensor;
                unsigned count;

                if (param != _SCENARIO_PARAM_INVALID) {
                        double v;

                        r = check_value(p, param, arg, &v);
                        if (r < 0)
                                return r;
                        r = add_segment(p,
                                        (Segment){
                                            .kind = duration > 0 ? SEGMENT_OVERRIDE : SEGMENT_SET,
                                            .param = param,
                                            .start_s = t,
                                            .end_s = duration > 0 ? t + duration : t,
                                            .to = v,
                                        });
                        if (r < 0)
                                return r;
                        i += 2;
                } else if (word_eq(word, "nibp")) {
                        NibpSpec spec;

                        if (duration > 0)
                                return fail(p, "'for' does not apply to nibp (a measurement "
                                               "result stays until the next one)");
                        r = parse_nibp_spec(p, arg, &spec);
                        if (r < 0)
                                return r;
                        r = add_nibp(p, t, spec, false);
                        if (r < 0)
                                return r;
                        i += 2;
                } else if (word_eq(word, "sensor_off") || word_eq(word, "sensor_on") ||
                           word_eq(word, "module_off") || word_eq(word, "module_on")) {
                        bool off = word_eq(word, "sensor_off") || word_eq(word, "module_off");
                        WindowKind kind = word_eq(word, "sensor_off") || word_eq(word, "sensor_on")
                                              ? WINDOW_SENSOR_OFF
                                              : WINDOW_MODULE_OFF;

                        sensor = arg ? sensor_from_string(arg) : _SCENARIO_SENSOR_INVALID;
                        if (sensor == _SCENARIO_SENSOR_INVALID)
                                return fail(p, "%s: expected a sensor (ecg, spo2, nibp, temp, co2)",
                                            word);
                        if (off)
                                r = add_window(p, kind, sensor, t, duration);
                        else if (duration > 0)
                                return fail(p, "'for' does not apply to %s", word);
                        else {
                                SensorOn on = {.kind = kind, .sensor = sensor, .time_s = t};

                                r = APPEND(p->s, sensor_ons, on) < 0 ? fail_oom(p) : 0;
                        }
                        if (r < 0)
                                return r;
                        i += 2;
                } else if (word_eq(word, "silence") || word_eq(word, "hangup") ||
                           word_eq(word, "stale_nibp")) {
                        WindowKind kind = word_eq(word, "silence")  ? WINDOW_SILENCE
                                          : word_eq(word, "hangup") ? WINDOW_HANGUP
                                                                    : WINDOW_STALE_NIBP;

                        r = add_window(p, kind, _SCENARIO_SENSOR_INVALID, t, duration);
                        if (r < 0)
                                return r;
                        i += 1;
                } else if (word_eq(word, "exception") || word_eq(word, "delay")) {
                        bool exception = word_eq(word, "exception");
                        double v = 0;

                        if (exception) {
                                if (!arg || parse_unsigned(arg, 255, &count) < 0 || count == 0)
                                        return fail(p, "exception: expected a Modbus exception "
                                                       "code (1..255, e.g. 2 for illegal data "
                                                       "address)");
                                v = count;
                        } else if (!arg || scenario_parse_time(arg, &v) < 0 || v <= 0 || v > 60)
                                return fail(p, "delay: expected how late to answer (a time, "
                                               "more than 0 and at most 60 s)");
                        r = add_window(p, exception ? WINDOW_EXCEPTION : WINDOW_DELAY,
                                       _SCENARIO_SENSOR_INVALID, t, duration);
                        if (r < 0)
                                return r;
                        p->s->windows[p->s->n_windows - 1].arg = v;
                        i += 2;
                } else if (word_eq(word, "bad_crc")) {
                        r = add_window(p, WINDOW_BAD_CRC, _SCENARIO_SENSOR_INVALID, t, duration);
                        if (r < 0)
                                return r;
                        i += 1;
                } else if (word_eq(word, "drop")) {
                        if (duration > 0)
                                return fail(p, "'for' does not apply to drop (use hangup for a "
                                               "connection that stays down)");
                        r = add_event(p, SCENARIO_EVENT_DROP, t, 0, NULL);
                        if (r < 0)
                                return r;
                        i += 1;
                } else if (word_eq(word, "garbage") || word_eq(word, "damage")) {
                        bool garbage = word_eq(word, "garbage");

                        if (duration > 0)
                                return fail(p, "'for' does not apply to %s", word);
                        if (!arg || parse_unsigned(arg, garbage ? 65536 : 1000, &count) < 0 ||
                            count == 0)
                                return fail(p, "%s: expected a count (1..%u)", word,
                                            garbage ? 65536u : 1000u);
                        r = add_event(p, garbage ? SCENARIO_EVENT_GARBAGE : SCENARIO_EVENT_DAMAGE,
                                      t, count, NULL);
                        if (r < 0)
                                return r;
                        i += 2;
                } else if (word_eq(word, "note"))
                        return fail(p, "note must come first after the time (it takes the rest "
                                       "of the line)");
                else
                        return fail(p,
                                    "unknown item '%s' (expected a parameter such as hr, spo2, "
                                    "nibp_sys, or nibp, sensor-off, sensor-on, module-off, "
                                    "module-on, silence, hangup, stale-nibp, garbage, damage, "
                                    "note, or for Modbus exception, delay, bad-crc, drop)",
                                    word);
        }
        return 0;
}

/* "T1-T2", "T1 - T2" or "T1 to T2" starting at token i; returns the next token index. */
static int parse_range(Parser *p, size_t i, double *ret_start, double *ret_end, size_t *ret_next)
{
        const char *t = tok(p, i), *dash;
        char buf[LINE_MAX_CHARS];
        int r;

        if (!t)
                return fail(p, "ramp: a time range is missing (e.g. 10:00-50:00)");
        dash = strchr(t, '-');
        if (dash && dash != t && dash[1] != '\0') {
                snprintf(buf, sizeof(buf), "%.*s", (int)(dash - t), t);
                if (scenario_parse_time(buf, ret_start) < 0 ||
                    scenario_parse_time(dash + 1, ret_end) < 0)
                        return fail(p, "ramp: '%s' is not a time range (e.g. 10:00-50:00)", t);
                *ret_next = i + 1;
        } else {
                const char *sep = tok(p, i + 1);

                if (!sep || !(strcmp(sep, "-") == 0 || word_eq(sep, "to")))
                        return fail(p, "ramp: '%s' is not a time range (e.g. 10:00-50:00)", t);
                r = expect_time(p, i, "ramp", ret_start);
                if (r < 0)
                        return r;
                r = expect_time(p, i + 2, "ramp", ret_end);
                if (r < 0)
                        return r;
                *ret_next = i + 3;
        }
        if (*ret_end <= *ret_start)
                return fail(p, "ramp: the range must end after it starts");
        return 0;
}

/* ramp T1-T2 PARAM [FROM]->TO ... */
static int parse_ramp(Parser *p)
{
        double t1, t2;
        size_t i = 0;
        int r;

        r = parse_range(p, 1, &t1, &t2, &i);
        if (r < 0)
                return r;
        if (i >= p->n)
                return fail(p, "ramp: nothing to ramp (e.g. 'ramp 10:00-50:00 nibp_sys 120->165')");

        while (i < p->n) {
                ScenarioParam param = scenario_param_from_string(tok(p, i));
                Segment seg = {.kind = SEGMENT_RAMP, .start_s = t1, .end_s = t2};

                if (param == _SCENARIO_PARAM_INVALID)
                        return fail(p, "ramp: unknown parameter '%s'", tok(p, i));
                seg.param = param;
                i++;
                if (tok(p, i) && strcmp(tok(p, i), "->") == 0) {
                        seg.from_current = true;
                        i++;
                } else {
                        r = check_value(p, param, tok(p, i), &seg.from);
                        if (r < 0)
                                return r;
                        if (!tok(p, i + 1) || strcmp(tok(p, i + 1), "->") != 0)
                                return fail(p, "ramp %s: expected FROM->TO or ->TO",
                                            param_info[param].name);
                        i += 2;
                }
                r = check_value(p, param, tok(p, i), &seg.to);
                if (r < 0)
                        return r;
                i++;
                r = add_segment(p, seg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* every PERIOD [from T] [until T] ITEM */
static int parse_every(Parser *p)
{
        Repeat rep = {.from_s = 0, .line = p->line};
        size_t i = 2;
        int r;

        r = expect_duration(p, 1, "every", &rep.period_s);
        if (r < 0)
                return r;
        if (rep.period_s < 1)
                return fail(p, "every: the period must be at least 1 s");

        for (;;) {
                if (tok(p, i) && word_eq(tok(p, i), "from")) {
                        r = expect_time(p, i + 1, "every ... from", &rep.from_s);
                        if (r < 0)
                                return r;
                        i += 2;
                } else if (tok(p, i) && word_eq(tok(p, i), "until")) {
                        r = expect_time(p, i + 1, "every ... until", &rep.until_s);
                        if (r < 0)
                                return r;
                        rep.has_until = true;
                        i += 2;
                } else
                        break;
        }
        if (rep.has_until && rep.until_s <= rep.from_s)
                return fail(p, "every: 'until' must come after 'from'");

        if (!tok(p, i))
                return fail(p, "every: what to repeat is missing (e.g. 'every 5:00 nibp auto')");
        if (word_eq(tok(p, i), "nibp")) {
                rep.kind = REPEAT_NIBP;
                r = parse_nibp_spec(p, tok(p, i + 1), &rep.nibp);
                if (r < 0)
                        return r;
                p->s->nibp_used = true;
        } else if (word_eq(tok(p, i), "garbage") || word_eq(tok(p, i), "damage")) {
                bool garbage = word_eq(tok(p, i), "garbage");

                rep.kind = garbage ? REPEAT_GARBAGE : REPEAT_DAMAGE;
                if (!tok(p, i + 1) ||
                    parse_unsigned(tok(p, i + 1), garbage ? 65536 : 1000, &rep.count) < 0 ||
                    rep.count == 0)
                        return fail(p, "%s: expected a count", tok(p, i));
        } else
                return fail(p, "every: cannot repeat '%s' (nibp, garbage or damage)", tok(p, i));
        if (tok(p, i + 2))
                return fail(p, "every: unexpected '%s' (put 'from'/'until' before the item)",
                            tok(p, i + 2));

        if (APPEND(p->s, repeats, rep) < 0)
                return fail_oom(p);
        return 0;
}

static int parse_line(Parser *p, const char *line)
{
        const char *first;
        int r;

        r = tokenize(p, line);
        if (r < 0)
                return r;
        if (p->n == 0)
                return 0;
        first = tok(p, 0);

        if (word_eq(first, "at"))
                return parse_at(p);
        if (word_eq(first, "ramp"))
                return parse_ramp(p);
        if (word_eq(first, "every"))
                return parse_every(p);
        if (word_eq(first, "noise"))
                return parse_noise(p);
        if (word_eq(first, "end") || word_eq(first, "interval") ||
            word_eq(first, "nibp_duration") || word_eq(first, "require_request"))
                return parse_setting(p);
        if (scenario_param_from_string(first) != _SCENARIO_PARAM_INVALID)
                return fail(p, "'%s' needs a time: write 'at 0:00 %s ...'", first, line);
        return fail(p,
                    "unknown statement '%s' (expected at, ramp, every, noise, end, interval, "
                    "nibp-duration, require-request)",
                    first);
}

/* --- Finalize: sort, resolve, expand, check -------------------------------- */

static int segment_cmp(const void *a, const void *b)
{
        const Segment *x = a, *y = b;

        if (x->param != y->param)
                return x->param < y->param ? -1 : 1;
        if (x->start_s != y->start_s)
                return x->start_s < y->start_s ? -1 : 1;
        return x->order < y->order ? -1 : x->order > y->order;
}

static int nibp_cmp(const void *a, const void *b)
{
        const NibpMeasurement *x = a, *y = b;

        if (x->start_s != y->start_s)
                return x->start_s < y->start_s ? -1 : 1;
        /* An explicit measurement wins over a cycle's at the same moment. */
        if (x->from_cycle != y->from_cycle)
                return x->from_cycle ? 1 : -1;
        return x->order < y->order ? -1 : x->order > y->order;
}

static int event_cmp(const void *a, const void *b)
{
        const ScenarioEvent *x = a, *y = b;

        if (x->time_s != y->time_s)
                return x->time_s < y->time_s ? -1 : 1;
        return x->line < y->line ? -1 : x->line > y->line;
}

static double segment_value(const Segment *seg, double t)
{
        if (seg->kind != SEGMENT_RAMP || t >= seg->end_s)
                return seg->to;
        if (t <= seg->start_s)
                return seg->from;
        return seg->from + (seg->to - seg->from) * (t - seg->start_s) / (seg->end_s - seg->start_s);
}

/* Base value (no overrides) of param at t; NAN before it is first set. */
static double base_value(const Scenario *s, ScenarioParam param, double t)
{
        const Segment *active = NULL;

        for (size_t i = 0; i < s->n_segments; i++) {
                const Segment *seg = &s->segments[i];

                if (seg->param != param || seg->kind == SEGMENT_OVERRIDE)
                        continue;
                if (seg->start_s > t + TIME_EPSILON)
                        break; /* sorted by param, then start */
                active = seg;
        }
        return active ? segment_value(active, t) : NAN;
}

static double raw_value(const Scenario *s, ScenarioParam param, double t)
{
        const Segment *override = NULL;

        if (param == SCENARIO_PR && !s->param_used[SCENARIO_PR])
                param = SCENARIO_HR;

        for (size_t i = 0; i < s->n_segments; i++) {
                const Segment *seg = &s->segments[i];

                if (seg->param != param || seg->kind != SEGMENT_OVERRIDE)
                        continue;
                if (seg->start_s <= t + TIME_EPSILON && t < seg->end_s - TIME_EPSILON)
                        override = seg; /* the latest-starting one wins */
        }
        if (override)
                return override->to;
        return base_value(s, param, t);
}

static bool window_active(const Scenario *s, WindowKind kind, ScenarioSensor sensor, double t)
{
        for (size_t i = 0; i < s->n_windows; i++) {
                const Window *w = &s->windows[i];

                if (w->kind != kind || ((kind == WINDOW_SENSOR_OFF || kind == WINDOW_MODULE_OFF) &&
                                        w->sensor != sensor))
                        continue;
                if (w->start_s <= t + TIME_EPSILON && t < w->end_s - TIME_EPSILON)
                        return true;
        }
        return false;
}

static int finalize_fail(Parser *p, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int finalize_fail(Parser *p, unsigned line, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        p->line = line;
        return fail(p, "%s", msg);
}

static int expand_repeats(Parser *p)
{
        Scenario *s = p->s;
        size_t expanded = 0;

        for (size_t i = 0; i < s->n_repeats; i++) {
                const Repeat *rep = &s->repeats[i];
                double until = rep->has_until ? fmin(rep->until_s, s->end_s) : s->end_s;

                p->line = rep->line;
                if (rep->from_s >= s->end_s)
                        return fail(p, "every: 'from' lies after the end");
                for (double t = rep->from_s; t < until - TIME_EPSILON; t += rep->period_s) {
                        int r;

                        if (++expanded > EXPANDED_MAX)
                                return fail(p, "every: too many repetitions (more than %d)",
                                            EXPANDED_MAX);
                        switch (rep->kind) {
                        case REPEAT_NIBP:
                                r = add_nibp(p, t, rep->nibp, true);
                                break;
                        case REPEAT_GARBAGE:
                                r = add_event(p, SCENARIO_EVENT_GARBAGE, t, rep->count, NULL);
                                break;
                        case REPEAT_DAMAGE:
                        default:
                                r = add_event(p, SCENARIO_EVENT_DAMAGE, t, rep->count, NULL);
                                break;
                        }
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int resolve_ramps(Parser *p)
{
        Scenario *s = p->s;

        for (size_t i = 0; i < s->n_segments; i++) {
                Segment *seg = &s->segments[i];
                const Segment *prev = NULL;

                if (seg->kind != SEGMENT_RAMP || !seg->from_current)
                        continue;
                /* The segment in force just before this one: the previous
                 * non-override of the same parameter in sorted order. */
                for (size_t j = i; j-- > 0;) {
                        if (s->segments[j].param != seg->param)
                                break;
                        if (s->segments[j].kind != SEGMENT_OVERRIDE) {
                                prev = &s->segments[j];
                                break;
                        }
                }
                if (!prev) {
                        char buf[32];

                        return finalize_fail(p, seg->line,
                                             "ramp %s ->%g: %s has no value before %s; write "
                                             "FROM->TO",
                                             param_info[seg->param].name, seg->to,
                                             param_info[seg->param].name,
                                             scenario_format_time(seg->start_s, buf, sizeof(buf)));
                }
                seg->from = segment_value(prev, seg->start_s);
                seg->from_current = false;
        }
        return 0;
}

/* Drops measurements that cannot happen: one already running, a stale-nibp
 * window, the cuff off. */
static void filter_nibp(Scenario *s)
{
        size_t kept = 0;
        double busy_until = -INFINITY;

        for (size_t i = 0; i < s->n_nibp; i++) {
                const NibpMeasurement *m = &s->nibp[i];

                if (m->start_s < busy_until - TIME_EPSILON ||
                    window_active(s, WINDOW_STALE_NIBP, _SCENARIO_SENSOR_INVALID, m->start_s) ||
                    window_active(s, WINDOW_SENSOR_OFF, SCENARIO_SENSOR_NIBP, m->start_s) ||
                    window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_NIBP, m->start_s))
                        continue;
                busy_until = m->start_s + s->nibp_duration_s;
                s->nibp[kept++] = *m;
        }
        s->n_nibp = kept;
}

static int check_times(Parser *p)
{
        const Scenario *s = p->s;
        char buf[32];

        for (size_t i = 0; i < s->n_segments; i++)
                if (s->segments[i].start_s > s->end_s + TIME_EPSILON)
                        return finalize_fail(p, s->segments[i].line,
                                             "this starts after the end (%s)",
                                             scenario_format_time(s->end_s, buf, sizeof(buf)));
        for (size_t i = 0; i < s->n_windows; i++)
                if (s->windows[i].start_s > s->end_s + TIME_EPSILON)
                        return finalize_fail(p, s->windows[i].line,
                                             "this starts after the end (%s)",
                                             scenario_format_time(s->end_s, buf, sizeof(buf)));
        for (size_t i = 0; i < s->n_events; i++)
                if (s->events[i].time_s > s->end_s + TIME_EPSILON)
                        return finalize_fail(p, s->events[i].line,
                                             "this happens after the end (%s)",
                                             scenario_format_time(s->end_s, buf, sizeof(buf)));
        for (size_t i = 0; i < s->n_nibp; i++)
                if (s->nibp[i].start_s > s->end_s + TIME_EPSILON)
                        return finalize_fail(p, s->nibp[i].line,
                                             "this measurement starts after the end (%s)",
                                             scenario_format_time(s->end_s, buf, sizeof(buf)));
        return 0;
}

static int check_nibp_auto(Parser *p)
{
        const Scenario *s = p->s;
        char buf[32];

        for (size_t i = 0; i < s->n_nibp; i++) {
                const NibpMeasurement *m = &s->nibp[i];
                double at = fmin(m->start_s + s->nibp_duration_s, s->end_s);

                if (!m->spec.automatic)
                        continue;
                if (isnan(raw_value(s, SCENARIO_NIBP_SYS, at)) ||
                    isnan(raw_value(s, SCENARIO_NIBP_DIA, at)))
                        return finalize_fail(
                            p, m->line,
                            "nibp auto at %s: nibp_sys and nibp_dia have no value yet "
                            "(set them, e.g. 'at 0:00 nibp_sys 120 nibp_dia 80')",
                            scenario_format_time(m->start_s, buf, sizeof(buf)));
        }
        return 0;
}

static int finalize(Parser *p)
{
        Scenario *s = p->s;
        int r;

        p->line = p->line > 0 ? p->line : 1;
        if (!s->have_end)
                return fail(p, "missing 'end' line (how long the scenario runs, e.g. 'end 30:00')");
        if (s->n_segments == 0 && !s->nibp_used)
                return fail(p, "the scenario sets no values (e.g. 'at 0:00 hr 72 spo2 97')");

        if (s->n_segments > 1)
                qsort(s->segments, s->n_segments, sizeof(s->segments[0]), segment_cmp);
        r = resolve_ramps(p);
        if (r < 0)
                return r;

        r = expand_repeats(p);
        if (r < 0)
                return r;

        /* Close open-ended sensor-off and module-off windows at the next
         * matching sensor-on / module-on. */
        for (size_t i = 0; i < s->n_windows; i++) {
                Window *w = &s->windows[i];

                if ((w->kind != WINDOW_SENSOR_OFF && w->kind != WINDOW_MODULE_OFF) ||
                    !w->open_ended)
                        continue;
                for (size_t j = 0; j < s->n_sensor_ons; j++)
                        if (s->sensor_ons[j].kind == w->kind &&
                            s->sensor_ons[j].sensor == w->sensor &&
                            s->sensor_ons[j].time_s > w->start_s &&
                            s->sensor_ons[j].time_s < w->end_s)
                                w->end_s = s->sensor_ons[j].time_s;
        }

        r = check_times(p);
        if (r < 0)
                return r;

        /* qsort() must not see the NULL of an empty list (C17 7.22.5). */
        if (s->n_events > 1)
                qsort(s->events, s->n_events, sizeof(s->events[0]), event_cmp);
        if (s->n_nibp > 1)
                qsort(s->nibp, s->n_nibp, sizeof(s->nibp[0]), nibp_cmp);
        filter_nibp(s);
        return check_nibp_auto(p);
}

Scenario *scenario_free(Scenario *s)
{
        if (!s)
                return NULL;
        free(s->segments);
        free(s->windows);
        free(s->sensor_ons);
        free(s->events);
        free(s->nibp);
        free(s->repeats);
        free(s);
        return NULL;
}

int scenario_parse(const char *text, const char *name, Scenario **ret, char *error,
                   size_t error_size)
{
        Parser p = {.name = name ? name : "scenario", .error = error, .error_size = error_size};
        char line[LINE_MAX_CHARS + 2];
        const char *pos = text;
        int r;

        if (!text || !ret)
                return -EINVAL;
        if (error && error_size > 0)
                error[0] = '\0';

        p.s = calloc(1, sizeof(Scenario));
        if (!p.s)
                return fail_oom(&p);
        p.s->interval_s = 5;
        p.s->nibp_duration_s = 30;

        while (*pos) {
                const char *nl = strchr(pos, '\n');
                size_t n = nl ? (size_t)(nl - pos) : strlen(pos);
                char *hash;

                p.line++;
                if (n > LINE_MAX_CHARS) {
                        r = fail(&p, "line too long (at most %d characters)", LINE_MAX_CHARS);
                        goto fail;
                }
                memcpy(line, pos, n);
                line[n] = '\0';
                pos += n + (nl ? 1 : 0);

                hash = strchr(line, '#');
                if (hash)
                        *hash = '\0';
                p.raw = line;
                r = parse_line(&p, line);
                if (r < 0)
                        goto fail;
        }

        r = finalize(&p);
        if (r < 0)
                goto fail;

        *ret = p.s;
        return 0;

fail:
        scenario_free(p.s);
        return r;
}

/* --- Queries ------------------------------------------------------------------ */

double scenario_interval_s(const Scenario *s)
{
        return s->interval_s;
}

double scenario_end_s(const Scenario *s)
{
        return s->end_s;
}

double scenario_nibp_duration_s(const Scenario *s)
{
        return s->nibp_duration_s;
}

bool scenario_require_request(const Scenario *s)
{
        return s->require_request;
}

const ScenarioEvent *scenario_events(const Scenario *s, size_t *ret_n)
{
        *ret_n = s->n_events;
        return s->events;
}

size_t scenario_nibp_count(const Scenario *s)
{
        return s->n_nibp;
}

int scenario_nibp_get(const Scenario *s, size_t i, double *ret_start_s, double *ret_result_s)
{
        if (i >= s->n_nibp)
                return -ENOENT;
        if (ret_start_s)
                *ret_start_s = s->nibp[i].start_s;
        if (ret_result_s)
                *ret_result_s = s->nibp[i].start_s + s->nibp_duration_s;
        return 0;
}

double scenario_param_value(const Scenario *s, ScenarioParam p, double t_s)
{
        if (p < 0 || p >= _SCENARIO_PARAM_MAX)
                return NAN;
        if (t_s > s->end_s)
                t_s = s->end_s;
        return raw_value(s, p, t_s);
}

/* --- Sampling ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
        /* splitmix64 finaliser: a well-spread hash of (seed, what, when). */
        x += UINT64_C(0x9E3779B97F4A7C15);
        x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
        return x ^ (x >> 31);
}

/* Uniform in [-amount, +amount], the same for the same arguments. */
static double noise_for(double amount, uint64_t seed, unsigned what, uint64_t when)
{
        uint64_t h;

        if (amount <= 0)
                return 0;
        h = mix64(seed ^ mix64(((uint64_t)what << 48) ^ when));
        return ((double)(h >> 11) / (double)(UINT64_C(1) << 53) * 2 - 1) * amount;
}

static double quantize(ScenarioParam param, double v)
{
        const ParamInfo *info = &param_info[param];

        v = round(v / info->resolution) * info->resolution;
        return fmin(fmax(v, info->min), info->max);
}

static int16_t to_monitor(double v, double scale)
{
        double m = round(v * scale);

        if (m < GE_S5_MIN_VALID)
                return GE_S5_MIN_VALID;
        if (m > INT16_MAX)
                return INT16_MAX;
        return (int16_t)m;
}

/* The value the monitor shows: noise, resolution, sensor state.  Returns
 * the marker to send instead, or 0 with *ret filled. */
static int16_t monitor_value(const Scenario *s, ScenarioParam param, double t, uint64_t seed,
                             uint64_t record, double scale)
{
        double v = raw_value(s, param, t);

        if (window_active(s, WINDOW_SENSOR_OFF, param_info[param].sensor, t))
                return GE_S5_DISCONT;
        if (isnan(v))
                return GE_S5_DATA_INVALID;
        v += noise_for(s->noise[param], seed, (unsigned)param, record);
        return to_monitor(quantize(param, v), scale);
}

/* What a measurement reads: its own numbers, or the patient's pressure when
 * the result comes in.  Values in 1/100 mmHg. */
static void nibp_result(const Scenario *s, size_t index, uint64_t seed, int16_t v[3])
{
        const NibpMeasurement *m = &s->nibp[index];
        double sys = m->spec.sys, dia = m->spec.dia, mean = m->spec.mean;

        if (m->spec.automatic) {
                double at = fmin(m->start_s + s->nibp_duration_s, s->end_s);
                uint64_t when = UINT64_C(1) << 40 | index;

                sys = quantize(SCENARIO_NIBP_SYS, raw_value(s, SCENARIO_NIBP_SYS, at) +
                                                      noise_for(s->noise[SCENARIO_NIBP_SYS], seed,
                                                                SCENARIO_NIBP_SYS, when));
                dia = quantize(SCENARIO_NIBP_DIA, raw_value(s, SCENARIO_NIBP_DIA, at) +
                                                      noise_for(s->noise[SCENARIO_NIBP_DIA], seed,
                                                                SCENARIO_NIBP_DIA, when));
                if (dia > sys)
                        dia = sys;
                mean = NAN;
        }
        if (isnan(mean))
                mean = round(dia + (sys - dia) / 3);
        v[0] = to_monitor(sys, 100);
        v[1] = to_monitor(dia, 100);
        v[2] = to_monitor(mean, 100);
}

static bool nibp_cycle_active(const Scenario *s, double t)
{
        for (size_t i = 0; i < s->n_repeats; i++) {
                const Repeat *rep = &s->repeats[i];
                double until = rep->has_until ? rep->until_s : s->end_s;

                if (rep->kind == REPEAT_NIBP && rep->from_s <= t + TIME_EPSILON &&
                    t < until - TIME_EPSILON)
                        return true;
        }
        return false;
}

static void sample_nibp(const Scenario *s, double t, uint64_t seed, ScenarioSample *ret)
{
        GeS5Basic *b = &ret->basic;
        double duration = s->nibp_duration_s;
        double lead = fmin(NIBP_VALUES_LEAD_S, duration);
        ssize_t running = -1, shown = -1;
        uint32_t label = 0;

        if (!s->nibp_used || window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_NIBP, t))
                return;

        /* The latest measurement started at or before t, and the latest
         * whose values are out by t. */
        for (size_t i = 0; i < s->n_nibp; i++) {
                double start = s->nibp[i].start_s;

                if (start > t + TIME_EPSILON)
                        break;
                if (t < start + duration - TIME_EPSILON)
                        running = (ssize_t)i;
                if (t >= start + duration - lead - TIME_EPSILON)
                        shown = (ssize_t)i;
        }

        /* Frozen at the end: the cycle that ran until then is still on. */
        if (nibp_cycle_active(s, fmin(t, s->end_s - 1e-3)))
                label |= SCENARIO_NIBP_AUTO;
        if (running >= 0) {
                label |= SCENARIO_NIBP_MEASURING;
                ret->nibp_measuring = true;
        }

        if (shown >= 0) {
                int16_t v[3];
                double values_at = s->nibp[shown].start_s + duration - lead;

                nibp_result(s, (size_t)shown, seed, v);
                b->nibp_sys = v[0];
                b->nibp_dia = v[1];
                b->nibp_mean = v[2];
                if (t - values_at >= NIBP_OLD_AFTER_S - TIME_EPSILON ||
                    window_active(s, WINDOW_STALE_NIBP, _SCENARIO_SENSOR_INVALID, t))
                        label |= SCENARIO_NIBP_OLDER_60S;
                ret->nibp_new = running < 0 && t - (s->nibp[shown].start_s + duration) <
                                                   s->interval_s - TIME_EPSILON;
        }
        if (window_active(s, WINDOW_SENSOR_OFF, SCENARIO_SENSOR_NIBP, t)) {
                b->nibp_sys = b->nibp_dia = b->nibp_mean = GE_S5_DISCONT;
                ret->nibp_new = false;
        }

        ret->nibp_label = label;
        /* ge_s5.h: bits 0-1 go to status_bits, bits 0-15 to label_info. */
        b->nibp_status = SCENARIO_GROUP_EXISTS_ACTIVE | label;
}

/* The latest-starting window of each Modbus fault kind wins. */
static void modbus_faults(const Scenario *s, double t, ScenarioSample *ret)
{
        double exception_from = -1, delay_from = -1;

        for (size_t i = 0; i < s->n_windows; i++) {
                const Window *w = &s->windows[i];

                if (!(w->start_s <= t + TIME_EPSILON && t < w->end_s - TIME_EPSILON))
                        continue;
                if (w->kind == WINDOW_EXCEPTION && w->start_s >= exception_from) {
                        exception_from = w->start_s;
                        ret->modbus_exception = (unsigned)w->arg;
                } else if (w->kind == WINDOW_DELAY && w->start_s >= delay_from) {
                        delay_from = w->start_s;
                        ret->modbus_delay_s = w->arg;
                } else if (w->kind == WINDOW_BAD_CRC)
                        ret->modbus_bad_crc = true;
        }
}

int scenario_sample(const Scenario *s, double t_s, uint64_t seed, ScenarioSample *ret)
{
        GeS5Basic *b;
        uint64_t record;
        double t = t_s;

        if (!s || !ret || isnan(t_s))
                return -EINVAL;

        *ret = (ScenarioSample){0};
        b = &ret->basic;
        ge_s5_basic_init(b);

        if (t < 0)
                t = 0;
        if (t > s->end_s) {
                t = s->end_s;
                ret->ended = true;
        }
        record = (uint64_t)floor(t / s->interval_s + 1e-6);

        modbus_faults(s, t, ret);
        ret->hangup = window_active(s, WINDOW_HANGUP, _SCENARIO_SENSOR_INVALID, t);
        ret->silent = ret->hangup || window_active(s, WINDOW_SILENCE, _SCENARIO_SENSOR_INVALID, t);

        /* A module taken out: its group is not in the record at all. */
        if (s->param_used[SCENARIO_HR] &&
            !window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_ECG, t))
                b->ecg_hr = monitor_value(s, SCENARIO_HR, t, seed, record, 1);
        if ((s->param_used[SCENARIO_SPO2] || s->param_used[SCENARIO_PR]) &&
            !window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_SPO2, t)) {
                b->spo2 = monitor_value(s, SCENARIO_SPO2, t, seed, record, 100);
                b->spo2_pr = monitor_value(s, SCENARIO_PR, t, seed, record, 1);
                b->spo2_status = SCENARIO_GROUP_EXISTS_ACTIVE;
        }
        if (s->param_used[SCENARIO_TEMP] &&
            !window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_TEMP, t))
                b->t1 = monitor_value(s, SCENARIO_TEMP, t, seed, record, 100);
        if (!window_active(s, WINDOW_MODULE_OFF, SCENARIO_SENSOR_CO2, t)) {
                if (s->param_used[SCENARIO_ETCO2])
                        b->co2_et = monitor_value(s, SCENARIO_ETCO2, t, seed, record, 100);
                if (s->param_used[SCENARIO_RR])
                        b->co2_rr = monitor_value(s, SCENARIO_RR, t, seed, record, 1);
        }

        sample_nibp(s, t, seed, ret);
        return 0;
}
