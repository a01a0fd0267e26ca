/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ge_s5.c — GE Datex-Ohmeda S/5 / CARESCAPE computer interface: the pure
 * codec declared in ge_s5.h and the "ge-s5" driver table built on it.
 *
 * What it owns: framing (flags, transparency, checksum), the PHDB request
 * records the host sends, decoding of the basic PHDB class of DISPL records
 * into Readings, the NIBP "is this a new measurement?" rule, and the
 * encoder vitals-sim uses to speak as a monitor.
 *
 * Sources, cited field by field below: GE M1017617 "S/5 Computer Interface
 * Specification" (framing, requests, Appendix A example frames) and GE
 * 8005313 "S/5 DRI Specification" (record header, PHDB layout, Table 3-9
 * markers, Table 3-18 NIBP bits); summarised in ../shared/PROTOCOLS.md §3.2.
 * Field offsets were cross-checked against real streams
 * (../shared/captures/ge-s5, from UN-GCPDS/python-pycollect).
 *
 * Failure: the codec never blocks, never allocates and never reads outside
 * the record it was given; every length and offset a device sends is
 * checked before use.  Damaged frames are reported to the caller, which
 * counts them; the driver soldiers on with the next flag.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "drivers.h"
#include "ge_s5.h"

/* --- Record layout (8005313 §2.2, §3.3; PROTOCOLS.md §3.2) --------------- */

/* Record header, little-endian, packed (8005313 §2.2 "datex_hdr"). */
enum {
        HDR_R_LEN = 0,       /* s16, whole record including this header */
        HDR_R_NBR = 2,       /* u8 */
        HDR_DRI_LEVEL = 3,   /* u8 */
        HDR_PLUG_ID = 4,     /* u16 */
        HDR_R_TIME = 6,      /* u32, Unix seconds */
        HDR_N_SUBNET = 10,   /* u8 */
        HDR_RESERVED2 = 11,  /* u8 */
        HDR_RESERVED3 = 12,  /* u16 */
        HDR_R_MAINTYPE = 14, /* s16 */
        HDR_SR_DESC = 16,    /* 8 × {offset s16 (from byte 40), sr_type u8} */
        SR_DESC_SIZE = 3,
        SR_DESC_MAX = 8,
        SR_TYPE_END = 0xFF,
};

/* r_maintype (8005313 §2.2). */
enum {
        MAINTYPE_PHDB = 0,
        MAINTYPE_WAVE = 1,
        MAINTYPE_ALARM = 4,
};

/* PHDB sr_type values (8005313 §3.2): a request travels as type 0, the
 * monitor answers with DISPL (1), 10 s trend (2) or 60 s trend (3). */
enum {
        PHDB_SR_XMIT_REQ = 0,
        PHDB_SR_DISPL = 1,
        PHDB_SR_TREND10 = 2,
        PHDB_SR_TREND60 = 3,
};

/* phdb_class_bf (M1017617 §3; the mask names are VSCaptureWave's
 * DataConstants): basic is sent unless bit 0 ("deny basic") is set, bits 1-3
 * ask for ext1-ext3.  Appendix A's start requests carry 0x0E, i.e. all four
 * classes, which is what produces the 1152-byte DISPL records captured. */
enum {
        PHDB_CLASS_REQ_BASIC = 0x0,
        PHDB_CLASS_DENY_BASIC = 0x1,
        PHDB_CLASS_REQ_EXT1 = 0x2,
        PHDB_CLASS_REQ_EXT2 = 0x4,
        PHDB_CLASS_REQ_EXT3 = 0x8,
};
#define PHDB_CLASS_REQUEST_ALL                                                                     \
        (PHDB_CLASS_REQ_BASIC | PHDB_CLASS_REQ_EXT1 | PHDB_CLASS_REQ_EXT2 | PHDB_CLASS_REQ_EXT3)

/* PHDB request subrecord (M1017617 §3 "phdb_req"): 9 bytes. */
enum {
        REQ_RCRD_TYPE = 0, /* u8 */
        REQ_TX_IVAL = 1,   /* s16 */
        REQ_CLASS_BF = 3,  /* u32 */
        REQ_RESERVED = 7,  /* s16 */
        REQ_SIZE = 9,
};

/* PHDB data subrecord (8005313 §3.3.3 "dri_phdb"): 278 bytes. */
enum {
        PHDB_TIME = 0,  /* u32, Unix seconds */
        PHDB_CLASS = 4, /* 270-byte union basic/ext1/ext2/ext3 */
        PHDB_CLASS_SIZE = 270,
        PHDB_MARKER = 274,         /* u8 */
        PHDB_RESERVED = 275,       /* u8 */
        PHDB_CL_DRILVL_SUBT = 276, /* u16: class in bits 8-11 */
        PHDB_SIZE = 278,
};
#define PHDB_CLASS_OF(cl) (((cl) >> 8) & 0x0Fu)
/* Low byte of cl_drilvl_subt as seen in every captured DISPL subrecord:
 * 0xA1 (interface level 10 in the high nibble, DISPL subtype 1 in the low). */
#define PHDB_DRILVL_SUBT_DISPL_L10 0xA1u

