/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_bus.c — a Modbus bus (RTU line or TCP endpoint) and its worker.
 *
 * Main side (the event loop): devices attach to the bus of their port; a
 * defer source starts the worker once every device of the configuration
 * has joined; BusRecords from the worker's pipe go to device.c
 * (device_on_bus_record).  Nothing on this side blocks.
 *
 * Worker side (its own thread): owns the libmodbus context and a private
 * copy of the bus and device settings — it never touches the daemon's
 * memory, so a configuration reload can drop the bus while a read is still
 * blocked.  It opens the line or connection (reporting CONNECTED or
 * DISCONNECTED), then polls its devices in turn, each at its map's
 * interval, reading the blocks of the device's plan and sending one
 * BUS_EV_POLL record per poll.  Errors:
 *
 *   - a timeout, an exception response, a CRC error or a response that
 *     does not fit: counted by the loop; the worker flushes the line before
 *     the next request so a late answer cannot pass for the next one.  A
 *     device that stops answering (failed_polls timeouts in a row) is
 *     polled with back-off (reconnect_min doubling to reconnect_max) so it
 *     does not hold up the other devices of an RTU line;
 *   - a broken connection (TCP reset or closed, serial line gone), or no
 *     device on the bus answering any more (each at failed_polls timeouts
 *     in a row: a half-open connection, a wedged gateway, an adapter that
 *     came back under the same name): the context is closed, DISCONNECTED
 *     is reported, and the worker reopens with back-off (reconnect_min
 *     doubling to reconnect_max).
 *
 * The worker stops when the stop pipe's write end closes (or when the loop
 * stops reading records: EPIPE).  Protocol facts: MODBUS Application
 * Protocol Specification V1.1b3 §7 (exception codes).
 */
#include <errno.h>
#include <fcntl.h>
#include <modbus.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "modbus_bus.h"
#include "timefmt.h"

#define BUS_DEVICES_MAX 32
#define RECORDS_PER_WAKEUP 64

/* --- the worker's private copy ------------------------------------------ */

typedef struct WorkerDevice {
        int slave;
        uint32_t response_timeout_ms, byte_timeout_ms;
        unsigned failed_polls;
        ModbusPlan plan;
        int64_t next_due_ns;
        unsigned timeouts_in_row;
        uint64_t backoff_usec;
} WorkerDevice;

typedef struct Worker {
        char *path; /* RTU line; NULL for TCP */
        char *tcp_host;
        char tcp_service[8];
        LineSettings line;
        uint64_t reconnect_min_usec, reconnect_max_usec;
        WorkerDevice devices[BUS_DEVICES_MAX];
        size_t n_devices;
        int record_fd; /* write end */
        int stop_fd;   /* read end: EOF means stop */
        BusRecord rec;
} Worker;

struct ModbusBus {
        Daemon *daemon;
        char *port; /* as configured: the bus's identity */
        Device *slots[BUS_DEVICES_MAX];
        size_t n_slots, n_attached;
        int record_fd; /* read end */
        int stop_fd;   /* write end */
        sd_event_source *io, *starter;
        Worker *worker; /* until the thread takes it */
        BusRecord rec;
};

static void worker_free(Worker *w)
{
        if (!w)
                return;
        if (w->record_fd >= 0)
                close(w->record_fd);
        if (w->stop_fd >= 0)
                close(w->stop_fd);
        free(w->path);
        free(w->tcp_host);
        free(w);
}

static int64_t mono_ns(void)
{
        return now_mono_ns();
}

/* Sleeps up to timeout_ns; true when the loop asked the worker to stop. */
static bool worker_wait(Worker *w, int64_t timeout_ns)
{
        struct pollfd pfd = {.fd = w->stop_fd, .events = POLLIN};
        int ms = timeout_ns <= 0 ? 0 : (int)((timeout_ns + 999999) / 1000000);
        int r;

        do
                r = poll(&pfd, 1, ms);
        while (r < 0 && errno == EINTR);
        return r > 0;
}

