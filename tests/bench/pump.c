/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pump.c — the benchmark's frame pump: N simulated GE S/5 monitors in one
 * process, each on its own pseudo-terminal, and an alarm-latency probe.
 *
 * One vitals-sim per bed would measure the simulators, not vitalsd, once
 * there are hundreds of beds; this pump opens N ptys with the simulator's
 * own pty code (sim/pty.c) and writes DISPL frames built by the GE S/5
 * encoder (drivers/ge_s5.c), either at a fixed rate per bed (real time,
 * staggered across the period as independent monitors would be) or as fast
 * as the daemon takes them (each pty's buffer kept full).
 *
 * The alarm probe: every --probe-interval seconds one bed (round robin over
 * the first --probe-beds) sends a frame with SpO2 85 %, below the zero-delay
 * desaturation limit, and the next frames at 97 % again.  The time right
 * before the write() that puts the frame's last byte into the pty is the
 * start; a subscriber thread on the control socket stamps the SPO2_DESAT
 * "active" event for that bed as the end.  Both stamps are CLOCK_MONOTONIC
 * in this process.
 *
 * Protocol with bench.py: prints one pty path per line, then "ready";
 * waits for "go SOCKET" on stdin (connects the subscriber, starts
 * streaming); "stop" (or EOF) ends it and it prints its figures as
 * "key value" lines, latencies as "latency_ns N" lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ge_s5.h"
#include "pty.h"

#define FRAME_CAP GE_S5_FRAME_MAX(GE_S5_DISPL_RECORD_LEN)
#define NSEC_PER_SEC 1000000000ull
#define MAX_EVENTS 100000
/* Flat out, up to this many records go out in one write(), as a serial
 * driver's buffer would hand them over; at 1 Hz it is one per write. */
#define BATCH_MAX 16

typedef struct PumpBed {
        SimPort port;
        uint8_t frame[BATCH_MAX * FRAME_CAP];
        size_t len, off; /* the frames being written and how much of them went out */
        unsigned n_frames; /* records in frame[] */
        uint64_t next_ns;
        bool probe_now;  /* the next frame is a probe */
        bool in_probe;   /* the frame being written is a probe */
        uint64_t frames;
} PumpBed;

typedef struct Stamp {
        unsigned bed;
        uint64_t ns;
} Stamp;

typedef struct Pump {
        PumpBed *beds;
        unsigned n_beds;
        double rate_hz; /* 0: as fast as possible */
        double probe_interval_s;
        unsigned probe_beds;
        int sock;
        pthread_t sub_thread;
        bool sub_running;

        pthread_mutex_t lock;
        Stamp sent[MAX_EVENTS], got[MAX_EVENTS];
        size_t n_sent, n_got;
        uint64_t sub_messages, sub_bytes;
        bool sub_dropped;

        uint64_t frames, bytes, eagain;
        uint32_t cached_time;
        uint8_t cached[FRAME_CAP];
        size_t cached_len;
} Pump;

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static size_t build_frame(uint32_t t, int spo2_pct, uint8_t *out, size_t cap)
{
        uint8_t rec[GE_S5_DISPL_RECORD_LEN];
        GeS5Basic b;

        ge_s5_basic_init(&b);
        b.time = t;
        b.ecg_hr = 72;
        b.spo2 = (int16_t)(spo2_pct * 100);
        b.spo2_pr = 72;
        b.spo2_status = GE_S5_GROUP_EXISTS | GE_S5_GROUP_ACTIVE;
        if (ge_s5_build_displ_record(&b, rec, sizeof(rec)) == 0)
                return 0;
        return ge_s5_frame_encode(rec, sizeof(rec), out, cap);
}

/* The next frame(s) of a bed: the normal one is shared by all beds and
 * rebuilt once per second (its time field changes), a probe is built on its
 * own; flat out, BATCH_MAX copies go out together. */
static void next_frame(Pump *p, PumpBed *b)
{
        uint32_t t = (uint32_t)time(NULL);

        if (b->probe_now) {
                b->len = build_frame(t, 85, b->frame, sizeof(b->frame));
                b->n_frames = 1;
                b->probe_now = false;
                b->in_probe = true;
        } else {
                if (t != p->cached_time || !p->cached_len) {
                        p->cached_len = build_frame(t, 97, p->cached, sizeof(p->cached));
                        p->cached_time = t;
                }
                b->n_frames = p->rate_hz > 0 ? 1 : BATCH_MAX;
                for (unsigned k = 0; k < b->n_frames; k++)
                        memcpy(b->frame + k * p->cached_len, p->cached, p->cached_len);
                b->len = b->n_frames * p->cached_len;
                b->in_probe = false;
        }
        b->off = 0;
}

/* Writes what it can of the bed's current frame; true when it is all out. */
static bool write_some(Pump *p, PumpBed *b, unsigned idx)
{
        uint64_t t_before = 0;

        while (b->off < b->len) {
                ssize_t n;

                /* The probe's clock starts before the write() that puts its
                 * last byte into the pty: the daemon, on the other core, can
                 * read, decode and publish the alarm before write() returns
                 * here.  The latency measured includes that write(). */
                t_before = now_ns();
                n = write(b->port.fd, b->frame + b->off, b->len - b->off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                p->eagain++;
                        return false;
                }
                b->off += (size_t)n;
                p->bytes += (uint64_t)n;
        }
        if (b->in_probe) {
                pthread_mutex_lock(&p->lock);
                if (p->n_sent < MAX_EVENTS)
                        p->sent[p->n_sent++] = (Stamp){idx, t_before};
                pthread_mutex_unlock(&p->lock);
                b->in_probe = false;
        }
        b->frames += b->n_frames;
        p->frames += b->n_frames;
        b->len = 0;
        return true;
}

/* "bed-0042" in an alarm event → 41. */
static int bed_of_event(const char *msg)
{
        const char *k = strstr(msg, "\"bed\":\"bed-");

        if (!k)
                return -1;
        return atoi(k + strlen("\"bed\":\"bed-")) - 1;
}

static void *subscriber(void *userdata)
{
        Pump *p = userdata;
        char buf[65537];

        for (;;) {
                ssize_t n = recv(p->sock, buf, sizeof(buf) - 1, 0);
                uint64_t t = now_ns();
                if (n <= 0) {
                        if (n < 0 && errno == EINTR)
                                continue;
                        pthread_mutex_lock(&p->lock);
                        p->sub_dropped = p->sub_running;
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                buf[n] = '\0';
                pthread_mutex_lock(&p->lock);
                p->sub_messages++;
                p->sub_bytes += (uint64_t)n;
                if (strstr(buf, "\"type\":\"alarm\"") && strstr(buf, "\"condition\":\"SPO2_DESAT\"") &&
                    strstr(buf, "\"state\":\"active\"")) {
                        int bed = bed_of_event(buf);
                        if (bed >= 0 && p->n_got < MAX_EVENTS)
                                p->got[p->n_got++] = (Stamp){(unsigned)bed, t};
                }
                pthread_mutex_unlock(&p->lock);
        }
}

static int subscribe(Pump *p, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        static const char req[] = "{\"type\":\"subscribe\",\"id\":1}";
        char reply[4096];

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        p->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (p->sock < 0)
                return -errno;
        /* A large receive buffer: the console's share of a busy daemon. */
        int sz = 4 << 20;
        (void)setsockopt(p->sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        if (connect(p->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            send(p->sock, req, strlen(req), 0) < 0 || recv(p->sock, reply, sizeof(reply), 0) <= 0)
                return -errno;
        p->sub_running = true;
        if (pthread_create(&p->sub_thread, NULL, subscriber, p) != 0)
                return -EAGAIN;
        return 0;
}

static void drain_requests(PumpBed *b)
{
        uint8_t buf[512];

        while (read(b->port.fd, buf, sizeof(buf)) > 0)
                ;
}

/* Is stdin saying something?  Returns 1 for "stop"/EOF, 0 otherwise. */
static int check_stdin(void)
{
        char line[256];

        if (!fgets(line, sizeof(line), stdin))
                return 1;
        return strncmp(line, "stop", 4) == 0;
}

static void run(Pump *p)
{
        uint64_t start = now_ns(), period = 0, next_probe;
        unsigned probe_next = 0;
        struct pollfd *pfd = calloc(p->n_beds + 1, sizeof(*pfd));

        if (!pfd)
                abort();
        if (p->rate_hz > 0)
                period = (uint64_t)(NSEC_PER_SEC / p->rate_hz);
        for (unsigned i = 0; i < p->n_beds; i++)
                p->beds[i].next_ns = start + (period ? period * i / p->n_beds : 0);
        /* Probes start after a second and avoid the daemon's tick phase. */
        next_probe = start + NSEC_PER_SEC + 137 * 1000 * 1000;

        for (;;) {
                uint64_t now = now_ns(), wake = UINT64_MAX;
                bool backlog = false;
                int timeout_ms;

                if (p->probe_beds && now >= next_probe) {
                        p->beds[probe_next].probe_now = true;
                        probe_next = (probe_next + 1) % p->probe_beds;
                        next_probe += (uint64_t)(p->probe_interval_s * NSEC_PER_SEC);
                }
                for (unsigned i = 0; i < p->n_beds; i++) {
                        PumpBed *b = &p->beds[i];
                        if (!b->len && (!period || now >= b->next_ns)) {
                                next_frame(p, b);
                                if (period)
                                        b->next_ns += period;
                        }
                        /* Flat out: frame after frame until the pty is full. */
                        for (unsigned k = 0; b->len && k < 64; k++) {
                                if (!write_some(p, b, i)) {
                                        backlog = true;
                                        break;
                                }
                                if (period)
                                        break;
                                next_frame(p, b);
                        }
                        pfd[i].fd = b->port.fd;
                        pfd[i].events = POLLIN | (b->len ? POLLOUT : 0);
                        if (period && !b->len && b->next_ns < wake)
                                wake = b->next_ns;
                }
                pfd[p->n_beds].fd = STDIN_FILENO;
                pfd[p->n_beds].events = POLLIN;
                now = now_ns();
                if (p->probe_beds && next_probe < wake)
                        wake = next_probe;
                /* A pty master does not reliably report POLLOUT again when the
                 * reader drains the slave, so a backlogged bed is retried
                 * every millisecond rather than waiting for a wake-up. */
                if (backlog)
                        timeout_ms = 1;
                else if (wake == UINT64_MAX)
                        timeout_ms = 100;
                else
                        timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
                if (poll(pfd, p->n_beds + 1, timeout_ms) < 0 && errno != EINTR)
                        break;
                for (unsigned i = 0; i < p->n_beds; i++)
                        if (pfd[i].revents & POLLIN)
                                drain_requests(&p->beds[i]);
                if ((pfd[p->n_beds].revents & (POLLIN | POLLHUP)) && check_stdin())
                        break;
        }
        free(pfd);
}

static void report(Pump *p, double seconds)
{
        size_t j = 0, matched = 0;

        pthread_mutex_lock(&p->lock);
        printf("frames %" PRIu64 "\n", p->frames);
        printf("bytes %" PRIu64 "\n", p->bytes);
        printf("seconds %.3f\n", seconds);
        printf("eagain %" PRIu64 "\n", p->eagain);
        printf("probes %zu\n", p->n_sent);
        printf("alarm_events %zu\n", p->n_got);
        printf("subscriber_messages %" PRIu64 "\n", p->sub_messages);
        printf("subscriber_dropped %d\n", p->sub_dropped);
        /* Each probe's event: the first SPO2_DESAT activation of that bed
         * stamped after the probe's last byte. */
        for (size_t i = 0; i < p->n_sent; i++) {
                for (j = 0; j < p->n_got; j++)
                        if (p->got[j].bed == p->sent[i].bed && p->got[j].ns >= p->sent[i].ns)
                                break;
                if (j < p->n_got) {
                        printf("latency_ns %" PRIu64 "\n", p->got[j].ns - p->sent[i].ns);
                        p->got[j].bed = UINT32_MAX; /* used */
                        matched++;
                }
        }
        printf("probes_matched %zu\n", matched);
        pthread_mutex_unlock(&p->lock);
        fflush(stdout);
}

int main(int argc, char **argv)
{
        Pump p = {.sock = -1, .probe_interval_s = 1.3};
        SimLine line = {.baud = 19200, .data_bits = 8, .parity = SIM_PARITY_EVEN, .stop_bits = 1};
        struct rlimit rl;
        char cmd[4096];
        uint64_t t0;

        for (int i = 1; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--beds") == 0)
                        p.n_beds = (unsigned)atoi(argv[i + 1]);
                else if (strcmp(argv[i], "--rate") == 0)
                        p.rate_hz = atof(argv[i + 1]);
                else if (strcmp(argv[i], "--probe-beds") == 0)
                        p.probe_beds = (unsigned)atoi(argv[i + 1]);
                else if (strcmp(argv[i], "--probe-interval") == 0)
                        p.probe_interval_s = atof(argv[i + 1]);
                else {
                        fprintf(stderr, "pump: unknown option %s\n", argv[i]);
                        return 2;
                }
        }
        if (p.n_beds == 0 || p.probe_interval_s <= 0) {
                fprintf(stderr, "usage: pump --beds N [--rate HZ (0: flat out)] "
                                "[--probe-beds K] [--probe-interval S]\n");
                return 2;
        }
        if (p.probe_beds > p.n_beds)
                p.probe_beds = p.n_beds;
        /* Two descriptors per bed (master, and the slave held open). */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void)setrlimit(RLIMIT_NOFILE, &rl);
        }
        pthread_mutex_init(&p.lock, NULL);
        p.beds = calloc(p.n_beds, sizeof(*p.beds));
        if (!p.beds)
                return 1;
        for (unsigned i = 0; i < p.n_beds; i++) {
                int r = sim_port_open_pty(&p.beds[i].port, &line);
                if (r < 0) {
                        fprintf(stderr, "pump: pty %u of %u: %s\n", i + 1, p.n_beds,
                                strerror(-r));
                        return 1;
                }
                printf("%s\n", p.beds[i].port.path);
        }
        printf("ready\n");
        fflush(stdout);

        if (!fgets(cmd, sizeof(cmd), stdin) || strncmp(cmd, "go", 2) != 0) {
                free(p.beds);
                return 0;
        }
        cmd[strcspn(cmd, "\n")] = '\0';
        if (cmd[2] == ' ' && subscribe(&p, cmd + 3) < 0) {
                fprintf(stderr, "pump: cannot subscribe on %s: %s\n", cmd + 3, strerror(errno));
                free(p.beds);
                return 1;
        }
        t0 = now_ns();
        run(&p);
        /* Let the last probe's event arrive. */
        usleep(200 * 1000);
        report(&p, (double)(now_ns() - t0) / 1e9);
        free(p.beds);
        return 0;
}
