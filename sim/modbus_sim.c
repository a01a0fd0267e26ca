/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_sim.c — vitals-sim speaking Modbus: a simulated serial-to-Modbus
 * gateway in front of a simulated monitor.
 *
 * Owns the server loop: a TCP listener and its clients, or an RTU slave on
 * a pty (or serial device); the register image (computed afresh for every
 * request from the map and the scenario's values at that moment); and the
 * faults (exception answers, late answers, no answers, wrong CRCs, dropped
 * connections, a line that goes down).  Framing is modbus_frame.c.
 *
 * Values: each map parameter takes the scenario value of the same name
 * (HR, PR, SPO2, NIBP_SYS/DIA/MEAN, TEMP, ETCO2, RR), converted to the
 * map's unit and encoded with its type, scale and offset.  A sensor-off
 * window sets the parameter's sensor-off bit (and writes its first
 * "invalid" value); a value the scenario does not report is written as the
 * first "invalid" value with the valid bit clear.  The sequence register of
 * an NIBP parameter counts the measurements completed so far.
 *
 * Blocking: only in poll().  Sockets and the pty are non-blocking; an
 * answer that cannot be written at once is dropped (the client times out,
 * as with a real gateway that lost it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "ge_s5.h"
#include "modbus_frame.h"
#include "modbus_sim.h"

#define CLIENTS_MAX 8
#define TICK_MSEC 50
#define RTU_SILENCE_NSEC (5ull * 1000 * 1000) /* ends an RTU frame of unknown length */
#define NSEC_PER_SEC 1000000000ull
#define IN_CAP 1024
#define OUT_CAP 300

typedef struct Conn {
        int fd; /* -1: unused */
        uint8_t in[IN_CAP];
        size_t in_len;
        uint64_t last_rx_nsec;
        /* A late answer waiting for its time; a newer request replaces it. */
        uint8_t pending[OUT_CAP];
        size_t pending_len;
        uint64_t pending_due_nsec;
} Conn;

typedef struct MSim {
        const ModbusSimConfig *c;
        uint64_t start_nsec;
        int listen_fd;
        char listen_host[64];
        unsigned port;
        Conn clients[CLIENTS_MAX];
        SimPort line;
        Conn rtu;
        bool down;
        char linked[PATH_MAX];
        size_t next_event;
        char fault_state[96];
        bool warned_bad_crc_tcp, warned_drop_rtu;
        uint64_t requests, answers, exceptions, silent, late, replaced, damaged, not_ours;
} MSim;

/* --- logging ------------------------------------------------------------ */

static void say(const MSim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const MSim *m, const char *fmt, ...)
{
        va_list ap;

        if (m->c->quiet)
                return;
        fputs("vitals-sim: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
        va_list ap;

        fputs("vitals-sim: error: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, ": %s\n", strerror(-err));
        return err;
}

static uint64_t now_nsec(void)
{
        struct timespec ts;

        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static double scenario_t(const MSim *m, uint64_t now)
{
        return (double)(now - m->start_nsec) / NSEC_PER_SEC * m->c->time_scale;
}

/* --- values -------------------------------------------------------------- */

typedef struct Source {
        const char *name;
        size_t offset; /* into GeS5Basic */
        double scale;  /* monitor units per physical unit */
} Source;

/* Where each catalogue parameter sits in the scenario's monitor view
 * (scenario.c fills a GE S/5 basic record; units as ge_s5.h states). */
static const Source sources[] = {
        {"HR", offsetof(GeS5Basic, ecg_hr), 1},
        {"PR", offsetof(GeS5Basic, spo2_pr), 1},
        {"SPO2", offsetof(GeS5Basic, spo2), 100},
        {"NIBP_SYS", offsetof(GeS5Basic, nibp_sys), 100},
        {"NIBP_DIA", offsetof(GeS5Basic, nibp_dia), 100},
        {"NIBP_MEAN", offsetof(GeS5Basic, nibp_mean), 100},
        {"TEMP", offsetof(GeS5Basic, t1), 100},
        {"ETCO2", offsetof(GeS5Basic, co2_et), 100},
        {"RR", offsetof(GeS5Basic, co2_rr), 1},
};

static const Source *source_of(const char *name)
{
        for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
                if (strcmp(sources[i].name, name) == 0)
                        return &sources[i];
        return NULL;
}

typedef struct ParamNow {
        bool have;       /* a value to show */
        bool sensor_off; /* the scenario has the sensor off */
        uint16_t regs[2];
} ParamNow;

/* The catalogue converts the map's unit to its own linearly (kPa → mm[Hg],
 * [degF] → Cel); invert that to write the map's unit. */
static double to_map_unit(const RegParam *p, double v)
{
        const char *u;
        double a, b;

        if (catalogue_normalise(p->name, p->unit, 0.0, &b, &u) < 0 ||
            catalogue_normalise(p->name, p->unit, 1.0, &a, &u) < 0 || a == b)
                return v;
        return (v - b) / (a - b);
}

static void param_now(const RegParam *p, const ScenarioSample *sample, ParamNow *ret)
{
        const Source *src = source_of(p->name);
        int16_t raw;

        memset(ret, 0, sizeof(*ret));
        if (src) {
                memcpy(&raw, (const uint8_t *)&sample->basic + src->offset, sizeof(raw));
                if (raw == GE_S5_DISCONT)
                        ret->sensor_off = true;
                else if (raw >= GE_S5_MIN_VALID &&
                         regmap_encode(p, to_map_unit(p, raw / src->scale), ret->regs) == 0)
                        ret->have = true;
        }
        if (!ret->have && p->n_sentinels > 0)
                regmap_raw_to_regs(p->type, p->word_order, p->sentinel[0], ret->regs);
}

static unsigned nibp_sequence(const Scenario *s, double t)
{
        unsigned n = 0;
        double result_s;

        for (size_t i = 0; scenario_nibp_get(s, i, NULL, &result_s) == 0; i++)
                if (result_s <= t + 1e-9)
                        n++;
        return n;
}

static void put(uint16_t *win, uint16_t address, uint16_t count, uint32_t at, uint16_t v, bool or)
{
        if (at >= address && at < (uint32_t)address + count) {
                if (or)
                        win[at - address] |= v;
                else
                        win[at - address] = v;
        }
}

/* The registers [address, address + count) of one table right now. */
static void fill(const MSim *m, const Scenario *scn, const ScenarioSample *sample, double t,
                 ModbusTable table, uint16_t address, uint16_t count, uint16_t *win)
{
        const RegMap *map = m->c->map;

        memset(win, 0, count * sizeof(*win));
        for (size_t i = 0; i < map->n_params; i++) {
                const RegParam *p = &map->params[i];
                ParamNow now;

                if (p->table != table)
                        continue;
                param_now(p, sample, &now);
                for (unsigned k = 0; k < regmap_type_words(p->type); k++)
                        put(win, address, count, (uint32_t)p->address + k, now.regs[k], false);
                if (p->valid.used && now.have && !now.sensor_off)
                        put(win, address, count, p->valid.address, p->valid.mask, true);
                if (p->sensor_off.used && now.sensor_off)
                        put(win, address, count, p->sensor_off.address, p->sensor_off.mask, true);
                if (p->sequence.used)
                        put(win, address, count, p->sequence.address,
                            (uint16_t)nibp_sequence(scn, t), false);
        }
}

/* --- answering ------------------------------------------------------------ */

static const Scenario *scenario_for(const MSim *m, uint8_t unit, bool *ret_ours)
{
        *ret_ours = true;
        if (m->c->n_slaves == 0) {
                if (m->c->rtu && unit != 1)
                        *ret_ours = false;
                return m->c->scenario;
        }
        for (size_t i = 0; i < m->c->n_slaves; i++)
                if (m->c->slaves[i].id == unit)
                        return m->c->slaves[i].scenario;
        *ret_ours = false;
        return m->c->scenario;
}

static void send_now(MSim *m, Conn *conn, const uint8_t *buf, size_t len)
{
        ssize_t n;

        do
                n = write(conn->fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)len)
                say(m, "could not write a %zu-byte answer (%s); dropped", len,
                    n < 0 ? strerror(errno) : "short write");
}

static void answer(MSim *m, Conn *conn, const MbRequest *rq, uint64_t now)
{
        const ModbusSimFaults *cli = &m->c->faults;
        uint16_t regs[MBFRAME_READ_MAX];
        uint8_t pdu[OUT_CAP], frame[OUT_CAP];
        size_t pdu_len, len;
        ScenarioSample sample;
        const Scenario *scn;
        uint8_t exception = 0;
        double t = scenario_t(m, now), delay_s;
        bool ours, bad_crc;

        m->requests++;
        scn = scenario_for(m, rq->unit, &ours);
        if (!ours && m->c->rtu) {
                m->not_ours++; /* another slave's request on a shared line */
                return;
        }
        (void)scenario_sample(scn, t, m->c->seed, &sample);
        if (cli->silence || sample.silent) {
                m->silent++;
                return;
        }
        if (!ours)
                exception = MB_EXCEPTION_GATEWAY_TARGET;
        else if (cli->exception || sample.modbus_exception)
                exception = (uint8_t)(cli->exception ? cli->exception : sample.modbus_exception);
        else if (!rq->is_read)
                exception = MB_EXCEPTION_ILLEGAL_FUNCTION;
        else if (rq->count == 0 || rq->count > MBFRAME_READ_MAX)
                exception = MB_EXCEPTION_ILLEGAL_VALUE;
        else if ((uint32_t)rq->address + rq->count > 65536)
                exception = MB_EXCEPTION_ILLEGAL_ADDRESS;
        else
                fill(m, scn, &sample, t,
                     rq->function == 0x04 ? MODBUS_TABLE_INPUT : MODBUS_TABLE_HOLDING,
                     rq->address, rq->count, regs);
        if (exception)
                m->exceptions++;

        pdu_len = mbframe_pdu(rq, regs, exception, pdu, sizeof(pdu));
        bad_crc = cli->bad_crc || sample.modbus_bad_crc;
        if (m->c->rtu) {
                len = mbframe_rtu_wrap(rq, pdu, pdu_len, bad_crc, frame, sizeof(frame));
                m->damaged += bad_crc;
        } else {
                if (bad_crc && !m->warned_bad_crc_tcp)
                        say(m, "bad-crc: Modbus TCP has no CRC; answering normally");
                m->warned_bad_crc_tcp |= bad_crc;
                len = mbframe_tcp_wrap(rq, pdu, pdu_len, frame, sizeof(frame));
        }
        if (len == 0)
                return;
        m->answers++;

        delay_s = cli->delay_s > 0 ? cli->delay_s : sample.modbus_delay_s;
        if (delay_s > 0) {
                m->late++;
                memcpy(conn->pending, frame, len);
                conn->pending_len = len;
                conn->pending_due_nsec = now + (uint64_t)(delay_s * NSEC_PER_SEC);
                return;
        }
        send_now(m, conn, frame, len);
}

static void conn_close(Conn *conn)
{
        if (conn->fd >= 0)
                close(conn->fd);
        conn->fd = -1;
        conn->in_len = conn->pending_len = 0;
}

/* Parses what conn has received; false when the connection must close. */
static bool take_requests(MSim *m, Conn *conn, uint64_t now, bool silence_seen)
{
        while (conn->in_len > 0) {
                MbRequest rq;
                ssize_t n = m->c->rtu ? mbframe_rtu_parse(conn->in, conn->in_len, silence_seen, &rq)
                                      : mbframe_tcp_parse(conn->in, conn->in_len, &rq);

                if (n == 0)
                        return true;
                if (n < 0) {
                        if (!m->c->rtu) {
                                say(m, "a request that is not Modbus TCP: closing the connection");
                                return false;
                        }
                        /* A damaged or foreign frame: a slave stays silent. */
                        conn->in_len = 0;
                        return true;
                }
                if (conn->pending_len) {
                        m->replaced++;
                        conn->pending_len = 0;
                }
                answer(m, conn, &rq, now);
                memmove(conn->in, conn->in + n, conn->in_len - (size_t)n);
                conn->in_len -= (size_t)n;
        }
        return true;
}

/* false: EOF or error, close. */
static bool conn_read(MSim *m, Conn *conn, uint64_t now)
{
        for (;;) {
                ssize_t n;

                if (conn->in_len == sizeof(conn->in))
                        conn->in_len = 0; /* nobody sends this much: drop it */
                n = read(conn->fd, conn->in + conn->in_len, sizeof(conn->in) - conn->in_len);
                if (n > 0) {
                        conn->in_len += (size_t)n;
                        conn->last_rx_nsec = now;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || (m->c->rtu && errno == EIO)))
                        break; /* EIO on a pty master: nobody has the slave open */
                return false;
        }
        return take_requests(m, conn, now, false);
}

/* --- the TCP side ---------------------------------------------------------- */

static int listen_open(MSim *m)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
        struct addrinfo *ai = NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char service[8];
        int fd, one = 1, r;

        snprintf(service, sizeof(service), "%u", m->port);
        r = getaddrinfo(m->c->listen, service, &hints, &ai);
        if (r != 0)
                return -EADDRNOTAVAIL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return r;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, CLIENTS_MAX) < 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
                r = -errno;
                close(fd);
                freeaddrinfo(ai);
                return r;
        }
        m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
        snprintf(m->listen_host, sizeof(m->listen_host), ai->ai_family == AF_INET6 ? "[%s]" : "%s",
                 m->c->listen);
        freeaddrinfo(ai);
        m->listen_fd = fd;
        return 0;
}

