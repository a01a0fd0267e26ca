/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * service.h — vitalsd and its service manager: the sd_notify protocol
 * (READY=1, STATUS=, RELOADING=1, STOPPING=1, WATCHDOG=1) and the health
 * check that decides whether the watchdog is fed.
 *
 * Everything here is a no-op when NOTIFY_SOCKET is not set (vitalsd run by
 * hand), except the health check and the configuration check, which are
 * also what `vitalsd --check-config` and the tests use.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alarm.h"
#include "conffile.h"

typedef struct Daemon Daemon;
typedef struct Service Service;

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID (sd_watchdog_enabled)
 * and, when a watchdog is wanted, arms a timer on d->event that pings at
 * half the interval while service_check_health() passes. */
int service_new(Daemon *d, Service **ret);
Service *service_free(Service *s);

/* READY=1 with the current STATUS=.  Sent once the store is open and the
 * devices are configured, and again after every reload, good or rejected. */
void service_ready(Service *s);
/* RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC, as systemd ≥ 253
 * requires for Type=notify-reload) before a reload begins. */
void service_reloading(Service *s);
void service_stopping(Service *s);
/* STATUS= (beds, live devices, open sessions, active alarms, store and
 * watchdog health); sent only when the text changed. */
void service_update_status(Service *s);
/* The tick calls this each time it ran: the health check wants a tick
 * that keeps running. */
void service_tick_ran(Service *s, int64_t now_mono_ns);

/* Healthy: the store accepts writes, the tick keeps running, and every
 * device is fresh or already flagged (stale, or disconnected with a
 * reconnect scheduled).  Returns true, or false with the first reason in
 * why (at least 1 byte). */
bool service_check_health(const Daemon *d, int64_t last_tick_mono_ns, int64_t now_mono_ns,
                          char *why, size_t why_size);

/* Everything a configuration must pass before vitalsd starts with it or a
 * reload swaps it in: the config file and devices.d/ (conffile.c), every
 * profile in profiles/ beside it, and the default profile it names.
 * Errors are logged with file:line.  0, or -errno with nothing returned. */
int service_load_config(const char *path, Config **ret_config, AlarmProfile *ret_profile,
                        bool *ret_have_profile);

/* Logs a warning when a reload changes what only a restart applies
 * (state_dir, socket, store_queue_max). */
void service_warn_restart_only(const Config *old, const Config *n);
