/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_chart_data.c — gathers what the chart page shows, in one read
 * snapshot, in memory that does not grow with the session.
 *
 * Order: the summary statistics come from SQLite first (export_query.c:
 * min/max/median and the normal reading interval, which sets the gap
 * threshold); then markers and alarm events of the whole session (an alarm
 * that began before --from still shades the window; the baseline blood
 * pressure needs the infusion-start marker even outside it); then one pass
 * over the readings of the window into the fixed column buckets.
 *
 * Gaps: a line joins two values of a parameter only when no reading without
 * a value came between them and they are at most gap_ns apart
 * (CHART_GAP_FACTOR times the parameter's median interval, at least
 * CHART_GAP_MIN_NS).  Anything longer is a gap and stays a gap on the page.
 *
 * Alarm spans: an occurrence (alarm_id) runs from its "active" event to its
 * "latched" or "inactive" one; an escalation starts a new span of the
 * higher priority.  Audio silences are not alarm conditions and are left
 * out.  An occurrence is counted under the highest priority it reached.
 */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export_chart.h"
#include "log.h"
#include "profile.h"

#define OPEN_ALARMS_MAX 256
#define NS_PER_SEC 1000000000LL

static const char *const series_parameters[_CHART_SERIES_MAX] = {
    [CHART_HR] = "HR",
    [CHART_PR] = "PR",
    [CHART_SPO2] = "SPO2",
};
static const char *const nibp_parameters[3] = {"NIBP_SYS", "NIBP_DIA", "NIBP_MEAN"};

size_t chart_bucket_of(const ChartData *d, int64_t wall_ns)
{
        double span = (double)(d->axis_to_ns - d->axis_from_ns);
        double x = (double)(wall_ns - d->axis_from_ns) / span * CHART_BUCKETS;

        if (!(x >= 0))
                return 0;
        if (x >= CHART_BUCKETS)
                return CHART_BUCKETS - 1;
        return (size_t)x;
}

/* ---- Readings ------------------------------------------------------------ */

static void series_gap(ChartSeries *s, int64_t from_ns, int64_t to_ns)
{
        if (s->n_gaps == CHART_GAPS_MAX) {
                s->gaps_dropped++;
                return;
        }
        s->gaps[s->n_gaps++] = (ChartSpan){from_ns, to_ns};
}

static void series_add(ChartData *d, ChartSeries *s, const ExportReading *r)
{
        ChartBucket *b = &s->buckets[chart_bucket_of(d, r->wall_ns)];
        double v;

        if (s->have_any && r->wall_ns - s->last_any_ns > s->gap_ns)
                series_gap(s, s->last_any_ns, r->wall_ns);
        s->have_any = true;
        s->last_any_ns = r->wall_ns;

        if (!export_reading_value(r, &v)) {
                b->no_value = true;
                s->broken = true;
                return;
        }
        if (b->n == 0) {
                b->first = b->min = b->max = (float)v;
                b->joins =
                    s->have_valid && !s->broken && r->wall_ns - s->last_valid_ns <= s->gap_ns;
        }
        b->min = fminf(b->min, (float)v);
        b->max = fmaxf(b->max, (float)v);
        b->last = (float)v;
        b->n++;
        s->have_valid = true;
        s->broken = false;
        s->last_valid_ns = r->wall_ns;
}