static void accept_clients(MSim *m)
{
        for (;;) {
                int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
                Conn *free_slot = NULL;

                if (fd < 0)
                        return;
                for (size_t i = 0; i < CLIENTS_MAX && !free_slot; i++)
                        if (m->clients[i].fd < 0)
                                free_slot = &m->clients[i];
                if (!free_slot) {
                        say(m, "more than %d clients: refusing one", CLIENTS_MAX);
                        close(fd);
                        continue;
                }
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                memset(free_slot, 0, sizeof(*free_slot));
                free_slot->fd = fd;
                say(m, "client connected");
        }
}

static void drop_clients(MSim *m, const char *why)
{
        size_t n = 0;

        for (size_t i = 0; i < CLIENTS_MAX; i++)
                if (m->clients[i].fd >= 0) {
                        conn_close(&m->clients[i]);
                        n++;
                }
        say(m, "%s: closed %zu connection%s", why, n, n == 1 ? "" : "s");
}

/* --- the RTU side ---------------------------------------------------------- */

static int line_open(MSim *m)
{
        int r = m->c->device ? sim_port_open_device(&m->line, m->c->device, &m->c->line)
                             : sim_port_open_pty(&m->line, &m->c->line);

        if (r < 0)
                return r;
        memset(&m->rtu, 0, sizeof(m->rtu));
        m->rtu.fd = m->line.fd;
        if (m->c->link) {
                r = sim_link_update(m->c->link, m->line.path);
                if (r < 0)
                        say(m, "cannot point %s at %s: %s", m->c->link, m->line.path, strerror(-r));
                else
                        snprintf(m->linked, sizeof(m->linked), "%s", m->line.path);
        }
        printf("%s\n", m->line.path);
        fflush(stdout);
        return 0;
}

