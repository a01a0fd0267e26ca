/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tui.c — `vitalsctl watch` on a terminal: the nurse console's loop.
 *
 * Owns the terminal session (ncursesw, the locale, wide-character input),
 * the one connection to vitalsd, the requests the keys send and the bell.
 * One poll() loop waits on the keyboard and the socket, never longer than
 * a quarter second, so clocks, countdowns and ages stay current.  Requests
 * (ack, silence, mark, status) go out on the subscribed connection and
 * their replies are matched by id as they arrive among the events: the
 * console never waits for the daemon, and a daemon that does not answer
 * within CLIENT_REPLY_TIMEOUT_MSEC is treated as gone.
 *
 * The picture (board.h) starts from a `status` reply, follows the events,
 * and is replaced by a fresh `status` every TUI_REFRESH_MSEC.  When the
 * daemon goes away the console says so at once (banner, bell), keeps the
 * last picture marked NOT LIVE, and reconnects every second: subscribe and
 * status again, as on start.
 *
 * Bell: once for every alarm event the daemon marks `announce`, again every
 * TUI_BELL_REPEAT_MSEC while a high-priority alarm is neither acknowledged
 * nor silenced, and when the connection to the daemon is lost (repeated
 * every TUI_DISCONNECTED_BELL_MSEC while it stays lost: a console that
 * silently lost its data source would be quieter than the truth).
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wctype.h>

#include <curses.h>

#include "client.h"
#include "timefmt.h"
#include "tui.h"
#include "vitalsctl.h"

#define TUI_REFRESH_MSEC 5000
#define TUI_RECONNECT_MSEC 1000
#define TUI_BELL_REPEAT_MSEC 10000
#define TUI_DISCONNECTED_BELL_MSEC 60000
#define TUI_TICK_MSEC 250
/* An error in the status line stays at least this long before an event's
 * line replaces it. */
#define TUI_ERROR_HOLD_MSEC 10000
#define PENDING_MAX 16

typedef enum RequestKind {
        REQ_SUBSCRIBE,
        REQ_STATUS,
        REQ_ACK,
        REQ_SILENCE,
        REQ_MARK,
} RequestKind;

typedef struct Pending {
        int64_t id;
        RequestKind kind;
        int64_t sent_msec;
        char what[96]; /* for the status line: "alarm 12 (SPO2_DESAT, chair-1)" */
} Pending;

typedef struct Tui {
        TuiView view;
        int fd;
        int64_t next_id;
        Pending pending[PENDING_MAX];
        size_t n_pending;
        int64_t next_connect_msec, last_status_msec;
        int64_t last_bell_msec, last_disconnected_bell_msec;
        int64_t status_set_msec;
        bool ever_connected;
        bool keyboard; /* stdin is a terminal we may read */
        bool quit;
} Tui;

static volatile sig_atomic_t tui_signalled;

static void on_signal(int sig)
{
        tui_signalled = 1;
}

static int64_t mono_msec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void clock_now(char buf[static 16])
{
        time_t t = time(NULL);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 16, "%H:%M:%S", &tm) == 0)
                snprintf(buf, 16, "--:--:--");
}

/* A line in the status line, prefixed with the time. */
static void say(Tui *t, bool error, const char *fmt, ...)
{
        char clock[16], text[sizeof(t->view.status)];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        clock_now(clock);
        snprintf(t->view.status, sizeof(t->view.status), "%.8s %.*s", clock,
                 (int)(sizeof(t->view.status) - 10), text);
        t->view.status_error = error;
        t->status_set_msec = mono_msec();
}

/* Keeps the cursor on the same alarm (by id) as the list changes; when
 * that alarm is gone, on the row where it was. */
