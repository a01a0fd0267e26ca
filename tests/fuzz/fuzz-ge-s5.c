/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-ge-s5.c — the GE S/5 codec and driver under arbitrary bytes.
 *
 * Three views of one input: (1) the stream the "ge-s5" driver receives from
 * a serial port, fed through the driver table exactly as the core does, in
 * chunks whose sizes the input picks; (2) the input as one already deframed
 * record for the pure decoder and the request parser; (3) the input as the
 * values of a monitor record, encoded by the simulator's encoder, framed,
 * deframed and decoded again: the round trip must give back the record and
 * the values.  Every reading that comes out must be well formed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "fuzz.h"
#include "ge_s5.h"

static void check_reading(const Reading *r)
{
        FUZZ_ASSERT(memchr(r->parameter, '\0', sizeof(r->parameter)) != NULL);
        FUZZ_ASSERT(r->parameter[0] != '\0');
        FUZZ_ASSERT(memchr(r->unit, '\0', sizeof(r->unit)) != NULL);
        FUZZ_ASSERT((unsigned)r->status < _READING_STATUS_MAX);
        if (r->status == READING_VALID)
                FUZZ_ASSERT(isfinite(r->value));
        else if (r->status != READING_QUESTIONABLE)
                FUZZ_ASSERT(isnan(r->value));
}

/* --- (1) the driver, as the core drives it ------------------------------- */

typedef struct Host {
        unsigned readings;
        uint64_t counters[_DRIVER_COUNT_MAX];
} Host;

static void host_emit(DriverInstance *d, const Reading *r)
{
        check_reading(r);
        ((Host *)d->core)->readings++;
}

static int host_write(DriverInstance *d, const void *buf, size_t len)
{
        return 0;
}

static const char *host_option(DriverInstance *d, const char *key)
{
        return NULL;
}

static void host_log(DriverInstance *d, int priority, const char *fmt, ...)
{
}

static void host_count(DriverInstance *d, DriverCounter which, unsigned n)
{
        FUZZ_ASSERT((unsigned)which < _DRIVER_COUNT_MAX);
        ((Host *)d->core)->counters[which] += n;
}

static const DriverHost host_ops = {
        .emit = host_emit,
        .write = host_write,
        .option = host_option,
        .log = host_log,
        .count = host_count,
};

static void run_driver(const uint8_t *data, size_t size)
{
        static const size_t chunks[] = {1, 3, 64, 500, 4096};
        const Driver *drv = driver_find("ge-s5");
        Host host = {0};
        DriverInstance inst = {.driver = drv, .host = &host_ops, .core = &host};
        size_t pos = 0, k;

        FUZZ_ASSERT(drv != NULL);
        inst.state = calloc(1, drv->state_size);
        FUZZ_ASSERT(inst.state != NULL);
        FUZZ_ASSERT(drv->init(&inst) == 0);
        FUZZ_ASSERT(drv->on_connect(&inst) == 0);
        k = size ? data[0] % 5 : 0;
        while (pos < size) {
                size_t n = chunks[k];
                if (n > size - pos)
                        n = size - pos;
                drv->on_bytes(&inst, data + pos, n);
                pos += n;
                k = (k + 1) % 5;
        }
        (void)drv->on_quiet(&inst);
        /* Every byte is either in a frame or counted as skipped; a frame is
         * good or bad, and only good frames yield readings. */
        FUZZ_ASSERT(host.counters[DRIVER_COUNT_BYTES_SKIPPED] <= size);
        FUZZ_ASSERT(host.counters[DRIVER_COUNT_RECORDS_IGNORED] <=
                    host.counters[DRIVER_COUNT_FRAMES_OK]);
        if (host.counters[DRIVER_COUNT_FRAMES_OK] == 0)
                FUZZ_ASSERT(host.readings == 0);
        if (drv->fini)
                drv->fini(&inst);
        free(inst.state);
}

/* --- (2) the input as a deframed record ----------------------------------- */

static void on_decoded(void *userdata, const Reading *r)
{
        check_reading(r);
        (*(unsigned *)userdata)++;
}

