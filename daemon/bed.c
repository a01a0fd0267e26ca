/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bed.c — a bed (a recliner) and its session.
 *
 * Owns: session lifecycle per bed, the latest value of each parameter for
 * status and the console, and the hand-off of readings to the store.
 * A bed with no open session that receives data opens one automatically
 * (opened_by "auto"); an automatically opened session closes itself after
 * session_idle_timeout without data, and gives way to a session a nurse
 * starts.  A session a nurse started is only closed by a nurse (the no-data
 * alarm tells her the monitor went quiet).  Markers record what happened
 * (infusion-start, dose, infusion-end, note) and move the session through
 * its phases: baseline → infusion → recovery.
 * Nothing here blocks: store calls only queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "daemon.h"
#include "log.h"
#include "profile.h"
#include "timefmt.h"

Bed *bed_find(const Daemon *d, const char *name)
{
        return name_index_get(&d->bed_index, name);
}

Bed *bed_get(Daemon *d, const char *name)
{
        Bed **n, *b = bed_find(d, name);

        if (b)
                return b;
        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->name = strdup(name);
        n = realloc(d->beds, (d->n_beds + 1) * sizeof(*n));
        if (n)
                d->beds = n;
        if (!b->name || !n || name_index_put(&d->bed_index, b->name, b) < 0) {
                free(b->name);
                free(b);
                return NULL;
        }
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
        return b->session_id ? b->phase : NULL;
}

/* The profile a session names, read from profiles/ beside the config:
 * *ret NULL for the daemon's default (no name, or the default's name).
 * -ENOENT / -EINVAL when name is given and cannot be loaded (logged by
 * profile_load). */
static int load_profile(Daemon *d, const char *name, AlarmProfile **ret)
{
        AlarmProfile *p;
        char *dir = NULL;
        int r;

        *ret = NULL;
        if (!name || !*name || (d->have_profile && strcmp(name, d->profile.name) == 0))
                return 0;
        if (!profile_name_valid(name))
                return -EINVAL;
        p = malloc(sizeof(*p));
        if (!p || asprintf(&dir, "%s/profiles", d->config->dir) < 0) {
                free(p);
                return -ENOMEM;
        }
        r = profile_load(dir, name, p);
        free(dir);
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

/* The alarm profile a session runs under: its own when it named one that
 * loads, else the daemon's default. */
static int apply_profile(Bed *b, const char *name)
{
        Daemon *d = b->daemon;
        AlarmProfile *p;
        int r;

        if (!b->alarm)
                return 0;
        r = load_profile(d, name, &p);
        if (r < 0)
                return r;
        alarm_bed_set_profile(b->alarm, p ? p : d->have_profile ? &d->profile : NULL);
        free(p);
        return 0;
}

/* Checks that a named profile loads, without applying it. */
static int check_profile(Daemon *d, const char *name)
{
        AlarmProfile *p;
        int r = load_profile(d, name, &p);

        free(p);
        return r;
}

static void session_opened(Bed *b, int64_t id, const char *patient_ref, const char *profile,
                           bool automatic, int64_t started_wall_ns, const char *phase)
{
        Daemon *d = b->daemon;

        b->session_id = id;
        b->session_auto = automatic;
        b->session_started_wall_ns = started_wall_ns;
        snprintf(b->patient_ref, sizeof(b->patient_ref), "%s",
                 patient_ref && *patient_ref ? patient_ref : "");
        if (!b->patient_ref[0])
                snprintf(b->patient_ref, sizeof(b->patient_ref), "SESSION-%lld", (long long)id);
        snprintf(b->profile, sizeof(b->profile), "%s", profile ? profile : "");
        snprintf(b->phase, sizeof(b->phase), "%s", phase ? phase : "baseline");
        if (b->alarm) {
                if (apply_profile(b, profile) < 0) {
                        log_full(LOG_ERR, MSGID_CONFIG, NULL, b->name, 0,
                                 "session %lld: alarm profile \"%s\" cannot be loaded; using the "
                                 "default profile",
                                 (long long)id, profile);
                        (void)apply_profile(b, NULL);
                }
                alarm_bed_set_session(b->alarm, true, b->phase, now_mono_ns(), now_wall_ns());
                daemon_alarm_timer_bed(d, b->alarm);
                /* A monitor already gone counts for more now a patient is recorded. */
                for (size_t i = 0; i < d->n_devices; i++)
                        if (d->devices[i]->bed == b && d->devices[i]->state == DEVICE_DISCONNECTED)
                                daemon_device_state_changed(d, d->devices[i]);
        }
        /* The journal gets the session id and bed, never the patient reference. */
        log_full(LOG_INFO, MSGID_SESSION, NULL, b->name, 0, "session %lld opened (%s)",
                 (long long)id, automatic ? "automatically, on first data" : "by a user");
}

int bed_session_start(Bed *b, const char *patient_ref, const char *profile, const char *actor)
{
        Daemon *d = b->daemon;
        int64_t now = now_wall_ns(), id;
        char reason[96];
        int r;

        if (b->session_id && !b->session_auto)
                return -EBUSY;
        if (!profile)
                profile = d->config->profile;
        r = check_profile(d, profile);
        if (r < 0)
                return r;
        if (b->session_id) {
                /* A session opened on first data gives way to the one a nurse
                 * starts: the patient's record begins when she says so. */
                snprintf(reason, sizeof(reason), "replaced by a session started by %s",
                         actor ? actor : "a user");
                (void)bed_session_stop(b, actor, reason);
        }
        id = store_session_open(d->store, b->name, patient_ref, profile, now, actor);
        if (id < 0)
                return (int)id;
        session_opened(b, id, patient_ref, profile, actor == NULL, now, "baseline");
        b->last_data_mono_ns = now_mono_ns();
        control_session_event(d->control, b, "started", actor ? actor : "auto", NULL);
        return 0;
}

void bed_reapply_profile(Bed *b)
{
        if (!b->session_id)
                return;
        if (apply_profile(b, b->profile) < 0) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, b->name, 0,
                         "session %lld: alarm profile \"%s\" no longer loads; using the default",
                         (long long)b->session_id, b->profile);
                (void)apply_profile(b, NULL);
        }
}

