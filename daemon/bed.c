/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bed.c — a bed (a recliner) and its session.
 *
 * Owns: session lifecycle per bed, the latest value of each parameter for
 * status and the console, and the hand-off of readings to the store.
 * A bed with no open session that receives data opens one automatically
 * (opened_by "auto"); an automatically opened session closes itself after
 * session_idle_timeout without data.  A session a nurse started is only
 * closed by a nurse (the no-data alarm tells her the monitor went quiet).
 * Nothing here blocks: store calls only queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "timefmt.h"

Bed *bed_get(Daemon *d, const char *name)
{
        Bed **n, *b;

        for (size_t i = 0; i < d->n_beds; i++)
                if (strcmp(d->beds[i]->name, name) == 0)
                        return d->beds[i];
        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->name = strdup(name);
        n = realloc(d->beds, (d->n_beds + 1) * sizeof(*n));
        if (!b->name || !n) {
                free(b->name);
                free(b);
                return NULL;
        }
        d->beds = n;
        d->beds[d->n_beds++] = b;
        b->daemon = d;
        b->alarm = alarm_bed_get(d->alarms, name);
        return b;
}

void bed_free(Bed *b)
{
        if (!b)
                return;
        free(b->name);
        free(b);
}

const char *bed_phase(const Bed *b)
{
        return b->session_id ? "baseline" : NULL;
}

static void session_opened(Bed *b, int64_t id, const char *patient_ref, const char *profile,
                           bool automatic, int64_t started_wall_ns)
{
        b->session_id = id;
        b->session_auto = automatic;
        b->session_started_wall_ns = started_wall_ns;
        snprintf(b->patient_ref, sizeof(b->patient_ref), "%s",
                 patient_ref && *patient_ref ? patient_ref : "");
        if (!b->patient_ref[0])
                snprintf(b->patient_ref, sizeof(b->patient_ref), "SESSION-%lld", (long long)id);
        snprintf(b->profile, sizeof(b->profile), "%s", profile ? profile : "");
        if (b->alarm) {
                Daemon *d = b->daemon;
                alarm_bed_set_profile(b->alarm, d->have_profile ? &d->profile : NULL);
                alarm_bed_set_session(b->alarm, true, "baseline", now_mono_ns(), now_wall_ns());
                daemon_alarm_timer_bed(d, b->alarm);
        }
        /* The journal gets the session id and bed, never the patient reference. */
        log_full(LOG_INFO, MSGID_SESSION, NULL, b->name, 0, "session %lld opened (%s)",
                 (long long)id, automatic ? "automatically, on first data" : "by a user");
}

int bed_session_start(Bed *b, const char *patient_ref, const char *profile, const char *actor)
{
        Daemon *d = b->daemon;
        int64_t now = now_wall_ns(), id;

        if (b->session_id)
                return -EBUSY;
        if (!profile)
                profile = d->config->profile;
        id = store_session_open(d->store, b->name, patient_ref, profile, now, actor);
        if (id < 0)
                return (int)id;
        session_opened(b, id, patient_ref, profile, actor == NULL, now);
        b->last_data_mono_ns = now_mono_ns();
        return 0;
}

int bed_session_stop(Bed *b, const char *actor, const char *reason)
{
        if (!b->session_id)
                return -ENOENT;
        store_session_close(b->daemon->store, b->session_id, now_wall_ns(), actor, reason);
        log_full(LOG_INFO, MSGID_SESSION, NULL, b->name, 0, "session %lld closed (%s)",
                 (long long)b->session_id, reason ? reason : "stopped");
        if (b->alarm) {
                alarm_bed_set_session(b->alarm, false, NULL, now_mono_ns(), now_wall_ns());
                daemon_alarm_timer_bed(b->daemon, b->alarm);
        }
        b->session_id = 0;
        b->session_auto = false;
        b->patient_ref[0] = '\0';
        b->profile[0] = '\0';
        return 0;
}

static void remember_latest(Bed *b, const Reading *r)
{
        size_t i;

        for (i = 0; i < b->n_latest; i++)
                if (strcmp(b->latest[i].parameter, r->parameter) == 0)
                        break;
        if (i == b->n_latest) {
                if (b->n_latest == BED_LATEST_MAX)
                        return; /* a device reporting ever-new names cannot grow this */
                b->n_latest++;
        }
        b->latest[i] = *r;
}

void bed_on_reading(Bed *b, const char *device, const Reading *r)
{
        Daemon *d = b->daemon;

        if (!b->session_id)
                (void)bed_session_start(b, NULL, NULL, NULL);
        b->last_data_mono_ns = r->mono_ns;
        remember_latest(b, r);
        if (b->session_id)
                store_reading_add(d->store, b->session_id, device, r);
        if (b->alarm) {
                alarm_bed_reading(b->alarm, r, r->mono_ns, r->wall_ns);
                daemon_alarm_timer_bed(d, b->alarm);
        }
}

void bed_tick(Bed *b, int64_t now_mono_ns)
{
        const Config *c = b->daemon->config;

        if (b->session_id && b->session_auto &&
            now_mono_ns - b->last_data_mono_ns > (int64_t)c->session_idle_usec * 1000)
                (void)bed_session_stop(b, "auto", "no data for session_idle_timeout");
}

/* Used by the daemon at start-up: sessions left open by a previous run
 * (a crash, a restart) continue rather than splitting the record. */
void bed_session_resume(Bed *b, int64_t id, const char *patient_ref, const char *profile,
                        int64_t started_ns)
{
        session_opened(b, id, patient_ref, profile, true, started_ns);
        b->last_data_mono_ns = now_mono_ns();
}