/* false when the loop no longer reads (EPIPE): stop. */
static bool worker_send(Worker *w)
{
        ssize_t n;

        do
                n = write(w->record_fd, &w->rec, sizeof(w->rec));
        while (n < 0 && errno == EINTR);
        return n == (ssize_t)sizeof(w->rec);
}

static bool send_event(Worker *w, BusEvent ev, int error)
{
        memset(&w->rec, 0, offsetof(BusRecord, regs));
        w->rec.event = (uint16_t)ev;
        w->rec.error = error;
        w->rec.wall_ns = now_wall_ns();
        w->rec.mono_ns = mono_ns();
        return worker_send(w);
}

static char parity_char(LineParity p)
{
        return p == PARITY_EVEN ? 'E' : p == PARITY_ODD ? 'O' : 'N';
}

static modbus_t *worker_context(Worker *w)
{
        if (w->path)
                return modbus_new_rtu(w->path, w->line.baud, parity_char(w->line.parity),
                                      w->line.data_bits, w->line.stop_bits);
        return modbus_new_tcp_pi(w->tcp_host, w->tcp_service);
}

static void set_timeouts(modbus_t *ctx, const WorkerDevice *dev)
{
        modbus_set_response_timeout(ctx, dev->response_timeout_ms / 1000,
                                    (dev->response_timeout_ms % 1000) * 1000);
        modbus_set_byte_timeout(ctx, dev->byte_timeout_ms / 1000,
                                (dev->byte_timeout_ms % 1000) * 1000);
}

static BusPollResult classify(int err, uint16_t *ret_exception)
{
        if (err > MODBUS_ENOBASE && err <= EMBXGTAR) {
                *ret_exception = (uint16_t)(err - MODBUS_ENOBASE);
                return BUS_POLL_EXCEPTION;
        }
        switch (err) {
        case ETIMEDOUT:
                return BUS_POLL_TIMEOUT;
        case EMBBADCRC:
                return BUS_POLL_CRC;
        case EMBBADDATA:
        case EMBBADEXC:
        case EMBUNKEXC:
        case EMBMDATA:
        case EMBBADSLAVE:
        case EINVAL:
        case EMSGSIZE:
                return BUS_POLL_BAD_RESPONSE;
        default:
                /* ECONNRESET (peer closed), EPIPE, EBADF, EIO (a pty or USB
                 * adapter gone), ENXIO, ECONNREFUSED, ... */
                return BUS_POLL_LINK;
        }
}

/* One poll of one device; the record is left in w->rec. */
static BusPollResult worker_poll(Worker *w, modbus_t *ctx, WorkerDevice *dev, bool flush_first)
{
        BusRecord *rec = &w->rec;
        size_t off = 0;

        memset(rec, 0, offsetof(BusRecord, regs));
        rec->event = BUS_EV_POLL;
        modbus_set_slave(ctx, dev->slave);
        set_timeouts(ctx, dev);
        if (flush_first)
                (void)modbus_flush(ctx);
        for (size_t i = 0; i < dev->plan.n_blocks; i++) {
                const ModbusBlock *b = &dev->plan.blocks[i];
                int n;

                if (off + b->count > MODBUS_PLAN_REGS_MAX)
                        break;
                n = b->table == MODBUS_TABLE_INPUT
                            ? modbus_read_input_registers(ctx, b->address, b->count,
                                                          rec->regs + off)
                            : modbus_read_registers(ctx, b->address, b->count, rec->regs + off);
                if (n != b->count) {
                        int err = n < 0 ? errno : EMBBADDATA;
                        rec->error = err;
                        rec->result = (uint16_t)classify(err, &rec->exception);
                        break;
                }
                off += b->count;
        }
        rec->n_regs = rec->result == BUS_POLL_OK ? (uint32_t)off : 0;
        rec->wall_ns = now_wall_ns();
        rec->mono_ns = mono_ns();
        return (BusPollResult)rec->result;
}

static uint64_t next_backoff(const Worker *w, uint64_t cur)
{
        uint64_t b = cur ? cur * 2 : w->reconnect_min_usec;

        return b > w->reconnect_max_usec ? w->reconnect_max_usec : b;
}