#define DRI_LEVEL_CAPTURED 10
_Static_assert(GE_S5_DISPL_RECORD_LEN == GE_S5_HDR_LEN + 4 * PHDB_SIZE, "DISPL record size");

/* Basic class (8005313 §3.3.3 "basic_phdb"): offsets from the class start.
 * Each group opens with status_bits u32 + label_info u16, then s16 values. */
enum {
        GROUP_HDR = 6,
        BASIC_ECG = 0, /* hr, st1, st2, st3, imp_rr */
        BASIC_P1 = 16, /* sys, dia, mean, hr; P2..P4 follow every 14 bytes */
        BASIC_P_STRIDE = 14,
        BASIC_NIBP = 72, /* sys, dia, mean, hr */
        BASIC_T1 = 86,   /* temp; T2..T4 follow every 8 bytes */
        BASIC_T_STRIDE = 8,
        BASIC_SPO2 = 118,      /* spo2, pr, ir_amp, svo2 */
        BASIC_CO2 = 132,       /* et, fi, rr, amb_press */
        BASIC_O2 = 146,        /* et, fi */
        BASIC_N2O = 156,       /* et, fi */
        BASIC_AA = 166,        /* et, fi, mac_sum */
        BASIC_FLOW_VOL = 178,  /* rr, ppeak, peep, pplat, tv_insp, tv_exp, compliance, mv_exp */
        BASIC_CO_WEDGE = 200,  /* co, blood_temp, ref, pcwp */
        BASIC_NMT = 214,       /* t1, tratio, ptc */
        BASIC_ECG_EXTRA = 226, /* no group header: hr_ecg, hr_max, hr_min */
        BASIC_SVO2 = 232,      /* svo2 */
        BASIC_P5 = 240,        /* sys, dia, mean, hr */
        BASIC_P6 = 254,
        BASIC_RESERVED = 268,
};

/* Group status_bits (8005313 §3.3.3): bit 0 "exists" (the module is
 * present), bit 1 "active": GE_S5_GROUP_EXISTS, GE_S5_GROUP_ACTIVE. */

/*
 * NIBP bits, 8005313 Table 3-18.  They live in the group's label_info u16,
 * not in status_bits: in every captured record status_bits is 0x3 while
 * label_info walks 0x10b (AUTO, old) → 0x12b (measuring, old) → 0x2b
 * (measuring) → 0x0b (AUTO, fresh result), i.e. exactly the Table 3-18 bit
 * numbers; part-cw/LNhealth modules/s5parser/s5parser.scm (nibp_group)
 * likewise tests "Bit 5 of LABEL field is Measuring".
 */
/* The cuff is doing something other than showing a finished result. */
#define NIBP_BUSY (GE_S5_NIBP_MEASURING | GE_S5_NIBP_STASIS | GE_S5_NIBP_CALIBRATING)

/* --- Little-endian helpers; callers have checked bounds. ---------------- */

static uint16_t get_u16(const uint8_t *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}

static int16_t get_s16(const uint8_t *p)
{
        return (int16_t)get_u16(p);
}

static uint32_t get_u32(const uint8_t *p)
{
        return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
               ((uint32_t)p[3] << 24);
}

static void put_u16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_s16(uint8_t *p, int16_t v)
{
        put_u16(p, (uint16_t)v);
}

static void put_u32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/* --- Framing (M1017617 "Data transparency", "Checksum") ------------------ */

uint8_t ge_s5_checksum(const uint8_t *record, size_t len)
{
        uint8_t sum = 0;

        for (size_t i = 0; i < len; i++)
                sum = (uint8_t)(sum + record[i]);
        return sum;
}

static bool put_escaped(uint8_t b, uint8_t *out, size_t cap, size_t *pos)
{
        if (b == GE_S5_FLAG || b == GE_S5_ESC) {
                if (cap - *pos < 2)
                        return false;
                out[(*pos)++] = GE_S5_ESC;
                out[(*pos)++] = b ^ 0x20;
        } else {
                if (cap - *pos < 1)
                        return false;
                out[(*pos)++] = b;
        }
        return true;
}

size_t ge_s5_frame_encode(const uint8_t *record, size_t len, uint8_t *out, size_t cap)
{
        size_t pos = 0;

        if (!out || (!record && len > 0) || cap < 3)
                return 0;

        out[pos++] = GE_S5_FLAG;
        for (size_t i = 0; i < len; i++)
                if (!put_escaped(record[i], out, cap, &pos))
                        return 0;
        /* The checksum byte is escaped like the record (M1017617 "Application
         * data structure"; Appendix A's 60 s trend request ends 7d 5d 7e). */
        if (!put_escaped(ge_s5_checksum(record, len), out, cap, &pos))
                return 0;
        if (cap - pos < 1)
                return 0;
        out[pos++] = GE_S5_FLAG;
        return pos;
}

/* --- Requests (M1017617 §3 and Appendix A) ------------------------------- */

static void header_init(uint8_t *rec, size_t r_len, int16_t maintype, uint32_t r_time,
                        uint8_t dri_level)
{
        memset(rec, 0, GE_S5_HDR_LEN);
        put_s16(rec + HDR_R_LEN, (int16_t)r_len);
        rec[HDR_DRI_LEVEL] = dri_level;
        put_u32(rec + HDR_R_TIME, r_time);
        put_s16(rec + HDR_R_MAINTYPE, maintype);
}

