/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * control.c — the control socket server.
 *
 * Owns the listening socket (ours, or one passed by systemd socket
 * activation), the connections and their credentials (SO_PEERCRED, read
 * once on accept), request parsing (json-c) and dispatch, and pushing
 * events to subscribers.  Never blocks: sockets are non-blocking; a reply
 * or event that cannot be sent at once (the client stopped reading) drops
 * that client.  A malformed, oversized or unknown request gets an error
 * reply and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "config.h" /* build configuration: VITALS_VERSION */
#include "control.h"
#include "events.h"
#include "log.h"
#include "profile.h"
#include "timefmt.h"

typedef struct ControlConn {
        ControlServer *srv;
        struct ControlConn *next;
        int fd;
        sd_event_source *io;
        bool subscribed;
        struct ucred cred;
        char user[64];
} ControlConn;

struct ControlServer {
        Daemon *daemon;
        int fd;
        bool activated; /* passed by systemd: do not unlink on exit */
        char *path;
        sd_event_source *io;
        ControlConn *conns;
        unsigned n_conns;
};

#define CONTROL_MAX_CONNS 64

static json_object *alarms_json(Daemon *d, const AlarmBed *const *beds, size_t n_beds);
static json_object *silenced_until_json(const Bed *b);

/* --- JSON builders ----------------------------------------------------- */

/* The readings of one monitor record share their two times (host and
 * device), so the last two texts are kept: formatting was a tenth of
 * vitalsd's CPU with 1,000 beds and a console.  Loop thread only. */
const char *control_time_text(int64_t wall_ns)
{
        static struct {
                int64_t ns;
                char text[TIMEFMT_ISO_MAX];
        } cache[2];
        static unsigned next;

        if (!wall_ns)
                return NULL;
        for (unsigned i = 0; i < 2; i++)
                if (cache[i].ns == wall_ns)
                        return cache[i].text;
        next ^= 1;
        cache[next].ns = wall_ns;
        return timefmt_iso_ms(wall_ns, cache[next].text);
}

static json_object *time_json(int64_t wall_ns)
{
        const char *t = control_time_text(wall_ns);

        return t ? json_object_new_string(t) : NULL;
}

static json_object *number_json(double v)
{
        char buf[32];

        return json_object_new_double_s(v, json_number_format(v, buf, sizeof(buf)));
}

static bool reading_has_value(const Reading *r)
{
        return (r->status == READING_VALID || r->status == READING_QUESTIONABLE) &&
               isfinite(r->value);
}

/* control_reading_text() writes the same object: keep the two alike. */
json_object *control_reading_json(const Reading *r)
{
        json_object *o = json_object_new_object();
        bool has_value = reading_has_value(r);

        json_object_object_add(o, "parameter", json_object_new_string(r->parameter));
        json_object_object_add(o, "value", has_value ? number_json(r->value) : NULL);
        json_object_object_add(o, "unit", json_object_new_string(r->unit));
        json_object_object_add(o, "status",
                               json_object_new_string(reading_status_to_string(r->status)));
        json_object_object_add(o, "time", time_json(r->wall_ns));
        json_object_object_add(o, "device_time", time_json(r->device_time_ns));
        return o;
}

void control_reading_text(JsonText *t, const Reading *r)
{
        json_text_lit(t, "{\"parameter\":");
        json_text_string(t, r->parameter);
        json_text_lit(t, ",\"value\":");
        json_text_number(t, reading_has_value(r) ? r->value : NAN);
        json_text_lit(t, ",\"unit\":");
        json_text_string(t, r->unit);
        json_text_lit(t, ",\"status\":");
        json_text_string(t, reading_status_to_string(r->status));
        json_text_lit(t, ",\"time\":");
        json_text_string(t, control_time_text(r->wall_ns));
        json_text_lit(t, ",\"device_time\":");
        json_text_string(t, control_time_text(r->device_time_ns));
        json_text_lit(t, "}");
}