static void run_record(const uint8_t *data, size_t size)
{
        GeS5DecodeState st = {0};
        unsigned n = 0;
        uint8_t type;
        int16_t ival;
        uint32_t bf;
        int r;

        r = ge_s5_decode_record(data, size, &st, on_decoded, &n);
        FUZZ_ASSERT(r == -EBADMSG || r == GE_S5_RECORD_PHDB || r == GE_S5_RECORD_OTHER);
        if (r != GE_S5_RECORD_PHDB)
                FUZZ_ASSERT(n == 0);
        (void)ge_s5_parse_phdb_request(data, size, &type, &ival, &bf);
}

/* --- (3) encoder → framer → deframer → decoder round trip ---------------- */

typedef struct RoundTrip {
        uint8_t record[GE_S5_DISPL_RECORD_LEN];
        unsigned frames_ok, frames_bad;
        bool same;
        const GeS5Basic *basic;
        bool hr_seen;
} RoundTrip;

static void on_rt_reading(void *userdata, const Reading *r)
{
        RoundTrip *rt = userdata;

        check_reading(r);
        if (strcmp(r->parameter, "HR") == 0) {
                rt->hr_seen = true;
                if (rt->basic->ecg_hr >= GE_S5_MIN_VALID)
                        FUZZ_ASSERT(r->status == READING_VALID && r->value == rt->basic->ecg_hr);
                else
                        FUZZ_ASSERT(r->status != READING_VALID);
        }
}

static void on_rt_frame(void *userdata, GeS5FrameResult result, const uint8_t *rec, size_t len)
{
        RoundTrip *rt = userdata;

        if (result != GE_S5_FRAME_OK) {
                rt->frames_bad++;
                return;
        }
        rt->frames_ok++;
        rt->same = len == sizeof(rt->record) && memcmp(rec, rt->record, len) == 0;
}

static int16_t s16(const uint8_t *p)
{
        return (int16_t)(p[0] | (p[1] << 8));
}

static void run_round_trip(const uint8_t *data, size_t size)
{
        uint8_t frame[GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        RoundTrip rt = {0};
        GeS5Deframer df;
        GeS5DecodeState st = {0};
        GeS5Basic b;
        size_t len, n;
        int16_t *fields[] = {&b.ecg_hr, &b.nibp_sys, &b.nibp_dia, &b.nibp_mean, &b.nibp_hr,
                             &b.spo2, &b.spo2_pr, &b.spo2_ir_amp, &b.t1, &b.co2_et, &b.co2_rr,
                             &b.p1_sys, &b.p1_dia, &b.p1_mean};
        const size_t n_fields = sizeof(fields) / sizeof(fields[0]);

        if (size < 12 + 2 * n_fields)
                return;
        ge_s5_basic_init(&b);
        b.time = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                 (uint32_t)data[3] << 24;
        b.nibp_status = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
                        (uint32_t)data[7] << 24;
        b.spo2_status = (uint32_t)data[8] | (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 |
                        (uint32_t)data[11] << 24;
        for (size_t i = 0; i < n_fields; i++)
                *fields[i] = s16(data + 12 + 2 * i);

        len = ge_s5_build_displ_record(&b, rt.record, sizeof(rt.record));
        FUZZ_ASSERT(len == GE_S5_DISPL_RECORD_LEN);
        n = ge_s5_frame_encode(rt.record, len, frame, sizeof(frame));
        FUZZ_ASSERT(n > 0);
        ge_s5_deframer_reset(&df);
        ge_s5_deframer_feed(&df, frame, n, on_rt_frame, &rt);
        FUZZ_ASSERT(rt.frames_ok == 1 && rt.frames_bad == 0 && rt.same);
        FUZZ_ASSERT(df.bytes_skipped == 0);

        rt.basic = &b;
        FUZZ_ASSERT(ge_s5_decode_record(rt.record, len, &st, on_rt_reading, &rt) ==
                    GE_S5_RECORD_PHDB);
        /* ECG exists whenever hr holds anything but DATA_INVALID (ge_s5.h). */
        FUZZ_ASSERT(rt.hr_seen == (b.ecg_hr != GE_S5_DATA_INVALID));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        run_driver(data, size);
        run_record(data, size);
        run_round_trip(data, size);
        return 0;
}