static void nibp_measurement_done(ChartData *d)
{
        ChartNibp *m = &d->nibp_cur;
        ChartNibpBucket *b;
        bool complete;

        if (!d->nibp_pending)
                return;
        d->nibp_pending = false;
        b = &d->nibp[chart_bucket_of(d, m->wall_ns)];
        complete = !isnan(m->sys) && !isnan(m->dia);
        if (!complete) {
                b->no_value = true;
                return;
        }
        if (b->n == 0) {
                b->sys_max = b->sys_min = (float)m->sys;
                b->dia_min = b->dia_max = (float)m->dia;
                b->mean = NAN;
        }
        b->sys_max = fmaxf(b->sys_max, (float)m->sys);
        b->sys_min = fminf(b->sys_min, (float)m->sys);
        b->dia_min = fminf(b->dia_min, (float)m->dia);
        b->dia_max = fmaxf(b->dia_max, (float)m->dia);
        if (!isnan(m->mean))
                b->mean = (float)m->mean;
        b->n++;
        d->n_nibp++;

        if (!d->have_first_bp) {
                d->first_bp = *m;
                d->have_first_bp = true;
        }
        if (!d->have_max_bp || m->sys > d->max_bp.sys) {
                d->max_bp = *m;
                d->have_max_bp = true;
        }
        if (!d->have_infusion)
                return;
        if (m->wall_ns < d->infusion_start_ns) {
                d->baseline = *m; /* the last one before the start wins */
                d->have_baseline = true;
        } else if (m->wall_ns < d->infusion_end_ns && (!d->have_peak || m->sys > d->peak.sys)) {
                d->peak = *m;
                d->have_peak = true;
        }
}

static void nibp_add(ChartData *d, const ExportReading *r, int component)
{
        double v;

        if (d->nibp_pending && r->wall_ns != d->nibp_cur.wall_ns)
                nibp_measurement_done(d);
        if (!d->nibp_pending) {
                d->nibp_pending = true;
                d->nibp_cur =
                    (ChartNibp){.wall_ns = r->wall_ns, .sys = NAN, .dia = NAN, .mean = NAN};
        }
        if (!export_reading_value(r, &v))
                return;
        if (component == 0)
                d->nibp_cur.sys = v;
        else if (component == 1)
                d->nibp_cur.dia = v;
        else
                d->nibp_cur.mean = v;
}

static int chart_reading(void *userdata, const ExportReading *r)
{
        ChartData *d = userdata;

        if (d->nibp_pending && r->wall_ns != d->nibp_cur.wall_ns)
                nibp_measurement_done(d);
        for (int i = 0; i < _CHART_SERIES_MAX; i++)
                if (strcmp(r->parameter, series_parameters[i]) == 0) {
                        series_add(d, &d->series[i], r);
                        return 0;
                }
        for (int i = 0; i < 3; i++)
                if (strcmp(r->parameter, nibp_parameters[i]) == 0) {
                        nibp_add(d, r, i);
                        return 0;
                }
        return 0;
}

/* ---- Markers ------------------------------------------------------------- */

static int chart_marker(void *userdata, const ExportMarker *m)
{
        ChartData *d = userdata;
        ChartMarker *c;

        if (strcmp(m->kind, "infusion-start") == 0 && !d->have_infusion) {
                d->have_infusion = true;
                d->infusion_start_ns = m->wall_ns;
                d->infusion_end_ns = INT64_MAX;
        } else if (strcmp(m->kind, "infusion-end") == 0 && d->have_infusion &&
                   d->infusion_end_ns == INT64_MAX && m->wall_ns >= d->infusion_start_ns) {
                d->infusion_end_ns = m->wall_ns;
        }
        if (m->wall_ns < d->axis_from_ns || m->wall_ns >= d->axis_to_ns)
                return 0;
        if (d->n_markers == CHART_MARKERS_MAX) {
                d->markers_dropped++;
                return 0;
        }
        c = &d->markers[d->n_markers];
        *c = (ChartMarker){.wall_ns = m->wall_ns,
                           .kind = strdup(m->kind),
                           .text = m->text ? strdup(m->text) : NULL,
                           .actor = strdup(m->actor)};
        d->n_markers++;
        if (!c->kind || !c->actor || (m->text && !c->text))
                return -ENOMEM;
        return 0;
}

/* ---- Alarms -------------------------------------------------------------- */

