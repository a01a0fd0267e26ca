/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * events.h — the events vitalsd pushes to control-socket subscribers, in
 * order: readings gathered into one event per device dispatch, and the one
 * door every other event goes through (daemon_broadcast).
 */
#pragma once

#include <json-c/json.h>

#include "daemon.h"

/* At most this many readings in one `readings` event.  A 4 KiB read
 * flat out holds ~16 GE S/5 records (~50 readings); 64 readings of the
 * largest names the driver contract allows stay far below one control
 * message (CONTROL_MAX_MESSAGE). */
#define READINGS_BATCH_MAX 64
/* The hold-back limits (READINGS_HOLD_USEC, READINGS_OUT_MAX,
 * READINGS_OUT_BYTES) are in daemon.h, beside ReadingsBatch. */

/* Around one dispatch of a device's input: one chunk of serial bytes fed to
 * its driver, one record from its Modbus bus worker.  The readings the
 * device emits in between go out together when it ends. */
void daemon_readings_begin(Daemon *d, const Device *dev);
void daemon_readings_end(Daemon *d, const Device *dev);

/* A reading (normalised, its bed's session open) for subscribers: joins the
 * batch of dev's dispatch, or goes out at once as a batch of one outside a
 * dispatch.  Nothing at all without subscribers. */
void daemon_readings_push(Daemon *d, const Device *dev, const Reading *r);

/* Every other pushed event (alarm, device, session, marker) goes out here:
 * the readings gathered so far first, so a subscriber never sees an alarm
 * before the reading that raised it.  ev is not consumed. */
void daemon_broadcast(Daemon *d, json_object *ev);

/* Sends the readings events held back now; frees all of it at exit. */
void daemon_readings_flush(Daemon *d);
void daemon_readings_free(Daemon *d);
