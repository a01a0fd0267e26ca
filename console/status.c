/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * status.c — `vitalsctl status`: ask vitalsd for its status and show it.
 *
 * Owns the status verb and the human rendering of the reply.  The reply
 * schema belongs to the daemon; this file reads it defensively: unknown
 * fields are ignored, a missing or mistyped field is treated as absent and
 * simply not printed.  A value that is not valid is never shown as a number
 * ("---" and its status instead), and an old value carries its age, so the
 * summary is never quieter than the truth.  Blocks on the socket for at
 * most CLIENT_REPLY_TIMEOUT_MSEC.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "client.h"
#include "status.h"
#include "timefmt.h"
#include "vitalsctl.h"

#define NSEC_PER_SEC 1000000000LL
/* A streamed value older than this is shown with its age. */
#define STALE_AFTER_SEC 30

static json_object *get_object(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_object))
                return NULL;
        return v;
}

static json_object *get_array(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static bool get_number(json_object *o, const char *key, double *ret)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v))
                return false;
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return false;
        *ret = json_object_get_double(v);
        return isfinite(*ret);
}

static bool get_bool(json_object *o, const char *key, bool *ret)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_boolean))
                return false;
        *ret = json_object_get_boolean(v);
        return true;
}

char *status_format_value(double v, char *buf, size_t size)
{
        size_t len;

        snprintf(buf, size, "%.2f", v);
        if (strchr(buf, '.')) {
                len = strlen(buf);
                while (len > 0 && buf[len - 1] == '0')
                        buf[--len] = '\0';
                if (len > 0 && buf[len - 1] == '.')
                        buf[--len] = '\0';
        }
        if (strcmp(buf, "-0") == 0)
                snprintf(buf, size, "0");
        return buf;
}

static void format_duration(double sec, char *buf, size_t size)
{
        long long s = sec < 0 ? 0 : (long long)sec;

        if (s < 60)
                snprintf(buf, size, "%lld s", s);
        else if (s < 3600)
                snprintf(buf, size, "%lld min", s / 60);
        else if (s < 86400)
                snprintf(buf, size, "%lld h %02lld min", s / 3600, s / 60 % 60);
        else
                snprintf(buf, size, "%lld d %lld h", s / 86400, s / 3600 % 24);
}

/* "12:01Z" when it is today (UTC), else "2026-01-01 12:01Z"; the raw text if
 * it does not parse. */
static void format_clock(const char *iso, int64_t now_ns, char *buf, size_t size)
{
        char t[TIMEFMT_ISO_MAX], n[TIMEFMT_ISO_MAX];
        int64_t ns;

        if (!iso || timefmt_parse_iso(iso, &ns) < 0) {
                snprintf(buf, size, "%s", iso ? iso : "?");
                return;
        }
        timefmt_iso_s(ns, t);
        timefmt_iso_s(now_ns, n);
        /* t is "YYYY-MM-DDTHH:MM:SSZ" */
        if (strncmp(t, n, 10) == 0)
                snprintf(buf, size, "%.5sZ", t + 11);
        else
                snprintf(buf, size, "%.10s %.5sZ", t, t + 11);
}

/* Age of an ISO time in seconds, or -1 when unknown. */
static double age_sec(const char *iso, int64_t now_ns)
{
        int64_t ns;

        if (!iso || timefmt_parse_iso(iso, &ns) < 0)
                return -1;
        return (double)(now_ns - ns) / NSEC_PER_SEC;
}

static void print_age(FILE *f, double age)
{
        char d[32];

        if (age < 0)
                return;
        format_duration(age, d, sizeof(d));
        fprintf(f, " %s ago", d);
}

static bool status_usable(const char *status)
{
        /* No status at all: the daemon sent a bare value; show it. */
        return !status || strcmp(status, "valid") == 0 || strcmp(status, "questionable") == 0;
}

/* The value of one latest[] entry as text: "72" or "---". Returns whether
 * it is a number. */
static bool latest_value(json_object *e, char *buf, size_t size)
{
        double v;

        if (e && status_usable(client_json_string(e, "status")) && get_number(e, "value", &v)) {
                status_format_value(v, buf, size);
                return true;
        }
        snprintf(buf, size, "---");
        return false;
}

static bool is_episodic(const char *name)
{
        const CatalogueEntry *c = catalogue_find(name);

        return c && c->episodic;
}

/* The values line is indented like the device lines; items two spaces apart. */
static void print_sep(FILE *f)
{
        fputs("  ", f);
}

