/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c — journal or stderr.  Under systemd, JOURNAL_STREAM tells us stderr
 * is connected to the journal; we then send structured entries with
 * sd_journal_sendv() (PRIORITY, MESSAGE_ID, VITALS_DEVICE, VITALS_BED, ERRNO,
 * each only when it applies).  Callers never pass a patient reference: the
 * journal is readable by every admin, the session log is not.
 * Elsewhere we write one line per message to stderr with a level prefix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"

static bool use_journal;
static int max_level = LOG_INFO;
static const char *log_ident = "vitalsd";

static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *ident)
{
        if (ident)
                log_ident = ident;
        use_journal = stderr_is_journal();
        const char *lvl = getenv("VITALSD_LOG_LEVEL");
        if (lvl && strcmp(lvl, "debug") == 0)
                max_level = LOG_DEBUG;
}

void log_set_max_level(int level)
{
        max_level = level;
}

static const char *level_name(int priority)
{
        switch (priority) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT:
                return "critical";
        case LOG_ERR:
                return "error";
        case LOG_WARNING:
                return "warning";
        case LOG_NOTICE:
                return "notice";
        case LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

static void add_field(struct iovec *iov, size_t *n, char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* One journal field "NAME=value" in buf, truncated to fit. */
static void add_field(struct iovec *iov, size_t *n, char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        int len;

        va_start(ap, fmt);
        len = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (len < 0)
                return;
        iov[(*n)++] = (struct iovec){
                .iov_base = buf,
                .iov_len = (size_t)len < size ? (size_t)len : size - 1,
        };
}

int log_full(int priority, const char *message_id, const char *device, const char *bed, int err,
             const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        int saved = errno;

        if (err < 0)
                err = -err;
        if (priority > max_level)
                return err ? -err : 0;

        va_start(ap, fmt);
        errno = err;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (use_journal) {
                /* Only the fields that apply: no placeholders in the journal. */
                char f_msg[sizeof(msg) + 8], f_prio[16], f_ident[64], f_mid[48], f_dev[96],
                        f_bed[96], f_errno[24];
                struct iovec iov[7];
                size_t n = 0;

                add_field(iov, &n, f_msg, sizeof(f_msg), "MESSAGE=%s", msg);
                add_field(iov, &n, f_prio, sizeof(f_prio), "PRIORITY=%d", priority);
                add_field(iov, &n, f_ident, sizeof(f_ident), "SYSLOG_IDENTIFIER=%s", log_ident);
                if (message_id)
                        add_field(iov, &n, f_mid, sizeof(f_mid), "MESSAGE_ID=%s", message_id);
                if (device)
                        add_field(iov, &n, f_dev, sizeof(f_dev), "VITALS_DEVICE=%s", device);
                if (bed)
                        add_field(iov, &n, f_bed, sizeof(f_bed), "VITALS_BED=%s", bed);
                if (err)
                        add_field(iov, &n, f_errno, sizeof(f_errno), "ERRNO=%d", err);
                sd_journal_sendv(iov, (int)n);
        } else {
                if (device)
                        fprintf(stderr, "%s: %s: %s: %s\n", log_ident, level_name(priority),
                                device, msg);
                else
                        fprintf(stderr, "%s: %s: %s\n", log_ident, level_name(priority), msg);
        }
        errno = saved;
        return err ? -err : 0;
}
