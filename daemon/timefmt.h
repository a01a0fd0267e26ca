/* SPDX-License-Identifier: BSD-2-Clause */
/* timefmt.h — clocks and UTC ISO 8601 formatting shared by daemon and client. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_ISO_MAX 64

int64_t now_wall_ns(void); /* CLOCK_REALTIME */
int64_t now_mono_ns(void); /* CLOCK_BOOTTIME */
/* "2026-01-01T12:00:00.123Z" (milliseconds) into buf; returns buf. */
char *timefmt_iso_ms(int64_t wall_ns, char buf[static TIMEFMT_ISO_MAX]);
/* "2026-01-01T12:00:00Z" (whole seconds). */
char *timefmt_iso_s(int64_t wall_ns, char buf[static TIMEFMT_ISO_MAX]);
/* Parses "2026-01-01T12:00:00[.fff]Z" or "...+hh:mm" → Unix ns. 0 or -EINVAL. */
int timefmt_parse_iso(const char *s, int64_t *ret_ns);
