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
 *
 * Modbus devices (TRANSPORT_MODBUS) do no I/O here: their bus worker
 * (modbus_bus.c) polls and sends records; this file turns those into
 * readings (through the driver), device states and technical alarms:
 * failed_polls timeouts in a row make the device DISCONNECTED (it does not
 * answer: DEVICE_DISCONNECTED), failed_polls wrong answers in a row
 * (exception, CRC error, malformed response) raise MODBUS_ERRORS; a good
 * poll ends both.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "events.h"
#include "log.h"
#include "modbus_bus.h"
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

/* DECODE_ERRORS on the device's bed: raised by the first of the bed's
 * devices in a burst, cleared when none of them is (decode_burst.h). */
static void decode_errors_changed(Device *dev, bool on)
{
        Daemon *d = dev->daemon;
        char detail[160];

        if (!dev->bed->alarm)
                return;
        for (size_t i = 0; !on && i < d->n_devices; i++)
                if (d->devices[i] != dev && d->devices[i]->bed == dev->bed &&
                    d->devices[i]->decode_burst.on)
                        return;
        /* Short: an alarm's detail holds ALARM_DETAIL_MAX - 1 characters. */
        snprintf(detail, sizeof(detail),
                 "%s: %u damaged frames in %.0f s (%llu bad, %llu garbage bytes in all)",
                 dev->cfg->name, decode_burst_recent(&dev->decode_burst, dev->arrival_mono_ns),
                 (double)dev->decode_burst.window_ns / 1e9,
                 (unsigned long long)dev->counters[DRIVER_COUNT_FRAMES_BAD],
                 (unsigned long long)dev->counters[DRIVER_COUNT_BYTES_SKIPPED]);
        alarm_bed_technical(dev->bed->alarm, ALARM_COND_DECODE_ERRORS, ALARM_PRIO_MEDIUM, on,
                            on ? detail : NULL, now_mono_ns(), now_wall_ns());
        daemon_alarm_timer_update(d);
}

static void host_count(DriverInstance *inst, DriverCounter which, unsigned n)
{
        Device *dev = dev_of(inst);

        if ((unsigned)which >= _DRIVER_COUNT_MAX)
                return;
        dev->counters[which] += n;
        if ((which == DRIVER_COUNT_FRAMES_BAD || which == DRIVER_COUNT_BYTES_SKIPPED) &&
            decode_burst_add(&dev->decode_burst, which == DRIVER_COUNT_FRAMES_BAD ? n : 0,
                             which == DRIVER_COUNT_BYTES_SKIPPED ? n : 0, dev->arrival_mono_ns))
                decode_errors_changed(dev, true);
}

static const RegMap *host_register_map(DriverInstance *inst)
{
        return dev_of(inst)->cfg->map;
}