static void header_set_sr(uint8_t *rec, unsigned i, int16_t offset, uint8_t type)
{
        put_s16(rec + HDR_SR_DESC + i * SR_DESC_SIZE, offset);
        rec[HDR_SR_DESC + i * SR_DESC_SIZE + 2] = type;
}

/*
 * A PHDB transmission request: header (r_len 49, everything else zero,
 * r_maintype PHDB) with one subrecord of type 0 at offset 0 and the list
 * terminated by type 0xFF, then the 9-byte phdb_req.  A stop request
 * (interval 0) carries no class bits: M1017617 Appendix A's stop frames sum
 * to 0x31 (DISPL) and 0x33 (60 s trend), which only adds up with
 * phdb_class_bf = 0, while its start frames carry 0x0E (checksums 0x49 for
 * DISPL 10 s, 0x7D for 60 s trend).  VSCaptureWave (Class1.cs, request
 * code) clears the class bits on a stop request the same way.
 */
size_t ge_s5_build_phdb_request(uint8_t record_type, int16_t interval_s, uint8_t *out, size_t cap)
{
        uint8_t rec[GE_S5_HDR_LEN + REQ_SIZE];
        uint8_t *sr = rec + GE_S5_HDR_LEN;

        header_init(rec, sizeof(rec), MAINTYPE_PHDB, 0, 0);
        header_set_sr(rec, 0, 0, PHDB_SR_XMIT_REQ);
        header_set_sr(rec, 1, 0, SR_TYPE_END);

        memset(sr, 0, REQ_SIZE);
        sr[REQ_RCRD_TYPE] = record_type;
        put_s16(sr + REQ_TX_IVAL, interval_s);
        put_u32(sr + REQ_CLASS_BF, interval_s == 0 ? 0 : PHDB_CLASS_REQUEST_ALL);
        put_s16(sr + REQ_RESERVED, 0);

        return ge_s5_frame_encode(rec, sizeof(rec), out, cap);
}

size_t ge_s5_build_displ_request(int16_t interval_s, uint8_t *out, size_t cap)
{
        return ge_s5_build_phdb_request(GE_S5_PHDB_DISPL, interval_s, out, cap);
}

int ge_s5_parse_phdb_request(const uint8_t *record, size_t len, uint8_t *ret_record_type,
                             int16_t *ret_interval_s, uint32_t *ret_class_bf)
{
        const uint8_t *sr;
        int16_t offset;

        if (!record || len < GE_S5_HDR_LEN + REQ_SIZE || len > GE_S5_MAX_RECORD)
                return -EBADMSG;
        if ((size_t)get_u16(record + HDR_R_LEN) != len ||
            get_s16(record + HDR_R_MAINTYPE) != MAINTYPE_PHDB ||
            record[HDR_SR_DESC + 2] != PHDB_SR_XMIT_REQ)
                return -EBADMSG;
        offset = get_s16(record + HDR_SR_DESC);
        if (offset < 0 || (size_t)offset + REQ_SIZE > len - GE_S5_HDR_LEN)
                return -EBADMSG;

        sr = record + GE_S5_HDR_LEN + offset;
        if (ret_record_type)
                *ret_record_type = sr[REQ_RCRD_TYPE];
        if (ret_interval_s)
                *ret_interval_s = get_s16(sr + REQ_TX_IVAL);
        if (ret_class_bf)
                *ret_class_bf = get_u32(sr + REQ_CLASS_BF);
        return 0;
}

/* --- Monitor-side encoder (vitals-sim) ----------------------------------- */

void ge_s5_basic_init(GeS5Basic *b)
{
        if (!b)
                return;
        *b = (GeS5Basic){
                .time = 0,
                .ecg_hr = GE_S5_DATA_INVALID,
                .nibp_sys = GE_S5_DATA_INVALID,
                .nibp_dia = GE_S5_DATA_INVALID,
                .nibp_mean = GE_S5_DATA_INVALID,
                .nibp_hr = GE_S5_DATA_INVALID,
                .nibp_status = 0,
                .spo2 = GE_S5_DATA_INVALID,
                .spo2_pr = GE_S5_DATA_INVALID,
                .spo2_ir_amp = GE_S5_DATA_INVALID,
                .spo2_status = 0,
                .t1 = GE_S5_DATA_INVALID,
                .co2_et = GE_S5_DATA_INVALID,
                .co2_rr = GE_S5_DATA_INVALID,
                .p1_sys = GE_S5_DATA_INVALID,
                .p1_dia = GE_S5_DATA_INVALID,
                .p1_mean = GE_S5_DATA_INVALID,
        };
}

/* Writes a group header and n values; values beyond those given stay
 * DATA_INVALID (the caller pre-filled the class). */
static void put_group(uint8_t *cls, size_t off, uint32_t status, uint16_t label,
                      const int16_t *values, size_t n)
{
        put_u32(cls + off, status);
        put_u16(cls + off + 4, label);
        for (size_t i = 0; i < n; i++)
                put_s16(cls + off + GROUP_HDR + 2 * i, values[i]);
}

