/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * decode_burst.c — the DECODE_ERRORS rule (decode_burst.h).
 *
 * Owns a ring of the times of the latest `threshold` damaged units: the
 * burst is on when the oldest of a full ring is no more than one window
 * older than the newest.  Never blocks, never allocates, cannot fail.
 */
#include <string.h>

#include "decode_burst.h"

void decode_burst_init(DecodeBurst *b, unsigned threshold, uint64_t window_usec)
{
        memset(b, 0, sizeof(*b));
        b->threshold = threshold > DECODE_BURST_MAX ? DECODE_BURST_MAX : threshold;
        b->window_ns =
            window_usec > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (int64_t)(window_usec * 1000);
        b->last_damage_ns = INT64_MIN;
}

static void add_unit(DecodeBurst *b, int64_t t)
{
        b->times[b->next] = t;
        b->next = (b->next + 1) % b->threshold;
        if (b->count < b->threshold)
                b->count++;
}

bool decode_burst_add(DecodeBurst *b, unsigned bad_frames, uint64_t skipped_bytes, int64_t mono_ns)
{
        uint64_t units;
        int64_t oldest;

        if (bad_frames == 0 && skipped_bytes == 0)
                return false;
        b->last_damage_ns = mono_ns;
        if (b->threshold == 0)
                return false;

        b->bytes_carry += skipped_bytes;
        units = (uint64_t)bad_frames + b->bytes_carry / DECODE_BURST_BYTES_PER_UNIT;
        b->bytes_carry %= DECODE_BURST_BYTES_PER_UNIT;
        /* More units than the ring holds at one instant fill it all. */
        if (units > b->threshold)
                units = b->threshold;
        for (uint64_t i = 0; i < units; i++)
                add_unit(b, mono_ns);

        if (b->on || b->count < b->threshold)
                return false;
        oldest = b->times[b->next]; /* a full ring: next is the oldest */
        if (mono_ns - oldest > b->window_ns)
                return false;
        b->on = true;
        return true;
}

bool decode_burst_quiet(DecodeBurst *b, int64_t mono_ns)
{
        if (b->last_damage_ns == INT64_MIN || mono_ns - b->last_damage_ns < b->window_ns)
                return false;
        /* A quiet window forgets stray garbage too. */
        b->bytes_carry = 0;
        if (!b->on)
                return false;
        b->on = false;
        b->count = 0;
        b->next = 0;
        return true;
}

unsigned decode_burst_recent(const DecodeBurst *b, int64_t mono_ns)
{
        unsigned n = 0;

        for (unsigned i = 0; i < b->count; i++)
                if (b->times[i] <= mono_ns && mono_ns - b->times[i] <= b->window_ns)
                        n++;
        return n;
}
