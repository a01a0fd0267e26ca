/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_chart.c — the chart page: one page for the patient's chart, drawn
 * with cairo as PDF, PNG (150 dpi) or SVG, on A4 or US Letter.
 *
 * Owns the page layout and drawing; the data comes from export_chart_data.c
 * (export_chart.h).  From top to bottom:
 *
 *   header   clinic, bed, pseudonymous patient reference, session, profile,
 *            start/end/duration, the window shown when --from/--to cut it
 *   alarms   one lane per priority (high, medium, low) with the spans when
 *            alarms were active; the same spans tint the panel they concern
 *   panels   heart rate and pulse rate; SpO2 with the profile's limit lines;
 *            NIBP as systolic–diastolic bars with the mean as a dot — three
 *            panels on one time axis, markers as numbered vertical lines
 *   legend   and the time axis (local time, the zone named in the footer)
 *   summary  min/median/max per parameter, baseline blood pressure before
 *            infusion start against the peak during the infusion, alarms by
 *            priority with the time they were active, acknowledgements
 *            (who, when), markers
 *
 * Greyscale: nothing is told by colour alone.  HR is a solid line and PR a
 * dashed one; alarm priorities have their own lanes and fill patterns
 * (solid, hatched, dotted); limit lines differ in dash; no-data gaps are
 * hatched and labelled; readings without a value are a cross-hatched strip.
 *
 * Lines never cross a gap (see export_chart_data.c for the rule).  Drawing
 * uses only the fixed-size buckets, so the page costs the same for ten
 * minutes or for 24 hours.  Text uses cairo's own font selection
 * ("sans-serif" through fontconfig).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include "config.h"
#include "export_chart.h"

#define PNG_DPI 150.0
#define MARGIN 36.0
#define FONT "sans-serif"
#define NS_PER_SEC 1000000000LL

typedef struct Rgb {
        double r, g, b;
} Rgb;

static const Rgb INK = {0.1, 0.1, 0.1};
static const Rgb MUTED = {0.35, 0.35, 0.35};
static const Rgb FRAME = {0.25, 0.25, 0.25};
static const Rgb GRID = {0.85, 0.85, 0.85};
static const Rgb HR_INK = {0.8, 0.0, 0.0};
static const Rgb PR_INK = {0.0, 0.45, 0.0};
static const Rgb SPO2_INK = {0.0, 0.25, 0.75};
static const Rgb NIBP_INK = {0.0, 0.0, 0.0};
static const Rgb MARKER_INK = {0.2, 0.2, 0.2};
static const Rgb GAP_INK = {0.6, 0.6, 0.6};
/* IEC 60601-1-8 convention: high red, medium yellow, low cyan. */
static const Rgb PRIORITY_INK[_ALARM_PRIO_MAX] = {
    [ALARM_PRIO_NONE] = {0.5, 0.5, 0.5},
    [ALARM_PRIO_LOW] = {0.2, 0.7, 0.85},
    [ALARM_PRIO_MEDIUM] = {0.95, 0.75, 0.1},
    [ALARM_PRIO_HIGH] = {0.85, 0.1, 0.1},
};
static const char *const PRIORITY_NAME[_ALARM_PRIO_MAX] = {"none", "low", "medium", "high"};

typedef struct Box {
        double x, y, w, h;
} Box;

typedef enum PanelId {
        PANEL_HR,
        PANEL_SPO2,
        PANEL_NIBP,
        _PANEL_MAX,
} PanelId;

typedef struct Panel {
        Box box;
        double lo, hi; /* value range */
        const char *title;
} Panel;

typedef struct Page {
        cairo_t *cr;
        const ChartData *d;
        double w, h;
        double plot_x, plot_w;
        Box strip;
        Panel panels[_PANEL_MAX];
        double legend_y, summary_y, footer_y;
} Page;

typedef enum Align {
        ALIGN_LEFT,
        ALIGN_RIGHT,
        ALIGN_CENTER,
} Align;

/* ---- Small helpers ------------------------------------------------------- */

static void set_rgb(cairo_t *cr, Rgb c)
{
        cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

static void font(cairo_t *cr, double size, bool bold)
{
        cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr, size);
}

static double text_width(cairo_t *cr, const char *s)
{
        cairo_text_extents_t e;

        cairo_text_extents(cr, s, &e);
        return e.x_advance;
}

/* Cuts s (UTF-8) so that it fits max_w with an ellipsis; writes into buf. */
static const char *fit(cairo_t *cr, const char *s, double max_w, char *buf, size_t size)
{
        size_t n;

        if (!s)
                return "";
        if (max_w <= 0 || text_width(cr, s) <= max_w)
                return s;
        n = strlen(s);
        if (n >= size - 4)
                n = size - 4;
        while (n > 0) {
                while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                        n--; /* never split a UTF-8 sequence */
                memcpy(buf, s, n);
                memcpy(buf + n, "\xE2\x80\xA6", 4); /* … */
                if (text_width(cr, buf) <= max_w)
                        return buf;
                n--;
        }
        return "\xE2\x80\xA6";
}

static double text(cairo_t *cr, double x, double y, Align a, double max_w, const char *s)
{
        char buf[512];
        const char *t = fit(cr, s, max_w, buf, sizeof(buf));
        double w = text_width(cr, t);

        if (a == ALIGN_RIGHT)
                x -= w;
        else if (a == ALIGN_CENTER)
                x -= w / 2;
        cairo_move_to(cr, x, y);
        cairo_show_text(cr, t);
        return w;
}

/* "Label value" with the label muted; returns the x after it. */
static double field(cairo_t *cr, double x, double y, double size, const char *label,
                    const char *value, double max_w)
{
        font(cr, size, false);
        set_rgb(cr, MUTED);
        x += text(cr, x, y, ALIGN_LEFT, 0, label) + 3;
        font(cr, size, true);
        set_rgb(cr, INK);
        x += text(cr, x, y, ALIGN_LEFT, max_w, value);
        return x + 14;
}

static void local_time(int64_t ns, const char *fmt, char *buf, size_t size)
    __attribute__((format(strftime, 2, 0)));