static bool any_data(const int16_t *values, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (values[i] != GE_S5_DATA_INVALID)
                        return true;
        return false;
}

static uint32_t status_for(const int16_t *values, size_t n)
{
        return any_data(values, n) ? GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE : 0;
}

/* Every value DATA_INVALID; build_basic then clears the group headers so
 * that no group exists unless it is filled in. */
static void fill_invalid(uint8_t *cls)
{
        for (size_t i = 0; i + 1 < PHDB_CLASS_SIZE; i += 2)
                put_s16(cls + i, GE_S5_DATA_INVALID);
}

static void build_basic(const GeS5Basic *b, uint8_t *cls)
{
        static const size_t headers[] = {
                BASIC_ECG,
                BASIC_P1,
                BASIC_P1 + BASIC_P_STRIDE,
                BASIC_P1 + 2 * BASIC_P_STRIDE,
                BASIC_P1 + 3 * BASIC_P_STRIDE,
                BASIC_NIBP,
                BASIC_T1,
                BASIC_T1 + BASIC_T_STRIDE,
                BASIC_T1 + 2 * BASIC_T_STRIDE,
                BASIC_T1 + 3 * BASIC_T_STRIDE,
                BASIC_SPO2,
                BASIC_CO2,
                BASIC_O2,
                BASIC_N2O,
                BASIC_AA,
                BASIC_FLOW_VOL,
                BASIC_CO_WEDGE,
                BASIC_NMT,
                BASIC_SVO2,
                BASIC_P5,
                BASIC_P6,
        };

        fill_invalid(cls);
        for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
                put_u32(cls + headers[i], 0);
                put_u16(cls + headers[i] + 4, 0);
        }
        put_s16(cls + BASIC_RESERVED, 0); /* reserved[2] */

        const int16_t ecg[] = {b->ecg_hr};
        put_group(cls, BASIC_ECG, status_for(ecg, 1), 0, ecg, 1);

        const int16_t p1[] = {b->p1_sys, b->p1_dia, b->p1_mean};
        put_group(cls, BASIC_P1, status_for(p1, 3), 0, p1, 3);

        /* NIBP: the caller's word carries exists/active (bits 0-1) and the
         * Table 3-18 bits (3-8).  A monitor puts the latter in label_info and
         * only exists/active in status_bits (see GE_S5_NIBP_*), so split it the
         * same way: a record built from nibp_status 0x10b reads exactly like a
         * captured one (status 0x3, label 0x10b). */
        const int16_t nibp[] = {b->nibp_sys, b->nibp_dia, b->nibp_mean, b->nibp_hr};
        put_group(cls, BASIC_NIBP, b->nibp_status & (GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE),
                  (uint16_t)b->nibp_status, nibp, 4);

        const int16_t t1[] = {b->t1};
        put_group(cls, BASIC_T1, status_for(t1, 1), 0, t1, 1);

        const int16_t spo2[] = {b->spo2, b->spo2_pr, b->spo2_ir_amp};
        put_group(cls, BASIC_SPO2, b->spo2_status, 0, spo2, 3);

        const int16_t co2[] = {b->co2_et, GE_S5_DATA_INVALID, b->co2_rr};
        put_group(cls, BASIC_CO2, status_for(co2, 3), 0, co2, 3);
}

size_t ge_s5_build_displ_record(const GeS5Basic *b, uint8_t *out, size_t cap)
{
        if (!b || !out || cap < GE_S5_DISPL_RECORD_LEN)
                return 0;

        header_init(out, GE_S5_DISPL_RECORD_LEN, MAINTYPE_PHDB, b->time, DRI_LEVEL_CAPTURED);
        for (unsigned i = 0; i < 4; i++)
                header_set_sr(out, i, (int16_t)(i * PHDB_SIZE), PHDB_SR_DISPL);
        header_set_sr(out, 4, 0, SR_TYPE_END);

        for (unsigned i = 0; i < 4; i++) {
                uint8_t *sr = out + GE_S5_HDR_LEN + i * PHDB_SIZE;

                memset(sr, 0, PHDB_SIZE);
                put_u32(sr + PHDB_TIME, b->time);
                if (i == 0)
                        build_basic(b, sr + PHDB_CLASS);
                else
                        /* Ext classes: no group exists (status 0). */
                        memset(sr + PHDB_CLASS, 0, PHDB_CLASS_SIZE);
                sr[PHDB_MARKER] = 0;
                sr[PHDB_RESERVED] = 0;
                put_u16(sr + PHDB_CL_DRILVL_SUBT,
                        (uint16_t)((i << 8) | PHDB_DRILVL_SUBT_DISPL_L10));
        }
        return GE_S5_DISPL_RECORD_LEN;
}

/* --- Deframer ------------------------------------------------------------ */

void ge_s5_deframer_reset(GeS5Deframer *d)
{
        d->len = 0;
        d->in_frame = false;
        d->escaped = false;
        d->overflow = false;
        d->bytes_skipped = 0;
}

/*
 * A closing flag ends the frame in buf.  Order of checks: too short to hold
 * a header and a checksum; checksum; then r_len against the unescaped
 * length (a frame that lost bytes but whose sum still happens to match).
 * The r_len check lives here, reported as GE_S5_FRAME_TOO_SHORT as the enum
 * says; ge_s5_decode_record checks it again for callers that bypass the
 * deframer (fuzzers, replay tools).
 */
