/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conffile.h — vitalsd.conf and devices.d/NAME.conf (INI, parsed with libinih).
 *
 * Strict: an unknown section or key, a value out of range, a missing
 * required key or an unknown driver is an error naming file, line and key.
 * A Config is immutable once loaded; a reload builds a new one and swaps it
 * in only when it loaded without a single error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "driver.h"
#include "nameindex.h"
#include "regmap.h"

#define CONFIG_MAX_DEVICE_OPTIONS 16

typedef struct DeviceOptionValue {
        char *key;
        char *value;
        unsigned line;
} DeviceOptionValue;

typedef struct DeviceConfig {
        char *name;
        const Driver *driver;
        char *port;
        char *bed;
        LineSettings line; /* driver defaults, with baud etc. overridden */
        DeviceOptionValue options[CONFIG_MAX_DEVICE_OPTIONS];
        size_t n_options;
        char *file;
        unsigned line_no;
        /* TRANSPORT_MODBUS: the map (modbus/NAME.conf), parsed and checked;
         * port "tcp://HOST:PORT" sets tcp_host (NULL: an RTU line). */
        RegMap *map;
        char *tcp_host;
        unsigned tcp_port;
} DeviceConfig;

typedef struct Config {
        char *path;       /* main config file */
        char *dir;        /* its directory: devices.d/, profiles/ live here */
        char *state_dir;  /* NULL: from the command line / environment */
        char *socket_path;
        char *clinic;
        char *control_group;        /* who may use the control socket (besides root) */
        char *profile;              /* default alarm profile name */
        uint64_t tick_usec;         /* readings commit interval */
        uint64_t session_idle_usec; /* auto-close after this long without data */
        uint64_t reconnect_min_usec, reconnect_max_usec;
        unsigned stale_factor;      /* device stale after this many expected periods */
        unsigned decode_error_burst; /* DECODE_ERRORS: damaged frames per window; 0 off */
        uint64_t decode_error_window_usec;
        size_t store_queue_max;
        DeviceConfig *devices;
        size_t n_devices;
        NameIndex device_index; /* device names → index in devices + 1 */
        unsigned n_errors;
} Config;

/* Loads path, every devices.d/NAME.conf beside it and the Modbus maps
 * (modbus/NAME.conf) its devices name. Every problem is logged with
 * file:line; returns -EINVAL if there was any, with *ret left NULL. */
int config_load(const char *path, Config **ret);
void config_free(Config *c);
const char *device_config_option(const DeviceConfig *d, const char *key);
/* A driver option's value, or its default from the driver's table. */
const char *device_config_option_or_default(const DeviceConfig *d, const char *key);
/* Reads only `[daemon] clinic` from the main config at path, leniently: no
 * validation, nothing logged, every other key and section ignored (vitalsd
 * --check-config is what validates).  For clients that print the name, such
 * as vitalsctl export.  0 with *ret NULL when the key is absent, -ENOENT /
 * -EACCES / -errno when the file cannot be read, -ENOMEM. */
int config_read_clinic(const char *path, char **ret);
/* Seconds with an optional fraction ("0.5") within [min, max], into
 * microseconds. 0, -EINVAL (empty) or -ERANGE. Shared by the profile parser. */
int conf_parse_seconds(const char *v, double min, double max, uint64_t *ret_usec);

typedef enum ConfLineProblem {
        CONF_LINE_OK,
        CONF_LINE_TOO_LONG, /* more than num - 2 characters before the newline */
        CONF_LINE_NUL,      /* a NUL byte in the line */
} ConfLineProblem;

/* Reads one physical line (with its '\n', at most num - 1 bytes) for
 * inih's ini_parse_stream().  A line too long or holding a NUL byte is
 * consumed whole, comes back as "\n" and is named in *ret_problem, so the
 * caller reports it and line numbers stay true.  NULL at end of file.
 * Shared by the profile parser. */
char *conf_read_line(FILE *f, char *str, int num, ConfLineProblem *ret_problem);
