/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsontext.c — see jsontext.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"

static bool reserve(JsonText *t, size_t extra)
{
        size_t cap;
        char *p;

        if (t->oom)
                return false;
        if (t->len + extra + 1 <= t->cap)
                return true;
        cap = t->cap ? t->cap : 256;
        while (cap < t->len + extra + 1)
                cap *= 2;
        p = realloc(t->p, cap);
        if (!p) {
                t->oom = true;
                return false;
        }
        t->p = p;
        t->cap = cap;
        return true;
}

void json_text_raw(JsonText *t, const char *s, size_t n)
{
        if (!reserve(t, n))
                return;
        memcpy(t->p + t->len, s, n);
        t->len += n;
        t->p[t->len] = '\0';
}

void json_text_string(JsonText *t, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        size_t run;

        if (!s) {
                json_text_lit(t, "null");
                return;
        }
        json_text_lit(t, "\"");
        while (*s) {
                /* The longest stretch that needs no escape goes at once. */
                for (run = 0; s[run] && s[run] != '"' && s[run] != '\\' &&
                              (unsigned char)s[run] >= 0x20;
                     run++)
                        ;
                json_text_raw(t, s, run);
                s += run;
                if (!*s)
                        break;
                switch (*s) {
                case '"':
                        json_text_lit(t, "\\\"");
                        break;
                case '\\':
                        json_text_lit(t, "\\\\");
                        break;
                case '\b':
                        json_text_lit(t, "\\b");
                        break;
                case '\f':
                        json_text_lit(t, "\\f");
                        break;
                case '\n':
                        json_text_lit(t, "\\n");
                        break;
                case '\r':
                        json_text_lit(t, "\\r");
                        break;
                case '\t':
                        json_text_lit(t, "\\t");
                        break;
                default: {
                        char u[6] = {'\\', 'u', '0', '0', hex[(unsigned char)*s >> 4],
                                     hex[*s & 0xf]};
                        json_text_raw(t, u, sizeof(u));
                }
                }
                s++;
        }
        json_text_lit(t, "\"");
}

void json_text_int(JsonText *t, int64_t v)
{
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

        json_text_raw(t, buf, (size_t)n);
}

const char *json_number_format(double v, char *buf, size_t size)
{
        snprintf(buf, size, "%.10g", v);
        return buf;
}

void json_text_number(JsonText *t, double v)
{
        char buf[32];

        if (!isfinite(v)) {
                json_text_lit(t, "null");
                return;
        }
        json_number_format(v, buf, sizeof(buf));
        json_text_raw(t, buf, strlen(buf));
}

char *json_text_steal(JsonText *t, size_t *ret_len)
{
        char *p = t->oom ? NULL : t->p;

        if (t->oom)
                free(t->p);
        else if (!p)
                p = strdup("");
        *ret_len = p ? t->len : 0;
        *t = (JsonText){0};
        return p;
}

void json_text_free(JsonText *t)
{
        free(t->p);
        *t = (JsonText){0};
}