static bool all_silent(const Worker *w)
{
        for (size_t i = 0; i < w->n_devices; i++)
                if (w->devices[i].timeouts_in_row < w->devices[i].failed_polls)
                        return false;
        return true;
}

static void *worker_main(void *userdata)
{
        Worker *w = userdata;
        modbus_t *ctx = NULL;
        uint64_t backoff_usec = 0;
        bool flush_next = false;

        for (;;) {
                WorkerDevice *dev = NULL;
                int64_t now;

                if (!ctx) {
                        ctx = worker_context(w);
                        if (ctx)
                                set_timeouts(ctx, &w->devices[0]);
                        if (!ctx || modbus_connect(ctx) < 0) {
                                int err = errno ? -errno : -EIO;
                                if (ctx)
                                        modbus_free(ctx);
                                ctx = NULL;
                                if (!send_event(w, BUS_EV_DISCONNECTED, err))
                                        break;
                                backoff_usec = next_backoff(w, backoff_usec);
                                if (worker_wait(w, (int64_t)backoff_usec * 1000))
                                        break;
                                continue;
                        }
                        flush_next = true; /* whatever sat in the line's buffers */
                        now = mono_ns();
                        for (size_t i = 0; i < w->n_devices; i++) {
                                w->devices[i].next_due_ns = now;
                                w->devices[i].timeouts_in_row = 0;
                                w->devices[i].backoff_usec = 0;
                        }
                        if (!send_event(w, BUS_EV_CONNECTED, 0))
                                break;
                }

                /* The device due first; devices of one line take turns. */
                for (size_t i = 0; i < w->n_devices; i++)
                        if (!dev || w->devices[i].next_due_ns < dev->next_due_ns)
                                dev = &w->devices[i];
                now = mono_ns();
                if (dev->next_due_ns > now) {
                        if (worker_wait(w, dev->next_due_ns - now))
                                break;
                        continue;
                }
                if (worker_wait(w, 0))
                        break;

                BusPollResult res = worker_poll(w, ctx, dev, flush_next);
                w->rec.slot = (uint16_t)(dev - w->devices);
                if (!worker_send(w))
                        break;
                flush_next = res != BUS_POLL_OK;

                now = mono_ns();
                dev->next_due_ns += (int64_t)dev->plan.interval_usec * 1000;
                if (dev->next_due_ns < now) /* fell behind: no burst to catch up */
                        dev->next_due_ns = now;
                if (res == BUS_POLL_TIMEOUT) {
                        if (++dev->timeouts_in_row >= dev->failed_polls) {
                                dev->backoff_usec = next_backoff(w, dev->backoff_usec);
                                if (dev->backoff_usec > dev->plan.interval_usec)
                                        dev->next_due_ns = now + (int64_t)dev->backoff_usec * 1000;
                        }
                } else {
                        dev->timeouts_in_row = 0;
                        dev->backoff_usec = 0;
                }
                /* The bus's back-off ends with an answer, not with an open
                 * connection: one that opens but never answers backs off. */
                if (res != BUS_POLL_TIMEOUT && res != BUS_POLL_LINK)
                        backoff_usec = 0;
                /* When no device on the bus answers any more, the line or
                 * connection itself is suspect (a half-open TCP connection,
                 * a wedged gateway, a serial adapter that came back under
                 * the same name): start afresh. */
                if (res == BUS_POLL_LINK || (res == BUS_POLL_TIMEOUT && all_silent(w))) {
                        int err = res == BUS_POLL_TIMEOUT ? -ETIMEDOUT
                                  : w->rec.error > 0 && w->rec.error < MODBUS_ENOBASE
                                          ? -w->rec.error
                                          : -ECONNRESET;
                        /* libmodbus says ECONNRESET for a read of 0 bytes; on
                         * a serial line that is a hang-up, as for serial.c. */
                        if (w->path && err == -ECONNRESET)
                                err = -EPIPE;
                        modbus_close(ctx);
                        modbus_free(ctx);
                        ctx = NULL;
                        if (!send_event(w, BUS_EV_DISCONNECTED, err))
                                break;
                        backoff_usec = next_backoff(w, backoff_usec);
                        if (worker_wait(w, (int64_t)backoff_usec * 1000))
                                break;
                }
        }
        if (ctx) {
                modbus_close(ctx);
                modbus_free(ctx);
        }
        worker_free(w);
        return NULL;
}

