/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * watch.c — `vitalsctl watch`: the live view.
 *
 * On a terminal it runs the nurse console (tui.c); with --plain, or when
 * stdout is not a terminal or the terminal cannot be driven, this file's
 * plain-line view.
 *
 * This file owns the plain-line view used when stdout is not a terminal
 * (logs, pipes, the demo under CI): it subscribes to the daemon's events
 * and prints one line per event — device state changes and alarm events at
 * once, readings as one summary line per bed and record (at most one per
 * second per bed, so a fast stream stays readable).  It reconnects by
 * itself when the daemon restarts, printing "disconnected" meanwhile.
 * --seconds N bounds the run.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tui.h"
#include "vitalsctl.h"

#define WATCH_BEDS_MAX 64
#define WATCH_PARAMS_MAX 24

typedef struct WatchParam {
        char name[24];
        char text[24];
} WatchParam;

typedef struct WatchBed {
        char name[64];
        char last_time[40];
        WatchParam params[WATCH_PARAMS_MAX];
        size_t n_params;
        double last_print;
        bool dirty;
} WatchBed;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
        stop_requested = 1;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) || !v)
                return NULL;
        return json_object_get_string(v);
}

static WatchBed *bed_find(WatchBed *beds, size_t *n, const char *name)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp(beds[i].name, name) == 0)
                        return &beds[i];
        if (*n == WATCH_BEDS_MAX)
                return NULL;
        memset(&beds[*n], 0, sizeof(beds[0]));
        snprintf(beds[*n].name, sizeof(beds[0].name), "%s", name);
        return &beds[(*n)++];
}

static void bed_print(WatchBed *b)
{
        const char *t = b->last_time[0] ? b->last_time : "-";

        printf("%s %-10s", t, b->name);
        for (size_t i = 0; i < b->n_params; i++)
                printf(" %s %s", b->params[i].name, b->params[i].text);
        printf("\n");
        fflush(stdout);
        b->dirty = false;
        b->last_print = now_s();
}

