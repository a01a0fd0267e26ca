/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-ge-s5.c — the GE S/5 codec and driver, byte by byte: the request
 * frames of M1017617 Appendix A, transparency of data and checksum, the
 * deframer under damage and any chunking, the decoder's statuses and NIBP
 * rule, the driver table against a fake host, and (when
 * ../shared/captures/ge-s5 exists; argv[1] names it) real monitor streams.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

#include "drivers.h"
#include "ge_s5.h"
#include "testlib.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *captures_dir;

/* --- Collectors ----------------------------------------------------------- */

#define MAX_READINGS 256
#define MAX_FRAMES 64

typedef struct Collected {
        Reading readings[MAX_READINGS];
        size_t n_readings;
        GeS5FrameResult results[MAX_FRAMES];
        size_t n_results;
        unsigned frames_by_result[GE_S5_FRAME_BAD_ESCAPE + 1];
        unsigned records_phdb, records_other, records_malformed;
        GeS5DecodeState state;
        uint8_t last[GE_S5_MAX_RECORD];
        size_t last_len;
        /* capture-wide checks, kept past MAX_READINGS */
        unsigned hr_total, hr_valid, hr_out_of_range;
        unsigned nibp_new;          /* NIBP_SYS readings flagged as new */
        int64_t nibp_first_time_ns; /* device time of the first of them */
        double hr_min, hr_max;
} Collected;

static void collect_reading(void *userdata, const Reading *r)
{
        Collected *c = userdata;

        if (strcmp(r->parameter, "HR") == 0) {
                c->hr_total++;
                if (r->status == READING_VALID) {
                        if (c->hr_valid == 0 || r->value < c->hr_min)
                                c->hr_min = r->value;
                        if (c->hr_valid == 0 || r->value > c->hr_max)
                                c->hr_max = r->value;
                        c->hr_valid++;
                        if (r->value < 20 || r->value > 300)
                                c->hr_out_of_range++;
                }
        }
        if (strcmp(r->parameter, "NIBP_SYS") == 0 && (r->flags & READING_FLAG_NEW_MEASUREMENT)) {
                if (c->nibp_new++ == 0)
                        c->nibp_first_time_ns = r->device_time_ns;
        }
        if (c->n_readings < MAX_READINGS)
                c->readings[c->n_readings++] = *r;
}

static void collect_frame(void *userdata, GeS5FrameResult result, const uint8_t *record, size_t len)
{
        Collected *c = userdata;
        int r;

        if (c->n_results < MAX_FRAMES)
                c->results[c->n_results++] = result;
        c->frames_by_result[result]++;
        if (result != GE_S5_FRAME_OK)
                return;
        r = ge_s5_decode_record(record, len, &c->state, collect_reading, c);
        if (r == GE_S5_RECORD_PHDB)
                c->records_phdb++;
        else if (r == GE_S5_RECORD_OTHER)
                c->records_other++;
        else
                c->records_malformed++;
}

/* Keeps the last good record as it came out of the deframer. */
static void capture_record(void *userdata, GeS5FrameResult result, const uint8_t *record,
                           size_t len)
{
        Collected *c = userdata;

        if (c->n_results < MAX_FRAMES)
                c->results[c->n_results++] = result;
        if (result == GE_S5_FRAME_OK && len <= sizeof(c->last)) {
                memcpy(c->last, record, len);
                c->last_len = len;
        }
}

static const Reading *find_reading(const Collected *c, const char *parameter)
{
        for (size_t i = 0; i < c->n_readings; i++)
                if (strcmp(c->readings[i].parameter, parameter) == 0)
                        return &c->readings[i];
        return NULL;
}

static unsigned count_readings(const Collected *c, const char *parameter)
{
        unsigned n = 0;

        for (size_t i = 0; i < c->n_readings; i++)
                n += strcmp(c->readings[i].parameter, parameter) == 0;
        return n;
}

static bool same_reading(const Reading *a, const Reading *b)
{
        return strcmp(a->parameter, b->parameter) == 0 && strcmp(a->unit, b->unit) == 0 &&
               a->status == b->status && a->flags == b->flags &&
               a->device_time_ns == b->device_time_ns &&
               (a->value == b->value || (isnan(a->value) && isnan(b->value)));
}

static bool same_collection(const Collected *a, const Collected *b)
{
        if (a->n_readings != b->n_readings || a->n_results != b->n_results)
                return false;
        for (size_t i = 0; i < a->n_results; i++)
                if (a->results[i] != b->results[i])
                        return false;
        for (size_t i = 0; i < a->n_readings; i++)
                if (!same_reading(&a->readings[i], &b->readings[i]))
                        return false;
        return true;
}

static void decode(Collected *c, const uint8_t *rec, size_t len)
{
        int r = ge_s5_decode_record(rec, len, &c->state, collect_reading, c);

        CHECK_INT(r, GE_S5_RECORD_PHDB);
}

static void feed_all(GeS5Deframer *d, Collected *c, const uint8_t *buf, size_t n)
{
        ge_s5_deframer_feed(d, buf, n, collect_frame, c);
}

/* A monitor-like record with known values. */
static void basic_known(GeS5Basic *b)
{
        ge_s5_basic_init(b);
        b->time = 1532624765;
        b->ecg_hr = 72;
        b->spo2 = 9700;
        b->spo2_pr = 71;
        b->spo2_ir_amp = 300;
        b->spo2_status = GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE;
        b->nibp_sys = 12800;
        b->nibp_dia = 8200;
        b->nibp_mean = 9700;
        b->nibp_hr = 75;
        b->nibp_status = GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE | GE_S5_NIBP_AUTO;
}

static size_t build_record(const GeS5Basic *b, uint8_t *rec)
{
        size_t n = ge_s5_build_displ_record(b, rec, GE_S5_DISPL_RECORD_LEN);

        CHECK_INT(n, GE_S5_DISPL_RECORD_LEN);
        return n;
}

static size_t build_frame(const GeS5Basic *b, uint8_t *frame, size_t cap)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        size_t n = build_record(b, rec);

        n = ge_s5_frame_encode(rec, n, frame, cap);
        CHECK(n > 0);
        return n;
}

/* --- Requests: M1017617 Appendix A, byte for byte ------------------------- */

