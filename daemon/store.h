/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.h — the session log: one SQLite file, vitals.db, in the state dir.
 *
 * Schema (version 1, PRAGMA user_version; forward migrations in store.c):
 *
 *   sessions(id INTEGER PRIMARY KEY, bed TEXT NOT NULL, patient_ref TEXT NOT NULL,
 *            profile TEXT, started_ns INTEGER NOT NULL, ended_ns INTEGER,
 *            opened_by TEXT NOT NULL, closed_by TEXT, end_reason TEXT)
 *       patient_ref is a pseudonym ("SESSION-42" unless a nurse gave one).
 *       opened_by/closed_by: "auto" or the acting user's name.
 *   readings(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, device TEXT NOT NULL,
 *            parameter TEXT NOT NULL, value REAL, unit TEXT NOT NULL, status TEXT NOT NULL,
 *            flags INTEGER NOT NULL, wall_ns INTEGER NOT NULL, mono_ns INTEGER NOT NULL,
 *            device_ns INTEGER)
 *       value is NULL unless status is 'valid' or 'questionable'; unit is UCUM;
 *       status is reading_status_to_string(); device_ns NULL when the device
 *       has no clock.  Index (session_id, wall_ns).
 *   markers(id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, wall_ns INTEGER NOT NULL,
 *           mono_ns INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT, actor TEXT NOT NULL)
 *       kind: infusion-start, dose, infusion-end, note.
 *   alarm_events(id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL, session_id INTEGER,
 *                bed TEXT NOT NULL, wall_ns INTEGER NOT NULL, mono_ns INTEGER NOT NULL,
 *                condition TEXT NOT NULL, technical INTEGER NOT NULL, priority TEXT NOT NULL,
 *                state TEXT NOT NULL, phase TEXT, value REAL, limit_value REAL,
 *                actor TEXT NOT NULL, detail TEXT)
 *       append-only; one row per transition.
 *
 * Writes go through one ordered in-memory queue.  Session changes, markers
 * and alarm events ask for an immediate commit; readings wait for the tick.
 * A failed commit (full or read-only disk, I/O error) leaves the queue as it
 * was, so nothing received is lost while the queue has room; the caller
 * raises a technical alarm and retries.  Session ids are assigned by the
 * store in memory, so a session can open while the disk is failing.
 *
 * Readers (export, console history) open read-only through export_db_open()
 * in export_query.c; WAL keeps
 * them from blocking the writer.
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_DB_NAME "vitals.db"

typedef struct Store Store;

typedef struct StoreAlarmEvent {
        int64_t alarm_id;
        int64_t session_id; /* 0 when no session */
        const char *bed;
        int64_t wall_ns, mono_ns;
        const char *condition; /* "SPO2_LOW" */
        bool technical;
        const char *priority; /* "high" | "medium" | "low" */
        const char *state;    /* "active" | "acknowledged" | ... */
        const char *phase;    /* "baseline" | "infusion" | "recovery" | NULL */
        double value, limit_value; /* NAN when not applicable */
        const char *actor;    /* "vitalsd" or a user name */
        const char *detail;   /* free text or NULL */
} StoreAlarmEvent;

typedef struct StoreStats {
        uint64_t commits, commit_failures, rows_written, dropped;
        size_t queued, queue_max;
        int last_error; /* -errno of the last failed commit, 0 after a good one */
} StoreStats;

/* Opens (creating and migrating) path for writing. 0 or -errno. */
int store_open(const char *path, size_t queue_max, Store **ret);
/* Commits what it can, then closes. */
void store_close(Store *s);

int64_t store_session_open(Store *s, const char *bed, const char *patient_ref,
                           const char *profile, int64_t wall_ns, const char *actor);
void store_session_close(Store *s, int64_t session_id, int64_t wall_ns, const char *actor,
                         const char *reason);
void store_session_set_profile(Store *s, int64_t session_id, const char *profile);
void store_marker_add(Store *s, int64_t session_id, int64_t wall_ns, int64_t mono_ns,
                      const char *kind, const char *text, const char *actor);
void store_alarm_event_add(Store *s, const StoreAlarmEvent *e);
/* Queues a reading; it is committed at the next store_flush(). */
void store_reading_add(Store *s, int64_t session_id, const char *device, const Reading *r);

/* True when something queued asked for an immediate commit. */
bool store_flush_wanted(const Store *s);
/* Commits the whole queue in one transaction. 0, or -errno with the queue kept. */
int store_flush(Store *s);
void store_get_stats(const Store *s, StoreStats *ret);
/* Calls fn for every session still open in the file (after a restart). */
int store_open_sessions(Store *s, void (*fn)(void *ud, int64_t id, const char *bed,
                                             const char *patient_ref, const char *profile,
                                             int64_t started_ns, bool automatic),
                        void *ud);

/* 1 + the largest alarm_id in the file, so alarm ids stay unique across restarts. */
int64_t store_next_alarm_id(Store *s);


/* The phase a session's markers put it in: "baseline" (none), "infusion"
 * (last phase marker infusion-start) or "recovery" (infusion-end).  For
 * resuming a session after a restart; reads committed rows only. */
const char *store_session_phase(Store *s, int64_t session_id);
