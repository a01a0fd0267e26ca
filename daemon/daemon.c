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
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "catalogue.h"
#include "config.h" /* build configuration */
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "profile.h"
#include "service.h"
#include "timefmt.h"


static void store_alarm(Daemon *d, bool present, int err)
{
        char detail[128];

        if (err == -ETIMEDOUT)
                snprintf(detail, sizeof(detail), "session log not writable: %s", STORE_STALL_TEXT);
        else
                snprintf(detail, sizeof(detail), "session log not writable: %s",
                         strerror(err < 0 ? -err : err));
        for (size_t i = 0; i < d->n_beds; i++)
                if (d->beds[i]->alarm)
                        alarm_bed_technical(d->beds[i]->alarm, "STORE_FAILURE", ALARM_PRIO_HIGH,
                                            present, present ? detail : NULL, now_mono_ns(),
                                            now_wall_ns());
        daemon_alarm_timer_update(d);
}

/* What a finished commit means for the nurse: the first failure raises
 * STORE_FAILURE on every bed, the first success after it clears it. */
static void commit_result(Daemon *d, int r)
{
        if (r < 0 && !d->store_failing) {
                d->store_failing = true;
                if (r == -ETIMEDOUT)
                        log_full(LOG_CRIT, MSGID_STORE_FAILURE, NULL, NULL, 0,
                                 "cannot write the session log %s: %s; readings are kept in "
                                 "memory",
                                 d->db_path, STORE_STALL_TEXT);
                else
                        log_full(LOG_CRIT, MSGID_STORE_FAILURE, NULL, NULL, r,
                                 "cannot write the session log %s: %m; readings are kept in "
                                 "memory and retried every tick",
                                 d->db_path);
                store_alarm(d, true, r);
                /* The alarm events themselves stay queued with the readings. */
        } else if (r == 0 && d->store_failing) {
                StoreStats st;
                store_get_stats(d->store, &st);
                d->store_failing = false;
                log_full(LOG_NOTICE, MSGID_STORE_RECOVERED, NULL, NULL, 0,
                         "session log writable again; queued readings committed (%llu dropped "
                         "while failing)",
                         (unsigned long long)st.dropped);
                store_alarm(d, false, 0);
        }
}

/* Hands the queue to the store's writer thread; the result comes back
 * through on_commit_done().  If a batch is still being written, the next
 * one starts as soon as it is done. */
static void flush_store(Daemon *d, StoreCommitScope scope)
{
        if (store_commit_start(d->store, scope)) {
                d->commit_again = false;
                d->commit_again_all = false;
        } else if (store_commit_running(d->store)) {
                d->commit_again = true;
                d->commit_again_all = d->commit_again_all || scope == STORE_COMMIT_ALL;
        }
}

/* A write that never returns (a hung disk, a stalled NFS mount) leaves the
 * loop running: the tick raises STORE_FAILURE once a batch has taken longer
 * than STORE_STALL_NS (STORE_STALL_TEXT in daemon.h). */

static void check_store_stall(Daemon *d)
{
        if (!d->store_failing && store_commit_age_ns(d->store) > STORE_STALL_NS)
                commit_result(d, -ETIMEDOUT);
}

static int on_commit_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Daemon *d = userdata;
        uint64_t n;
        int r;

        (void)!read(fd, &n, sizeof(n)); /* clears the eventfd */
        if (store_commit_reap(d->store, 0, &r) > 0)
                commit_result(d, r);
        /* What asked for a commit while the batch was written goes now;
         * while failing, only the tick retries. */
        if (!d->store_failing && (d->commit_again || store_flush_wanted(d->store)))
                flush_store(d, d->commit_again_all ? STORE_COMMIT_ALL : STORE_COMMIT_URGENT);
        return 0;
}

/* Before a control reply, so that what the reply confirms (a session
 * started, a mark) is on disk.  Bounded: a disk that hangs must not hang
 * the console with it (the tick raises STORE_FAILURE for a stall), and
 * while the store is failing only the tick retries. */
#define COMMIT_NOW_TIMEOUT_NS (2 * INT64_C(1000000000))