/* The 40-byte header of every request: r_len 49, r_maintype PHDB, one
 * subrecord (offset 0, type 0 "transmission request"), then sr_desc[1]
 * type 0xFF ends the list; all else zero. */
// clang-format off
#define REQ_HEADER                                                      \
        0x31, 0x00,             /* r_len 49 */                          \
        0x00, 0x00,             /* r_nbr, dri_level */                  \
        0x00, 0x00,             /* plug_id */                           \
        0x00, 0x00, 0x00, 0x00, /* r_time */                            \
        0x00, 0x00, 0x00, 0x00, /* n_subnet, reserved2, reserved3 */    \
        0x00, 0x00,             /* r_maintype PHDB */                   \
        0x00, 0x00, 0x00,       /* sr_desc[0] = {0, request} */         \
        0x00, 0x00, 0xFF,       /* sr_desc[1] = {0, end of list} */     \
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 /* sr_desc[2..7] */

static const uint8_t appendix_a_displ_10s[] = {
        0x7E, REQ_HEADER,
        0x01,                   /* phdb_rcrd_type DISPL */
        0x0A, 0x00,             /* tx_ival 10 s */
        0x0E, 0x00, 0x00, 0x00, /* phdb_class_bf basic|ext1|ext2|ext3 */
        0x00, 0x00,             /* reserved */
        0x49, 0x7E,
};
static const uint8_t appendix_a_displ_stop[] = {
        0x7E, REQ_HEADER,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x31, 0x7E,
};
static const uint8_t appendix_a_trend60[] = {
        0x7E, REQ_HEADER,
        0x03, 0x3C, 0x00, 0x0E, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x7D, 0x5D, 0x7E,       /* checksum 0x7D, escaped */
};
static const uint8_t appendix_a_trend60_stop[] = {
        0x7E, REQ_HEADER,
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x33, 0x7E,
};
// clang-format on

static void check_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t want_len)
{
        CHECK_INT(n, want_len);
        for (size_t i = 0; i < n && i < want_len; i++)
                if (got[i] != want[i]) {
                        CHECK_INT(i, -1); /* report the first differing offset */
                        CHECK_INT(got[i], want[i]);
                        break;
                }
}

TEST(request_displ_10s_matches_appendix_a)
{
        uint8_t out[128];
        size_t n = ge_s5_build_displ_request(10, out, sizeof(out));

        check_bytes(out, n, appendix_a_displ_10s, sizeof(appendix_a_displ_10s));
}

TEST(request_displ_stop_matches_appendix_a)
{
        uint8_t out[128];
        size_t n = ge_s5_build_displ_request(0, out, sizeof(out));

        check_bytes(out, n, appendix_a_displ_stop, sizeof(appendix_a_displ_stop));
}

TEST(request_trend_60s_escapes_checksum_7d)
{
        uint8_t out[128];
        size_t n = ge_s5_build_phdb_request(GE_S5_PHDB_TREND60, 60, out, sizeof(out));

        check_bytes(out, n, appendix_a_trend60, sizeof(appendix_a_trend60));
        n = ge_s5_build_phdb_request(GE_S5_PHDB_TREND60, 0, out, sizeof(out));
        check_bytes(out, n, appendix_a_trend60_stop, sizeof(appendix_a_trend60_stop));
}

TEST(request_single_and_small_buffer)
{
        uint8_t out[128];
        size_t n = ge_s5_build_displ_request(-1, out, sizeof(out));

        /* tx_ival -1 → ff ff: no escaping needed, checksum 0x31+0xFF+1+0xFF+0xFF+0x0E */
        CHECK_INT(n, 52);
        CHECK_INT(out[41], 0x01);
        CHECK_INT(out[42], 0xFF);
        CHECK_INT(out[43], 0xFF);
        CHECK_INT(out[50], (0x31 + 0xFF + 0x01 + 0xFF + 0xFF + 0x0E) & 0xFF);

        CHECK_INT(ge_s5_build_displ_request(10, out, 51), 0);
        CHECK_INT(ge_s5_build_phdb_request(GE_S5_PHDB_TREND60, 60, out, 52), 0);
        CHECK_INT(ge_s5_build_phdb_request(GE_S5_PHDB_TREND60, 60, out, 53), 53);
}

TEST(request_parses_back)
{
        static const struct {
                uint8_t type;
                int16_t interval;
                uint32_t class_bf;
        } rows[] = {
                {GE_S5_PHDB_DISPL, 10, 0x0E},
                {GE_S5_PHDB_DISPL, 0, 0},
                {GE_S5_PHDB_DISPL, -1, 0x0E},
                {GE_S5_PHDB_TREND60, 60, 0x0E},
        };

        for (size_t i = 0; i < LEN(rows); i++) {
                uint8_t frame[128];
                static Collected c;
                GeS5Deframer d;
                size_t n = ge_s5_build_phdb_request(rows[i].type, rows[i].interval, frame,
                                                    sizeof(frame));
                uint8_t type = 0;
                int16_t interval = 0;
                uint32_t class_bf = 0;

                memset(&c, 0, sizeof(c));
                ge_s5_deframer_reset(&d);
                ge_s5_deframer_feed(&d, frame, n, capture_record, &c);
                CHECK_INT(c.n_results, 1);
                CHECK_INT(c.results[0], GE_S5_FRAME_OK);
                CHECK_INT(c.last_len, 49);
                CHECK_INT(ge_s5_parse_phdb_request(c.last, c.last_len, &type, &interval, &class_bf),
                          0);
                CHECK_INT(type, rows[i].type);
                CHECK_INT(interval, rows[i].interval);
                CHECK_INT(class_bf, rows[i].class_bf);
                /* a request is a PHDB record without data: ignored, not malformed */
                CHECK_INT(ge_s5_decode_record(c.last, c.last_len, &c.state, collect_reading, &c),
                          GE_S5_RECORD_OTHER);
        }

        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;

        basic_known(&b);
        build_record(&b, rec);
        CHECK_INT(ge_s5_parse_phdb_request(rec, sizeof(rec), NULL, NULL, NULL), -EBADMSG);
}

/* --- Transparency ---------------------------------------------------------- */

