/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.h — the daemon's logging: the journal with structured fields when
 * running under systemd (JOURNAL_STREAM names our stderr), plain stderr
 * lines otherwise.  Never pass a patient reference to these functions.
 */
#pragma once

#include <stddef.h>
#include <syslog.h>

/* MESSAGE_IDs, one per event type (generated with `systemd-id128 new`). */
#define MSGID_STARTED "4b2a6f0d3c9e4a31b7f1e2c5d8a90e11"
#define MSGID_DEVICE_STATE "7d0c5b8e2f6a41c9a3e4b5d6c7f80912"
#define MSGID_SESSION "1f9e8d7c6b5a4e3d2c1b0a9f8e7d6c5b"
#define MSGID_STORE_FAILURE "c3a1e5f7092b4d6e8a0c2e4f6a8b0d13"
#define MSGID_STORE_RECOVERED "d4b2f6a81a3c4e5f9b1d3f5a7c9e1f24"
#define MSGID_ALARM_ACTIVE "a1b2c3d4e5f647188a9b0c1d2e3f4a51"
#define MSGID_ALARM_INACTIVE "b2c3d4e5f6a748299b0c1d2e3f4a5b62"
#define MSGID_ALARM_ACK "c3d4e5f6a7b849309c1d2e3f4a5b6c73"
#define MSGID_ALARM_ESCALATED "d4e5f6a7b8c94a41ad2e3f4a5b6c7d84"
#define MSGID_ALARM_SILENCED "e5f6a7b8c9d04b52be3f4a5b6c7d8e95"
#define MSGID_MARKER "0a7e3c5b9d2f4e18b6c4a2e0f8d6b4a1"
#define MSGID_CONTROL_DENIED "5c8e1a3f7b9d4c26a0e2f4b6d8c0a2e3"
#define MSGID_CONFIG "f6a7b8c9d0e14c63cf4a5b6c7d8e9fa6"
#define MSGID_CLOCK_JUMP "a306ef474bfa4492947409f1b76bf58d"

void log_setup(const char *ident);
void log_set_max_level(int level);
/* Returns -abs(err) when err != 0, else 0, so callers can `return log_...`. */
int log_full(int priority, const char *message_id, const char *device, const char *bed, int err,
             const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define log_debug(...) log_full(LOG_DEBUG, NULL, NULL, NULL, 0, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, NULL, NULL, NULL, 0, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, NULL, NULL, NULL, 0, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, NULL, NULL, NULL, 0, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, NULL, NULL, NULL, 0, __VA_ARGS__)
#define log_error_errno(err, ...) log_full(LOG_ERR, NULL, NULL, NULL, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_full(LOG_WARNING, NULL, NULL, NULL, (err), __VA_ARGS__)
