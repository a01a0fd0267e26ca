/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-jsontext.c — the JSON text vitalsd writes by hand for readings
 * events, read back by json-c's parser (what the console's own JSON
 * library does): every string comes back byte for byte, whatever it holds
 * (quotes, backslashes, every control character, UTF-8); numbers come back
 * as the value; NULL and non-finite numbers are null; a whole reading
 * object has the fields and values of control_reading_json()'s.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "jsontext.h"
#include "testlib.h"

/* s written as a JSON string, parsed back with json-c: NULL when the text
 * does not parse as a string. */
static char *round_trip(const char *s)
{
        JsonText t = {0};
        json_object *o;
        char *text, *back = NULL;
        size_t len;

        json_text_string(&t, s);
        text = json_text_steal(&t, &len);
        if (!text)
                return NULL;
        o = json_tokener_parse(text);
        if (o && json_object_is_type(o, json_type_string))
                back = strdup(json_object_get_string(o));
        json_object_put(o);
        free(text);
        return back;
}

TEST(strings_come_back_byte_for_byte)
{
        static const char *const cases[] = {
            "", "chair-1", "recliner \"3\"", "back\\slash", "C:\\beds\\\"x\"\\", "tab\there",
            "new\nline\r\n", "\b\f", "\x01\x02\x1f end", "Ünïcödé 床位 🛏", "/min", "mmHg",
            "trailing backslash\\",
        };
        char all[256];
        char *back;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                back = round_trip(cases[i]);
                CHECK(back != NULL);
                if (back && strcmp(back, cases[i]) != 0) {
                        fprintf(stderr, "case %zu: got \"%s\"\n", i, back);
                        CHECK_STR(back, cases[i]);
                }
                free(back);
        }
        /* Every byte from 1 to 255 in one string. */
        for (int c = 1; c < 256; c++)
                all[c - 1] = (char)c;
        all[255] = '\0';
        back = round_trip(all);
        CHECK(back != NULL);
        CHECK(back && memcmp(back, all, 256) == 0);
        free(back);
}

TEST(null_numbers_and_integers)
{
        static const double values[] = {0, -0.0, 97, 96.65, 37.2, -12.5, 1e-7, 123456789.25, 1e300};
        JsonText t = {0};
        json_object *o, *e;
        char *text;
        size_t len;

        json_text_lit(&t, "[");
        json_text_string(&t, NULL);
        json_text_lit(&t, ",");
        json_text_number(&t, NAN);
        json_text_lit(&t, ",");
        json_text_number(&t, INFINITY);
        json_text_lit(&t, ",");
        json_text_int(&t, INT64_MAX);
        json_text_lit(&t, ",");
        json_text_int(&t, -42);
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                json_text_lit(&t, ",");
                json_text_number(&t, values[i]);
        }
        json_text_lit(&t, "]");
        text = json_text_steal(&t, &len);
        CHECK(text && strlen(text) == len);
        o = text ? json_tokener_parse(text) : NULL;
        CHECK(o && json_object_is_type(o, json_type_array));
        if (o && json_object_is_type(o, json_type_array)) {
                CHECK_INT(json_object_array_length(o), 5 + sizeof(values) / sizeof(values[0]));
                for (size_t i = 0; i < 3; i++)
                        CHECK(json_object_array_get_idx(o, i) == NULL);
                CHECK(json_object_get_int64(json_object_array_get_idx(o, 3)) == INT64_MAX);
                CHECK_INT(json_object_get_int64(json_object_array_get_idx(o, 4)), -42);
                for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                        e = json_object_array_get_idx(o, 5 + i);
                        CHECK(e && (json_object_is_type(e, json_type_double) ||
                                    json_object_is_type(e, json_type_int)));
                        CHECK_DBL(json_object_get_double(e), values[i], fabs(values[i]) * 1e-9);
                }
        }
        json_object_put(o);
        free(text);
}

/* json_number_format() writes exactly what printf's "%.10g" writes (its
 * fast path for whole numbers and tenths included). */
TEST(numbers_as_printf_writes_them)
{
        static const double odd[] = {-0.0, 0.0, -0.5, 0.5, -0.05, 96.65, 37.25, 1e-7, 1e8,
                                     99999999.9, -99999999.9, 123456789.25, 1e300, -1e300,
                                     4503599627370496.5, 0.1 + 0.2, 2.675, 1.0 / 3};
        char got[32], want[32];
        size_t differ = 0, n = 0;

        for (int k = -50000; k <= 50000; k++) {
                const double vs[3] = {k, k / 10.0, k / 100.0};
                for (int i = 0; i < 3; i++) {
                        snprintf(want, sizeof(want), "%.10g", vs[i]);
                        json_number_format(vs[i], got, sizeof(got));
                        n++;
                        if (strcmp(got, want) != 0 && differ++ < 5)
                                fprintf(stderr, "%.17g: got %s, printf %s\n", vs[i], got, want);
                }
        }
        srand(8);
        for (int i = 0; i < 50000; i++) {
                double v = ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 20 - 6);
                snprintf(want, sizeof(want), "%.10g", v);
                json_number_format(v, got, sizeof(got));
                n++;
                if (strcmp(got, want) != 0 && differ++ < 5)
                        fprintf(stderr, "%.17g: got %s, printf %s\n", v, got, want);
        }
        for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
                snprintf(want, sizeof(want), "%.10g", odd[i]);
                json_number_format(odd[i], got, sizeof(got));
                n++;
                if (strcmp(got, want) != 0 && differ++ < 5)
                        fprintf(stderr, "%.17g: got %s, printf %s\n", odd[i], got, want);
        }
        CHECK(n > 350000);
        CHECK_INT(differ, 0);
}

/* control_reading_text() and control_reading_json() describe one reading
 * alike: same keys, same values. */
TEST(reading_text_matches_reading_json)
{
        Reading rs[3] = {
            {.status = READING_VALID, .value = 96.65, .wall_ns = 1767268800123000000LL,
             .device_time_ns = 1767268799000000000LL},
            {.status = READING_UNAVAILABLE, .value = NAN, .wall_ns = 1767268801000000000LL},
            {.status = READING_QUESTIONABLE, .value = 121, .wall_ns = 1767268802000000000LL,
             .device_time_ns = 1767268802000000000LL},
        };

        reading_set_name(&rs[0], "SPO2", "%");
        reading_set_name(&rs[1], "HR", "/min");
        reading_set_name(&rs[2], "NIBP_SYS", "mmHg");
        for (size_t i = 0; i < 3; i++) {
                JsonText t = {0};
                /* Both as a client reads them: parsed from the wire text. */
                json_object *built = control_reading_json(&rs[i]);
                json_object *want = json_tokener_parse(json_object_to_json_string(built)), *got;
                char *text;
                size_t len;

                json_object_put(built);
                control_reading_text(&t, &rs[i]);
                text = json_text_steal(&t, &len);
                got = text ? json_tokener_parse(text) : NULL;
                CHECK(got != NULL);
                if (!json_object_equal(got, want)) {
                        fprintf(stderr, "reading %zu:\n  text %s\n  json %s\n", i, text,
                                json_object_to_json_string(want));
                        CHECK(!"control_reading_text and control_reading_json differ");
                }
                json_object_put(got);
                json_object_put(want);
                free(text);
        }
}

int main(void)
{
        RUN(strings_come_back_byte_for_byte);
        RUN(null_numbers_and_integers);
        RUN(numbers_as_printf_writes_them);
        RUN(reading_text_matches_reading_json);
        return testlib_finish();
}