json_object *control_device_json(const Device *dev)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(dev->cfg->name));
        json_object_object_add(o, "driver", json_object_new_string(dev->cfg->driver->name));
        json_object_object_add(o, "port", json_object_new_string(dev->cfg->port));
        json_object_object_add(o, "bed", json_object_new_string(dev->cfg->bed));
        json_object_object_add(o, "state",
                               json_object_new_string(device_state_to_string(dev->state)));
        json_object_object_add(o, "state_since", time_json(dev->state_since_wall_ns));
        json_object_object_add(o, "frames_ok",
                               json_object_new_int64((int64_t)dev->counters[DRIVER_COUNT_FRAMES_OK]));
        json_object_object_add(o, "frames_bad", json_object_new_int64((int64_t)dev->counters[DRIVER_COUNT_FRAMES_BAD]));
        json_object_object_add(o, "bytes_skipped", json_object_new_int64((int64_t)dev->counters[DRIVER_COUNT_BYTES_SKIPPED]));
        json_object_object_add(o, "records_ignored", json_object_new_int64((int64_t)dev->counters[DRIVER_COUNT_RECORDS_IGNORED]));
        json_object_object_add(o, "bytes_in", json_object_new_int64((int64_t)dev->bytes_in));
        json_object_object_add(o, "readings", json_object_new_int64((int64_t)dev->readings));
        json_object_object_add(o, "reconnects", json_object_new_int64((int64_t)dev->reconnects));
        if (dev->cfg->driver->transport == TRANSPORT_MODBUS) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "polls_ok", json_object_new_int64((int64_t)dev->modbus.polls_ok));
                json_object_object_add(m, "timeouts", json_object_new_int64((int64_t)dev->modbus.timeouts));
                json_object_object_add(m, "exceptions", json_object_new_int64((int64_t)dev->modbus.exceptions));
                json_object_object_add(m, "crc_errors", json_object_new_int64((int64_t)dev->modbus.crc_errors));
                json_object_object_add(m, "bad_responses", json_object_new_int64((int64_t)dev->modbus.bad_responses));
                json_object_object_add(m, "disconnects", json_object_new_int64((int64_t)dev->modbus.disconnects));
                json_object_object_add(m, "last_problem", dev->modbus.last_problem[0] ? json_object_new_string(dev->modbus.last_problem) : NULL);
                json_object_object_add(o, "modbus", m);
        }
        json_object_object_add(o, "last_error",
                               dev->last_error == -ENOTTY
                                       ? json_object_new_string("not a serial device")
                               : dev->last_error ? json_object_new_string(strerror(-dev->last_error))
                                                 : NULL);
        return o;
}

json_object *control_session_json(const Bed *b)
{
        json_object *o;
        char buf[TIMEFMT_ISO_MAX];

        if (!b->session_id)
                return NULL;
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(b->session_id));
        json_object_object_add(o, "patient_ref", json_object_new_string(b->patient_ref));
        json_object_object_add(o, "started",
                               json_object_new_string(timefmt_iso_ms(b->session_started_wall_ns, buf)));
        json_object_object_add(o, "profile",
                               b->profile[0] ? json_object_new_string(b->profile) : NULL);
        json_object_object_add(o, "phase", json_object_new_string(bed_phase(b)));
        json_object_object_add(o, "automatic", json_object_new_boolean(b->session_auto));
        return o;
}

static json_object *bed_status_json(Daemon *d, Bed *b)
{
        json_object *jb = json_object_new_object(), *devs = json_object_new_array();
        json_object *latest = json_object_new_object();

        json_object_object_add(jb, "bed", json_object_new_string(b->name));
        json_object_object_add(jb, "session", control_session_json(b));
        for (size_t k = 0; k < d->n_devices; k++)
                if (d->devices[k]->bed == b)
                        json_object_array_add(devs, control_device_json(d->devices[k]));
        json_object_object_add(jb, "devices", devs);
        for (size_t k = 0; k < b->n_latest; k++) {
                json_object *r = control_reading_json(&b->latest[k]);
                json_object_object_del(r, "parameter");
                json_object_object_add(latest, b->latest[k].parameter, r);
        }
        json_object_object_add(jb, "latest", latest);
        json_object_object_add(jb, "silenced_until", silenced_until_json(b));
        json_object_object_add(jb, "alarms",
                               alarms_json(d, (const AlarmBed *const *)&b->alarm, 1));
        return jb;
}

json_object *control_status_json(Daemon *d, Bed *const *only, size_t n_only)
{
        json_object *o = json_object_new_object(), *beds = json_object_new_array();
        json_object *store = json_object_new_object();
        StoreStats st;

        store_get_stats(d->store, &st);
        json_object_object_add(o, "version", json_object_new_string(VITALS_VERSION));
        json_object_object_add(o, "uptime_s",
                               number_json((double)(now_mono_ns() - d->started_mono_ns) / 1e9));
        json_object_object_add(store, "path", json_object_new_string(d->db_path));
        json_object_object_add(store, "ok", json_object_new_boolean(st.last_error == 0 &&
                                                                    !d->store_failing));
        json_object_object_add(store, "queued", json_object_new_int64((int64_t)st.queued));
        json_object_object_add(store, "dropped", json_object_new_int64((int64_t)st.dropped));
        json_object_object_add(store, "commits", json_object_new_int64((int64_t)st.commits));
        json_object_object_add(store, "rows_written", json_object_new_int64((int64_t)st.rows_written));
        json_object_object_add(store, "last_error",
                               st.last_error      ? json_object_new_string(strerror(-st.last_error))
                               : d->store_failing ? json_object_new_string(STORE_STALL_TEXT)
                                                  : NULL);
        json_object_object_add(o, "store", store);

        if (only) {
                const AlarmBed **ab = calloc(n_only ? n_only : 1, sizeof(*ab));
                for (size_t i = 0; i < n_only; i++) {
                        json_object_array_add(beds, bed_status_json(d, only[i]));
                        if (ab)
                                ab[i] = only[i]->alarm;
                }
                json_object_object_add(o, "beds", beds);
                json_object_object_add(o, "alarms", ab ? alarms_json(d, ab, n_only)
                                                       : json_object_new_array());
                free(ab);
                return o;
        }
        for (size_t i = 0; i < d->n_beds; i++)
                if (d->beds[i]->in_config || d->beds[i]->session_id)
                        json_object_array_add(beds, bed_status_json(d, d->beds[i]));
        json_object_object_add(o, "beds", beds);
        json_object_object_add(o, "alarms", alarms_json(d, NULL, 0));
        return o;
}