void daemon_commit_now(Daemon *d)
{
        int r;

        if (d->store_failing || !store_flush_wanted(d->store))
                return;
        r = store_flush_timeout(d->store, COMMIT_NOW_TIMEOUT_NS);
        if (r == -ETIMEDOUT) {
                d->commit_again = true;
                d->commit_again_all = true;
                return;
        }
        commit_result(d, r);
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
        /* The session first (its event names it), then the reading's
         * event, then the alarm engine: an alarm the reading raises reaches
         * subscribers after the reading (events.c). */
        bed_session_auto_open(dev->bed);
        daemon_readings_push(d, dev, &r);
        bed_on_reading(dev->bed, dev->cfg->name, &r);
}

void daemon_device_state_changed(Daemon *d, Device *dev)
{
        json_object *ev;
        char cond[96], detail[160];

        /* A monitor that is gone is itself an alarm: high while a patient is
         * being recorded, medium otherwise. */
        if (dev->bed && dev->bed->alarm && d->alarms) {
                /* One condition per bed, present while any of its monitors is
                 * gone: one coming back must not clear another's loss. */
                const Device *g = dev->state == DEVICE_DISCONNECTED ? dev : NULL;
                for (size_t i = 0; !g && i < d->n_devices; i++)
                        if (d->devices[i]->bed == dev->bed &&
                            d->devices[i]->state == DEVICE_DISCONNECTED)
                                g = d->devices[i];
                bool gone = g != NULL;
                snprintf(cond, sizeof(cond), "DEVICE_DISCONNECTED");
                if (g)
                        snprintf(detail, sizeof(detail), "%s on %s: %s", g->cfg->name,
                                 g->cfg->port,
                                 g->last_error ? strerror(-g->last_error) : "disconnected");
                alarm_bed_technical(dev->bed->alarm, cond,
                                    dev->bed->session_id ? ALARM_PRIO_HIGH : ALARM_PRIO_MEDIUM,
                                    gone, gone ? detail : NULL, now_mono_ns(), now_wall_ns());
                daemon_alarm_timer_bed(d, dev->bed->alarm);
        }

        if (!d->control || !control_subscribers(d->control))
                return;
        ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string("device"));
        json_object_object_add(ev, "bed", json_object_new_string(dev->cfg->bed));
        json_object_object_add(ev, "device", control_device_json(dev));
        daemon_broadcast(d, ev);
        json_object_put(ev);
}

static const char *alarm_msgid(AlarmEventKind k)
{
        switch (k) {
        case ALARM_EV_ACTIVE:
        case ALARM_EV_LATCHED:
        case ALARM_EV_REMINDER:
                return MSGID_ALARM_ACTIVE;
        case ALARM_EV_ACKNOWLEDGED:
                return MSGID_ALARM_ACK;
        case ALARM_EV_ESCALATED:
                return MSGID_ALARM_ESCALATED;
        case ALARM_EV_SILENCED:
        case ALARM_EV_SILENCE_ENDED:
        case ALARM_EV_SILENCE_BROKEN:
                return MSGID_ALARM_SILENCED;
        default:
                return MSGID_ALARM_INACTIVE;
        }
}

/* Every transition: an append-only row committed at once, a journal entry
 * (bed and condition, never the patient reference), a pushed event. */