typedef struct OpenAlarm {
        int64_t alarm_id;
        char condition[ALARM_CONDITION_MAX];
        bool technical;
        AlarmPriority priority, highest;
        int64_t since_ns;
        bool overlaps; /* some span of it falls on the axis */
} OpenAlarm;

typedef struct AlarmBuilder {
        ChartData *d;
        OpenAlarm open[OPEN_ALARMS_MAX];
        size_t n_open;
} AlarmBuilder;

static AlarmPriority priority_of(const char *s)
{
        int p = alarm_priority_from_string(s);

        /* A priority this reader does not know is shown as the highest:
         * never quieter than the record. */
        return p < 0 ? ALARM_PRIO_HIGH : (AlarmPriority)p;
}

static void span_add(AlarmBuilder *b, OpenAlarm *a, int64_t to_ns, bool open_at_end)
{
        ChartData *d = b->d;
        int64_t from = a->since_ns > d->axis_from_ns ? a->since_ns : d->axis_from_ns;
        int64_t to = to_ns < d->axis_to_ns ? to_ns : d->axis_to_ns;

        if (a->since_ns >= d->axis_to_ns || to_ns < d->axis_from_ns)
                return;
        a->overlaps = true;
        if (to <= from)
                return; /* counted, but nothing to shade */
        if (d->n_spans == CHART_SPANS_MAX) {
                d->spans_dropped++;
                return;
        }
        d->spans[d->n_spans] = (ChartAlarmSpan){.from_ns = from,
                                                .to_ns = to,
                                                .priority = a->priority,
                                                .technical = a->technical,
                                                .open_at_end = open_at_end};
        snprintf(d->spans[d->n_spans].condition, ALARM_CONDITION_MAX, "%s", a->condition);
        d->n_spans++;
}

static void occurrence_done(AlarmBuilder *b, size_t i)
{
        OpenAlarm *a = &b->open[i];

        if (a->overlaps) {
                b->d->totals.count[a->highest]++;
                if (a->technical)
                        b->d->totals.technical[a->highest]++;
        }
        b->open[i] = b->open[--b->n_open];
}

static void ack_add(ChartData *d, const ExportAlarm *e, bool reset)
{
        ChartAck *k;

        if (e->wall_ns < d->axis_from_ns || e->wall_ns >= d->axis_to_ns)
                return;
        if (d->n_acks == CHART_ACKS_MAX) {
                d->acks_dropped++;
                return;
        }
        k = &d->acks[d->n_acks++];
        *k = (ChartAck){.wall_ns = e->wall_ns, .reset = reset};
        snprintf(k->actor, sizeof(k->actor), "%s", e->actor);
        snprintf(k->condition, sizeof(k->condition), "%s", e->condition);
}

static int chart_alarm(void *userdata, const ExportAlarm *e)
{
        AlarmBuilder *b = userdata;
        AlarmPriority prio = priority_of(e->priority);
        OpenAlarm *a = NULL;
        size_t i;

        if (strcmp(e->condition, ALARM_COND_AUDIO_SILENCE) == 0)
                return 0;
        for (i = 0; i < b->n_open; i++)
                if (b->open[i].alarm_id == e->alarm_id) {
                        a = &b->open[i];
                        break;
                }

        if (strcmp(e->state, "latched") == 0 || strcmp(e->state, "inactive") == 0) {
                /* A user's "inactive" is the acknowledgement of a latched alarm. */
                if (strcmp(e->state, "inactive") == 0 && strcmp(e->actor, ALARM_ACTOR_AUTO) != 0)
                        ack_add(b->d, e, true);
                if (a) {
                        span_add(b, a, e->wall_ns, false);
                        occurrence_done(b, i);
                }
                return 0;
        }
        if (strcmp(e->state, "acknowledged") == 0)
                ack_add(b->d, e, false);
        if (strcmp(e->state, "active") != 0 && strcmp(e->state, "acknowledged") != 0 &&
            strcmp(e->state, "escalated") != 0 && strcmp(e->state, "reminder") != 0)
                return 0;
        if (!a) {
                if (b->n_open == OPEN_ALARMS_MAX) {
                        b->d->spans_dropped++;
                        return 0;
                }
                a = &b->open[b->n_open++];
                *a = (OpenAlarm){.alarm_id = e->alarm_id,
                                 .technical = e->technical,
                                 .priority = prio,
                                 .highest = prio,
                                 .since_ns = e->wall_ns};
                snprintf(a->condition, sizeof(a->condition), "%s", e->condition);
        } else if (prio != a->priority) {
                span_add(b, a, e->wall_ns, false);
                a->priority = prio;
                a->since_ns = e->wall_ns;
                if (prio > a->highest)
                        a->highest = prio;
        }
        return 0;
}