TEST(escape_of_data_and_checksum)
{
        /* 7E 7D 01 82 sums to 0x17E: the checksum itself is a flag byte. */
        static const uint8_t rec_7e[] = {0x7E, 0x7D, 0x01, 0x82};
        static const uint8_t want_7e[] = {0x7E, 0x7D, 0x5E, 0x7D, 0x5D,
                                          0x01, 0x82, 0x7D, 0x5E, 0x7E};
        static const uint8_t rec_7d[] = {0x7E, 0x7D, 0x01, 0x81};
        static const uint8_t want_7d[] = {0x7E, 0x7D, 0x5E, 0x7D, 0x5D,
                                          0x01, 0x81, 0x7D, 0x5D, 0x7E};
        uint8_t out[32];
        size_t n;

        CHECK_INT(ge_s5_checksum(rec_7e, sizeof(rec_7e)), 0x7E);
        n = ge_s5_frame_encode(rec_7e, sizeof(rec_7e), out, sizeof(out));
        CHECK_INT(n, sizeof(want_7e));
        CHECK(n == sizeof(want_7e) && memcmp(out, want_7e, n) == 0);

        CHECK_INT(ge_s5_checksum(rec_7d, sizeof(rec_7d)), 0x7D);
        n = ge_s5_frame_encode(rec_7d, sizeof(rec_7d), out, sizeof(out));
        CHECK_INT(n, sizeof(want_7d));
        CHECK(n == sizeof(want_7d) && memcmp(out, want_7d, n) == 0);

        /* one byte short of the escaped checksum */
        CHECK_INT(ge_s5_frame_encode(rec_7d, sizeof(rec_7d), out, sizeof(want_7d) - 1), 0);
}

TEST(escaped_checksum_round_trips_through_deframer)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN], frame[GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        GeS5Basic b;
        static Collected c;
        GeS5Deframer d;

        for (uint8_t want = 0x7D; want <= 0x7E; want++) {
                basic_known(&b);
                build_record(&b, rec);
                /* steer the checksum through the subrecord's "marker" byte
                 * of ext3 (ignored by the decoder) */
                rec[GE_S5_HDR_LEN + 3 * 278 + 274] = 0;
                rec[GE_S5_HDR_LEN + 3 * 278 + 274] =
                        (uint8_t)(want - ge_s5_checksum(rec, sizeof(rec)));
                CHECK_INT(ge_s5_checksum(rec, sizeof(rec)), want);

                size_t n = ge_s5_frame_encode(rec, sizeof(rec), frame, sizeof(frame));
                CHECK(n > 3);
                CHECK_INT(frame[n - 3], 0x7D);
                CHECK_INT(frame[n - 2], want ^ 0x20);
                CHECK_INT(frame[n - 1], 0x7E);

                memset(&c, 0, sizeof(c));
                ge_s5_deframer_reset(&d);
                feed_all(&d, &c, frame, n);
                CHECK_INT(c.n_results, 1);
                CHECK_INT(c.results[0], GE_S5_FRAME_OK);
                CHECK_INT(c.records_phdb, 1);
        }
}

/* --- Encoder → deframer → decoder ---------------------------------------- */

TEST(round_trip_known_values)
{
        uint8_t frame[GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        GeS5Basic b;
        static Collected c;
        GeS5Deframer d;
        const Reading *r;
        const int64_t t_ns = 1532624765LL * 1000000000LL;

        basic_known(&b);
        size_t n = build_frame(&b, frame, sizeof(frame));

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, frame, n);
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_OK], 1);
        CHECK_INT(c.records_phdb, 1);

        /* exactly these, in this order; T1, CO2, P1 have no module */
        static const char *const order[] = {"HR",       "SPO2",      "PR",     "NIBP_SYS",
                                            "NIBP_DIA", "NIBP_MEAN", "NIBP_PR"};
        CHECK_INT(c.n_readings, LEN(order));
        for (size_t i = 0; i < LEN(order) && i < c.n_readings; i++) {
                CHECK_STR(c.readings[i].parameter, order[i]);
                CHECK_INT(c.readings[i].status, READING_VALID);
                CHECK_INT(c.readings[i].device_time_ns, t_ns);
        }

        r = find_reading(&c, "HR");
        CHECK(r && r->value == 72 && strcmp(r->unit, "/min") == 0 && r->flags == 0);
        r = find_reading(&c, "SPO2");
        CHECK(r && strcmp(r->unit, "%") == 0);
        if (r)
                CHECK_DBL(r->value, 97.00, 1e-9);
        r = find_reading(&c, "PR");
        CHECK(r && r->value == 71);
        r = find_reading(&c, "NIBP_SYS");
        CHECK(r && strcmp(r->unit, "mm[Hg]") == 0 && (r->flags & READING_FLAG_NEW_MEASUREMENT));
        if (r)
                CHECK_DBL(r->value, 128, 1e-9);
        r = find_reading(&c, "NIBP_DIA");
        if (r)
                CHECK_DBL(r->value, 82, 1e-9);
        r = find_reading(&c, "NIBP_MEAN");
        if (r)
                CHECK_DBL(r->value, 97, 1e-9);
        r = find_reading(&c, "NIBP_PR");
        CHECK(r && r->value == 75 && (r->flags & READING_FLAG_NEW_MEASUREMENT));
}

TEST(other_groups_emit_only_valid_values)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;
        static Collected c;
        const Reading *r;

        basic_known(&b);
        b.t1 = 3655;
        b.co2_et = 487;
        b.co2_rr = 15;
        b.p1_sys = 12000;
        b.p1_dia = GE_S5_DISCONT; /* marker in a lean group: skipped */
        b.p1_mean = 9000;
        build_record(&b, rec);

        memset(&c, 0, sizeof(c));
        decode(&c, rec, sizeof(rec));
        r = find_reading(&c, "T1");
        CHECK(r && strcmp(r->unit, "Cel") == 0);
        if (r)
                CHECK_DBL(r->value, 36.55, 1e-9);
        r = find_reading(&c, "ETCO2");
        CHECK(r && strcmp(r->unit, "%") == 0);
        if (r)
                CHECK_DBL(r->value, 4.87, 1e-9);
        r = find_reading(&c, "RR");
        CHECK(r && r->value == 15);
        r = find_reading(&c, "P1_SYS");
        CHECK(r && r->value == 120);
        CHECK(find_reading(&c, "P1_DIA") == NULL);
        r = find_reading(&c, "P1_MEAN");
        CHECK(r && r->value == 90);
        CHECK(find_reading(&c, "T2") == NULL);
        CHECK(find_reading(&c, "ETO2") == NULL);
}