static void deframer_close(GeS5Deframer *d, GeS5FrameFn fn, void *userdata)
{
        size_t rec_len;
        GeS5FrameResult result = GE_S5_FRAME_OK;

        if (d->len == 0)
                return; /* 7E 7E between frames, or a flag opening the first one */

        rec_len = d->len - 1;
        if (d->len < GE_S5_HDR_LEN + 1) {
                result = GE_S5_FRAME_TOO_SHORT;
                rec_len = d->len;
        } else if (ge_s5_checksum(d->buf, rec_len) != d->buf[rec_len])
                result = GE_S5_FRAME_BAD_CHECKSUM;
        else if ((size_t)get_u16(d->buf + HDR_R_LEN) != rec_len)
                result = GE_S5_FRAME_TOO_SHORT;

        fn(userdata, result, d->buf, rec_len);
}

/* Reports a frame that went wrong before its closing flag, then drops
 * everything up to the next flag. */
static void deframer_abort(GeS5Deframer *d, GeS5FrameResult result, GeS5FrameFn fn, void *userdata)
{
        fn(userdata, result, d->buf, d->len);
        d->len = 0;
        d->escaped = false;
        d->overflow = true;
}

void ge_s5_deframer_feed(GeS5Deframer *d, const uint8_t *buf, size_t n, GeS5FrameFn fn,
                         void *userdata)
{
        for (size_t i = 0; i < n; i++) {
                uint8_t b = buf[i];

                if (b == GE_S5_FLAG) {
                        if (d->in_frame && !d->overflow) {
                                if (d->escaped) {
                                        /* 7D 7E: the sender lost the frame mid-escape;
                                         * this flag opens the next one. */
                                        fn(userdata, GE_S5_FRAME_BAD_ESCAPE, d->buf, d->len);
                                } else
                                        deframer_close(d, fn, userdata);
                        }
                        /* A flag both closes a frame and opens the next. */
                        d->in_frame = true;
                        d->overflow = false;
                        d->escaped = false;
                        d->len = 0;
                        continue;
                }

                if (!d->in_frame) {
                        d->bytes_skipped++;
                        continue;
                }
                if (d->overflow)
                        continue; /* rest of a frame already reported bad */

                if (d->escaped) {
                        d->escaped = false;
                        if (b != (GE_S5_FLAG ^ 0x20) && b != (GE_S5_ESC ^ 0x20)) {
                                deframer_abort(d, GE_S5_FRAME_BAD_ESCAPE, fn, userdata);
                                continue;
                        }
                        b ^= 0x20;
                } else if (b == GE_S5_ESC) {
                        d->escaped = true;
                        continue;
                }

                if (d->len >= sizeof(d->buf)) {
                        deframer_abort(d, GE_S5_FRAME_TOO_LONG, fn, userdata);
                        continue;
                }
                d->buf[d->len++] = b;
        }
}

/* --- Decoder ------------------------------------------------------------- */

/* One parameter of the basic class: where it is and how to present it. */
typedef struct BasicParam {
        const char *parameter;
        const char *unit;
        uint16_t group; /* offset of the group header in the basic class */
        uint8_t index;  /* value index after the 6-byte group header */
        double scale;   /* monitor unit → UCUM unit */
        bool always;    /* emit markers too (the alarm engine needs "sensor off") */
} BasicParam;

#define P_GROUP(n) ((uint16_t)(BASIC_P1 + ((n)-1) * BASIC_P_STRIDE))
#define T_GROUP(n) ((uint16_t)(BASIC_T1 + ((n)-1) * BASIC_T_STRIDE))

/* Units: 8005313 tables 3-x (HR/PR/RR 1/min, pressures 1/100 mmHg, SpO2,
 * gases 1/100 %, temperatures 1/100 °C).  NIBP is handled on its own. */
