/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * actions.c — the verbs that change something in vitalsd: `ack`, `silence`,
 * `session start|stop|list` and `mark`.
 *
 * Each builds one request of docs/control-protocol.md, sends it, and prints
 * either one human sentence or (--json) the daemon's reply.  The daemon
 * records the acting user (SO_PEERCRED); the sentence echoes it back, so a
 * nurse sees under whose name the action went into the record.  Exit codes
 * (vitalsctl.h) say what happened: 0 done, 1 refused, 2 usage, 3 no daemon,
 * 4 not allowed, 5 no such alarm/bed/session/profile.  `session list` reads
 * the session log read-only instead of asking the daemon, so it also lists
 * the sessions of earlier days.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "export_query.h"
#include "store.h"
#include "timefmt.h"
#include "vitalsctl.h"

static int64_t int_field(json_object *o, const char *key, int64_t dflt)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return dflt;
        return json_object_get_int64(v);
}

/* Error codes of the protocol that mean "the thing named is not there". */
static int exit_code_for(const char *error)
{
        static const char *const not_found[] = {"no-such-alarm", "no-such-bed", "no-session",
                                                "no-such-profile"};

        if (!error)
                return CTL_EXIT_FAILURE;
        if (strcmp(error, "permission-denied") == 0)
                return CTL_EXIT_DENIED;
        for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++)
                if (strcmp(error, not_found[i]) == 0)
                        return CTL_EXIT_NOT_FOUND;
        return CTL_EXIT_FAILURE;
}

/* Sends request (consumed), prints the reply as JSON when json is set, and
 * on an error reply prints the daemon's message.  CTL_EXIT_OK and *ret_reply
 * (caller puts it) on success. */
static int call(const char *verb, const char *socket_path, json_object *request, bool json,
                json_object **ret_reply)
{
        json_object *reply = NULL, *ok;
        int fd, r, code;

        *ret_reply = NULL;
        json_object_object_add(request, "id", json_object_new_int(1));
        r = client_connect(socket_path, &fd);
        if (r < 0) {
                json_object_put(request);
                fprintf(stderr, "vitalsctl %s: cannot connect to vitalsd at %s: %s\n", verb,
                        socket_path, strerror(-r));
                if (r == -EACCES || r == -EPERM) {
                        fprintf(stderr, "vitalsctl %s: the control socket is for root and the "
                                        "console group (usually \"vitals\")\n", verb);
                        return CTL_EXIT_DENIED;
                }
                return CTL_EXIT_NO_DAEMON;
        }
        r = client_request(fd, request, CLIENT_REPLY_TIMEOUT_MSEC, &reply);
        json_object_put(request);
        close(fd);
        if (r == -ECONNRESET || r == -EPIPE) {
                fprintf(stderr, "vitalsctl %s: vitalsd closed the connection without answering\n",
                        verb);
                return CTL_EXIT_NO_DAEMON;
        }
        if (r < 0) {
                fprintf(stderr, "vitalsctl %s: no usable answer from vitalsd: %s\n", verb,
                        r == -EBADMSG ? "not a JSON object" : strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (json)
                puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok)) {
                const char *error = client_json_string(reply, "error"), *msg = client_json_string(reply, "message");

                code = exit_code_for(error);
                fprintf(stderr, "vitalsctl %s: vitalsd refused: %s%s(%s)\n", verb,
                        msg ? msg : "", msg ? " " : "", error ? error : "(no reason)");
                json_object_put(reply);
                return code;
        }
        *ret_reply = reply;
        return CTL_EXIT_OK;
}

static json_object *new_request(const char *type)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string(type));
        return o;
}

/* "12:01:05Z" from an ISO time; the text itself when it does not parse. */
static const char *clock_of(const char *iso, char buf[static TIMEFMT_ISO_MAX])
{
        int64_t ns;

        if (!iso || timefmt_parse_iso(iso, &ns) < 0)
                return iso ? iso : "?";
        timefmt_iso_s(ns, buf);
        return buf + 11;
}

/* Options every action takes: --json, --socket, --help; returns -1 to go
 * on, else an exit code.  Other options are the caller's (extra, handled by
 * fn). */
typedef struct ActionOpts {
        bool json;
        const char *socket_path;
} ActionOpts;