/* --- Markers (8005313 Table 3-9) ------------------------------------------ */

TEST(every_marker_maps_to_its_status)
{
        static const struct {
                int16_t raw;
                ReadingStatus status;
                uint32_t flags;
        } rows[] = {
                {GE_S5_DATA_INVALID, READING_INVALID, 0},
                {GE_S5_NOT_UPDATED, READING_UNAVAILABLE, 0},
                {GE_S5_DISCONT, READING_UNAVAILABLE, READING_FLAG_SENSOR_OFF},
                {GE_S5_UNDER_RANGE, READING_QUESTIONABLE, 0},
                {GE_S5_OVER_RANGE, READING_QUESTIONABLE, 0},
                {GE_S5_NOT_CALIBRATED, READING_CALIBRATING, 0},
                {-32768, READING_INVALID, 0}, /* reserved range: never a value */
                {-32001, READING_INVALID, 0},
                {GE_S5_MIN_VALID, READING_VALID, 0},
        };

        for (size_t i = 0; i < LEN(rows); i++) {
                uint8_t rec[GE_S5_DISPL_RECORD_LEN];
                GeS5Basic b;
                static Collected c;
                const Reading *hr, *spo2;

                basic_known(&b);
                b.ecg_hr = rows[i].raw;
                b.spo2 = rows[i].raw;
                build_record(&b, rec);
                memset(&c, 0, sizeof(c));
                decode(&c, rec, sizeof(rec));

                /* The encoder has no ECG status of its own: an ECG group
                 * holding only DATA_INVALID is "no module", so HR is checked
                 * for the other markers, SpO2 (explicit status) for all. */
                hr = find_reading(&c, "HR");
                spo2 = find_reading(&c, "SPO2");
                CHECK(spo2 != NULL);
                CHECK(hr != NULL || rows[i].raw == GE_S5_DATA_INVALID);
                if (spo2) {
                        CHECK_INT(spo2->status, rows[i].status);
                        CHECK_INT(spo2->flags, rows[i].flags);
                        if (rows[i].status == READING_VALID)
                                CHECK_DBL(spo2->value, rows[i].raw * 0.01, 1e-9);
                        else
                                CHECK(isnan(spo2->value));
                }
                if (hr) {
                        CHECK_INT(hr->status, rows[i].status);
                        CHECK_INT(hr->flags, rows[i].flags);
                        if (rows[i].status == READING_VALID)
                                CHECK_DBL(hr->value, rows[i].raw, 0);
                        else
                                CHECK(isnan(hr->value));
                }
        }
}

TEST(missing_module_emits_nothing)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;
        static Collected c;

        basic_known(&b);
        b.spo2_status = 0; /* no SpO2 module */
        b.nibp_status = 0; /* no NIBP module */
        build_record(&b, rec);
        memset(&c, 0, sizeof(c));
        decode(&c, rec, sizeof(rec));
        CHECK(find_reading(&c, "HR") != NULL);
        CHECK(find_reading(&c, "SPO2") == NULL);
        CHECK(find_reading(&c, "PR") == NULL);
        CHECK(find_reading(&c, "NIBP_SYS") == NULL);
}

/* --- NIBP: one reading per measurement ------------------------------------ */

TEST(nibp_repeat_not_reemitted_new_value_emitted)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;
        static Collected c;
        const uint32_t ok = GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE | GE_S5_NIBP_AUTO;

        memset(&c, 0, sizeof(c));
        basic_known(&b);

        /* first sight: emitted (even if the monitor says it is old) */
        b.nibp_status = ok | GE_S5_NIBP_OLD;
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 1);

        /* the monitor repeats it: nothing, however often */
        for (int i = 0; i < 3; i++) {
                b.time += 5;
                build_record(&b, rec);
                decode(&c, rec, sizeof(rec));
        }
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 1);
        CHECK_INT(count_readings(&c, "HR"), 4);

        /* cuff inflating: old values on display, nothing emitted */
        b.nibp_status = ok | GE_S5_NIBP_MEASURING;
        b.nibp_sys = 14000; /* even if the values flicker meanwhile */
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 1);

        /* new result */
        b.nibp_status = ok;
        b.nibp_sys = 15000;
        b.nibp_dia = 9000;
        b.nibp_mean = 11000;
        b.time += 5;
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 2);
        const Reading *last = &c.readings[c.n_readings - 1];
        CHECK_STR(last->parameter, "NIBP_PR");
        const Reading *sys = &c.readings[c.n_readings - 4];
        CHECK_STR(sys->parameter, "NIBP_SYS");
        CHECK_DBL(sys->value, 150, 1e-9);
        CHECK(sys->flags & READING_FLAG_NEW_MEASUREMENT);
        CHECK_INT(sys->device_time_ns, (int64_t)b.time * 1000000000LL);
        CHECK_INT(c.state.nibp_last[0], 15000);

        /* repeated again */
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 2);

        /* a measurement cycle that ends on the very same numbers is a new
         * measurement: the monitor said it measured */
        b.nibp_status = ok | GE_S5_NIBP_MEASURING;
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        b.nibp_status = ok;
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 3);
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 3);
}

TEST(nibp_failed_measurement_shows_invalid_once)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;
        static Collected c;

        memset(&c, 0, sizeof(c));
        basic_known(&b);
        b.nibp_sys = b.nibp_dia = b.nibp_mean = b.nibp_hr = GE_S5_DATA_INVALID;
        b.nibp_status = GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE;
        build_record(&b, rec);
        decode(&c, rec, sizeof(rec));
        decode(&c, rec, sizeof(rec));

        CHECK_INT(count_readings(&c, "NIBP_SYS"), 1);
        CHECK_INT(count_readings(&c, "NIBP_PR"), 0);
        const Reading *r = find_reading(&c, "NIBP_SYS");
        CHECK(r && r->status == READING_INVALID && isnan(r->value));
        CHECK(r && !(r->flags & READING_FLAG_NEW_MEASUREMENT));
}

/* --- Deframer under damage and chunking ----------------------------------- */

