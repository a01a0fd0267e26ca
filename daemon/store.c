/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c — the session log writer (see store.h for the schema).
 *
 * Owns: the SQLite connection of the daemon, the schema and its
 * migrations, and the ordered write queue.  It may block on disk I/O
 * inside store_flush() (one transaction per tick, synchronous=FULL).  When
 * a commit fails the transaction is rolled back and the queue is kept as
 * it was; the daemon raises a technical alarm and calls store_flush()
 * again on the next tick.  When the queue reaches queue_max the oldest
 * readings are dropped (never session changes, markers or alarm events)
 * and counted, so memory stays bounded however long the disk stays full.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

typedef enum OpKind {
        OP_READING,
        OP_SESSION_OPEN,
        OP_SESSION_CLOSE,
        OP_SESSION_PROFILE,
        OP_MARKER,
        OP_ALARM,
} OpKind;

#define TEXT_MAX 128

/* Text of the rarer ops (sessions, markers, alarm events); readings, the
 * bulk of the queue, do without it to keep a queued reading small. */
typedef struct OpText {
        char b[TEXT_MAX]; /* patient_ref | actor */
        char c[TEXT_MAX]; /* profile | reason | priority */
        char d[TEXT_MAX]; /* opened_by | state */
        char e[TEXT_MAX]; /* phase */
        char f[TEXT_MAX]; /* alarm bed */
} OpText;

typedef struct Op {
        struct Op *next;
        OpKind kind;
        int64_t session_id;
        int64_t wall_ns, mono_ns;
        char a[64]; /* device | bed | kind | condition */
        OpText *t;  /* NULL for readings */
        char *text; /* marker text / alarm detail (heap, may be NULL) */
        Reading reading;
        int64_t alarm_id;
        int technical;
        double value, limit_value;
} Op;

enum {
        STMT_READING,
        STMT_SESSION_OPEN,
        STMT_SESSION_CLOSE,
        STMT_SESSION_PROFILE,
        STMT_MARKER,
        STMT_ALARM,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_READING] = "INSERT INTO readings(session_id, device, parameter, value, unit, status, "
                         "flags, wall_ns, mono_ns, device_ns) VALUES(?,?,?,?,?,?,?,?,?,?)",
        [STMT_SESSION_OPEN] = "INSERT INTO sessions(id, bed, patient_ref, profile, started_ns, "
                              "opened_by) VALUES(?,?,?,?,?,?)",
        [STMT_SESSION_CLOSE] = "UPDATE sessions SET ended_ns=?, closed_by=?, end_reason=? WHERE "
                               "id=? AND ended_ns IS NULL",
        [STMT_SESSION_PROFILE] = "UPDATE sessions SET profile=? WHERE id=?",
        [STMT_MARKER] = "INSERT INTO markers(session_id, wall_ns, mono_ns, kind, text, actor) "
                        "VALUES(?,?,?,?,?,?)",
        [STMT_ALARM] = "INSERT INTO alarm_events(alarm_id, session_id, bed, wall_ns, mono_ns, "
                       "condition, technical, priority, state, phase, value, limit_value, actor, "
                       "detail) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
};

struct Store {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *stmt[_STMT_MAX];
        Op *head, *tail;
        size_t queued, queue_max;
        bool flush_wanted;
        int64_t next_session_id;
        StoreStats stats;
};