static int parse_opts(int argc, char **argv, const char *shortopts, const struct option *extra,
                      size_t n_extra, ActionOpts *o, void (*help)(void),
                      int (*fn)(int c, const char *arg, void *ud), void *ud)
{
        struct option options[16] = {
            {"json", no_argument, NULL, 'j'},
            {"socket", required_argument, NULL, 'S'},
            {"help", no_argument, NULL, 'h'},
        };
        int c, r;

        for (size_t i = 0; i < n_extra && i + 4 < 16; i++)
                options[3 + i] = extra[i];
        optind = 0;
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        o->json = true;
                        break;
                case 'S':
                        o->socket_path = optarg;
                        break;
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case '?':
                        return CTL_EXIT_USAGE;
                default:
                        r = fn ? fn(c, optarg, ud) : CTL_EXIT_USAGE;
                        if (r >= 0)
                                return r;
                }
        }
        return -1;
}

static int parse_int(const char *what, const char *s, int64_t min, int64_t max, int64_t *ret)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr, "vitalsctl: %s must be a whole number from %lld to %lld, got '%s'\n",
                        what, (long long)min, (long long)max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* --- ack ------------------------------------------------------------------ */

static void ack_help(void)
{
        printf("Usage: vitalsctl ack ID [--json]\n"
               "       vitalsctl ack --bed BED [--json]\n"
               "\n"
               "Acknowledges alarm ID (the id `vitalsctl status` shows), or every active and\n"
               "latched alarm of BED. Acknowledging stops the re-announcement of a condition that\n"
               "is still present (a reminder follows later); acknowledging a latched alarm\n"
               "clears it. The daemon records your user name.\n"
               "\n"
               "Exit status: 0 done, 1 refused (e.g. already acknowledged), 2 usage error,\n"
               "3 vitalsd not running, 4 not allowed, 5 no such alarm or bed.\n");
}

static int ack_opt(int c, const char *arg, void *ud)
{
        *(const char **)ud = arg;
        return -1;
}

int verb_ack(int argc, char **argv, const CtlGlobal *g)
{
        static const struct option extra[] = {{"bed", required_argument, NULL, 'b'}};
        ActionOpts o = {.socket_path = g->socket_path};
        const char *bed = NULL, *actor;
        json_object *req, *reply;
        int64_t id = 0;
        int r;

        argv[0] = (char *)"vitalsctl ack";
        r = parse_opts(argc, argv, "hb:", extra, 1, &o, ack_help, ack_opt, &bed);
        if (r >= 0)
                return r;
        if (bed ? optind != argc : optind + 1 != argc) {
                fprintf(stderr, "vitalsctl ack: give one alarm id, or --bed BED. Try --help.\n");
                return CTL_EXIT_USAGE;
        }
        if (!bed && parse_int("the alarm id", argv[optind], 1, INT64_MAX, &id) < 0)
                return CTL_EXIT_USAGE;

        req = new_request("ack");
        if (bed)
                json_object_object_add(req, "bed", json_object_new_string(bed));
        else
                json_object_object_add(req, "alarm", json_object_new_int64(id));
        r = call("ack", o.socket_path, req, o.json, &reply);
        if (r != CTL_EXIT_OK)
                return r;
        actor = client_json_string(reply, "actor");
        if (!o.json) {
                if (bed)
                        printf("%lld alarm(s) of %s acknowledged by %s\n",
                               (long long)int_field(reply, "count", 0), bed, actor ? actor : "?");
                else
                        printf("alarm %lld %s by %s\n", (long long)id,
                               strcmp(client_json_string(reply, "state") ?: "", "inactive") == 0
                                       ? "reset (it had ended)"
                                       : "acknowledged",
                               actor ? actor : "?");
        }
        json_object_put(reply);
        return CTL_EXIT_OK;
}

/* --- silence ------------------------------------------------------------- */

static void silence_help(void)
{
        printf("Usage: vitalsctl silence [BED] [--seconds N] [--json]\n"
               "\n"
               "Silences the audible announcement of alarms on BED, or on every bed, for N\n"
               "seconds (1 to 120, the default and the most IEC 60601-1-8 allows). Alarms stay\n"
               "listed; a new alarm of higher priority breaks through the silence.\n"
               "\n"
               "Exit status: 0 done, 1 refused, 2 usage error, 3 vitalsd not running,\n"
               "4 not allowed, 5 no such bed.\n");
}

