/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * service.c — the service manager contract (systemd, or anything speaking
 * the sd_notify protocol: see sd_notify(3) and systemd.service(5),
 * "Type=notify", "WatchdogSec=").
 *
 * Owns the readiness/reload/stop notifications, the STATUS= line and the
 * watchdog.  The watchdog is fed from its own timer at half of
 * WATCHDOG_USEC, and only while the daemon is healthy (see
 * service_check_health()), so a daemon whose store no longer accepts writes,
 * whose tick stopped, or that lost track of a device is restarted by
 * systemd.  A blocked event loop feeds nothing at all.
 *
 * Never blocks: sd_notify() is one datagram on a local socket.  A failed
 * notification is ignored (systemd restarts a daemon that never says
 * READY=1 or stops pinging; there is nothing better to do here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "profile.h"
#include "regmap_conf.h"
#include "service.h"
#include "timefmt.h"

#define STATUS_MAX 256

struct Service {
        Daemon *daemon;
        bool notify;              /* NOTIFY_SOCKET is set */
        uint64_t watchdog_usec;   /* 0: no watchdog */
        sd_event_source *watchdog_timer;
        int64_t last_tick_mono_ns;
        bool unhealthy;           /* pings withheld; logged once per episode */
        char unhealthy_why[160];
        char last_status[STATUS_MAX];
};

static uint64_t monotonic_usec(void)
{
        struct timespec ts;

        /* CLOCK_MONOTONIC, not the daemon's CLOCK_BOOTTIME: systemd compares
         * MONOTONIC_USEC with its own monotonic reload timestamp. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static bool device_flagged_or_fresh(const Device *dev, uint64_t tick_usec, int64_t now_mono_ns,
                                    char *why, size_t why_size)
{
        uint64_t limit_usec;

        switch (dev->state) {
        case DEVICE_STALE:
                /* Known and reported: status, journal, NO_DATA during a session. */
                return true;
        case DEVICE_DISCONNECTED:
                /* Reported (DEVICE_DISCONNECTED alarm); it must still be retrying. */
                if (dev->reconnect_timer)
                        return true;
                snprintf(why, why_size, "device %s is disconnected and no reconnect is scheduled",
                         dev->cfg->name);
                return false;
        case DEVICE_CONNECTING:
        case DEVICE_LIVE:
        default:
                break;
        }
        limit_usec = dev->min_period_usec * dev->daemon->config->stale_factor;
        if (!limit_usec)
                return true;
        /* The tick marks a device stale; allow it two ticks to notice. */
        if (now_mono_ns - dev->last_reading_mono_ns <= (int64_t)(limit_usec + 2 * tick_usec) * 1000)
                return true;
        snprintf(why, why_size, "device %s has sent nothing for %.0f s but is not marked stale",
                 dev->cfg->name, (double)(now_mono_ns - dev->last_reading_mono_ns) / 1e9);
        return false;
}

bool service_check_health(const Daemon *d, int64_t last_tick_mono_ns, int64_t now_mono_ns,
                          char *why, size_t why_size)
{
        uint64_t tick_usec = d->config->tick_usec;

        why[0] = '\0';
        if (d->store_failing) {
                snprintf(why, why_size, "the session log does not accept writes");
                return false;
        }
        /* The tick commits readings and marks devices stale; a tick that
         * stopped (a lost timer) would leave both undone. */
        if (last_tick_mono_ns &&
            now_mono_ns - last_tick_mono_ns > (int64_t)(2 * tick_usec + 1000000) * 1000) {
                snprintf(why, why_size, "the commit tick has not run for %.1f s",
                         (double)(now_mono_ns - last_tick_mono_ns) / 1e9);
                return false;
        }
        for (size_t i = 0; i < d->n_devices; i++)
                if (!device_flagged_or_fresh(d->devices[i], tick_usec, now_mono_ns, why, why_size))
                        return false;
        return true;
}

static int on_watchdog(sd_event_source *es, uint64_t usec, void *userdata)
{
        Service *s = userdata;
        int64_t now = now_mono_ns();
        char why[sizeof(s->unhealthy_why)];

        if (service_check_health(s->daemon, s->last_tick_mono_ns, now, why, sizeof(why))) {
                if (s->unhealthy)
                        log_full(LOG_NOTICE, MSGID_WATCHDOG, NULL, NULL, 0,
                                 "healthy again; watchdog pings resumed");
                s->unhealthy = false;
                sd_notify(0, "WATCHDOG=1");
        } else {
                if (!s->unhealthy || strcmp(why, s->unhealthy_why) != 0)
                        log_full(LOG_CRIT, MSGID_WATCHDOG, NULL, NULL, 0,
                                 "unhealthy: %s; watchdog pings withheld, the service manager "
                                 "restarts vitalsd if this lasts",
                                 why);
                s->unhealthy = true;
                snprintf(s->unhealthy_why, sizeof(s->unhealthy_why), "%s", why);
        }
        service_update_status(s);
        sd_event_source_set_time_relative(es, s->watchdog_usec / 2);
        return 0;
}

int service_new(Daemon *d, Service **ret)
{
        Service *s = calloc(1, sizeof(*s));
        uint64_t usec = 0;
        int r;

        if (!s)
                return -ENOMEM;
        s->daemon = d;
        s->notify = getenv("NOTIFY_SOCKET") != NULL;
        s->last_tick_mono_ns = now_mono_ns();
        r = sd_watchdog_enabled(0, &usec);
        if (r < 0)
                log_warning_errno(r, "WATCHDOG_USEC is not valid, running without watchdog: %m");
        if (r > 0 && usec > 0) {
                s->watchdog_usec = usec;
                r = sd_event_add_time_relative(d->event, &s->watchdog_timer, CLOCK_BOOTTIME,
                                               usec / 2, usec / 20, on_watchdog, s);
                if (r < 0) {
                        free(s);
                        return log_error_errno(r, "cannot arm the watchdog timer: %m");
                }
                (void)sd_event_source_set_enabled(s->watchdog_timer, SD_EVENT_ON);
                log_info("watchdog enabled: pinging every %.1f s while healthy",
                         (double)usec / 2e6);
        }
        *ret = s;
        return 0;
}

