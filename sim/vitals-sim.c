/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vitals-sim.c — a bedside-monitor simulator for rehearsal and testing.
 *
 * Owns the command line, the event loop and the wire behaviour: it plays a
 * scenario (scenario.c) as GE S/5 DISPL records built by the codec in
 * drivers/ge_s5.c, or replays a raw capture byte for byte, on a pty it
 * creates (pty.c) or on a serial device.  With --protocol modbus-tcp or
 * modbus-rtu it hands over to modbus_sim.c, a Modbus server serving a
 * register map filled from the scenario.  It reads what the host sends (the
 * DISPL request) without ever blocking on it.
 *
 * Blocking: only in poll().  Writes are non-blocking and queued; when the
 * reader stops reading, the queue fills and the simulator waits, as a
 * monitor held by RTS/CTS would, and skips the records it could not send.
 * Signals (SIGTERM, SIGINT, SIGHUP) arrive through a signalfd and end the
 * program with status 0 at once.
 *
 * Failure: setup errors (bad options, unreadable scenario, no pty) exit 1
 * with a message; I/O errors later are logged and the simulator carries on.
 *
 * Not a medical device: nothing here is fit to show real patients' data.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ge_s5.h"
#include "modbus_sim.h"
#include "pty.h"
#include "regmap_conf.h"
#include "scenario.h"

#ifndef SIM_SCENARIO_SOURCE_DIR
#define SIM_SCENARIO_SOURCE_DIR ""
#endif
#ifndef SIM_MAP_SOURCE_DIR
#define SIM_MAP_SOURCE_DIR ""
#endif

#define SCENARIO_FILE_MAX (1024 * 1024)
#define REPLAY_FILE_MAX (256 * 1024 * 1024)
#define REPLAY_CHUNK 4096
#define REPLAY_PAUSE_NSEC (1000 * 1000)
#define OUT_CAP (128 * 1024)
#define FRAME_CAP GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)
#define GARBAGE_CHUNK 4096
#define TICK_MAX_MSEC 50
#define BACKLOG_REAL_S 2.0 /* records more than this late are skipped, not sent */
#define REOPEN_RETRY_NSEC (1000ull * 1000 * 1000)
#define DRAIN_CHECKS 5 /* consecutive empty checks that mean "the reader has it all" */
#define DRAIN_CHECK_NSEC (20ull * 1000 * 1000)
#define NSEC_PER_SEC 1000000000ull

/* --- Logging ------------------------------------------------------------------ */

static bool arg_quiet;