json_object *control_alarm_info_json(const AlarmInfo *a)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "id", json_object_new_int64(a->id));
        json_object_object_add(o, "bed", json_object_new_string(a->bed));
        json_object_object_add(o, "condition", json_object_new_string(a->condition));
        json_object_object_add(o, "technical", json_object_new_boolean(a->technical));
        json_object_object_add(o, "priority",
                               json_object_new_string(alarm_priority_to_string(a->priority)));
        json_object_object_add(o, "base_priority",
                               json_object_new_string(alarm_priority_to_string(a->base_priority)));
        json_object_object_add(o, "state", json_object_new_string(a->state));
        json_object_object_add(o, "present", json_object_new_boolean(a->present));
        json_object_object_add(o, "value", isfinite(a->value) ? number_json(a->value) : NULL);
        json_object_object_add(o, "limit", isfinite(a->limit) ? number_json(a->limit) : NULL);
        json_object_object_add(o, "since", time_json(a->since_wall_ns));
        json_object_object_add(o, "acknowledged_by",
                               a->acknowledged_by[0] ? json_object_new_string(a->acknowledged_by)
                                                     : NULL);
        json_object_object_add(o, "detail",
                               a->detail[0] ? json_object_new_string(a->detail) : NULL);
        return o;
}

/* The alarms that are not inactive, of the given beds (n > 0) or of all
 * (beds NULL), in the console's order. */
static json_object *alarms_json(Daemon *d, const AlarmBed *const *beds, size_t n_beds)
{
        json_object *arr = json_object_new_array();
        AlarmInfo *list;
        size_t n;

        if (!d->alarms)
                return arr;
        n = beds ? alarm_beds_list(beds, n_beds, NULL, 0) : alarm_engine_list(d->alarms, NULL, NULL, 0);
        if (n == 0)
                return arr;
        list = calloc(n, sizeof(*list));
        if (!list)
                return arr;
        n = beds ? alarm_beds_list(beds, n_beds, list, n) : alarm_engine_list(d->alarms, NULL, list, n);
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, control_alarm_info_json(&list[i]));
        free(list);
        return arr;
}

static json_object *silenced_until_json(const Bed *b)
{
        uint64_t remaining;
        int64_t now = now_mono_ns();

        if (!b->alarm || !alarm_bed_silenced(b->alarm, now, &remaining))
                return NULL;
        return time_json(now_wall_ns() + (int64_t)remaining * 1000);
}

void control_session_event(ControlServer *s, const Bed *b, const char *state, const char *actor,
                           const char *reason)
{
        json_object *ev;

        if (!s || !control_subscribers(s))
                return;
        ev = json_object_new_object();
        json_object_object_add(ev, "type", json_object_new_string("session"));
        json_object_object_add(ev, "bed", json_object_new_string(b->name));
        json_object_object_add(ev, "state", json_object_new_string(state));
        json_object_object_add(ev, "session", control_session_json(b));
        json_object_object_add(ev, "actor", json_object_new_string(actor));
        json_object_object_add(ev, "reason", reason ? json_object_new_string(reason) : NULL);
        daemon_broadcast(s->daemon, ev);
        json_object_put(ev);
}

static json_object *marker_json(const Bed *b, int64_t wall_ns, const char *kind, const char *text,
                                const char *actor)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "time", time_json(wall_ns));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        json_object_object_add(o, "text", text ? json_object_new_string(text) : NULL);
        json_object_object_add(o, "actor", json_object_new_string(actor));
        json_object_object_add(o, "phase",
                               b->session_id ? json_object_new_string(b->phase) : NULL);
        return o;
}