static const DriverHost driver_host = {
        .emit = host_emit,
        .write = host_write,
        .option = host_option,
        .log = host_log,
        .count = host_count,
        .register_map = host_register_map,
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

static void set_io_mode(Device *dev, bool edge)
{
        if (dev->io_edge == edge)
                return;
        if (sd_event_source_set_io_events(dev->io, edge ? EPOLLIN | EPOLLET : EPOLLIN) >= 0)
                dev->io_edge = edge;
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
        bool drained = false;
        while (rounds++ < 16) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n > 0) {
                        dev->bytes_in += (uint64_t)n;
                        dev->last_bytes_mono_ns = dev->arrival_mono_ns;
                        if (dev->cfg->driver->on_bytes) {
                                /* What this chunk yields goes to subscribers as one event. */
                                daemon_readings_begin(dev->daemon, dev);
                                dev->cfg->driver->on_bytes(&dev->inst, buf, (size_t)n);
                                daemon_readings_end(dev->daemon, dev);
                        }
                        if (dev->quiet_timer)
                                sd_event_source_set_time_relative(dev->quiet_timer,
                                                                  dev->cfg->driver->quiet_usec);
                        /* A short read took all there was: skip the read that
                         * would only say EAGAIN (one syscall per record at
                         * 1 Hz x 1000 beds); bytes that come after it wake
                         * the port's wait queue, hence epoll, again. */
                        if ((size_t)n < sizeof(buf)) {
                                drained = true;
                                break;
                        }
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        drained = true;
                        break;
                }
                /* 0 (hang-up) or EIO (pty master closed, USB adapter gone). */
                int err = n == 0 ? -EPIPE : -errno;
                log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, err,
                         "port %s lost: %s", dev->cfg->port,
                         n == 0 ? "hang-up" : strerror(-err));
                disconnect(dev, err);
                return 0;
        }
        /* Edge-triggered while we keep up: epoll then reports a port only
         * when new bytes arrive, instead of polling every still-readable
         * port again on each turn of the loop (with 1,000 busy ports, that
         * polling was 45 % of vitalsd's CPU).  On a tty this loses no
         * byte: a read of 4 KiB empties the line discipline's buffer
         * (N_TTY_BUF_SIZE), and whatever still waits in the port's flip
         * buffers wakes the reader, hence a new edge, as it moves in.  For
         * any other kind of port, one left with bytes unread (the 16-chunk
         * bound) is watched level-triggered until drained, so that nothing
         * can wait for an edge that never comes. */
        set_io_mode(dev, drained);
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
        r = sd_event_add_io(dev->daemon->event, &dev->io, serial_fd(dev->port),
                            EPOLLIN | EPOLLET, on_io, dev);
        dev->io_edge = true;
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

/* --- Modbus ------------------------------------------------------------ */

static void modbus_start(Device *dev)
{
        int r = -EINVAL;

        if (dev->cfg->driver->modbus_plan)
                r = dev->cfg->driver->modbus_plan(&dev->inst, &dev->plan);
        if (r >= 0)
                r = modbus_bus_attach(dev);
        if (r < 0) {
                log_full(LOG_ERR, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, r,
                         "cannot poll %s: %s", dev->cfg->port, strerror(-r));
                dev->last_error = r;
                set_state(dev, DEVICE_CONNECTING); /* so that the next line is a change */
                set_state(dev, DEVICE_DISCONNECTED);
                return;
        }
        /* The bus opens when the loop next runs: CONNECTED or DISCONNECTED
         * follows, and a failure is then a change of state (and an alarm). */
        dev->last_reading_mono_ns = now_mono_ns();
        set_state(dev, DEVICE_CONNECTING);
}

static void modbus_errors_alarm(Device *dev, bool present, const char *detail)
{
        Bed *b = dev->bed;

        if (!b || !b->alarm || !dev->daemon->alarms)
                return;
        alarm_bed_technical(b->alarm, ALARM_COND_MODBUS_ERRORS,
                            b->session_id ? ALARM_PRIO_HIGH : ALARM_PRIO_MEDIUM, present,
                            detail, now_mono_ns(), now_wall_ns());
        daemon_alarm_timer_update(dev->daemon);
        dev->modbus.errors_alarm = present;
}

static void modbus_poll_failed(Device *dev, const BusRecord *rec)
{
        char what[80], detail[ALARM_DETAIL_MAX];

        bus_record_describe(rec, what, sizeof(what));
        switch (rec->result) {
        case BUS_POLL_TIMEOUT:
                dev->modbus.timeouts++;
                break;
        case BUS_POLL_EXCEPTION:
                dev->modbus.exceptions++;
                break;
        case BUS_POLL_CRC:
                dev->modbus.crc_errors++;
                break;
        case BUS_POLL_BAD_RESPONSE:
                dev->modbus.bad_responses++;
                break;
        default:
                return; /* BUS_POLL_LINK: the DISCONNECTED record follows */
        }
        dev->counters[DRIVER_COUNT_FRAMES_BAD]++;
        snprintf(dev->modbus.last_problem, sizeof(dev->modbus.last_problem), "%s", what);

        if (rec->result == BUS_POLL_TIMEOUT) {
                if (++dev->modbus.timeouts_in_row == dev->modbus.failed_polls &&
                    dev->state != DEVICE_DISCONNECTED) {
                        log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed,
                                 -ETIMEDOUT, "no answer to %u polls in a row on %s",
                                 dev->modbus.timeouts_in_row, dev->cfg->port);
                        dev->last_error = -ETIMEDOUT;
                        set_state(dev, DEVICE_DISCONNECTED);
                }
                return;
        }
        /* It answered, wrongly: it is there, but gives us nothing. */
        dev->modbus.timeouts_in_row = 0;
        if (dev->state == DEVICE_DISCONNECTED && dev->modbus.bus_up) {
                dev->last_error = 0;
                set_state(dev, DEVICE_STALE);
        }
        if (++dev->modbus.errors_in_row == dev->modbus.failed_polls) {
                log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, 0,
                         "%u failed polls in a row on %s, the last: %s",
                         dev->modbus.errors_in_row, dev->cfg->port, what);
                snprintf(detail, sizeof(detail), "%s: %s (%u in a row)", dev->cfg->name, what,
                         dev->modbus.errors_in_row);
                modbus_errors_alarm(dev, true, detail);
        }
}