static void print_simple(FILE *f, const char *name, json_object *e, int64_t now_ns)
{
        const char *status = client_json_string(e, "status"), *unit = client_json_string(e, "unit");
        char v[64];
        bool number;
        double age;

        number = latest_value(e, v, sizeof(v));
        print_sep(f);
        fprintf(f, "%s %s", name, v);
        if (number && unit && *unit)
                fprintf(f, " %s", unit);
        if (status && strcmp(status, "valid") != 0)
                fprintf(f, " (%s)", status);
        age = age_sec(client_json_string(e, "time"), now_ns);
        if (is_episodic(name) || age >= STALE_AFTER_SEC)
                print_age(f, age);
}

/* "NIBP 128/82 (97) mm[Hg] 3 min ago": the three parts of one measurement. */
static void print_nibp(FILE *f, json_object *latest, int64_t now_ns)
{
        json_object *sys = get_object(latest, "NIBP_SYS"), *dia = get_object(latest, "NIBP_DIA"),
                    *mean = get_object(latest, "NIBP_MEAN");
        json_object *parts[] = {sys, dia, mean}, *any = sys ? sys : dia ? dia : mean;
        const char *unit = NULL, *bad = NULL;
        char vs[64], vd[64], vm[64];
        bool numbers = false;

        numbers |= latest_value(sys, vs, sizeof(vs));
        numbers |= latest_value(dia, vd, sizeof(vd));
        if (mean)
                numbers |= latest_value(mean, vm, sizeof(vm));
        for (size_t i = 0; i < 3; i++) {
                const char *st = parts[i] ? client_json_string(parts[i], "status") : NULL;

                if (!unit && parts[i])
                        unit = client_json_string(parts[i], "unit");
                if (!bad && st && strcmp(st, "valid") != 0)
                        bad = st;
        }

        print_sep(f);
        fprintf(f, "NIBP %s/%s", vs, vd);
        if (mean)
                fprintf(f, " (%s)", vm);
        if (numbers && unit && *unit)
                fprintf(f, " %s", unit);
        if (bad)
                fprintf(f, " (%s)", bad);
        print_age(f, age_sec(client_json_string(any, "time"), now_ns));
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_nibp_part(const char *name)
{
        return strcmp(name, "NIBP_SYS") == 0 || strcmp(name, "NIBP_DIA") == 0 ||
               strcmp(name, "NIBP_MEAN") == 0;
}

/* Catalogue order first (with NIBP drawn as one), then the rest by name. */
static void print_latest(FILE *f, json_object *latest, int64_t now_ns)
{
        const CatalogueEntry *cat;
        unsigned ncat;
        bool nibp_done = false;
        const char **others = NULL;
        size_t nothers = 0, cap;

        if (!latest || json_object_object_length(latest) == 0) {
                fprintf(f, "  no readings yet\n");
                return;
        }
        cat = catalogue_entries(&ncat);
        for (unsigned i = 0; i < ncat; i++) {
                json_object *e = get_object(latest, cat[i].name);

                if (!e)
                        continue;
                if (is_nibp_part(cat[i].name)) {
                        if (!nibp_done)
                                print_nibp(f, latest, now_ns);
                        nibp_done = true;
                        continue;
                }
                print_simple(f, cat[i].name, e, now_ns);
        }

        cap = (size_t)json_object_object_length(latest);
        others = calloc(cap ? cap : 1, sizeof(char *));
        if (others) {
                json_object_object_foreach(latest, key, val)
                {
                        if (!catalogue_find(key) && json_object_is_type(val, json_type_object) &&
                            nothers < cap)
                                others[nothers++] = key;
                }
                qsort(others, nothers, sizeof(char *), compare_names);
                for (size_t i = 0; i < nothers; i++)
                        print_simple(f, others[i], get_object(latest, others[i]), now_ns);
                free(others);
        }
        fputc('\n', f);
}

static void print_device(FILE *f, json_object *d, int64_t now_ns)
{
        const char *name = client_json_string(d, "name"), *driver = client_json_string(d, "driver"),
                   *port = client_json_string(d, "port"), *state = client_json_string(d, "state"),
                   *since = client_json_string(d, "state_since"), *err = client_json_string(d, "last_error");
        double ok, bad, skipped, reconnects;
        char when[64];

        fprintf(f, "  %s", name ? name : "?");
        if (driver)
                fprintf(f, "  %s", driver);
        if (port)
                fprintf(f, "  %s", port);
        fprintf(f, "  %s", state ? state : "unknown");
        if (since) {
                format_clock(since, now_ns, when, sizeof(when));
                fprintf(f, " since %s", when);
        }
        if (get_number(d, "frames_ok", &ok))
                fprintf(f, "  frames %.0f ok", ok);
        if (get_number(d, "frames_bad", &bad))
                fprintf(f, " %.0f bad", bad);
        if (get_number(d, "bytes_skipped", &skipped))
                fprintf(f, "  %.0f bytes skipped", skipped);
        if (get_number(d, "reconnects", &reconnects))
                fprintf(f, "  %.0f reconnects", reconnects);
        fputc('\n', f);
        if (err)
                fprintf(f, "    last error: %s\n", err);
}

/* "*** high", "** medium", "* low": the markings of IEC 60601-1-8 consoles. */
static const char *priority_mark(const char *prio)
{
        if (!prio)
                return "?";
        if (strcmp(prio, "high") == 0)
                return "***";
        if (strcmp(prio, "medium") == 0)
                return "**";
        if (strcmp(prio, "low") == 0)
                return "*";
        return "?";
}

static void print_alarms(FILE *f, json_object *alarms, int64_t now_ns)
{
        double id, value, limit;
        char when[64], v[32], l[32];

        if (!alarms)
                return;
        for (size_t i = 0; i < json_object_array_length(alarms); i++) {
                json_object *a = json_object_array_get_idx(alarms, i);
                const char *cond = client_json_string(a, "condition"), *prio = client_json_string(a, "priority"),
                           *state = client_json_string(a, "state"), *since = client_json_string(a, "since"),
                           *by = client_json_string(a, "acknowledged_by"), *detail = client_json_string(a, "detail");
                bool technical = false;

                if (!json_object_is_type(a, json_type_object))
                        continue;
                (void)get_bool(a, "technical", &technical);
                fprintf(f, "  ALARM %-3s %s %s%s %s", priority_mark(prio), prio ? prio : "?",
                        cond ? cond : "?", technical ? " (technical)" : "", state ? state : "?");
                if (get_number(a, "id", &id))
                        fprintf(f, "  id %.0f", id);
                if (get_number(a, "value", &value)) {
                        fprintf(f, "  value %s", status_format_value(value, v, sizeof(v)));
                        if (get_number(a, "limit", &limit))
                                fprintf(f, " (limit %s)", status_format_value(limit, l, sizeof(l)));
                }
                if (since) {
                        format_clock(since, now_ns, when, sizeof(when));
                        fprintf(f, "  since %s", when);
                }
                if (by)
                        fprintf(f, "  acknowledged by %s", by);
                if (detail)
                        fprintf(f, "  (%s)", detail);
                fputc('\n', f);
        }
}

static void print_bed(FILE *f, json_object *b, int64_t now_ns)
{
        const char *bed = client_json_string(b, "bed");
        json_object *session = get_object(b, "session"), *devices = get_array(b, "devices");
        double id;

        fprintf(f, "%s", bed ? bed : "?");
        if (session) {
                const char *ref = client_json_string(session, "patient_ref"),
                           *started = client_json_string(session, "started"),
                           *phase = client_json_string(session, "phase"),
                           *profile = client_json_string(session, "profile");
                char when[64];

                fputs("  session", f);
                if (get_number(session, "id", &id))
                        fprintf(f, " %.0f", id);
                if (ref)
                        fprintf(f, " (%s)", ref);
                if (started) {
                        format_clock(started, now_ns, when, sizeof(when));
                        fprintf(f, " since %s", when);
                }
                if (phase)
                        fprintf(f, "  phase %s", phase);
                if (profile)
                        fprintf(f, "  profile %s", profile);
        } else {
                fputs("  no session", f);
        }
        fputc('\n', f);

        if (!devices || json_object_array_length(devices) == 0)
                fprintf(f, "  no devices\n");
        else
                for (size_t i = 0; i < json_object_array_length(devices); i++) {
                        json_object *d = json_object_array_get_idx(devices, i);

                        if (json_object_is_type(d, json_type_object))
                                print_device(f, d, now_ns);
                }
        print_latest(f, get_object(b, "latest"), now_ns);
        {
                const char *until = client_json_string(b, "silenced_until");
                double left = -age_sec(until, now_ns);

                if (until)
                        fprintf(f, "  alarm sound SILENCED for %.0f s more\n", left > 0 ? left : 0);
        }
        print_alarms(f, get_array(b, "alarms"), now_ns);
}

void status_print_human(json_object *reply, int64_t now_ns, FILE *f)
{
        const char *version = client_json_string(reply, "version");
        json_object *store = get_object(reply, "store"), *beds = get_array(reply, "beds");
        double uptime, queued;
        char d[32];

        fprintf(f, "vitalsd %s", version ? version : "(unknown version)");
        if (get_number(reply, "uptime_s", &uptime)) {
                format_duration(uptime, d, sizeof(d));
                fprintf(f, ", up %s", d);
        }
        fputc('\n', f);

        if (store) {
                const char *path = client_json_string(store, "path"),
                           *err = client_json_string(store, "last_error");
                bool ok = true;

                (void)get_bool(store, "ok", &ok);
                fprintf(f, "store %s: %s", path ? path : "?", ok ? "ok" : "FAILING");
                if (get_number(store, "queued", &queued))
                        fprintf(f, ", %.0f queued", queued);
                if (err)
                        fprintf(f, " (last error: %s)", err);
                fputc('\n', f);
        }

        if (!beds || json_object_array_length(beds) == 0) {
                fprintf(f, "\nno beds configured\n");
                return;
        }
        for (size_t i = 0; i < json_object_array_length(beds); i++) {
                json_object *b = json_object_array_get_idx(beds, i);

                if (!json_object_is_type(b, json_type_object))
                        continue;
                fputc('\n', f);
                print_bed(f, b, now_ns);
        }
}

static void status_help(void)
{
        printf("Usage: vitalsctl [--socket PATH] status [--json]\n"
               "\n"
               "Shows vitalsd's beds, sessions, devices and latest values.\n"
               "\n"
               "  --json        print the daemon's reply as JSON\n"
               "  --socket PATH control socket (default: $VITALSD_SOCKET or the daemon's)\n"
               "  -h, --help    this text\n"
               "\n"
               "Exit status: 0 ok, 1 the daemon answered with an error, 2 usage error,\n"
               "3 cannot connect to vitalsd, 4 not allowed (not root, not in the console group).\n");
}

int verb_status(int argc, char **argv, const CtlGlobal *g)
{
        static const struct option options[] = {
            {"json", no_argument, NULL, 'j'},
            {"socket", required_argument, NULL, 's'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *socket_path = g->socket_path;
        json_object *request, *reply = NULL;
        bool json = false, ok = false;
        int c, fd, r;

        argv[0] = (char *)"vitalsctl status";
        optind = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 's':
                        socket_path = optarg;
                        break;
                case 'h':
                        status_help();
                        return CTL_EXIT_OK;
                default:
                        return CTL_EXIT_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "vitalsctl status: unexpected argument '%s'\n", argv[optind]);
                return CTL_EXIT_USAGE;
        }

        r = client_connect(socket_path, &fd);
        if (r == -EACCES || r == -EPERM) {
                fprintf(stderr,
                        "vitalsctl: %s: %s: the control socket is for root and the console "
                        "group (usually \"vitals\")\n",
                        socket_path, strerror(-r));
                return CTL_EXIT_DENIED;
        }
        if (r < 0) {
                fprintf(stderr,
                        "vitalsctl: vitalsd is not running or the socket is not accessible: "
                        "%s: %s\n",
                        socket_path, strerror(-r));
                return CTL_EXIT_NO_DAEMON;
        }

        request = json_object_new_object();
        if (!request) {
                close(fd);
                fprintf(stderr, "vitalsctl: out of memory\n");
                return CTL_EXIT_FAILURE;
        }
        json_object_object_add(request, "type", json_object_new_string("status"));
        json_object_object_add(request, "id", json_object_new_int(1));
        r = client_request(fd, request, CLIENT_REPLY_TIMEOUT_MSEC, &reply);
        json_object_put(request);
        close(fd);
        if (r == -ECONNRESET || r == -EPIPE) {
                fprintf(stderr, "vitalsctl: vitalsd closed the connection without answering (%s)\n",
                        socket_path);
                return CTL_EXIT_NO_DAEMON;
        }
        if (r == -ETIMEDOUT) {
                fprintf(stderr, "vitalsctl: vitalsd did not answer within %d s (%s)\n",
                        CLIENT_REPLY_TIMEOUT_MSEC / 1000, socket_path);
                return CTL_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "vitalsctl: reading the reply from %s: %s\n", socket_path,
                        r == -EBADMSG ? "not a JSON object" : strerror(-r));
                return CTL_EXIT_FAILURE;
        }

        if (!get_bool(reply, "ok", &ok)) {
                const char *type = client_json_string(reply, "type");

                ok = !type || strcmp(type, "error") != 0;
        }
        if (json) {
                puts(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_SPACED |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
        } else if (ok) {
                status_print_human(reply, now_wall_ns(), stdout);
        } else {
                const char *error = client_json_string(reply, "error"),
                           *message = client_json_string(reply, "message");

                fprintf(stderr, "vitalsctl: vitalsd refused the request: %s%s%s\n",
                        error ? error : "error", message ? ": " : "", message ? message : "");
                if (error && strcmp(error, "permission-denied") == 0) {
                        json_object_put(reply);
                        return CTL_EXIT_DENIED;
                }
        }
        json_object_put(reply);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "vitalsctl: writing to stdout: %s\n", strerror(errno));
                return CTL_EXIT_FAILURE;
        }
        return ok ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