static void log_line(const char *level, const char *fmt, va_list ap)
{
        fprintf(stderr, "vitals-sim: %s", level);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

static void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_info(const char *fmt, ...)
{
        va_list ap;

        if (arg_quiet)
                return;
        va_start(ap, fmt);
        log_line("", fmt, ap);
        va_end(ap);
}

static void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_warning(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        log_line("warning: ", fmt, ap);
        va_end(ap);
}

/* Always printed; returns -abs(err) so callers can `return log_error_errno(r, ...)`. */
static int log_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int log_error_errno(int err, const char *fmt, ...)
{
        va_list ap;
        char msg[1024];

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (err != 0)
                fprintf(stderr, "vitals-sim: error: %s: %s\n", msg, strerror(abs(err)));
        else
                fprintf(stderr, "vitals-sim: error: %s\n", msg);
        return err != 0 ? -abs(err) : -EINVAL;
}

/* --- Options --------------------------------------------------------------------- */

typedef struct Options {
        const char *protocol;
        const char *scenario;
        const char *replay;
        const char *port;
        const char *link;
        double time_scale;
        bool time_scale_set;
        unsigned baud;
        uint64_t seed;
        double duration_s;
        bool wait_request;
        bool exit_at_end;
        /* --protocol modbus-tcp / modbus-rtu */
        bool modbus, rtu;
        const char *map;
        const char *slaves[MODBUS_SIM_SLAVES_MAX]; /* "ID" or "ID:SCENARIO" */
        size_t n_slaves;
        const char *listen;
        unsigned tcp_port;
        const char *parity;
        ModbusSimFaults faults;
} Options;

static void help(void)
{
        printf(
            "Usage: vitals-sim --protocol ge-s5 (--scenario NAME|FILE | --replay FILE) [OPTIONS]\n"
            "       vitals-sim --protocol modbus-tcp|modbus-rtu --map NAME|FILE --scenario NAME|FILE\n"
            "                  [OPTIONS]\n"
            "\n"
            "A bedside-monitor simulator for rehearsing and testing a vitals-logger setup.\n"
            "It is NOT a medical device: its numbers are made up or replayed, never a\n"
            "patient's.  Never connect it where a real monitor is expected in care.\n"
            "\n"
            "It speaks the monitor's protocol byte for byte on a pseudo-terminal (printing the\n"
            "path as the first line on stdout) or on a serial port, and reads and logs the\n"
            "host's requests without blocking on them.\n"
            "\n"
            "Options:\n"
            "  --protocol NAME     protocol to speak: ge-s5 (the default; GE/Datex-Ohmeda S/5),\n"
            "                      modbus-tcp or modbus-rtu (a serial-to-Modbus gateway)\n"
            "  --scenario NAME|FILE\n"
            "                      play a scenario: a FILE (a path with '/' or ending .scn),\n"
            "                      or NAME.scn from $VITALS_SIM_SCENARIOS, then\n"
            "                      %s, then the source tree\n"
            "  --replay FILE       send a raw capture byte for byte (4 KiB chunks, 1 ms apart;\n"
            "                      with --time-scale, paced by the records' own times), print\n"
            "                      \"replay done\" on stderr once the reader has it all\n"
            "  --time-scale X      scenario time runs X times faster than real time (default 1)\n"
            "  --port PATH         use this serial device (or pty slave) instead of a new pty\n"
            "  --baud N            line speed (default: the protocol's, 19200 for ge-s5)\n"
            "  --link PATH         keep PATH a symlink to the current pty; a scenario 'hangup'\n"
            "                      removes PATH, re-creates the pty and points PATH at it\n"
            "                      again, so point the daemon at PATH\n"
            "  --seed N            seed for noise and garbage bytes (default 1)\n"
            "  --duration SECONDS  exit after this many real seconds (default 0: run until\n"
            "                      killed; after the scenario's end the last values repeat)\n"
            "  --exit-at-end       exit once the scenario has ended and the reader has read\n"
            "                      everything\n"
            "  --wait-request      send nothing until the host's DISPL request arrives; the\n"
            "                      scenario clock (or the replay) starts then (as\n"
            "                      'require-request yes'); use it when the reader flushes its\n"
            "                      input on open\n"
            "  --list-scenarios    list the scenarios found and exit\n"
            "  -q, --quiet         log errors only\n"
            "  -h, --help          this text\n"
            "      --version       print the version\n"
            "\n"
            "Modbus (--protocol modbus-tcp | modbus-rtu):\n"
            "  --map NAME|FILE     the register map to serve: a FILE (a path with '/' or ending\n"
            "                      .conf), or NAME.conf from $VITALS_SIM_MAPS, then\n"
            "                      %s, then the source tree; values\n"
            "                      come from the scenario (HR, PR, SPO2, NIBP_*, TEMP, ETCO2, RR)\n"
            "  --slave ID[:SCENARIO]\n"
            "                      answer this RTU slave address / TCP unit id (repeatable),\n"
            "                      optionally with its own scenario; default: RTU slave 1,\n"
            "                      TCP any unit id (others get exception 0B)\n"
            "  --listen ADDR       TCP: listen on this numeric address (default 127.0.0.1)\n"
            "  --tcp-port N        TCP: this port (default 0: a free one); the first line on\n"
            "                      stdout is tcp://ADDR:PORT\n"
            "  --parity P          RTU: none, even (the default) or odd; --baud default 19200\n"
            "  --fault SPEC        a fault for the whole run (repeatable): exception:CODE\n"
            "                      (answer with that exception), delay:SECONDS (answer late;\n"
            "                      real seconds; a newer request replaces a pending answer),\n"
            "                      silence (never answer), bad-crc (RTU: wrong CRCs).\n"
            "                      Scenario lines do the same for a while: 'at 1:00 exception 2\n"
            "                      for 0:20', 'delay 2', 'bad-crc', 'silence', 'drop' (close\n"
            "                      TCP connections), 'hangup for 0:10' (line or listener down)\n"
            "\n"
            "Cable pulls: a scenario's 'hangup' closes the pty (the reader sees a hang-up),\n"
            "waits, then opens a new pty whose path is printed as a further line on stdout\n"
            "and, with --link, swapped in behind PATH (gone while the line is down).  On a\n"
            "--port device it closes and re-opens the device.\n"
            "\n"
            "Scenario syntax: sim/scenarios/README.md.  SIGTERM or SIGINT exit with status 0.\n",
            VITALS_DATADIR "/scenarios", VITALS_SYSCONFDIR "/modbus");
}

enum {
        ARG_PROTOCOL = 0x100,
        ARG_TIME_SCALE,
        ARG_PORT,
        ARG_BAUD,
        ARG_LINK,
        ARG_SEED,
        ARG_DURATION,
        ARG_EXIT_AT_END,
        ARG_WAIT_REQUEST,
        ARG_LIST,
        ARG_VERSION,
        ARG_MAP,
        ARG_SLAVE,
        ARG_LISTEN,
        ARG_TCP_PORT,
        ARG_PARITY,
        ARG_FAULT,
};



static int parse_double(const char *s, double *ret)
{
        char *end = NULL;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* --fault exception:CODE | delay:SECONDS | silence | bad-crc */
static int parse_fault(const char *spec, ModbusSimFaults *f)
{
        char *end = NULL;

        if (strncmp(spec, "exception:", 10) == 0) {
                unsigned long v;

                errno = 0;
                v = strtoul(spec + 10, &end, 0);
                if (errno || *end || v == 0 || v > 255)
                        return -EINVAL;
                f->exception = (unsigned)v;
        } else if (strncmp(spec, "delay:", 6) == 0) {
                double v;

                if (parse_double(spec + 6, &v) < 0 || v <= 0 || v > 60)
                        return -EINVAL;
                f->delay_s = v;
        } else if (strcmp(spec, "silence") == 0)
                f->silence = true;
        else if (strcmp(spec, "bad-crc") == 0)
                f->bad_crc = true;
        else
                return -EINVAL;
        return 0;
}

static int list_scenarios(void);

/* 1: continue, 0: exit 0 (help, version), <0: exit 1. */
static int parse_argv(int argc, char *argv[], Options *o)
{
        static const struct option options[] = {
            {"protocol", required_argument, NULL, ARG_PROTOCOL},
            {"scenario", required_argument, NULL, 's'},
            {"replay", required_argument, NULL, 'r'},
            {"time-scale", required_argument, NULL, ARG_TIME_SCALE},
            {"port", required_argument, NULL, ARG_PORT},
            {"baud", required_argument, NULL, ARG_BAUD},
            {"link", required_argument, NULL, ARG_LINK},
            {"seed", required_argument, NULL, ARG_SEED},
            {"duration", required_argument, NULL, ARG_DURATION},
            {"exit-at-end", no_argument, NULL, ARG_EXIT_AT_END},
            {"wait-request", no_argument, NULL, ARG_WAIT_REQUEST},
            {"list-scenarios", no_argument, NULL, ARG_LIST},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {"map", required_argument, NULL, ARG_MAP},
            {"slave", required_argument, NULL, ARG_SLAVE},
            {"listen", required_argument, NULL, ARG_LISTEN},
            {"tcp-port", required_argument, NULL, ARG_TCP_PORT},
            {"parity", required_argument, NULL, ARG_PARITY},
            {"fault", required_argument, NULL, ARG_FAULT},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "s:r:qh", options, NULL)) >= 0) {
                switch (c) {
                case ARG_PROTOCOL:
                        o->protocol = optarg;
                        break;
                case 's':
                        o->scenario = optarg;
                        break;
                case 'r':
                        o->replay = optarg;
                        break;
                case ARG_TIME_SCALE:
                        if (parse_double(optarg, &o->time_scale) < 0 || o->time_scale <= 0 ||
                            o->time_scale > 100000)
                                return log_error_errno(0,
                                                       "--time-scale: '%s' is not a number "
                                                       "between 0 and 100000",
                                                       optarg);
                        o->time_scale_set = true;
                        break;
                case ARG_PORT:
                        o->port = optarg;
                        break;
                case ARG_BAUD: {
                        unsigned speed;
                        char *end = NULL;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || v > UINT_MAX ||
                            sim_baud_to_speed((unsigned)v, &speed) < 0)
                                return log_error_errno(0, "--baud: '%s' is not a supported rate",
                                                       optarg);
                        o->baud = (unsigned)v;
                        break;
                }
                case ARG_LINK:
                        o->link = optarg;
                        break;
                case ARG_SEED: {
                        char *end = NULL;

                        errno = 0;
                        o->seed = strtoull(optarg, &end, 0);
                        if (errno != 0 || end == optarg || *end != '\0')
                                return log_error_errno(0, "--seed: '%s' is not a number", optarg);
                        break;
                }
                case ARG_DURATION:
                        if (parse_double(optarg, &o->duration_s) < 0 || o->duration_s < 0)
                                return log_error_errno(0,
                                                       "--duration: '%s' is not a number of "
                                                       "seconds",
                                                       optarg);
                        break;
                case ARG_EXIT_AT_END:
                        o->exit_at_end = true;
                        break;
                case ARG_WAIT_REQUEST:
                        o->wait_request = true;
                        break;
                case ARG_LIST:
                        return list_scenarios() < 0 ? -EINVAL : 0;
                case 'q':
                        arg_quiet = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vitals-sim %s\n", VITALS_VERSION);
                        return 0;
                case ARG_MAP:
                        o->map = optarg;
                        break;
                case ARG_SLAVE:
                        if (o->n_slaves == MODBUS_SIM_SLAVES_MAX)
                                return log_error_errno(0, "--slave: at most %d",
                                                       MODBUS_SIM_SLAVES_MAX);
                        o->slaves[o->n_slaves++] = optarg;
                        break;
                case ARG_LISTEN:
                        o->listen = optarg;
                        break;
                case ARG_TCP_PORT: {
                        char *end = NULL;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno || *end || v > 65535)
                                return log_error_errno(0, "--tcp-port: '%s' is not 0..65535",
                                                       optarg);
                        o->tcp_port = (unsigned)v;
                        break;
                }
                case ARG_PARITY:
                        if (strcmp(optarg, "none") && strcmp(optarg, "even") && strcmp(optarg, "odd"))
                                return log_error_errno(0, "--parity: none, even or odd");
                        o->parity = optarg;
                        break;
                case ARG_FAULT:
                        if (parse_fault(optarg, &o->faults) < 0)
                                return log_error_errno(0,
                                                       "--fault: '%s' is not exception:CODE, "
                                                       "delay:SECONDS, silence or bad-crc",
                                                       optarg);
                        break;
                default:
                        return -EINVAL;
                }
        }

        if (optind < argc)
                return log_error_errno(0, "unexpected argument '%s'", argv[optind]);
        o->modbus = strcmp(o->protocol, "modbus-tcp") == 0 || strcmp(o->protocol, "modbus-rtu") == 0;
        o->rtu = strcmp(o->protocol, "modbus-rtu") == 0;
        if (strcmp(o->protocol, "ge-s5") != 0 && !o->modbus)
                return log_error_errno(0,
                                       "--protocol: '%s' is not supported (supported: ge-s5, "
                                       "modbus-tcp, modbus-rtu)",
                                       o->protocol);
        if (o->modbus) {
                if (!o->map || !o->scenario || o->replay)
                        return log_error_errno(0, "--protocol %s needs --map and --scenario "
                                                  "(and no --replay)",
                                               o->protocol);
                if (o->wait_request || o->exit_at_end)
                        return log_error_errno(0, "--wait-request and --exit-at-end are for ge-s5");
                if (o->rtu && (o->listen || o->tcp_port))
                        return log_error_errno(0, "--listen and --tcp-port are for modbus-tcp");
                if (!o->rtu && (o->port || o->link || o->parity || o->baud))
                        return log_error_errno(0, "--port, --link, --parity and --baud are for "
                                                  "modbus-rtu");
                return 1;
        }
        if (o->map || o->n_slaves || o->listen || o->tcp_port || o->parity ||
            o->faults.exception || o->faults.delay_s > 0 || o->faults.silence || o->faults.bad_crc)
                return log_error_errno(0, "--map, --slave, --listen, --tcp-port, --parity and "
                                          "--fault are for --protocol modbus-tcp|modbus-rtu");
        if (!!o->scenario == !!o->replay)
                return log_error_errno(0, "give exactly one of --scenario and --replay "
                                          "(see --help)");
        if (o->exit_at_end && o->replay)
                return log_error_errno(0, "--exit-at-end applies to --scenario only");
        return 1;
}

