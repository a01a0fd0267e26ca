/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * device.c — one configured monitor: its port, its driver instance, its
 * state and its reconnection.
 *
 * Owns all I/O for the device.  Reads are non-blocking and bounded (the
 * driver gets at most one 4 KiB chunk at a time into its fixed buffers).
 * A port that vanishes, hangs up or errors is closed and reopened with
 * exponential back-off (reconnect_min … reconnect_max); the state goes
 * DISCONNECTED and the daemon keeps running.  Host time is taken in the
 * I/O callback before the driver parses the bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "timefmt.h"

static const char *const state_names[_DEVICE_STATE_MAX] = {
        [DEVICE_CONNECTING] = "connecting",
        [DEVICE_LIVE] = "live",
        [DEVICE_STALE] = "stale",
        [DEVICE_DISCONNECTED] = "disconnected",
};

const char *device_state_to_string(DeviceState s)
{
        return (unsigned)s < _DEVICE_STATE_MAX ? state_names[s] : "unknown";
}

static void set_state(Device *dev, DeviceState s)
{
        if (dev->state == s)
                return;
        log_full(s == DEVICE_LIVE || s == DEVICE_CONNECTING ? LOG_INFO : LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name,
                 dev->cfg->bed, 0, "device %s → %s", device_state_to_string(dev->state),
                 device_state_to_string(s));
        dev->state = s;
        dev->state_since_wall_ns = now_wall_ns();
        daemon_device_state_changed(dev->daemon, dev);
}

/* --- helpers the core gives drivers ------------------------------------ */

static Device *dev_of(DriverInstance *inst)
{
        return inst->core;
}

static void host_emit(DriverInstance *inst, const Reading *r)
{
        Device *dev = dev_of(inst);
        Reading copy = *r;

        copy.wall_ns = dev->arrival_wall_ns;
        copy.mono_ns = dev->arrival_mono_ns;
        dev->readings++;
        dev->last_reading_mono_ns = dev->arrival_mono_ns;
        if (dev->state != DEVICE_LIVE)
                set_state(dev, DEVICE_LIVE);
        daemon_reading(dev->daemon, dev, &copy);
}

static int host_write(DriverInstance *inst, const void *buf, size_t len)
{
        Device *dev = dev_of(inst);
        const uint8_t *p = buf;

        if (!dev->port)
                return -ENOTCONN;
        while (len > 0) {
                ssize_t n = write(serial_fd(dev->port), p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* A full output buffer means the monitor is not
                         * reading (RTS/CTS held): drop the request; the
                         * quiet timer will repeat it. */
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static const char *host_option(DriverInstance *inst, const char *key)
{
        return device_config_option(dev_of(inst)->cfg, key);
}

static void host_log(DriverInstance *inst, int priority, const char *fmt, ...)
{
        Device *dev = dev_of(inst);
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_full(priority, NULL, dev->cfg->name, dev->cfg->bed, 0, "%s", msg);
}

static void host_count(DriverInstance *inst, DriverCounter which, unsigned n)
{
        if ((unsigned)which < _DRIVER_COUNT_MAX)
                dev_of(inst)->counters[which] += n;
}

static const DriverHost driver_host = {
        .emit = host_emit,
        .write = host_write,
        .option = host_option,
        .log = host_log,
        .count = host_count,
};

/* --- connection ------------------------------------------------------- */

static void schedule_reconnect(Device *dev);

static void disconnect(Device *dev, int error)
{
        dev->io = sd_event_source_disable_unref(dev->io);
        dev->quiet_timer = sd_event_source_disable_unref(dev->quiet_timer);
        serial_close(dev->port);
        dev->port = NULL;
        dev->last_error = error;
        set_state(dev, DEVICE_DISCONNECTED);
        schedule_reconnect(dev);
}

static int on_quiet(sd_event_source *s, uint64_t usec, void *userdata)
{
        Device *dev = userdata;

        if (dev->cfg->driver->on_quiet)
                (void)dev->cfg->driver->on_quiet(&dev->inst);
        sd_event_source_set_time_relative(s, dev->cfg->driver->quiet_usec);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Device *dev = userdata;
        uint8_t buf[4096];
        int rounds = 0;

        /* Host time first: the bytes arrived no later than now. */
        dev->arrival_wall_ns = now_wall_ns();
        dev->arrival_mono_ns = now_mono_ns();

        /* Bounded: at most 16 chunks per wake-up so one chatty device
         * cannot starve the others. */
        while (rounds++ < 16) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n > 0) {
                        dev->bytes_in += (uint64_t)n;
                        dev->last_bytes_mono_ns = dev->arrival_mono_ns;
                        if (dev->cfg->driver->on_bytes)
                                dev->cfg->driver->on_bytes(&dev->inst, buf, (size_t)n);
                        if (dev->quiet_timer)
                                sd_event_source_set_time_relative(dev->quiet_timer,
                                                                  dev->cfg->driver->quiet_usec);
                        /* A short read took all there was: skip the read that
                         * would only say EAGAIN (one syscall per record at
                         * 1 Hz x 1000 beds); epoll is level-triggered and
                         * wakes us again for anything that came meanwhile. */
                        if ((size_t)n < sizeof(buf))
                                break;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                /* 0 (hang-up) or EIO (pty master closed, USB adapter gone). */
                int err = n == 0 ? -EPIPE : -errno;
                log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, err,
                         "port %s lost: %s", dev->cfg->port,
                         n == 0 ? "hang-up" : strerror(-err));
                disconnect(dev, err);
                return 0;
        }
        if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
                log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, 0,
                         "port %s hung up", dev->cfg->port);
                disconnect(dev, -EPIPE);
        }
        return 0;
}