/* --- the loop's side ----------------------------------------------------- */

static void bus_free(ModbusBus *b)
{
        b->io = sd_event_source_disable_unref(b->io);
        b->starter = sd_event_source_disable_unref(b->starter);
        if (b->stop_fd >= 0)
                close(b->stop_fd); /* the worker sees EOF and exits */
        if (b->record_fd >= 0)
                close(b->record_fd);
        worker_free(b->worker); /* never started */
        free(b->port);
        free(b);
}

static int on_records(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        ModbusBus *b = userdata;

        for (int i = 0; i < RECORDS_PER_WAKEUP; i++) {
                ssize_t n = read(fd, &b->rec, sizeof(b->rec));

                if (n == (ssize_t)sizeof(b->rec)) {
                        Device *dev;
                        if (b->rec.event == BUS_EV_POLL) {
                                dev = b->rec.slot < b->n_slots ? b->slots[b->rec.slot] : NULL;
                                if (dev)
                                        device_on_bus_record(dev, &b->rec);
                                continue;
                        }
                        for (size_t k = 0; k < b->n_slots; k++)
                                if (b->slots[k])
                                        device_on_bus_record(b->slots[k], &b->rec);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                /* EOF: the worker is gone without being asked (out of
                 * memory): its devices cannot recover until a reload. */
                log_full(LOG_CRIT, MSGID_DEVICE_STATE, NULL, NULL, n < 0 ? -errno : -EPIPE,
                         "Modbus worker for %s stopped; its devices stay disconnected", b->port);
                b->io = sd_event_source_disable_unref(b->io);
                memset(&b->rec, 0, sizeof(b->rec));
                b->rec.event = BUS_EV_DISCONNECTED;
                b->rec.error = -EPIPE;
                for (size_t k = 0; k < b->n_slots; k++)
                        if (b->slots[k])
                                device_on_bus_record(b->slots[k], &b->rec);
                return 0;
        }
        return 0;
}

static int on_start(sd_event_source *s, void *userdata)
{
        ModbusBus *b = userdata;
        pthread_attr_t attr;
        pthread_t thread;
        int r;

        b->starter = sd_event_source_disable_unref(b->starter);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&thread, &attr, worker_main, b->worker);
        pthread_attr_destroy(&attr);
        if (r < 0) {
                log_error_errno(r, "%s: cannot start the Modbus worker: %m", b->port);
                return 0;
        }
        b->worker = NULL; /* the thread owns it now */
        return 0;
}

