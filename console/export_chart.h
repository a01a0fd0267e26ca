/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_chart.h — what the chart page is drawn from (export_chart_data.c
 * gathers it from the session log, export_chart.c draws it with cairo).
 *
 * Everything here has a fixed or capped size, whatever the length of the
 * session: the time axis is cut into CHART_BUCKETS columns and each column
 * keeps only what can be seen at that width (a min/max envelope, the first
 * and last value, whether the line may join the column before).  Alarm
 * spans, acknowledgements and markers are kept in capped lists; what does
 * not fit is counted and the page says so.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "export.h"

#define CHART_BUCKETS 1200
#define CHART_SPANS_MAX 4096
#define CHART_ACKS_MAX 4096
#define CHART_MARKERS_MAX 512
#define CHART_GAPS_MAX 1024

/* A gap is a pause longer than this many normal reading intervals... */
#define CHART_GAP_FACTOR 3
/* ...and never shorter than this (a monitor's own jitter is no gap). */
#define CHART_GAP_MIN_NS (2 * 1000000000LL)

typedef struct ChartBucket {
        uint32_t n;        /* values in this column */
        float min, max;    /* envelope */
        float first, last; /* in time order */
        bool joins;        /* the first value continues the line from the column before */
        bool no_value;     /* a reading without a value (invalid, sensor off) fell here */
} ChartBucket;

typedef struct ChartSpan {
        int64_t from_ns, to_ns;
} ChartSpan;

typedef enum ChartSeriesId {
        CHART_HR,
        CHART_PR,
        CHART_SPO2,
        _CHART_SERIES_MAX,
} ChartSeriesId;

typedef struct ChartSeries {
        const char *parameter;
        ExportParameterStats stats;
        int64_t gap_ns;
        ChartBucket buckets[CHART_BUCKETS];
        /* Stream state. */
        bool have_valid, broken, have_any;
        int64_t last_valid_ns, last_any_ns;
        ChartSpan gaps[CHART_GAPS_MAX];
        size_t n_gaps, gaps_dropped;
} ChartSeries;

typedef struct ChartNibpBucket {
        uint32_t n;
        float sys_max, sys_min, dia_min, dia_max;
        float mean; /* of the last measurement with one; NAN when none */
        bool no_value;
} ChartNibpBucket;

/* One NIBP measurement: the systolic, diastolic and mean of one time. */
typedef struct ChartNibp {
        int64_t wall_ns;
        double sys, dia, mean; /* NAN when absent or without a value */
} ChartNibp;

typedef struct ChartAlarmSpan {
        int64_t from_ns, to_ns;
        AlarmPriority priority;
        bool technical;
        bool open_at_end; /* still active when the record ends */
        char condition[ALARM_CONDITION_MAX];
} ChartAlarmSpan;

typedef struct ChartAck {
        int64_t wall_ns;
        char actor[ALARM_ACTOR_MAX];
        char condition[ALARM_CONDITION_MAX];
        bool reset; /* acknowledged a latched alarm, which ended it */
} ChartAck;

typedef struct ChartMarker {
        int64_t wall_ns;
        char *kind, *text, *actor;
} ChartMarker;

/* Alarm occurrences by priority (the highest each reached). */
typedef struct ChartAlarmTotals {
        unsigned count[_ALARM_PRIO_MAX];
        unsigned technical[_ALARM_PRIO_MAX];
        int64_t active_ns[_ALARM_PRIO_MAX]; /* union of the spans, inside the axis */
} ChartAlarmTotals;

typedef struct ChartData {
        const ExportSession *session;
        int64_t axis_from_ns, axis_to_ns; /* the time axis, [from, to) */
        bool have_extent;                 /* anything recorded at all */
        int64_t last_data_ns;             /* of an open session */

        ChartSeries series[_CHART_SERIES_MAX];
        ExportParameterStats nibp_stats[3]; /* NIBP_SYS, NIBP_DIA, NIBP_MEAN */
        ChartNibpBucket nibp[CHART_BUCKETS];
        uint64_t n_nibp;

        /* Blood pressure around the infusion. */
        bool have_infusion;
        int64_t infusion_start_ns, infusion_end_ns; /* end: INT64_MAX when none */
        bool have_baseline, have_peak, have_first_bp, have_max_bp;
        ChartNibp baseline, peak, first_bp, max_bp;

        ChartAlarmSpan *spans;
        size_t n_spans, spans_dropped;
        ChartAlarmTotals totals;
        ChartAck *acks;
        size_t n_acks, acks_dropped;
        ChartMarker *markers;
        size_t n_markers, markers_dropped;

        /* SpO2 limits of the session's profile, when it could be read. */
        bool have_profile;
        AlarmProfile *profile;
        char profile_note[160];

        char *clinic;
        int64_t exported_ns;

        /* Pending NIBP measurement while streaming. */
        bool nibp_pending;
        ChartNibp nibp_cur;
} ChartData;

/* Reads everything the page shows.  0 or a negative errno (query or
 * memory); the caller frees with chart_data_done() either way. */
int chart_data_load(sqlite3 *db, const ExportSession *s, const ExportOptions *o, ChartData *d);
void chart_data_done(ChartData *d);

/* Column of a time on the axis, clamped to [0, CHART_BUCKETS). */
size_t chart_bucket_of(const ChartData *d, int64_t wall_ns);
