/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nameindex.c — see nameindex.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nameindex.h"

/* FNV-1a, 64 bits (offset basis and prime from the FNV reference,
 * http://www.isthe.com/chongo/tech/comp/fnv/). */
static uint64_t hash_name(const char *s)
{
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= UINT64_C(1099511628211);
        }
        return h;
}

static NameIndexSlot *probe(NameIndexSlot *slots, size_t cap, const char *key)
{
        size_t i = (size_t)hash_name(key) & (cap - 1);

        /* Never full (at most half), so an empty slot ends every probe. */
        while (slots[i].key && strcmp(slots[i].key, key) != 0)
                i = (i + 1) & (cap - 1);
        return &slots[i];
}

void *name_index_get(const NameIndex *ix, const char *key)
{
        if (!ix->cap || !key)
                return NULL;
        return probe(ix->slots, ix->cap, key)->value;
}

static int grow(NameIndex *ix)
{
        size_t cap = ix->cap ? ix->cap * 2 : 16;
        NameIndexSlot *slots;

        if (cap < ix->cap) /* overflow */
                return -ENOMEM;
        slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < ix->cap; i++)
                if (ix->slots[i].key)
                        *probe(slots, cap, ix->slots[i].key) = ix->slots[i];
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
        return 0;
}

int name_index_put(NameIndex *ix, const char *key, void *value)
{
        NameIndexSlot *s;

        if (!key)
                return -EINVAL;
        if (ix->cap) {
                s = probe(ix->slots, ix->cap, key);
                if (s->key) {
                        s->value = value;
                        return 0;
                }
        }
        if ((ix->n + 1) * 2 > ix->cap) {
                int r = grow(ix);
                if (r < 0)
                        return r;
        }
        s = probe(ix->slots, ix->cap, key);
        s->key = key;
        s->value = value;
        ix->n++;
        return 0;
}

void name_index_done(NameIndex *ix)
{
        free(ix->slots);
        *ix = (NameIndex){0};
}
