/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ge_s5.h — pure codec for the GE Datex-Ohmeda S/5 / CARESCAPE computer
 * interface (M1017617 "S/5 Computer Interface Specification", 8005313
 * "S/5 DRI Specification"; see ../shared/PROTOCOLS.md §3.2).
 *
 * Everything here is bytes in, bytes or readings out: no I/O, no globals,
 * no logging, no allocation.  The driver table in ge_s5.c wraps it; the
 * simulator uses the encoders to speak as a monitor.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

#define GE_S5_FLAG 0x7E
#define GE_S5_ESC 0x7D
#define GE_S5_HDR_LEN 40
/* Largest unescaped record we accept; a DISPL record with all four PHDB
 * classes is 1152 bytes, waveform records are smaller. */
#define GE_S5_MAX_RECORD 1536

/* Invalid/special value markers, 8005313 Table 3-9 (values <= -32001). */
#define GE_S5_DATA_INVALID (-32767)
#define GE_S5_NOT_UPDATED (-32766)
#define GE_S5_DISCONT (-32765)
#define GE_S5_UNDER_RANGE (-32764)
#define GE_S5_OVER_RANGE (-32763)
#define GE_S5_NOT_CALIBRATED (-32762)
#define GE_S5_MIN_VALID (-32000)

typedef enum GeS5FrameResult {
        GE_S5_FRAME_OK,
        GE_S5_FRAME_BAD_CHECKSUM,
        GE_S5_FRAME_TOO_SHORT, /* fewer bytes than a header + checksum, or r_len mismatch */
        GE_S5_FRAME_TOO_LONG,  /* more than GE_S5_MAX_RECORD before the closing flag */
        GE_S5_FRAME_BAD_ESCAPE,
} GeS5FrameResult;

/* Deframer: feed any chunking of the stream; whole frames come out. */
typedef struct GeS5Deframer {
        uint8_t buf[GE_S5_MAX_RECORD + 1]; /* record + checksum, unescaped */
        size_t len;
        bool in_frame;
        bool escaped;
        bool overflow;
        uint64_t bytes_skipped; /* bytes outside any frame (garbage) since last reset */
} GeS5Deframer;

/* Group status_bits, and NIBP label_info bits (8005313 Table 3-18). */
#define GE_S5_GROUP_EXISTS 0x1u
#define GE_S5_GROUP_ACTIVE 0x2u
#define GE_S5_NIBP_AUTO (1u << 3)
#define GE_S5_NIBP_STAT (1u << 4)
#define GE_S5_NIBP_MEASURING (1u << 5)
#define GE_S5_NIBP_STASIS (1u << 6)
#define GE_S5_NIBP_CALIBRATING (1u << 7)
#define GE_S5_NIBP_OLD (1u << 8) /* data older than 60 s */

/* A DISPL record with all four PHDB classes, as monitors send it. */
#define GE_S5_DISPL_RECORD_LEN 1152
/* Worst case of an escaped frame: every byte doubled, plus two flags. */
#define GE_S5_FRAME_MAX(record_len) (2 * ((record_len) + 1) + 2)

typedef void (*GeS5FrameFn)(void *userdata, GeS5FrameResult result, const uint8_t *record,
                            size_t len);

void ge_s5_deframer_reset(GeS5Deframer *d);
/* Calls fn once per closed frame: record is the unescaped record without its
 * checksum (len bytes), only trustworthy when result == GE_S5_FRAME_OK. */
void ge_s5_deframer_feed(GeS5Deframer *d, const uint8_t *buf, size_t n, GeS5FrameFn fn,
                         void *userdata);

/* Escapes record+checksum between two flags. Returns bytes written, or 0 if
 * cap is too small. */
size_t ge_s5_frame_encode(const uint8_t *record, size_t len, uint8_t *out, size_t cap);
uint8_t ge_s5_checksum(const uint8_t *record, size_t len);

/* Requests (M1017617 §3, Appendix A). interval_s: -1 single, 0 stop, >= 5 auto. */
size_t ge_s5_build_displ_request(int16_t interval_s, uint8_t *out, size_t cap);