void control_marker_event(ControlServer *s, const Bed *b, int64_t wall_ns, const char *kind,
                          const char *text, const char *actor)
{
        json_object *ev;

        if (!s || !control_subscribers(s))
                return;
        ev = marker_json(b, wall_ns, kind, text, actor);
        json_object_object_add(ev, "type", json_object_new_string("marker"));
        json_object_object_add(ev, "bed", json_object_new_string(b->name));
        json_object_object_add(ev, "session", json_object_new_int64(b->session_id));
        daemon_broadcast(s->daemon, ev);
        json_object_put(ev);
}

/* --- connections ------------------------------------------------------- */

static void conn_free(ControlConn *c)
{
        ControlServer *s = c->srv;

        for (ControlConn **pp = &s->conns; *pp; pp = &(*pp)->next)
                if (*pp == c) {
                        *pp = c->next;
                        break;
                }
        s->n_conns--;
        sd_event_source_disable_unref(c->io);
        close(c->fd);
        free(c);
}

/* 0, or -errno; the caller drops the connection on failure. */
static int conn_send(ControlConn *c, json_object *o)
{
        size_t len;
        const char *txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);

        if (send(c->fd, txt, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}

static json_object *error_reply(json_object *id, const char *code, const char *message)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string("error"));
        json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
        json_object_object_add(o, "ok", json_object_new_boolean(false));
        json_object_object_add(o, "error", json_object_new_string(code));
        json_object_object_add(o, "message", json_object_new_string(message));
        return o;
}

typedef struct Request {
        ControlConn *conn;
        json_object *msg;
        json_object *id;
} Request;

/* Handlers fill *reply (an object) and return 0, or return an error reply. */
typedef json_object *(*RequestHandler)(Request *req, json_object *reply);

static json_object *field_bed_name(Request *req, const char *name, Bed **ret);
static json_object *field_get(Request *req, const char *key, bool required, json_object **ret_v);

/* "beds" (optional): only these beds, by name; [] for none (the daemon and
 * store part alone, cheap however many beds there are). */
static json_object *handle_status(Request *req, json_object *reply)
{
        Daemon *d = req->conn->srv->daemon;
        json_object *filter, *st, *err;
        Bed **only = NULL;
        size_t n = 0;

        err = field_get(req, "beds", false, &filter);
        if (err)
                return err;
        if (filter) {
                if (!json_object_is_type(filter, json_type_array) ||
                    json_object_array_length(filter) > d->n_beds)
                        return error_reply(req->id, "bad-request",
                                           "\"beds\" must be an array of bed names");
                n = json_object_array_length(filter);
                only = calloc(n ? n : 1, sizeof(*only));
                if (!only)
                        return error_reply(req->id, "internal", "out of memory");
                for (size_t i = 0; i < n; i++) {
                        json_object *v = json_object_array_get_idx(filter, i);
                        if (!json_object_is_type(v, json_type_string)) {
                                free(only);
                                return error_reply(req->id, "bad-request",
                                                   "\"beds\" must be an array of bed names");
                        }
                        err = field_bed_name(req, json_object_get_string(v), &only[i]);
                        if (err) {
                                free(only);
                                return err;
                        }
                }
        }
        st = control_status_json(d, only, n);
        free(only);
        json_object_object_foreach(st, k, v) json_object_object_add(reply, k, json_object_get(v));
        json_object_put(st);
        return NULL;
}

static json_object *handle_subscribe(Request *req, json_object *reply)
{
        req->conn->subscribed = true;
        return NULL;
}

/* Field access.  Each returns NULL when fine, or the error reply.  An
 * absent field and a JSON null are the same: *ret_v NULL. */
static json_object *field_get(Request *req, const char *key, bool required, json_object **ret_v)
{
        char msg[128];

        if (json_object_object_get_ex(req->msg, key, ret_v) &&
            !json_object_is_type(*ret_v, json_type_null))
                return NULL;
        *ret_v = NULL;
        if (!required)
                return NULL;
        snprintf(msg, sizeof(msg), "\"%s\" is required", key);
        return error_reply(req->id, "bad-request", msg);
}

static json_object *field_string(Request *req, const char *key, bool required, size_t max_len,
                                 const char **ret)
{
        json_object *v, *err;
        char msg[128];

        *ret = NULL;
        err = field_get(req, key, required, &v);
        if (err || !v)
                return err;
        if (!json_object_is_type(v, json_type_string)) {
                snprintf(msg, sizeof(msg), "\"%s\" must be a string", key);
                return error_reply(req->id, "bad-request", msg);
        }
        if ((size_t)json_object_get_string_len(v) > max_len ||
            (required && json_object_get_string_len(v) == 0)) {
                snprintf(msg, sizeof(msg), "\"%s\" must be 1 to %zu bytes", key, max_len);
                return error_reply(req->id, "bad-request", msg);
        }
        *ret = json_object_get_string(v);
        if (strlen(*ret) != (size_t)json_object_get_string_len(v)) {
                snprintf(msg, sizeof(msg), "\"%s\" must not contain NUL", key);
                return error_reply(req->id, "bad-request", msg);
        }
        return NULL;
}