/* --- the loop -------------------------------------------------------------- */

static void line_down(MSim *m)
{
        if (m->c->rtu) {
                /* The cable is out: the path goes away, as a USB adapter's
                 * would, so nobody opens a stale (or reused) pty number. */
                if (m->c->link && m->linked[0])
                        (void)sim_link_remove(m->c->link, m->linked);
                m->linked[0] = '\0';
                sim_port_close(&m->line);
                m->rtu.fd = -1;
        } else {
                drop_clients(m, "hangup");
                if (m->listen_fd >= 0)
                        close(m->listen_fd);
                m->listen_fd = -1;
        }
        m->down = true;
}

static void line_up(MSim *m)
{
        int r = m->c->rtu ? line_open(m) : listen_open(m);

        if (r < 0) {
                say(m, "cannot bring the line up again: %s (retrying)", strerror(-r));
                return;
        }
        m->down = false;
        say(m, "line up again%s%s", m->c->rtu ? " on " : "", m->c->rtu ? m->line.path : "");
}

static void describe_faults(const MSim *m, const ScenarioSample *s, char *buf, size_t size)
{
        const ModbusSimFaults *f = &m->c->faults;
        size_t n = 0;

        buf[0] = '\0';
        if (f->silence || s->silent)
                n += (size_t)snprintf(buf + n, size - n, " silent");
        if (f->exception || s->modbus_exception)
                n += (size_t)snprintf(buf + n, size - n, " exception %02u",
                                      f->exception ? f->exception : s->modbus_exception);
        if (n < size && (f->delay_s > 0 || s->modbus_delay_s > 0))
                n += (size_t)snprintf(buf + n, size - n, " %.3g s late",
                                      f->delay_s > 0 ? f->delay_s : s->modbus_delay_s);
        if (n < size && (f->bad_crc || s->modbus_bad_crc))
                snprintf(buf + n, size - n, " bad CRC");
}