static void reselect(TuiView *v)
{
        int n = (int)v->board.n_alarms, i;

        if (n == 0) {
                v->selected = -1;
                v->selected_id = 0;
                return;
        }
        i = v->selected_id ? board_alarm_index(&v->board, v->selected_id) : -1;
        if (i < 0)
                i = v->selected < 0 ? 0 : v->selected >= n ? n - 1 : v->selected;
        v->selected = i;
        v->selected_id = v->board.alarms[i].id;
}

/* --- connection -------------------------------------------------------- */

static void conn_lost(Tui *t, const char *why)
{
        TuiView *v = &t->view;

        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        for (size_t i = 0; i < t->n_pending; i++) {
                const Pending *p = &t->pending[i];

                if (p->kind == REQ_ACK || p->kind == REQ_SILENCE || p->kind == REQ_MARK)
                        say(t, true,
                            "connection lost before vitalsd answered (%s): check it "
                            "once reconnected",
                            p->what);
        }
        t->n_pending = 0;
        if (v->connected) {
                v->connected = false;
                v->disconnected_since_ns = now_wall_ns();
                v->board_time_ns = now_wall_ns();
                beep();
                t->last_disconnected_bell_msec = mono_msec();
        }
        if (why)
                snprintf(v->disconnect_reason, sizeof(v->disconnect_reason), "%s", why);
        t->next_connect_msec = mono_msec() + TUI_RECONNECT_MSEC;
}

static int send_request(Tui *t, RequestKind kind, json_object *req, const char *what)
{
        Pending *p;
        int r;

        if (t->fd < 0) {
                json_object_put(req);
                return -ENOTCONN;
        }
        if (t->n_pending == PENDING_MAX) {
                json_object_put(req);
                return -EBUSY;
        }
        p = &t->pending[t->n_pending];
        p->id = ++t->next_id;
        p->kind = kind;
        p->sent_msec = mono_msec();
        snprintf(p->what, sizeof(p->what), "%s", what ? what : "");
        json_object_object_add(req, "id", json_object_new_int64(p->id));
        r = client_send(t->fd, req);
        json_object_put(req);
        if (r < 0) {
                conn_lost(t, strerror(-r));
                return r;
        }
        t->n_pending++;
        return 0;
}

static json_object *new_request(const char *type)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string(type));
        return o;
}

static void request_status(Tui *t)
{
        for (size_t i = 0; i < t->n_pending; i++)
                if (t->pending[i].kind == REQ_STATUS)
                        return; /* one in flight is enough */
        t->last_status_msec = mono_msec();
        (void)send_request(t, REQ_STATUS, new_request("status"), "status");
}

static void conn_open(Tui *t)
{
        int fd, r;

        t->next_connect_msec = mono_msec() + TUI_RECONNECT_MSEC;
        r = client_connect(t->view.socket_path, &fd);
        if (r < 0) {
                snprintf(t->view.disconnect_reason, sizeof(t->view.disconnect_reason), "%s",
                         strerror(-r));
                return;
        }
        t->fd = fd;
        /* Subscribe first: every event after the status reply is news. */
        if (send_request(t, REQ_SUBSCRIBE, new_request("subscribe"), "subscribe") < 0)
                return;
        request_status(t);
}

static void on_status_reply(Tui *t, json_object *reply)
{
        TuiView *v = &t->view;

        if (board_apply_status(&v->board, reply) < 0) {
                say(t, true, "vitalsd sent a status reply the console cannot read");
                return;
        }
        v->board_time_ns = now_wall_ns();
        if (!v->connected) {
                say(t, false, "%s vitalsd %s",
                    t->ever_connected ? "reconnected to" : "connected to",
                    v->board.version[0] ? v->board.version : "");
                v->connected = true;
                v->disconnect_reason[0] = '\0';
                t->ever_connected = true;
        }
        reselect(v);
}