/* An integer field in [min, max]; *ret untouched when absent and optional. */
static json_object *field_int(Request *req, const char *key, bool required, int64_t min,
                              int64_t max, bool *ret_present, int64_t *ret)
{
        json_object *v, *err;
        char msg[128];

        *ret_present = false;
        err = field_get(req, key, required, &v);
        if (err || !v)
                return err;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min ||
            json_object_get_int64(v) > max) {
                snprintf(msg, sizeof(msg), "\"%s\" must be a whole number from %lld to %lld", key,
                         (long long)min, (long long)max);
                return error_reply(req->id, "bad-request", msg);
        }
        *ret_present = true;
        *ret = json_object_get_int64(v);
        return NULL;
}

/* A bed by name: a bed of the current configuration, or one that still
 * has a session open. */
static json_object *field_bed_name(Request *req, const char *name, Bed **ret)
{
        Daemon *d = req->conn->srv->daemon;
        char msg[160];

        Bed *b = bed_find(d, name);

        if (b && (b->in_config || b->session_id)) {
                *ret = b;
                return NULL;
        }
        snprintf(msg, sizeof(msg), "no bed named \"%.63s\"", name);
        return error_reply(req->id, "no-such-bed", msg);
}

/* The bed a request names in "bed". */
static json_object *field_bed(Request *req, bool required, Bed **ret)
{
        const char *name;
        json_object *err;

        *ret = NULL;
        err = field_string(req, "bed", required, 63, &name);
        if (err || !name)
                return err;
        return field_bed_name(req, name, ret);
}

/* Free text a user typed: no control characters (tabs and newlines are
 * allowed in marker text), valid as a C string. */
static bool text_ok(const char *t, bool allow_newlines)
{
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
                if ((*p < 0x20 && !(allow_newlines && (*p == '\n' || *p == '\t'))) || *p == 0x7f)
                        return false;
        return true;
}

static json_object *handle_ack(Request *req, json_object *reply)
{
        Daemon *d = req->conn->srv->daemon;
        const char *actor = req->conn->user;
        int64_t id = 0, mono = now_mono_ns(), wall = now_wall_ns();
        json_object *err, *jbed;
        bool have_id;
        Bed *b;
        int r;

        err = field_int(req, "alarm", false, 1, INT64_MAX, &have_id, &id);
        if (err)
                return err;
        if (!have_id) {
                if (!json_object_object_get_ex(req->msg, "bed", &jbed))
                        return error_reply(req->id, "bad-request",
                                           "\"alarm\" (an alarm id) or \"bed\" is required");
                err = field_bed(req, true, &b);
                if (err)
                        return err;
                r = alarm_engine_ack_all(d->alarms, b->name, actor, mono, wall);
                daemon_alarm_timer_update(d);
                if (r < 0)
                        return error_reply(req->id, "internal", strerror(-r));
                json_object_object_add(reply, "bed", json_object_new_string(b->name));
                json_object_object_add(reply, "count", json_object_new_int(r));
                json_object_object_add(reply, "actor", json_object_new_string(actor));
                return NULL;
        }

        r = alarm_engine_ack(d->alarms, id, actor, mono, wall);
        daemon_alarm_timer_update(d);
        if (r == -ENOENT) {
                char msg[96];
                snprintf(msg, sizeof(msg), "alarm %lld is not active", (long long)id);
                return error_reply(req->id, "no-such-alarm", msg);
        }
        if (r == -EALREADY)
                return error_reply(req->id, "already-acknowledged",
                                   "the alarm is already acknowledged");
        if (r < 0)
                return error_reply(req->id, "internal", strerror(-r));

        /* Its state now: acknowledged while present; a latched alarm resets. */
        const char *state = "inactive";
        size_t n = alarm_engine_list(d->alarms, NULL, NULL, 0);
        AlarmInfo *list = n ? calloc(n, sizeof(*list)) : NULL;
        if (list) {
                n = alarm_engine_list(d->alarms, NULL, list, n);
                for (size_t i = 0; i < n; i++)
                        if (list[i].id == id)
                                state = list[i].state;
        }
        json_object_object_add(reply, "alarm", json_object_new_int64(id));
        json_object_object_add(reply, "state", json_object_new_string(state));
        json_object_object_add(reply, "actor", json_object_new_string(actor));
        free(list);
        return NULL;
}