int bed_session_stop(Bed *b, const char *actor, const char *reason)
{
        Daemon *d = b->daemon;

        if (!b->session_id)
                return -ENOENT;
        store_session_close(d->store, b->session_id, now_wall_ns(), actor, reason);
        log_full(LOG_INFO, MSGID_SESSION, NULL, b->name, 0, "session %lld closed (%s)",
                 (long long)b->session_id, reason ? reason : "stopped");
        control_session_event(d->control, b, "stopped", actor ? actor : "auto", reason);
        if (b->alarm) {
                alarm_bed_set_session(b->alarm, false, NULL, now_mono_ns(), now_wall_ns());
                /* The next session starts from the default profile. */
                (void)apply_profile(b, NULL);
                daemon_alarm_timer_bed(d, b->alarm);
        }
        b->session_id = 0;
        b->session_auto = false;
        b->patient_ref[0] = '\0';
        b->profile[0] = '\0';
        b->phase[0] = '\0';
        return 0;
}

const char *bed_marker_kind_phase(const char *kind, bool *ret_valid)
{
        static const char *const kinds[] = {"infusion-start", "dose", "infusion-end", "note"};

        *ret_valid = false;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                if (strcmp(kind, kinds[i]) == 0)
                        *ret_valid = true;
        if (strcmp(kind, "infusion-start") == 0)
                return "infusion";
        if (strcmp(kind, "infusion-end") == 0)
                return "recovery";
        return NULL;
}

int bed_mark(Bed *b, const char *kind, const char *text, const char *actor, int64_t *ret_wall_ns)
{
        Daemon *d = b->daemon;
        int64_t wall = now_wall_ns(), mono = now_mono_ns();
        const char *phase;
        bool valid;

        phase = bed_marker_kind_phase(kind, &valid);
        if (!valid)
                return -EINVAL;
        if (!b->session_id)
                return -ENOENT;
        store_marker_add(d->store, b->session_id, wall, mono, kind, text, actor);
        if (phase && strcmp(phase, b->phase) != 0) {
                snprintf(b->phase, sizeof(b->phase), "%s", phase);
                if (b->alarm) {
                        alarm_bed_set_session(b->alarm, true, b->phase, mono, wall);
                        daemon_alarm_timer_update(d);
                }
        }
        log_full(LOG_INFO, MSGID_MARKER, NULL, b->name, 0, "session %lld: marker %s by %s%s%s",
                 (long long)b->session_id, kind, actor, phase ? ", phase " : "",
                 phase ? phase : "");
        control_marker_event(d->control, b, wall, kind, text, actor);
        if (ret_wall_ns)
                *ret_wall_ns = wall;
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

void bed_session_auto_open(Bed *b)
{
        if (!b->session_id)
                (void)bed_session_start(b, NULL, NULL, NULL);
}

void bed_on_reading(Bed *b, const char *device, const Reading *r)
{
        Daemon *d = b->daemon;

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
                        int64_t started_ns, bool automatic)
{
        session_opened(b, id, patient_ref, profile, automatic, started_ns,
                       store_session_phase(b->daemon->store, id));
        b->last_data_mono_ns = now_mono_ns();
}