static void on_action_reply(Tui *t, const Pending *p, json_object *reply)
{
        const char *actor = client_json_string(reply, "actor");

        switch (p->kind) {
        case REQ_ACK:
                say(t, false, "acknowledged %s%s%s", p->what, actor ? " as " : "", actor ?: "");
                break;
        case REQ_SILENCE: {
                json_object *sec;
                int64_t seconds = 0;

                if (json_object_object_get_ex(reply, "seconds", &sec))
                        seconds = json_object_get_int64(sec);
                say(t, false, "audio silenced: %s for %lld s%s%s", p->what, (long long)seconds,
                    actor ? " by " : "", actor ?: "");
                break;
        }
        case REQ_MARK: {
                const char *phase = client_json_string(reply, "phase");
                json_object *marker;

                if (json_object_object_get_ex(reply, "marker", &marker))
                        actor = client_json_string(marker, "actor");

                say(t, false, "marker added: %s%s%s%s%s", p->what, actor ? " by " : "", actor ?: "",
                    phase ? "; phase " : "", phase ?: "");
                break;
        }
        default:
                break;
        }
        /* The events that follow update the picture; ask for the whole of
         * it too, so the change shows even if an event went missing. */
        request_status(t);
}

static void on_reply(Tui *t, size_t index, json_object *reply)
{
        Pending p = t->pending[index];
        const char *type = client_json_string(reply, "type");
        json_object *ok;
        bool good = json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok) &&
                    !(type && strcmp(type, "error") == 0);

        memmove(&t->pending[index], &t->pending[index + 1],
                (t->n_pending - index - 1) * sizeof(t->pending[0]));
        t->n_pending--;
        if (!good) {
                const char *code = client_json_string(reply, "error"), *msg = client_json_string(reply, "message");

                if (p.kind == REQ_SUBSCRIBE || p.kind == REQ_STATUS) {
                        char why[sizeof(p.what) + 80];

                        snprintf(why, sizeof(why), "%s refused: %.60s", p.what, code ?: "error");
                        conn_lost(t, why);
                        return;
                }
                say(t, true, "vitalsd refused (%s): %s%s%s", p.what, code ?: "error",
                    msg ? ": " : "", msg ?: "");
                return;
        }
        if (p.kind == REQ_STATUS)
                on_status_reply(t, reply);
        else if (p.kind != REQ_SUBSCRIBE)
                on_action_reply(t, &p, reply);
}

/* One message from the daemon: a reply to one of ours, an error without an
 * id (a refusal of the whole connection), or an event. */
static bool on_message(Tui *t, json_object *m)
{
        TuiView *v = &t->view;
        json_object *id;
        BoardNotice n;

        if (json_object_object_get_ex(m, "id", &id) && json_object_is_type(id, json_type_int)) {
                for (size_t i = 0; i < t->n_pending; i++)
                        if (t->pending[i].id == json_object_get_int64(id)) {
                                on_reply(t, i, m);
                                return false;
                        }
                return false;
        }
        if (client_json_string(m, "type") && strcmp(client_json_string(m, "type"), "error") == 0) {
                const char *code = client_json_string(m, "error"), *msg = client_json_string(m, "message");

                snprintf(v->disconnect_reason, sizeof(v->disconnect_reason), "%s%s%s",
                         code ?: "error", msg ? ": " : "", msg ?: "");
                say(t, true, "vitalsd: %s", v->disconnect_reason);
                return false;
        }
        board_apply_event(&v->board, m, &n);
        reselect(v);
        if (n.message[0] &&
            (!v->status_error || mono_msec() - t->status_set_msec > TUI_ERROR_HOLD_MSEC))
                say(t, false, "%s", n.message);
        return n.bell;
}

/* Reads what is waiting (bounded, so keys stay responsive); true when an
 * event asked for the bell. */