/* PHDB record types of a request (M1017617 §3 phdb_rcrd_type). */
#define GE_S5_PHDB_DISPL 1
#define GE_S5_PHDB_TREND10 2
#define GE_S5_PHDB_TREND60 3
/* Any PHDB transmission request, framed. All classes are requested
 * (phdb_class_bf 0x0E) except when interval_s is 0 (stop), which carries
 * none, as in M1017617 Appendix A. Returns bytes written or 0. */
size_t ge_s5_build_phdb_request(uint8_t record_type, int16_t interval_s, uint8_t *out, size_t cap);
/* The other way round, for vitals-sim: reads a deframed PHDB request
 * record (as ge_s5_build_phdb_request sends it). Any ret_ may be NULL.
 * 0, or -EBADMSG when the record is not a PHDB transmission request. */
int ge_s5_parse_phdb_request(const uint8_t *record, size_t len, uint8_t *ret_record_type,
                             int16_t *ret_interval_s, uint32_t *ret_class_bf);

/* Decoder state kept across records of one device. */
typedef struct GeS5DecodeState {
        bool have_nibp;
        int16_t nibp_last[3]; /* sys, dia, mean as last emitted */
        uint32_t nibp_last_time;
        bool nibp_was_measuring;
} GeS5DecodeState;

typedef void (*GeS5EmitFn)(void *userdata, const Reading *r);

typedef enum GeS5RecordKind {
        GE_S5_RECORD_PHDB,    /* decoded; readings emitted */
        GE_S5_RECORD_OTHER,   /* a valid record of another kind (waveform, alarm): ignored */
} GeS5RecordKind;

/* Decodes one unescaped, checksum-verified record. Emits one Reading per
 * parameter of the basic PHDB class that the monitor reports (status tells
 * validity).  Returns GeS5RecordKind (>= 0) or -EBADMSG on a malformed
 * record (lengths or offsets that do not fit). */
int ge_s5_decode_record(const uint8_t *record, size_t len, GeS5DecodeState *state,
                        GeS5EmitFn emit, void *userdata);

/* --- Encoder used by vitals-sim: what a monitor sends. ------------------ */

/* Values of the basic PHDB class in the monitor's own units: HR 1/min,
 * pressures 1/100 mmHg, SpO2 1/100 %, temperatures 1/100 °C, CO2 1/100 %,
 * RR 1/min.  Any field may hold a GE_S5_* marker instead of a value. */
typedef struct GeS5Basic {
        uint32_t time; /* r_time and subrecord time, Unix seconds */
        int16_t ecg_hr;
        int16_t nibp_sys, nibp_dia, nibp_mean, nibp_hr;
        uint32_t nibp_status; /* status_bits of the NIBP group (8005313 Table 3-18) */
        /* ^ bits 0-1 (exists, active) go to the group's status_bits, bits 0-15
         *   (AUTO 3, STAT 4, measuring 5, stasis 6, calibrating 7, older than
         *   60 s 8: GE_S5_NIBP_*) to its label_info, where monitors put them. */
        int16_t spo2, spo2_pr, spo2_ir_amp;
        uint32_t spo2_status;
        int16_t t1;
        int16_t co2_et, co2_rr;
        int16_t p1_sys, p1_dia, p1_mean;
} GeS5Basic;

/* Fills every field with GE_S5_DATA_INVALID, statuses with 0. */
void ge_s5_basic_init(GeS5Basic *b);
/* Builds an unescaped DISPL PHDB record (header + 4 subrecords, 1152
 * bytes) with the basic class filled from b. Returns length or 0. */
size_t ge_s5_build_displ_record(const GeS5Basic *b, uint8_t *out, size_t cap);
/* Group presence in the record built: the SpO2 and NIBP groups take their
 * status from spo2_status / nibp_status (0 = no module, so nothing of them
 * is decoded); ECG, T1, CO2 and P1 exist (status exists|active) when any of
 * their fields holds something other than GE_S5_DATA_INVALID, so a lead-off
 * ECG is ecg_hr = GE_S5_DISCONT, not DATA_INVALID.  Every other group, and
 * the three ext classes, carry status 0.  Frame it with ge_s5_frame_encode
 * into a buffer of GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN) bytes. */