static int bus_new(Device *dev, ModbusBus **ret)
{
        const DeviceConfig *cfg = dev->cfg;
        const Config *c = dev->daemon->config;
        int records[2] = {-1, -1}, stop[2] = {-1, -1};
        ModbusBus *b;
        Worker *w;
        int r;

        b = calloc(1, sizeof(*b));
        w = calloc(1, sizeof(*w));
        if (!b || !w) {
                free(b);
                free(w);
                return -ENOMEM;
        }
        b->daemon = dev->daemon;
        b->record_fd = b->stop_fd = -1;
        w->record_fd = w->stop_fd = -1;
        b->worker = w;
        b->port = strdup(cfg->port);
        w->line = cfg->line;
        w->reconnect_min_usec = c->reconnect_min_usec;
        w->reconnect_max_usec = c->reconnect_max_usec;
        if (cfg->tcp_host) {
                w->tcp_host = strdup(cfg->tcp_host);
                snprintf(w->tcp_service, sizeof(w->tcp_service), "%u", cfg->tcp_port);
        } else
                w->path = strdup(cfg->port);
        if (!b->port || (!w->tcp_host && !w->path)) {
                r = -ENOMEM;
                goto fail;
        }
        if (pipe2(records, O_CLOEXEC) < 0 || pipe2(stop, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        b->record_fd = records[0];
        w->record_fd = records[1];
        w->stop_fd = stop[0];
        b->stop_fd = stop[1];
        records[0] = records[1] = stop[0] = stop[1] = -1;
        r = fcntl(b->record_fd, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
        if (r == 0)
                r = sd_event_add_io(dev->daemon->event, &b->io, b->record_fd, EPOLLIN, on_records, b);
        if (r == 0)
                r = sd_event_add_defer(dev->daemon->event, &b->starter, on_start, b);
        if (r < 0)
                goto fail;
        *ret = b;
        return 0;
fail:
        for (int i = 0; i < 2; i++) {
                if (records[i] >= 0)
                        close(records[i]);
                if (stop[i] >= 0)
                        close(stop[i]);
        }
        bus_free(b);
        return r;
}

static unsigned option_uint(const DeviceConfig *cfg, const char *key)
{
        const char *v = device_config_option_or_default(cfg, key);

        return v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

int modbus_bus_attach(Device *dev)
{
        ModbusBus *b = NULL;
        WorkerDevice *wd;
        int r;

        /* Devices of one configuration on the same port share its bus. */
        for (size_t i = 0; i < dev->daemon->n_devices && !b; i++) {
                Device *o = dev->daemon->devices[i];
                if (o != dev && o->bus && strcmp(o->cfg->port, dev->cfg->port) == 0)
                        b = o->bus;
        }
        if (b && (!b->worker || b->n_slots == BUS_DEVICES_MAX)) {
                log_full(LOG_ERR, MSGID_DEVICE_STATE, dev->cfg->name, dev->cfg->bed, -EBUSY,
                         "cannot join the Modbus bus on %s (%s)", dev->cfg->port,
                         b->worker ? "more than 32 devices" : "already polling");
                return -EBUSY;
        }
        if (!b) {
                r = bus_new(dev, &b);
                if (r < 0)
                        return r;
        }
        wd = &b->worker->devices[b->worker->n_devices++];
        *wd = (WorkerDevice){
                .slave = (int)option_uint(dev->cfg, "slave"),
                .response_timeout_ms = option_uint(dev->cfg, "response_timeout_ms"),
                .byte_timeout_ms = option_uint(dev->cfg, "byte_timeout_ms"),
                .failed_polls = option_uint(dev->cfg, "failed_polls"),
                .plan = dev->plan,
        };
        dev->bus = b;
        dev->bus_slot = (unsigned)b->n_slots;
        b->slots[b->n_slots++] = dev;
        b->n_attached++;
        return 0;
}

void modbus_bus_detach(Device *dev)
{
        ModbusBus *b = dev->bus;

        if (!b)
                return;
        if (dev->bus_slot < b->n_slots)
                b->slots[dev->bus_slot] = NULL;
        dev->bus = NULL;
        if (--b->n_attached == 0)
                bus_free(b);
}

const char *bus_poll_result_to_string(BusPollResult r)
{
        static const char *const names[_BUS_POLL_RESULT_MAX] = {
                [BUS_POLL_OK] = "ok",
                [BUS_POLL_TIMEOUT] = "timeout",
                [BUS_POLL_EXCEPTION] = "exception",
                [BUS_POLL_CRC] = "CRC error",
                [BUS_POLL_BAD_RESPONSE] = "bad response",
                [BUS_POLL_LINK] = "connection lost",
        };
        return (unsigned)r < _BUS_POLL_RESULT_MAX ? names[r] : "unknown";
}

const char *bus_record_describe(const BusRecord *rec, char *buf, size_t size)
{
        if (rec->result == BUS_POLL_EXCEPTION)
                snprintf(buf, size, "exception %02u (%s)", rec->exception,
                         modbus_strerror(rec->error));
        else if (rec->result == BUS_POLL_BAD_RESPONSE)
                snprintf(buf, size, "bad response (%s)", modbus_strerror(rec->error));
        else
                snprintf(buf, size, "%s", bus_poll_result_to_string((BusPollResult)rec->result));
        return buf;
}
