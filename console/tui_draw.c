/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tui_draw.c — what the nurse console puts on the screen.
 *
 * Owns the layout (header, banners, bed tiles, alarm list, status and help
 * lines, the help and marker overlays), the block-digit font and the
 * colours.  Rules it keeps:
 *
 *  - Calm when all is well: no colour at all unless something needs a
 *    nurse.  Colour means priority (high red, medium yellow, low cyan, the
 *    IEC 60601-1-8 convention) and always comes with a text marking (`***`,
 *    `**`, `*`, TECH, ACTIVE, STALE...), so it reads on a monochrome
 *    terminal too.
 *  - Never quieter than the truth: a value is drawn as current only when
 *    board_value_current() says so and the console is connected; anything
 *    else is dashes with the reason.  An episodic value (NIBP) always
 *    carries its age.
 *  - Nothing is cut mid-number: text is placed in whole segments that are
 *    left out when they do not fit; only names (bed, patient reference,
 *    condition) are shortened, with an ellipsis.
 *
 * Draws into curses' stdscr only; never blocks, never fails (a screen that
 * is too small gets a plea to enlarge it).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <curses.h>

#include "tui.h"

#define NSEC_PER_SEC 1000000000LL

enum {
        PAIR_HIGH = 1,
        PAIR_MEDIUM,
        PAIR_LOW,
        PAIR_HIGH_LOUD,
        PAIR_MEDIUM_LOUD,
        PAIR_LOW_LOUD,
};

const char *const tui_marker_kinds[TUI_MARKER_KINDS] = {"infusion-start", "dose", "infusion-end",
                                                        "note"};

/* --- layout ------------------------------------------------------------ */

static const struct {
        int height, min_width;
} tile_modes[] = {
    /* border, session, labels, 5 digit rows, NIBP, border; two numbers of
     * three block digits (11 columns each) side by side. */
    [TUI_TILE_BIG] = {10, 26},
    [TUI_TILE_MEDIUM] = {5, 26},
    [TUI_TILE_COMPACT] = {3, 36},
    [TUI_TILE_LINE] = {1, 40},
};

int tui_tile_height(TuiTileMode mode)
{
        return tile_modes[mode].height;
}

int tui_tile_min_width(TuiTileMode mode)
{
        return tile_modes[mode].min_width;
}

int tui_layout(int width, int height, size_t n_beds, size_t n_alarms, int n_banners, TuiLayout *L)
{
        int avail, alarm_min, tiles_avail, n = n_beds > 0 ? (int)n_beds : 1;

        memset(L, 0, sizeof(*L));
        if (width < 40 || height < 10)
                return -ERANGE;
        L->width = width;
        L->height = height;
        L->n_banners = n_banners < 0 ? 0 : n_banners > 3 ? 3 : n_banners;
        if (L->n_banners > height - 10)
                L->n_banners = height - 10;
        L->banners_top = 1;
        L->tiles_top = 1 + L->n_banners;
        L->status_row = height - 2;
        L->help_row = height - 1;
        avail = L->status_row - L->tiles_top;
        /* The alarm list keeps a header and room for three alarms. */
        alarm_min = 1 + (n_alarms < 1 ? 1 : n_alarms > 3 ? 3 : (int)n_alarms);
        tiles_avail = avail - alarm_min;

        for (TuiTileMode m = TUI_TILE_BIG; m < TUI_TILE_LINE; m++) {
                int max_cols = width / tile_modes[m].min_width, cols, rows;

                if (max_cols < 1)
                        continue;
                cols = n < max_cols ? n : max_cols;
                rows = (n + cols - 1) / cols;
                if (rows * tile_modes[m].height > tiles_avail)
                        continue;
                /* As few rows as that takes, as wide as they can be. */
                cols = (n + rows - 1) / rows;
                L->mode = m;
                L->tile_cols = cols;
                L->tile_rows = rows;
                L->tile_width = width / cols;
                L->tile_height = tile_modes[m].height;
                L->beds_shown = (int)n_beds;
                L->alarms_top = L->tiles_top + rows * L->tile_height;
                L->alarms_rows = L->status_row - L->alarms_top;
                return 0;
        }
        L->mode = TUI_TILE_LINE;
        L->tile_cols = 1;
        L->tile_width = width;
        L->tile_height = 1;
        L->tile_rows = n <= tiles_avail ? n : tiles_avail;
        /* The last line says how many beds are left out. */
        L->beds_shown = L->tile_rows < n ? L->tile_rows - 1 : (int)n_beds;
        L->alarms_top = L->tiles_top + L->tile_rows;
        L->alarms_rows = L->status_row - L->alarms_top;
        return 0;
}

/* --- text -------------------------------------------------------------- */

#define WIDE_MAX 512

/* UTF-8 (or the locale's encoding) to wide characters; bytes that do not
 * decode and characters that do not print become '?'. */
static size_t to_wide(const char *s, wchar_t *out, size_t max)
{
        mbstate_t st;
        size_t n = 0, len = strlen(s);

        memset(&st, 0, sizeof(st));
        while (len > 0 && n + 1 < max) {
                wchar_t wc;
                size_t r = mbrtowc(&wc, s, len, &st);

                if (r == 0)
                        break;
                if (r == (size_t)-1 || r == (size_t)-2) {
                        memset(&st, 0, sizeof(st));
                        wc = L'?';
                        r = 1;
                }
                if (wcwidth(wc) < 0)
                        wc = L'?';
                out[n++] = wc;
                s += r;
                len -= r;
        }
        out[n] = L'\0';
        return n;
}

static int wide_cols(const wchar_t *w)
{
        int c = 0;

        for (; *w; w++)
                c += wcwidth(*w) > 0 ? wcwidth(*w) : 0;
        return c;
}