static void on_alarm_event(void *userdata, const AlarmEvent *ev)
{
        Daemon *d = userdata;
        Bed *bed = bed_find(d, ev->bed);
        int64_t session_id = bed ? bed->session_id : 0;
        StoreAlarmEvent row;

        row = (StoreAlarmEvent){
                .alarm_id = ev->alarm_id,
                .session_id = session_id,
                .bed = ev->bed,
                .wall_ns = ev->wall_ns,
                .mono_ns = ev->mono_ns,
                .condition = ev->condition,
                .technical = ev->technical,
                .priority = alarm_priority_to_string(ev->priority),
                .state = ev->state,
                .phase = ev->phase,
                .value = ev->value,
                .limit_value = ev->limit,
                .actor = ev->actor,
                .detail = ev->detail,
        };
        store_alarm_event_add(d->store, &row);
        log_full(ev->kind == ALARM_EV_ACTIVE && ev->priority == ALARM_PRIO_HIGH ? LOG_CRIT
                 : ev->kind == ALARM_EV_ACTIVE || ev->kind == ALARM_EV_ESCALATED ? LOG_WARNING
                                                                                   : LOG_NOTICE,
                 alarm_msgid(ev->kind), NULL, ev->bed, 0, "alarm %lld %s %s%s %s by %s%s%s",
                 (long long)ev->alarm_id, alarm_priority_to_string(ev->priority), ev->condition,
                 ev->technical ? " (technical)" : "", ev->state, ev->actor,
                 ev->detail ? ": " : "", ev->detail ? ev->detail : "");
        if (d->control && control_subscribers(d->control)) {
                char buf[TIMEFMT_ISO_MAX];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "type", json_object_new_string("alarm"));
                json_object_object_add(o, "time", json_object_new_string(timefmt_iso_ms(ev->wall_ns, buf)));
                json_object_object_add(o, "bed", json_object_new_string(ev->bed));
                json_object_object_add(o, "session", session_id ? json_object_new_int64(session_id) : NULL);
                json_object_object_add(o, "alarm_id", json_object_new_int64(ev->alarm_id));
                json_object_object_add(o, "condition", json_object_new_string(ev->condition));
                json_object_object_add(o, "technical", json_object_new_boolean(ev->technical));
                json_object_object_add(o, "priority", json_object_new_string(alarm_priority_to_string(ev->priority)));
                json_object_object_add(o, "state", json_object_new_string(ev->state));
                json_object_object_add(o, "value", isfinite(ev->value) ? json_object_new_double(ev->value) : NULL);
                json_object_object_add(o, "limit", isfinite(ev->limit) ? json_object_new_double(ev->limit) : NULL);
                json_object_object_add(o, "actor", json_object_new_string(ev->actor));
                json_object_object_add(o, "announce", json_object_new_boolean(ev->announce));
                json_object_object_add(o, "detail", ev->detail ? json_object_new_string(ev->detail) : NULL);
                daemon_broadcast(d, o);
                json_object_put(o);
        }
}

static int on_alarm_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Daemon *d = userdata;

        alarm_engine_tick(d->alarms, now_mono_ns(), now_wall_ns());
        daemon_alarm_timer_update(d);
        return 0;
}

static void alarm_timer_arm(Daemon *d, int64_t next)
{
        d->alarm_armed_ns = next;
        if (next == INT64_MAX) {
                if (d->alarm_timer)
                        sd_event_source_set_enabled(d->alarm_timer, SD_EVENT_OFF);
                return;
        }
        if (next < 0)
                next = 0;
        if (!d->alarm_timer) {
                if (sd_event_add_time(d->event, &d->alarm_timer, CLOCK_BOOTTIME,
                                      (uint64_t)next / 1000, 0, on_alarm_timer, d) < 0) {
                        d->alarm_armed_ns = INT64_MAX; /* not armed: the next call retries */
                        return;
                }
        } else {
                sd_event_source_set_time(d->alarm_timer, (uint64_t)next / 1000);
        }
        sd_event_source_set_enabled(d->alarm_timer, SD_EVENT_ONESHOT);
}

void daemon_alarm_timer_update(Daemon *d)
{
        if (!d->alarms || !d->event)
                return;
        alarm_timer_arm(d, alarm_engine_next_deadline(d->alarms));
}

/* After a change confined to one bed (a reading, its device, its session)
 * only that bed's deadline can have moved earlier: compare it with the armed
 * time rather than scanning every bed, which made each reading cost
 * O(beds).  A deadline that moved later leaves the timer early; it then
 * ticks, changes nothing, and re-arms from the full scan. */
void daemon_alarm_timer_bed(Daemon *d, const AlarmBed *b)
{
        int64_t next;

        if (!d->alarms || !d->event || !b)
                return;
        next = alarm_bed_next_deadline(b);
        if (next < d->alarm_armed_ns)
                alarm_timer_arm(d, next);
}

int daemon_load_profile(const Config *c, AlarmProfile *ret, bool *ret_have)
{
        char *dir = NULL;
        int r;

        *ret_have = false;
        if (!c->profile)
                return 0;
        if (asprintf(&dir, "%s/profiles", c->dir) < 0)
                return -ENOMEM;
        r = profile_load(dir, c->profile, ret);
        if (r < 0)
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r,
                         "%s: alarm profile \"%s\" cannot be loaded from %s", c->path, c->profile,
                         dir);
        else
                *ret_have = true;
        free(dir);
        return r;
}

/* A wall clock stepped by more than 2 s (an administrator, a first NTP
 * sync, a dying RTC battery): CLOCK_JUMP on every bed.  Judgement never
 * depends on the wall clock; timestamps keep following it, and every
 * reading and event also carries CLOCK_BOOTTIME. */
