/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * board.c — the nurse console's picture of the daemon (see board.h).
 *
 * Reads the daemon's JSON defensively: an unknown field is ignored, a
 * missing or mistyped one is absent; nothing here can fail at run time
 * except by running out of fixed table room (a bed or alarm beyond the
 * tables is dropped until the next status reply, which is ordered by
 * priority so the loudest alarms are the ones kept).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "timefmt.h"

#define NSEC_PER_SEC 1000000000LL

/* The condition name of silence transitions (daemon/alarm.h). */
#define AUDIO_SILENCE "AUDIO_SILENCE"

static const char *const param_names[_BOARD_PARAM_MAX] = {
    [BOARD_HR] = "HR",
    [BOARD_PR] = "PR",
    [BOARD_SPO2] = "SPO2",
    [BOARD_NIBP_SYS] = "NIBP_SYS",
    [BOARD_NIBP_DIA] = "NIBP_DIA",
    [BOARD_NIBP_MEAN] = "NIBP_MEAN",
};

int board_param_from_name(const char *name)
{
        for (int i = 0; i < _BOARD_PARAM_MAX; i++)
                if (name && strcmp(name, param_names[i]) == 0)
                        return i;
        return -1;
}

/* --- JSON access ------------------------------------------------------- */

static json_object *get(json_object *o, const char *key, json_type type)
{
        json_object *v;

        if (!o || !json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

static const char *get_string(json_object *o, const char *key)
{
        json_object *v = get(o, key, json_type_string);

        return v ? json_object_get_string(v) : NULL;
}

static bool get_number(json_object *o, const char *key, double *ret)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
                return false;
        *ret = json_object_get_double(v);
        return isfinite(*ret);
}

static bool get_int64(json_object *o, const char *key, int64_t *ret)
{
        json_object *v = get(o, key, json_type_int);

        if (!v)
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

static bool get_bool(json_object *o, const char *key, bool def)
{
        json_object *v = get(o, key, json_type_boolean);

        return v ? json_object_get_boolean(v) : def;
}

static double get_number_or_nan(json_object *o, const char *key)
{
        double v;

        return get_number(o, key, &v) ? v : NAN;
}

static int64_t get_time(json_object *o, const char *key)
{
        const char *s = get_string(o, key);
        int64_t ns;

        if (!s || timefmt_parse_iso(s, &ns) < 0)
                return 0;
        return ns;
}

static void copy(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

/* --- names ------------------------------------------------------------- */

const char *board_priority_marker(BoardPriority p)
{
        switch (p) {
        case BOARD_PRIO_HIGH:
                return "***";
        case BOARD_PRIO_MEDIUM:
                return "**";
        case BOARD_PRIO_LOW:
                return "*";
        default:
                return "";
        }
}

const char *board_priority_name(BoardPriority p)
{
        switch (p) {
        case BOARD_PRIO_HIGH:
                return "high";
        case BOARD_PRIO_MEDIUM:
                return "medium";
        case BOARD_PRIO_LOW:
                return "low";
        default:
                return "none";
        }
}

static BoardPriority priority_from_string(const char *s)
{
        if (!s)
                return BOARD_PRIO_NONE;
        if (strcmp(s, "high") == 0)
                return BOARD_PRIO_HIGH;
        if (strcmp(s, "medium") == 0)
                return BOARD_PRIO_MEDIUM;
        if (strcmp(s, "low") == 0)
                return BOARD_PRIO_LOW;
        return BOARD_PRIO_NONE;
}

const char *board_alarm_state_name(BoardAlarmState s)
{
        switch (s) {
        case BOARD_ALARM_ACKNOWLEDGED:
                return "acknowledged";
        case BOARD_ALARM_LATCHED:
                return "latched";
        default:
                return "active";
        }
}

/* --- beds -------------------------------------------------------------- */

void board_init(Board *b)
{
        memset(b, 0, sizeof(*b));
        b->store_ok = true;
}

BoardBed *board_bed_find(Board *b, const char *name)
{
        for (size_t i = 0; name && i < b->n_beds; i++)
                if (strcmp(b->beds[i].name, name) == 0)
                        return &b->beds[i];
        return NULL;
}

/* The bed, added when new; NULL without a name or room.  Beds are kept in
 * natural name order (chair-2 before chair-10) so a tile never moves when
 * the daemon restarts or lists its beds in another order. */
static BoardBed *bed_get(Board *b, const char *name)
{
        BoardBed *bed = board_bed_find(b, name);
        size_t i;

        if (bed || !name || !*name || b->n_beds == BOARD_BEDS_MAX)
                return bed;
        for (i = 0; i < b->n_beds && strverscmp(b->beds[i].name, name) < 0; i++)
                ;
        memmove(&b->beds[i + 1], &b->beds[i], (b->n_beds - i) * sizeof(b->beds[0]));
        b->n_beds++;
        bed = &b->beds[i];
        memset(bed, 0, sizeof(*bed));
        copy(bed->name, sizeof(bed->name), name);
        return bed;
}

static void session_parse(BoardSession *s, json_object *o)
{
        memset(s, 0, sizeof(*s));
        if (!o || !json_object_is_type(o, json_type_object))
                return;
        s->open = true;
        (void)get_int64(o, "id", &s->id);
        copy(s->patient_ref, sizeof(s->patient_ref), get_string(o, "patient_ref"));
        copy(s->phase, sizeof(s->phase), get_string(o, "phase"));
        copy(s->profile, sizeof(s->profile), get_string(o, "profile"));
        s->started_ns = get_time(o, "started");
        s->automatic = get_bool(o, "automatic", false);
}

static void device_parse(BoardDevice *d, json_object *o)
{
        copy(d->name, sizeof(d->name), get_string(o, "name"));
        copy(d->state, sizeof(d->state), get_string(o, "state"));
        d->since_ns = get_time(o, "state_since");
        copy(d->last_error, sizeof(d->last_error), get_string(o, "last_error"));
}

static void device_update(BoardBed *bed, json_object *o)
{
        const char *name = get_string(o, "name");
        BoardDevice *d = NULL;

        if (!name)
                return;
        for (size_t i = 0; i < bed->n_devices; i++)
                if (strcmp(bed->devices[i].name, name) == 0)
                        d = &bed->devices[i];
        if (!d) {
                if (bed->n_devices == BOARD_DEVICES_MAX)
                        return;
                d = &bed->devices[bed->n_devices++];
        }
        device_parse(d, o);
}

static void value_parse(BoardValue *v, json_object *reading)
{
        const char *status = get_string(reading, "status");
        double x;

        memset(v, 0, sizeof(*v));
        v->known = true;
        copy(v->status, sizeof(v->status), status);
        /* A value without a status is the daemon's bare number: shown. */
        v->usable = get_number(reading, "value", &x) && (!status || strcmp(status, "valid") == 0 ||
                                                         strcmp(status, "questionable") == 0);
        v->value = v->usable ? x : NAN;
        v->time_ns = get_time(reading, "time");
}

static void bed_parse(Board *b, json_object *o)
{
        json_object *devices = get(o, "devices", json_type_array);
        json_object *latest = get(o, "latest", json_type_object);
        BoardBed *bed = bed_get(b, get_string(o, "bed"));

        if (!bed)
                return;
        session_parse(&bed->session, get(o, "session", json_type_object));
        for (size_t i = 0; devices && i < json_object_array_length(devices); i++) {
                json_object *d = json_object_array_get_idx(devices, i);

                if (json_object_is_type(d, json_type_object))
                        device_update(bed, d);
        }
        if (latest) {
                json_object_object_foreach(latest, key, val)
                {
                        int p = board_param_from_name(key);

                        if (p >= 0 && json_object_is_type(val, json_type_object))
                                value_parse(&bed->values[p], val);
                }
        }
        bed->silenced_until_ns = get_time(o, "silenced_until");
}

const char *board_bed_device_state(const BoardBed *bed)
{
        static const char *const rank[] = {"live", "stale", "connecting", "disconnected"};

        if (bed->n_devices == 0)
                return "none";
        for (size_t r = 0; r < sizeof(rank) / sizeof(rank[0]); r++)
                for (size_t i = 0; i < bed->n_devices; i++)
                        if (strcmp(bed->devices[i].state, rank[r]) == 0)
                                return rank[r];
        return bed->devices[0].state[0] ? bed->devices[0].state : "unknown";
}

bool board_value_current(const BoardBed *bed, BoardParam p, int64_t now_ns)
{
        const BoardValue *v = &bed->values[p];
        bool continuous = p == BOARD_HR || p == BOARD_PR || p == BOARD_SPO2;

        if (!v->known || !v->usable || strcmp(board_bed_device_state(bed), "live") != 0)
                return false;
        if (continuous &&
            (!v->time_ns || now_ns - v->time_ns > BOARD_CONTINUOUS_CURRENT_SEC * NSEC_PER_SEC))
                return false;
        return true;
}

int64_t board_bed_silence_left_sec(const BoardBed *bed, int64_t now_ns)
{
        if (!bed->silenced_until_ns || bed->silenced_until_ns <= now_ns)
                return 0;
        /* Round up: "0 s left" while still silenced would be a lie. */
        return (bed->silenced_until_ns - now_ns + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
}

/* --- alarms ------------------------------------------------------------ */

static int alarm_compare(const void *pa, const void *pb)
{
        const BoardAlarm *a = pa, *b = pb;

        if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
        if (a->since_ns != b->since_ns)
                return a->since_ns < b->since_ns ? -1 : 1;
        return a->id < b->id ? -1 : a->id > b->id;
}

static void alarms_sort(Board *b)
{
        qsort(b->alarms, b->n_alarms, sizeof(b->alarms[0]), alarm_compare);
}

int board_alarm_index(const Board *b, int64_t id)
{
        for (size_t i = 0; i < b->n_alarms; i++)
                if (b->alarms[i].id == id)
                        return (int)i;
        return -1;
}

const BoardAlarm *board_alarm_find(const Board *b, int64_t id)
{
        int i = board_alarm_index(b, id);

        return i < 0 ? NULL : &b->alarms[i];
}

/* The alarm with this id, added when new (since = 0: the caller sets it);
 * NULL when the table is full and the newcomer ranks no higher than the
 * quietest alarm held. */
static BoardAlarm *alarm_get(Board *b, int64_t id, BoardPriority prio, bool *ret_new)
{
        int i = board_alarm_index(b, id);
        BoardAlarm *a;

        *ret_new = i < 0;
        if (i >= 0)
                return &b->alarms[i];
        if (b->n_alarms == BOARD_ALARMS_MAX) {
                /* Sorted: the last one is the quietest. */
                if (b->alarms[b->n_alarms - 1].priority >= prio)
                        return NULL;
                b->n_alarms--;
        }
        a = &b->alarms[b->n_alarms++];
        memset(a, 0, sizeof(*a));
        a->id = id;
        return a;
}

static void alarm_remove(Board *b, int64_t id)
{
        int i = board_alarm_index(b, id);

        if (i < 0)
                return;
        memmove(&b->alarms[i], &b->alarms[i + 1],
                (b->n_alarms - (size_t)i - 1) * sizeof(b->alarms[0]));
        b->n_alarms--;
}

static bool alarm_state_from_string(const char *s, BoardAlarmState *ret)
{
        if (!s)
                return false;
        if (strcmp(s, "active") == 0)
                *ret = BOARD_ALARM_ACTIVE;
        else if (strcmp(s, "acknowledged") == 0)
                *ret = BOARD_ALARM_ACKNOWLEDGED;
        else if (strcmp(s, "latched") == 0)
                *ret = BOARD_ALARM_LATCHED;
        else
                return false;
        return true;
}

/* One entry of status's alarms[]. */
static void alarm_parse(Board *b, json_object *o)
{
        BoardAlarmState state;
        BoardAlarm *a;
        int64_t id;
        bool is_new;

        if (!get_int64(o, "id", &id) || !alarm_state_from_string(get_string(o, "state"), &state))
                return;
        a = alarm_get(b, id, priority_from_string(get_string(o, "priority")), &is_new);
        if (!a)
                return;
        copy(a->bed, sizeof(a->bed), get_string(o, "bed"));
        copy(a->condition, sizeof(a->condition), get_string(o, "condition"));
        a->technical = get_bool(o, "technical", false);
        a->priority = priority_from_string(get_string(o, "priority"));
        a->state = state;
        a->value = get_number_or_nan(o, "value");
        a->limit = get_number_or_nan(o, "limit");
        a->since_ns = get_time(o, "since");
        copy(a->acknowledged_by, sizeof(a->acknowledged_by), get_string(o, "acknowledged_by"));
        copy(a->detail, sizeof(a->detail), get_string(o, "detail"));
}

BoardPriority board_bed_alarm_priority(const Board *b, const char *bed)
{
        BoardPriority p = BOARD_PRIO_NONE;

        for (size_t i = 0; i < b->n_alarms; i++)
                if (strcmp(b->alarms[i].bed, bed) == 0 &&
                    b->alarms[i].state != BOARD_ALARM_ACKNOWLEDGED && b->alarms[i].priority > p)
                        p = b->alarms[i].priority;
        return p;
}

bool board_needs_repeat_bell(const Board *b, int64_t now_ns)
{
        for (size_t i = 0; i < b->n_alarms; i++) {
                const BoardAlarm *a = &b->alarms[i];
                BoardBed *bed;

                if (a->priority != BOARD_PRIO_HIGH || a->state == BOARD_ALARM_ACKNOWLEDGED)
                        continue;
                bed = board_bed_find((Board *)b, a->bed);
                if (bed && board_bed_silence_left_sec(bed, now_ns) > 0)
                        continue;
                return true;
        }
        return false;
}

/* --- status ------------------------------------------------------------ */

int board_apply_status(Board *b, json_object *reply)
{
        json_object *beds, *alarms, *store;
        const char *type = get_string(reply, "type");
        Board *n;

        if (!reply || !get_bool(reply, "ok", false) || (type && strcmp(type, "status") != 0))
                return -EBADMSG;
        n = malloc(sizeof(*n));
        if (!n)
                return -ENOMEM;
        board_init(n);
        n->have_status = true;
        copy(n->version, sizeof(n->version), get_string(reply, "version"));
        store = get(reply, "store", json_type_object);
        if (store) {
                n->store_ok = get_bool(store, "ok", true);
                copy(n->store_error, sizeof(n->store_error), get_string(store, "last_error"));
        }
        beds = get(reply, "beds", json_type_array);
        for (size_t i = 0; beds && i < json_object_array_length(beds); i++)
                bed_parse(n, json_object_array_get_idx(beds, i));
        alarms = get(reply, "alarms", json_type_array);
        if (alarms) {
                for (size_t i = 0; i < json_object_array_length(alarms); i++)
                        alarm_parse(n, json_object_array_get_idx(alarms, i));
                alarms_sort(n);
        } else {
                /* A daemon that does not list alarms in its status: keep
                 * what the events said rather than forget them. */
                memcpy(n->alarms, b->alarms, sizeof(b->alarms));
                n->n_alarms = b->n_alarms;
        }
        memcpy(b, n, sizeof(*b));
        free(n);
        return 0;
}

/* --- events ------------------------------------------------------------ */

/* The readings one device delivered together (one record). */
static void on_readings(Board *b, json_object *ev)
{
        json_object *list = get(ev, "readings", json_type_array);
        BoardBed *bed = NULL;

        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
                json_object *r = json_object_array_get_idx(list, i);
                int p = board_param_from_name(get_string(r, "parameter"));

                if (p < 0)
                        continue;
                /* The bed only for a reading the board shows: an event of
                 * nothing else does not add a tile. */
                if (!bed && !(bed = bed_get(b, get_string(ev, "bed"))))
                        return;
                value_parse(&bed->values[p], r);
        }
}

static void on_device(Board *b, json_object *ev)
{
        json_object *d = get(ev, "device", json_type_object);
        BoardBed *bed = bed_get(b, get_string(ev, "bed") ?: get_string(d, "bed"));

        if (bed && d)
                device_update(bed, d);
}

static void on_silence(Board *b, BoardBed *bed, json_object *ev, BoardNotice *n)
{
        const char *state = get_string(ev, "state"), *actor = get_string(ev, "actor");
        int64_t t = get_time(ev, "time");
        double seconds;

        if (strcmp(state, "silenced") == 0 && t && get_number(ev, "value", &seconds) &&
            seconds > 0) {
                bed->silenced_until_ns = t + (int64_t)(seconds * NSEC_PER_SEC);
                snprintf(n->message, sizeof(n->message), "%s: audio silenced for %.0f s by %s",
                         bed->name, seconds, actor ? actor : "?");
        } else if (strcmp(state, "silence-ended") == 0 || strcmp(state, "silence-broken") == 0) {
                bed->silenced_until_ns = 0;
                snprintf(n->message, sizeof(n->message), "%s: %s", bed->name,
                         strcmp(state, "silence-broken") == 0 ? "silence broken by a new alarm"
                                                              : "silence ended");
        }
}

static void on_alarm(Board *b, json_object *ev, BoardNotice *n)
{
        const char *state = get_string(ev, "state"), *cond = get_string(ev, "condition");
        const char *actor = get_string(ev, "actor");
        BoardPriority prio = priority_from_string(get_string(ev, "priority"));
        BoardBed *bed = bed_get(b, get_string(ev, "bed"));
        BoardAlarmState st = BOARD_ALARM_ACTIVE;
        int64_t id, t = get_time(ev, "time");
        BoardAlarm *a;
        bool is_new;

        if (!bed || !state || !cond || !get_int64(ev, "alarm_id", &id))
                return;
        n->bell = get_bool(ev, "announce", false);
        if (strcmp(cond, AUDIO_SILENCE) == 0) {
                on_silence(b, bed, ev, n);
                return;
        }
        if (strcmp(state, "inactive") == 0) {
                alarm_remove(b, id);
                snprintf(n->message, sizeof(n->message), "%s: %s ended", bed->name, cond);
                return;
        }
        if (strcmp(state, "acknowledged") == 0 || strcmp(state, "reminder") == 0)
                st = BOARD_ALARM_ACKNOWLEDGED;
        else if (strcmp(state, "latched") == 0)
                st = BOARD_ALARM_LATCHED;
        else if (strcmp(state, "active") != 0 && strcmp(state, "escalated") != 0)
                return;
        a = alarm_get(b, id, prio, &is_new);
        if (!a)
                return;
        copy(a->bed, sizeof(a->bed), bed->name);
        copy(a->condition, sizeof(a->condition), cond);
        a->technical = get_bool(ev, "technical", false);
        if (prio != BOARD_PRIO_NONE)
                a->priority = prio;
        a->state = st;
        a->value = get_number_or_nan(ev, "value");
        a->limit = get_number_or_nan(ev, "limit");
        if (is_new || !a->since_ns)
                a->since_ns = t;
        if (st == BOARD_ALARM_ACKNOWLEDGED && strcmp(state, "acknowledged") == 0)
                copy(a->acknowledged_by, sizeof(a->acknowledged_by), actor);
        copy(a->detail, sizeof(a->detail), get_string(ev, "detail"));
        alarms_sort(b);
        snprintf(n->message, sizeof(n->message), "%s: %s %s%s %s%s%s", bed->name,
                 board_priority_marker(a->priority), a->technical ? "TECH " : "", cond, state,
                 st == BOARD_ALARM_ACKNOWLEDGED && actor ? " by " : "",
                 st == BOARD_ALARM_ACKNOWLEDGED && actor ? actor : "");
}

static void on_session(Board *b, json_object *ev, BoardNotice *n)
{
        const char *state = get_string(ev, "state"), *actor = get_string(ev, "actor");
        BoardBed *bed = bed_get(b, get_string(ev, "bed"));

        if (!bed || !state)
                return;
        if (strcmp(state, "started") == 0)
                session_parse(&bed->session, get(ev, "session", json_type_object));
        else if (strcmp(state, "stopped") == 0)
                session_parse(&bed->session, NULL);
        else
                return;
        snprintf(n->message, sizeof(n->message), "%s: session %s%s%s", bed->name, state,
                 actor ? " by " : "", actor ? actor : "");
}

static void on_marker(Board *b, json_object *ev, BoardNotice *n)
{
        const char *phase = get_string(ev, "phase"), *kind = get_string(ev, "kind");
        const char *actor = get_string(ev, "actor");
        BoardBed *bed = bed_get(b, get_string(ev, "bed"));

        if (!bed || !kind)
                return;
        if (phase && bed->session.open)
                copy(bed->session.phase, sizeof(bed->session.phase), phase);
        snprintf(n->message, sizeof(n->message), "%s: marker %s%s%s", bed->name, kind,
                 actor ? " by " : "", actor ? actor : "");
}

int board_apply_event(Board *b, json_object *ev, BoardNotice *n)
{
        const char *type = get_string(ev, "type");

        memset(n, 0, sizeof(*n));
        if (!type)
                return 0;
        if (strcmp(type, "batch") == 0) {
                /* Readings events vitalsd held back and sent together. */
                json_object *evs = get(ev, "events", json_type_array);
                BoardNotice ignored;
                for (size_t i = 0; evs && i < json_object_array_length(evs); i++) {
                        json_object *e = json_object_array_get_idx(evs, i);
                        const char *t = json_object_is_type(e, json_type_object)
                                                ? get_string(e, "type") : NULL;
                        if (t && strcmp(t, "readings") == 0)
                                board_apply_event(b, e, &ignored);
                }
                return 0;
        }
        if (strcmp(type, "readings") == 0)
                on_readings(b, ev);
        else if (strcmp(type, "device") == 0)
                on_device(b, ev);
        else if (strcmp(type, "alarm") == 0)
                on_alarm(b, ev, n);
        else if (strcmp(type, "session") == 0)
                on_session(b, ev, n);
        else if (strcmp(type, "marker") == 0)
                on_marker(b, ev, n);
        return 0;
}
