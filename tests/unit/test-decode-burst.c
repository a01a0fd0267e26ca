/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-decode-burst.c — the DECODE_ERRORS rule, one scenario per row.
 *
 * A row is the damage a driver counts at times in seconds (bad frames,
 * skipped bytes) and the on/off transitions it must give, with their times.
 * The runner asks decode_burst_quiet() every 0.1 s between inputs, as the
 * daemon's tick does (an input at a tick's time goes first).  Default rule
 * unless a row says otherwise: 5 damaged frames within 10 s.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode_burst.h"
#include "testlib.h"

#define NS 1000000000LL
#define TICK_NS (NS / 10)

typedef struct Damage {
        double t;
        unsigned frames;
        uint64_t bytes;
} Damage;

typedef struct Flip {
        double t;
        int on; /* 1 on, 0 off */
} Flip;

typedef struct Row {
        const char *name;
        unsigned threshold; /* 0: the default, 5 */
        double until;
        Damage in[24];
        Flip out[6];
} Row;

#define NEVER_ON 1000 /* more than DECODE_BURST_MAX: capped */
#define BAD(T, N) {(T), (N), 0}
#define GARBAGE(T, N) {(T), 0, (N)}

/* clang-format off */
static const Row rows[] = {
        {"4 damaged frames within 10 s are no burst", 0, 30,
         {BAD(0, 1), BAD(2, 1), BAD(4, 1), BAD(6, 1)},
         {{0}}},
        {"the 5th damaged frame within 10 s turns it on at once; a quiet 10 s turns it off", 0, 30,
         {BAD(0, 1), BAD(2, 1), BAD(4, 1), BAD(6, 1), BAD(8, 1)},
         {{8, 1}, {18, 0}}},
        {"5 damaged frames exactly 10 s apart end to end are a burst", 0, 30,
         {BAD(0, 1), BAD(2.5, 1), BAD(5, 1), BAD(7.5, 1), BAD(10, 1)},
         {{10, 1}, {20, 0}}},
        {"5 damaged frames over 10.1 s are not; a 6th a little later is", 0, 40,
         {BAD(0, 1), BAD(2.5, 1), BAD(5, 1), BAD(7.5, 1), BAD(10.1, 1), BAD(11, 1)},
         {{11, 1}, {21, 0}}},
        {"one every 3 s forever is never 5 within 10 s", 0, 100,
         {BAD(0, 1), BAD(3, 1), BAD(6, 1), BAD(9, 1), BAD(12, 1), BAD(15, 1), BAD(18, 1),
          BAD(21, 1), BAD(24, 1), BAD(27, 1), BAD(30, 1), BAD(33, 1)},
         {{0}}},
        {"damage during the quiet wait restarts it: off only 10 s after the last", 0, 40,
         {BAD(0, 5), BAD(8, 1), GARBAGE(15, 1)},
         {{0, 1}, {25, 0}}},
        {"1279 bytes of garbage are 4 units; one more byte makes 5", 0, 30,
         {GARBAGE(0, 1279), GARBAGE(1, 1)},
         {{1, 1}, {11, 0}}},
        {"a flood of garbage at once is a burst", 0, 20,
         {GARBAGE(0, 100000)},
         {{0, 1}, {10, 0}}},
        {"garbage and bad frames add up", 0, 20,
         {BAD(0, 3), GARBAGE(1, 512)},
         {{1, 1}, {11, 0}}},
        {"a quiet window forgets stray garbage short of a unit", 0, 30,
         {GARBAGE(0, 200), BAD(11, 4), GARBAGE(12, 100)},
         {{0}}},
        {"a lower threshold: 2 within 10 s", 2, 30,
         {BAD(0, 1), BAD(9, 1)},
         {{9, 1}, {19, 0}}},
};
/* clang-format on */

static int64_t ns_of(double t)
{
        return llround(t * 1e9);
}

static void run_row(const Row *row)
{
        DecodeBurst b;
        Flip got[32];
        size_t n_got = 0, next = 0, n_in = 0, n_out = 0;
        int64_t tick = 0, until = ns_of(row->until);
        int before = testlib_failures;

        decode_burst_init(&b, row->threshold ? row->threshold : 5, 10 * 1000000ULL);
        while (row->in[n_in].frames || row->in[n_in].bytes)
                n_in++;
        while (row->out[n_out].t > 0 || row->out[n_out].on)
                n_out++;

        while (tick <= until) {
                if (next < n_in && ns_of(row->in[next].t) <= tick) {
                        const Damage *d = &row->in[next++];
                        if (decode_burst_add(&b, d->frames, d->bytes, ns_of(d->t)) && n_got < 32)
                                got[n_got++] = (Flip){d->t, 1};
                        continue;
                }
                if (decode_burst_quiet(&b, tick) && n_got < 32)
                        got[n_got++] = (Flip){(double)tick / 1e9, 0};
                tick += TICK_NS;
        }

        CHECK_INT(n_got, n_out);
        for (size_t i = 0; i < n_got && i < n_out; i++) {
                CHECK_INT(got[i].on, row->out[i].on);
                CHECK_INT(ns_of(got[i].t), ns_of(row->out[i].t));
        }
        if (testlib_failures != before)
                for (size_t i = 0; i < n_got; i++)
                        fprintf(stderr, "    got %s at %.1f\n", got[i].on ? "on" : "off", got[i].t);
        printf("%s %s\n", testlib_failures == before ? "ok  " : "FAIL", row->name);
}

TEST(threshold_zero_is_off_and_large_thresholds_are_capped)
{
        DecodeBurst b;

        decode_burst_init(&b, 0, 10 * 1000000ULL);
        CHECK(!decode_burst_add(&b, 1000, 1000000, 0));
        CHECK(!b.on);
        CHECK(!decode_burst_quiet(&b, 20 * NS));

        decode_burst_init(&b, NEVER_ON, 10 * 1000000ULL);
        CHECK_INT(b.threshold, DECODE_BURST_MAX);
        CHECK(!decode_burst_add(&b, DECODE_BURST_MAX - 1, 0, 0));
        CHECK(decode_burst_add(&b, 1, 0, NS));
}

TEST(recent_counts_the_window)
{
        DecodeBurst b;

        decode_burst_init(&b, 5, 10 * 1000000ULL);
        decode_burst_add(&b, 1, 0, 0);
        decode_burst_add(&b, 2, 0, 5 * NS);
        CHECK_INT(decode_burst_recent(&b, 5 * NS), 3);
        CHECK_INT(decode_burst_recent(&b, 12 * NS), 2);
        CHECK_INT(decode_burst_recent(&b, 16 * NS), 0);
}

int main(void)
{
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                run_row(&rows[i]);
        RUN(threshold_zero_is_off_and_large_thresholds_are_capped);
        RUN(recent_counts_the_window);
        return testlib_finish();
}