/* garbage · frame A · garbage between flags · frame B · wave-like junk · frame C */
static size_t build_stream(uint8_t *out, size_t cap)
{
        static const uint8_t garbage[] = {0x00, 0x13, 0x7D, 0x99, 0x55};
        GeS5Basic b;
        size_t pos = 0;

        basic_known(&b);
        memcpy(out + pos, garbage, sizeof(garbage));
        pos += sizeof(garbage);
        pos += build_frame(&b, out + pos, cap - pos);
        out[pos++] = 0x7E;
        out[pos++] = 0x42;
        out[pos++] = 0x43;
        out[pos++] = 0x7E;
        b.time += 5;
        b.ecg_hr = 73;
        pos += build_frame(&b, out + pos, cap - pos);
        /* shared flag: C starts right on B's closing flag */
        pos--;
        b.time += 5;
        b.ecg_hr = 74;
        b.nibp_sys = 13000;
        pos += build_frame(&b, out + pos, cap - pos);
        return pos;
}

static void check_stream_result(const Collected *c, const GeS5Deframer *d)
{
        CHECK_INT(d->bytes_skipped, 5);
        CHECK_INT(c->n_results, 4);
        CHECK_INT(c->frames_by_result[GE_S5_FRAME_OK], 3);
        CHECK_INT(c->frames_by_result[GE_S5_FRAME_TOO_SHORT], 1);
        CHECK_INT(c->results[1], GE_S5_FRAME_TOO_SHORT);
        CHECK_INT(count_readings(c, "HR"), 3);
        CHECK_INT(count_readings(c, "NIBP_SYS"), 2);
}

TEST(garbage_before_and_between_frames)
{
        static uint8_t stream[4 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        size_t n = build_stream(stream, sizeof(stream));

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, stream, n);
        check_stream_result(&c, &d);
        CHECK_DBL(c.readings[0].value, 72, 0);
}

TEST(chunking_does_not_matter)
{
        static uint8_t stream[4 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected whole, bytewise, odd;
        GeS5Deframer d;
        size_t n = build_stream(stream, sizeof(stream));

        memset(&whole, 0, sizeof(whole));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &whole, stream, n);

        memset(&bytewise, 0, sizeof(bytewise));
        ge_s5_deframer_reset(&d);
        for (size_t i = 0; i < n; i++)
                feed_all(&d, &bytewise, stream + i, 1);
        check_stream_result(&bytewise, &d);

        memset(&odd, 0, sizeof(odd));
        ge_s5_deframer_reset(&d);
        for (size_t i = 0, step = 1; i < n; i += step, step = step * 7 % 61 + 1)
                feed_all(&d, &odd, stream + i, step < n - i ? step : n - i);
        check_stream_result(&odd, &d);

        CHECK(same_collection(&bytewise, &whole));
        CHECK(same_collection(&odd, &whole));
}

TEST(cut_frame_rejected_next_kept)
{
        static uint8_t stream[3 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        size_t pos, n;

        basic_known(&b);
        n = build_frame(&b, stream, sizeof(stream));
        pos = n / 2; /* the line dropped the rest of A, closing flag included */
        b.ecg_hr = 90;
        pos += build_frame(&b, stream + pos, sizeof(stream) - pos);

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, stream, pos);
        CHECK_INT(c.n_results, 2);
        CHECK(c.results[0] != GE_S5_FRAME_OK);
        CHECK_INT(c.results[1], GE_S5_FRAME_OK);
        CHECK_INT(count_readings(&c, "HR"), 1);
        CHECK_DBL(find_reading(&c, "HR") ? find_reading(&c, "HR")->value : 0, 90, 0);
}

TEST(overlong_frame_rejected_once)
{
        static uint8_t stream[5000 + GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        size_t pos = 0;

        stream[pos++] = 0x7E;
        for (int i = 0; i < 4000; i++)
                stream[pos++] = (uint8_t)(i % 2 ? 0x7D : 0x5D); /* escaped: 2000 bytes */
        basic_known(&b);
        pos += build_frame(&b, stream + pos, sizeof(stream) - pos);

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, stream, pos);
        CHECK_INT(c.n_results, 2);
        CHECK_INT(c.results[0], GE_S5_FRAME_TOO_LONG);
        CHECK_INT(c.results[1], GE_S5_FRAME_OK);
        CHECK_INT(d.bytes_skipped, 0);

        /* exactly the largest record + checksum still fits */
        CHECK_INT(sizeof(d.buf), GE_S5_MAX_RECORD + 1);
}

TEST(bad_checksum_rejected)
{
        static uint8_t stream[2 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        size_t n;

        basic_known(&b);
        n = build_frame(&b, stream, sizeof(stream));
        stream[100] ^= 0x01; /* a data byte, not an escape or a flag */
        n += build_frame(&b, stream + n, sizeof(stream) - n);

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, stream, n);
        CHECK_INT(c.n_results, 2);
        CHECK_INT(c.results[0], GE_S5_FRAME_BAD_CHECKSUM);
        CHECK_INT(c.results[1], GE_S5_FRAME_OK);
        CHECK_INT(count_readings(&c, "HR"), 1);
}

TEST(bad_escapes_rejected)
{
        static uint8_t stream[2 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        size_t n = 0;

        basic_known(&b);
        /* 7D then flag: the flag opens the next frame, which is good */
        stream[n++] = 0x7E;
        stream[n++] = 0x01;
        stream[n++] = 0x7D;
        n += build_frame(&b, stream + n, sizeof(stream) - n);
        /* 7D then a byte that is no escape: the rest of the frame is dropped */
        stream[n++] = 0x7E;
        stream[n++] = 0x7D;
        stream[n++] = 0x41;
        stream[n++] = 0x02;
        stream[n++] = 0x03;
        n += build_frame(&b, stream + n, sizeof(stream) - n);

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, stream, n);
        CHECK_INT(c.n_results, 4);
        CHECK_INT(c.results[0], GE_S5_FRAME_BAD_ESCAPE);
        CHECK_INT(c.results[1], GE_S5_FRAME_OK);
        CHECK_INT(c.results[2], GE_S5_FRAME_BAD_ESCAPE);
        CHECK_INT(c.results[3], GE_S5_FRAME_OK);
        CHECK_INT(c.records_phdb, 2);
}