/* --- Files --------------------------------------------------------------------------- */

static int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (cap - len < 65536) {
                        char *p;

                        if (cap >= max + 1) {
                                r = -EFBIG;
                                break;
                        }
                        cap = cap ? cap * 2 : 65536 + 1;
                        p = realloc(buf, cap);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = p;
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max) {
                        r = -EFBIG;
                        break;
                }
        }
        (void)close(fd);
        if (r < 0) {
                free(buf);
                return r;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = buf;
        *ret_len = len;
        return 0;
}

/* The directories searched for NAME.scn, in order; empty entries skipped. */
static size_t scenario_dirs(const char *dirs[3])
{
        const char *env = getenv("VITALS_SIM_SCENARIOS");
        size_t n = 0;

        if (env && *env)
                dirs[n++] = env;
        dirs[n++] = VITALS_DATADIR "/scenarios";
        if (*SIM_SCENARIO_SOURCE_DIR)
                dirs[n++] = SIM_SCENARIO_SOURCE_DIR;
        return n;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int find_scenario(const char *name, char *path, size_t size)
{
        const char *dirs[3];
        size_t n;

        if (strchr(name, '/') || ends_with(name, ".scn")) {
                if ((size_t)snprintf(path, size, "%s", name) >= size)
                        return -ENAMETOOLONG;
                return 0;
        }

        n = scenario_dirs(dirs);
        for (size_t i = 0; i < n; i++) {
                if ((size_t)snprintf(path, size, "%s/%s.scn", dirs[i], name) >= size)
                        continue;
                if (access(path, R_OK) == 0)
                        return 0;
        }
        return -ENOENT;
}

static int list_scenarios(void)
{
        const char *dirs[3];
        size_t n = scenario_dirs(dirs);

        for (size_t i = 0; i < n; i++) {
                DIR *d = opendir(dirs[i]);
                struct dirent *de;

                if (!d)
                        continue;
                printf("%s:\n", dirs[i]);
                while ((de = readdir(d)))
                        if (ends_with(de->d_name, ".scn"))
                                printf("  %.*s\n", (int)(strlen(de->d_name) - 4), de->d_name);
                closedir(d);
        }
        return 0;
}

/* --- Time ---------------------------------------------------------------------------- */

static uint64_t now_nsec(clockid_t clock)
{
        struct timespec ts;

        (void)clock_gettime(clock, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* --- The simulator ------------------------------------------------------------------- */

typedef struct Sim {
        Options opt;
        SimLine line;
        SimPort port;
        int signal_fd;
        uint64_t start_nsec;   /* CLOCK_MONOTONIC at start, for --duration */
        bool down;             /* the line is down: hangup window, or reopen pending */
        char linked[PATH_MAX]; /* what --link points at, to remove it on exit */
        uint64_t reopen_at_nsec;

        /* Output queue: whole frames and garbage runs, never a partial frame
         * between two others. */
        uint8_t out[OUT_CAP];
        size_t out_len, out_pos;

        GeS5Deframer deframer;
        uint64_t requests;

        /* Scenario mode. */
        Scenario *scenario;
        bool require_request;
        bool requested;      /* a start request arrived (since the line came up) */
        bool single_pending; /* a single-record request to answer */
        bool clock_started;
        uint64_t clock_start_nsec; /* CLOCK_MONOTONIC of scenario time 0 */
        uint64_t wall_start_s;     /* host time of scenario time 0 */
        uint64_t next_record;
        size_t next_event;
        unsigned damage_left;
        uint64_t rng;
        bool end_logged;
        bool was_silent;
        uint64_t records_sent, records_skipped, frames_damaged, garbage_bytes;
        bool skipping_logged;
        unsigned drain_checks;

        /* Replay mode. */
        uint8_t *replay;
        size_t replay_len, replay_pos;
        uint64_t replay_next_write_nsec;
        bool replay_done;
        size_t *pace_offset; /* with --time-scale: offsets of PHDB frames ... */
        double *pace_due_s;  /* ... and their due times in real seconds */
        size_t n_pace, next_pace;
} Sim;

static double scenario_time(const Sim *s, uint64_t now)
{
        if (!s->clock_started)
                return 0;
        return (double)(now - s->clock_start_nsec) / NSEC_PER_SEC * s->opt.time_scale;
}

static const char *fmt_t(double t, char *buf, size_t size)
{
        return scenario_format_time(t, buf, size);
}

static uint64_t rng_next(uint64_t *state)
{
        uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        return z ^ (z >> 31);
}

static size_t out_pending(const Sim *s)
{
        return s->out_len - s->out_pos;
}

static size_t out_room(Sim *s)
{
        if (s->out_pos > 0) {
                memmove(s->out, s->out + s->out_pos, out_pending(s));
                s->out_len -= s->out_pos;
                s->out_pos = 0;
        }
        return OUT_CAP - s->out_len;
}

static void out_drop(Sim *s)
{
        s->out_len = s->out_pos = 0;
}

/* --- Port up and down ---------------------------------------------------------------- */

static int port_open(Sim *s)
{
        int r;

        if (s->opt.port)
                r = sim_port_open_device(&s->port, s->opt.port, &s->line);
        else
                r = sim_port_open_pty(&s->port, &s->line);
        if (r < 0)
                return r;

        ge_s5_deframer_reset(&s->deframer);
        if (s->opt.link) {
                r = sim_link_update(s->opt.link, s->port.path);
                if (r < 0)
                        log_warning("cannot point %s at %s: %s", s->opt.link, s->port.path,
                                    strerror(-r));
                else
                        snprintf(s->linked, sizeof(s->linked), "%s", s->port.path);
        }
        /* The contract with scripts: the first line on stdout is the device
         * path; a re-created pty adds one more line. */
        printf("%s\n", s->port.path);
        fflush(stdout);
        return 0;
}

static void line_down(Sim *s, const char *why)
{
        if (s->down)
                return;
        log_info("%s: closing %s", why, s->port.path);
        /* The link goes with the line, as /dev/serial/by-id/ loses an
         * unplugged adapter: a reader retrying meanwhile must not open
         * whatever pty the kernel hands out next under the old number. */
        if (s->opt.link && s->linked[0]) {
                (void)sim_link_remove(s->opt.link, s->linked);
                s->linked[0] = '\0';
        }
        sim_port_close(&s->port);
        out_drop(s);
        s->down = true;
        s->requested = false;
        s->single_pending = false;
}

static void line_up(Sim *s, uint64_t now)
{
        int r;

        r = port_open(s);
        if (r < 0) {
                log_warning("cannot re-open the line: %s (retrying)", strerror(-r));
                s->reopen_at_nsec = now + REOPEN_RETRY_NSEC;
                return;
        }
        s->down = false;
        log_info("line up again on %s%s%s", s->port.path, s->opt.link ? " via " : "",
                 s->opt.link ? s->opt.link : "");
        if (s->port.is_pty && !s->opt.link)
                log_info("without --link a reader must open the new path printed on stdout");
}

/* --- Host requests ------------------------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | (p[1] << 8));
}

static const char *frame_result_to_string(GeS5FrameResult result)
{
        switch (result) {
        case GE_S5_FRAME_OK:
                return "ok";
        case GE_S5_FRAME_BAD_CHECKSUM:
                return "bad checksum";
        case GE_S5_FRAME_TOO_SHORT:
                return "too short";
        case GE_S5_FRAME_TOO_LONG:
                return "too long";
        case GE_S5_FRAME_BAD_ESCAPE:
                return "bad escape";
        default:
                return "damaged";
        }
}

/* M1017617 §3: a PHDB request is a header (r_maintype 0 at byte 14) whose
 * sr_desc[0] (byte 16) has type 0, pointing at a phdb_req {rcrd_type u8,
 * tx_ival s16, class_bf u32, reserved s16}.  tx_ival: 0 stop, -1 one record,
 * otherwise automatic transmission. */
static void on_host_frame(void *userdata, GeS5FrameResult result, const uint8_t *rec, size_t len)
{
        Sim *s = userdata;
        int16_t maintype, offset, interval;
        uint8_t type;

        if (result != GE_S5_FRAME_OK) {
                log_info("request received, but damaged (%s); ignored",
                         frame_result_to_string(result));
                return;
        }
        s->requests++;
        if (len < GE_S5_HDR_LEN + 9) {
                log_info("request received: %zu bytes, too short to be a PHDB request; ignored",
                         len);
                return;
        }
        maintype = (int16_t)le16(rec + 14);
        offset = (int16_t)le16(rec + 16);
        if (maintype != 0 || rec[18] != 0 || offset < 0 ||
            (size_t)offset + 9 > len - GE_S5_HDR_LEN) {
                log_info("request received: main type %d, not a PHDB request; ignored", maintype);
                return;
        }
        type = rec[GE_S5_HDR_LEN + offset];
        interval = (int16_t)le16(rec + GE_S5_HDR_LEN + offset + 1);
        if (type != GE_S5_PHDB_DISPL) {
                log_info("request received: PHDB record type %u (trend), interval %d; ignored "
                         "(only DISPL is simulated)",
                         type, interval);
                return;
        }

        if (interval == 0) {
                log_info("request received: stop DISPL transmission");
                if (s->require_request)
                        s->requested = false;
        } else if (interval < 0) {
                log_info("request received: one DISPL record");
                s->single_pending = true;
        } else {
                log_info("request received: DISPL every %d s%s", interval,
                         s->scenario && fabs(interval - scenario_interval_s(s->scenario)) > 0.01
                             ? " (the scenario's interval stays in force)"
                             : "");
                s->requested = true;
        }
}

static void read_host(Sim *s)
{
        uint8_t buf[4096];

        for (;;) {
                ssize_t n = read(s->port.fd, buf, sizeof(buf));

                if (n > 0) {
                        ge_s5_deframer_feed(&s->deframer, buf, (size_t)n, on_host_frame, s);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno != EAGAIN && errno != EIO)
                        log_warning("reading from %s: %s", s->port.path, strerror(errno));
                return;
        }
}

static void write_out(Sim *s, uint64_t now)
{
        while (out_pending(s) > 0) {
                size_t n = out_pending(s);
                ssize_t w;

                if (s->replay && n > REPLAY_CHUNK)
                        n = REPLAY_CHUNK;
                w = write(s->port.fd, s->out + s->out_pos, n);
                if (w > 0) {
                        s->out_pos += (size_t)w;
                        if (s->replay) {
                                s->replay_next_write_nsec = now + REPLAY_PAUSE_NSEC;
                                return;
                        }
                        continue;
                }
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN)
                        return;
                log_warning("writing to %s: %s; dropping %zu queued bytes", s->port.path,
                            w < 0 ? strerror(errno) : "nothing written", out_pending(s));
                out_drop(s);
                if (!s->port.is_pty) {
                        line_down(s, "write failed");
                        s->reopen_at_nsec = now + REOPEN_RETRY_NSEC;
                }
                return;
        }
}

/* --- Scenario playing ---------------------------------------------------------------- */

static void start_clock(Sim *s, uint64_t now)
{
        struct timespec wall;

        (void)clock_gettime(CLOCK_REALTIME, &wall);
        s->clock_started = true;
        s->clock_start_nsec = now;
        s->wall_start_s = (uint64_t)wall.tv_sec;
        s->next_record = 0;
        log_info("scenario clock started (time scale %g, a record every %g s of scenario time)",
                 s->opt.time_scale, scenario_interval_s(s->scenario));
}

static void queue_garbage(Sim *s, unsigned count)
{
        while (count > 0) {
                size_t n = count < GARBAGE_CHUNK ? count : GARBAGE_CHUNK;

                if (out_room(s) < n)
                        break; /* the reader is not reading: noise has nowhere to go */
                for (size_t i = 0; i < n; i++) {
                        uint8_t b;

                        /* Never a flag or an escape, so noise cannot fake a frame. */
                        do
                                b = (uint8_t)rng_next(&s->rng);
                        while (b == GE_S5_FLAG || b == GE_S5_ESC);
                        s->out[s->out_len++] = b;
                }
                s->garbage_bytes += n;
                count -= (unsigned)n;
        }
}

static void run_events(Sim *s, double upto_t, bool line_usable)
{
        size_t n;
        const ScenarioEvent *ev = scenario_events(s->scenario, &n);
        char tb[32];

        for (; s->next_event < n && ev[s->next_event].time_s <= upto_t + 1e-9; s->next_event++) {
                const ScenarioEvent *e = &ev[s->next_event];

                switch (e->type) {
                case SCENARIO_EVENT_NOTE:
                        log_info("%s %s", fmt_t(e->time_s, tb, sizeof(tb)), e->text);
                        break;
                case SCENARIO_EVENT_GARBAGE:
                        log_info("%s %u garbage bytes", fmt_t(e->time_s, tb, sizeof(tb)), e->count);
                        if (line_usable)
                                queue_garbage(s, e->count);
                        break;
                case SCENARIO_EVENT_DAMAGE:
                        log_info("%s the next %u frames go out damaged",
                                 fmt_t(e->time_s, tb, sizeof(tb)), e->count);
                        s->damage_left += e->count;
                        break;
                default:
                        break;
                }
        }
}

/* Flips one bit of a data byte in the middle of an escaped frame, choosing
 * a byte that is not part of an escape and does not become a flag or an
 * escape: the frame keeps its length and framing but fails its checksum. */
static void damage_frame(uint8_t *frame, size_t len)
{
        for (size_t i = len / 2; i + 1 < len; i++) {
                uint8_t b = frame[i], f = frame[i] ^ 0x01;

                if (b == GE_S5_FLAG || b == GE_S5_ESC || frame[i - 1] == GE_S5_ESC ||
                    f == GE_S5_FLAG || f == GE_S5_ESC)
                        continue;
                frame[i] = f;
                return;
        }
}

static int queue_record(Sim *s, double t, const ScenarioSample *sample)
{
        uint8_t record[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b = sample->basic;
        size_t len, flen;

        b.time = (uint32_t)(s->wall_start_s + (uint64_t)floor(t));
        len = ge_s5_build_displ_record(&b, record, sizeof(record));
        if (len == 0)
                return log_error_errno(-ENOBUFS, "building a DISPL record");
        if (out_room(s) < FRAME_CAP)
                return -EAGAIN;
        flen = ge_s5_frame_encode(record, len, s->out + s->out_len, OUT_CAP - s->out_len);
        if (flen == 0)
                return log_error_errno(-ENOBUFS, "framing a DISPL record");
        if (s->damage_left > 0) {
                damage_frame(s->out + s->out_len, flen);
                s->damage_left--;
                s->frames_damaged++;
        }
        s->out_len += flen;
        s->records_sent++;
        return 0;
}

static void log_sample_changes(Sim *s, double t, const ScenarioSample *sample)
{
        char tb[32];

        if (sample->silent != s->was_silent)
                log_info("%s %s", fmt_t(t, tb, sizeof(tb)),
                         sample->silent ? "silent: sending nothing" : "sending again");
        s->was_silent = sample->silent;
        if (sample->nibp_new && sample->basic.nibp_sys >= GE_S5_MIN_VALID)
                log_info("%s NIBP %d/%d (%d)", fmt_t(t, tb, sizeof(tb)),
                         sample->basic.nibp_sys / 100, sample->basic.nibp_dia / 100,
                         sample->basic.nibp_mean / 100);
}

static void play(Sim *s, uint64_t now)
{
        double interval = scenario_interval_s(s->scenario);
        double t = scenario_time(s, now);
        uint64_t due, backlog_max;
        ScenarioSample sample;
        char tb[32];

        if (!s->clock_started)
                return;

        /* The line follows the scenario's hangup windows. */
        (void)scenario_sample(s->scenario, t, s->opt.seed, &sample);
        if (sample.hangup && !s->down) {
                log_info("%s cable pulled", fmt_t(t, tb, sizeof(tb)));
                line_down(s, "hangup");
                s->reopen_at_nsec = UINT64_MAX;
        } else if (!sample.hangup && s->down && s->reopen_at_nsec == UINT64_MAX) {
                log_info("%s cable plugged in again", fmt_t(t, tb, sizeof(tb)));
                s->reopen_at_nsec = now;
        }
        if (s->down && now >= s->reopen_at_nsec)
                line_up(s, now);

        if (!s->end_logged && t >= scenario_end_s(s->scenario)) {
                s->end_logged = true;
                log_info("%s scenario end: the last values repeat from now on%s",
                         fmt_t(scenario_end_s(s->scenario), tb, sizeof(tb)),
                         s->opt.exit_at_end ? "; exiting once the reader has read everything" : "");
        }

        due = (uint64_t)floor(t / interval + 1e-9);
        /* More than BACKLOG_REAL_S behind (the reader stalled): skip to now. */
        backlog_max = (uint64_t)fmax(2, ceil(BACKLOG_REAL_S * s->opt.time_scale / interval));
        if (s->opt.exit_at_end)
                due = (uint64_t)fmin((double)due,
                                     floor(scenario_end_s(s->scenario) / interval + 1e-9));
        if (due > s->next_record + backlog_max) {
                uint64_t skip = due - s->next_record;

                run_events(s, (double)due * interval, false);
                s->records_skipped += skip;
                if (!s->skipping_logged)
                        log_info("the reader is not keeping up: skipped %" PRIu64
                                 " records (more are skipped silently)",
                                 skip);
                s->skipping_logged = true;
                s->next_record = due;
        }

        if (s->single_pending && !s->down) {
                (void)scenario_sample(s->scenario, t, s->opt.seed, &sample);
                if (queue_record(s, t, &sample) != -EAGAIN)
                        s->single_pending = false;
        }

        while (s->next_record <= due) {
                double tk = (double)s->next_record * interval;
                bool sending = !s->down && (!s->require_request || s->requested);

                /* --exit-at-end: the record at the end is the last one, so that
                 * counts do not depend on how fast the reader drains. */
                if (s->opt.exit_at_end && tk > scenario_end_s(s->scenario) + 1e-9)
                        break;

                (void)scenario_sample(s->scenario, tk, s->opt.seed, &sample);
                if (sending && !sample.silent && out_room(s) < FRAME_CAP)
                        break; /* wait for the reader, like a monitor held by CTS */
                run_events(s, tk, sending && !sample.silent);
                log_sample_changes(s, tk, &sample);
                if (sending && !sample.silent)
                        (void)queue_record(s, tk, &sample);
                s->next_record++;
        }
}

static uint64_t next_record_nsec(const Sim *s)
{
        double at_s = (double)s->next_record * scenario_interval_s(s->scenario) / s->opt.time_scale;

        return s->clock_start_nsec + (uint64_t)(at_s * NSEC_PER_SEC);
}

/* --- Replay -------------------------------------------------------------------------- */

/* Finds the frames of PHDB records and their r_time, so --time-scale can pace
 * the capture by the monitor's own clock.  Only the header is unescaped. */
static int replay_build_pace(Sim *s)
{
        size_t cap = 0;
        uint32_t first = 0, prev = 0;
        double due = 0;
        bool have = false;

        for (size_t i = 0; i < s->replay_len; i++) {
                uint8_t hdr[GE_S5_HDR_LEN];
                size_t n = 0, j;
                bool esc = false;
                uint32_t r_time;

                if (s->replay[i] != GE_S5_FLAG)
                        continue;
                for (j = i + 1; j < s->replay_len && n < sizeof(hdr); j++) {
                        uint8_t b = s->replay[j];

                        if (b == GE_S5_FLAG)
                                break;
                        if (esc) {
                                hdr[n++] = b ^ 0x20;
                                esc = false;
                        } else if (b == GE_S5_ESC)
                                esc = true;
                        else
                                hdr[n++] = b;
                }
                if (n < sizeof(hdr) || le16(hdr + 14) != 0)
                        continue;
                r_time = (uint32_t)hdr[6] | (uint32_t)hdr[7] << 8 | (uint32_t)hdr[8] << 16 |
                         (uint32_t)hdr[9] << 24;
                if (!have) {
                        first = prev = r_time;
                        have = true;
                }
                /* Clock jumps in a capture (a monitor restarted, a splice)
                 * become no pause at all rather than a long one. */
                if (r_time > prev && r_time - prev <= 60)
                        due += (double)(r_time - prev) / s->opt.time_scale;
                prev = r_time;
                (void)first;

                if (s->n_pace >= cap) {
                        size_t ncap = cap ? cap * 2 : 1024;
                        size_t *o = reallocarray(s->pace_offset, ncap, sizeof(size_t));
                        double *d;

                        if (!o)
                                return -ENOMEM;
                        s->pace_offset = o;
                        d = reallocarray(s->pace_due_s, ncap, sizeof(double));
                        if (!d)
                                return -ENOMEM;
                        s->pace_due_s = d;
                        cap = ncap;
                }
                s->pace_offset[s->n_pace] = i;
                s->pace_due_s[s->n_pace] = due;
                s->n_pace++;
        }
        return 0;
}

/* Queues the next chunk of the capture once the previous one is written, the
 * 1 ms pause is over and (with --time-scale) its records are due. */
static void replay_step(Sim *s, uint64_t now)
{
        size_t limit = s->replay_len;

        if (s->down || s->replay_pos >= s->replay_len || out_pending(s) > 0 ||
            now < s->replay_next_write_nsec)
                return;

        if (s->n_pace > 0) {
                double elapsed = (double)(now - s->clock_start_nsec) / NSEC_PER_SEC;

                while (s->next_pace < s->n_pace && s->pace_due_s[s->next_pace] <= elapsed)
                        s->next_pace++;
                if (s->next_pace < s->n_pace)
                        limit = s->pace_offset[s->next_pace];
        }
        if (limit <= s->replay_pos)
                return;
        if (limit - s->replay_pos > REPLAY_CHUNK)
                limit = s->replay_pos + REPLAY_CHUNK;
        memcpy(s->out, s->replay + s->replay_pos, limit - s->replay_pos);
        s->out_pos = 0;
        s->out_len = limit - s->replay_pos;
        s->replay_pos = limit;
}

static uint64_t replay_wake_nsec(const Sim *s)
{
        if (s->replay_pos >= s->replay_len)
                return UINT64_MAX;
        if (s->n_pace > 0 && s->next_pace < s->n_pace &&
            s->pace_offset[s->next_pace] <= s->replay_pos)
                return s->clock_start_nsec + (uint64_t)(s->pace_due_s[s->next_pace] * NSEC_PER_SEC);
        return s->replay_next_write_nsec;
}

/* After the last byte: has the reader taken everything? */
static bool drained(Sim *s)
{
        size_t unread = 0;
        int r;

        if (out_pending(s) > 0)
                return false;
        r = sim_port_unread(&s->port, &unread);
        if (r < 0) {
                /* The kernel cannot tell: give the reader a second. */
                s->drain_checks++;
                return s->drain_checks * DRAIN_CHECK_NSEC >= NSEC_PER_SEC;
        }
        if (unread > 0) {
                s->drain_checks = 0;
                return false;
        }
        return ++s->drain_checks >= DRAIN_CHECKS;
}

/* --- Main loop ----------------------------------------------------------------------- */

static int setup_signals(Sim *s)
{
        sigset_t mask;

        (void)signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->signal_fd < 0)
                return -errno;
        return 0;
}

static int run(Sim *s)
{
        uint64_t end_nsec = s->opt.duration_s > 0
                                ? s->start_nsec + (uint64_t)(s->opt.duration_s * NSEC_PER_SEC)
                                : UINT64_MAX;
        uint64_t drain_next = 0;

        for (;;) {
                struct pollfd fds[2] = {{.fd = s->signal_fd, .events = POLLIN}, {.fd = -1}};
                uint64_t now = now_nsec(CLOCK_MONOTONIC), wake = now + TICK_MAX_MSEC * 1000000ull;
                int timeout_ms, n;

                if (now >= end_nsec) {
                        log_info("--duration reached");
                        return 0;
                }

                if (s->scenario) {
                        play(s, now);
                        if (!s->clock_started && !s->down && s->single_pending)
                                start_clock(s, now);
                } else {
                        if (s->down && now >= s->reopen_at_nsec)
                                line_up(s, now);
                        if (!s->clock_started && s->requested) {
                                /* --wait-request: the reader is there and listening. */
                                s->clock_started = true;
                                s->clock_start_nsec = now;
                        }
                        if (!s->down && s->clock_started && (!s->require_request || s->requested))
                                replay_step(s, now);
                }

                if (!s->down && out_pending(s) > 0)
                        write_out(s, now);

                if (s->scenario && !s->clock_started && s->requested)
                        start_clock(s, now);

                /* End conditions that wait for the reader. */
                if (!s->down && now >= drain_next &&
                    ((s->replay && !s->replay_done && s->replay_pos >= s->replay_len) ||
                     (s->scenario && s->opt.exit_at_end && s->end_logged))) {
                        drain_next = now + DRAIN_CHECK_NSEC;
                        if (drained(s)) {
                                if (s->scenario) {
                                        log_info("scenario done: %" PRIu64 " records sent, %" PRIu64
                                                 " skipped, %" PRIu64 " damaged, %" PRIu64
                                                 " garbage bytes, %" PRIu64 " requests",
                                                 s->records_sent, s->records_skipped,
                                                 s->frames_damaged, s->garbage_bytes, s->requests);
                                        return 0;
                                }
                                s->replay_done = true;
                                if (!arg_quiet)
                                        fprintf(stderr, "replay done\n");
                        }
                }

                /* When to look again. */
                if (s->scenario && s->clock_started) {
                        uint64_t at = next_record_nsec(s);
                        bool past_end = s->opt.exit_at_end &&
                                        (double)s->next_record * scenario_interval_s(s->scenario) >
                                            scenario_end_s(s->scenario) + 1e-9;
                        /* A full queue waits for POLLOUT, not for the clock. */
                        bool blocked = !s->down && OUT_CAP - out_pending(s) < FRAME_CAP;

                        if (!past_end && !blocked && at < wake)
                                wake = at;
                } else if (s->replay && !s->down && s->clock_started) {
                        uint64_t at = replay_wake_nsec(s);

                        if (at < wake)
                                wake = at;
                }
                if (s->down && s->reopen_at_nsec < wake)
                        wake = s->reopen_at_nsec;
                if (drain_next > now && drain_next < wake)
                        wake = drain_next;
                if (end_nsec < wake)
                        wake = end_nsec;
                timeout_ms = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);

                if (!s->down) {
                        fds[1].fd = s->port.fd;
                        fds[1].events = POLLIN;
                        if (out_pending(s) > 0)
                                fds[1].events |= POLLOUT;
                }

                n = poll(fds, 2, timeout_ms);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll");
                }

                if (fds[0].revents & POLLIN) {
                        struct signalfd_siginfo si;

                        if (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                                log_info("%s: exiting", strsignal((int)si.ssi_signo));
                        return 0;
                }

                if (fds[1].fd >= 0) {
                        if (fds[1].revents & POLLIN)
                                read_host(s);
                        if (!s->port.is_pty && (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL))) {
                                line_down(s, "device error");
                                s->reopen_at_nsec = now + REOPEN_RETRY_NSEC;
                        }
                }
        }
}

