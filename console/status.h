/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * status.h — rendering vitalsd's status reply for people.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* Prints a status reply (the object the daemon sent) as the human table;
 * now_ns is the wall clock used for "3 min ago". Unknown fields are
 * ignored, missing ones are left out. */
void status_print_human(json_object *reply, int64_t now_ns, FILE *f);

/* "72", "96.65", "36.6": a value as a nurse reads it (at most 2 decimals). */
char *status_format_value(double v, char *buf, size_t size);
