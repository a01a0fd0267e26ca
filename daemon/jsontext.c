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

/* Decimal digits of v into the end of buf; returns where they start.
 * (snprintf() was most of the cost of a readings event.) */
static char *digits(char *end, uint64_t v)
{
        do {
                *--end = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        return end;
}

static size_t format_int(char buf[static 24], int64_t v)
{
        char tmp[24], *p = digits(tmp + sizeof(tmp), v < 0 ? -(uint64_t)v : (uint64_t)v);
        size_t n;

        if (v < 0)
                *--p = '-';
        n = (size_t)(tmp + sizeof(tmp) - p);
        memcpy(buf, p, n);
        buf[n] = '\0';
        return n;
}

void json_text_int(JsonText *t, int64_t v)
{
        char buf[24];

        json_text_raw(t, buf, format_int(buf, v));
}

/* What "%.10g" writes, without printf for the values monitors send: whole
 * numbers and numbers with one decimal (78, 97, 37.2).  For those the
 * double nearest to k/10 prints as k/10 exactly with ten significant
 * digits, and %g drops the trailing zeros. */
const char *json_number_format(double v, char *buf, size_t size)
{
        double tenths = v * 10;

        if (size >= 24 && fabs(v) < 1e8 && !(v == 0 && signbit(v)) && tenths == nearbyint(tenths)) {
                int64_t k = (int64_t)tenths;
                if ((double)k / 10 == v) {
                        size_t n = format_int(buf, k / 10);
                        if (k % 10) {
                                if (k < 0 && k / 10 == 0) { /* -0.5: the sign of the tenth */
                                        memmove(buf + 1, buf, n + 1);
                                        buf[0] = '-';
                                        n++;
                                }
                                buf[n++] = '.';
                                buf[n++] = (char)('0' + (k < 0 ? -(k % 10) : k % 10));
                                buf[n] = '\0';
                        }
                        return buf;
                }
        }
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