static int span_compare(const void *x, const void *y)
{
        const ChartAlarmSpan *a = x, *b = y;

        if (a->from_ns != b->from_ns)
                return a->from_ns < b->from_ns ? -1 : 1;
        return 0;
}

static void alarm_totals(ChartData *d)
{
        qsort(d->spans, d->n_spans, sizeof(d->spans[0]), span_compare);
        for (int p = ALARM_PRIO_LOW; p < _ALARM_PRIO_MAX; p++) {
                int64_t total = 0, cur_from = 0, cur_to = 0;
                bool cur = false;

                for (size_t i = 0; i < d->n_spans; i++) {
                        const ChartAlarmSpan *s = &d->spans[i];

                        if ((int)s->priority != p)
                                continue;
                        if (cur && s->from_ns <= cur_to) {
                                if (s->to_ns > cur_to)
                                        cur_to = s->to_ns;
                                continue;
                        }
                        if (cur)
                                total += cur_to - cur_from;
                        cur = true;
                        cur_from = s->from_ns;
                        cur_to = s->to_ns;
                }
                if (cur)
                        total += cur_to - cur_from;
                d->totals.active_ns[p] = total;
        }
}

static int load_alarms(sqlite3 *db, ChartData *d)
{
        AlarmBuilder *b = calloc(1, sizeof(*b));
        int64_t end = d->session->ended ? d->session->ended_ns : d->axis_to_ns;
        int r;

        if (!b)
                return -ENOMEM;
        b->d = d;
        r = export_alarms_foreach(db, d->session->id, EXPORT_RANGE_ALL, chart_alarm, b);
        while (r >= 0 && b->n_open > 0) {
                OpenAlarm *a = &b->open[b->n_open - 1];

                span_add(b, a, end, true);
                occurrence_done(b, b->n_open - 1);
        }
        free(b);
        if (r >= 0)
                alarm_totals(d);
        return r;
}

/* ---- Profile and axis ---------------------------------------------------- */

static void load_profile(ChartData *d, const ExportOptions *o)
{
        const char *name = d->session->profile;
        char *dir_copy = NULL, *path = NULL;
        ProfileDiag diag = {0};

        if (!name || !*name) {
                snprintf(d->profile_note, sizeof(d->profile_note), "no alarm profile recorded");
                return;
        }
        if (!profile_name_valid(name) || !o->config_path) {
                snprintf(d->profile_note, sizeof(d->profile_note), "limits not available");
                return;
        }
        dir_copy = strdup(o->config_path);
        if (!dir_copy || asprintf(&path, "%s/profiles/%s.conf", dirname(dir_copy), name) < 0) {
                path = NULL;
                goto out;
        }
        if (access(path, R_OK) < 0) {
                snprintf(d->profile_note, sizeof(d->profile_note),
                         "limits not shown: profile %s not found beside %s", name, o->config_path);
                goto out;
        }
        d->profile = calloc(1, sizeof(*d->profile));
        if (!d->profile)
                goto out;
        log_setup("vitalsctl export");
        if (profile_load_file(path, d->profile, &diag) < 0) {
                snprintf(d->profile_note, sizeof(d->profile_note),
                         "limits not shown: profile %s has errors", name);
                goto out;
        }
        d->have_profile = true;
        snprintf(d->profile_note, sizeof(d->profile_note),
                 "limit lines: profile %s as configured at export", name);
out:
        free(dir_copy);
        free(path);
}