/* Forward migrations: index i takes user_version i to i+1. */
static const char *const migrations[] = {
        "CREATE TABLE sessions ("
        " id INTEGER PRIMARY KEY,"
        " bed TEXT NOT NULL,"
        " patient_ref TEXT NOT NULL,"
        " profile TEXT,"
        " started_ns INTEGER NOT NULL,"
        " ended_ns INTEGER,"
        " opened_by TEXT NOT NULL,"
        " closed_by TEXT,"
        " end_reason TEXT);"
        "CREATE INDEX sessions_by_bed ON sessions(bed, started_ns);"
        "CREATE TABLE readings ("
        " id INTEGER PRIMARY KEY,"
        " session_id INTEGER NOT NULL,"
        " device TEXT NOT NULL,"
        " parameter TEXT NOT NULL,"
        " value REAL,"
        " unit TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " flags INTEGER NOT NULL DEFAULT 0,"
        " wall_ns INTEGER NOT NULL,"
        " mono_ns INTEGER NOT NULL,"
        " device_ns INTEGER);"
        "CREATE INDEX readings_by_session ON readings(session_id, wall_ns);"
        "CREATE TABLE markers ("
        " id INTEGER PRIMARY KEY,"
        " session_id INTEGER NOT NULL,"
        " wall_ns INTEGER NOT NULL,"
        " mono_ns INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " text TEXT,"
        " actor TEXT NOT NULL);"
        "CREATE INDEX markers_by_session ON markers(session_id, wall_ns);"
        "CREATE TABLE alarm_events ("
        " id INTEGER PRIMARY KEY,"
        " alarm_id INTEGER NOT NULL,"
        " session_id INTEGER,"
        " bed TEXT NOT NULL,"
        " wall_ns INTEGER NOT NULL,"
        " mono_ns INTEGER NOT NULL,"
        " condition TEXT NOT NULL,"
        " technical INTEGER NOT NULL,"
        " priority TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " phase TEXT,"
        " value REAL,"
        " limit_value REAL,"
        " actor TEXT NOT NULL,"
        " detail TEXT);"
        "CREATE INDEX alarm_events_by_session ON alarm_events(session_id, wall_ns);",
};

static int sqlite_to_errno(int rc)
{
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EROFS;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

static int exec(sqlite3 *db, const char *sql)
{
        return sqlite_to_errno(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int migrate(sqlite3 *db)
{
        sqlite3_stmt *st;
        int version = 0, r;
        const int target = (int)(sizeof(migrations) / sizeof(migrations[0]));

        if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(st) == SQLITE_ROW)
                version = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);

        if (version > target)
                return -EPROTONOSUPPORT; /* written by a newer vitalsd: do not touch */
        for (; version < target; version++) {
                char pragma[64];
                r = exec(db, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                r = exec(db, migrations[version]);
                snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", version + 1);
                if (r >= 0)
                        r = exec(db, pragma);
                if (r >= 0)
                        r = exec(db, "COMMIT");
                if (r < 0) {
                        exec(db, "ROLLBACK");
                        return r;
                }
        }
        return 0;
}

int store_open(const char *path, size_t queue_max, Store **ret)
{
        Store *s;
        int r, fd;
        sqlite3_stmt *st;

        /* Create the file ourselves so it is never world-readable, whatever
         * the umask: 0640, group-readable by the console group. */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        (void)fchmod(fd, 0640);
        close(fd);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->queue_max = queue_max ? queue_max : 131072;
        s->path = strdup(path);
        if (!s->path) {
                free(s);
                return -ENOMEM;
        }

        r = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (r != SQLITE_OK) {
                r = sqlite_to_errno(r);
                goto fail;
        }
        sqlite3_busy_timeout(s->db, 5000);
        sqlite3_extended_result_codes(s->db, 1);
        /* Keep -wal/-shm after a clean close so that members of the console
         * group, who cannot create files in the state directory, can still
         * open the log read-only for export while vitalsd is stopped. */
        {
                int persist = 1;
                sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
        }
        r = exec(s->db, "PRAGMA journal_mode=WAL");
        if (r >= 0)
                r = exec(s->db, "PRAGMA synchronous=FULL");
        if (r >= 0)
                r = exec(s->db, "PRAGMA foreign_keys=OFF");
        if (r >= 0)
                r = migrate(s->db);
        if (r < 0)
                goto fail;
        for (int i = 0; i < _STMT_MAX; i++)
                if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                       &s->stmt[i], NULL) != SQLITE_OK) {
                        r = -EIO;
                        goto fail;
                }
        s->next_session_id = 1;
        if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(id),0) FROM sessions", -1, &st,
                               NULL) == SQLITE_OK) {
                if (sqlite3_step(st) == SQLITE_ROW)
                        s->next_session_id = sqlite3_column_int64(st, 0) + 1;
                sqlite3_finalize(st);
        }
        /* The WAL and shm files are created with the db's mode by SQLite. */
        s->stats.queue_max = s->queue_max;
        *ret = s;
        return 0;