/* --- Modbus --------------------------------------------------------------------------- */

static int load_scenario(const char *name, Scenario **ret)
{
        char path[PATH_MAX], error[512], *text = NULL;
        size_t len;
        int r;

        r = find_scenario(name, path, sizeof(path));
        if (r < 0)
                return log_error_errno(r, "scenario '%s' not found (try --list-scenarios)", name);
        r = read_file(path, SCENARIO_FILE_MAX, &text, &len);
        if (r < 0)
                return log_error_errno(r, "reading %s", path);
        r = scenario_parse(text, path, ret, error, sizeof(error));
        free(text);
        if (r < 0)
                return log_error_errno(0, "%s", error[0] ? error : strerror(-r));
        return 0;
}

static int find_map(const char *name, char *path, size_t size)
{
        const char *env = getenv("VITALS_SIM_MAPS");
        const char *dirs[] = {env && *env ? env : NULL, VITALS_SYSCONFDIR "/modbus",
                              *SIM_MAP_SOURCE_DIR ? SIM_MAP_SOURCE_DIR : NULL};

        if (strchr(name, '/') || ends_with(name, ".conf"))
                return (size_t)snprintf(path, size, "%s", name) >= size ? -ENAMETOOLONG : 0;
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                if (dirs[i] && (size_t)snprintf(path, size, "%s/%s.conf", dirs[i], name) < size &&
                    access(path, R_OK) == 0)
                        return 0;
        return -ENOENT;
}