static bool drain_socket(Tui *t)
{
        bool bell = false;

        for (int k = 0; k < 256 && t->fd >= 0; k++) {
                struct pollfd p = {.fd = t->fd, .events = POLLIN};
                json_object *m;
                int r;

                if (poll(&p, 1, 0) <= 0)
                        break;
                r = client_receive(t->fd, CLIENT_REPLY_TIMEOUT_MSEC, &m);
                if (r == -EBADMSG || r == -EMSGSIZE)
                        continue; /* one unreadable message; the refresh covers it */
                if (r < 0) {
                        conn_lost(t, r == -ECONNRESET ? "vitalsd closed the connection"
                                                      : strerror(-r));
                        break;
                }
                bell |= on_message(t, m);
                json_object_put(m);
        }
        return bell;
}

static void check_timeouts(Tui *t)
{
        int64_t now = mono_msec();

        for (size_t i = 0; i < t->n_pending; i++)
                if (now - t->pending[i].sent_msec > CLIENT_REPLY_TIMEOUT_MSEC) {
                        conn_lost(t, "vitalsd does not answer");
                        return;
                }
}

/* --- actions ----------------------------------------------------------- */

static bool need_connection(Tui *t, const char *what)
{
        if (t->view.connected && t->fd >= 0)
                return true;
        say(t, true, "not connected to vitalsd: cannot %s now", what);
        return false;
}

static void action_ack(Tui *t)
{
        TuiView *v = &t->view;
        const BoardAlarm *a;
        json_object *req;
        char what[96];

        if (v->selected < 0 || v->selected >= (int)v->board.n_alarms) {
                say(t, true, "no alarm selected");
                return;
        }
        if (!need_connection(t, "acknowledge"))
                return;
        a = &v->board.alarms[v->selected];
        snprintf(what, sizeof(what), "alarm %lld (%s, %s)", (long long)a->id, a->condition, a->bed);
        req = new_request("ack");
        json_object_object_add(req, "alarm", json_object_new_int64(a->id));
        if (send_request(t, REQ_ACK, req, what) == 0)
                say(t, false, "acknowledging %s...", what);
}

static void action_silence(Tui *t, const char *bed)
{
        json_object *req;
        char what[96];

        if (!need_connection(t, "silence"))
                return;
        snprintf(what, sizeof(what), "%s", bed ? bed : "all beds");
        req = new_request("silence");
        if (bed)
                json_object_object_add(req, "bed", json_object_new_string(bed));
        json_object_object_add(req, "seconds", json_object_new_int(TUI_SILENCE_SEC));
        if (send_request(t, REQ_SILENCE, req, what) == 0)
                say(t, false, "silencing %s...", what);
}

static void marker_open(Tui *t)
{
        TuiView *v = &t->view;
        TuiMarkerPrompt *m = &v->marker;
        const char *bed = tui_silence_target(v);

        if (v->board.n_beds == 0) {
                say(t, true, "no beds to add a marker to");
                return;
        }
        memset(m, 0, sizeof(*m));
        m->open = true;
        snprintf(m->bed, sizeof(m->bed), "%s", bed ? bed : v->board.beds[0].name);
        /* A starting guess a nurse can change: the infusion starts after
         * the baseline; otherwise a note. */
        m->kind = board_bed_find(&v->board, m->bed) &&
                          strcmp(board_bed_find(&v->board, m->bed)->session.phase, "baseline") == 0
                      ? 0
                      : 3;
}

static void marker_submit(Tui *t)
{
        TuiView *v = &t->view;
        TuiMarkerPrompt *m = &v->marker;
        char text[4 * TUI_MARKER_TEXT_MAX + 1], what[128];
        json_object *req;
        size_t n;

        if (!need_connection(t, "add a marker"))
                return;
        m->text[m->text_len] = L'\0';
        n = wcstombs(text, m->text, sizeof(text));
        if (n == (size_t)-1 || n >= sizeof(text) || n > 500) {
                say(t, true, "marker text too long or not representable (500 bytes at most)");
                return;
        }
        req = new_request("mark");
        json_object_object_add(req, "bed", json_object_new_string(m->bed));
        json_object_object_add(req, "kind", json_object_new_string(tui_marker_kinds[m->kind]));
        if (n > 0)
                json_object_object_add(req, "text", json_object_new_string(text));
        snprintf(what, sizeof(what), "%s on %s", tui_marker_kinds[m->kind], m->bed);
        m->open = false;
        if (send_request(t, REQ_MARK, req, what) == 0)
                say(t, false, "adding marker %s...", what);
}