fail:
        store_close(s);
        return r;
}

static void op_free(Op *op)
{
        free(op->t);
        free(op->text);
        free(op);
}

void store_close(Store *s)
{
        if (!s)
                return;
        if (s->db && s->head)
                (void)store_flush(s);
        for (int i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        if (s->db)
                sqlite3_close(s->db);
        while (s->head) {
                Op *n = s->head->next;
                op_free(s->head);
                s->head = n;
        }
        free(s->path);
        free(s);
}

#define copy(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

/* Drops the oldest queued reading to make room; other ops are never dropped. */
static void make_room(Store *s)
{
        Op *prev = NULL;

        if (s->queued < s->queue_max)
                return;
        for (Op *op = s->head; op; prev = op, op = op->next) {
                if (op->kind != OP_READING)
                        continue;
                if (prev)
                        prev->next = op->next;
                else
                        s->head = op->next;
                if (s->tail == op)
                        s->tail = prev;
                op_free(op);
                s->queued--;
                s->stats.dropped++;
                return;
        }
}

static Op *op_new(Store *s, OpKind kind)
{
        Op *op;

        if (kind == OP_READING)
                make_room(s);
        op = calloc(1, sizeof(*op));
        if (!op)
                return NULL;
        if (kind != OP_READING) {
                op->t = calloc(1, sizeof(*op->t));
                if (!op->t) {
                        free(op);
                        return NULL;
                }
        }
        op->kind = kind;
        if (s->tail)
                s->tail->next = op;
        else
                s->head = op;
        s->tail = op;
        s->queued++;
        if (kind != OP_READING)
                s->flush_wanted = true;
        return op;
}

int64_t store_session_open(Store *s, const char *bed, const char *patient_ref,
                           const char *profile, int64_t wall_ns, const char *actor)
{
        int64_t id = s->next_session_id++;
        Op *op = op_new(s, OP_SESSION_OPEN);

        if (!op)
                return -ENOMEM;
        op->session_id = id;
        op->wall_ns = wall_ns;
        copy(op->a, bed);
        if (patient_ref && *patient_ref)
                copy(op->t->b, patient_ref);
        else
                snprintf(op->t->b, sizeof(op->t->b), "SESSION-%lld", (long long)id);
        copy(op->t->c, profile);
        copy(op->t->d, actor ? actor : "auto");
        return id;
}

void store_session_close(Store *s, int64_t session_id, int64_t wall_ns, const char *actor,
                         const char *reason)
{
        Op *op = op_new(s, OP_SESSION_CLOSE);

        if (!op)
                return;
        op->session_id = session_id;
        op->wall_ns = wall_ns;
        copy(op->t->b, actor ? actor : "auto");
        copy(op->t->c, reason);
}

void store_session_set_profile(Store *s, int64_t session_id, const char *profile)
{
        Op *op = op_new(s, OP_SESSION_PROFILE);

        if (!op)
                return;
        op->session_id = session_id;
        copy(op->t->c, profile);
}

void store_marker_add(Store *s, int64_t session_id, int64_t wall_ns, int64_t mono_ns,
                      const char *kind, const char *text, const char *actor)
{
        Op *op = op_new(s, OP_MARKER);

        if (!op)
                return;
        op->session_id = session_id;
        op->wall_ns = wall_ns;
        op->mono_ns = mono_ns;
        copy(op->a, kind);
        copy(op->t->b, actor);
        op->text = text ? strdup(text) : NULL;
}

void store_alarm_event_add(Store *s, const StoreAlarmEvent *e)
{
        Op *op = op_new(s, OP_ALARM);

        if (!op)
                return;
        op->alarm_id = e->alarm_id;
        op->session_id = e->session_id;
        op->wall_ns = e->wall_ns;
        op->mono_ns = e->mono_ns;
        copy(op->a, e->condition);
        copy(op->t->b, e->actor ? e->actor : "vitalsd");
        copy(op->t->c, e->priority);
        copy(op->t->d, e->state);
        copy(op->t->e, e->phase);
        copy(op->t->f, e->bed);
        op->technical = e->technical;
        op->value = e->value;
        op->limit_value = e->limit_value;
        op->text = e->detail ? strdup(e->detail) : NULL;
}

void store_reading_add(Store *s, int64_t session_id, const char *device, const Reading *r)
{
        Op *op = op_new(s, OP_READING);

        if (!op)
                return;
        op->session_id = session_id;
        copy(op->a, device);
        op->reading = *r;
}

bool store_flush_wanted(const Store *s)
{
        return s->flush_wanted;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
        if (v && *v)
                sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

static void bind_double_or_null(sqlite3_stmt *st, int i, double v)
{
        if (isfinite(v))
                sqlite3_bind_double(st, i, v);
        else
                sqlite3_bind_null(st, i);
}

static int run_op(Store *s, const Op *op)
{
        sqlite3_stmt *st;
        int rc;

        switch (op->kind) {
        case OP_READING: {
                const Reading *r = &op->reading;
                bool has_value = r->status == READING_VALID || r->status == READING_QUESTIONABLE;
                st = s->stmt[STMT_READING];
                sqlite3_bind_int64(st, 1, op->session_id);
                sqlite3_bind_text(st, 2, op->a, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, r->parameter, -1, SQLITE_STATIC);
                bind_double_or_null(st, 4, has_value ? r->value : NAN);
                sqlite3_bind_text(st, 5, r->unit, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 6, reading_status_to_string(r->status), -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 7, r->flags);
                sqlite3_bind_int64(st, 8, r->wall_ns);
                sqlite3_bind_int64(st, 9, r->mono_ns);
                if (r->device_time_ns)
                        sqlite3_bind_int64(st, 10, r->device_time_ns);
                else
                        sqlite3_bind_null(st, 10);
                break;
        }
        case OP_SESSION_OPEN:
                st = s->stmt[STMT_SESSION_OPEN];
                sqlite3_bind_int64(st, 1, op->session_id);
                sqlite3_bind_text(st, 2, op->a, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, op->t->b, -1, SQLITE_STATIC);
                bind_text_or_null(st, 4, op->t->c);
                sqlite3_bind_int64(st, 5, op->wall_ns);
                sqlite3_bind_text(st, 6, op->t->d, -1, SQLITE_STATIC);
                break;
        case OP_SESSION_CLOSE:
                st = s->stmt[STMT_SESSION_CLOSE];
                sqlite3_bind_int64(st, 1, op->wall_ns);
                sqlite3_bind_text(st, 2, op->t->b, -1, SQLITE_STATIC);
                bind_text_or_null(st, 3, op->t->c);
                sqlite3_bind_int64(st, 4, op->session_id);
                break;
        case OP_SESSION_PROFILE:
                st = s->stmt[STMT_SESSION_PROFILE];
                bind_text_or_null(st, 1, op->t->c);
                sqlite3_bind_int64(st, 2, op->session_id);
                break;
        case OP_MARKER:
                st = s->stmt[STMT_MARKER];
                sqlite3_bind_int64(st, 1, op->session_id);
                sqlite3_bind_int64(st, 2, op->wall_ns);
                sqlite3_bind_int64(st, 3, op->mono_ns);
                sqlite3_bind_text(st, 4, op->a, -1, SQLITE_STATIC);
                bind_text_or_null(st, 5, op->text);
                sqlite3_bind_text(st, 6, op->t->b, -1, SQLITE_STATIC);
                break;
        case OP_ALARM:
                st = s->stmt[STMT_ALARM];
                sqlite3_bind_int64(st, 1, op->alarm_id);
                if (op->session_id > 0)
                        sqlite3_bind_int64(st, 2, op->session_id);
                else
                        sqlite3_bind_null(st, 2);
                sqlite3_bind_text(st, 3, op->t->f, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, op->wall_ns);
                sqlite3_bind_int64(st, 5, op->mono_ns);
                sqlite3_bind_text(st, 6, op->a, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 7, op->technical);
                sqlite3_bind_text(st, 8, op->t->c, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 9, op->t->d, -1, SQLITE_STATIC);
                bind_text_or_null(st, 10, op->t->e);
                bind_double_or_null(st, 11, op->value);
                bind_double_or_null(st, 12, op->limit_value);
                sqlite3_bind_text(st, 13, op->t->b, -1, SQLITE_STATIC);
                bind_text_or_null(st, 14, op->text);
                break;
        default:
                return -EINVAL;
        }
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_flush(Store *s)
{
        int r;
        uint64_t rows = 0;

        if (!s->head) {
                s->flush_wanted = false;
                return 0;
        }
        r = exec(s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                goto fail;
        for (const Op *op = s->head; op; op = op->next) {
                r = run_op(s, op);
                if (r < 0)
                        break;
                rows++;
        }
        if (r >= 0)
                r = exec(s->db, "COMMIT");
        if (r < 0) {
                /* A failed COMMIT under SQLITE_FULL/IOERR may already have rolled back. */
                if (!sqlite3_get_autocommit(s->db))
                        exec(s->db, "ROLLBACK");
                goto fail;
        }
        while (s->head) {
                Op *n = s->head->next;
                op_free(s->head);
                s->head = n;
        }
        s->tail = NULL;
        s->queued = 0;
        s->flush_wanted = false;
        s->stats.commits++;
        s->stats.rows_written += rows;
        s->stats.last_error = 0;
        return 0;
fail:
        s->stats.commit_failures++;
        s->stats.last_error = r;
        return r;
}

void store_get_stats(const Store *s, StoreStats *ret)
{
        *ret = s->stats;
        ret->queued = s->queued;
        ret->queue_max = s->queue_max;
}

int store_open_sessions(Store *s,
                        void (*fn)(void *ud, int64_t id, const char *bed, const char *patient_ref,
                                   const char *profile, int64_t started_ns, bool automatic),
                        void *ud)
{
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, bed, patient_ref, profile, started_ns, opened_by FROM sessions "
                                "WHERE ended_ns IS NULL ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                fn(ud, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                   (const char *)sqlite3_column_text(st, 2),
                   (const char *)sqlite3_column_text(st, 3), sqlite3_column_int64(st, 4),
                   strcmp((const char *)sqlite3_column_text(st, 5), "auto") == 0);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int64_t store_next_alarm_id(Store *s)
{
        sqlite3_stmt *st;
        int64_t next = 1;

        if (sqlite3_prepare_v2(s->db, "SELECT COALESCE(MAX(alarm_id),0)+1 FROM alarm_events", -1,
                               &st, NULL) != SQLITE_OK)
                return next;
        if (sqlite3_step(st) == SQLITE_ROW)
                next = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return next;
}

const char *store_session_phase(Store *s, int64_t session_id)
{
        sqlite3_stmt *st;
        const char *phase = "baseline";

        if (sqlite3_prepare_v2(s->db,
                               "SELECT kind FROM markers WHERE session_id = ?1 AND kind IN "
                               "('infusion-start','infusion-end') ORDER BY wall_ns DESC, id DESC "
                               "LIMIT 1",
                               -1, &st, NULL) != SQLITE_OK)
                return phase;
        sqlite3_bind_int64(st, 1, session_id);
        if (sqlite3_step(st) == SQLITE_ROW)
                phase = strcmp((const char *)sqlite3_column_text(st, 0), "infusion-start") == 0
                                ? "infusion"
                                : "recovery";
        sqlite3_finalize(st);
        return phase;
}
