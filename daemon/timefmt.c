/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

static int64_t clock_ns(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t now_wall_ns(void)
{
        return clock_ns(CLOCK_REALTIME);
}

int64_t now_mono_ns(void)
{
        return clock_ns(CLOCK_BOOTTIME);
}

static void split(int64_t ns, time_t *sec, long *rem)
{
        int64_t s = ns / 1000000000LL, r = ns % 1000000000LL;

        if (r < 0) {
                r += 1000000000LL;
                s--;
        }
        *sec = (time_t)s;
        *rem = (long)r;
}

char *timefmt_iso_ms(int64_t wall_ns, char buf[static TIMEFMT_ISO_MAX])
{
        time_t sec;
        long rem;
        struct tm tm;

        split(wall_ns, &sec, &rem);
        gmtime_r(&sec, &tm);
        snprintf(buf, TIMEFMT_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem / 1000000L);
        return buf;
}

char *timefmt_iso_s(int64_t wall_ns, char buf[static TIMEFMT_ISO_MAX])
{
        time_t sec;
        long rem;
        struct tm tm;

        split(wall_ns, &sec, &rem);
        gmtime_r(&sec, &tm);
        snprintf(buf, TIMEFMT_ISO_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return buf;
}

int timefmt_parse_iso(const char *s, int64_t *ret_ns)
{
        struct tm tm = {0};
        const char *p;
        int64_t frac = 0, scale = 100000000LL, off = 0;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                for (; *p >= '0' && *p <= '9'; p++) {
                        frac += (*p - '0') * scale;
                        scale /= 10;
                }
        }
        if (*p == 'Z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int hh, mm;
                char sign = *p;
                if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
                        return -EINVAL;
                off = (int64_t)(hh * 3600 + mm * 60) * (sign == '+' ? 1 : -1);
                p += 6;
        } else {
                return -EINVAL;
        }
        if (*p)
                return -EINVAL;
        *ret_ns = ((int64_t)timegm(&tm) - off) * 1000000000LL + frac;
        return 0;
}
