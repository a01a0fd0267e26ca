/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * daemon.c — wiring and the loop.
 *
 * Owns the sd-event loop, start-up order (config → store → beds and
 * devices → control socket → READY=1), the tick (commit readings, device
 * staleness, idle sessions, STATUS=, watchdog), SIGHUP reload (a new config
 * must load without a single error before it replaces the old one) and
 * SIGTERM shutdown (commit what is queued, close the store, exit).
 *
 * A store that cannot write never stops the daemon: the queue keeps the
 * readings, the failure is logged once per episode and the next tick
 * retries.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "catalogue.h"
#include "config.h" /* build configuration */
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "timefmt.h"

void bed_session_resume(Bed *b, int64_t id, const char *patient_ref, const char *profile,
                        int64_t started_ns);

static void flush_store(Daemon *d)
{
        int r = store_flush(d->store);

        if (r < 0 && !d->store_failing) {
                d->store_failing = true;
                log_full(LOG_CRIT, MSGID_STORE_FAILURE, NULL, NULL, r,
                         "cannot write the session log %s: %m; readings are kept in memory and "
                         "retried every tick",
                         d->db_path);
        } else if (r == 0 && d->store_failing) {
                StoreStats st;
                store_get_stats(d->store, &st);
                d->store_failing = false;
                log_full(LOG_NOTICE, MSGID_STORE_RECOVERED, NULL, NULL, 0,
                         "session log writable again; queued readings committed (%llu dropped "
                         "while failing)",
                         (unsigned long long)st.dropped);
        }
}

void daemon_reading(Daemon *d, Device *dev, const Reading *in)
{
        Reading r = *in;
        const char *unit = NULL;
        double v;

        if (r.status == READING_VALID || r.status == READING_QUESTIONABLE) {
                if (catalogue_normalise(r.parameter, r.unit, r.value, &v, &unit) == 0) {
                        r.value = v;
                        reading_set_name(&r, r.parameter, unit);
                } else {
                        /* A unit we cannot convert: keep the number, mark it. */
                        r.status = READING_QUESTIONABLE;
                }
        } else {
                const CatalogueEntry *e = catalogue_find(r.parameter);
                if (e)
                        reading_set_name(&r, r.parameter, e->ucum);
        }
        bed_on_reading(dev->bed, dev->cfg->name, &r);

        if (control_subscribers(d->control)) {
                json_object *ev = json_object_new_object();
                json_object_object_add(ev, "type", json_object_new_string("reading"));
                json_object_object_add(ev, "bed", json_object_new_string(dev->bed->name));
                json_object_object_add(ev, "device", json_object_new_string(dev->cfg->name));
                json_object_object_add(ev, "session", json_object_new_int64(dev->bed->session_id));
                json_object_object_add(ev, "reading", control_reading_json(&r));
                control_broadcast(d->control, ev);
                json_object_put(ev);
        }
}

void daemon_device_state_changed(Daemon *d, Device *dev)
{
        json_object *ev;

        if (!d->control || !control_subscribers(d->control))
                return;
        ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string("device"));
        json_object_object_add(ev, "bed", json_object_new_string(dev->cfg->bed));
        json_object_object_add(ev, "device", control_device_json(dev));
        control_broadcast(d->control, ev);
        json_object_put(ev);
}

static void notify_status(Daemon *d)
{
        size_t live = 0, open_sessions = 0;
        StoreStats st;

        if (!d->notify)
                return;
        for (size_t i = 0; i < d->n_devices; i++)
                live += d->devices[i]->state == DEVICE_LIVE;
        for (size_t i = 0; i < d->n_beds; i++)
                open_sessions += d->beds[i]->session_id != 0;
        store_get_stats(d->store, &st);
        sd_notifyf(0, "STATUS=%zu beds, %zu/%zu devices live, %zu open sessions%s", d->n_beds,
                   live, d->n_devices, open_sessions,
                   d->store_failing ? ", SESSION LOG NOT WRITABLE" : "");
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        Daemon *d = userdata;
        int64_t now = now_mono_ns();

        for (size_t i = 0; i < d->n_devices; i++)
                device_tick(d->devices[i], now);
        for (size_t i = 0; i < d->n_beds; i++)
                bed_tick(d->beds[i], now);
        flush_store(d);
        notify_status(d);
        /* Healthy means the store accepts writes: a wedged or failing
         * daemon stops pinging and systemd restarts it. */
        if (d->notify && !d->store_failing)
                sd_notify(0, "WATCHDOG=1");
        sd_event_source_set_time_relative(s, d->config->tick_usec);
        return 0;
}

/* Commits at once what asked for it (session changes, markers, alarm
 * events) without waiting for the tick. */
static int on_post(sd_event_source *s, void *userdata)
{
        Daemon *d = userdata;

        if (store_flush_wanted(d->store))
                flush_store(d);
        return 0;
}

static int start_devices(Daemon *d)
{
        int r;

        for (size_t i = 0; i < d->n_beds; i++)
                d->beds[i]->in_config = false;
        d->devices = calloc(d->config->n_devices ? d->config->n_devices : 1, sizeof(Device *));
        if (!d->devices)
                return -ENOMEM;
        for (size_t i = 0; i < d->config->n_devices; i++) {
                Device *dev;
                r = device_new(d, &d->config->devices[i], &dev);
                if (r < 0) {
                        log_full(LOG_ERR, NULL, d->config->devices[i].name, NULL, r,
                                 "driver refused its options; device not started: %m");
                        continue;
                }
                dev->bed->in_config = true;
                d->devices[d->n_devices++] = dev;
        }
        for (size_t i = 0; i < d->n_devices; i++)
                device_start(d->devices[i]);
        return 0;
}

