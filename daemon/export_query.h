/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_query.h — read-only queries over the session log (vitals.db) for
 * exporters: find a session, then stream its readings, alarm events and
 * markers in time order through a callback, one row at a time.
 *
 * Nothing here writes: the connection is opened SQLITE_OPEN_READONLY with
 * query_only set, and a whole export runs in one read transaction so the
 * session, its readings, alarms and markers come from one snapshot.  In WAL
 * mode a reader never blocks vitalsd's writer (it only holds back a
 * checkpoint from recycling the WAL while the export runs).
 *
 * Row structs passed to callbacks point into SQLite's buffers: valid only
 * for the duration of the callback.  Memory use does not depend on the size
 * of the session.  Functions return 0 or a negative errno; those that can
 * fail for a reason a user must read fill an error message buffer.
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPORT_ERROR_MAX 512

/* A time window on wall_ns, [from_ns, to_ns).  EXPORT_RANGE_ALL for none. */
typedef struct ExportRange {
        int64_t from_ns, to_ns;
} ExportRange;
#define EXPORT_RANGE_ALL ((ExportRange){INT64_MIN, INT64_MAX})

typedef struct ExportSession {
        int64_t id;
        char *bed, *patient_ref, *profile; /* profile may be NULL */
        int64_t started_ns;
        bool ended;
        int64_t ended_ns;                         /* meaningful when ended */
        char *opened_by, *closed_by, *end_reason; /* the last two may be NULL */
} ExportSession;

typedef struct ExportReading {
        int64_t id;
        int64_t session_id;
        const char *device, *parameter, *unit, *status;
        bool has_value;
        double value;
        uint32_t flags;
        int64_t wall_ns, mono_ns;
        bool has_device_time;
        int64_t device_ns;
} ExportReading;

typedef struct ExportAlarm {
        int64_t id, alarm_id;
        bool has_session;
        int64_t session_id;
        const char *bed;
        int64_t wall_ns, mono_ns;
        const char *condition;
        bool technical;
        const char *priority, *state;
        const char *phase; /* may be NULL */
        bool has_value, has_limit;
        double value, limit_value;
        const char *actor;
        const char *detail; /* may be NULL */
} ExportAlarm;

typedef struct ExportMarker {
        int64_t id, session_id;
        int64_t wall_ns, mono_ns;
        const char *kind;
        const char *text; /* may be NULL */
        const char *actor;
} ExportMarker;

/* Callbacks return 0 to go on, or a negative errno to stop; it is returned. */
typedef int (*export_reading_fn)(void *userdata, const ExportReading *r);
typedef int (*export_alarm_fn)(void *userdata, const ExportAlarm *a);
typedef int (*export_marker_fn)(void *userdata, const ExportMarker *m);

/* Opens path read-only (busy_timeout 5000 ms) and checks it is a vitals.db
 * this code understands.  -ENOENT, -EACCES, -EROFS (WAL side files missing
 * and not creatable), -EMEDIUMTYPE (not a vitals database), -EPROTO (newer
 * schema), -EIO; err gets a sentence naming the path and what to do. */
int export_db_open(const char *path, sqlite3 **ret, char err[static EXPORT_ERROR_MAX]);
void export_db_close(sqlite3 *db);

/* One snapshot for everything read between begin and end. */
int export_snapshot_begin(sqlite3 *db);
void export_snapshot_end(sqlite3 *db);

/* -ENOENT when there is no such session / no session for that bed.  The
 * latest session of a bed is the one with the highest started_ns. */
int export_session_by_id(sqlite3 *db, int64_t id, ExportSession *ret);
int export_session_latest_for_bed(sqlite3 *db, const char *bed, ExportSession *ret);
void export_session_done(ExportSession *s);

/* Sessions newest first, of one bed or all (bed NULL), at most limit of them
 * (0: all).  s is freed after the callback returns. */
typedef int (*export_session_fn)(void *userdata, const ExportSession *s);
int export_sessions_foreach(sqlite3 *db, const char *bed, int64_t limit, export_session_fn fn,
                            void *userdata);

/* Rows of one session inside range, ordered by wall_ns then insertion. */
int export_readings_foreach(sqlite3 *db, int64_t session_id, ExportRange range,
                            export_reading_fn fn, void *userdata);
int export_alarms_foreach(sqlite3 *db, int64_t session_id, ExportRange range, export_alarm_fn fn,
                          void *userdata);
int export_markers_foreach(sqlite3 *db, int64_t session_id, ExportRange range, export_marker_fn fn,
                           void *userdata);

/* The distinct parameter names of a session's readings inside range, sorted
 * catalogue parameters first (catalogue order), then the others by name.
 * *ret is a NULL-terminated array; free with export_strv_free(). */
int export_parameters(sqlite3 *db, int64_t session_id, ExportRange range, char ***ret,
                      size_t *ret_n);
void export_strv_free(char **v);

/* The distinct device names of a session's readings inside range, sorted by
 * name; as export_parameters(). */
int export_devices(sqlite3 *db, int64_t session_id, ExportRange range, char ***ret, size_t *ret_n);

/* The first and last wall_ns of anything recorded for the session inside
 * range (readings, alarm events, markers).  -ENOENT when there is nothing. */
int export_session_extent(sqlite3 *db, int64_t session_id, ExportRange range, int64_t *ret_first_ns,
                          int64_t *ret_last_ns);

/* What a summary says about one parameter inside range.  Values count when
 * they are shown anywhere: status valid or questionable and not NULL. */
typedef struct ExportParameterStats {
        int64_t n_values;     /* readings with a value */
        int64_t n_without;    /* readings without one (invalid, unavailable, ...) */
        double min, max;      /* meaningful when n_values > 0 */
        double median;        /* the middle value, or the mean of the two middle ones */
        int64_t interval_ns;  /* median time between consecutive readings; 0 with < 2 */
} ExportParameterStats;

/* Runs in SQLite (ORDER BY with OFFSET: SQLite's sorter spills to its temp
 * store, so memory stays bounded for any session length). */
int export_parameter_stats(sqlite3 *db, int64_t session_id, ExportRange range,
                           const char *parameter, ExportParameterStats *ret);

/* Last SQLite error of db as a negative errno (for callers without err). */
int export_errno_from_sqlite(int sqlite_rc);