TEST(length_mismatch_and_tiny_frames)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN + 1], frame[GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN + 1)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        size_t n;

        /* checksum right, but one byte more than r_len says (seen in db01:
         * an inserted 0x00 leaves the sum unchanged) */
        basic_known(&b);
        build_record(&b, rec);
        rec[GE_S5_DISPL_RECORD_LEN] = 0x00;
        n = ge_s5_frame_encode(rec, sizeof(rec), frame, sizeof(frame));

        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, frame, n);
        CHECK_INT(c.n_results, 1);
        CHECK_INT(c.results[0], GE_S5_FRAME_TOO_SHORT);

        /* 7E 00 7E: sum of nothing is 0, still no record */
        static const uint8_t tiny[] = {0x7E, 0x00, 0x7E, 0x7E, 0x7E};
        memset(&c, 0, sizeof(c));
        feed_all(&d, &c, tiny, sizeof(tiny));
        CHECK_INT(c.n_results, 1);
        CHECK_INT(c.results[0], GE_S5_FRAME_TOO_SHORT);
}

/* --- Decoder against malformed records ------------------------------------ */

static void put16(uint8_t *p, int v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

TEST(decoder_rejects_impossible_layouts)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;
        static Collected c;

        basic_known(&b);
        memset(&c, 0, sizeof(c));

        static const struct {
                size_t at;
                int value;
        } rows[] = {
                {0, 1151},        /* r_len disagrees */
                {0, -1},          /* negative r_len */
                {16, -2},         /* sr offset negative */
                {16 + 9, 835},    /* last subrecord ends one byte past the record */
                {16 + 9, 0x7FFF}, /* far out */
        };
        for (size_t i = 0; i < LEN(rows); i++) {
                build_record(&b, rec);
                put16(rec + rows[i].at, rows[i].value);
                CHECK_INT(ge_s5_decode_record(rec, sizeof(rec), &c.state, collect_reading, &c),
                          -EBADMSG);
        }
        CHECK_INT(ge_s5_decode_record(rec, 39, &c.state, collect_reading, &c), -EBADMSG);
        CHECK_INT(c.n_readings, 0);

        /* a waveform record is another kind, counted, not decoded */
        build_record(&b, rec);
        put16(rec + 14, 1);
        CHECK_INT(ge_s5_decode_record(rec, sizeof(rec), &c.state, collect_reading, &c),
                  GE_S5_RECORD_OTHER);
        /* PHDB without a basic class (ext classes only) */
        build_record(&b, rec);
        rec[16 + 2] = 0xFF; /* list ends before the first subrecord */
        CHECK_INT(ge_s5_decode_record(rec, sizeof(rec), &c.state, collect_reading, &c),
                  GE_S5_RECORD_OTHER);
        CHECK_INT(c.n_readings, 0);

        /* basic class found by class bits, not by position */
        build_record(&b, rec);
        put16(rec + 16, 278);   /* sr 0 → ext1's bytes */
        put16(rec + 16 + 3, 0); /* sr 1 → basic */
        CHECK_INT(ge_s5_decode_record(rec, sizeof(rec), &c.state, collect_reading, &c),
                  GE_S5_RECORD_PHDB);
        CHECK(find_reading(&c, "HR") && find_reading(&c, "HR")->value == 72);
}

/* Random and mutated input: no crash, no read outside the input (run
 * under -fsanitize=address to make that a check). */
