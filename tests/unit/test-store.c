/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-store.c — what a commit makes durable, read back from the real
 * SQLite file by a second, read-only connection (as vitals-export reads
 * it):
 *   - an urgent commit (STORE_COMMIT_URGENT, what an alarm event asks
 *     for) writes alarm events, markers and session opens at once and
 *     leaves the readings queued for the tick;
 *   - a queued session close makes the urgent commit take every reading
 *     with it, and so does a queue a quarter full;
 *   - a failed urgent commit loses nothing: the retry is urgent-only
 *     again and the tick's commit writes every reading.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "testlib.h"

#define NS 1000000000LL
#define QUEUE_MAX 1000

static char dir[] = "/tmp/test-store-XXXXXX";
static char db_path[256];
static Store *store;
static int64_t sid;
static int64_t t = 1767268800LL * NS; /* 2026-01-01T12:00:00Z, advanced per row */

static void add_readings(int n)
{
        for (int i = 0; i < n; i++) {
                Reading r = {.status = READING_VALID, .value = 97, .wall_ns = t, .mono_ns = t};
                reading_set_name(&r, "SPO2", "%");
                store_reading_add(store, sid, "mon-1", &r);
                t += NS / 10;
        }
}

static void add_alarm(const char *state)
{
        StoreAlarmEvent e = {
            .alarm_id = 1,
            .session_id = sid,
            .bed = "chair-1",
            .wall_ns = t,
            .mono_ns = t,
            .condition = "SPO2_LOW",
            .priority = "medium",
            .state = state,
            .phase = "baseline",
            .value = 85,
            .limit_value = 92,
            .actor = "vitalsd",
        };
        store_alarm_event_add(store, &e);
        t += NS / 10;
}

/* Rows of table committed in the file, as a separate reader sees them. */
static long long committed(const char *table)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        char sql[128];
        long long n = -1;

        if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
                return -1;
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
}

static size_t queued(void)
{
        StoreStats st;

        store_get_stats(store, &st);
        return st.queued;
}

/* Starts a commit of scope and waits for it: its result, or 1 when none
 * started. */
static int commit(StoreCommitScope scope)
{
        int r = 0;

        if (!store_commit_start(store, scope))
                return 1;
        if (store_commit_reap(store, -1, &r) != 1)
                return 2;
        return r;
}

TEST(urgent_commit_leaves_readings_for_the_tick)
{
        sid = store_session_open(store, "chair-1", "PSEUDO-1", "ketamine-infusion", t, "nurse");
        add_readings(10);
        CHECK_INT(store_flush(store), 0);
        CHECK_INT(committed("sessions"), 1);
        CHECK_INT(committed("readings"), 10);

        add_readings(5);
        add_alarm("active");
        store_marker_add(store, sid, t, t, "note", "patient asleep", "nurse");
        add_readings(2);
        CHECK(store_flush_wanted(store));
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0);
        CHECK_INT(committed("alarm_events"), 1);
        CHECK_INT(committed("markers"), 1);
        CHECK_INT(committed("readings"), 10); /* the 7 new ones wait */
        CHECK_INT(queued(), 7);
        CHECK(!store_flush_wanted(store));

        /* The tick. */
        CHECK_INT(commit(STORE_COMMIT_ALL), 0);
        CHECK_INT(committed("readings"), 17);
        CHECK_INT(queued(), 0);
}

TEST(session_close_takes_its_readings_with_it)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        long long ended = 0;

        add_readings(3);
        add_alarm("inactive");
        store_session_close(store, sid, t, "nurse", "session ended");
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0);
        CHECK_INT(committed("readings"), 20);
        CHECK_INT(committed("alarm_events"), 2);
        CHECK_INT(queued(), 0);
        CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions WHERE ended_ns IS NOT NULL", -1,
                               &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
                ended = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        CHECK_INT(ended, 1);
}

TEST(a_quarter_full_queue_commits_whole)
{
        sid = store_session_open(store, "chair-2", "PSEUDO-2", "ketamine-infusion", t, "nurse");
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0); /* the session open alone */
        CHECK_INT(committed("sessions"), 2);
        add_readings(QUEUE_MAX / 4);
        add_alarm("active");
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0);
        CHECK_INT(committed("readings"), 20 + QUEUE_MAX / 4);
        CHECK_INT(committed("alarm_events"), 3);
        CHECK_INT(queued(), 0);

        /* Nothing urgent queued: an urgent commit writes what there is. */
        add_readings(4);
        CHECK(!store_flush_wanted(store));
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0);
        CHECK_INT(committed("readings"), 24 + QUEUE_MAX / 4);
}

TEST(failed_urgent_commit_loses_nothing)
{
        sqlite3 *locker;
        long long readings = committed("readings");
        int r;

        add_readings(6);
        add_alarm("active");
        add_readings(3);
        /* Another writer holds the file: the commit fails once the busy
         * timeout (5 s) runs out, as it would for a locked or broken disk. */
        CHECK(sqlite3_open(db_path, &locker) == SQLITE_OK);
        CHECK(sqlite3_exec(locker, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
        r = commit(STORE_COMMIT_URGENT);
        CHECK(r < 0);
        CHECK_INT(queued(), 10); /* the batch is back in the queue */
        CHECK(store_flush_wanted(store));
        sqlite3_exec(locker, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(locker);

        /* The retry is urgent-only again: the counts survived the failure. */
        CHECK_INT(commit(STORE_COMMIT_URGENT), 0);
        CHECK_INT(committed("alarm_events"), 4);
        CHECK_INT(committed("readings"), readings);
        CHECK_INT(queued(), 9);
        CHECK_INT(commit(STORE_COMMIT_ALL), 0);
        CHECK_INT(committed("readings"), readings + 9);
        CHECK_INT(queued(), 0);
}

int main(void)
{
        int r;

        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 1;
        }
        snprintf(db_path, sizeof(db_path), "%s/%s", dir, STORE_DB_NAME);
        r = store_open(db_path, QUEUE_MAX, &store);
        if (r < 0) {
                fprintf(stderr, "store_open: %s\n", strerror(-r));
                return 1;
        }
        RUN(urgent_commit_leaves_readings_for_the_tick);
        RUN(session_close_takes_its_readings_with_it);
        RUN(a_quarter_full_queue_commits_whole);
        RUN(failed_urgent_commit_loses_nothing);
        store_close(store);
        unlink(db_path);
        {
                char p[300];
                snprintf(p, sizeof(p), "%s-wal", db_path);
                unlink(p);
                snprintf(p, sizeof(p), "%s-shm", db_path);
                unlink(p);
        }
        rmdir(dir);
        return testlib_finish();
}
