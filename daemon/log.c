/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log.c — journal or stderr.  Under systemd, JOURNAL_STREAM tells us stderr
 * is connected to the journal; we then send structured entries with
 * sd_journal_send() (PRIORITY, MESSAGE_ID, VITALS_DEVICE, VITALS_BED).
 * Elsewhere we write one line per message to stderr with a level prefix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
                char mid[64] = "", dev[128] = "", bd[128] = "", en[32] = "";
                if (message_id)
                        snprintf(mid, sizeof(mid), "MESSAGE_ID=%s", message_id);
                if (device)
                        snprintf(dev, sizeof(dev), "VITALS_DEVICE=%s", device);
                if (bed)
                        snprintf(bd, sizeof(bd), "VITALS_BED=%s", bed);
                if (err)
                        snprintf(en, sizeof(en), "ERRNO=%d", err);
                /* Empty strings are skipped by sd_journal_send only if we avoid
                 * passing them: pass a harmless field instead. */
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority,
                                "SYSLOG_IDENTIFIER=%s", log_ident, "%s",
                                mid[0] ? mid : "VITALS_NO_MSGID=1", "%s",
                                dev[0] ? dev : "VITALS_NO_DEVICE=1", "%s",
                                bd[0] ? bd : "VITALS_NO_BED=1", "%s", en[0] ? en : "ERRNO=0",
                                NULL);
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