static int silence_opt(int c, const char *arg, void *ud)
{
        return parse_int("--seconds", arg, 1, 120, ud) < 0 ? CTL_EXIT_USAGE : -1;
}

int verb_silence(int argc, char **argv, const CtlGlobal *g)
{
        static const struct option extra[] = {{"seconds", required_argument, NULL, 'n'}};
        ActionOpts o = {.socket_path = g->socket_path};
        json_object *req, *reply;
        char buf[TIMEFMT_ISO_MAX];
        int64_t seconds = 120;
        const char *bed = NULL;
        int r;

        argv[0] = (char *)"vitalsctl silence";
        r = parse_opts(argc, argv, "hn:", extra, 1, &o, silence_help, silence_opt, &seconds);
        if (r >= 0)
                return r;
        if (optind + 1 < argc) {
                fprintf(stderr, "vitalsctl silence: at most one bed. Try --help.\n");
                return CTL_EXIT_USAGE;
        }
        if (optind < argc)
                bed = argv[optind];
        req = new_request("silence");
        if (bed)
                json_object_object_add(req, "bed", json_object_new_string(bed));
        json_object_object_add(req, "seconds", json_object_new_int64(seconds));
        r = call("silence", o.socket_path, req, o.json, &reply);
        if (r != CTL_EXIT_OK)
                return r;
        if (!o.json)
                printf("alarm sound silenced on %s for %lld s, until %s, by %s\n",
                       bed ? bed : "all beds", (long long)int_field(reply, "seconds", 0),
                       clock_of(client_json_string(reply, "until"), buf), client_json_string(reply, "actor") ?: "?");
        json_object_put(reply);
        return CTL_EXIT_OK;
}

/* --- mark ---------------------------------------------------------------- */

static void mark_help(void)
{
        printf("Usage: vitalsctl mark BED KIND [TEXT] [--json]\n"
               "\n"
               "Records a marker in BED's open session, at this moment, under your name.\n"
               "KIND is one of:\n"
               "  infusion-start  the infusion began (the session enters its infusion phase)\n"
               "  dose            a dose was given (TEXT: what and how much)\n"
               "  infusion-end    the infusion ended (the session enters recovery)\n"
               "  note            free text\n"
               "\n"
               "Exit status: 0 done, 1 refused, 2 usage error, 3 vitalsd not running,\n"
               "4 not allowed, 5 no such bed or no open session.\n");
}

int verb_mark(int argc, char **argv, const CtlGlobal *g)
{
        ActionOpts o = {.socket_path = g->socket_path};
        json_object *req, *reply, *marker;
        char buf[TIMEFMT_ISO_MAX];
        int r;

        argv[0] = (char *)"vitalsctl mark";
        r = parse_opts(argc, argv, "h", NULL, 0, &o, mark_help, NULL, NULL);
        if (r >= 0)
                return r;
        if (argc - optind < 2 || argc - optind > 3) {
                fprintf(stderr, "vitalsctl mark: give BED KIND [TEXT]. Try --help.\n");
                return CTL_EXIT_USAGE;
        }
        req = new_request("mark");
        json_object_object_add(req, "bed", json_object_new_string(argv[optind]));
        json_object_object_add(req, "kind", json_object_new_string(argv[optind + 1]));
        if (argc - optind == 3)
                json_object_object_add(req, "text", json_object_new_string(argv[optind + 2]));
        r = call("mark", o.socket_path, req, o.json, &reply);
        if (r != CTL_EXIT_OK)
                return r;
        if (!o.json) {
                json_object_object_get_ex(reply, "marker", &marker);
                printf("%s marked on %s (session %lld) at %s by %s; phase %s\n",
                       argv[optind + 1], argv[optind], (long long)int_field(reply, "session", 0),
                       clock_of(client_json_string(marker, "time"), buf), client_json_string(marker, "actor") ?: "?",
                       client_json_string(reply, "phase") ?: "?");
        }
        json_object_put(reply);
        return CTL_EXIT_OK;
}