static const BasicParam basic_params[] = {
        {"HR", "/min", BASIC_ECG, 0, 1.0, true},
        {"SPO2", "%", BASIC_SPO2, 0, 0.01, true},
        {"PR", "/min", BASIC_SPO2, 1, 1.0, true},
        {"P1_SYS", "mm[Hg]", P_GROUP(1), 0, 0.01, false},
        {"P1_DIA", "mm[Hg]", P_GROUP(1), 1, 0.01, false},
        {"P1_MEAN", "mm[Hg]", P_GROUP(1), 2, 0.01, false},
        {"P2_SYS", "mm[Hg]", P_GROUP(2), 0, 0.01, false},
        {"P2_DIA", "mm[Hg]", P_GROUP(2), 1, 0.01, false},
        {"P2_MEAN", "mm[Hg]", P_GROUP(2), 2, 0.01, false},
        {"P3_SYS", "mm[Hg]", P_GROUP(3), 0, 0.01, false},
        {"P3_DIA", "mm[Hg]", P_GROUP(3), 1, 0.01, false},
        {"P3_MEAN", "mm[Hg]", P_GROUP(3), 2, 0.01, false},
        {"P4_SYS", "mm[Hg]", P_GROUP(4), 0, 0.01, false},
        {"P4_DIA", "mm[Hg]", P_GROUP(4), 1, 0.01, false},
        {"P4_MEAN", "mm[Hg]", P_GROUP(4), 2, 0.01, false},
        {"T1", "Cel", T_GROUP(1), 0, 0.01, false},
        {"T2", "Cel", T_GROUP(2), 0, 0.01, false},
        {"T3", "Cel", T_GROUP(3), 0, 0.01, false},
        {"T4", "Cel", T_GROUP(4), 0, 0.01, false},
        {"ETCO2", "%", BASIC_CO2, 0, 0.01, false},
        {"RR", "/min", BASIC_CO2, 2, 1.0, false},
        {"ETO2", "%", BASIC_O2, 0, 0.01, false},
        {"FIO2", "%", BASIC_O2, 1, 0.01, false},
        {"P5_SYS", "mm[Hg]", BASIC_P5, 0, 0.01, false},
        {"P5_DIA", "mm[Hg]", BASIC_P5, 1, 0.01, false},
        {"P5_MEAN", "mm[Hg]", BASIC_P5, 2, 0.01, false},
        {"P6_SYS", "mm[Hg]", BASIC_P6, 0, 0.01, false},
        {"P6_DIA", "mm[Hg]", BASIC_P6, 1, 0.01, false},
        {"P6_MEAN", "mm[Hg]", BASIC_P6, 2, 0.01, false},
};

/* A raw value → value, status and flags (8005313 Table 3-9). */
static void reading_from_raw(Reading *r, int16_t raw, double scale)
{
        r->flags = 0;
        if (raw >= GE_S5_MIN_VALID) {
                r->value = raw * scale;
                r->status = READING_VALID;
                return;
        }
        r->value = NAN;
        switch (raw) {
        case GE_S5_NOT_UPDATED:
                r->status = READING_UNAVAILABLE;
                break;
        case GE_S5_DISCONT:
                r->status = READING_UNAVAILABLE;
                r->flags |= READING_FLAG_SENSOR_OFF;
                break;
        case GE_S5_UNDER_RANGE:
        case GE_S5_OVER_RANGE:
                r->status = READING_QUESTIONABLE;
                break;
        case GE_S5_NOT_CALIBRATED:
                r->status = READING_CALIBRATING;
                break;
        case GE_S5_DATA_INVALID:
        default: /* any other value below -32000 is reserved: not a value */
                r->status = READING_INVALID;
                break;
        }
}

static void emit_raw(const char *parameter, const char *unit, int16_t raw, double scale,
                     uint32_t extra_flags, int64_t device_time_ns, GeS5EmitFn emit, void *userdata)
{
        Reading r = {0};

        reading_set_name(&r, parameter, unit);
        reading_from_raw(&r, raw, scale);
        r.flags |= extra_flags;
        r.device_time_ns = device_time_ns;
        emit(userdata, &r);
}

static bool group_exists(const uint8_t *cls, size_t group)
{
        return get_u32(cls + group) & GE_S5_GROUP_EXISTS;
}

static int16_t group_value(const uint8_t *cls, size_t group, size_t index)
{
        return get_s16(cls + group + GROUP_HDR + 2 * index);
}

/*
 * NIBP: the monitor repeats its last result in every record, so a reading
 * is emitted only for a result we have not emitted yet.  The rule:
 *
 *  - nothing while the cuff is busy (label bits measuring, stasis,
 *    calibrating): the values shown are the previous result;
 *  - otherwise a result is new when it is the first one seen since the
 *    decoder state was zeroed, when sys/dia/mean differ from the last one
 *    emitted, or when the previous record showed the cuff busy (a finished
 *    measurement that happens to equal the last one is still a
 *    measurement); the same result is thus never emitted twice in a row
 *    unless the monitor measured again in between;
 *  - a new result emits NIBP_SYS, NIBP_DIA, NIBP_MEAN whatever their status
 *    (a failed measurement shows as invalid), NIBP_PR only when valid; the
 *    valid ones carry READING_FLAG_NEW_MEASUREMENT;
 *  - a result first seen with "older than 60 s" set (connected after the
 *    measurement) is still emitted once and flagged new: it is new to this
 *    log, and the alarm engine must judge it.  device_time_ns is the
 *    record's time, not the (unknown) time of the measurement.
 */
static void decode_nibp(const uint8_t *cls, GeS5DecodeState *state, int64_t device_time_ns,
                        uint32_t record_time, GeS5EmitFn emit, void *userdata)
{
        static const char *const names[3] = {"NIBP_SYS", "NIBP_DIA", "NIBP_MEAN"};
        uint16_t label = get_u16(cls + BASIC_NIBP + 4);
        int16_t v[3];
        bool busy, is_new;

        if (!group_exists(cls, BASIC_NIBP))
                return;

        busy = label & NIBP_BUSY;
        for (size_t i = 0; i < 3; i++)
                v[i] = group_value(cls, BASIC_NIBP, i);

        is_new = !busy && (!state->have_nibp || state->nibp_was_measuring ||
                           memcmp(v, state->nibp_last, sizeof(v)) != 0);
        state->nibp_was_measuring = busy;
        if (!is_new)
                return;

        state->have_nibp = true;
        memcpy(state->nibp_last, v, sizeof(v));
        state->nibp_last_time = record_time;

        for (size_t i = 0; i < 3; i++)
                emit_raw(names[i], "mm[Hg]", v[i], 0.01,
                         v[i] >= GE_S5_MIN_VALID ? READING_FLAG_NEW_MEASUREMENT : 0, device_time_ns,
                         emit, userdata);

        int16_t hr = group_value(cls, BASIC_NIBP, 3);
        if (hr >= GE_S5_MIN_VALID)
                emit_raw("NIBP_PR", "/min", hr, 1.0, READING_FLAG_NEW_MEASUREMENT, device_time_ns,
                         emit, userdata);
}