void device_on_bus_record(Device *dev, const BusRecord *rec)
{
        switch (rec->event) {
        case BUS_EV_CONNECTED:
                /* Not again and again for a device that does not answer. */
                if (dev->state != DEVICE_DISCONNECTED || dev->last_error != -ETIMEDOUT)
                        log_full(LOG_INFO, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, 0,
                                 "Modbus %s open, polling slave %s every %.1f s", dev->cfg->port,
                                 device_config_option_or_default(dev->cfg, "slave"),
                                 (double)dev->plan.interval_usec / 1e6);
                dev->modbus.bus_up = true;
                dev->modbus.timeouts_in_row = dev->modbus.errors_in_row = 0;
                dev->last_reading_mono_ns = now_mono_ns(); /* staleness counts from here */
                /* An open connection is not yet an answering device: a
                 * disconnected one stays so (its alarm and last error too)
                 * until it answers, so a device that never does cannot make
                 * the alarm flap with every reconnection. */
                if (dev->state != DEVICE_DISCONNECTED) {
                        dev->last_error = 0;
                        set_state(dev, DEVICE_CONNECTING);
                }
                break;
        case BUS_EV_DISCONNECTED:
                if (dev->modbus.bus_up) {
                        dev->modbus.disconnects++;
                        dev->reconnects++;
                }
                /* Logged when something changes, not on every retry. */
                if (rec->error != dev->last_error || dev->state != DEVICE_DISCONNECTED)
                        log_full(LOG_WARNING, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed,
                                 rec->error, "Modbus %s %s: %s", dev->cfg->port,
                                 dev->modbus.bus_up ? "lost" : "cannot be opened",
                                 strerror(-rec->error));
                dev->modbus.bus_up = false;
                dev->last_error = rec->error;
                set_state(dev, DEVICE_DISCONNECTED);
                break;
        case BUS_EV_POLL:
                if (rec->result != BUS_POLL_OK) {
                        modbus_poll_failed(dev, rec);
                        break;
                }
                dev->modbus.polls_ok++;
                dev->modbus.timeouts_in_row = dev->modbus.errors_in_row = 0;
                dev->last_error = 0;
                dev->bytes_in += (uint64_t)rec->n_regs * 2;
                dev->last_bytes_mono_ns = rec->mono_ns;
                /* The first good poll of this device also ends what an
                 * earlier configuration's device may have left raised. */
                if (dev->modbus.errors_alarm || dev->modbus.polls_ok == 1)
                        modbus_errors_alarm(dev, false, NULL);
                dev->arrival_wall_ns = rec->wall_ns;
                dev->arrival_mono_ns = rec->mono_ns;
                if (dev->cfg->driver->on_registers) {
                        /* One record's readings: one event to subscribers. */
                        daemon_readings_begin(dev->daemon, dev);
                        dev->cfg->driver->on_registers(&dev->inst, rec->regs, rec->n_regs);
                        daemon_readings_end(dev->daemon, dev);
                }
                break;
        default:
                break;
        }
}