/* --- session ------------------------------------------------------------- */

static void session_help(void)
{
        printf("Usage: vitalsctl session start BED --patient REF [--profile NAME] [--json]\n"
               "       vitalsctl session stop BED [--reason TEXT] [--json]\n"
               "       vitalsctl session list [BED] [--limit N] [--state-dir DIR | --db FILE]\n"
               "                              [--json]\n"
               "\n"
               "start  opens a session for a patient on BED, under the alarm profile NAME\n"
               "       (default: the daemon's). REF is the clinic's pseudonymous reference,\n"
               "       never a name. A session the daemon opened by itself on first data is\n"
               "       closed and replaced; a session a user started must be stopped first.\n"
               "stop   closes BED's session.\n"
               "list   the sessions in the session log, newest first (default: 20).\n"
               "\n"
               "Exit status: 0 done, 1 refused, 2 usage error, 3 vitalsd not running,\n"
               "4 not allowed, 5 no such bed, profile or open session.\n");
}

typedef struct SessionArgs {
        const char *patient, *profile, *reason, *state_dir, *db;
        int64_t limit;
} SessionArgs;

static int session_opt(int c, const char *arg, void *ud)
{
        SessionArgs *a = ud;

        switch (c) {
        case 'p':
                a->patient = arg;
                break;
        case 'P':
                a->profile = arg;
                break;
        case 'r':
                a->reason = arg;
                break;
        case 'd':
                a->state_dir = arg;
                break;
        case 'D':
                a->db = arg;
                break;
        case 'l':
                return parse_int("--limit", arg, 1, 1000000, &a->limit) < 0 ? CTL_EXIT_USAGE : -1;
        default:
                return CTL_EXIT_USAGE;
        }
        return -1;
}

static int print_session_row(void *ud, const ExportSession *s)
{
        bool json = *(bool *)ud;
        char a[TIMEFMT_ISO_MAX], b[TIMEFMT_ISO_MAX], dur[32];
        int64_t secs;

        if (json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_int64(s->id));
                json_object_object_add(o, "bed", json_object_new_string(s->bed));
                json_object_object_add(o, "patient_ref", json_object_new_string(s->patient_ref));
                json_object_object_add(o, "profile", s->profile ? json_object_new_string(s->profile) : NULL);
                json_object_object_add(o, "started", json_object_new_string(timefmt_iso_ms(s->started_ns, a)));
                json_object_object_add(o, "ended", s->ended ? json_object_new_string(timefmt_iso_ms(s->ended_ns, b)) : NULL);
                json_object_object_add(o, "opened_by", json_object_new_string(s->opened_by));
                json_object_object_add(o, "closed_by", s->closed_by ? json_object_new_string(s->closed_by) : NULL);
                json_object_object_add(o, "end_reason", s->end_reason ? json_object_new_string(s->end_reason) : NULL);
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return 0;
        }
        secs = ((s->ended ? s->ended_ns : now_wall_ns()) - s->started_ns) / 1000000000;
        snprintf(dur, sizeof(dur), "%lldh%02lldm%s", (long long)(secs / 3600),
                 (long long)(secs / 60 % 60), s->ended ? "" : "+");
        timefmt_iso_s(s->started_ns, a);
        a[16] = 'Z';
        a[17] = '\0';
        printf("%6lld  %-12s %-16s %-17s %-9s %-8s %-18s %s\n", (long long)s->id, s->bed,
               s->patient_ref, a, dur, s->ended ? "ended" : "OPEN",
               s->profile ? s->profile : "-", s->opened_by);
        return 0;
}

