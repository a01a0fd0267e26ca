/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * control.h — the control socket: AF_UNIX SOCK_SEQPACKET, one JSON object
 * per message, requests with an "id" answered by a reply with the same id,
 * and events pushed to subscribers.
 */
#pragma once

#include <json-c/json.h>

#include "daemon.h"

#define CONTROL_MAX_MESSAGE (64 * 1024)

int control_new(Daemon *d, const char *path, ControlServer **ret);
void control_free(ControlServer *s);
/* Sends ev (not consumed) to every subscriber; slow ones are dropped.
 * Events go out through daemon_broadcast() (events.c), which sends the
 * readings gathered so far first; only events.c calls this. */
void control_broadcast(ControlServer *s, json_object *ev);
/* The same for an event already serialised (events.c's batches). */
void control_broadcast_text(ControlServer *s, const char *text, size_t len);
unsigned control_subscribers(const ControlServer *s);

/* Shared JSON builders (also used for pushed events). */
json_object *control_reading_json(const Reading *r);
/* The same object as JSON text, appended to t (the readings event). */
void control_reading_text(JsonText *t, const Reading *r);
/* A wall-clock time as the protocol writes it (ISO 8601, ms, UTC); NULL
 * for 0.  The text lives until the third call after (loop thread only). */
const char *control_time_text(int64_t wall_ns);
/* The status reply's body: every bed (only NULL) or the n_only beds given. */
json_object *control_status_json(Daemon *d, Bed *const *only, size_t n_only);
json_object *control_device_json(const Device *dev);
json_object *control_session_json(const Bed *b); /* NULL (JSON null) without a session */
json_object *control_alarm_info_json(const AlarmInfo *a);

/* Pushed events: a session started or stopped (call "stopped" before the
 * bed forgets the session), a marker recorded.  s may be NULL. */
void control_session_event(ControlServer *s, const Bed *b, const char *state, const char *actor,
                           const char *reason);
void control_marker_event(ControlServer *s, const Bed *b, int64_t wall_ns, const char *kind,
                          const char *text, const char *actor);

/* Test seam (tests/fuzz): dispatches one request from a connection-less
 * client with credentials cred; returns the reply to put. */
struct ucred;
json_object *control_dispatch_message(ControlServer *s, const struct ucred *cred,
                                      const char *buf, size_t len);