void device_start(Device *dev)
{
        if (!dev->driver_ready)
                return;
        if (dev->cfg->driver->transport == TRANSPORT_MODBUS) {
                modbus_start(dev);
                return;
        }
        if (try_connect(dev) < 0) {
                set_state(dev, DEVICE_DISCONNECTED);
                schedule_reconnect(dev);
        }
}

void device_tick(Device *dev, int64_t now_mono_ns)
{
        uint64_t limit_usec;

        if (decode_burst_quiet(&dev->decode_burst, now_mono_ns))
                decode_errors_changed(dev, false);

        if (dev->state != DEVICE_LIVE && dev->state != DEVICE_CONNECTING)
                return;
        limit_usec = dev->min_period_usec * dev->daemon->config->stale_factor;
        if (limit_usec && now_mono_ns - dev->last_reading_mono_ns > (int64_t)limit_usec * 1000)
                set_state(dev, DEVICE_STALE);
}

/* How often this device reports each parameter, for NO_DATA_<PARAM>.  A
 * driver states its periods for its default rate, so they scale with the
 * device's actual base period (a GE S/5 with interval = 10 reports every
 * 10 s, not every 5). */
static void declare_periods(Device *dev)
{
        const ParamPeriod *pp;
        uint64_t shortest = 0;

        if (!dev->bed->alarm)
                return;
        for (pp = dev->cfg->driver->periods; pp && pp->parameter; pp++)
                if (!shortest || pp->period_usec < shortest)
                        shortest = pp->period_usec;
        for (pp = dev->cfg->driver->periods; pp && pp->parameter; pp++) {
                uint64_t period = pp->period_usec;
                if (shortest && dev->min_period_usec)
                        period = (uint64_t)((double)period * (double)dev->min_period_usec /
                                            (double)shortest);
                (void)alarm_bed_set_period(dev->bed->alarm, pp->parameter, period);
        }
        /* A Modbus device reports every parameter of its map on every poll. */
        for (size_t i = 0; dev->cfg->map && i < dev->cfg->map->n_params; i++)
                if (!dev->cfg->map->params[i].episodic)
                        (void)alarm_bed_set_period(dev->bed->alarm, dev->cfg->map->params[i].name,
                                                   dev->cfg->map->poll_usec);
}

int device_new(Daemon *d, const DeviceConfig *cfg, Device **ret)
{
        Device *dev = calloc(1, sizeof(*dev));
        int r;

        if (!dev)
                return -ENOMEM;
        dev->daemon = d;
        dev->cfg = cfg;
        /* Starts as "connecting" so that a port that cannot be opened at
         * start-up is a state change like any later loss: it raises
         * DEVICE_DISCONNECTED. */
        dev->state = DEVICE_CONNECTING;
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
        if (cfg->driver->transport == TRANSPORT_MODBUS) {
                const char *v = device_config_option_or_default(cfg, "failed_polls");
                dev->modbus.failed_polls = v ? (unsigned)strtoul(v, NULL, 10) : 3;
                if (dev->modbus.failed_polls == 0)
                        dev->modbus.failed_polls = 1;
        }
        declare_periods(dev);
        decode_burst_init(&dev->decode_burst, d->config->decode_error_burst,
                          d->config->decode_error_window_usec);
        /* A reload replaces the device: a burst its predecessor reported
         * stays on until this one has seen a quiet window. */
        if (dev->bed->alarm && alarm_bed_present(dev->bed->alarm, ALARM_COND_DECODE_ERRORS)) {
                dev->decode_burst.on = true;
                dev->decode_burst.last_damage_ns = now_mono_ns();
        }
        dev->driver_ready = true;
        *ret = dev;
        return 0;
}

void device_free(Device *dev)
{
        if (!dev)
                return;
        modbus_bus_detach(dev);
        dev->io = sd_event_source_disable_unref(dev->io);
        dev->quiet_timer = sd_event_source_disable_unref(dev->quiet_timer);
        dev->reconnect_timer = sd_event_source_disable_unref(dev->reconnect_timer);
        serial_close(dev->port);
        if (dev->driver_ready && dev->cfg->driver->fini)
                dev->cfg->driver->fini(&dev->inst);
        free(dev->driver_state);
        free(dev);
}
