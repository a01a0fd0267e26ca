/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * wallstep.c — an LD_PRELOAD for test_alarms.py: steps one process's
 * CLOCK_REALTIME by the seconds written in the file $VITALS_WALLSTEP_FILE
 * names, and leaves every other clock and every timer alone.  That is how
 * a real step of the system clock (`date -s`, a first NTP sync, a dead RTC
 * battery corrected) looks to a process, without touching the machine's
 * clock, which a test on a shared machine must never do.
 *
 * Why not libfaketime: it also moves timerfd deadlines, so after a step
 * the daemon's CLOCK_BOOTTIME timers stop firing, which a real step never
 * does; the test would then be about libfaketime, not about vitalsd.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t step_ns(void)
{
        const char *path = getenv("VITALS_WALLSTEP_FILE");
        char buf[64];
        ssize_t n;
        int fd, saved = errno;

        if (!path)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                errno = saved;
                return 0;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        errno = saved;
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        return (int64_t)(strtod(buf, NULL) * 1e9);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
        static int (*real)(clockid_t, struct timespec *);
        int64_t ns;
        int r;

        if (!real)
                real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
        r = real(id, ts);
        if (r != 0 || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
                return r;
        ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + step_ns();
        ts->tv_sec = ns / 1000000000;
        ts->tv_nsec = ns % 1000000000;
        return 0;
}