static void local_time(int64_t ns, const char *fmt, char *buf, size_t size)
{
        time_t t = (time_t)(ns >= 0 ? ns / NS_PER_SEC : (ns - NS_PER_SEC + 1) / NS_PER_SEC);
        struct tm tm;

        localtime_r(&t, &tm);
        /* fmt is always one of this file's literals (checked by the
         * attribute at every call). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (strftime(buf, size, fmt, &tm) == 0)
                snprintf(buf, size, "?");
#pragma GCC diagnostic pop
}

static void duration(int64_t ns, char *buf, size_t size)
{
        int64_t s = (ns + NS_PER_SEC / 2) / NS_PER_SEC;

        if (s < 60)
                snprintf(buf, size, "%lld s", (long long)s);
        else if (s < 3600)
                snprintf(buf, size, "%lld min %lld s", (long long)(s / 60), (long long)(s % 60));
        else
                snprintf(buf, size, "%lld h %lld min", (long long)(s / 3600),
                         (long long)(s % 3600 / 60));
}

/* Up to one decimal, without a trailing ".0": 72, 97.5. */
static void value_text(double v, char *buf, size_t size)
{
        snprintf(buf, size, "%.1f", v);
        if (strlen(buf) > 2 && strcmp(buf + strlen(buf) - 2, ".0") == 0)
                buf[strlen(buf) - 2] = '\0';
        if (strcmp(buf, "-0") == 0)
                snprintf(buf, size, "0");
}

static double time_x(const Page *p, int64_t ns)
{
        const ChartData *d = p->d;
        double f = (double)(ns - d->axis_from_ns) / (double)(d->axis_to_ns - d->axis_from_ns);

        if (f < 0)
                f = 0;
        if (f > 1)
                f = 1;
        return p->plot_x + f * p->plot_w;
}

static double bucket_x(const Page *p, size_t i)
{
        return p->plot_x + ((double)i + 0.5) * p->plot_w / CHART_BUCKETS;
}

static double value_y(const Panel *pn, double v)
{
        double pad = pn->box.h * 0.04;
        double f = (v - pn->lo) / (pn->hi - pn->lo);

        return pn->box.y + pn->box.h - pad - f * (pn->box.h - 2 * pad);
}

/* A repeating pattern for greyscale-safe fills. */
typedef enum Hatch {
        HATCH_SOLID,
        HATCH_DIAGONAL,
        HATCH_DOTS,
        HATCH_CROSS,
} Hatch;

static cairo_pattern_t *hatch(Rgb bg, Rgb ink, Hatch kind, double bg_alpha)
{
        cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
        cairo_t *cr = cairo_create(s);
        cairo_pattern_t *pat;
        cairo_matrix_t m;

        cairo_set_source_rgba(cr, bg.r, bg.g, bg.b, bg_alpha);
        cairo_paint(cr);
        cairo_set_source_rgb(cr, ink.r, ink.g, ink.b);
        cairo_set_line_width(cr, 1.2);
        switch (kind) {
        case HATCH_SOLID:
                break;
        case HATCH_DIAGONAL:
                cairo_move_to(cr, 0, 8);
                cairo_line_to(cr, 8, 0);
                cairo_move_to(cr, -4, 4);
                cairo_line_to(cr, 4, -4);
                cairo_move_to(cr, 4, 12);
                cairo_line_to(cr, 12, 4);
                cairo_stroke(cr);
                break;
        case HATCH_DOTS:
                cairo_arc(cr, 4, 4, 1.3, 0, 2 * M_PI);
                cairo_fill(cr);
                break;
        case HATCH_CROSS:
                cairo_move_to(cr, 0, 8);
                cairo_line_to(cr, 8, 0);
                cairo_move_to(cr, 0, 0);
                cairo_line_to(cr, 8, 8);
                cairo_stroke(cr);
                break;
        }
        cairo_destroy(cr);
        pat = cairo_pattern_create_for_surface(s);
        cairo_surface_destroy(s);
        cairo_pattern_set_extend(pat, CAIRO_EXTEND_REPEAT);
        /* 8 px of pattern = 4 pt on the page. */
        cairo_matrix_init_scale(&m, 2, 2);
        cairo_pattern_set_matrix(pat, &m);
        return pat;
}

static Hatch priority_hatch(AlarmPriority p)
{
        return p == ALARM_PRIO_HIGH     ? HATCH_SOLID
               : p == ALARM_PRIO_MEDIUM ? HATCH_DIAGONAL
                                        : HATCH_DOTS;
}

/* ---- Layout -------------------------------------------------------------- */

static void layout(Page *p)
{
        static const double share[_PANEL_MAX] = {0.37, 0.29, 0.34};
        double header_h = 84, strip_h = 30, axis_h = 40, summary_h = 218, footer_h = 18, gap = 9;
        double y, avail;

        p->plot_x = MARGIN + 40;
        p->plot_w = p->w - MARGIN - 44 - p->plot_x;
        y = MARGIN + header_h;
        p->strip = (Box){p->plot_x, y + 6, p->plot_w, strip_h - 6};
        y += strip_h + gap;
        avail = p->h - 2 * MARGIN - header_h - strip_h - axis_h - summary_h - footer_h -
                gap * _PANEL_MAX;
        for (int i = 0; i < _PANEL_MAX; i++) {
                p->panels[i].box = (Box){p->plot_x, y + 10, p->plot_w, avail * share[i] - 10};
                y += avail * share[i] + gap;
        }
        p->legend_y = y + 16;
        p->summary_y = y + axis_h;
        p->footer_y = p->h - MARGIN;
}

static double floor_to(double v, double step)
{
        return floor(v / step) * step;
}

static double ceil_to(double v, double step)
{
        return ceil(v / step) * step;
}

static void widen(Panel *pn, const ExportParameterStats *s, double margin, double step)
{
        if (s->n_values == 0)
                return;
        pn->lo = fmin(pn->lo, floor_to(s->min - margin, step));
        pn->hi = fmax(pn->hi, ceil_to(s->max + margin, step));
}

static void value_ranges(Page *p)
{
        const ChartData *d = p->d;
        Panel *hr = &p->panels[PANEL_HR], *spo2 = &p->panels[PANEL_SPO2],
              *nibp = &p->panels[PANEL_NIBP];

        /* Fixed defaults keep one patient's pages comparable; they widen to
         * show every value. */
        *hr = (Panel){hr->box, 40, 140, "Heart rate (HR, solid) and pulse rate (PR, dashed), /min"};
        widen(hr, &d->series[CHART_HR].stats, 5, 10);
        widen(hr, &d->series[CHART_PR].stats, 5, 10);
        *spo2 = (Panel){spo2->box, 80, 100, "SpO2, %"};
        widen(spo2, &d->series[CHART_SPO2].stats, 2, 5);
        spo2->hi = fmin(spo2->hi, 100);
        if (d->have_profile)
                for (size_t i = 0; i < d->profile->n_rules; i++)
                        if (strcmp(d->profile->rules[i].parameter, "SPO2") == 0)
                                spo2->lo =
                                    fmin(spo2->lo, floor_to(d->profile->rules[i].limit - 2, 5));
        *nibp = (Panel){nibp->box, 40, 200,
                        "Blood pressure (NIBP): systolic to diastolic bar, mean as dot, mmHg"};
        widen(nibp, &d->nibp_stats[0], 5, 20);
        widen(nibp, &d->nibp_stats[1], 5, 20);
        for (int i = 0; i < _PANEL_MAX; i++)
                p->panels[i].lo = fmax(p->panels[i].lo, 0);
}

/* ---- Header -------------------------------------------------------------- */

static void draw_header(Page *p)
{
        const ChartData *d = p->d;
        const ExportSession *s = d->session;
        cairo_t *cr = p->cr;
        char a[128], b[128], c[64], id[32];
        double x, y = MARGIN + 14;

        font(cr, 15, true);
        set_rgb(cr, INK);
        text(cr, MARGIN, y, ALIGN_LEFT, p->w - 2 * MARGIN - 150,
             d->clinic ? d->clinic : "Vital signs record");
        font(cr, 9, false);
        set_rgb(cr, MUTED);
        text(cr, p->w - MARGIN, y, ALIGN_RIGHT, 0,
             d->clinic ? "Vital signs record" : "vitals-logger");

        y += 17;
        snprintf(id, sizeof(id), "%lld", (long long)s->id);
        x = field(cr, MARGIN, y, 9, "Bed", s->bed, 120);
        x = field(cr, x, y, 9, "Patient reference", s->patient_ref, 130);
        x = field(cr, x, y, 9, "Session", id, 60);
        field(cr, x, y, 9, "Alarm profile", s->profile ? s->profile : "none",
              p->w - MARGIN - x - 60);

        y += 14;
        local_time(s->started_ns, "%Y-%m-%d %H:%M:%S", a, sizeof(a));
        x = field(cr, MARGIN, y, 9, "Start", a, 0);
        if (s->ended) {
                local_time(s->ended_ns, "%Y-%m-%d %H:%M:%S", b, sizeof(b));
                x = field(cr, x, y, 9, "End", b, 0);
                duration(s->ended_ns - s->started_ns, c, sizeof(c));
        } else {
                local_time(d->last_data_ns, "%Y-%m-%d %H:%M:%S", b, sizeof(b));
                x = field(cr, x, y, 9, "Still open; last data", b, 0);
                duration(d->last_data_ns - s->started_ns, c, sizeof(c));
        }
        field(cr, x, y, 9, "Duration", c, 0);

        y += 14;
        local_time(d->axis_from_ns, "%Y-%m-%d %H:%M:%S", a, sizeof(a));
        local_time(d->axis_to_ns, "%Y-%m-%d %H:%M:%S", b, sizeof(b));
        {
                char shown[300];

                snprintf(shown, sizeof(shown), "%s to %s", a, b);
                x = field(cr, MARGIN, y, 9, "Shown", shown, 0);
        }
        font(cr, 8, false);
        set_rgb(cr, MUTED);
        text(cr, x, y, ALIGN_LEFT, p->w - MARGIN - x, d->profile_note);

        cairo_set_line_width(cr, 0.8);
        set_rgb(cr, FRAME);
        cairo_move_to(cr, MARGIN, MARGIN + 68);
        cairo_line_to(cr, p->w - MARGIN, MARGIN + 68);
        cairo_stroke(cr);
}

/* ---- Alarm strip and tints ----------------------------------------------- */

static double lane_y(const Page *p, AlarmPriority prio)
{
        double lane_h = p->strip.h / 3;

        return p->strip.y + (ALARM_PRIO_HIGH - prio) * lane_h;
}

static void draw_strip(Page *p)
{
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        double lane_h = p->strip.h / 3;

        font(cr, 7.5, true);
        set_rgb(cr, INK);
        text(cr, p->strip.x + p->strip.w + 3, p->strip.y + p->strip.h / 2 + 2.5, ALIGN_LEFT, 0,
             "alarms");
        for (int prio = ALARM_PRIO_LOW; prio <= ALARM_PRIO_HIGH; prio++) {
                double y = lane_y(p, prio);
                cairo_pattern_t *pat = hatch(PRIORITY_INK[prio], INK, priority_hatch(prio), 1);

                font(cr, 6.5, false);
                set_rgb(cr, MUTED);
                text(cr, p->plot_x - 4, y + lane_h - 2, ALIGN_RIGHT, 0, PRIORITY_NAME[prio]);
                for (size_t i = 0; i < d->n_spans; i++) {
                        const ChartAlarmSpan *s = &d->spans[i];
                        double x0 = time_x(p, s->from_ns), x1 = time_x(p, s->to_ns);

                        if ((int)s->priority != prio)
                                continue;
                        if (x1 - x0 < 1)
                                x1 = x0 + 1; /* a short alarm stays visible */
                        cairo_rectangle(cr, x0, y + 0.5, x1 - x0, lane_h - 1);
                }
                cairo_set_source(cr, pat);
                cairo_fill(cr);
                cairo_pattern_destroy(pat);
                cairo_set_line_width(cr, 0.3);
                set_rgb(cr, GRID);
                cairo_move_to(cr, p->plot_x, y + lane_h);
                cairo_line_to(cr, p->plot_x + p->plot_w, y + lane_h);
                cairo_stroke(cr);
        }
        cairo_set_line_width(cr, 0.8);
        set_rgb(cr, FRAME);
        cairo_rectangle(cr, p->strip.x, p->strip.y, p->strip.w, p->strip.h);
        cairo_stroke(cr);
}

/* Which panel an alarm is about: the rule's parameter when the profile is
 * known, else the condition's name; technical conditions about the whole
 * bed (no data, disconnected) concern every panel. */
static bool alarm_concerns(const ChartData *d, const char *condition, PanelId panel)
{
        static const char *const prefixes[_PANEL_MAX][3] = {
            [PANEL_HR] = {"HR", "PR", NULL},
            [PANEL_SPO2] = {"SPO2", NULL, NULL},
            [PANEL_NIBP] = {"NIBP", NULL, NULL},
        };
        const char *param = NULL;

        if (d->have_profile)
                for (size_t i = 0; i < d->profile->n_rules; i++)
                        if (strcmp(d->profile->rules[i].condition, condition) == 0)
                                param = d->profile->rules[i].parameter;
        if (!param && strncmp(condition, ALARM_COND_SENSOR_OFF_PREFIX,
                              strlen(ALARM_COND_SENSOR_OFF_PREFIX)) == 0)
                param = condition + strlen(ALARM_COND_SENSOR_OFF_PREFIX);
        if (!param)
                param = condition;
        for (int k = 0; k < _PANEL_MAX; k++)
                for (int j = 0; j < 3 && prefixes[k][j]; j++)
                        if (strncmp(param, prefixes[k][j], strlen(prefixes[k][j])) == 0)
                                return k == (int)panel;
        return true;
}

static void draw_tints(Page *p, PanelId id)
{
        const ChartData *d = p->d;
        const Box *b = &p->panels[id].box;
        cairo_t *cr = p->cr;

        for (int prio = ALARM_PRIO_LOW; prio <= ALARM_PRIO_HIGH; prio++) {
                Rgb c = PRIORITY_INK[prio];

                for (size_t i = 0; i < d->n_spans; i++) {
                        const ChartAlarmSpan *s = &d->spans[i];
                        double x0 = time_x(p, s->from_ns), x1 = time_x(p, s->to_ns);

                        if ((int)s->priority != prio || !alarm_concerns(d, s->condition, id))
                                continue;
                        cairo_rectangle(cr, x0, b->y, fmax(x1 - x0, 1), b->h);
                }
                cairo_set_source_rgba(cr, c.r, c.g, c.b, 0.16);
                cairo_fill(cr);
        }
}

/* ---- Panels -------------------------------------------------------------- */

static double tick_step(double range, int max_ticks)
{
        static const double steps[] = {1, 2, 5, 10, 20, 25, 50, 100, 200, 500};

        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
                if (range / steps[i] <= max_ticks)
                        return steps[i];
        return 1000;
}

static void draw_grid(Page *p, const Panel *pn)
{
        cairo_t *cr = p->cr;
        double step = tick_step(pn->hi - pn->lo, pn->box.h > 90 ? 6 : 4);
        char buf[32];

        font(cr, 7, false);
        cairo_set_line_width(cr, 0.4);
        for (double v = ceil_to(pn->lo, step); v <= pn->hi + 1e-9; v += step) {
                double y = value_y(pn, v);

                set_rgb(cr, GRID);
                cairo_move_to(cr, pn->box.x, y);
                cairo_line_to(cr, pn->box.x + pn->box.w, y);
                cairo_stroke(cr);
                set_rgb(cr, MUTED);
                value_text(v, buf, sizeof(buf));
                text(cr, pn->box.x - 4, y + 2.5, ALIGN_RIGHT, 0, buf);
        }
}

static void draw_gaps(Page *p, const Panel *pn, const ChartSeries *s)
{
        cairo_t *cr = p->cr;
        cairo_pattern_t *pat = hatch((Rgb){1, 1, 1}, GAP_INK, HATCH_DIAGONAL, 1);

        for (size_t i = 0; i < s->n_gaps; i++) {
                /* The gap is the time between the two readings, exclusive. */
                double x0 = time_x(p, s->gaps[i].from_ns), x1 = time_x(p, s->gaps[i].to_ns);

                if (x1 - x0 < 1.5)
                        continue;
                cairo_rectangle(cr, x0 + 0.5, pn->box.y, x1 - x0 - 1, pn->box.h);
                cairo_set_source(cr, pat);
                cairo_fill(cr);
                if (x1 - x0 >= 34) {
                        cairo_rectangle(cr, (x0 + x1) / 2 - 16, pn->box.y + pn->box.h / 2 - 7, 32,
                                        10);
                        cairo_set_source_rgb(cr, 1, 1, 1);
                        cairo_fill(cr);
                        font(cr, 7, false);
                        set_rgb(cr, INK);
                        text(cr, (x0 + x1) / 2, pn->box.y + pn->box.h / 2, ALIGN_CENTER, 0,
                             "no data");
                }
        }
        cairo_pattern_destroy(pat);
}

/* Readings without a value: a cross-hatched strip along the panel's foot. */
static void draw_no_value(Page *p, const Panel *pn, const bool *no_value)
{
        cairo_t *cr = p->cr;
        cairo_pattern_t *pat = hatch((Rgb){1, 1, 1}, INK, HATCH_CROSS, 1);
        double w = p->plot_w / CHART_BUCKETS;
        bool any = false;

        for (size_t i = 0; i < CHART_BUCKETS; i++)
                if (no_value[i]) {
                        cairo_rectangle(cr, p->plot_x + i * w - 0.3, pn->box.y + pn->box.h - 6,
                                        w + 0.6, 6);
                        any = true;
                }
        if (any) {
                cairo_set_source(cr, pat);
                cairo_fill(cr);
        }
        cairo_new_path(cr);
        cairo_pattern_destroy(pat);
}

static void series_no_value(const ChartSeries *s, bool *out)
{
        for (size_t i = 0; i < CHART_BUCKETS; i++)
                out[i] = out[i] || s->buckets[i].no_value;
}

static void draw_series(Page *p, const Panel *pn, const ChartSeries *s, Rgb ink, bool dashed)
{
        static const double dash[] = {3.5, 2};
        cairo_t *cr = p->cr;
        double prev_x = 0, prev_y = 0;
        bool have_prev = false, pen_at_prev = false;

        cairo_save(cr);
        cairo_rectangle(cr, pn->box.x, pn->box.y, pn->box.w, pn->box.h);
        cairo_clip(cr);
        set_rgb(cr, ink);
        cairo_set_line_width(cr, dashed ? 1.0 : 1.3);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
        for (size_t i = 0; i < CHART_BUCKETS; i++) {
                const ChartBucket *b = &s->buckets[i];
                double x = bucket_x(p, i);

                if (b->n == 0)
                        continue;
                /* One polyline while values join; a gap lifts the pen. */
                if (have_prev && b->joins) {
                        if (!pen_at_prev)
                                cairo_move_to(cr, prev_x, prev_y);
                        cairo_line_to(cr, x, value_y(pn, b->first));
                }
                pen_at_prev = have_prev && b->joins && b->first == b->last && b->max == b->min;
                if (b->max > b->min) {
                        cairo_move_to(cr, x, value_y(pn, b->min));
                        cairo_line_to(cr, x, value_y(pn, b->max));
                }
                prev_x = x;
                prev_y = value_y(pn, b->last);
                have_prev = true;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        /* A value joined to nothing on either side would be invisible as a
         * line: it gets a dot. */
        for (size_t i = 0; i < CHART_BUCKETS; i++) {
                const ChartBucket *b = &s->buckets[i];
                size_t j = i + 1;

                if (b->n == 0 || b->joins || b->max > b->min)
                        continue;
                while (j < CHART_BUCKETS && s->buckets[j].n == 0)
                        j++;
                if (j < CHART_BUCKETS && s->buckets[j].joins)
                        continue;
                cairo_new_sub_path(cr);
                cairo_arc(cr, bucket_x(p, i), value_y(pn, b->first), 1.2, 0, 2 * M_PI);
        }
        cairo_fill(cr);
        cairo_restore(cr);
}

static void draw_nibp(Page *p, const Panel *pn)
{
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;

        /* Bars stay apart however many measurements share the width. */
        double pitch = p->plot_w / (double)(d->n_nibp + 1);
        double bar_w = fmax(0.4, fmin(2.0, pitch * 0.45));
        double cap = fmax(0.6, fmin(2.5, pitch * 0.4));

        cairo_save(cr);
        cairo_rectangle(cr, pn->box.x, pn->box.y, pn->box.w, pn->box.h);
        cairo_clip(cr);
        set_rgb(cr, NIBP_INK);
        cairo_set_line_width(cr, bar_w);
        for (size_t i = 0; i < CHART_BUCKETS; i++) {
                const ChartNibpBucket *b = &d->nibp[i];
                double x = bucket_x(p, i);

                if (b->n == 0)
                        continue;
                cairo_move_to(cr, x, value_y(pn, b->dia_min));
                cairo_line_to(cr, x, value_y(pn, b->sys_max));
        }
        cairo_stroke(cr);
        cairo_set_line_width(cr, 0.9);
        for (size_t i = 0; i < CHART_BUCKETS; i++) {
                const ChartNibpBucket *b = &d->nibp[i];
                double x = bucket_x(p, i);

                if (b->n == 0)
                        continue;
                cairo_move_to(cr, x - cap, value_y(pn, b->sys_max));
                cairo_line_to(cr, x + cap, value_y(pn, b->sys_max));
                cairo_move_to(cr, x - cap, value_y(pn, b->dia_min));
                cairo_line_to(cr, x + cap, value_y(pn, b->dia_min));
        }
        cairo_stroke(cr);
        for (size_t i = 0; i < CHART_BUCKETS; i++) {
                const ChartNibpBucket *b = &d->nibp[i];

                if (b->n == 0 || isnan(b->mean))
                        continue;
                cairo_new_sub_path(cr);
                cairo_arc(cr, bucket_x(p, i), value_y(pn, b->mean), fmin(1.6, cap), 0, 2 * M_PI);
        }
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill_preserve(cr);
        set_rgb(cr, NIBP_INK);
        cairo_set_line_width(cr, 0.8);
        cairo_stroke(cr);
        cairo_restore(cr);
}

static void draw_limits(Page *p, const Panel *pn)
{
        static const double dashes[_ALARM_PRIO_MAX][2] = {
            [ALARM_PRIO_LOW] = {1, 2.5},
            [ALARM_PRIO_MEDIUM] = {3, 2},
            [ALARM_PRIO_HIGH] = {7, 2.5},
        };
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        char buf[64], v[32];

        if (!d->have_profile)
                return;
        for (size_t i = 0; i < d->profile->n_rules; i++) {
                const AlarmRule *r = &d->profile->rules[i];
                double y;

                if (strcmp(r->parameter, "SPO2") != 0 || r->limit < pn->lo || r->limit > pn->hi)
                        continue;
                y = value_y(pn, r->limit);
                set_rgb(cr, INK);
                cairo_set_line_width(cr, r->priority == ALARM_PRIO_HIGH ? 1.0 : 0.8);
                cairo_set_dash(cr, dashes[r->priority], 2, 0);
                cairo_move_to(cr, pn->box.x, y);
                cairo_line_to(cr, pn->box.x + pn->box.w, y);
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);
                value_text(r->limit, v, sizeof(v));
                snprintf(buf, sizeof(buf), "%s%s %s", r->above ? ">" : "<", v,
                         PRIORITY_NAME[r->priority]);
                font(cr, 6.5, false);
                text(cr, pn->box.x + pn->box.w + 3, y + 2.2, ALIGN_LEFT, 44, buf);
        }
}

static void draw_panel_frame(Page *p, const Panel *pn)
{
        cairo_t *cr = p->cr;

        font(cr, 8.5, true);
        set_rgb(cr, INK);
        text(cr, pn->box.x, pn->box.y - 3, ALIGN_LEFT, pn->box.w, pn->title);
        cairo_set_line_width(cr, 0.8);
        set_rgb(cr, FRAME);
        cairo_rectangle(cr, pn->box.x, pn->box.y, pn->box.w, pn->box.h);
        cairo_stroke(cr);
}

static void draw_empty_note(Page *p, const Panel *pn, bool empty, const char *what)
{
        if (!empty)
                return;
        font(p->cr, 8, false);
        set_rgb(p->cr, MUTED);
        text(p->cr, pn->box.x + pn->box.w / 2, pn->box.y + pn->box.h / 2, ALIGN_CENTER, 0, what);
}

static void draw_panels(Page *p)
{
        const ChartData *d = p->d;
        const ChartSeries *hr = &d->series[CHART_HR], *pr = &d->series[CHART_PR],
                          *spo2 = &d->series[CHART_SPO2];
        bool nv[CHART_BUCKETS];

        for (int i = 0; i < _PANEL_MAX; i++) {
                draw_tints(p, (PanelId)i);
                draw_grid(p, &p->panels[i]);
        }

        /* The gaps of the panel's main parameter: HR, else PR. */
        draw_gaps(p, &p->panels[PANEL_HR], hr->have_any ? hr : pr);
        draw_gaps(p, &p->panels[PANEL_SPO2], spo2);

        memset(nv, 0, sizeof(nv));
        series_no_value(hr, nv);
        series_no_value(pr, nv);
        draw_no_value(p, &p->panels[PANEL_HR], nv);
        memset(nv, 0, sizeof(nv));
        series_no_value(spo2, nv);
        draw_no_value(p, &p->panels[PANEL_SPO2], nv);
        memset(nv, 0, sizeof(nv));
        for (size_t i = 0; i < CHART_BUCKETS; i++)
                nv[i] = d->nibp[i].no_value;
        draw_no_value(p, &p->panels[PANEL_NIBP], nv);

        draw_limits(p, &p->panels[PANEL_SPO2]);
        draw_series(p, &p->panels[PANEL_HR], pr, PR_INK, true);
        draw_series(p, &p->panels[PANEL_HR], hr, HR_INK, false);
        draw_series(p, &p->panels[PANEL_SPO2], spo2, SPO2_INK, false);
        draw_nibp(p, &p->panels[PANEL_NIBP]);

        draw_empty_note(p, &p->panels[PANEL_HR], !hr->have_any && !pr->have_any,
                        "no heart rate or pulse rate recorded");
        draw_empty_note(p, &p->panels[PANEL_SPO2], !spo2->have_any, "no SpO2 recorded");
        draw_empty_note(p, &p->panels[PANEL_NIBP],
                        d->nibp_stats[0].n_values + d->nibp_stats[0].n_without == 0,
                        "no blood pressure recorded");
        for (int i = 0; i < _PANEL_MAX; i++)
                draw_panel_frame(p, &p->panels[i]);
}

/* ---- Time axis, markers, legend ------------------------------------------ */

static void draw_time_axis(Page *p)
{
        static const int64_t steps_s[] = {1,   2,   5,    10,   15,   30,    60,    120,   300,
                                          600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400};
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        const Panel *last = &p->panels[PANEL_NIBP];
        double axis_y = last->box.y + last->box.h;
        int64_t span_s = (d->axis_to_ns - d->axis_from_ns) / NS_PER_SEC, step = 86400, t;
        char prev_day[32] = "", day[32], label[32];
        struct tm tm;
        time_t first;

        for (size_t i = 0; i < sizeof(steps_s) / sizeof(steps_s[0]); i++)
                if (span_s / steps_s[i] <= 9) {
                        step = steps_s[i];
                        break;
                }
        /* Ticks on round local times. */
        first = (time_t)(d->axis_from_ns / NS_PER_SEC);
        localtime_r(&first, &tm);
        t = (int64_t)first + tm.tm_gmtoff;
        t = (t / step + 1) * step - tm.tm_gmtoff;
        if ((t - step) * NS_PER_SEC >= d->axis_from_ns)
                t -= step;

        font(cr, 7, false);
        for (; t * NS_PER_SEC < d->axis_to_ns; t += step) {
                double x = time_x(p, t * NS_PER_SEC);

                cairo_set_line_width(cr, 0.4);
                set_rgb(cr, GRID);
                for (int i = 0; i < _PANEL_MAX; i++) {
                        cairo_move_to(cr, x, p->panels[i].box.y);
                        cairo_line_to(cr, x, p->panels[i].box.y + p->panels[i].box.h);
                }
                cairo_stroke(cr);
                set_rgb(cr, FRAME);
                cairo_set_line_width(cr, 0.8);
                cairo_move_to(cr, x, axis_y);
                cairo_line_to(cr, x, axis_y + 3);
                cairo_stroke(cr);
                local_time(t * NS_PER_SEC, step < 60 ? "%H:%M:%S" : "%H:%M", label, sizeof(label));
                set_rgb(cr, INK);
                text(cr, x, axis_y + 11, ALIGN_CENTER, 0, label);
                local_time(t * NS_PER_SEC, "%d %b", day, sizeof(day));
                if (strcmp(day, prev_day) != 0) {
                        set_rgb(cr, MUTED);
                        text(cr, x, axis_y + 19, ALIGN_CENTER, 0, day);
                        snprintf(prev_day, sizeof(prev_day), "%s", day);
                }
        }
}

static void marker_label(const ChartMarker *m, char *buf, size_t size)
{
        if (m->text && *m->text)
                snprintf(buf, size, "%s: %s", m->kind, m->text);
        else
                snprintf(buf, size, "%s", m->kind);
}

static void draw_markers(Page *p)
{
        static const double dash[] = {1.5, 1.5};
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        const Box *hr = &p->panels[PANEL_HR].box;
        const Box *nibp = &p->panels[PANEL_NIBP].box;
        char num[32], label[600];
        double last_tag_x = -1e9, last_label_x = -1e9;
        int level = 0;

        for (size_t i = 0; i < d->n_markers; i++) {
                const ChartMarker *m = &d->markers[i];
                double x = time_x(p, m->wall_ns);
                double tag_y;

                set_rgb(cr, MARKER_INK);
                cairo_set_line_width(cr, 0.7);
                cairo_set_dash(cr, dash, 2, 0);
                cairo_move_to(cr, x, p->strip.y);
                cairo_line_to(cr, x, nibp->y + nibp->h);
                cairo_stroke(cr);
                cairo_set_dash(cr, NULL, 0, 0);

                /* A numbered tag above the alarm strip; the list in the
                 * summary carries the full text. */
                snprintf(num, sizeof(num), "%zu", i + 1);
                /* Tags of close markers alternate between two rows. */
                level = x - last_tag_x < 11 ? !level : 0;
                last_tag_x = x;
                tag_y = p->strip.y - 9 - level * 9;
                font(cr, 6.5, true);
                cairo_rectangle(cr, x - 5, tag_y, 10, 8);
                cairo_set_source_rgb(cr, 1, 1, 1);
                cairo_fill_preserve(cr);
                set_rgb(cr, MARKER_INK);
                cairo_set_line_width(cr, 0.5);
                cairo_stroke(cr);
                text(cr, x, tag_y + 6.4, ALIGN_CENTER, 0, num);

                /* The kind along the line, inside the top panel, unless the
                 * previous label is too close to read both. */
                if (x - last_label_x < 8)
                        continue;
                last_label_x = x;
                marker_label(m, label, sizeof(label));
                cairo_save(cr);
                cairo_translate(cr, x + 1.5, hr->y + 3);
                cairo_rotate(cr, M_PI / 2);
                font(cr, 6, false);
                set_rgb(cr, INK);
                text(cr, 0, 0, ALIGN_LEFT, hr->h - 6, label);
                cairo_restore(cr);
        }
}

static void legend_line(cairo_t *cr, double x, double y, Rgb c, double width, bool dashed)
{
        static const double dash[] = {3.5, 2};

        set_rgb(cr, c);
        cairo_set_line_width(cr, width);
        cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
        cairo_move_to(cr, x, y - 2.5);
        cairo_line_to(cr, x + 14, y - 2.5);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
}

static double legend_swatch(cairo_t *cr, double x, double y, cairo_pattern_t *pat)
{
        cairo_rectangle(cr, x, y - 6, 12, 7);
        cairo_set_source(cr, pat);
        cairo_fill_preserve(cr);
        set_rgb(cr, FRAME);
        cairo_set_line_width(cr, 0.4);
        cairo_stroke(cr);
        cairo_pattern_destroy(pat);
        return x + 15;
}

static double legend_text(cairo_t *cr, double x, double y, const char *s)
{
        font(cr, 7, false);
        set_rgb(cr, INK);
        return x + text(cr, x, y, ALIGN_LEFT, 0, s) + 10;
}

static void draw_legend(Page *p)
{
        cairo_t *cr = p->cr;
        double x = MARGIN, y = p->legend_y + 8;

        legend_line(cr, x, y, HR_INK, 1.3, false);
        x = legend_text(cr, x + 17, y, "HR");
        legend_line(cr, x, y, PR_INK, 1.0, true);
        x = legend_text(cr, x + 17, y, "PR");
        legend_line(cr, x, y, SPO2_INK, 1.3, false);
        x = legend_text(cr, x + 17, y, "SpO2");
        legend_line(cr, x, y, INK, 0.8, true);
        x = legend_text(cr, x + 17, y, "alarm limit");
        for (int prio = ALARM_PRIO_HIGH; prio >= ALARM_PRIO_LOW; prio--) {
                char buf[32];

                x = legend_swatch(cr, x, y,
                                  hatch(PRIORITY_INK[prio], INK, priority_hatch(prio), 1));
                snprintf(buf, sizeof(buf), "%s alarm", PRIORITY_NAME[prio]);
                x = legend_text(cr, x, y, buf);
        }
        x = legend_swatch(cr, x, y, hatch((Rgb){1, 1, 1}, GAP_INK, HATCH_DIAGONAL, 1));
        x = legend_text(cr, x, y, "no data");
        x = legend_swatch(cr, x, y, hatch((Rgb){1, 1, 1}, INK, HATCH_CROSS, 1));
        legend_text(cr, x, y, "no value (sensor off, invalid)");
}

/* ---- Summary ------------------------------------------------------------- */

typedef struct Column {
        double x, w, y;
} Column;

static void heading(cairo_t *cr, Column *c, const char *s)
{
        font(cr, 9, true);
        set_rgb(cr, INK);
        text(cr, c->x, c->y, ALIGN_LEFT, c->w, s);
        c->y += 3;
        cairo_set_line_width(cr, 0.5);
        set_rgb(cr, FRAME);
        cairo_move_to(cr, c->x, c->y);
        cairo_line_to(cr, c->x + c->w, c->y);
        cairo_stroke(cr);
        c->y += 9;
}

static void line(cairo_t *cr, Column *c, bool bold, const char *s)
{
        font(cr, 7.5, bold);
        set_rgb(cr, INK);
        text(cr, c->x, c->y, ALIGN_LEFT, c->w, s);
        c->y += 9.5;
}

/* Right edges of the numeric columns of the parameter table. */
static const double STATS_COLS[] = {104, 138, 166, 196, 224};

static void stats_row(cairo_t *cr, Column *c, const char *name, const ExportParameterStats *s,
                      const char *unit)
{
        char cells[5][32];

        snprintf(cells[0], sizeof(cells[0]), "%lld", (long long)s->n_values);
        snprintf(cells[1], sizeof(cells[1]), "%lld", (long long)s->n_without);
        if (s->n_values > 0) {
                value_text(s->min, cells[2], sizeof(cells[2]));
                value_text(s->median, cells[3], sizeof(cells[3]));
                value_text(s->max, cells[4], sizeof(cells[4]));
        } else {
                for (int i = 2; i < 5; i++)
                        snprintf(cells[i], sizeof(cells[i]), "-");
        }
        font(cr, 7.5, false);
        set_rgb(cr, INK);
        text(cr, c->x, c->y, ALIGN_LEFT, 74, name);
        for (int i = 0; i < 5; i++) {
                font(cr, 7.5, i >= 2);
                text(cr, c->x + STATS_COLS[i], c->y, ALIGN_RIGHT, 0, cells[i]);
        }
        font(cr, 7, false);
        set_rgb(cr, MUTED);
        text(cr, c->x + STATS_COLS[4] + 5, c->y, ALIGN_LEFT, c->w - STATS_COLS[4] - 5, unit);
        c->y += 9.5;
}

static void bp_text(const ChartNibp *m, char *buf, size_t size)
{
        char s[32], d[32], t[32];

        value_text(m->sys, s, sizeof(s));
        value_text(m->dia, d, sizeof(d));
        local_time(m->wall_ns, "%H:%M:%S", t, sizeof(t));
        snprintf(buf, size, "%s/%s mmHg at %s", s, d, t);
}

static void draw_parameter_summary(Page *p, Column *c)
{
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        char buf[512], b1[160], b2[160];

        heading(cr, c, "Values shown (valid readings)");
        font(cr, 6.5, false);
        set_rgb(cr, MUTED);
        text(cr, c->x, c->y - 1, ALIGN_LEFT, 0, "parameter");
        {
                static const char *const names[] = {"values", "no value", "min", "median", "max"};

                for (int i = 0; i < 5; i++)
                        text(cr, c->x + STATS_COLS[i], c->y - 1, ALIGN_RIGHT, 0, names[i]);
        }
        c->y += 9;
        stats_row(cr, c, "Heart rate (HR)", &d->series[CHART_HR].stats, "/min");
        stats_row(cr, c, "Pulse rate (PR)", &d->series[CHART_PR].stats, "/min");
        stats_row(cr, c, "SpO2", &d->series[CHART_SPO2].stats, "%");
        stats_row(cr, c, "NIBP systolic", &d->nibp_stats[0], "mmHg");
        stats_row(cr, c, "NIBP diastolic", &d->nibp_stats[1], "mmHg");
        stats_row(cr, c, "NIBP mean", &d->nibp_stats[2], "mmHg");
        c->y += 6;

        heading(cr, c, "Blood pressure and the infusion");
        if (d->have_infusion) {
                local_time(d->infusion_start_ns, "%H:%M:%S", b1, sizeof(b1));
                if (d->infusion_end_ns != INT64_MAX) {
                        local_time(d->infusion_end_ns, "%H:%M:%S", b2, sizeof(b2));
                        snprintf(buf, sizeof(buf), "Infusion %s to %s", b1, b2);
                } else {
                        snprintf(buf, sizeof(buf), "Infusion from %s (no infusion-end marker)", b1);
                }
                line(cr, c, false, buf);
                if (d->have_baseline) {
                        bp_text(&d->baseline, b1, sizeof(b1));
                        snprintf(buf, sizeof(buf), "Baseline, last before start: %s", b1);
                } else {
                        snprintf(buf, sizeof(buf),
                                 "Baseline: no measurement before infusion start");
                }
                line(cr, c, true, buf);
                if (d->have_peak) {
                        bp_text(&d->peak, b1, sizeof(b1));
                        snprintf(buf, sizeof(buf), "Peak during infusion: %s", b1);
                } else {
                        snprintf(buf, sizeof(buf), "Peak during infusion: no measurement");
                }
                line(cr, c, true, buf);
                if (d->have_baseline && d->have_peak) {
                        char ds[32], dd[32];

                        value_text(d->peak.sys - d->baseline.sys, ds, sizeof(ds));
                        value_text(d->peak.dia - d->baseline.dia, dd, sizeof(dd));
                        snprintf(buf, sizeof(buf), "Change from baseline: %s%s / %s%s mmHg",
                                 d->peak.sys >= d->baseline.sys ? "+" : "", ds,
                                 d->peak.dia >= d->baseline.dia ? "+" : "", dd);
                        line(cr, c, false, buf);
                }
        } else {
                line(cr, c, false, "No infusion-start marker: baseline and peak not determined.");
                if (d->have_first_bp) {
                        bp_text(&d->first_bp, b1, sizeof(b1));
                        snprintf(buf, sizeof(buf), "First measurement: %s", b1);
                        line(cr, c, false, buf);
                        bp_text(&d->max_bp, b1, sizeof(b1));
                        snprintf(buf, sizeof(buf), "Highest systolic: %s", b1);
                        line(cr, c, false, buf);
                }
        }
        snprintf(buf, sizeof(buf), "%llu NIBP measurement%s shown", (unsigned long long)d->n_nibp,
                 d->n_nibp == 1 ? "" : "s");
        line(cr, c, false, buf);
}

static void draw_alarm_summary(Page *p, Column *c, double bottom)
{
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        char buf[768], t[32], dur[64];
        double reserve;
        size_t shown;

        heading(cr, c, "Alarms");
        font(cr, 6.5, false);
        set_rgb(cr, MUTED);
        text(cr, c->x, c->y - 1, ALIGN_LEFT, 0, "priority");
        text(cr, c->x + 110, c->y - 1, ALIGN_RIGHT, 0, "alarms");
        text(cr, c->x + 160, c->y - 1, ALIGN_RIGHT, 0, "technical");
        text(cr, c->x + c->w, c->y - 1, ALIGN_RIGHT, 0, "active for (total)");
        c->y += 9;
        for (int prio = ALARM_PRIO_HIGH; prio >= ALARM_PRIO_LOW; prio--) {
                font(cr, 7.5, true);
                set_rgb(cr, INK);
                text(cr, c->x, c->y, ALIGN_LEFT, 0,
                     prio == ALARM_PRIO_HIGH     ? "High"
                     : prio == ALARM_PRIO_MEDIUM ? "Medium"
                                                 : "Low");
                snprintf(buf, sizeof(buf), "%u", d->totals.count[prio]);
                text(cr, c->x + 110, c->y, ALIGN_RIGHT, 0, buf);
                snprintf(buf, sizeof(buf), "%u", d->totals.technical[prio]);
                font(cr, 7.5, false);
                text(cr, c->x + 160, c->y, ALIGN_RIGHT, 0, buf);
                duration(d->totals.active_ns[prio], dur, sizeof(dur));
                text(cr, c->x + c->w, c->y, ALIGN_RIGHT, 0, dur);
                c->y += 9.5;
        }
        if (d->spans_dropped > 0) {
                snprintf(buf, sizeof(buf), "%zu alarm spans not drawn (see --what alarms)",
                         d->spans_dropped);
                line(cr, c, false, buf);
        }
        c->y += 6;

        /* Room kept for the markers' heading and up to six of them. */
        reserve = 32 + 9.5 * (double)(d->n_markers < 6 ? d->n_markers : 6);
        heading(cr, c, "Acknowledgements");
        if (d->n_acks == 0)
                line(cr, c, false, "none");
        shown = 0;
        for (size_t i = 0; i < d->n_acks; i++) {
                const ChartAck *k = &d->acks[i];

                if (c->y > bottom - reserve && i + 1 < d->n_acks)
                        break;
                local_time(k->wall_ns, "%H:%M:%S", t, sizeof(t));
                snprintf(buf, sizeof(buf), "%s  %s  %s%s", t, k->actor, k->condition,
                         k->reset ? " (latched, reset)" : "");
                line(cr, c, false, buf);
                shown++;
        }
        if (shown < d->n_acks + d->acks_dropped) {
                snprintf(buf, sizeof(buf), "... %zu more (vitalsctl export --what alarms)",
                         d->n_acks + d->acks_dropped - shown);
                line(cr, c, false, buf);
        }
        c->y += 6;

        heading(cr, c, "Markers");
        if (d->n_markers == 0)
                line(cr, c, false, "none");
        shown = 0;
        for (size_t i = 0; i < d->n_markers; i++) {
                const ChartMarker *m = &d->markers[i];
                char label[600];

                if (c->y > bottom - 10 && i + 1 < d->n_markers)
                        break;
                local_time(m->wall_ns, "%H:%M:%S", t, sizeof(t));
                marker_label(m, label, sizeof(label));
                snprintf(buf, sizeof(buf), "%zu  %s  %s (%s)", i + 1, t, label, m->actor);
                line(cr, c, false, buf);
                shown++;
        }
        if (shown < d->n_markers + d->markers_dropped) {
                snprintf(buf, sizeof(buf), "... %zu more (vitalsctl export --what markers)",
                         d->n_markers + d->markers_dropped - shown);
                line(cr, c, false, buf);
        }
}

static void draw_summary(Page *p)
{
        double col_w = (p->w - 2 * MARGIN - 16) / 2;
        Column left = {MARGIN, col_w, p->summary_y};
        Column right = {MARGIN + col_w + 16, col_w, p->summary_y};

        draw_parameter_summary(p, &left);
        draw_alarm_summary(p, &right, p->footer_y - 14);
}

static void draw_footer(Page *p)
{
        const ChartData *d = p->d;
        cairo_t *cr = p->cr;
        char zone[32], when[64], buf[400];

        local_time(d->exported_ns, "%z %Z", zone, sizeof(zone));
        local_time(d->exported_ns, "%Y-%m-%d %H:%M", when, sizeof(when));
        snprintf(buf, sizeof(buf),
                 "Times are local (UTC%s). Exported %s by vitalsctl %s from the vitals-logger "
                 "session log.",
                 zone, when, VITALS_VERSION);
        font(cr, 6.5, false);
        set_rgb(cr, MUTED);
        text(cr, MARGIN, p->footer_y - 8, ALIGN_LEFT, p->w - 2 * MARGIN, buf);
        text(cr, MARGIN, p->footer_y, ALIGN_LEFT, p->w - 2 * MARGIN,
             "vitals-logger is a recorder and a secondary notification; the bedside monitor's "
             "own alarms are primary.");
}

static void draw_page(Page *p)
{
        cairo_t *cr = p->cr;

        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        layout(p);
        value_ranges(p);
        draw_header(p);
        draw_strip(p);
        draw_panels(p);
        draw_time_axis(p);
        draw_markers(p);
        draw_legend(p);
        draw_summary(p);
        draw_footer(p);
}

/* ---- Surfaces ------------------------------------------------------------ */

static cairo_status_t write_stream(void *closure, const unsigned char *data, unsigned int length)
{
        FILE *f = closure;

        return fwrite(data, 1, length, f) == length ? CAIRO_STATUS_SUCCESS
                                                    : CAIRO_STATUS_WRITE_ERROR;
}

static int cairo_errno(cairo_status_t st, FILE *f)
{
        if (st == CAIRO_STATUS_SUCCESS)
                return export_stream_error(f);
        if (st == CAIRO_STATUS_NO_MEMORY)
                return -ENOMEM;
        if (st == CAIRO_STATUS_WRITE_ERROR) {
                int r = export_stream_error(f);
                return r < 0 ? r : -EIO;
        }
        return -EIO;
}

static void paper_size(ExportPaper paper, double *w, double *h)
{
        if (paper == EXPORT_PAPER_LETTER) {
                *w = 612;
                *h = 792;
        } else {
                *w = 595.276; /* 210 mm */
                *h = 841.890; /* 297 mm */
        }
}

static int render(const ChartData *d, const ExportOptions *o, FILE *f)
{
        Page page = {.d = d};
        cairo_surface_t *s;
        cairo_status_t st;
        double scale = 1;

        paper_size(o->paper, &page.w, &page.h);
        switch (o->format) {
        case EXPORT_FORMAT_PDF:
                s = cairo_pdf_surface_create_for_stream(write_stream, f, page.w, page.h);
                cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Vital signs record");
                cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR,
                                               "vitalsctl " VITALS_VERSION);
                break;
        case EXPORT_FORMAT_SVG:
                s = cairo_svg_surface_create_for_stream(write_stream, f, page.w, page.h);
                break;
        case EXPORT_FORMAT_PNG:
                scale = PNG_DPI / 72.0;
                s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(page.w * scale),
                                               (int)ceil(page.h * scale));
                break;
        default:
                return -EINVAL;
        }
        st = cairo_surface_status(s);
        if (st != CAIRO_STATUS_SUCCESS) {
                cairo_surface_destroy(s);
                return cairo_errno(st, f);
        }
        page.cr = cairo_create(s);
        cairo_scale(page.cr, scale, scale);
        draw_page(&page);
        cairo_show_page(page.cr);
        st = cairo_status(page.cr);
        cairo_destroy(page.cr);
        if (st == CAIRO_STATUS_SUCCESS && o->format == EXPORT_FORMAT_PNG)
                st = cairo_surface_write_to_png_stream(s, write_stream, f);
        cairo_surface_finish(s);
        if (st == CAIRO_STATUS_SUCCESS)
                st = cairo_surface_status(s);
        cairo_surface_destroy(s);
        return cairo_errno(st, f);
}

int export_write_chart(sqlite3 *db, const ExportSession *s, const ExportOptions *o, FILE *f)
{
        ChartData *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        r = chart_data_load(db, s, o, d);
        if (r >= 0)
                r = render(d, o, f);
        chart_data_done(d);
        free(d);
        return r;
}