TEST(mutated_streams_never_crash)
{
        static uint8_t stream[2 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        static Collected c;
        GeS5Deframer d;
        GeS5Basic b;
        uint32_t seed = 12345;
        size_t n;

        basic_known(&b);
        n = build_frame(&b, stream, sizeof(stream));
        for (int round = 0; round < 2000; round++) {
                static uint8_t copy[sizeof(stream)];

                memcpy(copy, stream, n);
                for (int k = 0; k < 1 + round % 5; k++) {
                        seed = seed * 1103515245u + 12345u;
                        copy[1 + (seed >> 8) % (n - 2)] = (uint8_t)(seed >> 24);
                }
                memset(&c, 0, sizeof(c));
                ge_s5_deframer_reset(&d);
                feed_all(&d, &c, copy, n);
                /* whatever survived the checksum decoded or was refused */
                CHECK(c.records_phdb + c.records_other + c.records_malformed ==
                      c.frames_by_result[GE_S5_FRAME_OK]);
        }
        /* a record whose sr_desc was mutated but checksum fixed up */
        for (int round = 0; round < 2000; round++) {
                uint8_t rec[GE_S5_DISPL_RECORD_LEN];

                build_record(&b, rec);
                seed = seed * 1103515245u + 12345u;
                rec[(seed >> 8) % 40] = (uint8_t)(seed >> 24);
                memset(&c, 0, sizeof(c));
                int r = ge_s5_decode_record(rec, sizeof(rec), &c.state, collect_reading, &c);
                CHECK(r == -EBADMSG || r == GE_S5_RECORD_PHDB || r == GE_S5_RECORD_OTHER);
        }
}

/* --- The driver table against a fake host --------------------------------- */

typedef struct FakeHost {
        const char *interval;
        uint8_t written[256];
        size_t n_written;
        unsigned writes;
        unsigned counts[_DRIVER_COUNT_MAX];
        unsigned emitted;
        int log_priority;
        char log_line[256];
} FakeHost;

static FakeHost fake;

static void fake_emit(DriverInstance *d, const Reading *r)
{
        fake.emitted++;
}

static int fake_write(DriverInstance *d, const void *buf, size_t len)
{
        fake.writes++;
        fake.n_written = len < sizeof(fake.written) ? len : sizeof(fake.written);
        memcpy(fake.written, buf, fake.n_written);
        return 0;
}

static const char *fake_option(DriverInstance *d, const char *key)
{
        return strcmp(key, "interval") == 0 ? fake.interval : NULL;
}

static void fake_log(DriverInstance *d, int priority, const char *fmt, ...)
{
        va_list ap;

        fake.log_priority = priority;
        va_start(ap, fmt);
        vsnprintf(fake.log_line, sizeof(fake.log_line), fmt, ap);
        va_end(ap);
}

static void fake_count(DriverInstance *d, DriverCounter which, unsigned n)
{
        fake.counts[which] += n;
}

static const DriverHost fake_host = {
        .emit = fake_emit,
        .write = fake_write,
        .option = fake_option,
        .log = fake_log,
        .count = fake_count,
};

static uint64_t driver_state_mem[(1 << 13) / sizeof(uint64_t)];

static DriverInstance *fake_instance(const char *interval)
{
        static DriverInstance inst;
        const Driver *drv = driver_find("ge-s5");

        memset(&fake, 0, sizeof(fake));
        fake.interval = interval;
        memset(driver_state_mem, 0, sizeof(driver_state_mem));
        inst = (DriverInstance){.driver = drv, .host = &fake_host, .state = driver_state_mem};
        return &inst;
}

TEST(driver_table)
{
        const Driver *drv = driver_find("ge-s5");

        CHECK(drv == &ge_s5_driver);
        if (!drv)
                return;
        CHECK_INT(drv->transport, TRANSPORT_SERIAL);
        CHECK_INT(drv->line.baud, 19200);
        CHECK_INT(drv->line.data_bits, 8);
        CHECK_INT(drv->line.parity, PARITY_EVEN);
        CHECK_INT(drv->line.stop_bits, 1);
        CHECK_INT(drv->line.flow, FLOW_RTSCTS);
        CHECK_STR(drv->options[0].key, "interval");
        CHECK_STR(drv->options[0].default_value, "5");
        CHECK(drv->options[1].key == NULL);
        CHECK_STR(drv->periods[0].parameter, "HR");
        for (size_t i = 0; drv->periods[i].parameter; i++)
                CHECK(strncmp(drv->periods[i].parameter, "NIBP", 4) != 0);
        CHECK_INT(drv->quiet_usec, 15000000);
        CHECK(drv->state_size <= sizeof(driver_state_mem));
        CHECK(drv->init && drv->on_connect && drv->on_bytes && drv->on_quiet);
}

TEST(driver_rejects_bad_interval)
{
        static const char *const bad[] = {"4", "61", "abc", "10x", "", "-5", "99999999999"};
        static const char *const good[] = {"5", "60", "10"};

        for (size_t i = 0; i < LEN(bad); i++) {
                DriverInstance *d = fake_instance(bad[i]);

                CHECK_INT(ge_s5_driver.init(d), -EINVAL);
                CHECK_INT(fake.log_priority, LOG_ERR);
                CHECK(strstr(fake.log_line, "interval") != NULL);
        }
        for (size_t i = 0; i < LEN(good); i++) {
                DriverInstance *d = fake_instance(good[i]);

                CHECK_INT(ge_s5_driver.init(d), 0);
        }
        CHECK_INT(ge_s5_driver.init(fake_instance(NULL)), 0); /* default 5 */
}

TEST(driver_requests_and_decodes)
{
        static uint8_t stream[4 * GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)];
        DriverInstance *d = fake_instance("10");
        uint8_t want[64];
        size_t n;

        CHECK_INT(ge_s5_driver.init(d), 0);
        CHECK_INT(ge_s5_driver.on_connect(d), 0);
        n = ge_s5_build_displ_request(10, want, sizeof(want));
        CHECK_INT(fake.writes, 1);
        CHECK(fake.n_written == n && memcmp(fake.written, want, n) == 0);

        n = build_stream(stream, sizeof(stream));
        ge_s5_driver.on_bytes(d, stream, 3); /* counters across calls */
        ge_s5_driver.on_bytes(d, stream + 3, n - 3);
        CHECK_INT(fake.counts[DRIVER_COUNT_FRAMES_OK], 3);
        CHECK_INT(fake.counts[DRIVER_COUNT_FRAMES_BAD], 1);
        CHECK_INT(fake.counts[DRIVER_COUNT_BYTES_SKIPPED], 5);
        CHECK_INT(fake.counts[DRIVER_COUNT_RECORDS_IGNORED], 0);
        /* 3 × (HR SPO2 PR) + 2 × (NIBP sys dia mean pr) */
        CHECK_INT(fake.emitted, 3 * 3 + 2 * 4);

        /* with a 10 s interval, 15 s of silence already means records are
         * missing: ask again at once */
        CHECK_INT(ge_s5_driver.on_quiet(d), 0);
        CHECK_INT(fake.writes, 2);
}

TEST(driver_quiet_waits_for_long_interval)
{
        DriverInstance *d = fake_instance("60");

        CHECK_INT(ge_s5_driver.init(d), 0);
        CHECK_INT(ge_s5_driver.on_connect(d), 0);
        CHECK_INT(fake.writes, 1);
        /* 15, 30, 45, 60 s of silence are normal between 60 s records */
        for (int i = 0; i < 4; i++)
                CHECK_INT(ge_s5_driver.on_quiet(d), 0);
        CHECK_INT(fake.writes, 1);
        /* 75 s: a record is missing, ask again */
        CHECK_INT(ge_s5_driver.on_quiet(d), 0);
        CHECK_INT(fake.writes, 2);
}

/* --- Real monitor streams (../shared/captures/ge-s5) ---------------------- */

static uint8_t *read_capture(const char *name, size_t *ret_len)
{
        char path[4096];
        FILE *f;
        uint8_t *buf = NULL;
        long len;

        if (!captures_dir)
                return NULL;
        snprintf(path, sizeof(path), "%s/ge-s5/%s", captures_dir, name);
        f = fopen(path, "rb");
        if (!f)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
                buf = malloc((size_t)len);
                if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
                        free(buf);
                        buf = NULL;
                }
                *ret_len = (size_t)len;
        }
        fclose(f);
        return buf;
}

#define CAPTURE_OR_SKIP(name, buf, len)                                                            \
        do {                                                                                       \
                buf = read_capture(name, &len);                                                    \
                if (!buf) {                                                                        \
                        printf("SKIP %s: no capture %s/ge-s5/%s\n", testlib_current,               \
                               captures_dir ? captures_dir : "(none)", name);                      \
                        return;                                                                    \
                }                                                                                  \
        } while (0)