static void map_error(void *userdata, const char *file, unsigned line, const char *key,
                      const char *msg)
{
        if (key)
                fprintf(stderr, "vitals-sim: error: %s:%u: %s: %s\n", file, line, key, msg);
        else
                fprintf(stderr, "vitals-sim: error: %s:%u: %s\n", file, line, msg);
}

static int modbus_main(const Options *o)
{
        static RegMap map;
        Scenario *scenarios[MODBUS_SIM_SLAVES_MAX + 1] = {NULL};
        ModbusSimConfig c = {
                .rtu = o->rtu,
                .map = &map,
                .time_scale = o->time_scale,
                .seed = o->seed,
                .duration_s = o->duration_s,
                .listen = o->listen ? o->listen : "127.0.0.1",
                .tcp_port = o->tcp_port,
                .device = o->port,
                .link = o->link,
                /* MODBUS over Serial Line V1.02 §2.5.1: 19200, even parity. */
                .line = {.baud = o->baud ? o->baud : 19200,
                         .data_bits = 8,
                         .parity = !o->parity || strcmp(o->parity, "even") == 0 ? SIM_PARITY_EVEN
                                   : strcmp(o->parity, "odd") == 0              ? SIM_PARITY_ODD
                                                                                : SIM_PARITY_NONE,
                         .stop_bits = 1},
                .faults = o->faults,
                .quiet = arg_quiet,
                .signal_fd = -1,
        };
        char map_path[PATH_MAX];
        sigset_t mask;
        int r;

        r = find_map(o->map, map_path, sizeof(map_path));
        if (r < 0)
                return log_error_errno(r, "register map '%s' not found (looked in "
                                          "$VITALS_SIM_MAPS, %s, %s)",
                                       o->map, VITALS_SYSCONFDIR "/modbus",
                                       *SIM_MAP_SOURCE_DIR ? SIM_MAP_SOURCE_DIR : "-");
        r = regmap_load(map_path, &map, map_error, NULL);
        if (r != 0)
                return log_error_errno(r < 0 ? r : 0, "register map %s is not valid", map_path);
        c.map_path = map_path;

        r = load_scenario(o->scenario, &scenarios[0]);
        if (r < 0)
                goto out;
        c.scenario = scenarios[0];
        for (size_t i = 0; i < o->n_slaves; i++) {
                const char *colon = strchr(o->slaves[i], ':');
                char *end = NULL;
                unsigned long id;

                errno = 0;
                id = strtoul(o->slaves[i], &end, 10);
                if (errno || end == o->slaves[i] || (*end && *end != ':') ||
                    id > (o->rtu ? 247 : 255) || (o->rtu && id == 0)) {
                        r = log_error_errno(0, "--slave: '%s' is not %s[:SCENARIO]", o->slaves[i],
                                            o->rtu ? "1..247" : "0..255");
                        goto out;
                }
                c.slaves[i].id = (unsigned)id;
                c.slaves[i].scenario = scenarios[0];
                if (colon) {
                        r = load_scenario(colon + 1, &scenarios[i + 1]);
                        if (r < 0)
                                goto out;
                        c.slaves[i].scenario = scenarios[i + 1];
                }
        }
        c.n_slaves = o->n_slaves;

        (void)signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (c.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
                r = log_error_errno(errno, "setting up signal handling");
                goto out;
        }
        r = modbus_sim_run(&c);
out:
        if (c.signal_fd >= 0)
                close(c.signal_fd);
        for (size_t i = 0; i <= MODBUS_SIM_SLAVES_MAX; i++)
                scenario_free(scenarios[i]);
        return r;
}

