/* SPDX-License-Identifier: BSD-2-Clause */
#include <errno.h>
#include <string.h>

#include "reading.h"

static const char *const status_names[_READING_STATUS_MAX] = {
        [READING_VALID] = "valid",
        [READING_INVALID] = "invalid",
        [READING_UNAVAILABLE] = "unavailable",
        [READING_QUESTIONABLE] = "questionable",
        [READING_CALIBRATING] = "calibrating",
        [READING_DEMO] = "demo",
};

const char *reading_status_to_string(ReadingStatus s)
{
        if ((unsigned)s >= _READING_STATUS_MAX)
                return "invalid";
        return status_names[s];
}

int reading_status_from_string(const char *s)
{
        for (int i = 0; i < _READING_STATUS_MAX; i++)
                if (s && strcmp(s, status_names[i]) == 0)
                        return i;
        return -EINVAL;
}

static void copy_name(char *dst, size_t cap, const char *src)
{
        size_t n = src ? strnlen(src, cap - 1) : 0;

        if (n)
                memcpy(dst, src, n);
        dst[n] = '\0';
}

void reading_set_name(Reading *r, const char *parameter, const char *unit)
{
        copy_name(r->parameter, sizeof(r->parameter), parameter);
        copy_name(r->unit, sizeof(r->unit), unit);
}