static void marker_key(Tui *t, wint_t ch, bool is_key)
{
        TuiMarkerPrompt *m = &t->view.marker;
        size_t n_beds = t->view.board.n_beds;

        if (!is_key && ch == 27) {
                m->open = false;
                say(t, false, "marker cancelled");
        } else if ((!is_key && (ch == '\n' || ch == '\r')) || (is_key && ch == KEY_ENTER)) {
                marker_submit(t);
        } else if ((!is_key && ch == '\t') || (is_key && ch == KEY_DOWN)) {
                m->field = (m->field + 1) % 3;
        } else if (is_key && (ch == KEY_BTAB || ch == KEY_UP)) {
                m->field = (m->field + 2) % 3;
        } else if (is_key && (ch == KEY_LEFT || ch == KEY_RIGHT) && m->field < 2) {
                int step = ch == KEY_RIGHT ? 1 : -1;

                if (m->field == 0 && n_beds > 0) {
                        const Board *b = &t->view.board;
                        size_t i = 0;

                        while (i < n_beds && strcmp(b->beds[i].name, m->bed) != 0)
                                i++;
                        i = i == n_beds ? 0 : (i + (step > 0 ? 1 : n_beds - 1)) % n_beds;
                        snprintf(m->bed, sizeof(m->bed), "%s", b->beds[i].name);
                } else if (m->field == 1)
                        m->kind = (m->kind + TUI_MARKER_KINDS + step) % TUI_MARKER_KINDS;
        } else if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
                if (m->field == 2 && m->text_len > 0)
                        m->text[--m->text_len] = L'\0';
        } else if (!is_key && iswprint(ch)) {
                /* Typing goes to the text, wherever the focus was. */
                m->field = 2;
                if (m->text_len < TUI_MARKER_TEXT_MAX) {
                        m->text[m->text_len++] = (wchar_t)ch;
                        m->text[m->text_len] = L'\0';
                }
        }
}

static void move_selection(TuiView *v, int delta)
{
        int n = (int)v->board.n_alarms, i;

        if (n == 0)
                return;
        i = v->selected + delta;
        i = i < 0 ? 0 : i >= n ? n - 1 : i;
        v->selected = i;
        v->selected_id = v->board.alarms[i].id;
}

static void on_key(Tui *t, wint_t ch, bool is_key)
{
        TuiView *v = &t->view;

        if (is_key && ch == KEY_RESIZE)
                return; /* curses has resized stdscr; the next draw lays out anew */
        if (v->quit_confirm) {
                v->quit_confirm = false;
                t->quit = !is_key && (ch == 'y' || ch == 'Y');
                return;
        }
        if (v->marker.open) {
                marker_key(t, ch, is_key);
                return;
        }
        if (v->help_open) {
                v->help_open = false;
                return;
        }
        if (is_key) {
                switch (ch) {
                case KEY_UP:
                        move_selection(v, -1);
                        break;
                case KEY_DOWN:
                        move_selection(v, 1);
                        break;
                case KEY_PPAGE:
                        move_selection(v, -5);
                        break;
                case KEY_NPAGE:
                        move_selection(v, 5);
                        break;
                case KEY_HOME:
                        move_selection(v, -(int)v->board.n_alarms);
                        break;
                case KEY_END:
                        move_selection(v, (int)v->board.n_alarms);
                        break;
                default:
                        break;
                }
                return;
        }
        switch (ch) {
        case 'k':
                move_selection(v, -1);
                break;
        case 'j':
                move_selection(v, 1);
                break;
        case 'a':
                action_ack(t);
                break;
        case 's':
                action_silence(t, tui_silence_target(v));
                break;
        case 'S':
                action_silence(t, NULL);
                break;
        case 'm':
                marker_open(t);
                break;
        case '?':
        case 'h':
                v->help_open = true;
                break;
        case 'q':
                v->quit_confirm = true;
                break;
        case 12: /* Ctrl-L */
                clearok(curscr, TRUE);
                break;
        default:
                break;
        }
}