static int try_connect(Device *dev)
{
        const char *how = NULL;
        int r;

        r = serial_open(dev->cfg->port, &dev->cfg->line, &dev->port, &how);
        if (r < 0) {
                if (r != dev->last_error || dev->reconnects == 0)
                        log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed,
                                 r, "cannot open %s: %s%s", dev->cfg->port, strerror(-r),
                                 r == -ENOTTY ? " (not a serial device)" : "");
                dev->last_error = r;
                return r;
        }
        r = sd_event_add_io(dev->daemon->event, &dev->io, serial_fd(dev->port), EPOLLIN, on_io,
                            dev);
        if (r < 0) {
                serial_close(dev->port);
                dev->port = NULL;
                return r;
        }
        if (dev->cfg->driver->quiet_usec && dev->cfg->driver->on_quiet) {
                r = sd_event_add_time_relative(dev->daemon->event, &dev->quiet_timer,
                                               CLOCK_BOOTTIME, dev->cfg->driver->quiet_usec,
                                               100000, on_quiet, dev);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot arm quiet timer: %m", dev->cfg->name);
        }
        log_full(LOG_INFO, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, 0,
                 "opened %s (%s, %d baud, parity %s)", dev->cfg->port, how, dev->cfg->line.baud,
                 line_parity_to_string(dev->cfg->line.parity));
        dev->last_error = 0;
        dev->backoff_usec = 0;
        dev->last_reading_mono_ns = now_mono_ns(); /* staleness counts from the connect */
        set_state(dev, DEVICE_CONNECTING);
        if (dev->cfg->driver->on_connect) {
                r = dev->cfg->driver->on_connect(&dev->inst);
                if (r < 0)
                        log_full(LOG_WARNING, NULL, dev->cfg->name, dev->cfg->bed, r,
                                 "driver handshake failed: %s (will retry when quiet)",
                                 strerror(-r));
        }
        return 0;
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata)
{
        Device *dev = userdata;

        dev->reconnect_timer = sd_event_source_disable_unref(dev->reconnect_timer);
        dev->reconnects++;
        if (try_connect(dev) < 0)
                schedule_reconnect(dev);
        return 0;
}

static void schedule_reconnect(Device *dev)
{
        const Config *c = dev->daemon->config;
        int r;

        if (dev->reconnect_timer)
                return;
        dev->backoff_usec = dev->backoff_usec ? dev->backoff_usec * 2 : c->reconnect_min_usec;
        if (dev->backoff_usec > c->reconnect_max_usec)
                dev->backoff_usec = c->reconnect_max_usec;
        r = sd_event_add_time_relative(dev->daemon->event, &dev->reconnect_timer, CLOCK_BOOTTIME,
                                       dev->backoff_usec, 10000, on_reconnect, dev);
        if (r < 0)
                log_error_errno(r, "%s: cannot schedule reconnect: %m", dev->cfg->name);
}

void device_start(Device *dev)
{
        if (!dev->driver_ready)
                return;
        if (try_connect(dev) < 0) {
                set_state(dev, DEVICE_DISCONNECTED);
                schedule_reconnect(dev);
        }
}

void device_tick(Device *dev, int64_t now_mono_ns)
{
        uint64_t limit_usec;

        if (dev->state != DEVICE_LIVE && dev->state != DEVICE_CONNECTING)
                return;
        limit_usec = dev->min_period_usec * dev->daemon->config->stale_factor;
        if (limit_usec && now_mono_ns - dev->last_reading_mono_ns > (int64_t)limit_usec * 1000)
                set_state(dev, DEVICE_STALE);
}

int device_new(Daemon *d, const DeviceConfig *cfg, Device **ret)
{
        Device *dev = calloc(1, sizeof(*dev));
        int r;

        if (!dev)
                return -ENOMEM;
        dev->daemon = d;
        dev->cfg = cfg;
        dev->state = DEVICE_DISCONNECTED;
        dev->state_since_wall_ns = now_wall_ns();
        dev->bed = bed_get(d, cfg->bed);
        if (!dev->bed) {
                free(dev);
                return -ENOMEM;
        }
        for (const ParamPeriod *pp = cfg->driver->periods; pp && pp->parameter; pp++)
                if (!dev->min_period_usec || pp->period_usec < dev->min_period_usec)
                        dev->min_period_usec = pp->period_usec;
        if (cfg->driver->state_size) {
                dev->driver_state = calloc(1, cfg->driver->state_size);
                if (!dev->driver_state) {
                        free(dev);
                        return -ENOMEM;
                }
        }
        dev->inst = (DriverInstance){
                .driver = cfg->driver,
                .host = &driver_host,
                .core = dev,
                .state = dev->driver_state,
        };
        r = cfg->driver->init ? cfg->driver->init(&dev->inst) : 0;
        if (r < 0) {
                free(dev->driver_state);
                free(dev);
                return r;
        }
        if (cfg->driver->base_period_usec)
                dev->min_period_usec = cfg->driver->base_period_usec(&dev->inst);
        dev->driver_ready = true;
        *ret = dev;
        return 0;
}

void device_free(Device *dev)
{
        if (!dev)
                return;
        dev->io = sd_event_source_disable_unref(dev->io);
        dev->quiet_timer = sd_event_source_disable_unref(dev->quiet_timer);
        dev->reconnect_timer = sd_event_source_disable_unref(dev->reconnect_timer);
        serial_close(dev->port);
        if (dev->driver_ready && dev->cfg->driver->fini)
                dev->cfg->driver->fini(&dev->inst);
        free(dev->driver_state);
        free(dev);
}