TEST(capture_notebook)
{
        static Collected c;
        GeS5Deframer d;
        uint8_t *buf;
        size_t len;
        const Reading *r;

        CAPTURE_OR_SKIP("notebook.raw", buf, len);
        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, buf, len);
        free(buf);

        CHECK_INT(c.frames_by_result[GE_S5_FRAME_OK], 21);
        CHECK_INT(c.n_results, 21);
        CHECK_INT(c.records_phdb, 11);
        CHECK_INT(c.records_other, 10);
        CHECK_INT(d.bytes_skipped, 0);

        /* first record, 2018-07-26 17:06:05 UTC */
        r = find_reading(&c, "HR");
        CHECK(r && r->value == 80 && r->status == READING_VALID);
        CHECK(r && r->device_time_ns == 1532624765LL * 1000000000LL);
        r = find_reading(&c, "SPO2");
        CHECK(r && r->status == READING_VALID);
        if (r)
                CHECK_DBL(r->value, 96.65, 1e-9);
        r = find_reading(&c, "PR");
        CHECK(r && r->value == 83);
        r = find_reading(&c, "NIBP_SYS");
        CHECK(r && (r->flags & READING_FLAG_NEW_MEASUREMENT));
        if (r)
                CHECK_DBL(r->value, 93, 1e-9);
        r = find_reading(&c, "NIBP_DIA");
        if (r)
                CHECK_DBL(r->value, 48, 1e-9);
        r = find_reading(&c, "NIBP_MEAN");
        if (r)
                CHECK_DBL(r->value, 69, 1e-9);
        CHECK(find_reading(&c, "NIBP_PR") == NULL); /* -32767 in the capture */
        r = find_reading(&c, "ETCO2");
        if (r)
                CHECK_DBL(r->value, 4.87, 1e-9);
        r = find_reading(&c, "RR");
        CHECK(r && r->value == 15);
        CHECK(find_reading(&c, "T1") == NULL); /* no temperature module */
        /* the monitor repeats one NIBP in all 11 records */
        CHECK_INT(count_readings(&c, "NIBP_SYS"), 1);
        CHECK_INT(c.hr_total, 11);
}

TEST(capture_db01_resynchronises)
{
        static Collected c;
        GeS5Deframer d;
        uint8_t *buf;
        size_t len;

        CAPTURE_OR_SKIP("db01.raw", buf, len);
        memset(&c, 0, sizeof(c));
        ge_s5_deframer_reset(&d);
        feed_all(&d, &c, buf, len);
        free(buf);

        /* Counted independently (a Python model of the same rules):
         * 2446 non-empty runs between flags; 2144 of them pass the checksum
         * alone, of which 18 are not records (6 single 0x00 bytes, 10
         * records with one byte too many, 2 cut ones): r_len disagrees. */
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_OK], 2126);
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_BAD_CHECKSUM], 164);
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_TOO_SHORT], 146);
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_BAD_ESCAPE], 10);
        CHECK_INT(c.frames_by_result[GE_S5_FRAME_TOO_LONG], 0);
        CHECK(c.frames_by_result[GE_S5_FRAME_BAD_CHECKSUM] +
                      c.frames_by_result[GE_S5_FRAME_TOO_SHORT] +
                      c.frames_by_result[GE_S5_FRAME_BAD_ESCAPE] >
              250);
        CHECK_INT(d.bytes_skipped, 837);
        CHECK_INT(c.records_phdb, 1151);
        CHECK_INT(c.records_other, 975);
        CHECK_INT(c.records_malformed, 0);
        CHECK_INT(c.hr_total, 1151);
        CHECK_INT(c.hr_out_of_range, 0);
        CHECK_DBL(c.hr_min, 77, 0);
        CHECK_DBL(c.hr_max, 80, 0);
        /* db01 repeats 48 distinct records; one NIBP result throughout */
        CHECK_INT(c.nibp_new, 1);
}

TEST(capture_db00_db02_all_good)
{
        static const struct {
                const char *name;
                unsigned ok, phdb, skipped, nibp;
                int64_t nibp_first_s;
        } rows[] = {
                /* db00: 1760 s of 1 s records, the cuff measured 9 times;
                 * the first 10 records show it measuring */
                {"db00.raw", 3520, 1760, 419, 9, 1533220230},
                {"db02.raw", 213, 107, 0, 1, 1532624765},
        };

        for (size_t i = 0; i < LEN(rows); i++) {
                static Collected c;
                GeS5Deframer d;
                uint8_t *buf;
                size_t len;

                CAPTURE_OR_SKIP(rows[i].name, buf, len);
                memset(&c, 0, sizeof(c));
                ge_s5_deframer_reset(&d);
                feed_all(&d, &c, buf, len);
                free(buf);
                CHECK_INT(c.frames_by_result[GE_S5_FRAME_OK], rows[i].ok);
                CHECK_INT(c.records_phdb, rows[i].phdb);
                CHECK_INT(d.bytes_skipped, rows[i].skipped);
                CHECK_INT(c.hr_total, rows[i].phdb);
                CHECK_INT(c.hr_out_of_range, 0);
                CHECK_INT(c.nibp_new, rows[i].nibp);
                CHECK_INT(c.nibp_first_time_ns, rows[i].nibp_first_s * 1000000000LL);
        }
}

int main(int argc, char **argv)
{
        captures_dir = argc > 1 ? argv[1] : getenv("VITALS_CAPTURES");

        RUN(request_displ_10s_matches_appendix_a);
        RUN(request_displ_stop_matches_appendix_a);
        RUN(request_trend_60s_escapes_checksum_7d);
        RUN(request_single_and_small_buffer);
        RUN(request_parses_back);
        RUN(escape_of_data_and_checksum);
        RUN(escaped_checksum_round_trips_through_deframer);
        RUN(round_trip_known_values);
        RUN(other_groups_emit_only_valid_values);
        RUN(every_marker_maps_to_its_status);
        RUN(missing_module_emits_nothing);
        RUN(nibp_repeat_not_reemitted_new_value_emitted);
        RUN(nibp_failed_measurement_shows_invalid_once);
        RUN(garbage_before_and_between_frames);
        RUN(chunking_does_not_matter);
        RUN(cut_frame_rejected_next_kept);
        RUN(overlong_frame_rejected_once);
        RUN(bad_checksum_rejected);
        RUN(bad_escapes_rejected);
        RUN(length_mismatch_and_tiny_frames);
        RUN(decoder_rejects_impossible_layouts);
        RUN(mutated_streams_never_crash);
        RUN(driver_table);
        RUN(driver_rejects_bad_interval);
        RUN(driver_requests_and_decodes);
        RUN(driver_quiet_waits_for_long_interval);
        RUN(capture_notebook);
        RUN(capture_db01_resynchronises);
        RUN(capture_db00_db02_all_good);
        return testlib_finish();
}
