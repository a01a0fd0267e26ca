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
#include "log.h"
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

/* --- JSON builders ----------------------------------------------------- */

static json_object *time_json(int64_t wall_ns)
{
        char buf[TIMEFMT_ISO_MAX];

        if (!wall_ns)
                return NULL;
        return json_object_new_string(timefmt_iso_ms(wall_ns, buf));
}

/* Doubles as the shortest text that reads back the same value in
 * practice (96.65, not 96.650000000000006). */
static json_object *number_json(double v)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%.10g", v);
        return json_object_new_double_s(v, buf);
}

json_object *control_reading_json(const Reading *r)
{
        json_object *o = json_object_new_object();
        bool has_value = (r->status == READING_VALID || r->status == READING_QUESTIONABLE) &&
                         isfinite(r->value);

        json_object_object_add(o, "parameter", json_object_new_string(r->parameter));
        json_object_object_add(o, "value", has_value ? number_json(r->value) : NULL);
        json_object_object_add(o, "unit", json_object_new_string(r->unit));
        json_object_object_add(o, "status",
                               json_object_new_string(reading_status_to_string(r->status)));
        json_object_object_add(o, "time", time_json(r->wall_ns));
        json_object_object_add(o, "device_time", time_json(r->device_time_ns));
        return o;
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
        json_object_object_add(o, "last_error",
                               dev->last_error == -ENOTTY
                                       ? json_object_new_string("not a serial device")
                               : dev->last_error ? json_object_new_string(strerror(-dev->last_error))
                                                 : NULL);
        return o;
}

static json_object *session_json(const Bed *b)
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

json_object *control_status_json(Daemon *d)
{
        json_object *o = json_object_new_object(), *beds = json_object_new_array();
        json_object *store = json_object_new_object();
        StoreStats st;

        store_get_stats(d->store, &st);
        json_object_object_add(o, "version", json_object_new_string(VITALS_VERSION));
        json_object_object_add(o, "uptime_s",
                               number_json((double)(now_mono_ns() - d->started_mono_ns) / 1e9));
        json_object_object_add(store, "path", json_object_new_string(d->db_path));
        json_object_object_add(store, "ok", json_object_new_boolean(st.last_error == 0));
        json_object_object_add(store, "queued", json_object_new_int64((int64_t)st.queued));
        json_object_object_add(store, "dropped", json_object_new_int64((int64_t)st.dropped));
        json_object_object_add(store, "commits", json_object_new_int64((int64_t)st.commits));
        json_object_object_add(store, "rows_written", json_object_new_int64((int64_t)st.rows_written));
        json_object_object_add(store, "last_error",
                               st.last_error ? json_object_new_string(strerror(-st.last_error)) : NULL);
        json_object_object_add(o, "store", store);

        for (size_t i = 0; i < d->n_beds; i++) {
                Bed *b = d->beds[i];
                json_object *jb = json_object_new_object(), *devs = json_object_new_array();
                json_object *latest = json_object_new_object();

                if (!b->in_config && !b->session_id)
                        continue;
                json_object_object_add(jb, "bed", json_object_new_string(b->name));
                json_object_object_add(jb, "session", session_json(b));
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
                json_object_array_add(beds, jb);
        }
        json_object_object_add(o, "beds", beds);
        return o;
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

static json_object *handle_status(Request *req, json_object *reply)
{
        json_object *st = control_status_json(req->conn->srv->daemon);

        json_object_object_foreach(st, k, v) json_object_object_add(reply, k, json_object_get(v));
        json_object_put(st);
        return NULL;
}

static json_object *handle_subscribe(Request *req, json_object *reply)
{
        req->conn->subscribed = true;
        return NULL;
}

static const struct {
        const char *type;
        RequestHandler fn;
} handlers[] = {
        {"status", handle_status},
        {"subscribe", handle_subscribe},
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
        if (conn_send(c, reply) < 0)
                conn_free(c);
        json_object_put(reply);
        return 0;
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

void control_broadcast(ControlServer *s, json_object *ev)
{
        ControlConn *c = s ? s->conns : NULL;

        while (c) {
                ControlConn *next = c->next;
                if (c->subscribed && conn_send(c, ev) < 0) {
                        log_warning("control socket: dropping a subscriber that stopped reading");
                        conn_free(c);
                }
                c = next;
        }
}

unsigned control_subscribers(const ControlServer *s)
{
        unsigned n = 0;

        for (const ControlConn *c = s ? s->conns : NULL; c; c = c->next)
                n += c->subscribed;
        return n;
}

static int listen_own(ControlServer *s, const char *path)
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
        /* 0660, group "vitals" when it exists: the console group. */
        gr = getgrnam("vitals");
        if (gr && chown(path, (uid_t)-1, gr->gr_gid) < 0)
                log_warning_errno(errno, "cannot give %s to group vitals: %m", path);
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
                r = listen_own(s, path);
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
