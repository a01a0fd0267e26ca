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
 * Writes go through one ordered in-memory queue, committed in batches by a
 * writer thread (store.c).  Session changes, markers and alarm events ask
 * for an immediate commit; readings wait for the tick.
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
        size_t queued, queue_max; /* queued: not yet durable, including the batch being written */
        size_t writing;           /* of which in the batch the writer thread has now */
        int last_error; /* -errno of the last failed commit, 0 after a good one */
} StoreStats;

/* Opens (creating and migrating) path for writing. 0 or -errno. */
int store_open(const char *path, size_t queue_max, Store **ret);
/* Commits what it can (waiting at most 5 s for a disk that does not
 * answer), then closes. */
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
/* fn is called (on the caller's thread, from the queueing call) whenever
 * something is queued that should be committed before the tick: a session
 * change, a marker, an alarm event, or a reading that finds the queue a
 * quarter full. */
void store_set_wanted_callback(Store *s, void (*fn)(void *userdata), void *userdata);

/* What store_commit_start() hands to the writer. */
typedef enum StoreCommitScope {
        /* The whole queue, in order: the tick, store_flush(). */
        STORE_COMMIT_ALL,
        /* What must not wait for the tick (DESIGN: alarm events, markers
         * and session changes commit at once, readings once a tick): the
         * queued records that are not readings, in order, ahead of the
         * readings queued before them, which stay for the next commit.
         * The whole queue instead when a session close is queued (an
         * export right after it must find every reading of the session),
         * when the readings fill a quarter of the queue, or when nothing
         * queued asked for a commit. */
        STORE_COMMIT_URGENT,
} StoreCommitScope;

/* Commits happen on the store's writer thread, one batch at a time, so the
 * event loop never waits for the disk:
 *   store_commit_start()  hands the queue (or its urgent part, see
 *                         StoreCommitScope) to the writer as one
 *                         transaction; false when one is running already
 *                         or nothing is queued;
 *   store_commit_fd()     an eventfd that becomes readable when a batch is
 *                         done (the caller reads it to clear it);
 *   store_commit_reap()   collects a finished batch: 1 with *result 0 or
 *                         -errno (failed: the batch is back at the head of
 *                         the queue, in order), 0 when none is finished;
 *                         first waits up to wait_ns for a running one
 *                         (0: no wait, < 0: as long as it takes).
 * store_flush() does all of it and waits: everything queued is durable on 0;
 * store_flush_timeout() waits at most timeout_ns and says -ETIMEDOUT then
 * (the batch goes on being written; reap it later). */
bool store_commit_start(Store *s, StoreCommitScope scope);
bool store_commit_running(const Store *s);
/* How long the batch handed over last has been running (or finished
 * unreaped); 0 when none. */
int64_t store_commit_age_ns(const Store *s);
int store_commit_fd(const Store *s);
int store_commit_reap(Store *s, int64_t wait_ns, int *result);
int store_flush(Store *s);
int store_flush_timeout(Store *s, int64_t timeout_ns);
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
