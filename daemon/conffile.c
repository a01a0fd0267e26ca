/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * conffile.c — strict INI configuration.
 *
 * libinih does the tokenising; we feed it through ini_parse_stream() with a
 * reader that counts lines, so every error can name file:line:key (inih's
 * handler is not told the line number in Debian's build).  Keys are
 * checked against tables of known keys with their type and range.
 */
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conffile.h"
#include "log.h"
#include "regmap_conf.h"

typedef struct ParseCtx {
        Config *c;
        const char *file;
        FILE *f;
        unsigned line;
        unsigned section_line; /* line of the last [section] header */
        char bad_section[128]; /* unknown section already reported */
        DeviceConfig *dev; /* current [device NAME] section, or NULL */
        bool in_daemon;
} ParseCtx;

static void config_error(ParseCtx *p, const char *key, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void config_error(ParseCtx *p, const char *key, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (key)
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s: %s", p->file, p->line,
                         key, msg);
        else
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s", p->file, p->line, msg);
        p->c->n_errors++;
}

char *conf_read_line(FILE *f, char *str, int num, ConfLineProblem *ret_problem)
{
        size_t n = 0;
        int ch = EOF;

        /* Not fgets(): it cannot say where a NUL byte ends the string, and it
         * hands a long line over in pieces that inih would take for lines
         * of their own (found by tests/fuzz/fuzz-profile.c). */
        *ret_problem = CONF_LINE_OK;
        while ((ch = getc(f)) != EOF) {
                if (ch == '\0')
                        *ret_problem = CONF_LINE_NUL;
                else if (n + 1 < (size_t)num)
                        str[n++] = (char)ch;
                else if (ch != '\n' && *ret_problem == CONF_LINE_OK)
                        *ret_problem = CONF_LINE_TOO_LONG;
                if (ch == '\n')
                        break;
        }
        if (ch == EOF && n == 0 && *ret_problem == CONF_LINE_OK)
                return NULL;
        if (*ret_problem != CONF_LINE_OK) {
                /* The line is reported by the caller and parsed as blank. */
                strcpy(str, "\n");
                return str;
        }
        str[n] = '\0';
        return str;
}

static char *reader(char *str, int num, void *stream)
{
        ParseCtx *p = stream;
        ConfLineProblem problem;
        char *r = conf_read_line(p->f, str, num, &problem);
        const char *s = r;

        if (!r)
                return NULL;
        p->line++;
        if (problem == CONF_LINE_NUL)
                config_error(p, NULL, "NUL byte in line");
        else if (problem == CONF_LINE_TOO_LONG)
                config_error(p, NULL, "line too long (at most %d characters)", num - 2);
        while (*s == ' ' || *s == '\t')
                s++;
        if (*s == '[')
                p->section_line = p->line;
        return r;
}

static int parse_uint(const char *v, unsigned long long min, unsigned long long max,
                      unsigned long long *ret)
{
        char *end;
        unsigned long long x;

        if (!v || !*v || *v == '-')
                return -EINVAL;
        errno = 0;
        x = strtoull(v, &end, 10);
        if (errno || *end || x < min || x > max)
                return -ERANGE;
        *ret = x;
        return 0;
}

int conf_parse_seconds(const char *v, double min, double max, uint64_t *ret_usec)
{
        char *end;
        double x;

        if (!v || !*v)
                return -EINVAL;
        errno = 0;
        x = strtod(v, &end);
        if (errno || *end || !(x >= min && x <= max))
                return -ERANGE;
        *ret_usec = (uint64_t)(x * 1e6 + 0.5);
        return 0;
}

static int set_str(char **dst, const char *v)
{
        char *n = strdup(v);

        if (!n)
                return -ENOMEM;
        free(*dst);
        *dst = n;
        return 0;
}

static void daemon_key(ParseCtx *p, const char *key, const char *value)
{
        Config *c = p->c;
        unsigned long long u;

        if (strcmp(key, "state_dir") == 0) {
                if (value[0] != '/')
                        config_error(p, key, "must be an absolute path, got \"%s\"", value);
                else
                        set_str(&c->state_dir, value);
        } else if (strcmp(key, "socket") == 0) {
                if (value[0] != '/')
                        config_error(p, key, "must be an absolute path, got \"%s\"", value);
                else
                        set_str(&c->socket_path, value);
        } else if (strcmp(key, "clinic") == 0) {
                set_str(&c->clinic, value);
        } else if (strcmp(key, "control_group") == 0) {
                if (!*value || strlen(value) > 31 || strchr(value, ':') || strchr(value, '/'))
                        config_error(p, key, "must be a group name, got \"%s\"", value);
                else
                        set_str(&c->control_group, value);
        } else if (strcmp(key, "profile") == 0) {
                if (!*value || strchr(value, '/'))
                        config_error(p, key, "must be a profile name, got \"%s\"", value);
                else
                        set_str(&c->profile, value);
        } else if (strcmp(key, "tick") == 0) {
                if (conf_parse_seconds(value, 0.05, 10, &c->tick_usec) < 0)
                        config_error(p, key, "must be seconds between 0.05 and 10, got \"%s\"",
                                     value);
        } else if (strcmp(key, "session_idle_timeout") == 0) {
                if (conf_parse_seconds(value, 1, 86400, &c->session_idle_usec) < 0)
                        config_error(p, key, "must be seconds between 1 and 86400, got \"%s\"",
                                     value);
        } else if (strcmp(key, "reconnect_min") == 0) {
                if (conf_parse_seconds(value, 0.1, 60, &c->reconnect_min_usec) < 0)
                        config_error(p, key, "must be seconds between 0.1 and 60, got \"%s\"",
                                     value);
        } else if (strcmp(key, "reconnect_max") == 0) {
                if (conf_parse_seconds(value, 1, 600, &c->reconnect_max_usec) < 0)
                        config_error(p, key, "must be seconds between 1 and 600, got \"%s\"",
                                     value);
        } else if (strcmp(key, "stale_factor") == 0) {
                if (parse_uint(value, 2, 100, &u) < 0)
                        config_error(p, key, "must be a whole number between 2 and 100, got \"%s\"",
                                     value);
                else
                        c->stale_factor = (unsigned)u;
        } else if (strcmp(key, "decode_error_burst") == 0) {
                if (parse_uint(value, 0, 100, &u) < 0)
                        config_error(p, key,
                                     "must be 0 (off) or a whole number of damaged frames up to "
                                     "100, got \"%s\"",
                                     value);
                else
                        c->decode_error_burst = (unsigned)u;
        } else if (strcmp(key, "decode_error_window") == 0) {
                if (conf_parse_seconds(value, 1, 600, &c->decode_error_window_usec) < 0)
                        config_error(p, key, "must be seconds between 1 and 600, got \"%s\"",
                                     value);
        } else if (strcmp(key, "store_queue_max") == 0) {
                if (parse_uint(value, 1024, 16777216, &u) < 0)
                        config_error(p, key,
                                     "must be a whole number between 1024 and 16777216, got \"%s\"",
                                     value);
                else
                        c->store_queue_max = (size_t)u;
        } else {
                config_error(p, key, "unknown key in [daemon]");
        }
}

typedef struct ClinicPeek {
        char *clinic;
        int error;
} ClinicPeek;

static int clinic_peek_handler(void *user, const char *section, const char *name,
                               const char *value)
{
        ClinicPeek *k = user;

        if (strcmp(section, "daemon") == 0 && name && strcmp(name, "clinic") == 0 && value &&
            set_str(&k->clinic, value) < 0)
                k->error = -ENOMEM;
        return 1;
}

int config_read_clinic(const char *path, char **ret)
{
        ClinicPeek k = {0};
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        /* A syntax error elsewhere in the file is vitalsd's business; the
         * handler has seen every line inih could read. */
        (void)ini_parse_file(f, clinic_peek_handler, &k);
        fclose(f);
        if (k.error < 0) {
                free(k.clinic);
                return k.error;
        }
        *ret = k.clinic;
        return 0;
}

static int parse_parity(const char *v, LineParity *ret)
{
        if (strcmp(v, "none") == 0)
                *ret = PARITY_NONE;
        else if (strcmp(v, "odd") == 0)
                *ret = PARITY_ODD;
        else if (strcmp(v, "even") == 0)
                *ret = PARITY_EVEN;
        else
                return -EINVAL;
        return 0;
}

static int parse_flow(const char *v, LineFlow *ret)
{
        if (strcmp(v, "none") == 0)
                *ret = FLOW_NONE;
        else if (strcmp(v, "rtscts") == 0)
                *ret = FLOW_RTSCTS;
        else if (strcmp(v, "xonxoff") == 0)
                *ret = FLOW_XONXOFF;
        else
                return -EINVAL;
        return 0;
}

static void device_key(ParseCtx *p, const char *key, const char *value)
{
        DeviceConfig *d = p->dev;

        if (strcmp(key, "driver") == 0) {
                d->driver = driver_find(value);
                if (!d->driver) {
                        char known[256] = "";
                        for (const Driver *const *it = driver_list(); *it; it++) {
                                strncat(known, (*it)->name, sizeof(known) - strlen(known) - 3);
                                if (it[1])
                                        strncat(known, ", ", sizeof(known) - strlen(known) - 1);
                        }
                        config_error(p, key, "unknown driver \"%s\" (known: %s)", value, known);
                }
        } else if (strcmp(key, "port") == 0) {
                if (!*value)
                        config_error(p, key, "must not be empty");
                else
                        set_str(&d->port, value);
        } else if (strcmp(key, "bed") == 0) {
                if (!*value || strlen(value) > 63)
                        config_error(p, key, "must be 1 to 63 characters");
                else
                        set_str(&d->bed, value);
        } else {
                /* Line settings and driver options are checked once the
                 * whole section (and so the driver) is known. */
                if (d->n_options >= CONFIG_MAX_DEVICE_OPTIONS) {
                        config_error(p, key, "too many options in [device %s]", d->name);
                        return;
                }
                for (size_t i = 0; i < d->n_options; i++)
                        if (strcmp(d->options[i].key, key) == 0) {
                                config_error(p, key, "set twice in [device %s] (first on line %u)",
                                             d->name, d->options[i].line);
                                return;
                        }
                d->options[d->n_options].key = strdup(key);
                d->options[d->n_options].value = strdup(value);
                d->options[d->n_options].line = p->line;
                d->n_options++;
        }
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        ParseCtx *p = user;
        Config *c = p->c;

        if (!name) {
                /* A new section begins (INI_CALL_HANDLER_ON_NEW_SECTION builds only). */
                return 1;
        }
        if (strcmp(section, "daemon") == 0) {
                daemon_key(p, name, value);
                return 1;
        }
        if (strncmp(section, "device ", 7) == 0 && section[7]) {
                const char *dname = section + 7;
                if (!p->dev || strcmp(p->dev->name, dname) != 0) {
                        uintptr_t seen = (uintptr_t)name_index_get(&c->device_index, dname);
                        if (seen) {
                                DeviceConfig *first = &c->devices[seen - 1];
                                unsigned key_line = p->line;
                                p->line = p->section_line;
                                config_error(p, NULL, "[device %s] defined twice (first in %s:%u)",
                                             dname, first->file, first->line_no);
                                p->line = key_line;
                                p->dev = first;
                                return 1;
                        }
                        DeviceConfig *n = realloc(c->devices, (c->n_devices + 1) * sizeof(*n));
                        if (!n)
                                return 0;
                        c->devices = n;
                        p->dev = &c->devices[c->n_devices++];
                        memset(p->dev, 0, sizeof(*p->dev));
                        p->dev->name = strdup(dname);
                        p->dev->file = strdup(p->file);
                        p->dev->line_no = p->section_line;
                        if (!p->dev->name || !p->dev->file ||
                            name_index_put(&c->device_index, p->dev->name,
                                           (void *)(uintptr_t)c->n_devices) < 0)
                                return 0;
                }
                device_key(p, name, value);
                return 1;
        }
        if (strcmp(p->bad_section, section) != 0) {
                unsigned key_line = p->line;
                snprintf(p->bad_section, sizeof(p->bad_section), "%s", section);
                p->line = p->section_line;
                config_error(p, NULL, "unknown section [%s] (expected [daemon] or [device NAME])",
                             section);
                p->line = key_line;
        }
        return 1;
}

static const DriverOption *driver_option(const Driver *drv, const char *key)
{
        for (const DriverOption *o = drv->options; o && o->key; o++)
                if (strcmp(o->key, key) == 0)
                        return o;
        return NULL;
}

static bool option_known(const Driver *drv, const char *key)
{
        static const char *const generic[] = {"baud", "parity", "data_bits", "stop_bits", "flow",
                                              NULL};

        for (size_t i = 0; generic[i]; i++)
                if (strcmp(generic[i], key) == 0)
                        return true;
        for (const DriverOption *o = drv->options; o && o->key; o++)
                if (strcmp(o->key, key) == 0)
                        return true;
        return false;
}

/* --- Modbus devices ------------------------------------------------------ */

static void map_error(void *userdata, const char *file, unsigned line, const char *key,
                      const char *msg)
{
        Config *c = userdata;

        if (key)
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s: %s", file, line, key, msg);
        else
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s:%u: %s", file, line, msg);
        c->n_errors++;
}

static unsigned option_line(const DeviceConfig *d, const char *key)
{
        for (size_t i = 0; i < d->n_options; i++)
                if (strcmp(d->options[i].key, key) == 0)
                        return d->options[i].line;
        return d->line_no;
}

/* port = tcp://HOST:PORT (HOST may be [IPv6]) or the path of a serial line. */
static void modbus_port(ParseCtx *p, DeviceConfig *d)
{
        const char *rest, *colon;
        unsigned long long u;

        if (strncmp(d->port, "tcp://", 6) != 0) {
                if (d->port[0] != '/')
                        config_error(p, "port",
                                     "must be a serial device path (RTU) or tcp://HOST:PORT, got "
                                     "\"%s\"",
                                     d->port);
                return;
        }
        rest = d->port + 6;
        colon = strrchr(rest, ':');
        if (!colon || colon == rest || parse_uint(colon + 1, 1, 65535, &u) < 0) {
                config_error(p, "port", "must be tcp://HOST:PORT with PORT 1..65535, got \"%s\"",
                             d->port);
                return;
        }
        if (rest[0] == '[' && colon[-1] == ']')
                d->tcp_host = strndup(rest + 1, (size_t)(colon - rest - 2));
        else
                d->tcp_host = strndup(rest, (size_t)(colon - rest));
        d->tcp_port = (unsigned)u;
        if (d->tcp_host && !d->tcp_host[0])
                config_error(p, "port", "names no host: \"%s\"", d->port);
}

static void modbus_finish(Config *c, DeviceConfig *d)
{
        ParseCtx p = {.c = c, .file = d->file, .line = d->line_no};
        const char *name = device_config_option(d, "map");
        static const char *const line_keys[] = {"baud", "parity", "data_bits", "stop_bits", "flow",
                                                NULL};
        char *path = NULL;
        long slave;

        if (d->port) {
                p.line = d->line_no;
                modbus_port(&p, d);
        }
        for (size_t i = 0; d->tcp_host && line_keys[i]; i++)
                if (device_config_option(d, line_keys[i])) {
                        p.line = option_line(d, line_keys[i]);
                        config_error(&p, line_keys[i], "applies to an RTU line, not to %s",
                                     d->port);
                }
        if (!d->tcp_host && device_config_option(d, "flow")) {
                p.line = option_line(d, "flow");
                config_error(&p, "flow", "a Modbus RTU line has no flow control");
        }
        slave = strtol(device_config_option_or_default(d, "slave"), NULL, 10);
        if (!d->tcp_host && (slave < 1 || slave > 247)) {
                p.line = option_line(d, "slave");
                config_error(&p, "slave", "an RTU slave address is 1 to 247 (0 is broadcast), got %ld",
                             slave);
        }
        p.line = option_line(d, "map");
        if (!name) {
                config_error(&p, "map", "missing in [device %s] (driver modbus needs a register map)",
                             d->name);
                return;
        }
        if (!regmap_name_valid(name)) {
                config_error(&p, "map", "must be a map name (modbus/NAME.conf), got \"%s\"", name);
                return;
        }
        /* A map two devices share is parsed (and its problems told) once. */
        for (DeviceConfig *o = c->devices; o < d; o++) {
                const char *oname = o->driver && o->driver->transport == TRANSPORT_MODBUS
                                            ? device_config_option(o, "map")
                                            : NULL;
                if (!oname || strcmp(oname, name) != 0)
                        continue;
                if (o->map) {
                        d->map = malloc(sizeof(*d->map));
                        if (d->map)
                                *d->map = *o->map;
                }
                return;
        }
        if (asprintf(&path, "%s/modbus/%s.conf", c->dir, name) < 0)
                return;
        if (access(path, F_OK) < 0) {
                config_error(&p, "map", "no register map \"%s\" (looked for %s)", name, path);
                free(path);
                return;
        }
        d->map = malloc(sizeof(*d->map));
        if (d->map && regmap_load(path, d->map, map_error, c) != 0) {
                free(d->map);
                d->map = NULL;
        }
        free(path);
}

static bool same_line(const LineSettings *a, const LineSettings *b)
{
        return a->baud == b->baud && a->data_bits == b->data_bits && a->parity == b->parity &&
               a->stop_bits == b->stop_bits;
}

/* Devices on one bus (RTU line, TCP endpoint) need distinct addresses, and
 * on a line the same line settings. */
static void modbus_check_buses(Config *c)
{
        for (size_t i = 0; i < c->n_devices; i++) {
                DeviceConfig *a = &c->devices[i];

                if (!a->driver || a->driver->transport != TRANSPORT_MODBUS || !a->port)
                        continue;
                for (size_t j = i + 1; j < c->n_devices; j++) {
                        DeviceConfig *b = &c->devices[j];
                        ParseCtx p = {.c = c, .file = b->file, .line = b->line_no};

                        if (!b->driver || b->driver->transport != TRANSPORT_MODBUS || !b->port ||
                            strcmp(a->port, b->port) != 0)
                                continue;
                        if (strcmp(device_config_option_or_default(a, "slave"),
                                   device_config_option_or_default(b, "slave")) == 0) {
                                p.line = option_line(b, "slave");
                                config_error(&p, "slave",
                                             "[device %s] and [device %s] (%s:%u) both use address "
                                             "%s on %s",
                                             b->name, a->name, a->file, a->line_no,
                                             device_config_option_or_default(b, "slave"), b->port);
                        }
                        if (!b->tcp_host && !same_line(&a->line, &b->line))
                                config_error(&p, NULL,
                                             "[device %s] shares the line %s with [device %s] "
                                             "(%s:%u) but not its baud, parity, data or stop bits",
                                             b->name, b->port, a->name, a->file, a->line_no);
                }
        }
}

static void device_finish(Config *c, DeviceConfig *d)
{
        ParseCtx p = {.c = c, .file = d->file, .line = d->line_no};

        if (!d->driver) {
                config_error(&p, "driver", "missing in [device %s]", d->name);
                return;
        }
        if (!d->port)
                config_error(&p, "port", "missing in [device %s]", d->name);
        if (!d->bed)
                config_error(&p, "bed", "missing in [device %s]", d->name);
        d->line = d->driver->line;
        for (size_t i = 0; i < d->n_options; i++) {
                const DeviceOptionValue *o = &d->options[i];
                unsigned long long u;
                p.line = o->line;
                if (!option_known(d->driver, o->key)) {
                        config_error(&p, o->key, "unknown key for driver %s", d->driver->name);
                        continue;
                }
                const DriverOption *dopt = driver_option(d->driver, o->key);
                if (dopt && dopt->min_value < dopt->max_value) {
                        char *end;
                        long v;
                        errno = 0;
                        v = strtol(o->value, &end, 10);
                        if (errno || !*o->value || *end || v < dopt->min_value ||
                            v > dopt->max_value)
                                config_error(&p, o->key,
                                             "must be a whole number from %ld to %ld, got \"%s\"",
                                             dopt->min_value, dopt->max_value, o->value);
                } else if (strcmp(o->key, "baud") == 0) {
                        static const unsigned rates[] = {1200,  2400,  4800,   9600,  19200,
                                                         38400, 57600, 115200, 230400};
                        bool ok = false;
                        if (parse_uint(o->value, 1, UINT_MAX, &u) == 0)
                                for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++)
                                        ok |= rates[k] == u;
                        if (!ok)
                                config_error(&p, o->key,
                                             "unsupported baud rate \"%s\" (1200 … 230400)",
                                             o->value);
                        else
                                d->line.baud = (int)u;
                } else if (strcmp(o->key, "parity") == 0) {
                        if (parse_parity(o->value, &d->line.parity) < 0)
                                config_error(&p, o->key, "must be none, odd or even");
                } else if (strcmp(o->key, "flow") == 0) {
                        if (parse_flow(o->value, &d->line.flow) < 0)
                                config_error(&p, o->key, "must be none, rtscts or xonxoff");
                } else if (strcmp(o->key, "data_bits") == 0) {
                        if (parse_uint(o->value, 5, 8, &u) < 0)
                                config_error(&p, o->key, "must be 5 to 8");
                        else
                                d->line.data_bits = (int)u;
                } else if (strcmp(o->key, "stop_bits") == 0) {
                        if (parse_uint(o->value, 1, 2, &u) < 0)
                                config_error(&p, o->key, "must be 1 or 2");
                        else
                                d->line.stop_bits = (int)u;
                }
        }
        if (d->driver->transport == TRANSPORT_MODBUS)
                modbus_finish(c, d);
}