int main(int argc, char *argv[])
{
        static Sim sim; /* large (the output queue); zeroed */
        Sim *s = &sim;
        int r;

        s->opt = (Options){.protocol = "ge-s5", .time_scale = 1, .seed = 1};
        s->port = SIM_PORT_NULL;
        s->signal_fd = -1;

        r = parse_argv(argc, argv, &s->opt);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        if (s->opt.modbus)
                return modbus_main(&s->opt) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* GE S/5 (M1017617 §2): 19200 8E1 with RTS/CTS. */
        s->line = (SimLine){.baud = s->opt.baud ? s->opt.baud : 19200,
                            .data_bits = 8,
                            .parity = SIM_PARITY_EVEN,
                            .stop_bits = 1,
                            .rtscts = true};
        s->rng = s->opt.seed;

        if (s->opt.scenario) {
                char path[PATH_MAX], error[512], *text = NULL;
                size_t len;

                r = find_scenario(s->opt.scenario, path, sizeof(path));
                if (r < 0) {
                        log_error_errno(r,
                                        "scenario '%s' not found (looked in "
                                        "$VITALS_SIM_SCENARIOS, %s, %s; try --list-scenarios)",
                                        s->opt.scenario, VITALS_DATADIR "/scenarios",
                                        *SIM_SCENARIO_SOURCE_DIR ? SIM_SCENARIO_SOURCE_DIR : "-");
                        return EXIT_FAILURE;
                }
                r = read_file(path, SCENARIO_FILE_MAX, &text, &len);
                if (r < 0) {
                        log_error_errno(r, "reading %s", path);
                        return EXIT_FAILURE;
                }
                r = scenario_parse(text, path, &s->scenario, error, sizeof(error));
                free(text);
                if (r < 0) {
                        log_error_errno(0, "%s", error[0] ? error : strerror(-r));
                        return EXIT_FAILURE;
                }
                s->require_request = s->opt.wait_request || scenario_require_request(s->scenario);
                log_info("scenario %s: %g s of scenario time%s", path, scenario_end_s(s->scenario),
                         s->require_request ? ", waiting for the host's request" : "");
        } else {
                char *data = NULL;
                size_t len;

                r = read_file(s->opt.replay, REPLAY_FILE_MAX, &data, &len);
                if (r < 0) {
                        log_error_errno(r, "reading %s", s->opt.replay);
                        return EXIT_FAILURE;
                }
                s->replay = (uint8_t *)data;
                s->replay_len = len;
                s->require_request = s->opt.wait_request;
                if (s->opt.time_scale_set) {
                        r = replay_build_pace(s);
                        if (r < 0) {
                                log_error_errno(r, "indexing %s", s->opt.replay);
                                return EXIT_FAILURE;
                        }
                }
                log_info("replaying %s: %zu bytes%s%s", s->opt.replay, len,
                         s->n_pace > 0 ? ", paced by the records' times" : "",
                         s->require_request ? ", once the host's request arrives" : "");
        }

        r = setup_signals(s);
        if (r < 0) {
                log_error_errno(r, "setting up signal handling");
                return EXIT_FAILURE;
        }

        r = port_open(s);
        if (r < 0) {
                log_error_errno(r, "opening %s", s->opt.port ? s->opt.port : "a pseudo-terminal");
                return EXIT_FAILURE;
        }
        log_info("speaking ge-s5 on %s%s%s", s->port.path, s->opt.link ? " via " : "",
                 s->opt.link ? s->opt.link : "");

        s->start_nsec = now_nsec(CLOCK_MONOTONIC);
        if (s->replay && !s->require_request) {
                s->clock_started = true;
                s->clock_start_nsec = s->start_nsec;
        } else if (s->scenario && !s->require_request)
                start_clock(s, s->start_nsec);

        r = run(s);

        if (s->opt.link && s->linked[0])
                (void)sim_link_remove(s->opt.link, s->linked);
        sim_port_close(&s->port);
        scenario_free(s->scenario);
        free(s->replay);
        free(s->pace_offset);
        free(s->pace_due_s);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
