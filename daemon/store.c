/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c — the session log writer (see store.h for the schema).
 *
 * Owns: the SQLite connection of the daemon, the schema and its
 * migrations, the ordered write queue and the writer thread.
 *
 * The event loop never waits for the disk.  store_commit_start() hands the
 * whole queue, as one batch, to the writer thread, which runs it as one
 * transaction (synchronous=FULL; WAL checkpoints happen there too) and
 * signals an eventfd when it is done; the loop collects the result with
 * store_commit_reap().  Only one batch runs at a time and the loop keeps
 * queueing meanwhile.  The batch and the done/result fields are the only
 * things the two threads share, under one mutex; while a batch runs the
 * writer alone touches the connection, otherwise only the loop does (the
 * start-up queries).  Why a thread: with 1,000 beds a tick commits 3,000
 * rows into 1,000 places of the readings index, tens of milliseconds in
 * which the loop could not read a monitor or push an alarm (issue 8's
 * benchmark: alarm latency p99 19 ms).
 *
 * When a commit fails the transaction is rolled back and the batch goes
 * back to the head of the queue, in order; the daemon raises a technical
 * alarm and starts a commit again on the next tick.  When the queue reaches
 * queue_max the oldest queued readings are dropped (never session changes,
 * markers or alarm events, never a batch being written) and counted, so
 * memory stays bounded however long the disk stays full.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
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

typedef enum BatchState {
        BATCH_NONE,    /* the writer is idle; the loop may use the connection */
        BATCH_RUNNING, /* handed to the writer, which owns the connection */
        BATCH_DONE,    /* written or failed; waiting for store_commit_reap() */
} BatchState;

struct Store {
        sqlite3 *db;
        char *path;
        sqlite3_stmt *stmt[_STMT_MAX];
        /* The loop's queue. */
        Op *head, *tail;
        size_t queued, queue_max;
        size_t queued_readings;
        bool flush_wanted;
        bool close_queued; /* a session close is queued: commit it with its readings */
        int64_t next_session_id;
        StoreStats stats;
        void (*wanted_fn)(void *userdata); /* a commit should start soon */
        void *wanted_userdata;

