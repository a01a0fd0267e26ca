/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ceiling.c — this machine's ceiling for the session log: plain batched
 * SQLite inserts of the rows vitalsd writes, with the same durability.
 *
 * The file is created by store_open() (daemon/store.c), so schema, indexes,
 * WAL and synchronous=FULL are vitalsd's own; then a second, plain
 * connection with the same pragmas inserts reading rows shaped like
 * vitalsd's (three parameters per monitor record, beds round robin) with
 * one prepared statement, committing every BATCH rows.  Nothing else runs:
 * no decoding, no alarm engine, no event loop.  Prints
 * "ceiling_rows_per_s R" and the commit count.
 *
 *     ceiling DB_PATH SECONDS BATCH BEDS
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "store.h"

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(sqlite3 *db, const char *what)
{
        fprintf(stderr, "ceiling: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
        exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                die(db, sql);
}

int main(int argc, char **argv)
{
        static const char *const params[3] = {"HR", "SPO2", "PR"};
        static const char *const units[3] = {"/min", "%", "/min"};
        static const double values[3] = {72, 97, 72};
        sqlite3 *db;
        sqlite3_stmt *st;
        Store *store;
        double seconds, t0, t;
        long batch, beds;
        uint64_t rows = 0, commits = 0;
        char device[32];

        if (argc != 5) {
                fprintf(stderr, "usage: ceiling DB_PATH SECONDS BATCH BEDS\n");
                return 2;
        }
        seconds = atof(argv[2]);
        batch = atol(argv[3]);
        beds = atol(argv[4]);
        if (seconds <= 0 || batch <= 0 || beds <= 0)
                return 2;
        if (store_open(argv[1], 0, &store) < 0)
                die(NULL, "store_open");
        store_close(store);

        if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
                die(db, "open");
        exec(db, "PRAGMA journal_mode=WAL");
        exec(db, "PRAGMA synchronous=FULL");
        /* vitalsd's reading INSERT, word for word (daemon/store.c). */
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO readings(session_id, device, parameter, value, unit, "
                               "status, flags, wall_ns, mono_ns, device_ns) "
                               "VALUES(?,?,?,?,?,?,?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK)
                die(db, "prepare");

        t0 = now_s();
        do {
                exec(db, "BEGIN IMMEDIATE");
                for (long i = 0; i < batch; i++, rows++) {
                        long bed = (long)(rows / 3 % (uint64_t)beds);
                        int k = (int)(rows % 3);
                        int64_t w = wall_ns();

                        snprintf(device, sizeof(device), "mon-%04ld", bed + 1);
                        sqlite3_bind_int64(st, 1, bed + 1);
                        sqlite3_bind_text(st, 2, device, -1, SQLITE_TRANSIENT);
                        sqlite3_bind_text(st, 3, params[k], -1, SQLITE_STATIC);
                        sqlite3_bind_double(st, 4, values[k]);
                        sqlite3_bind_text(st, 5, units[k], -1, SQLITE_STATIC);
                        sqlite3_bind_text(st, 6, "valid", -1, SQLITE_STATIC);
                        sqlite3_bind_int64(st, 7, 0);
                        sqlite3_bind_int64(st, 8, w);
                        sqlite3_bind_int64(st, 9, w);
                        sqlite3_bind_int64(st, 10, w / 1000000000 * 1000000000);
                        if (sqlite3_step(st) != SQLITE_DONE)
                                die(db, "insert");
                        sqlite3_reset(st);
                }
                exec(db, "COMMIT");
                commits++;
                t = now_s();
        } while (t - t0 < seconds);
        printf("ceiling_rows_per_s %.0f\n", (double)rows / (t - t0));
        printf("ceiling_commits %llu\n", (unsigned long long)commits);
        printf("ceiling_rows %llu\n", (unsigned long long)rows);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return 0;
}