static void bed_set(WatchBed *b, const char *param, json_object *reading)
{
        json_object *v = NULL;
        WatchParam *p = NULL;
        const char *status = jstr(reading, "status");

        for (size_t i = 0; i < b->n_params; i++)
                if (strcmp(b->params[i].name, param) == 0)
                        p = &b->params[i];
        if (!p) {
                if (b->n_params == WATCH_PARAMS_MAX)
                        return;
                p = &b->params[b->n_params++];
                snprintf(p->name, sizeof(p->name), "%s", param);
        }
        json_object_object_get_ex(reading, "value", &v);
        if (v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
                snprintf(p->text, sizeof(p->text), "%.4g", json_object_get_double(v));
        else
                snprintf(p->text, sizeof(p->text), "---(%s)", status ? status : "?");
}

static void on_reading(WatchBed *b, json_object *o)
{
        const char *t = jstr(o, "time"), *param = jstr(o, "parameter");

        if (!param)
                return;
        /* A new record time closes the previous record's line. */
        if (t && b->last_time[0] && strcmp(t, b->last_time) != 0 && b->dirty &&
            now_s() - b->last_print >= 1.0)
                bed_print(b);
        if (t)
                snprintf(b->last_time, sizeof(b->last_time), "%s", t);
        bed_set(b, param, o);
        b->dirty = true;
}

static void handle_event(json_object *ev, WatchBed *beds, size_t *n_beds)
{
        const char *type = jstr(ev, "type"), *bedname = jstr(ev, "bed");
        json_object *o;

        if (!type)
                return;
        /* Readings events vitalsd held back and sent together. */
        if (strcmp(type, "batch") == 0) {
                if (json_object_object_get_ex(ev, "events", &o) &&
                    json_object_is_type(o, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(o); i++) {
                                json_object *e = json_object_array_get_idx(o, i);
                                const char *t = json_object_is_type(e, json_type_object)
                                                        ? jstr(e, "type") : NULL;
                                if (t && strcmp(t, "readings") == 0)
                                        handle_event(e, beds, n_beds);
                        }
                return;
        }
        /* The readings one device delivered together (one record). */
        if (strcmp(type, "readings") == 0 && bedname &&
            json_object_object_get_ex(ev, "readings", &o) &&
            json_object_is_type(o, json_type_array)) {
                WatchBed *b = bed_find(beds, n_beds, bedname);
                for (size_t i = 0; b && i < json_object_array_length(o); i++) {
                        json_object *r = json_object_array_get_idx(o, i);
                        if (json_object_is_type(r, json_type_object))
                                on_reading(b, r);
                }
        } else if (strcmp(type, "device") == 0 && json_object_object_get_ex(ev, "device", &o)) {
                const char *err = jstr(o, "last_error");
                printf("%s %-10s device %s %s%s%s\n", jstr(o, "state_since") ?: "-",
                       bedname ?: "-", jstr(o, "name") ?: "?", jstr(o, "state") ?: "?",
                       err ? ": " : "", err ?: "");
                fflush(stdout);
        } else if (strcmp(type, "alarm") == 0) {
                printf("%s %-10s ALARM %s %s %s %s%s\n", jstr(ev, "time") ?: "-", bedname ?: "-",
                       jstr(ev, "priority") ?: "?", jstr(ev, "condition") ?: "?",
                       jstr(ev, "state") ?: "?", jstr(ev, "technical") &&
                       strcmp(jstr(ev, "technical"), "true") == 0 ? "(technical) " : "",
                       jstr(ev, "actor") ?: "");
                fflush(stdout);
        } else if (strcmp(type, "session") == 0) {
                printf("%s %-10s session %s %s\n", jstr(ev, "time") ?: "-", bedname ?: "-",
                       jstr(ev, "session") ?: "?", jstr(ev, "state") ?: "?");
                fflush(stdout);
        }
}

static int watch_once(const CtlGlobal *g, double deadline, WatchBed *beds, size_t *n_beds)
{
        json_object *req, *reply = NULL, *msg;
        int fd, r;

        r = client_connect(g->socket_path, &fd);
        if (r < 0)
                return r;
        req = json_object_new_object();
        json_object_object_add(req, "type", json_object_new_string("subscribe"));
        json_object_object_add(req, "id", json_object_new_int(1));
        r = client_request(fd, req, CLIENT_REPLY_TIMEOUT_MSEC, &reply);
        json_object_put(req);
        json_object_put(reply);
        if (r < 0) {
                close(fd);
                return r;
        }
        printf("connected to %s\n", g->socket_path);
        fflush(stdout);
        while (!stop_requested) {
                double left = deadline > 0 ? deadline - now_s() : 1.0;
                if (deadline > 0 && left <= 0)
                        break;
                r = client_receive(fd, (int)(fmin(left, 1.0) * 1000) + 1, &msg);
                if (r == -ETIMEDOUT) {
                        for (size_t i = 0; i < *n_beds; i++)
                                if (beds[i].dirty && now_s() - beds[i].last_print >= 1.0)
                                        bed_print(&beds[i]);
                        continue;
                }
                if (r < 0) {
                        close(fd);
                        return r;
                }
                handle_event(msg, beds, n_beds);
                json_object_put(msg);
        }
        close(fd);
        return 0;
}

int verb_watch(int argc, char **argv, const CtlGlobal *g)
{
        static const struct option opts[] = {
                {"seconds", required_argument, NULL, 'n'},
                {"plain", no_argument, NULL, 'p'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        static WatchBed beds[WATCH_BEDS_MAX];
        size_t n_beds = 0;
        double seconds = 0, deadline;
        bool said_disconnected = false, plain = false;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (c) {
                case 'n': {
                        char *end;
                        seconds = strtod(optarg, &end);
                        if (*end || !(seconds > 0)) {
                                fprintf(stderr, "vitalsctl watch: --seconds needs a positive number\n");
                                return CTL_EXIT_USAGE;
                        }
                        break;
                }
                case 'p':
                        plain = true;
                        break;
                case 'h':
                        printf("Usage: vitalsctl watch [--seconds N] [--plain]\n"
                               "Live vitals and alarms of every bed: the nurse console on a terminal\n"
                               "(keys: ? for help), one plain line per event when stdout is not a\n"
                               "terminal or with --plain. Reconnects when the daemon restarts.\n"
                               "\n"
                               "vitalsd is a secondary notification: the bedside monitor's own\n"
                               "alarms stay primary.\n");
                        return CTL_EXIT_OK;
                default:
                        return CTL_EXIT_USAGE;
                }
        }
        if (!plain && isatty(STDOUT_FILENO)) {
                int r = tui_run(g->socket_path, seconds);

                if (r != -ENOTTY)
                        return r;
                fprintf(stderr, "vitalsctl watch: cannot drive this terminal (TERM=%s); "
                                "plain lines instead\n",
                        getenv("TERM") ?: "unset");
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        deadline = seconds > 0 ? now_s() + seconds : 0;
        while (!stop_requested && (deadline == 0 || now_s() < deadline)) {
                int r = watch_once(g, deadline, beds, &n_beds);
                if (r == 0)
                        break;
                if (!said_disconnected) {
                        printf("disconnected: %s (%s); retrying\n", g->socket_path, strerror(-r));
                        fflush(stdout);
                        said_disconnected = true;
                }
                usleep(500000);
        }
        for (size_t i = 0; i < n_beds; i++)
                if (beds[i].dirty)
                        bed_print(&beds[i]);
        return CTL_EXIT_OK;
}