static int parse_file(Config *c, const char *path)
{
        ParseCtx p = {.c = c, .file = path};
        int r;

        p.f = fopen(path, "re");
        if (!p.f) {
                r = -errno;
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, r, "%s: cannot read: %m", path);
                c->n_errors++;
                return r;
        }
        r = ini_parse_stream(reader, &p, handler, &p);
        fclose(p.f);
        if (r > 0) {
                /* inih reports syntax errors (no '=' or ']') by line number. */
                p.line = (unsigned)r;
                config_error(&p, NULL, "syntax error (expected [section] or key = value)");
        } else if (r < 0) {
                log_error("%s: cannot parse (out of memory)", path);
                c->n_errors++;
        }
        return 0;
}

static int config_dir_of(const char *path, char **ret)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                *ret = strdup(".");
        else if (slash == path)
                *ret = strdup("/");
        else
                *ret = strndup(path, (size_t)(slash - path));
        return *ret ? 0 : -ENOMEM;
}

int config_load(const char *path, Config **ret)
{
        Config *c = calloc(1, sizeof(*c));
        char *pattern = NULL;
        glob_t g = {0};
        int r;

        *ret = NULL;
        if (!c)
                return -ENOMEM;
        c->path = strdup(path);
        c->tick_usec = 1000000;
        c->session_idle_usec = 600ULL * 1000000;
        c->reconnect_min_usec = 1000000;
        c->reconnect_max_usec = 30ULL * 1000000;
        c->stale_factor = 3;
        c->decode_error_burst = 5;
        c->decode_error_window_usec = 10 * 1000000ULL;
        c->store_queue_max = 131072;
        if (set_str(&c->control_group, "vitals") < 0) {
                r = -ENOMEM;
                goto fail;
        }
        r = config_dir_of(path, &c->dir);
        if (r < 0 || !c->path)
                goto fail;

        parse_file(c, path);
        if (asprintf(&pattern, "%s/devices.d/*.conf", c->dir) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        /* glob() sorts, so devices.d files load in a stable order. */
        if (glob(pattern, 0, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++)
                        parse_file(c, g.gl_pathv[i]);
        globfree(&g);
        free(pattern);

        for (size_t i = 0; i < c->n_devices; i++)
                device_finish(c, &c->devices[i]);
        modbus_check_buses(c);
        if (c->reconnect_min_usec > c->reconnect_max_usec) {
                log_error("%s: reconnect_min is larger than reconnect_max", path);
                c->n_errors++;
        }
        if (c->n_errors) {
                log_full(LOG_ERR, MSGID_CONFIG, NULL, NULL, 0, "%s: %u error%s in configuration",
                         path, c->n_errors, c->n_errors == 1 ? "" : "s");
                r = -EINVAL;
                goto fail;
        }
        *ret = c;
        return 0;
fail:
        config_free(c);
        return r < 0 ? r : -EINVAL;
}

void config_free(Config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_devices; i++) {
                DeviceConfig *d = &c->devices[i];
                free(d->name);
                free(d->port);
                free(d->bed);
                free(d->file);
                free(d->map);
                free(d->tcp_host);
                for (size_t k = 0; k < d->n_options; k++) {
                        free(d->options[k].key);
                        free(d->options[k].value);
                }
        }
        free(c->devices);
        name_index_done(&c->device_index);
        free(c->path);
        free(c->dir);
        free(c->state_dir);
        free(c->socket_path);
        free(c->clinic);
        free(c->profile);
        free(c->control_group);
        free(c);
}

const char *device_config_option(const DeviceConfig *d, const char *key)
{
        for (size_t i = 0; i < d->n_options; i++)
                if (strcmp(d->options[i].key, key) == 0)
                        return d->options[i].value;
        return NULL;
}

const char *device_config_option_or_default(const DeviceConfig *d, const char *key)
{
        const char *v = device_config_option(d, key);

        if (v || !d->driver)
                return v;
        for (const DriverOption *o = d->driver->options; o && o->key; o++)
                if (strcmp(o->key, key) == 0)
                        return o->default_value;
        return NULL;
}
