/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tui.h — `vitalsctl watch` on a terminal: the nurse console (ncursesw).
 *
 * tui.c owns the terminal session, the connection to vitalsd, the keys and
 * the requests; tui_draw.c owns what is on the screen.  TuiView is what the
 * two share: the board (board.h) plus the console's own state (selection,
 * prompts, the status line).  tui_layout() is pure so the unit tests can
 * check that no layout overlaps or overflows the screen at any size.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <wchar.h>

#include "board.h"

/* The marker kinds of the `mark` request (docs/control-protocol.md). */
#define TUI_MARKER_KINDS 4
extern const char *const tui_marker_kinds[TUI_MARKER_KINDS];
#define TUI_MARKER_TEXT_MAX 200 /* characters; the daemon takes 500 bytes */

/* Audio silence a key press asks for; the daemon caps it (120 s at most). */
#define TUI_SILENCE_SEC 120

typedef enum TuiTileMode {
        TUI_TILE_BIG,     /* HR and SpO2 in block digits five rows tall */
        TUI_TILE_MEDIUM,  /* bold numbers, session and NIBP on lines of their own */
        TUI_TILE_COMPACT, /* a framed title and one line of values */
        TUI_TILE_LINE,    /* one unframed line per bed */
} TuiTileMode;

typedef struct TuiLayout {
        int width, height;
        int banners_top, n_banners; /* one row each, below the header */
        int tiles_top;
        TuiTileMode mode;
        int tile_cols, tile_rows; /* grid */
        int tile_width, tile_height;
        int beds_shown;              /* < n_beds only in TUI_TILE_LINE when rows run out */
        int alarms_top, alarms_rows; /* the list's header row included */
        int status_row, help_row;
} TuiLayout;

/* Geometry of each tile mode. */
int tui_tile_height(TuiTileMode mode);
int tui_tile_min_width(TuiTileMode mode);

/* Places header, banners, tiles, alarm list, status and help lines on a
 * width x height screen.  0, or -ERANGE when the screen is too small for
 * anything honest (under 40 x 10): the caller then shows only a plea to
 * enlarge the terminal. */
int tui_layout(int width, int height, size_t n_beds, size_t n_alarms, int n_banners,
               TuiLayout *ret);

typedef struct TuiMarkerPrompt {
        bool open;
        int field;                /* 0 bed, 1 kind, 2 text */
        char bed[BOARD_NAME_MAX]; /* by name: beds may come and go meanwhile */
        int kind;
        wchar_t text[TUI_MARKER_TEXT_MAX + 1];
        size_t text_len;
} TuiMarkerPrompt;

typedef struct TuiView {
        Board board;
        const char *socket_path;
        bool connected;                /* a status reply arrived on the current connection */
        int64_t disconnected_since_ns; /* wall time; 0 when never connected */
        char disconnect_reason[96];
        int64_t board_time_ns; /* when the board was last known live */

        int64_t selected_id; /* alarm id under the cursor; 0: none */
        int selected;        /* its index, -1 when the list is empty */
        int alarm_scroll;    /* first alarm row shown */

        char status[200];
        bool status_error;
        bool quit_confirm;
        bool help_open;
        TuiMarkerPrompt marker;
        bool utf8; /* block digits and arrows; else ASCII */
} TuiView;

/* The bed `s` silences: the selected alarm's, NULL for all beds. */
const char *tui_silence_target(const TuiView *v);

/* Draws the whole screen (curses must be initialised). */
void tui_draw(TuiView *v, int64_t now_ns);
void tui_colors_init(void);

/* Runs the console until q, a signal, or seconds (> 0) have passed.
 * Returns an exit code (vitalsctl.h), or -ENOTTY when the terminal cannot
 * be driven (unknown TERM...): the caller falls back to plain lines. */
int tui_run(const char *socket_path, double seconds);