static json_object *handle_silence(Request *req, json_object *reply)
{
        Daemon *d = req->conn->srv->daemon;
        int64_t secs = 120, mono = now_mono_ns(), wall = now_wall_ns();
        uint64_t granted = 0, rem;
        json_object *err;
        bool have;
        Bed *b;
        int r;

        err = field_bed(req, false, &b);
        if (err)
                return err;
        err = field_int(req, "seconds", false, 1, 120, &have, &secs);
        if (err)
                return err;
        r = alarm_engine_silence(d->alarms, b ? b->name : NULL, (uint64_t)secs * 1000000,
                                 req->conn->user, mono, wall);
        daemon_alarm_timer_update(d);
        if (r < 0)
                return error_reply(req->id, r == -ENOENT ? "no-such-bed" : "internal",
                                   strerror(-r));
        /* What was granted: the profile may allow less than asked. */
        for (size_t i = 0; i < d->n_beds; i++) {
                Bed *x = d->beds[i];
                if ((b && x != b) || !x->alarm || !alarm_bed_silenced(x->alarm, mono, &rem))
                        continue;
                if (rem > granted)
                        granted = rem;
        }
        json_object_object_add(reply, "bed", b ? json_object_new_string(b->name) : NULL);
        json_object_object_add(reply, "seconds", json_object_new_int64((int64_t)((granted + 500000) / 1000000)));
        json_object_object_add(reply, "until", time_json(wall + (int64_t)granted * 1000));
        json_object_object_add(reply, "actor", json_object_new_string(req->conn->user));
        return NULL;
}

static json_object *handle_session_start(Request *req, json_object *reply)
{
        const char *ref, *profile;
        json_object *err;
        char msg[160];
        Bed *b;
        int r;

        err = field_bed(req, true, &b);
        if (!err)
                err = field_string(req, "patient_ref", true, 63, &ref);
        if (!err)
                err = field_string(req, "profile", false, 63, &profile);
        if (err)
                return err;
        if (!text_ok(ref, false))
                return error_reply(req->id, "bad-request",
                                   "\"patient_ref\" must not contain control characters");
        if (profile && !profile_name_valid(profile))
                return error_reply(req->id, "no-such-profile", "not a profile name");
        r = bed_session_start(b, ref, profile, req->conn->user);
        if (r == -EBUSY) {
                snprintf(msg, sizeof(msg),
                         "bed %s already has session %lld open; stop it first", b->name,
                         (long long)b->session_id);
                return error_reply(req->id, "session-open", msg);
        }
        if (r == -ENOENT || r == -EINVAL) {
                snprintf(msg, sizeof(msg), "alarm profile \"%.63s\" %s", profile ? profile : "",
                         r == -ENOENT ? "does not exist" : "is not valid (see the journal)");
                return error_reply(req->id, "no-such-profile", msg);
        }
        if (r < 0)
                return error_reply(req->id, "internal", strerror(-r));
        json_object_object_add(reply, "bed", json_object_new_string(b->name));
        json_object_object_add(reply, "session", control_session_json(b));
        json_object_object_add(reply, "actor", json_object_new_string(req->conn->user));
        return NULL;
}

static json_object *handle_session_stop(Request *req, json_object *reply)
{
        const char *reason;
        json_object *err;
        int64_t id;
        Bed *b;

        err = field_bed(req, true, &b);
        if (!err)
                err = field_string(req, "reason", false, 200, &reason);
        if (err)
                return err;
        if (reason && !text_ok(reason, false))
                return error_reply(req->id, "bad-request",
                                   "\"reason\" must not contain control characters");
        id = b->session_id;
        if (bed_session_stop(b, req->conn->user, reason ? reason : "stopped by a user") < 0)
                return error_reply(req->id, "no-session", "the bed has no open session");
        json_object_object_add(reply, "bed", json_object_new_string(b->name));
        json_object_object_add(reply, "session", json_object_new_int64(id));
        json_object_object_add(reply, "ended", time_json(now_wall_ns()));
        json_object_object_add(reply, "actor", json_object_new_string(req->conn->user));
        return NULL;
}

static json_object *handle_mark(Request *req, json_object *reply)
{
        const char *kind, *text;
        json_object *err;
        int64_t wall;
        bool valid;
        Bed *b;

        err = field_bed(req, true, &b);
        if (!err)
                err = field_string(req, "kind", true, 31, &kind);
        if (!err)
                err = field_string(req, "text", false, 500, &text);
        if (err)
                return err;
        (void)bed_marker_kind_phase(kind, &valid);
        if (!valid)
                return error_reply(req->id, "bad-kind",
                                   "\"kind\" must be infusion-start, dose, infusion-end or note");
        if (text && !text_ok(text, true))
                return error_reply(req->id, "bad-request",
                                   "\"text\" must not contain control characters");
        if (bed_mark(b, kind, text && *text ? text : NULL, req->conn->user, &wall) < 0)
                return error_reply(req->id, "no-session", "the bed has no open session");
        json_object_object_add(reply, "bed", json_object_new_string(b->name));
        json_object_object_add(reply, "session", json_object_new_int64(b->session_id));
        json_object_object_add(reply, "marker",
                               marker_json(b, wall, kind, text && *text ? text : NULL,
                                           req->conn->user));
        json_object_object_add(reply, "phase", json_object_new_string(b->phase));
        return NULL;
}

