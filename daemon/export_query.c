/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * export_query.c — the read side of the session log for exporters.
 *
 * Owns: opening vitals.db read-only and checking its schema version, finding
 * a session, and streaming its rows in time order.  It never writes and never
 * takes a write lock; the only thing it can wait on is SQLite's busy handler
 * (5 s) in the rare moments a WAL reader must (recovery after a crash of the
 * writer).  Failures come back as a negative errno plus, from export_db_open,
 * a sentence for the user; nothing here logs or exits.
 *
 * Schema: store.h (authoritative).  The column lists below name every column
 * explicitly so a later additive migration does not shift them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "export_query.h"
#include "store.h"

#define BUSY_TIMEOUT_MSEC 5000

int export_errno_from_sqlite(int sqlite_rc)
{
        switch (sqlite_rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_NOTADB:
                return -EMEDIUMTYPE;
        case SQLITE_CORRUPT:
        case SQLITE_IOERR:
                return -EIO;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_RANGE:
        case SQLITE_MISMATCH:
        case SQLITE_MISUSE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* Turns a failure of open or of the first read into errno + a sentence.  The
 * WAL case deserves its own words: a read-only connection needs vitals.db-shm
 * (and -wal) to exist, or the directory to be writable so it can create them;
 * they exist while vitalsd runs, and are removed when the last connection
 * closes cleanly. */
static int explain_open_failure(sqlite3 *db, int rc, const char *path,
                                char err[static EXPORT_ERROR_MAX])
{
        int sys = db ? sqlite3_system_errno(db) : 0;
        const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

        if ((rc & 0xff) == SQLITE_READONLY) {
                snprintf(err, EXPORT_ERROR_MAX,
                         "%s: cannot be read without write access (%s): the database is in WAL "
                         "mode and its -wal/-shm files are missing (vitalsd is not running) or "
                         "need recovery, and this user may not create them. Export while "
                         "vitalsd is running, or as the vitalsd user or root.",
                         path, msg);
                return -EROFS;
        }

        switch (rc & 0xff) {
        case SQLITE_CANTOPEN:
                if (sys == ENOENT) {
                        snprintf(err, EXPORT_ERROR_MAX,
                                 "%s: no such database (is --state-dir or --db right?)", path);
                        return -ENOENT;
                }
                if (sys == EACCES || sys == EPERM || sys == EROFS) {
                        snprintf(err, EXPORT_ERROR_MAX,
                                 "%s: %s. Reading the session log needs read access to the "
                                 "database and, in WAL mode, to its -wal/-shm files (or write "
                                 "access to the directory when those do not exist); members of "
                                 "the vitals group have it.",
                                 path, strerror(sys));
                        return -EACCES;
                }
                snprintf(err, EXPORT_ERROR_MAX, "%s: cannot open: %s%s%s", path, msg,
                         sys ? ": " : "", sys ? strerror(sys) : "");
                return sys ? -sys : -EIO;
        case SQLITE_NOTADB:
                snprintf(err, EXPORT_ERROR_MAX, "%s: not an SQLite database", path);
                return -EMEDIUMTYPE;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                snprintf(err, EXPORT_ERROR_MAX,
                         "%s: still busy after %d ms (is vitalsd recovering it?); try again", path,
                         BUSY_TIMEOUT_MSEC);
                return -EBUSY;
        case SQLITE_CORRUPT:
                snprintf(err, EXPORT_ERROR_MAX, "%s: the database is damaged: %s", path, msg);
                return -EIO;
        default:
                snprintf(err, EXPORT_ERROR_MAX, "%s: %s", path, msg);
                return export_errno_from_sqlite(rc);
        }
}

static int query_int(sqlite3 *db, const char *sql, int64_t *ret)
{
        sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                if (rc == SQLITE_ROW) {
                        *ret = sqlite3_column_int64(st, 0);
                        rc = SQLITE_OK;
                }
        }
        sqlite3_finalize(st);
        return rc;
}

int export_db_open(const char *path, sqlite3 **ret, char err[static EXPORT_ERROR_MAX])
{
        sqlite3 *db = NULL;
        int64_t version = 0, tables = 0;
        int rc, r;

        err[0] = '\0';
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
        if (rc != SQLITE_OK) {
                r = explain_open_failure(db, db ? sqlite3_extended_errcode(db) : rc, path, err);
                sqlite3_close(db);
                return r;
        }
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, BUSY_TIMEOUT_MSEC);
        /* Belt and braces: refuse any write even if the file were opened
         * read-write by a future change. */
        rc = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);

        /* Opening is lazy: the header, the WAL and the -shm are touched only
         * by the first read, so that is where access problems show. */
        if (rc == SQLITE_OK)
                rc = query_int(db, "SELECT count(*) FROM sqlite_master", &tables);
        if (rc == SQLITE_OK)
                rc = query_int(db, "PRAGMA user_version", &version);
        if (rc != SQLITE_OK) {
                r = explain_open_failure(db, rc, path, err);
                sqlite3_close(db);
                return r;
        }
        if (version == 0 || tables == 0) {
                snprintf(err, EXPORT_ERROR_MAX,
                         "%s: not a vitals-logger session log (schema version %lld)", path,
                         (long long)version);
                sqlite3_close(db);
                return -EMEDIUMTYPE;
        }
        if (version > STORE_SCHEMA_VERSION) {
                snprintf(err, EXPORT_ERROR_MAX,
                         "%s: written by a newer vitalsd (schema version %lld); this vitalsctl "
                         "reads up to version %d",
                         path, (long long)version, STORE_SCHEMA_VERSION);
                sqlite3_close(db);
                return -EPROTO;
        }
        *ret = db;
        return 0;
}