static void stop_devices(Daemon *d)
{
        for (size_t i = 0; i < d->n_devices; i++)
                device_free(d->devices[i]);
        free(d->devices);
        d->devices = NULL;
        d->n_devices = 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;
        Config *n = NULL;
        int r;

        if (d->notify)
                sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                           (unsigned long long)(now_mono_ns() / 1000));
        log_full(LOG_INFO, MSGID_CONFIG, NULL, NULL, 0, "reloading %s", d->config_path);
        r = config_load(d->config_path, &n);
        if (r < 0) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r,
                         "new configuration rejected; keeping the running one");
        } else {
                stop_devices(d);
                config_free(d->config);
                d->config = n;
                start_devices(d);
                sd_event_source_set_time_relative(d->tick_timer, d->config->tick_usec);
                log_full(LOG_INFO, MSGID_CONFIG, NULL, NULL, 0, "configuration reloaded: %zu devices",
                         d->n_devices);
        }
        if (d->notify)
                sd_notify(0, "READY=1");
        notify_status(d);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;

        log_info("received %s, committing and exiting", strsignal((int)si->ssi_signo));
        if (d->notify)
                sd_notify(0, "STOPPING=1");
        sd_event_exit(d->event, 0);
        return 0;
}

static void resume_session(void *ud, int64_t id, const char *bed, const char *patient_ref,
                           const char *profile, int64_t started_ns)
{
        Daemon *d = ud;
        Bed *b = bed_get(d, bed);

        if (b && !b->session_id)
                bed_session_resume(b, id, patient_ref, profile, started_ns);
}

static int ensure_dir(const char *path)
{
        if (mkdir(path, 0750) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int daemon_new(const char *config_path, const char *state_dir, const char *socket_path,
               Daemon **ret)
{
        Daemon *d = calloc(1, sizeof(*d));
        sigset_t ss;
        int r;

        if (!d)
                return -ENOMEM;
        d->started_mono_ns = now_mono_ns();
        d->notify = getenv("NOTIFY_SOCKET") != NULL;
        d->config_path = strdup(config_path);
        r = config_load(config_path, &d->config);
        if (r < 0)
                goto fail;

        if (!state_dir)
                state_dir = d->config->state_dir;
        if (!state_dir)
                state_dir = getenv("STATE_DIRECTORY");
        if (!state_dir)
                state_dir = VITALS_STATEDIR;
        d->state_dir = strdup(state_dir);
        r = ensure_dir(d->state_dir);
        if (r < 0) {
                log_error_errno(r, "cannot create state directory %s: %m", d->state_dir);
                goto fail;
        }
        if (asprintf(&d->db_path, "%s/%s", d->state_dir, STORE_DB_NAME) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        if (!socket_path)
                socket_path = d->config->socket_path;
        if (socket_path) {
                d->socket_path = strdup(socket_path);
        } else {
                const char *rt = getenv("RUNTIME_DIRECTORY");
                if (asprintf(&d->socket_path, "%s/control.sock", rt ? rt : VITALS_RUNDIR) < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = store_open(d->db_path, d->config->store_queue_max, &d->store);
        if (r < 0) {
                log_error_errno(r, "cannot open session log %s: %m", d->db_path);
                goto fail;
        }
        r = sd_event_default(&d->event);
        if (r < 0)
                goto fail;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        sd_event_add_signal(d->event, NULL, SIGTERM, on_exit_signal, d);
        sd_event_add_signal(d->event, NULL, SIGINT, on_exit_signal, d);
        sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d);
        sd_event_add_post(d->event, NULL, on_post, d);
        r = sd_event_add_time_relative(d->event, &d->tick_timer, CLOCK_BOOTTIME,
                                       d->config->tick_usec, 1000, on_tick, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->tick_timer, SD_EVENT_ON);

        (void)store_open_sessions(d->store, resume_session, d);
        r = start_devices(d);
        if (r < 0)
                goto fail;
        r = control_new(d, d->socket_path, &d->control);
        if (r < 0)
                goto fail;
        *ret = d;
        return 0;
fail:
        daemon_free(d);
        return r;
}

int daemon_run(Daemon *d)
{
        int r;

        log_full(LOG_INFO, MSGID_STARTED, NULL, NULL, 0,
                 "vitalsd %s started: %zu devices, session log %s, control socket %s",
                 VITALS_VERSION, d->n_devices, d->db_path, d->socket_path);
        if (d->notify) {
                sd_notify(0, "READY=1");
                notify_status(d);
        }
        r = sd_event_loop(d->event);
        flush_store(d);
        return r;
}

void daemon_free(Daemon *d)
{
        if (!d)
                return;
        control_free(d->control);
        stop_devices(d);
        if (d->store)
                store_close(d->store); /* commits what is still queued */
        for (size_t i = 0; i < d->n_beds; i++)
                bed_free(d->beds[i]);
        free(d->beds);
        sd_event_source_disable_unref(d->tick_timer);
        sd_event_unref(d->event);
        config_free(d->config);
        free(d->config_path);
        free(d->state_dir);
        free(d->db_path);
        free(d->socket_path);
        free(d);
}