static void follow_scenario(MSim *m, uint64_t now)
{
        const Scenario *s = m->c->scenario;
        double t = scenario_t(m, now);
        const ScenarioEvent *ev;
        ScenarioSample sample;
        char tb[32], faults[96];
        size_t n;

        ev = scenario_events(s, &n);
        for (; m->next_event < n && ev[m->next_event].time_s <= t + 1e-9; m->next_event++) {
                const ScenarioEvent *e = &ev[m->next_event];

                if (e->type == SCENARIO_EVENT_NOTE)
                        say(m, "%s %s", scenario_format_time(e->time_s, tb, sizeof(tb)), e->text);
                else if (e->type == SCENARIO_EVENT_DROP && !m->c->rtu && !m->down)
                        drop_clients(m, "drop");
                else if (e->type == SCENARIO_EVENT_DROP && !m->warned_drop_rtu) {
                        say(m, "drop: an RTU line has no connection to drop (use hangup)");
                        m->warned_drop_rtu = true;
                }
        }
        (void)scenario_sample(s, t, m->c->seed, &sample);
        if (sample.hangup && !m->down) {
                say(m, "%s line down (hangup)", scenario_format_time(t, tb, sizeof(tb)));
                line_down(m);
        } else if (!sample.hangup && m->down)
                line_up(m);
        describe_faults(m, &sample, faults, sizeof(faults));
        if (strcmp(faults, m->fault_state) != 0) {
                say(m, "%s %s", scenario_format_time(t, tb, sizeof(tb)),
                    faults[0] ? faults + 1 : "answering normally");
                snprintf(m->fault_state, sizeof(m->fault_state), "%s", faults);
        }
}

