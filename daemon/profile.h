/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * profile.h — alarm profiles: config/profiles/NAME.conf, parsed as strictly
 * as vitalsd.conf (conffile.c): every error names file:line:key, is logged
 * with MESSAGE_ID MSGID_CONFIG, and makes the whole profile invalid.
 *
 *   [profile]                    all keys optional (defaults: alarm_profile_init())
 *   description = TEXT
 *   no_data_timeout = SECONDS    1 .. 30   (the product promises NO_DATA within 30 s)
 *   sensor_off_delay = SECONDS   1 .. 120
 *   parameter_no_data_periods = N   0 (off) or 2 .. 20, default 3: NO_DATA_<PARAM>
 *                                after N of the driver's periods without that parameter
 *   nibp_cycle = SECONDS         0 (off) or 60 .. 7200
 *   nibp_grace = SECONDS         0 .. 600
 *   reminder = SECONDS           10 .. 3600
 *   escalate = SECONDS           10 .. 3600
 *   silence_max = SECONDS        1 .. 120  (IEC 60601-1-8: never more than 120)
 *   latch_high = yes|no          latch_medium, latch_low likewise (default no)
 *
 *   [rule CONDITION]             CONDITION: [A-Z0-9_]{1,31}, unique, not a technical name
 *   parameter = NAME             a catalogue parameter (catalogue.h); required
 *   above = LIMIT | below = LIMIT   exactly one; out of range strictly beyond it
 *   priority = high|medium|low   required
 *   on_delay = SECONDS           0 .. 600, default 0; not allowed on episodic (NIBP_*)
 *   off_delay = SECONDS          0 .. 600, default 0; not allowed on episodic
 *   hysteresis = AMOUNT          0 .. 1000 in the parameter's unit, default 0
 *
 * At least one rule.  Comments are whole lines starting with '#' or ';'
 * (inih also takes " ; comment" after a value, never " # comment").
 * Lines are at most 198 characters.
 */
#pragma once

#include <stdbool.h>

#include "alarm.h"

typedef struct ProfileDiag {
        unsigned n_errors;
        unsigned first_line;     /* 0: the error has no line (unreadable file) */
        char first_key[32];      /* "" when the error names no key */
        char first_message[256]; /* without the file:line:key prefix */
} ProfileDiag;

/* True for 1..63 characters of [A-Za-z0-9._-] not starting with '.'. */
bool profile_name_valid(const char *name);

/* Reads DIR/NAME.conf into *ret (ret->name = NAME).  0, -EINVAL (errors
 * were logged), -ENOENT (no such profile; logged) or another -errno. */
int profile_load(const char *dir, const char *name, AlarmProfile *ret);

/* The same for one file; diag (optional) gets the first error and the
 * count.  ret->name is the file name without ".conf". */
int profile_load_file(const char *path, AlarmProfile *ret, ProfileDiag *diag);

/* Validates every NAME.conf file in dir (vitalsd --check-config).  0 when all load
 * (or there are none), -EINVAL when any does not, -ENOENT when DIR does
 * not exist. */
int profile_check_dir(const char *dir);
