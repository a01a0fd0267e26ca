/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * regmap_conf.h — Modbus register map files (modbus/NAME.conf beside
 * vitalsd.conf), parsed strictly into a RegMap (drivers/regmap.h).
 *
 * Shared by vitalsd (config loading, --check-config) and vitals-sim
 * (serving a map), so it reports problems through a callback rather than
 * a log: every problem names file, line and, where there is one, key.
 */
#pragma once

#include <stdbool.h>

#include "regmap.h"

/* key may be NULL (a problem with a section or the file). */
typedef void (*RegMapErrorFn)(void *userdata, const char *file, unsigned line, const char *key,
                              const char *msg);

/* Parses path into *ret; the map's name is the file name without ".conf".
 * Returns the number of problems reported through err (0: the map is valid)
 * or -errno when the file cannot be read (reported too). */
int regmap_load(const char *path, RegMap *ret, RegMapErrorFn err, void *userdata);

/* A map name: 1..63 of [A-Za-z0-9_.-], not starting with '.'. */
bool regmap_name_valid(const char *name);

/* Checks every .conf file in DIR; returns the number of problems, -ENOENT when
 * DIR does not exist. */
int regmap_check_dir(const char *dir, RegMapErrorFn err, void *userdata);
