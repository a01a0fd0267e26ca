/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * jsontext.h — JSON text written straight into a growing buffer, for the
 * one message vitalsd sends a thousand times a second: the `readings`
 * event (events.c).  Building it as json-c objects (an allocation and a
 * hash table per reading, then a serialisation pass) was about a third of
 * vitalsd's CPU with 1,000 beds at 1 Hz and a console subscribed (issue 8).
 * Every other message is still built with json-c, and json-c parses all
 * input; tests/unit/test-jsontext.c checks this writer's output against
 * json-c's parser.
 *
 * Strings are escaped as RFC 8259 section 7 requires: quotation mark,
 * reverse solidus and the control characters U+0000 to U+001F; other bytes
 * (UTF-8) pass through as they are, as json-c passes them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct JsonText {
        char *p;
        size_t len, cap;
        bool oom; /* an append failed: the text is incomplete */
} JsonText;

/* Bytes as they are (JSON syntax the caller writes). */
void json_text_raw(JsonText *t, const char *s, size_t n);
#define json_text_lit(t, s) json_text_raw((t), "" s, sizeof(s) - 1)
/* A quoted, escaped string; null for NULL. */
void json_text_string(JsonText *t, const char *s);
void json_text_int(JsonText *t, int64_t v);
/* A number as json_number_format() writes it; null when not finite. */
void json_text_number(JsonText *t, double v);

/* The text of a number vitalsd sends: the shortest that reads back the
 * same value in practice (96.65, not 96.650000000000006).  buf ≥ 32. */
const char *json_number_format(double v, char *buf, size_t size);

/* The text, NUL-terminated, now the caller's (free()); *ret_len its length.
 * NULL when an append ran out of memory.  t is empty after either way. */
char *json_text_steal(JsonText *t, size_t *ret_len);
void json_text_free(JsonText *t);
