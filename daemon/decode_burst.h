/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decode_burst.h — is a device's line damaged?  The rule behind the
 * DECODE_ERRORS technical alarm.
 *
 * A damaged frame now and then is line noise that the framing's checksum
 * catches and costs one record; a burst of them means a loose connector, a
 * wrong baud rate or parity, a failing USB adapter: readings are being lost
 * and a person should look.  The rule:
 *
 *  - A burst is `threshold` damaged units within `window`: a damaged unit
 *    is one frame the driver counted DRIVER_COUNT_FRAMES_BAD, or every full
 *    DECODE_BURST_BYTES_PER_UNIT bytes of garbage it counted
 *    DRIVER_COUNT_BYTES_SKIPPED (a line at the wrong speed may never show a
 *    frame boundary, only garbage).
 *  - It stays on until one whole window has passed without any damage (no
 *    bad frame, no skipped byte): the same window, so a line that keeps
 *    spitting occasional garbage does not flap on and off.
 *
 * Defaults, [daemon] decode_error_burst = 5 and decode_error_window = 10 s:
 * at the GE S/5's fastest rate (one record a second) that is half the
 * records of ten seconds lost.  Pure: no clock, no I/O; the caller passes
 * CLOCK_BOOTTIME.  Fixed size: no allocation however much garbage arrives.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define DECODE_BURST_MAX 100 /* largest threshold */
#define DECODE_BURST_BYTES_PER_UNIT 256

typedef struct DecodeBurst {
        unsigned threshold; /* 0: never on */
        int64_t window_ns;
        /* Times of the latest damaged units, a ring of threshold entries. */
        int64_t times[DECODE_BURST_MAX];
        unsigned next, count;
        uint64_t bytes_carry; /* skipped bytes short of a whole unit */
        int64_t last_damage_ns;
        bool on;
} DecodeBurst;

/* threshold is capped at DECODE_BURST_MAX. */
void decode_burst_init(DecodeBurst *b, unsigned threshold, uint64_t window_usec);

/* Damage the driver counted at mono_ns (bad frames, skipped bytes).
 * True when this turned the burst on. */
bool decode_burst_add(DecodeBurst *b, unsigned bad_frames, uint64_t skipped_bytes, int64_t mono_ns);

/* True when a whole window without damage has passed and this turned the
 * burst off.  Call it periodically (the daemon's tick). */
bool decode_burst_quiet(DecodeBurst *b, int64_t mono_ns);

/* Damaged units within the window ending at mono_ns (at most threshold). */
unsigned decode_burst_recent(const DecodeBurst *b, int64_t mono_ns);