static void check_clock(Daemon *d)
{
        int64_t mono = now_mono_ns(), wall = now_wall_ns();
        int64_t step = alarm_engine_clock(d->alarms, mono, wall);

        if (step == 0)
                return;
        log_full(LOG_WARNING, MSGID_CLOCK_JUMP, NULL, NULL, 0,
                 "wall clock stepped %s by %.3f s against CLOCK_BOOTTIME; timestamps follow the "
                 "wall clock",
                 step > 0 ? "forward" : "back", fabs((double)step / 1e9));
        daemon_alarm_timer_update(d);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        Daemon *d = userdata;
        int64_t now = now_mono_ns();

        check_clock(d);

        for (size_t i = 0; i < d->n_devices; i++)
                device_tick(d->devices[i], now);
        for (size_t i = 0; i < d->n_beds; i++)
                bed_tick(d->beds[i], now);
        check_store_stall(d);
        flush_store(d, STORE_COMMIT_ALL);
        /* The watchdog (service.c) pings only while ticks keep coming. */
        service_tick_ran(d->service, now);
        service_update_status(d->service);
        sd_event_source_set_time_relative(s, d->config->tick_usec);
        return 0;
}

/* Commits at once what asked for it (session changes, markers, alarm
 * events) without waiting for the tick: a deferred source, enabled by the
 * store when such a thing is queued (a post source would cost a turn of the
 * loop after every single dispatch). */
#define BACKPRESSURE_NS (500 * INT64_C(1000000))

static void want_commit_soon(void *userdata)
{
        Daemon *d = userdata;

        if (d->commit_soon)
                sd_event_source_set_enabled(d->commit_soon, SD_EVENT_ONESHOT);
}

static int on_commit_soon(sd_event_source *s, void *userdata)
{
        Daemon *d = userdata;
        StoreStats st;
        int r;

        /* While the store is failing only the tick retries: a commit attempt
         * replays the whole queue, and doing it after every event would make
         * an outage cost O(queue) per reading. */
        if (d->store_failing)
                return 0;
        store_get_stats(d->store, &st);
        if (st.queued - st.writing < st.queue_max / 4 && !store_flush_wanted(d->store))
                return 0;
        /* A queue a quarter full commits now, not at the tick: under a flood
         * of readings the tick would find it overflowing and drop the oldest
         * while the disk is fine (seen in the benchmark, flat out).  If the
         * writer is still busy with the previous batch, the loop waits for
         * it: that is the back-pressure that slows the reading of the ports
         * instead of dropping readings.  Not for long: a batch older than
         * BACKPRESSURE_NS is a disk in trouble, and the loop must go on
         * (the queue bound and the stall alarm take it from there). */
        if (st.queued - st.writing >= st.queue_max / 4 && store_commit_running(d->store) &&
            store_commit_age_ns(d->store) < BACKPRESSURE_NS &&
            store_commit_reap(d->store, BACKPRESSURE_NS - store_commit_age_ns(d->store), &r) > 0) {
                commit_result(d, r);
                if (d->store_failing)
                        return 0;
        }
        flush_store(d, STORE_COMMIT_URGENT);
        return 0;
}

static int start_devices(Daemon *d)
{
        int r;

        for (size_t i = 0; i < d->n_beds; i++) {
                d->beds[i]->in_config = false;
                if (d->beds[i]->alarm)
                        alarm_bed_clear_periods(d->beds[i]->alarm); /* the devices declare them */
        }
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

/* SIGHUP: the new configuration (config, devices.d/, every profile) must
 * load without a single error before it replaces the running one; a bad one
 * is rejected (each error logged with file:line) and the old one kept. */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;
        Config *n = NULL;
        AlarmProfile np;
        bool nhave = false;
        int r;

        service_reloading(d->service);
        log_full(LOG_INFO, MSGID_CONFIG, NULL, NULL, 0, "reloading %s", d->config_path);
        r = service_load_config(d->config_path, &n, &np, &nhave);
        if (r < 0) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r,
                         "%s: new configuration rejected; keeping the running one (%zu devices)",
                         d->config_path, d->n_devices);
        } else {
                service_warn_restart_only(d->config, n);
                stop_devices(d);
                config_free(d->config);
                d->config = n;
                d->profile = np;
                d->have_profile = nhave;
                start_devices(d);
                /* Open sessions run under the reloaded profiles from now on;
                 * the alarm engine keeps each surviving condition's state. */
                for (size_t i = 0; i < d->n_beds; i++)
                        bed_reapply_profile(d->beds[i]);
                daemon_alarm_timer_update(d);
                sd_event_source_set_time_relative(d->tick_timer, d->config->tick_usec);
                log_full(LOG_INFO, MSGID_CONFIG, NULL, NULL, 0, "configuration reloaded: %zu devices",
                         d->n_devices);
        }
        service_ready(d->service);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Daemon *d = userdata;

        log_info("received %s, committing and exiting", strsignal((int)si->ssi_signo));
        service_stopping(d->service);
        sd_event_exit(d->event, 0);
        return 0;
}

