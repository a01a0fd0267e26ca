/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nameindex.h — names to pointers, for the look-ups by bed name that a
 * start-up with many beds makes once per device (a linear search there is
 * O(beds²): 1,000 beds cost half a million strcmp() calls before READY).
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; FNV-1a hashes the names.  Insert and look-up only: beds
 * are never removed while the daemon runs.  The index does not copy the
 * names: each key must live as long as its entry (the bed's own name).
 */
#pragma once

#include <stddef.h>

typedef struct NameIndexSlot {
        const char *key;
        void *value;
} NameIndexSlot;

typedef struct NameIndex {
        NameIndexSlot *slots;
        size_t cap; /* 0 or a power of two */
        size_t n;
} NameIndex;

/* The value stored under key, or NULL. */
void *name_index_get(const NameIndex *ix, const char *key);

/* Stores value under key (replacing what was there).  0, or -ENOMEM with
 * the index unchanged. */
int name_index_put(NameIndex *ix, const char *key, void *value);

/* Frees the table (not the keys or values); the index is empty after. */
void name_index_done(NameIndex *ix);