Service *service_free(Service *s)
{
        if (s) {
                sd_event_source_disable_unref(s->watchdog_timer);
                free(s);
        }
        return NULL;
}

static void format_status(const Service *s, char *buf, size_t size)
{
        const Daemon *d = s->daemon;
        size_t beds = 0, live = 0, sessions = 0, alarms = 0, high = 0;
        AlarmInfo info[32];
        StoreStats st;
        int n;

        for (size_t i = 0; i < d->n_beds; i++) {
                beds += d->beds[i]->in_config || d->beds[i]->session_id;
                sessions += d->beds[i]->session_id != 0;
        }
        for (size_t i = 0; i < d->n_devices; i++)
                live += d->devices[i]->state == DEVICE_LIVE;
        if (d->alarms) {
                alarms = alarm_engine_list(d->alarms, NULL, info, sizeof(info) / sizeof(info[0]));
                /* Ordered by priority: the high ones come first. */
                for (size_t i = 0; i < alarms && i < sizeof(info) / sizeof(info[0]); i++)
                        high += info[i].priority == ALARM_PRIO_HIGH;
        }
        n = snprintf(buf, size, "%zu bed%s, %zu/%zu devices live, %zu open session%s, %zu alarm%s",
                     beds, beds == 1 ? "" : "s", live, d->n_devices, sessions,
                     sessions == 1 ? "" : "s", alarms, alarms == 1 ? "" : "s");
        if (high && n > 0 && (size_t)n < size)
                n += snprintf(buf + n, size - (size_t)n, " (%zu high)", high);
        if (d->store && d->store_failing && n > 0 && (size_t)n < size) {
                store_get_stats(d->store, &st);
                n += snprintf(buf + n, size - (size_t)n,
                              "; SESSION LOG NOT WRITABLE, %zu readings queued", st.queued);
        }
        if (s->unhealthy && n > 0 && (size_t)n < size)
                snprintf(buf + n, size - (size_t)n, "; UNHEALTHY: %s", s->unhealthy_why);
}

void service_update_status(Service *s)
{
        char buf[STATUS_MAX];

        if (!s || !s->notify)
                return;
        format_status(s, buf, sizeof(buf));
        if (strcmp(buf, s->last_status) == 0)
                return;
        snprintf(s->last_status, sizeof(s->last_status), "%s", buf);
        sd_notifyf(0, "STATUS=%s", buf);
}

void service_ready(Service *s)
{
        char buf[STATUS_MAX];

        if (!s || !s->notify)
                return;
        format_status(s, buf, sizeof(buf));
        snprintf(s->last_status, sizeof(s->last_status), "%s", buf);
        sd_notifyf(0, "READY=1\nSTATUS=%s", buf);
}

void service_reloading(Service *s)
{
        if (!s || !s->notify)
                return;
        s->last_status[0] = '\0';
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration",
                   (unsigned long long)monotonic_usec());
}

void service_stopping(Service *s)
{
        if (!s || !s->notify)
                return;
        sd_notify(0, "STOPPING=1\nSTATUS=Committing queued readings and stopping");
}

void service_tick_ran(Service *s, int64_t now)
{
        if (s)
                s->last_tick_mono_ns = now;
}

static bool streq_null(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

void service_warn_restart_only(const Config *old, const Config *n)
{
        if (!streq_null(old->state_dir, n->state_dir) ||
            !streq_null(old->socket_path, n->socket_path) ||
            old->store_queue_max != n->store_queue_max)
                log_full(LOG_WARNING, MSGID_CONFIG, NULL, NULL, 0,
                         "%s: state_dir, socket and store_queue_max take effect at the next "
                         "restart",
                         n->path);
}

static void map_error(void *userdata, const char *file, unsigned line, const char *key,
                      const char *msg)
{
        if (key)
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s: %s", file, line, key, msg);
        else
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s", file, line, msg);
}

int service_load_config(const char *path, Config **ret_config, AlarmProfile *ret_profile,
                        bool *ret_have_profile)
{
        Config *c = NULL;
        char *dir = NULL;
        struct stat st;
        int r;

        r = config_load(path, &c);
        if (r < 0)
                return r;
        /* Every profile, not only the default: a nurse may pick any of them
         * for a session, and a reload must not swap in a broken one. */
        if (asprintf(&dir, "%s/profiles", c->dir) < 0) {
                config_free(c);
                return -ENOMEM;
        }
        r = stat(dir, &st) < 0 ? 0 : profile_check_dir(dir);
        free(dir);
        if (r < 0) {
                config_free(c);
                return r;
        }
        /* Likewise every register map, used or not. */
        if (asprintf(&dir, "%s/modbus", c->dir) < 0) {
                config_free(c);
                return -ENOMEM;
        }
        r = regmap_check_dir(dir, map_error, NULL);
        free(dir);
        if (r != 0 && r != -ENOENT) {
                config_free(c);
                return r < 0 ? r : -EINVAL;
        }
        r = daemon_load_profile(c, ret_profile, ret_have_profile);
        if (r < 0) {
                config_free(c);
                return r;
        }
        *ret_config = c;
        return 0;
}