static void resume_session(void *ud, int64_t id, const char *bed, const char *patient_ref,
                           const char *profile, int64_t started_ns, bool automatic)
{
        Daemon *d = ud;
        Bed *b = bed_get(d, bed);

        if (b && !b->session_id)
                bed_session_resume(b, id, patient_ref, profile, started_ns, automatic);
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
        d->alarm_armed_ns = INT64_MAX;
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
        r = service_new(d, &d->service);
        if (r < 0)
                goto fail;
        r = daemon_load_profile(d->config, &d->profile, &d->have_profile);
        if (r < 0)
                goto fail;
        d->alarms = alarm_engine_new(on_alarm_event, d, store_next_alarm_id(d->store));
        if (!d->alarms) {
                r = -ENOMEM;
                goto fail;
        }

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* A file-size limit reached is a write error the store reports (a
         * technical alarm), not a reason to die. */
        signal(SIGXFSZ, SIG_IGN);
        sd_event_add_signal(d->event, NULL, SIGTERM, on_exit_signal, d);
        sd_event_add_signal(d->event, NULL, SIGINT, on_exit_signal, d);
        sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d);
        r = sd_event_add_defer(d->event, &d->commit_soon, on_commit_soon, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->commit_soon, SD_EVENT_OFF);
        store_set_wanted_callback(d->store, want_commit_soon, d);
        r = sd_event_add_io(d->event, &d->commit_io, store_commit_fd(d->store), EPOLLIN, on_commit_done, d);
        if (r < 0)
                goto fail;
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
        StoreStats st;
        int r;

        log_full(LOG_INFO, MSGID_STARTED, NULL, NULL, 0,
                 "vitalsd %s started: %zu devices, session log %s, control socket %s",
                 VITALS_VERSION, d->n_devices, d->db_path, d->socket_path);
        /* The store is open and the devices configured: ready. */
        service_ready(d->service);
        r = sd_event_loop(d->event);
        /* What is queued goes to disk before the exit, if the disk answers. */
        if (store_flush_timeout(d->store, 5 * INT64_C(1000000000)) == -ETIMEDOUT)
                log_full(LOG_CRIT, MSGID_STORE_FAILURE, NULL, NULL, 0,
                         "stopping although the session log %s does not answer: %s",
                         d->db_path, STORE_STALL_TEXT);
        store_get_stats(d->store, &st);
        if (st.queued)
                log_full(LOG_CRIT, MSGID_STORE_FAILURE, NULL, NULL, st.last_error,
                         "stopping with %zu queued records the session log did not accept: %m",
                         st.queued);
        return r;
}

void daemon_free(Daemon *d)
{
        if (!d)
                return;
        daemon_readings_flush(d); /* subscribers get the last readings */
        daemon_readings_free(d);
        control_free(d->control);
        stop_devices(d);
        d->commit_io = sd_event_source_disable_unref(d->commit_io);
        d->commit_soon = sd_event_source_disable_unref(d->commit_soon);
        if (d->store)
                store_set_wanted_callback(d->store, NULL, NULL);
        if (d->store)
                store_close(d->store); /* commits what is still queued */
        for (size_t i = 0; i < d->n_beds; i++)
                bed_free(d->beds[i]);
        free(d->beds);
        name_index_done(&d->bed_index);
        sd_event_source_disable_unref(d->tick_timer);
        sd_event_source_disable_unref(d->alarm_timer);
        alarm_engine_free(d->alarms);
        d->service = service_free(d->service);
        sd_event_unref(d->event);
        config_free(d->config);
        free(d->config_path);
        free(d->state_dir);
        free(d->db_path);
        free(d->socket_path);
        free(d);
}