static const struct {
        const char *type;
        RequestHandler fn;
} handlers[] = {
        {"status", handle_status},
        {"subscribe", handle_subscribe},
        {"ack", handle_ack},
        {"silence", handle_silence},
        {"session-start", handle_session_start},
        {"session-stop", handle_session_stop},
        {"mark", handle_mark},
};

static json_object *dispatch(ControlConn *c, const char *buf, size_t len)
{
        json_tokener *tok = json_tokener_new();
        json_object *msg, *jtype, *reply, *err = NULL;
        Request req = {.conn = c};
        const char *type;

        msg = json_tokener_parse_ex(tok, buf, (int)len);
        if (!msg || json_tokener_get_error(tok) != json_tokener_success ||
            tok->char_offset != (int)len) {
                json_tokener_free(tok);
                json_object_put(msg);
                return error_reply(NULL, "bad-json", "request is not one JSON object");
        }
        json_tokener_free(tok);
        if (!json_object_is_type(msg, json_type_object)) {
                json_object_put(msg);
                return error_reply(NULL, "bad-request", "request must be a JSON object");
        }
        req.msg = msg;
        json_object_object_get_ex(msg, "id", &req.id);
        if (!json_object_object_get_ex(msg, "type", &jtype) ||
            !json_object_is_type(jtype, json_type_string)) {
                err = error_reply(req.id, "bad-request", "request has no \"type\" string");
                json_object_put(msg);
                return err;
        }
        type = json_object_get_string(jtype);
        for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
                if (strcmp(handlers[i].type, type) != 0)
                        continue;
                reply = json_object_new_object();
                json_object_object_add(reply, "type", json_object_new_string(type));
                json_object_object_add(reply, "id", req.id ? json_object_get(req.id) : NULL);
                json_object_object_add(reply, "ok", json_object_new_boolean(true));
                err = handlers[i].fn(&req, reply);
                json_object_put(msg);
                if (err) {
                        json_object_put(reply);
                        return err;
                }
                return reply;
        }
        err = error_reply(req.id, "unknown-request", "unknown request type");
        json_object_put(msg);
        return err;
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ControlConn *c = userdata;
        static char buf[CONTROL_MAX_MESSAGE + 1];
        json_object *reply;
        ssize_t n;
        int r;

        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                conn_free(c);
                return 0;
        }
        if ((size_t)n > CONTROL_MAX_MESSAGE)
                reply = error_reply(NULL, "too-large", "request larger than 64 KiB");
        else
                reply = dispatch(c, buf, (size_t)n);
        daemon_commit_now(c->srv->daemon);
        r = conn_send(c, reply);
        if (r == -EMSGSIZE) {
                /* Larger than the socket takes in one packet (its send
                 * buffer, ~200 KiB by default: a status of some 250 beds). */
                json_object *id = NULL, *e;
                json_object_object_get_ex(reply, "id", &id);
                e = error_reply(id, "reply-too-large",
                                "the reply does not fit one message; ask for fewer beds "
                                "(status \"beds\")");
                r = conn_send(c, e);
                json_object_put(e);
        }
        if (r < 0)
                conn_free(c);
        json_object_put(reply);
        return 0;
}

/* Root, vitalsd's own user, and members of the console group (primary or
 * supplementary, as the kernel saw them when the peer connected:
 * SO_PEERGROUPS, Linux 4.13) may talk to the daemon. */
static bool peer_allowed(ControlServer *srv, int fd, const struct ucred *cred)
{
        const char *group = srv->daemon->config->control_group;
        struct group *gr;
        gid_t groups[256];
        socklen_t len = sizeof(groups);

        if (cred->uid == 0 || cred->uid == geteuid())
                return true;
        gr = group ? getgrnam(group) : NULL;
        if (!gr)
                return false;
        if (cred->gid == gr->gr_gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false; /* ERANGE: more than 256 groups; refuse rather than guess */
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gr->gr_gid)
                        return true;
        return false;
}