static void set_axis(ChartData *d, const ExportSession *s, const ExportOptions *o, int64_t first,
                     int64_t last)
{
        d->axis_from_ns = o->range.from_ns != INT64_MIN ? o->range.from_ns : s->started_ns;
        if (d->have_extent && first < d->axis_from_ns && o->range.from_ns == INT64_MIN)
                d->axis_from_ns = first;
        if (o->range.to_ns != INT64_MAX)
                d->axis_to_ns = o->range.to_ns;
        else if (s->ended)
                d->axis_to_ns = s->ended_ns > last || !d->have_extent ? s->ended_ns : last + 1;
        else
                d->axis_to_ns = d->have_extent ? last + 1 : s->started_ns;
        d->last_data_ns = d->have_extent ? last : s->started_ns;
        /* A session with one instant of data still gets a minute of axis. */
        if (d->axis_to_ns - d->axis_from_ns < NS_PER_SEC * 60 && o->range.to_ns == INT64_MAX)
                d->axis_to_ns = d->axis_from_ns + NS_PER_SEC * 60;
        if (d->axis_to_ns <= d->axis_from_ns)
                d->axis_to_ns = d->axis_from_ns + NS_PER_SEC;
}

/* ---- Entry --------------------------------------------------------------- */

int chart_data_load(sqlite3 *db, const ExportSession *s, const ExportOptions *o, ChartData *d)
{
        int64_t first = 0, last = 0;
        int r;

        d->session = s;
        d->clinic = export_clinic_name(o);
        d->exported_ns = export_now_ns(o);
        d->spans = calloc(CHART_SPANS_MAX, sizeof(*d->spans));
        d->acks = calloc(CHART_ACKS_MAX, sizeof(*d->acks));
        d->markers = calloc(CHART_MARKERS_MAX, sizeof(*d->markers));
        if (!d->spans || !d->acks || !d->markers)
                return -ENOMEM;

        r = export_session_extent(db, s->id, o->range, &first, &last);
        if (r < 0 && r != -ENOENT)
                return r;
        d->have_extent = r == 0;
        set_axis(d, s, o, first, last);
        load_profile(d, o);

        for (int i = 0; i < _CHART_SERIES_MAX; i++) {
                ChartSeries *c = &d->series[i];

                c->parameter = series_parameters[i];
                r = export_parameter_stats(db, s->id, o->range, c->parameter, &c->stats);
                if (r < 0)
                        return r;
                c->gap_ns = CHART_GAP_FACTOR * c->stats.interval_ns;
                if (c->gap_ns < CHART_GAP_MIN_NS)
                        c->gap_ns = CHART_GAP_MIN_NS;
        }
        for (int i = 0; i < 3; i++) {
                r = export_parameter_stats(db, s->id, o->range, nibp_parameters[i],
                                           &d->nibp_stats[i]);
                if (r < 0)
                        return r;
        }

        r = export_markers_foreach(db, s->id, EXPORT_RANGE_ALL, chart_marker, d);
        if (r < 0)
                return r;
        r = load_alarms(db, d);
        if (r < 0)
                return r;
        r = export_readings_foreach(db, s->id, o->range, chart_reading, d);
        if (r < 0)
                return r;
        nibp_measurement_done(d);
        return 0;
}

void chart_data_done(ChartData *d)
{
        for (size_t i = 0; d->markers && i < d->n_markers; i++) {
                free(d->markers[i].kind);
                free(d->markers[i].text);
                free(d->markers[i].actor);
        }
        free(d->markers);
        free(d->spans);
        free(d->acks);
        free(d->profile);
        free(d->clinic);
}
