/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-nameindex.c — the index of beds by name: every name put is found
 * with its own value, through the table's growth; names never put are
 * not found; putting a name again replaces its value.
 */
#include <stdio.h>

#include "nameindex.h"
#include "testlib.h"

#define N 5000

static char names[N][16];
static int values[N];

TEST(empty_index_finds_nothing)
{
        NameIndex ix = {0};

        CHECK(name_index_get(&ix, "bed-1") == NULL);
        CHECK(name_index_get(&ix, NULL) == NULL);
        CHECK_INT(name_index_put(&ix, NULL, values), -22 /* EINVAL */);
        name_index_done(&ix);
}

TEST(every_name_found_through_growth)
{
        NameIndex ix = {0};
        size_t found = 0, wrong = 0, misses = 0;
        char other[24];

        for (int i = 0; i < N; i++) {
                snprintf(names[i], sizeof(names[i]), "bed-%d", i);
                CHECK_INT(name_index_put(&ix, names[i], &values[i]), 0);
        }
        CHECK_INT(ix.n, N);
        CHECK(ix.cap >= 2 * N); /* never more than half full */
        for (int i = 0; i < N; i++) {
                /* A copy of the name, not the stored pointer: look-ups
                 * compare the text. */
                char key[16];
                snprintf(key, sizeof(key), "bed-%d", i);
                int *v = name_index_get(&ix, key);
                if (v == &values[i])
                        found++;
                else
                        wrong++;
        }
        CHECK_INT(found, N);
        CHECK_INT(wrong, 0);
        for (int i = 0; i < N; i++) {
                snprintf(other, sizeof(other), "chair-%d", i);
                if (name_index_get(&ix, other))
                        misses++;
        }
        CHECK_INT(misses, 0);
        CHECK(name_index_get(&ix, "") == NULL);
        CHECK(name_index_get(&ix, "bed-") == NULL);
        name_index_done(&ix);
        CHECK_INT(ix.n, 0);
        CHECK(name_index_get(&ix, "bed-1") == NULL);
}

TEST(put_again_replaces)
{
        NameIndex ix = {0};
        int a = 1, b = 2;

        CHECK_INT(name_index_put(&ix, "recliner 3", &a), 0);
        CHECK_INT(name_index_put(&ix, "recliner 3", &b), 0);
        CHECK_INT(ix.n, 1);
        CHECK(name_index_get(&ix, "recliner 3") == &b);
        CHECK(name_index_get(&ix, "recliner 30") == NULL);
        name_index_done(&ix);
}

int main(void)
{
        RUN(empty_index_finds_nothing);
        RUN(every_name_found_through_growth);
        RUN(put_again_replaces);
        return testlib_finish();
}