void export_db_close(sqlite3 *db)
{
        sqlite3_close(db);
}

int export_snapshot_begin(sqlite3 *db)
{
        return export_errno_from_sqlite(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
}

void export_snapshot_end(sqlite3 *db)
{
        if (!sqlite3_get_autocommit(db))
                (void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

static char *column_strdup(sqlite3_stmt *st, int col, bool *oom)
{
        const unsigned char *t;
        char *s;

        if (sqlite3_column_type(st, col) == SQLITE_NULL)
                return NULL;
        t = sqlite3_column_text(st, col);
        if (!t) {
                *oom = true;
                return NULL;
        }
        s = strdup((const char *)t);
        if (!s)
                *oom = true;
        return s;
}

/* A NOT NULL text column still comes back as "" rather than NULL if the row
 * breaks the schema, so callers never see NULL where the schema promises text. */
static const char *column_text(sqlite3_stmt *st, int col)
{
        const unsigned char *t = sqlite3_column_text(st, col);

        return t ? (const char *)t : "";
}

#define SESSION_COLUMNS                                                                            \
        "id, bed, patient_ref, profile, started_ns, ended_ns, opened_by, closed_by, end_reason"

static int session_from_row(sqlite3_stmt *st, ExportSession *ret)
{
        ExportSession s = {0};
        bool oom = false;

        s.id = sqlite3_column_int64(st, 0);
        s.bed = column_strdup(st, 1, &oom);
        s.patient_ref = column_strdup(st, 2, &oom);
        s.profile = column_strdup(st, 3, &oom);
        s.started_ns = sqlite3_column_int64(st, 4);
        s.ended = sqlite3_column_type(st, 5) != SQLITE_NULL;
        s.ended_ns = s.ended ? sqlite3_column_int64(st, 5) : 0;
        s.opened_by = column_strdup(st, 6, &oom);
        s.closed_by = column_strdup(st, 7, &oom);
        s.end_reason = column_strdup(st, 8, &oom);
        if (!oom && (!s.bed && !(s.bed = strdup(""))))
                oom = true;
        if (!oom && (!s.patient_ref && !(s.patient_ref = strdup(""))))
                oom = true;
        if (!oom && (!s.opened_by && !(s.opened_by = strdup(""))))
                oom = true;
        if (oom) {
                export_session_done(&s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static int session_query(sqlite3 *db, const char *sql, int64_t id, const char *bed,
                         ExportSession *ret)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return export_errno_from_sqlite(rc);
        if (bed)
                sqlite3_bind_text(st, 1, bed, -1, SQLITE_STATIC);
        else
                sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = session_from_row(st, ret);
        else if (rc == SQLITE_DONE)
                r = -ENOENT;
        else
                r = export_errno_from_sqlite(rc);
        sqlite3_finalize(st);
        return r;
}

int export_session_by_id(sqlite3 *db, int64_t id, ExportSession *ret)
{
        return session_query(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?1", id, NULL,
                             ret);
}

int export_session_latest_for_bed(sqlite3 *db, const char *bed, ExportSession *ret)
{
        if (!bed)
                return -EINVAL;
        return session_query(db,
                             "SELECT " SESSION_COLUMNS " FROM sessions WHERE bed = ?1 "
                             "ORDER BY started_ns DESC, id DESC LIMIT 1",
                             0, bed, ret);
}

int export_sessions_foreach(sqlite3 *db, const char *bed, int64_t limit, export_session_fn fn,
                            void *userdata)
{
        sqlite3_stmt *st = NULL;
        int rc, r = 0;

        /* Newest first: the list a nurse scans for "the session I just ran". */
        rc = sqlite3_prepare_v2(db,
                                "SELECT " SESSION_COLUMNS " FROM sessions "
                                "WHERE ?1 IS NULL OR bed = ?1 "
                                "ORDER BY started_ns DESC, id DESC LIMIT ?2",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return export_errno_from_sqlite(rc);
        if (bed)
                sqlite3_bind_text(st, 1, bed, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, limit > 0 ? limit : INT64_MAX);
        while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                ExportSession sess;

                r = session_from_row(st, &sess);
                if (r < 0)
                        break;
                r = fn(userdata, &sess);
                export_session_done(&sess);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = export_errno_from_sqlite(rc);
        sqlite3_finalize(st);
        return r;
}

void export_session_done(ExportSession *s)
{
        if (!s)
                return;
        free(s->bed);
        free(s->patient_ref);
        free(s->profile);
        free(s->opened_by);
        free(s->closed_by);
        free(s->end_reason);
        *s = (ExportSession){0};
}

/* Prepares sql with ?1 = session, ?2 = from, ?3 = to. */
static int prepare_range(sqlite3 *db, const char *sql, int64_t session_id, ExportRange range,
                         sqlite3_stmt **ret)
{
        sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return export_errno_from_sqlite(rc);
        sqlite3_bind_int64(st, 1, session_id);
        sqlite3_bind_int64(st, 2, range.from_ns);
        sqlite3_bind_int64(st, 3, range.to_ns);
        *ret = st;
        return 0;
}

/* After the last sqlite3_step(): r is the callback's verdict, rc the step's. */
static int step_finish(sqlite3_stmt *st, int rc, int r)
{
        if (r >= 0 && rc != SQLITE_DONE)
                r = export_errno_from_sqlite(rc);
        sqlite3_finalize(st);
        return r;
}

/* sqlite3_column_type() is only meaningful before any conversion of that
 * column, and initializer order is unspecified, so NULL-ness is read first. */
static void reading_from_row(sqlite3_stmt *st, ExportReading *ret)
{
        bool value_null = sqlite3_column_type(st, 4) == SQLITE_NULL;
        bool device_time_null = sqlite3_column_type(st, 10) == SQLITE_NULL;

        *ret = (ExportReading){
            .id = sqlite3_column_int64(st, 0),
            .session_id = sqlite3_column_int64(st, 1),
            .device = column_text(st, 2),
            .parameter = column_text(st, 3),
            .has_value = !value_null,
            .value = sqlite3_column_double(st, 4),
            .unit = column_text(st, 5),
            .status = column_text(st, 6),
            .flags = (uint32_t)sqlite3_column_int64(st, 7),
            .wall_ns = sqlite3_column_int64(st, 8),
            .mono_ns = sqlite3_column_int64(st, 9),
            .has_device_time = !device_time_null,
            .device_ns = sqlite3_column_int64(st, 10),
        };
}

int export_readings_foreach(sqlite3 *db, int64_t session_id, ExportRange range,
                            export_reading_fn fn, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r;

        /* ORDER BY matches the (session_id, wall_ns) index with its implicit
         * rowid, so rows stream without a sort. */
        r = prepare_range(db,
                          "SELECT id, session_id, device, parameter, value, unit, status, flags, "
                          "wall_ns, mono_ns, device_ns FROM readings "
                          "WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3 "
                          "ORDER BY wall_ns, id",
                          session_id, range, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ExportReading row;

                reading_from_row(st, &row);
                r = fn(userdata, &row);
                if (r < 0)
                        break;
        }
        return step_finish(st, rc, r);
}

static void alarm_from_row(sqlite3_stmt *st, ExportAlarm *ret)
{
        bool session_null = sqlite3_column_type(st, 2) == SQLITE_NULL;
        bool phase_null = sqlite3_column_type(st, 10) == SQLITE_NULL;
        bool value_null = sqlite3_column_type(st, 11) == SQLITE_NULL;
        bool limit_null = sqlite3_column_type(st, 12) == SQLITE_NULL;
        bool detail_null = sqlite3_column_type(st, 14) == SQLITE_NULL;

        *ret = (ExportAlarm){
            .id = sqlite3_column_int64(st, 0),
            .alarm_id = sqlite3_column_int64(st, 1),
            .has_session = !session_null,
            .session_id = sqlite3_column_int64(st, 2),
            .bed = column_text(st, 3),
            .wall_ns = sqlite3_column_int64(st, 4),
            .mono_ns = sqlite3_column_int64(st, 5),
            .condition = column_text(st, 6),
            .technical = sqlite3_column_int64(st, 7) != 0,
            .priority = column_text(st, 8),
            .state = column_text(st, 9),
            .phase = phase_null ? NULL : column_text(st, 10),
            .has_value = !value_null,
            .value = sqlite3_column_double(st, 11),
            .has_limit = !limit_null,
            .limit_value = sqlite3_column_double(st, 12),
            .actor = column_text(st, 13),
            .detail = detail_null ? NULL : column_text(st, 14),
        };
}

int export_alarms_foreach(sqlite3 *db, int64_t session_id, ExportRange range, export_alarm_fn fn,
                          void *userdata)
{
        sqlite3_stmt *st;
        int rc, r;

        r = prepare_range(db,
                          "SELECT id, alarm_id, session_id, bed, wall_ns, mono_ns, condition, "
                          "technical, priority, state, phase, value, limit_value, actor, detail "
                          "FROM alarm_events "
                          "WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3 "
                          "ORDER BY wall_ns, id",
                          session_id, range, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ExportAlarm a;

                alarm_from_row(st, &a);
                r = fn(userdata, &a);
                if (r < 0)
                        break;
        }
        return step_finish(st, rc, r);
}

static void marker_from_row(sqlite3_stmt *st, ExportMarker *ret)
{
        bool text_null = sqlite3_column_type(st, 5) == SQLITE_NULL;

        *ret = (ExportMarker){
            .id = sqlite3_column_int64(st, 0),
            .session_id = sqlite3_column_int64(st, 1),
            .wall_ns = sqlite3_column_int64(st, 2),
            .mono_ns = sqlite3_column_int64(st, 3),
            .kind = column_text(st, 4),
            .text = text_null ? NULL : column_text(st, 5),
            .actor = column_text(st, 6),
        };
}

int export_markers_foreach(sqlite3 *db, int64_t session_id, ExportRange range, export_marker_fn fn,
                           void *userdata)
{
        sqlite3_stmt *st;
        int rc, r;

        r = prepare_range(db,
                          "SELECT id, session_id, wall_ns, mono_ns, kind, text, actor "
                          "FROM markers "
                          "WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3 "
                          "ORDER BY wall_ns, id",
                          session_id, range, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ExportMarker m;

                marker_from_row(st, &m);
                r = fn(userdata, &m);
                if (r < 0)
                        break;
        }
        return step_finish(st, rc, r);
}

void export_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

static int parameter_rank(const char *name)
{
        const CatalogueEntry *all;
        unsigned n;

        all = catalogue_entries(&n);
        for (unsigned i = 0; i < n; i++)
                if (strcmp(all[i].name, name) == 0)
                        return (int)i;
        return (int)n;
}

static int parameter_compare(const void *a, const void *b)
{
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        int rx = parameter_rank(x), ry = parameter_rank(y);

        if (rx != ry)
                return rx < ry ? -1 : 1;
        return strcmp(x, y);
}

/* The first column of every row of sql (bound as prepare_range()) as a
 * NULL-terminated string array. */
static int query_strv(sqlite3 *db, const char *sql, int64_t session_id, ExportRange range,
                      char ***ret, size_t *ret_n)
{
        sqlite3_stmt *st;
        char **v = NULL;
        size_t n = 0, allocated = 0;
        int rc, r;

        r = prepare_range(db, sql, session_id, range, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n + 2 > allocated) {
                        size_t want = allocated ? allocated * 2 : 16;
                        char **nv = realloc(v, want * sizeof(char *));

                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        v = nv;
                        allocated = want;
                }
                v[n] = strdup(column_text(st, 0));
                if (!v[n]) {
                        r = -ENOMEM;
                        break;
                }
                v[++n] = NULL;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = export_errno_from_sqlite(rc);
        sqlite3_finalize(st);
        if (r >= 0 && !v) {
                v = calloc(1, sizeof(char *));
                if (!v)
                        r = -ENOMEM;
        }
        if (r < 0) {
                if (v)
                        v[n] = NULL;
                export_strv_free(v);
                return r;
        }
        *ret = v;
        if (ret_n)
                *ret_n = n;
        return 0;
}

int export_parameters(sqlite3 *db, int64_t session_id, ExportRange range, char ***ret,
                      size_t *ret_n)
{
        size_t n = 0;
        int r;

        r = query_strv(db,
                       "SELECT DISTINCT parameter FROM readings "
                       "WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3",
                       session_id, range, ret, &n);
        if (r < 0)
                return r;
        qsort(*ret, n, sizeof(char *), parameter_compare);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int export_devices(sqlite3 *db, int64_t session_id, ExportRange range, char ***ret, size_t *ret_n)
{
        return query_strv(db,
                          "SELECT DISTINCT device FROM readings "
                          "WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3 "
                          "ORDER BY device",
                          session_id, range, ret, ret_n);
}

int export_session_extent(sqlite3 *db, int64_t session_id, ExportRange range, int64_t *ret_first_ns,
                          int64_t *ret_last_ns)
{
        sqlite3_stmt *st;
        int rc, r;

        /* Each arm uses the (session_id, wall_ns) index or its table's small size. */
        r = prepare_range(db,
                          "SELECT min(f), max(l) FROM ("
                          " SELECT min(wall_ns) AS f, max(wall_ns) AS l FROM readings"
                          "  WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3"
                          " UNION ALL"
                          " SELECT min(wall_ns), max(wall_ns) FROM alarm_events"
                          "  WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3"
                          " UNION ALL"
                          " SELECT min(wall_ns), max(wall_ns) FROM markers"
                          "  WHERE session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3)",
                          session_id, range, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
                        r = -ENOENT;
                } else {
                        *ret_first_ns = sqlite3_column_int64(st, 0);
                        *ret_last_ns = sqlite3_column_int64(st, 1);
                        r = 0;
                }
        } else {
                r = export_errno_from_sqlite(rc);
        }
        sqlite3_finalize(st);
        return r;
}

/* The first row of sql (bound as prepare_range(), ?4 = parameter, ?5 =
 * offset when the statement has it): its columns as int64 and double, and
 * whether column 0 was not NULL. */
typedef struct StatsRow {
        bool found;
        int64_t i[3];
        double d[3];
} StatsRow;

static int stats_row(sqlite3 *db, const char *sql, int64_t session_id, ExportRange range,
                     const char *parameter, int64_t offset, StatsRow *ret)
{
        sqlite3_stmt *st;
        int rc, r;

        r = prepare_range(db, sql, session_id, range, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 4, parameter, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 5)
                sqlite3_bind_int64(st, 5, offset);
        *ret = (StatsRow){0};
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                int n = sqlite3_column_count(st);

                ret->found = sqlite3_column_type(st, 0) != SQLITE_NULL;
                for (int c = 0; c < n && c < 3; c++) {
                        ret->i[c] = sqlite3_column_int64(st, c);
                        ret->d[c] = sqlite3_column_double(st, c);
                }
                rc = SQLITE_DONE;
        }
        return step_finish(st, rc, 0);
}

#define STATS_WHERE "session_id = ?1 AND wall_ns >= ?2 AND wall_ns < ?3 AND parameter = ?4"
#define STATS_VALUE_WHERE                                                                          \
        STATS_WHERE " AND value IS NOT NULL AND status IN ('valid', 'questionable')"

int export_parameter_stats(sqlite3 *db, int64_t session_id, ExportRange range,
                           const char *parameter, ExportParameterStats *ret)
{
        ExportParameterStats s = {0};
        StatsRow row;
        int r;

        r = stats_row(db, "SELECT count(*), min(value), max(value) FROM readings WHERE "
                      STATS_VALUE_WHERE, session_id, range, parameter, 0, &row);
        if (r < 0)
                return r;
        s.n_values = row.i[0];
        s.min = row.d[1];
        s.max = row.d[2];
        r = stats_row(db, "SELECT count(*) FROM readings WHERE " STATS_WHERE, session_id, range,
                      parameter, 0, &row);
        if (r < 0)
                return r;
        s.n_without = row.i[0] - s.n_values;

        if (s.n_values > 0) {
                /* Two rows from the middle; the second only matters for an even count. */
                sqlite3_stmt *st;
                double mid[2] = {0, 0};
                int rc, k = 0;

                r = prepare_range(db,
                                  "SELECT value FROM readings WHERE " STATS_VALUE_WHERE
                                  " ORDER BY value LIMIT 2 OFFSET ?5",
                                  session_id, range, &st);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 4, parameter, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, (s.n_values - 1) / 2);
                while ((rc = sqlite3_step(st)) == SQLITE_ROW && k < 2)
                        mid[k++] = sqlite3_column_double(st, 0);
                r = step_finish(st, rc, 0);
                if (r < 0)
                        return r;
                s.median = s.n_values % 2 == 0 && k == 2 ? (mid[0] + mid[1]) / 2 : mid[0];
        }
        if (s.n_values + s.n_without >= 2) {
                /* The median spacing of this parameter's readings (any status):
                 * what the monitor normally sends, which a gap is measured against. */
                r = stats_row(db,
                              "WITH t AS (SELECT wall_ns - lag(wall_ns) OVER (ORDER BY wall_ns) "
                              "AS d FROM readings WHERE " STATS_WHERE ") "
                              "SELECT d FROM t WHERE d > 0 ORDER BY d LIMIT 1 OFFSET "
                              "(SELECT (count(*) - 1) / 2 FROM t WHERE d > 0)",
                              session_id, range, parameter, 0, &row);
                if (r < 0)
                        return r;
                if (row.found)
                        s.interval_ns = row.i[0];
        }
        *ret = s;
        return 0;
}