static int text_cols(const char *s)
{
        wchar_t w[WIDE_MAX];

        to_wide(s, w, WIDE_MAX);
        return wide_cols(w);
}

typedef struct Pen {
        const TuiView *v;
        int y, x, end; /* the next column, and one past the last usable one */
} Pen;

static const wchar_t *sym(const TuiView *v, const wchar_t *utf8, const wchar_t *ascii)
{
        return v->utf8 ? utf8 : ascii;
}

/* Draws s at (y, x), at most max columns; a longer s is shortened with an
 * ellipsis (names only: callers use put_whole() for numbers).  Returns the
 * columns drawn. */
static int put_name(const TuiView *v, int y, int x, int max, const char *s, attr_t attr)
{
        wchar_t w[WIDE_MAX];
        int cols = 0;
        size_t n = to_wide(s, w, WIDE_MAX), i;

        if (max <= 0)
                return 0;
        if (wide_cols(w) > max) {
                const wchar_t *ell = sym(v, L"…", L"~");

                for (i = 0; i < n && cols + wcwidth(w[i]) <= max - 1; i++)
                        cols += wcwidth(w[i]);
                w[i] = L'\0';
                wcscat(w, ell);
                cols++;
        } else {
                cols = wide_cols(w);
        }
        attrset(attr);
        mvaddnwstr(y, x, w, -1);
        attrset(A_NORMAL);
        return cols;
}

/* Draws s whole at the pen and advances it, or draws nothing and returns
 * false when it does not fit. */
static bool put_whole(Pen *p, const char *s, attr_t attr)
{
        int c = text_cols(s);

        if (p->x + c > p->end)
                return false;
        put_name(p->v, p->y, p->x, c, s, attr);
        p->x += c;
        return true;
}

static void put_wide(int y, int x, const wchar_t *w, attr_t attr)
{
        attrset(attr);
        mvaddnwstr(y, x, w, -1);
        attrset(A_NORMAL);
}

static void fill_row(int y, int x, int n, attr_t attr)
{
        attrset(attr);
        mvhline(y, x, ' ', n);
        attrset(A_NORMAL);
}

/* --- time -------------------------------------------------------------- */