        /* The batch and the writer; state, result, rows and quit are read
         * and written under lock only. */
        pthread_t writer;
        bool writer_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int done_fd; /* eventfd, written by the writer after each batch */
        Op *batch, *batch_tail;
        size_t batch_n, batch_readings;
        bool batch_close; /* the batch holds a session close */
        bool batch_wanted; /* the batch held something that asked for a commit */
        BatchState state;
        struct timespec started; /* CLOCK_MONOTONIC, when the batch was handed over */
        int result;
        uint64_t rows;
        bool quit;
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


static int commit_ops(Store *s, const Op *ops, uint64_t *ret_rows);

/* state is written under lock; the loop also reads it without the lock
 * (only the loop moves it away from BATCH_NONE, so such a read is never
 * stale in a way that matters), hence atomic accesses. */
static BatchState state_of(const Store *s)
{
        return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

static void *writer_main(void *userdata)
{
        Store *s = userdata;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                uint64_t rows = 0, one = 1;
                int r;

                while (s->state != BATCH_RUNNING && !s->quit)
                        pthread_cond_wait(&s->cond, &s->lock);
                if (s->state != BATCH_RUNNING)
                        break; /* quit, nothing handed over */
                pthread_mutex_unlock(&s->lock);
                /* The batch is ours until state leaves BATCH_RUNNING. */
                r = commit_ops(s, s->batch, &rows);
                pthread_mutex_lock(&s->lock);
                s->result = r;
                s->rows = rows;
                __atomic_store_n(&s->state, BATCH_DONE, __ATOMIC_RELEASE);
                pthread_cond_broadcast(&s->cond);
                if (write(s->done_fd, &one, sizeof(one)) < 0) {
                        /* Cannot happen short of 2^64 - 1 unread batches;
                         * store_commit_reap() polls the state anyway. */
                }
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static int start_writer(Store *s)
{
        sigset_t all, old;
        int r;

        s->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->done_fd < 0)
                return -errno;
        /* The writer inherits a mask with every signal blocked, so that the
         * loop's signalfd (SIGTERM, SIGHUP...) is the only taker. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&s->writer, NULL, writer_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        s->writer_started = true;
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
        s->done_fd = -1;
        pthread_mutex_init(&s->lock, NULL);
        {
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_init(&s->cond, &ca);
                pthread_condattr_destroy(&ca);
        }
        s->path = strdup(path);
        if (!s->path) {
                store_close(s);
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
        r = start_writer(s);
        if (r < 0)
                goto fail;
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

static void free_ops(Op *op)
{
        while (op) {
                Op *n = op->next;
                op_free(op);
                op = n;
        }
}

/* How long closing waits for the disk before giving up on what is queued. */
#define CLOSE_TIMEOUT_NS (5 * INT64_C(1000000000))

void store_close(Store *s)
{
        if (!s)
                return;
        if (s->writer_started) {
                /* (A batch already that old is stuck: no second wait.) */
                if ((s->head || state_of(s) != BATCH_NONE) &&
                    store_commit_age_ns(s) < CLOSE_TIMEOUT_NS)
                        (void)store_flush_timeout(s, CLOSE_TIMEOUT_NS);
                if (state_of(s) == BATCH_RUNNING) {
                        /* The disk does not answer: the writer is stuck in a
                         * write and owns the connection.  Leave both to the
                         * process's exit rather than hang the stop; what is
                         * not committed is rolled back by SQLite's WAL. */
                        pthread_detach(s->writer);
                        return;
                }
                pthread_mutex_lock(&s->lock);
                s->quit = true;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->writer, NULL);
                free_ops(s->batch); /* only when the last commit failed */
        }
        if (s->done_fd >= 0)
                close(s->done_fd);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        for (int i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        if (s->db)
                sqlite3_close(s->db);
        free_ops(s->head);
        free(s->path);
        free(s);
}

/* strlcpy-like, without printf's machinery: a reading is queued thousands
 * of times a second. */
static void copy_text(char *dst, size_t size, const char *src)
{
        size_t n = src ? strnlen(src, size - 1) : 0;

        memcpy(dst, src ? src : "", n);
        dst[n] = '\0';
}
#define copy(dst, src) copy_text((dst), sizeof(dst), (src))

/* Drops the oldest queued reading to make room; other ops are never dropped. */
static void make_room(Store *s)
{
        Op *prev = NULL;

        if (s->queued + s->batch_n < s->queue_max)
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
                s->queued_readings--;
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
        if (kind == OP_READING)
                s->queued_readings++;
        else
                s->flush_wanted = true;
        if (kind == OP_SESSION_CLOSE)
                s->close_queued = true;
        if (s->wanted_fn && (kind != OP_READING || s->queued >= s->queue_max / 4))
                s->wanted_fn(s->wanted_userdata);
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

void store_set_wanted_callback(Store *s, void (*fn)(void *userdata), void *userdata)
{
        s->wanted_fn = fn;
        s->wanted_userdata = userdata;
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

/* One transaction for the ops; runs on the writer thread (or on the loop
 * while the writer is idle, at start-up). 0 or -errno, rolled back. */
static int commit_ops(Store *s, const Op *ops, uint64_t *ret_rows)
{
        uint64_t rows = 0;
        int r;

        r = exec(s->db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        for (const Op *op = ops; op; op = op->next) {
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
                return r;
        }
        *ret_rows = rows;
        return 0;
}

/* Moves the ops that are not readings, in order, from the queue to a list
 * of their own; the readings stay queued, in order. */
static void take_urgent(Store *s, Op **ret_head, Op **ret_tail, size_t *ret_n)
{
        Op *head = NULL, *tail = NULL, *prev = NULL, *next;
        size_t n = 0;

        for (Op *op = s->head; op; op = next) {
                next = op->next;
                if (op->kind == OP_READING) {
                        prev = op;
                        continue;
                }
                if (prev)
                        prev->next = next;
                else
                        s->head = next;
                if (s->tail == op)
                        s->tail = prev;
                op->next = NULL;
                if (tail)
                        tail->next = op;
                else
                        head = op;
                tail = op;
                n++;
        }
        s->queued -= n;
        *ret_head = head;
        *ret_tail = tail;
        *ret_n = n;
}

bool store_commit_start(Store *s, StoreCommitScope scope)
{
        bool wanted = s->flush_wanted;
        Op *head, *tail;
        size_t n, readings = 0;
        bool close = false;

        if (state_of(s) != BATCH_NONE)
                return false; /* one batch at a time; state only leaves NONE here */
        if (!s->head) {
                s->flush_wanted = false;
                return false;
        }
        if (scope == STORE_COMMIT_URGENT && wanted && !s->close_queued &&
            s->queued_readings > 0 && s->queued_readings < s->queue_max / 4) {
                /* Readings wait for the tick: with many beds a commit
                 * rewrites a page of the readings index for every bed, and
                 * alarms coming thick and fast would do that several times
                 * a second (issue 8's benchmark). */
                take_urgent(s, &head, &tail, &n);
        } else {
                head = s->head;
                tail = s->tail;
                n = s->queued;
                readings = s->queued_readings;
                close = s->close_queued;
                s->head = s->tail = NULL;
                s->queued = 0;
                s->queued_readings = 0;
                s->close_queued = false;
        }
        if (!head) {
                s->flush_wanted = false;
                return false;
        }
        pthread_mutex_lock(&s->lock);
        s->batch = head;
        s->batch_tail = tail;
        s->batch_n = n;
        s->batch_readings = readings;
        s->batch_close = close;
        s->batch_wanted = wanted;
        clock_gettime(CLOCK_MONOTONIC, &s->started);
        __atomic_store_n(&s->state, BATCH_RUNNING, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        s->flush_wanted = false;
        return true;
}

bool store_commit_running(const Store *s)
{
        return state_of(s) != BATCH_NONE;
}

int64_t store_commit_age_ns(const Store *s)
{
        struct timespec now;

        if (state_of(s) == BATCH_NONE)
                return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t)(now.tv_sec - s->started.tv_sec) * 1000000000 +
               (now.tv_nsec - s->started.tv_nsec);
}

int store_commit_fd(const Store *s)
{
        return s->done_fd;
}

/* Waits, under lock, until no batch is running or deadline (CLOCK_MONOTONIC,
 * 0: none) passes. */
static void wait_not_running(Store *s, const struct timespec *deadline)
{
        while (s->state == BATCH_RUNNING)
                if (deadline) {
                        if (pthread_cond_timedwait(&s->cond, &s->lock, deadline) == ETIMEDOUT)
                                return;
                } else {
                        pthread_cond_wait(&s->cond, &s->lock);
                }
}

static int reap(Store *s, bool wait, const struct timespec *deadline, int *ret_result)
{
        uint64_t rows;
        int r;

        pthread_mutex_lock(&s->lock);
        if (wait)
                wait_not_running(s, deadline);
        if (s->state != BATCH_DONE) {
                pthread_mutex_unlock(&s->lock);
                return 0;
        }
        r = s->result;
        rows = s->rows;
        __atomic_store_n(&s->state, BATCH_NONE, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&s->lock);

        if (r < 0) {
                /* Back to the head of the queue, in order, to be retried. */
                s->batch_tail->next = s->head;
                if (!s->head)
                        s->tail = s->batch_tail;
                s->head = s->batch;
                s->queued += s->batch_n;
                s->queued_readings += s->batch_readings;
                s->close_queued = s->close_queued || s->batch_close;
                s->flush_wanted = s->flush_wanted || s->batch_wanted;
                s->stats.commit_failures++;
                s->stats.last_error = r;
        } else {
                free_ops(s->batch);
                s->stats.commits++;
                s->stats.rows_written += rows;
                s->stats.last_error = 0;
        }
        s->batch = s->batch_tail = NULL;
        s->batch_n = s->batch_readings = 0;
        s->batch_close = false;
        if (ret_result)
                *ret_result = r;
        return 1;
}

static void deadline_in(struct timespec *t, int64_t ns)
{
        clock_gettime(CLOCK_MONOTONIC, t);
        ns += t->tv_nsec;
        t->tv_sec += ns / 1000000000;
        t->tv_nsec = ns % 1000000000;
}

int store_commit_reap(Store *s, int64_t wait_ns, int *ret_result)
{
        struct timespec deadline;

        if (wait_ns > 0)
                deadline_in(&deadline, wait_ns);
        return reap(s, wait_ns != 0, wait_ns > 0 ? &deadline : NULL, ret_result);
}

static int flush(Store *s, const struct timespec *deadline)
{
        int r = 0;

        /* A batch already running is part of what must be durable. */
        (void)reap(s, true, deadline, &r);
        if (state_of(s) == BATCH_RUNNING)
                return -ETIMEDOUT;
        if (!store_commit_start(s, STORE_COMMIT_ALL))
                return 0; /* nothing queued: all durable */
        if (reap(s, true, deadline, &r) == 0)
                return -ETIMEDOUT;
        return r;
}

int store_flush(Store *s)
{
        return flush(s, NULL);
}

int store_flush_timeout(Store *s, int64_t timeout_ns)
{
        struct timespec deadline;

        deadline_in(&deadline, timeout_ns);
        return flush(s, &deadline);
}

/* The loop's own queries (start-up, a session resumed) use the connection
 * only while no batch is being written; the result of one that finished
 * stays for store_commit_reap(). */
static void wait_writer_idle(Store *s)
{
        pthread_mutex_lock(&s->lock);
        wait_not_running(s, NULL);
        pthread_mutex_unlock(&s->lock);
}

void store_get_stats(const Store *s, StoreStats *ret)
{
        *ret = s->stats;
        ret->queued = s->queued + s->batch_n;
        ret->writing = s->batch_n;
        ret->queue_max = s->queue_max;
}

int store_open_sessions(Store *s,
                        void (*fn)(void *ud, int64_t id, const char *bed, const char *patient_ref,
                                   const char *profile, int64_t started_ns, bool automatic),
                        void *ud)
{
        sqlite3_stmt *st;
        int rc;

        wait_writer_idle(s);
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

        wait_writer_idle(s);
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

        wait_writer_idle(s);
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