static int session_list(const SessionArgs *a, const char *bed, bool json)
{
        char err[EXPORT_ERROR_MAX], *path = NULL, *dir;
        sqlite3 *db;
        int r;

        if (a->db)
                path = strdup(a->db);
        else {
                dir = a->state_dir ? strdup(a->state_dir) : ctl_default_state_dir();
                if (!dir || asprintf(&path, "%s/%s", dir, STORE_DB_NAME) < 0)
                        path = NULL;
                free(dir);
        }
        if (!path) {
                fprintf(stderr, "vitalsctl session list: out of memory\n");
                return CTL_EXIT_FAILURE;
        }
        r = export_db_open(path, &db, err);
        free(path);
        if (r < 0) {
                fprintf(stderr, "vitalsctl session list: %s\n", err);
                return r == -EACCES ? CTL_EXIT_DENIED : CTL_EXIT_FAILURE;
        }
        if (!json)
                printf("%6s  %-12s %-16s %-17s %-9s %-8s %-18s %s\n", "ID", "BED", "PATIENT",
                       "STARTED", "DURATION", "STATE", "PROFILE", "OPENED BY");
        r = export_sessions_foreach(db, bed, a->limit, print_session_row, &json);
        export_db_close(db);
        if (r < 0) {
                fprintf(stderr, "vitalsctl session list: reading the session log: %s\n",
                        strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

int verb_session(int argc, char **argv, const CtlGlobal *g)
{
        static const struct option extra[] = {
            {"patient", required_argument, NULL, 'p'},
            {"profile", required_argument, NULL, 'P'},
            {"reason", required_argument, NULL, 'r'},
            {"state-dir", required_argument, NULL, 'd'},
            {"db", required_argument, NULL, 'D'},
            {"limit", required_argument, NULL, 'l'},
        };
        ActionOpts o = {.socket_path = g->socket_path};
        SessionArgs a = {.limit = 20};
        json_object *req, *reply, *sess;
        const char *action, *bed;
        int r;

        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                session_help();
                return CTL_EXIT_OK;
        }
        if (argc < 2) {
                fprintf(stderr, "vitalsctl session: give start, stop or list. Try --help.\n");
                return CTL_EXIT_USAGE;
        }
        action = argv[1];
        argv[1] = (char *)"vitalsctl session";
        r = parse_opts(argc - 1, argv + 1, "h", extra, sizeof(extra) / sizeof(extra[0]), &o,
                       session_help, session_opt, &a);
        if (r >= 0)
                return r;
        argc--;
        argv++;

        if (strcmp(action, "list") == 0) {
                if (optind + 1 < argc) {
                        fprintf(stderr, "vitalsctl session list: at most one bed\n");
                        return CTL_EXIT_USAGE;
                }
                return session_list(&a, optind < argc ? argv[optind] : NULL, o.json);
        }
        if (strcmp(action, "start") != 0 && strcmp(action, "stop") != 0) {
                fprintf(stderr, "vitalsctl session: unknown action '%s' (start, stop, list)\n",
                        action);
                return CTL_EXIT_USAGE;
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "vitalsctl session %s: give one bed. Try --help.\n", action);
                return CTL_EXIT_USAGE;
        }
        bed = argv[optind];
        if (strcmp(action, "start") == 0) {
                if (!a.patient || !*a.patient) {
                        fprintf(stderr, "vitalsctl session start: --patient REF is required (the "
                                        "clinic's pseudonymous reference)\n");
                        return CTL_EXIT_USAGE;
                }
                req = new_request("session-start");
                json_object_object_add(req, "bed", json_object_new_string(bed));
                json_object_object_add(req, "patient_ref", json_object_new_string(a.patient));
                if (a.profile)
                        json_object_object_add(req, "profile", json_object_new_string(a.profile));
        } else {
                req = new_request("session-stop");
                json_object_object_add(req, "bed", json_object_new_string(bed));
                if (a.reason)
                        json_object_object_add(req, "reason", json_object_new_string(a.reason));
        }
        r = call(strcmp(action, "start") == 0 ? "session start" : "session stop", o.socket_path,
                 req, o.json, &reply);
        if (r != CTL_EXIT_OK)
                return r;
        if (!o.json) {
                if (strcmp(action, "start") == 0) {
                        json_object_object_get_ex(reply, "session", &sess);
                        printf("session %lld started on %s for %s (alarm profile %s) by %s\n",
                               (long long)int_field(sess, "id", 0), bed,
                               client_json_string(sess, "patient_ref") ?: "?",
                               client_json_string(sess, "profile") ?: "none",
                               client_json_string(reply, "actor") ?: "?");
                } else
                        printf("session %lld on %s stopped by %s\n",
                               (long long)int_field(reply, "session", 0), bed,
                               client_json_string(reply, "actor") ?: "?");
        }
        json_object_put(reply);
        return CTL_EXIT_OK;
}