static void decode_basic(const uint8_t *sr, GeS5DecodeState *state, GeS5EmitFn emit, void *userdata)
{
        const uint8_t *cls = sr + PHDB_CLASS;
        uint32_t time = get_u32(sr + PHDB_TIME);
        int64_t device_time_ns = (int64_t)time * 1000000000;

        for (size_t i = 0; i < sizeof(basic_params) / sizeof(basic_params[0]); i++) {
                const BasicParam *p = &basic_params[i];
                int16_t raw;

                if (!group_exists(cls, p->group))
                        continue;
                raw = group_value(cls, p->group, p->index);
                if (!p->always && raw < GE_S5_MIN_VALID)
                        continue;
                emit_raw(p->parameter, p->unit, raw, p->scale, 0, device_time_ns, emit, userdata);

                /* NIBP belongs after SpO2 in the log's natural order. */
                if (p->group == BASIC_SPO2 && p->index == 1)
                        decode_nibp(cls, state, device_time_ns, time, emit, userdata);
        }
}

int ge_s5_decode_record(const uint8_t *record, size_t len, GeS5DecodeState *state, GeS5EmitFn emit,
                        void *userdata)
{
        const uint8_t *basic = NULL;
        int16_t r_len;

        if (!record || !state || !emit)
                return -EINVAL;
        if (len < GE_S5_HDR_LEN || len > GE_S5_MAX_RECORD)
                return -EBADMSG;
        r_len = get_s16(record + HDR_R_LEN);
        if (r_len < GE_S5_HDR_LEN || (size_t)r_len != len)
                return -EBADMSG;

        if (get_s16(record + HDR_R_MAINTYPE) != MAINTYPE_PHDB)
                return GE_S5_RECORD_OTHER;

        /* Walk sr_desc (up to 8 entries, 0xFF ends a shorter list), checking
         * every subrecord fits before anything of it is read. */
        for (unsigned i = 0; i < SR_DESC_MAX; i++) {
                const uint8_t *desc = record + HDR_SR_DESC + i * SR_DESC_SIZE;
                int16_t offset = get_s16(desc);
                uint8_t type = desc[2];
                const uint8_t *sr;

                if (type == SR_TYPE_END)
                        break;
                /* Trend subrecords repeat what DISPL already gave; we only ask
                 * for DISPL, and ignore anything else (including requests, whose
                 * subrecords are smaller), unread. */
                if (type != PHDB_SR_DISPL)
                        continue;
                if (offset < 0 || (size_t)offset + PHDB_SIZE > len - GE_S5_HDR_LEN)
                        return -EBADMSG;
                sr = record + GE_S5_HDR_LEN + offset;
                if (!basic && PHDB_CLASS_OF(get_u16(sr + PHDB_CL_DRILVL_SUBT)) == 0)
                        basic = sr;
        }

        if (!basic)
                return GE_S5_RECORD_OTHER;

        decode_basic(basic, state, emit, userdata);
        return GE_S5_RECORD_PHDB;
}

/* --- Driver -------------------------------------------------------------- */

/* M1017617 §3: DISPL auto-transmission at 5 s or more; 60 s is the
 * longest we accept, so that quiet detection stays meaningful. */
#define INTERVAL_MIN_S 5
#define INTERVAL_MAX_S 60
#define INTERVAL_DEFAULT "5"
#define QUIET_USEC (15ull * 1000000ull)

typedef struct GeS5Driver {
        GeS5Deframer deframer;
        GeS5DecodeState decode;
        int16_t interval_s;
        uint64_t skipped_reported; /* deframer.bytes_skipped already counted */
        unsigned quiet_runs;       /* on_quiet calls since the last good frame */
} GeS5Driver;

static GeS5Driver *driver_state(DriverInstance *d)
{
        return d->state;
}

static int ge_s5_init(DriverInstance *d)
{
        GeS5Driver *s = driver_state(d);
        const char *opt = d->host->option(d, "interval");
        char *end = NULL;
        long v;

        if (!opt)
                opt = INTERVAL_DEFAULT;
        errno = 0;
        v = strtol(opt, &end, 10);
        if (errno != 0 || end == opt || *end != '\0' || v < INTERVAL_MIN_S || v > INTERVAL_MAX_S) {
                d->host->log(d, LOG_ERR,
                             "ge-s5: option interval=\"%s\" is not a whole number of seconds "
                             "between %d and %d",
                             opt, INTERVAL_MIN_S, INTERVAL_MAX_S);
                return -EINVAL;
        }

        s->interval_s = (int16_t)v;
        ge_s5_deframer_reset(&s->deframer);
        s->decode = (GeS5DecodeState){0};
        s->skipped_reported = 0;
        s->quiet_runs = 0;
        return 0;
}