static void fmt_clock(int64_t ns, char *buf, size_t size)
{
        time_t t = (time_t)(ns / NSEC_PER_SEC);
        struct tm tm;

        if (!ns || !localtime_r(&t, &tm) || strftime(buf, size, "%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "--:--:--");
}

/* 12:34 or 1:02:03 */
static void fmt_elapsed(int64_t sec, char *buf, size_t size)
{
        if (sec < 0)
                sec = 0;
        if (sec < 3600)
                snprintf(buf, size, "%lld:%02lld", (long long)sec / 60, (long long)sec % 60);
        else
                snprintf(buf, size, "%lld:%02lld:%02lld", (long long)sec / 3600,
                         (long long)sec / 60 % 60, (long long)sec % 60);
}

/* "12 s ago" / "12s" */
static void fmt_age(int64_t sec, bool shortform, char *buf, size_t size)
{
        if (sec < 0)
                sec = 0;
        if (sec < 60)
                snprintf(buf, size, shortform ? "%llds" : "%lld s ago", (long long)sec);
        else if (sec < 3600)
                snprintf(buf, size, shortform ? "%lldm" : "%lld min ago", (long long)sec / 60);
        else
                snprintf(buf, size, shortform ? "%lldh%02lld" : "%lld h %02lld min ago",
                         (long long)sec / 3600, (long long)sec / 60 % 60);
}

static int64_t age_sec(int64_t then_ns, int64_t now_ns)
{
        return then_ns ? (now_ns - then_ns) / NSEC_PER_SEC : -1;
}

/* --- colours ----------------------------------------------------------- */

void tui_colors_init(void)
{
        if (!has_colors())
                return;
        start_color();
        use_default_colors();
        init_pair(PAIR_HIGH, COLOR_RED, -1);
        init_pair(PAIR_MEDIUM, COLOR_YELLOW, -1);
        init_pair(PAIR_LOW, COLOR_CYAN, -1);
        init_pair(PAIR_HIGH_LOUD, COLOR_WHITE, COLOR_RED);
        init_pair(PAIR_MEDIUM_LOUD, COLOR_BLACK, COLOR_YELLOW);
        init_pair(PAIR_LOW_LOUD, COLOR_BLACK, COLOR_CYAN);
}

/* loud: a full-colour background (active, unacknowledged); else coloured
 * text.  Without colours: reverse video and bold carry the same weight. */
static attr_t prio_attr(BoardPriority p, bool loud)
{
        int pair;

        if (p == BOARD_PRIO_NONE)
                return A_NORMAL;
        if (!has_colors())
                return loud ? A_REVERSE | A_BOLD : A_BOLD;
        pair = p == BOARD_PRIO_HIGH ? PAIR_HIGH : p == BOARD_PRIO_MEDIUM ? PAIR_MEDIUM : PAIR_LOW;
        if (loud)
                pair += PAIR_HIGH_LOUD - PAIR_HIGH;
        return COLOR_PAIR(pair) | (loud || p == BOARD_PRIO_HIGH ? A_BOLD : 0);
}

/* --- block digits ------------------------------------------------------ */

/* Three columns, five rows; '#' is a block.  Distinct in every digit so a
 * reader (tests/integration/test_tui.py reads them back) cannot confuse
 * them. */
static const char *const font[12][5] = {
    {"###", "# #", "# #", "# #", "###"}, /* 0 */
    {" # ", "## ", " # ", " # ", "###"}, /* 1 */
    {"###", "  #", "###", "#  ", "###"}, /* 2 */
    {"###", "  #", "###", "  #", "###"}, /* 3 */
    {"# #", "# #", "###", "  #", "  #"}, /* 4 */
    {"###", "#  ", "###", "  #", "###"}, /* 5 */
    {"###", "#  ", "###", "# #", "###"}, /* 6 */
    {"###", "  #", "  #", "  #", "  #"}, /* 7 */
    {"###", "# #", "###", "# #", "###"}, /* 8 */
    {"###", "# #", "###", "  #", "###"}, /* 9 */
    {"   ", "   ", "###", "   ", "   "}, /* - */
    {"   ", "   ", "   ", "   ", "   "}, /* space */
};
#define BIG_ROWS 5
#define BIG_DIGIT_COLS 3

static int big_cols(const char *digits)
{
        size_t n = strlen(digits);

        return n ? (int)n * (BIG_DIGIT_COLS + 1) - 1 : 0;
}

static void draw_big(const TuiView *v, int y, int x, const char *digits, attr_t attr)
{
        const wchar_t *block = sym(v, L"█", L"#");

        attrset(attr);
        for (size_t i = 0; digits[i]; i++) {
                int g = digits[i] >= '0' && digits[i] <= '9' ? digits[i] - '0'
                        : digits[i] == '-'                   ? 10
                                                             : 11;

                for (int r = 0; r < BIG_ROWS; r++)
                        for (int c = 0; c < BIG_DIGIT_COLS; c++)
                                if (font[g][r][c] == '#')
                                        mvaddnwstr(y + r, x + (int)i * (BIG_DIGIT_COLS + 1) + c,
                                                   block, 1);
        }
        attrset(A_NORMAL);
}

/* --- bed tiles --------------------------------------------------------- */

/* A continuous value as the tile shows it. */
typedef struct Shown {
        const char *label; /* "HR", "PR", "SpO2" */
        const char *unit;  /* "/min", "%" */
        bool current;      /* the number may be shown */
        char number[16];   /* "78" when current */
        char reason[32];   /* why not: "no data", "unavailable", "stale 2m" */
} Shown;

static void shown_value(const TuiView *v, const BoardBed *bed, BoardParam p, int64_t now, Shown *s)
{
        const BoardValue *val = &bed->values[p];

        memset(s, 0, sizeof(*s));
        s->label = p == BOARD_HR ? "HR" : p == BOARD_PR ? "PR" : "SpO2";
        s->unit = p == BOARD_SPO2 ? "%" : "/min";
        s->current = v->connected && board_value_current(bed, p, now);
        if (s->current) {
                /* Monitors show HR and SpO2 as whole numbers. */
                snprintf(s->number, sizeof(s->number), "%.0f", val->value);
                return;
        }
        if (!val->known)
                snprintf(s->reason, sizeof(s->reason), "no data");
        else if (!v->connected || strcmp(board_bed_device_state(bed), "live") != 0)
                snprintf(s->reason, sizeof(s->reason), "not live");
        else if (!val->usable)
                snprintf(s->reason, sizeof(s->reason), "%s",
                         val->status[0] ? val->status : "invalid");
        else {
                char age[16];

                fmt_age(age_sec(val->time_ns, now), true, age, sizeof(age));
                snprintf(s->reason, sizeof(s->reason), "stale %s", age);
        }
}

/* HR from the ECG, else the oximeter's pulse rate. */
static BoardParam rate_param(const BoardBed *bed)
{
        return !bed->values[BOARD_HR].known && bed->values[BOARD_PR].known ? BOARD_PR : BOARD_HR;
}

/* "124/80 (95)" and its age; false when no NIBP was ever seen. */
static bool nibp_text(const BoardBed *bed, char *num, size_t size, int64_t *ret_age)
{
        const BoardValue *sys = &bed->values[BOARD_NIBP_SYS], *dia = &bed->values[BOARD_NIBP_DIA],
                         *mean = &bed->values[BOARD_NIBP_MEAN];
        char s[16] = "---", d[16] = "---", m[20] = "";

        if (!sys->known && !dia->known)
                return false;
        if (sys->usable)
                snprintf(s, sizeof(s), "%.0f", sys->value);
        if (dia->usable)
                snprintf(d, sizeof(d), "%.0f", dia->value);
        if (mean->known)
                snprintf(m, sizeof(m), mean->usable ? " (%.0f)" : " (---)", mean->value);
        snprintf(num, size, "%s/%s%s", s, d, m);
        *ret_age = sys->time_ns ? sys->time_ns : dia->time_ns;
        return true;
}

/* The NIBP line: "NIBP 124/80 (95) mmHg 3 min ago", shortened to fit. */
static void draw_nibp(const TuiView *v, const BoardBed *bed, Pen *p, int64_t now, bool shortform)
{
        char num[64], age[32];
        int64_t t;
        bool live = v->connected && strcmp(board_bed_device_state(bed), "live") == 0;
        attr_t dim = live ? A_NORMAL : A_DIM;

        if (!put_whole(p, "NIBP ", dim))
                return;
        if (!nibp_text(bed, num, sizeof(num), &t)) {
                if (!put_whole(p, "--- no measurement", A_DIM))
                        put_whole(p, "---", A_DIM);
                return;
        }
        if (!put_whole(p, num, (live ? A_BOLD : A_DIM))) {
                /* Without the mean, then nothing: never half a number. */
                char *paren = strchr(num, ' ');
                if (paren)
                        *paren = '\0';
                if (!put_whole(p, num, live ? A_BOLD : A_DIM))
                        return;
        }
        fmt_age(age_sec(t, now), false, age, sizeof(age));
        if (shortform || p->x + 1 + text_cols(age) > p->end)
                fmt_age(age_sec(t, now), true, age, sizeof(age));
        p->x++;
        put_whole(p, age, dim);
}

/* "live" plainly; anything else loud enough to notice. */
static void device_word(const TuiView *v, const BoardBed *bed, char *buf, size_t size, attr_t *attr)
{
        const char *st = board_bed_device_state(bed);

        *attr = A_NORMAL;
        if (!v->connected) {
                snprintf(buf, size, "NOT LIVE");
                *attr = A_BOLD | A_DIM;
        } else if (strcmp(st, "live") == 0) {
                snprintf(buf, size, "live");
        } else if (strcmp(st, "stale") == 0) {
                snprintf(buf, size, "STALE");
                *attr = prio_attr(BOARD_PRIO_MEDIUM, false);
        } else if (strcmp(st, "disconnected") == 0) {
                snprintf(buf, size, "DISCONNECTED");
                *attr = prio_attr(BOARD_PRIO_HIGH, false);
        } else if (strcmp(st, "connecting") == 0) {
                snprintf(buf, size, "connecting");
                *attr = A_BOLD;
        } else {
                snprintf(buf, size, "%s", strcmp(st, "none") == 0 ? "no monitor" : st);
                *attr = A_BOLD;
        }
}

/* "SESSION-3 · infusion 12:34", or "no session", in at most max columns:
 * the phase and the elapsed time stay whole; only the patient reference is
 * shortened, and left out when even that does not fit.  Returns the
 * columns drawn. */
static int draw_session(const TuiView *v, const BoardBed *bed, int y, int x, int max, int64_t now)
{
        const BoardSession *s = &bed->session;
        char right[48], el[24];
        int rc, used;

        if (!s->open)
                return put_name(v, y, x, max, "no session", A_DIM);
        fmt_elapsed(age_sec(s->started_ns, now), el, sizeof(el));
        snprintf(right, sizeof(right), "%s %s", s->phase[0] ? s->phase : "session", el);
        rc = text_cols(right);
        if (rc > max) {
                Pen p = {.v = v, .y = y, .x = x, .end = x + max};
                return put_whole(&p, el, A_NORMAL) ? p.x - x : 0;
        }
        used = 0;
        if (max - rc >= 6) {
                bool room = text_cols(s->patient_ref) + 3 + rc <= max;

                used = put_name(v, y, x, max - rc - (room ? 3 : 1), s->patient_ref, A_NORMAL);
                if (room) {
                        put_wide(y, x + used + 1, sym(v, L"\u00b7", L"-"), A_NORMAL);
                        used += 3;
                } else {
                        used += 1;
                }
        }
        put_name(v, y, x + used, rc, right, A_NORMAL);
        return used + rc;
}

/* Box drawing from curses (Unicode in a UTF-8 locale); plain ASCII
 * otherwise, since the alternate character set is not honoured by every
 * terminal in between (tmux, screen, some serial consoles). */
static void draw_frame(const TuiView *v, int y, int x, int h, int w, attr_t attr)
{
        chtype hl = v->utf8 ? ACS_HLINE : '-', vl = v->utf8 ? ACS_VLINE : '|';

        attrset(attr);
        mvhline(y, x + 1, hl, w - 2);
        mvhline(y + h - 1, x + 1, hl, w - 2);
        mvvline(y + 1, x, vl, h - 2);
        mvvline(y + 1, x + w - 1, vl, h - 2);
        mvaddch(y, x, v->utf8 ? ACS_ULCORNER : '+');
        mvaddch(y, x + w - 1, v->utf8 ? ACS_URCORNER : '+');
        mvaddch(y + h - 1, x, v->utf8 ? ACS_LLCORNER : '+');
        mvaddch(y + h - 1, x + w - 1, v->utf8 ? ACS_LRCORNER : '+');
        attrset(A_NORMAL);
}

/* Title on the top border: " chair-1 " left, " live " right, and the
 * session between them when the tile has no line of its own for it. */
static void draw_title(const TuiView *v, const BoardBed *bed, int y, int x, int w, attr_t frame,
                       bool with_session, int64_t now)
{
        char dev[32];
        attr_t dattr;
        int dcols, dx, used, sx;

        device_word(v, bed, dev, sizeof(dev), &dattr);
        dcols = text_cols(dev);
        /* ┌ name ─ session ─── state ─┐ */
        dx = x + w - 3 - dcols;
        used = put_name(v, y, x + 2, dx - 2 - (x + 2), bed->name, frame | A_BOLD);
        mvaddch(y, x + 1, ' ');
        mvaddch(y, x + 2 + used, ' ');
        mvaddch(y, dx - 1, ' ');
        put_name(v, y, dx, dcols, dev, dattr);
        mvaddch(y, dx + dcols, ' ');
        sx = x + 2 + used + 3;
        if (with_session && dx - 3 - sx >= 8) {
                int c;

                mvaddch(y, sx - 1, ' ');
                c = draw_session(v, bed, y, sx, dx - 3 - sx, now);
                mvaddch(y, sx + c, ' ');
        }
}

static void draw_big_value(const TuiView *v, const BoardBed *bed, BoardParam param, int y, int x,
                           int w, int64_t now)
{
        Shown s;
        Pen p = {.v = v, .y = y, .x = x, .end = x + w};
        char label[48];

        shown_value(v, bed, param, now, &s);
        /* The unit while the number is current, else the reason in its place. */
        snprintf(label, sizeof(label), "%s %s", s.label, s.current ? s.unit : s.reason);
        if (!put_whole(&p, label, s.current ? A_NORMAL : A_BOLD))
                put_whole(&p, s.label, A_BOLD);
        if (s.current && big_cols(s.number) <= w)
                draw_big(v, y + 1, x, s.number, A_BOLD);
        else if (s.current) {
                /* A number too wide for blocks: plain and bold, never cut. */
                Pen q = {.v = v, .y = y + 3, .x = x, .end = x + w};
                put_whole(&q, s.number, A_BOLD);
        } else
                draw_big(v, y + 1, x, "--", A_DIM);
}

/* One value as "HR 78" (number bold), or "HR -- stale 2m" when not current. */
static bool put_value(const TuiView *v, Pen *p, const BoardBed *bed, BoardParam param, int64_t now,
                      bool with_unit)
{
        Shown s;
        char text[64];
        int start = p->x;

        shown_value(v, bed, param, now, &s);
        if (p->x + text_cols(s.label) + 4 > p->end)
                return false;
        put_whole(p, s.label, A_NORMAL);
        p->x++;
        if (s.current) {
                if (!put_whole(p, s.number, A_BOLD)) {
                        fill_row(p->y, start, p->x - start, A_NORMAL);
                        p->x = start;
                        return false;
                }
                if (with_unit && strcmp(s.unit, "%") == 0)
                        put_whole(p, "%", A_NORMAL);
                return true;
        }
        put_whole(p, "--", A_DIM);
        snprintf(text, sizeof(text), " %s", s.reason);
        put_whole(p, text, A_DIM);
        return true;
}

static void draw_tile(const TuiView *v, const TuiLayout *L, const BoardBed *bed, int y, int x,
                      int64_t now)
{
        BoardPriority prio =
            v->connected ? board_bed_alarm_priority(&v->board, bed->name) : BOARD_PRIO_NONE;
        attr_t frame = prio_attr(prio, false) | (v->connected ? 0 : A_DIM);
        int w = L->tile_width, h = L->tile_height;
        Pen p;

        if (L->mode == TUI_TILE_LINE) {
                char dev[32];
                attr_t dattr;
                int used;

                p = (Pen){.v = v, .y = y, .x = x, .end = x + w};
                used = put_name(v, y, x, 12, bed->name, frame | A_BOLD);
                p.x = x + (used < 12 ? 12 : used) + 1;
                device_word(v, bed, dev, sizeof(dev), &dattr);
                put_whole(&p, dev, dattr);
                p.x += 2;
                if (put_value(v, &p, bed, rate_param(bed), now, false))
                        p.x += 2;
                if (put_value(v, &p, bed, BOARD_SPO2, now, true))
                        p.x += 2;
                draw_nibp(v, bed, &p, now, true);
                p.x += 2;
                if (p.end - p.x > 8)
                        draw_session(v, bed, y, p.x, p.end - p.x, now);
                return;
        }

        draw_frame(v, y, x, h, w, frame);
        draw_title(v, bed, y, x, w, frame, L->mode == TUI_TILE_COMPACT, now);
        if (L->mode == TUI_TILE_COMPACT) {
                p = (Pen){.v = v, .y = y + 1, .x = x + 2, .end = x + w - 2};
                if (put_value(v, &p, bed, rate_param(bed), now, false))
                        p.x += 2;
                if (put_value(v, &p, bed, BOARD_SPO2, now, true))
                        p.x += 2;
                draw_nibp(v, bed, &p, now, true);
                return;
        }

        draw_session(v, bed, y + 1, x + 1 + (w >= 30), w - 2 - 2 * (w >= 30), now);
        if (L->mode == TUI_TILE_MEDIUM) {
                p = (Pen){.v = v, .y = y + 2, .x = x + 2, .end = x + w - 2};
                if (put_value(v, &p, bed, rate_param(bed), now, false))
                        p.x += 3;
                put_value(v, &p, bed, BOARD_SPO2, now, true);
                p = (Pen){.v = v, .y = y + 3, .x = x + 2, .end = x + w - 2};
                draw_nibp(v, bed, &p, now, false);
                return;
        }

        /* Big: two halves of the inner width, each at least 11 columns. */
        {
                int inner = w - 2, half = inner / 2;
                int xl = x + 1 + (half - 11) / 2, xr = x + 1 + half + (inner - half - 11) / 2;

                draw_big_value(v, bed, rate_param(bed), y + 2, xl, half - (xl - x - 1), now);
                draw_big_value(v, bed, BOARD_SPO2, y + 2, xr, x + w - 1 - xr, now);
                p = (Pen){.v = v, .y = y + 8, .x = x + 2, .end = x + w - 2};
                draw_nibp(v, bed, &p, now, false);
        }
}

static void draw_tiles(const TuiView *v, const TuiLayout *L, int64_t now)
{
        const Board *b = &v->board;

        if (b->n_beds == 0) {
                put_name(v, L->tiles_top, 1, L->width - 2,
                         v->connected ? "No beds configured in vitalsd." : "Waiting for vitalsd...",
                         A_DIM);
                return;
        }
        for (int i = 0; i < L->beds_shown && i < (int)b->n_beds; i++) {
                int row = i / L->tile_cols, col = i % L->tile_cols;

                draw_tile(v, L, &b->beds[i], L->tiles_top + row * L->tile_height,
                          col * L->tile_width, now);
        }
        if (L->beds_shown < (int)b->n_beds) {
                char more[64];

                snprintf(more, sizeof(more), "+ %d more beds: enlarge the terminal",
                         (int)b->n_beds - L->beds_shown);
                put_name(v, L->tiles_top + L->tile_rows - 1, 0, L->width, more, A_BOLD);
        }
}

/* --- alarm list -------------------------------------------------------- */

static void alarm_value_text(const BoardAlarm *a, char *buf, size_t size)
{
        char val[24] = "", lim[24] = "";

        if (isfinite(a->value))
                snprintf(val, sizeof(val), "%.4g", a->value);
        if (isfinite(a->limit))
                snprintf(lim, sizeof(lim), "%.4g", a->limit);
        if (*val && *lim)
                snprintf(buf, size, "%s lim %s", val, lim);
        else
                snprintf(buf, size, "%s", *val ? val : "");
}

static void draw_alarm_row(const TuiView *v, const TuiLayout *L, const BoardAlarm *a, int y,
                           bool selected, int bed_w, int cond_max)
{
        bool loud = a->state == BOARD_ALARM_ACTIVE && v->connected;
        attr_t attr = prio_attr(a->priority, loud);
        int w = L->width, cond_w, x;
        char buf[128], since[16];
        Pen p;

        if (a->state == BOARD_ALARM_LATCHED)
                attr |= A_BOLD;
        if (!v->connected)
                attr |= A_DIM;
        if (selected)
                attr |= A_UNDERLINE;
        fill_row(y, 0, w, loud ? attr : A_NORMAL);
        put_wide(y, 0, selected ? sym(v, L"▶", L">") : L" ", attr | A_BOLD);
        x = 2;
        put_name(v, y, x, 3, board_priority_marker(a->priority), attr);
        x += 4;
        put_name(v, y, x, 4, a->technical ? "TECH" : "", attr);
        x += 5;
        put_name(v, y, x, 12,
                 a->state == BOARD_ALARM_ACTIVE    ? "ACTIVE"
                 : a->state == BOARD_ALARM_LATCHED ? "LATCHED"
                                                   : "acknowledged",
                 attr);
        x += 13;
        put_name(v, y, x, bed_w, a->bed, attr);
        x += bed_w + 1;

        /* What follows the condition, most important first: value/limit,
         * since, acknowledged by, detail.  Each only when it fits whole. */
        cond_w = w - x - 1;
        if (cond_w > cond_max)
                cond_w = cond_max;
        put_name(v, y, x, cond_w, a->condition, attr | A_BOLD);
        p = (Pen){.v = v, .y = y, .x = x + cond_w + 1, .end = w - 1};
        alarm_value_text(a, buf, sizeof(buf));
        if (*buf) {
                char padded[sizeof(buf) + 16];

                snprintf(padded, sizeof(padded), "%-12s", buf);
                if (!put_whole(&p, padded, attr))
                        put_whole(&p, buf, attr);
        } else if (p.end - p.x > 24) {
                p.x += 12;
        }
        fmt_clock(a->since_ns, since, sizeof(since));
        snprintf(buf, sizeof(buf), " since %s", since);
        if (!put_whole(&p, buf, attr))
                put_whole(&p, since, attr);
        if (a->state == BOARD_ALARM_ACKNOWLEDGED && a->acknowledged_by[0]) {
                snprintf(buf, sizeof(buf), " by %s", a->acknowledged_by);
                put_whole(&p, buf, attr);
        }
        if (a->detail[0] && p.end - p.x > 8) {
                p.x++;
                put_name(v, y, p.x, p.end - p.x, a->detail, attr & ~A_BOLD);
        }
}

static void draw_alarms(TuiView *v, const TuiLayout *L)
{
        const Board *b = &v->board;
        int rows = L->alarms_rows - 1, bed_w = 4, cond_w = 8, n_active = 0, n_ack = 0,
            n_latched = 0;
        char head[160], clock[16];
        Pen p = {.v = v, .y = L->alarms_top, .x = 0, .end = L->width};

        if (L->alarms_rows < 1)
                return;
        for (size_t i = 0; i < b->n_alarms; i++) {
                int c = text_cols(b->alarms[i].bed);

                bed_w = c > bed_w ? c : bed_w;
                c = text_cols(b->alarms[i].condition);
                cond_w = c > cond_w ? c : cond_w;
                n_active += b->alarms[i].state == BOARD_ALARM_ACTIVE;
                n_ack += b->alarms[i].state == BOARD_ALARM_ACKNOWLEDGED;
                n_latched += b->alarms[i].state == BOARD_ALARM_LATCHED;
        }
        if (bed_w > 14)
                bed_w = 14;
        if (cond_w > 22)
                cond_w = 22;

        /* Keep the cursor in view. */
        if (v->selected >= 0) {
                if (v->selected < v->alarm_scroll)
                        v->alarm_scroll = v->selected;
                if (rows > 0 && v->selected >= v->alarm_scroll + rows)
                        v->alarm_scroll = v->selected - rows + 1;
        }
        if (v->alarm_scroll > (int)b->n_alarms - rows)
                v->alarm_scroll = (int)b->n_alarms - rows;
        if (v->alarm_scroll < 0)
                v->alarm_scroll = 0;

        if (b->n_alarms == 0)
                snprintf(head, sizeof(head), "Alarms: %s", v->board.have_status ? "none" : "");
        else
                snprintf(head, sizeof(head), "Alarms: %d active, %d acknowledged, %d latched",
                         n_active, n_ack, n_latched);
        if (!put_whole(&p, head, A_BOLD)) {
                snprintf(head, sizeof(head), "Alarms: %zu", b->n_alarms);
                put_whole(&p, head, A_BOLD);
        }
        if ((int)b->n_alarms > rows && rows > 0) {
                snprintf(head, sizeof(head), "  (%d-%d of %zu)", v->alarm_scroll + 1,
                         v->alarm_scroll + rows, b->n_alarms);
                put_whole(&p, head, A_NORMAL);
        }
        if (!v->connected && v->board_time_ns) {
                fmt_clock(v->board_time_ns, clock, sizeof(clock));
                snprintf(head, sizeof(head), "  as of %s, NOT LIVE", clock);
                put_whole(&p, head, prio_attr(BOARD_PRIO_HIGH, false));
        } else if (!v->connected) {
                put_whole(&p, "  unknown: not connected", prio_attr(BOARD_PRIO_HIGH, false));
        }
        for (int r = 0; r < rows && v->alarm_scroll + r < (int)b->n_alarms; r++) {
                int i = v->alarm_scroll + r;

                draw_alarm_row(v, L, &b->alarms[i], L->alarms_top + 1 + r, i == v->selected, bed_w,
                               cond_w);
        }
}

/* --- header, banners, status and help lines ---------------------------- */

static void draw_header(const TuiView *v, const TuiLayout *L, int64_t now)
{
        char right[96], clock[16];
        int rc;

        fill_row(0, 0, L->width, A_REVERSE);
        put_name(v, 0, 1, L->width / 2, "vitals-logger nurse console", A_REVERSE | A_BOLD);
        fmt_clock(now, clock, sizeof(clock));
        if (v->connected)
                snprintf(right, sizeof(right), "%zu beds  %s ", v->board.n_beds, clock);
        else
                snprintf(right, sizeof(right), "NOT CONNECTED  %s ", clock);
        rc = text_cols(right);
        if (rc < L->width / 2)
                put_name(v, 0, L->width - rc, rc, right, A_REVERSE | A_BOLD);
}

typedef struct Banner {
        char text[256];
        attr_t attr;
} Banner;

static int collect_banners(const TuiView *v, int64_t now, Banner *out, int max)
{
        const Board *b = &v->board;
        int n = 0;

        if (!v->connected && n < max) {
                char down[24] = "";

                if (v->disconnected_since_ns)
                        fmt_elapsed(age_sec(v->disconnected_since_ns, now), down, sizeof(down));
                snprintf(out[n].text, sizeof(out[n].text),
                         " DISCONNECTED from vitalsd%s%s: no live values, no new alarms. "
                         "Reconnecting (%s%s%s)",
                         *down ? " for " : "", down, v->socket_path,
                         v->disconnect_reason[0] ? ": " : "", v->disconnect_reason);
                out[n++].attr = prio_attr(BOARD_PRIO_HIGH, true);
        }
        if (v->connected && !b->store_ok && n < max) {
                snprintf(out[n].text, sizeof(out[n].text),
                         " SESSION LOG NOT WRITABLE%s%s: readings are queued in memory",
                         b->store_error[0] ? ": " : "", b->store_error);
                out[n++].attr = prio_attr(BOARD_PRIO_HIGH, true);
        }
        if (n < max) {
                size_t silenced = 0;
                int64_t lo = INT64_MAX, hi = 0;
                char list[200] = "", t[24];

                for (size_t i = 0; i < b->n_beds; i++) {
                        int64_t left = board_bed_silence_left_sec(&b->beds[i], now);
                        size_t len = strlen(list);

                        if (!left)
                                continue;
                        silenced++;
                        lo = left < lo ? left : lo;
                        hi = left > hi ? left : hi;
                        fmt_elapsed(left, t, sizeof(t));
                        snprintf(list + len, sizeof(list) - len, "%s%s %s", len ? ", " : "",
                                 b->beds[i].name, t);
                }
                if (silenced > 0) {
                        if (silenced == b->n_beds && hi - lo <= 1) {
                                fmt_elapsed(hi, t, sizeof(t));
                                snprintf(list, sizeof(list), "all beds %s", t);
                        }
                        snprintf(out[n].text, sizeof(out[n].text),
                                 " AUDIO SILENCED  %s  (new higher-priority alarms still sound)",
                                 list);
                        out[n++].attr = prio_attr(BOARD_PRIO_MEDIUM, true);
                }
        }
        return n;
}

static void draw_status(const TuiView *v, const TuiLayout *L)
{
        attr_t attr = v->status_error ? prio_attr(BOARD_PRIO_HIGH, false) | A_BOLD : A_NORMAL;

        if (v->quit_confirm) {
                put_name(v, L->status_row, 0, L->width,
                         "Quit the nurse console? y: quit, any other key: stay",
                         prio_attr(BOARD_PRIO_MEDIUM, true));
                return;
        }
        put_name(v, L->status_row, 0, L->width, v->status, attr);
}

const char *tui_silence_target(const TuiView *v)
{
        if (v->selected >= 0 && v->selected < (int)v->board.n_alarms)
                return v->board.alarms[v->selected].bed;
        return NULL;
}

static void draw_help_line(const TuiView *v, const TuiLayout *L)
{
        const char *target = tui_silence_target(v);
        char silence[96];
        const char *keys[][2] = {
            {v->utf8 ? "\u2191\u2193" : "j/k", "select"},
            {"a", "ack"},
            {"s", silence},
            {"S", "silence all"},
            {"m", "marker"},
            {"?", "help"},
            {"q", "quit"},
        };
        Pen p = {.v = v, .y = L->help_row, .x = 0, .end = L->width};

        snprintf(silence, sizeof(silence), "silence %s", target ? target : "all");
        fill_row(L->help_row, 0, L->width, A_REVERSE);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                char d[104];
                int need = text_cols(keys[i][0]) + 1 + text_cols(keys[i][1]) + 2;

                if (keys[i][0][0] == 'S' && !target)
                        continue; /* s already says "all" */

                /* q and ? always fit: drop the middle ones first. */
                if (p.x + need > p.end - (i < 5 ? 14 : 0))
                        continue;
                p.x++;
                put_whole(&p, keys[i][0], A_REVERSE | A_BOLD);
                snprintf(d, sizeof(d), " %s ", keys[i][1]);
                put_whole(&p, d, A_REVERSE);
        }
}

/* --- overlays ---------------------------------------------------------- */

static void draw_box(const TuiView *v, int y, int x, int h, int w, const char *title)
{
        for (int r = 0; r < h; r++)
                fill_row(y + r, x, w, A_NORMAL);
        draw_frame(v, y, x, h, w, A_BOLD);
        if (title) {
                mvaddch(y, x + 1, ' ');
                int c = put_name(v, y, x + 2, w - 4, title, A_BOLD);
                mvaddch(y, x + 2 + c, ' ');
        }
}

static void draw_help(const TuiView *v, const TuiLayout *L)
{
        static const char *const lines[] = {
            "Up/Down, k/j  select an alarm",
            "a             acknowledge the selected alarm",
            "s             silence audio 120 s for the selected alarm's bed",
            "              (all beds when no alarm is selected)",
            "S             silence audio 120 s on all beds",
            "m             add a marker: bed, kind, optional text",
            "Ctrl-L        redraw the screen",
            "q             quit (asks first)",
            "",
            "*** high (red)   ** medium (yellow)   * low (cyan)",
            "TECH: a technical condition (monitor, cable, session log)",
            "ACTIVE: not acknowledged; LATCHED: over, not acknowledged",
            "",
            "vitalsd is a recorder and a secondary notification:",
            "the bedside monitor's own alarms stay primary.",
            "",
            "Any key closes this help.",
        };
        int n = (int)(sizeof(lines) / sizeof(lines[0])), w = 0, h, y, x;

        for (int i = 0; i < n; i++)
                w = text_cols(lines[i]) > w ? text_cols(lines[i]) : w;
        w += 4;
        if (w > L->width)
                w = L->width;
        h = n + 2 > L->height ? L->height : n + 2;
        y = (L->height - h) / 2;
        x = (L->width - w) / 2;
        draw_box(v, y, x, h, w, "Help");
        for (int i = 0; i < h - 2; i++)
                put_name(v, y + 1 + i, x + 2, w - 4, lines[i], A_NORMAL);
}

static void draw_marker_prompt(const TuiView *v, const TuiLayout *L)
{
        const TuiMarkerPrompt *m = &v->marker;
        int w = L->width < 64 ? L->width : 64, h = 7, y = (L->height - h) / 2,
            x = (L->width - w) / 2;
        const wchar_t *la = sym(v, L"◀ ", L"< "), *ra = sym(v, L" ▶", L" >");
        const char *labels[3] = {"Bed", "Kind", "Text"};
        wchar_t text[TUI_MARKER_TEXT_MAX + 2];
        int tw = w - 12;

        draw_box(v, y, x, h, w, "Add a marker");
        for (int f = 0; f < 3; f++) {
                attr_t attr = m->field == f ? A_REVERSE | A_BOLD : A_NORMAL;
                int fy = y + 1 + f, fx = x + 9;

                put_name(v, fy, x + 2, 6, labels[f], m->field == f ? A_BOLD : A_NORMAL);
                if (f < 2) {
                        const char *val = f == 0 ? m->bed : tui_marker_kinds[m->kind];
                        put_wide(fy, fx, la, attr);
                        fx += 2;
                        fx += put_name(v, fy, fx, w - 16, val, attr);
                        put_wide(fy, fx, ra, attr);
                        continue;
                }
                /* The end of the text when it is longer than the field. */
                {
                        const wchar_t *t = m->text;
                        int cols = wide_cols(t);

                        while (cols > tw - 1 && *t)
                                cols -= wcwidth(*t) > 0 ? wcwidth(*t++) : (t++, 0);
                        swprintf(text, sizeof(text) / sizeof(text[0]), L"%ls", t);
                        fill_row(fy, fx, tw, m->field == 2 ? A_UNDERLINE : A_NORMAL);
                        put_wide(fy, fx, text, m->field == 2 ? A_UNDERLINE | A_BOLD : A_NORMAL);
                        if (m->field == 2)
                                put_wide(fy, fx + cols, L"_", A_BLINK | A_BOLD);
                }
        }
        put_name(v, y + 5, x + 2, w - 4,
                 "Tab: next field  Left/Right: choose  Enter: add  Esc: cancel", A_DIM);
}

/* --- the screen -------------------------------------------------------- */

void tui_draw(TuiView *v, int64_t now)
{
        Banner banners[3];
        TuiLayout L;
        int rows, cols, n_banners;

        getmaxyx(stdscr, rows, cols);
        erase();
        n_banners = collect_banners(v, now, banners, 3);
        if (tui_layout(cols, rows, v->board.n_beds, v->board.n_alarms, n_banners, &L) < 0) {
                static const char *const plea[] = {"Too small: the console needs 40x10",
                                                   "Enlarge to 40x10", "40x10"};

                for (size_t i = 0; i < sizeof(plea) / sizeof(plea[0]); i++)
                        if ((int)strlen(plea[i]) <= cols) {
                                mvaddstr(0, 0, plea[i]);
                                break;
                        }
                if (!v->connected)
                        mvaddnstr(1, 0, "DISCONNECTED from vitalsd", cols);
                else if (v->board.n_alarms > 0) {
                        char s[64];
                        snprintf(s, sizeof(s), "%zu ALARM%s", v->board.n_alarms,
                                 v->board.n_alarms == 1 ? "" : "S");
                        mvaddnstr(1, 0, s, cols);
                }
                refresh();
                return;
        }
        draw_header(v, &L, now);
        for (int i = 0; i < L.n_banners; i++) {
                fill_row(L.banners_top + i, 0, L.width, banners[i].attr);
                put_name(v, L.banners_top + i, 0, L.width, banners[i].text, banners[i].attr);
        }
        draw_tiles(v, &L, now);
        draw_alarms(v, &L);
        draw_status(v, &L);
        draw_help_line(v, &L);
        if (v->marker.open)
                draw_marker_prompt(v, &L);
        else if (v->help_open)
                draw_help(v, &L);
        refresh();
}