static void send_due(MSim *m, Conn *conn, uint64_t now, uint64_t *wake)
{
        if (conn->fd < 0 || !conn->pending_len)
                return;
        if (conn->pending_due_nsec <= now) {
                send_now(m, conn, conn->pending, conn->pending_len);
                conn->pending_len = 0;
        } else if (conn->pending_due_nsec < *wake)
                *wake = conn->pending_due_nsec;
}

static int serve(MSim *m)
{
        uint64_t end = m->c->duration_s > 0
                               ? m->start_nsec + (uint64_t)(m->c->duration_s * NSEC_PER_SEC)
                               : UINT64_MAX;

        for (;;) {
                struct pollfd fds[2 + CLIENTS_MAX];
                Conn *conns[2 + CLIENTS_MAX] = {NULL};
                uint64_t now = now_nsec(), wake = now + TICK_MSEC * 1000000ull;
                size_t nfds = 0;
                int n;

                if (now >= end) {
                        say(m, "--duration reached");
                        return 0;
                }
                follow_scenario(m, now);

                fds[nfds++] = (struct pollfd){.fd = m->c->signal_fd, .events = POLLIN};
                if (m->c->rtu) {
                        if (m->rtu.fd >= 0) {
                                send_due(m, &m->rtu, now, &wake);
                                /* A frame of unknown length ends with silence. */
                                if (m->rtu.in_len > 0) {
                                        if (now - m->rtu.last_rx_nsec >= RTU_SILENCE_NSEC)
                                                (void)take_requests(m, &m->rtu, now, true);
                                        else if (m->rtu.last_rx_nsec + RTU_SILENCE_NSEC < wake)
                                                wake = m->rtu.last_rx_nsec + RTU_SILENCE_NSEC;
                                }
                                conns[nfds] = &m->rtu;
                                fds[nfds++] = (struct pollfd){.fd = m->rtu.fd, .events = POLLIN};
                        }
                } else if (m->listen_fd >= 0) {
                        fds[nfds++] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
                        for (size_t i = 0; i < CLIENTS_MAX; i++) {
                                Conn *conn = &m->clients[i];
                                send_due(m, conn, now, &wake);
                                if (conn->fd < 0)
                                        continue;
                                conns[nfds] = conn;
                                fds[nfds++] = (struct pollfd){.fd = conn->fd, .events = POLLIN};
                        }
                }
                if (end < wake)
                        wake = end;

                n = poll(fds, nfds, wake <= now ? 0 : (int)((wake - now + 999999) / 1000000));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail(-errno, "poll");
                }
                if (fds[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(m->c->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                                say(m, "%s: exiting", strsignal((int)si.ssi_signo));
                        return 0;
                }
                now = now_nsec();
                for (size_t i = 1; i < nfds; i++) {
                        if (!fds[i].revents)
                                continue;
                        if (!conns[i]) {
                                accept_clients(m);
                                continue;
                        }
                        if (conn_read(m, conns[i], now))
                                continue;
                        if (m->c->rtu)
                                continue; /* a pty master: the daemon closed the slave */
                        say(m, "client disconnected");
                        conn_close(conns[i]);
                }
        }
}

int modbus_sim_run(const ModbusSimConfig *c)
{
        static MSim sim; /* large; zeroed */
        MSim *m = &sim;
        int r;

        m->c = c;
        m->listen_fd = -1;
        m->line = SIM_PORT_NULL;
        m->rtu.fd = -1;
        m->port = c->tcp_port;
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                m->clients[i].fd = -1;

        for (size_t i = 0; i < c->map->n_params; i++) {
                const RegParam *p = &c->map->params[i];
                if (!source_of(p->name))
                        say(m, "map %s: no scenario value for %s; it reads as %s", c->map->name,
                            p->name, p->n_sentinels ? "its first invalid value" : "0");
                else if (!p->n_sentinels && !p->valid.used && !p->sensor_off.used)
                        say(m, "map %s: %s has no invalid value, valid bit or sensor-off bit; "
                               "when the scenario does not report it, it reads as 0",
                            c->map->name, p->name);
        }

        if (c->rtu) {
                r = line_open(m);
                if (r < 0)
                        return fail(r, "opening %s", c->device ? c->device : "a pseudo-terminal");
                say(m, "Modbus RTU slave %s on %s%s%s, map %s", c->n_slaves ? "(several)" : "1",
                    m->line.path, c->link ? " via " : "", c->link ? c->link : "", c->map_path);
        } else {
                r = listen_open(m);
                if (r < 0)
                        return fail(r, "listening on %s:%u", c->listen, c->tcp_port);
                printf("tcp://%s:%u\n", m->listen_host, m->port);
                fflush(stdout);
                say(m, "Modbus TCP server on %s:%u, map %s", m->listen_host, m->port,
                    c->map_path);
        }
        m->start_nsec = now_nsec();
        r = serve(m);

        say(m, "%" PRIu64 " requests: %" PRIu64 " answered (%" PRIu64 " exceptions, %" PRIu64
               " late, %" PRIu64 " replaced by a newer request, %" PRIu64 " with a bad CRC), %" PRIu64
               " unanswered, %" PRIu64 " for other slaves",
            m->requests, m->answers, m->exceptions, m->late, m->replaced, m->damaged, m->silent,
            m->not_ours);
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                conn_close(&m->clients[i]);
        if (m->listen_fd >= 0)
                close(m->listen_fd);
        if (c->link && m->linked[0])
                (void)sim_link_remove(c->link, m->linked);
        sim_port_close(&m->line);
        return r;
}