static int send_displ_request(DriverInstance *d)
{
        GeS5Driver *s = driver_state(d);
        uint8_t frame[GE_S5_FRAME_MAX(GE_S5_HDR_LEN + REQ_SIZE)];
        size_t n = ge_s5_build_displ_request(s->interval_s, frame, sizeof(frame));

        if (n == 0)
                return -ENOBUFS;
        return d->host->write(d, frame, n);
}

static int ge_s5_on_connect(DriverInstance *d)
{
        GeS5Driver *s = driver_state(d);

        /* A half frame from the previous connection must not merge with the
         * first bytes of this one.  The NIBP state stays: the monitor will
         * repeat the result we already logged. */
        ge_s5_deframer_reset(&s->deframer);
        s->skipped_reported = 0;
        s->quiet_runs = 0;
        return send_displ_request(d);
}

/*
 * The core calls this after QUIET_USEC of silence and again for every
 * further QUIET_USEC of silence (driver.h).  With a long interval, silence
 * between records is normal; asking again would restart the monitor's
 * transmission timer each time, so repeat the request only once the
 * silence is longer than the interval plus one quiet period.
 */
static int ge_s5_on_quiet(DriverInstance *d)
{
        GeS5Driver *s = driver_state(d);
        uint64_t silent_usec;

        s->quiet_runs++;
        silent_usec = (uint64_t)s->quiet_runs * QUIET_USEC;
        if (silent_usec < (uint64_t)s->interval_s * 1000000ull + QUIET_USEC &&
            s->interval_s * 1000000ull >= QUIET_USEC)
                return 0;
        s->quiet_runs = 0;
        return send_displ_request(d);
}

static void on_reading(void *userdata, const Reading *r)
{
        DriverInstance *d = userdata;

        d->host->emit(d, r);
}

static void on_frame(void *userdata, GeS5FrameResult result, const uint8_t *record, size_t len)
{
        DriverInstance *d = userdata;
        GeS5Driver *s = driver_state(d);
        int r;

        if (result != GE_S5_FRAME_OK) {
                d->host->count(d, DRIVER_COUNT_FRAMES_BAD, 1);
                return;
        }

        r = ge_s5_decode_record(record, len, &s->decode, on_reading, d);
        if (r < 0) {
                /* Checksum good, layout impossible (offsets out of the record). */
                d->host->count(d, DRIVER_COUNT_FRAMES_BAD, 1);
                return;
        }
        s->quiet_runs = 0;
        d->host->count(d, DRIVER_COUNT_FRAMES_OK, 1);
        if (r == GE_S5_RECORD_OTHER)
                d->host->count(d, DRIVER_COUNT_RECORDS_IGNORED, 1);
}

static void ge_s5_on_bytes(DriverInstance *d, const uint8_t *buf, size_t len)
{
        GeS5Driver *s = driver_state(d);
        uint64_t skipped;

        ge_s5_deframer_feed(&s->deframer, buf, len, on_frame, d);

        skipped = s->deframer.bytes_skipped - s->skipped_reported;
        while (skipped > 0) {
                unsigned n = skipped > UINT_MAX ? UINT_MAX : (unsigned)skipped;

                d->host->count(d, DRIVER_COUNT_BYTES_SKIPPED, n);
                skipped -= n;
        }
        s->skipped_reported = s->deframer.bytes_skipped;
}

static const DriverOption ge_s5_options[] = {
        {"interval", INTERVAL_DEFAULT, "seconds between automatic DISPL records (5..60)",
         INTERVAL_MIN_S, INTERVAL_MAX_S},
        {NULL},
};

/* Static, so stated for the default interval (5 s); a configured longer
 * interval makes records, and so these parameters, arrive less often.
 * NIBP is episodic and has no period. */
static const ParamPeriod ge_s5_periods[] = {
        {"HR", 5 * 1000000ull},
        {"SPO2", 5 * 1000000ull},
        {"PR", 5 * 1000000ull},
        {NULL},
};

static uint64_t ge_s5_base_period_usec(DriverInstance *d)
{
        return (uint64_t)driver_state(d)->interval_s * 1000000ull;
}

const Driver ge_s5_driver = {
        .name = "ge-s5",
        .description = "GE Datex-Ohmeda S/5 / CARESCAPE computer interface",
        .transport = TRANSPORT_SERIAL,
        /* M1017617 §2: 19200 8E1, RTS/CTS, "cannot be changed" (CARESCAPE
         * SW >= 3 also offers 115200, set with the core's baud key). */
        .line = {.baud = 19200,
                 .data_bits = 8,
                 .parity = PARITY_EVEN,
                 .stop_bits = 1,
                 .flow = FLOW_RTSCTS},
        .options = ge_s5_options,
        .periods = ge_s5_periods,
        .state_size = sizeof(GeS5Driver),
        .quiet_usec = QUIET_USEC,
        .init = ge_s5_init,
        .on_connect = ge_s5_on_connect,
        .on_bytes = ge_s5_on_bytes,
        .on_quiet = ge_s5_on_quiet,
        .base_period_usec = ge_s5_base_period_usec,
};
