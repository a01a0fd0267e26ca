/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz-common.h — scratch files for fuzz targets whose parsers read files.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A private directory, created on first use and removed at exit. */
const char *fuzz_scratch_dir(void);
/* Writes data to path (truncating). 0 or -1. */
int fuzz_write_file(const char *path, const uint8_t *data, size_t size);