static void refuse(ControlServer *srv, int cfd, const struct ucred *cred)
{
        char msg[160], junk[64];
        json_object *o;
        size_t len;
        const char *txt;

        snprintf(msg, sizeof(msg), "uid %u is not root and not in group \"%s\"",
                 (unsigned)cred->uid, srv->daemon->config->control_group);
        o = error_reply(NULL, "permission-denied", msg);
        txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
        (void)send(cfd, txt, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        json_object_put(o);
        log_full(LOG_NOTICE, MSGID_CONTROL_DENIED, NULL, NULL, 0,
                 "control socket: refused a client of uid %u (pid %d): %s", (unsigned)cred->uid,
                 (int)cred->pid, msg);
        /* Closing with the client's request unread would reset the
         * connection and lose the reason: stop further input, discard what
         * came, then close; the client reads the reason, then end-of-file. */
        (void)shutdown(cfd, SHUT_RDWR);
        while (recv(cfd, junk, sizeof(junk), MSG_DONTWAIT | MSG_TRUNC) > 0)
                ;
        close(cfd);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ControlServer *srv = userdata;
        ControlConn *c;
        socklen_t len;
        int cfd;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        if (srv->n_conns >= CONTROL_MAX_CONNS) {
                log_warning("control socket: too many clients, refusing one");
                close(cfd);
                return 0;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                close(cfd);
                return 0;
        }
        c->srv = srv;
        c->fd = cfd;
        len = sizeof(c->cred);
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0) {
                close(cfd);
                free(c);
                return 0;
        }
        if (!peer_allowed(srv, cfd, &c->cred)) {
                refuse(srv, cfd, &c->cred);
                free(c);
                return 0;
        }
        struct passwd *pw = getpwuid(c->cred.uid);
        if (pw)
                snprintf(c->user, sizeof(c->user), "%s", pw->pw_name);
        else
                snprintf(c->user, sizeof(c->user), "uid:%u", (unsigned)c->cred.uid);
        if (sd_event_add_io(srv->daemon->event, &c->io, cfd, EPOLLIN, on_conn_io, c) < 0) {
                close(cfd);
                free(c);
                return 0;
        }
        c->next = srv->conns;
        srv->conns = c;
        srv->n_conns++;
        return 0;
}

void control_broadcast_text(ControlServer *s, const char *text, size_t len)
{
        ControlConn *c = s ? s->conns : NULL;

        while (c) {
                ControlConn *next = c->next;
                if (c->subscribed && send(c->fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                        log_warning("control socket: dropping a subscriber that stopped reading");
                        conn_free(c);
                }
                c = next;
        }
}

void control_broadcast(ControlServer *s, json_object *ev)
{
        size_t len;
        const char *txt = json_object_to_json_string_length(ev, JSON_C_TO_STRING_PLAIN, &len);

        control_broadcast_text(s, txt, len);
}

unsigned control_subscribers(const ControlServer *s)
{
        unsigned n = 0;

        for (const ControlConn *c = s ? s->conns : NULL; c; c = c->next)
                n += c->subscribed;
        return n;
}

static int listen_own(ControlServer *s, const char *path, const char *group)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct group *gr;
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        /* 0660, the console group when it exists. */
        gr = group ? getgrnam(group) : NULL;
        if (gr && chown(path, (uid_t)-1, gr->gr_gid) < 0)
                log_warning_errno(errno, "cannot give %s to group %s: %m", path, group);
        if (chmod(path, 0660) < 0)
                log_warning_errno(errno, "cannot chmod %s: %m", path);
        s->fd = fd;
        return 0;
}

int control_new(Daemon *d, const char *path, ControlServer **ret)
{
        ControlServer *s = calloc(1, sizeof(*s));
        int n, r;

        if (!s)
                return -ENOMEM;
        s->daemon = d;
        s->fd = -1;
        n = sd_listen_fds(0);
        if (n > 0 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
                s->fd = SD_LISTEN_FDS_START;
                s->activated = true;
                (void)fcntl(s->fd, F_SETFL, O_NONBLOCK);
                log_info("control socket passed by the service manager");
        } else {
                r = listen_own(s, path, d->config->control_group);
                if (r < 0) {
                        free(s);
                        return log_error_errno(r, "cannot listen on %s: %m", path);
                }
                s->path = strdup(path);
        }
        r = sd_event_add_io(d->event, &s->io, s->fd, EPOLLIN, on_accept, s);
        if (r < 0) {
                control_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void control_free(ControlServer *s)
{
        if (!s)
                return;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->io);
        if (s->fd >= 0)
                close(s->fd);
        if (s->path && !s->activated)
                (void)unlink(s->path);
        free(s->path);
        free(s);
}

/* Seam for tests/fuzz: one request as if a client with credentials cred had
 * sent it, without a socket.  Returns the reply (the caller puts it). */
json_object *control_dispatch_message(ControlServer *s, const struct ucred *cred,
                                      const char *buf, size_t len)
{
        ControlConn c = {.srv = s, .fd = -1, .cred = *cred};

        snprintf(c.user, sizeof(c.user), "uid:%u", (unsigned)cred->uid);
        return dispatch(&c, buf, len);
}