static void read_keys(Tui *t)
{
        wint_t ch;
        int r;

        while ((r = get_wch(&ch)) != ERR)
                on_key(t, ch, r == KEY_CODE_YES);
}

/* --- the loop ---------------------------------------------------------- */

static void ring(Tui *t, bool announce)
{
        int64_t now = mono_msec();
        TuiView *v = &t->view;

        if (announce || (v->connected && board_needs_repeat_bell(&v->board, now_wall_ns()) &&
                         now - t->last_bell_msec >= TUI_BELL_REPEAT_MSEC)) {
                beep();
                t->last_bell_msec = now;
        }
        if (!v->connected && t->ever_connected &&
            now - t->last_disconnected_bell_msec >= TUI_DISCONNECTED_BELL_MSEC) {
                beep();
                t->last_disconnected_bell_msec = now;
        }
}

static int loop(Tui *t, double seconds)
{
        int64_t deadline = seconds > 0 ? mono_msec() + (int64_t)(seconds * 1000) : 0;

        while (!t->quit && !tui_signalled && (!deadline || mono_msec() < deadline)) {
                struct pollfd p[2];
                int n = 0, kb = -1, sock = -1;
                bool bell = false;

                if (t->fd < 0 && mono_msec() >= t->next_connect_msec)
                        conn_open(t);
                if (t->fd >= 0 && t->view.connected &&
                    mono_msec() - t->last_status_msec >= TUI_REFRESH_MSEC)
                        request_status(t);
                check_timeouts(t);
                tui_draw(&t->view, now_wall_ns());

                if (t->keyboard) {
                        kb = n;
                        p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
                }
                if (t->fd >= 0) {
                        sock = n;
                        p[n++] = (struct pollfd){.fd = t->fd, .events = POLLIN};
                }
                if (poll(p, (nfds_t)n, TUI_TICK_MSEC) < 0 && errno != EINTR)
                        return CTL_EXIT_FAILURE;
                if (kb >= 0 && (p[kb].revents & (POLLHUP | POLLERR | POLLNVAL)))
                        t->keyboard = false; /* the terminal went away; keep watching */
                if (sock >= 0 && p[sock].revents)
                        bell = drain_socket(t);
                /* Also after EINTR: SIGWINCH turns into KEY_RESIZE here. */
                read_keys(t);
                ring(t, bell);
        }
        return CTL_EXIT_OK;
}

int tui_run(const char *socket_path, double seconds)
{
        struct sigaction sa = {.sa_handler = on_signal};
        SCREEN *screen;
        Tui *t;
        int r;

        setlocale(LC_ALL, "");
        screen = newterm(NULL, stdout, stdin);
        if (!screen)
                return -ENOTTY;
        t = calloc(1, sizeof(*t));
        if (!t) {
                endwin();
                delscreen(screen);
                return CTL_EXIT_FAILURE;
        }
        t->fd = -1;
        t->view.socket_path = socket_path;
        t->view.selected = -1;
        t->view.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
        t->keyboard = isatty(STDIN_FILENO);
        board_init(&t->view.board);
        snprintf(t->view.status, sizeof(t->view.status), "connecting to vitalsd at %s",
                 socket_path);

        cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        nodelay(stdscr, TRUE);
        set_escdelay(25);
        curs_set(0);
        tui_colors_init();

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = loop(t, seconds);

        endwin();
        delscreen(screen);
        if (t->fd >= 0)
                close(t->fd);
        free(t);
        return r;
}
