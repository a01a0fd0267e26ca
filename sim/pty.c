/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pty.c — opening the simulator's end of the line.
 *
 * Owns: pseudo-terminal creation (posix_openpt/grantpt/unlockpt), the
 * termios setup of the slave side so it looks like a serial device (raw,
 * the protocol's baud/parity/flow), opening a real serial device instead,
 * and the symlink that gives a daemon a stable path across re-created ptys.
 *
 * Nothing here blocks: every descriptor is non-blocking and close-on-exec.
 * Failures return -errno; the caller logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "pty.h"

int sim_baud_to_speed(unsigned baud, unsigned *ret_speed)
{
        static const struct {
                unsigned baud;
                speed_t speed;
        } table[] = {
            {1200, B1200},     {2400, B2400},     {4800, B4800},     {9600, B9600},
            {19200, B19200},   {38400, B38400},   {57600, B57600},   {115200, B115200},
            {230400, B230400}, {460800, B460800}, {921600, B921600},
        };

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (table[i].baud == baud) {
                        *ret_speed = (unsigned)table[i].speed;
                        return 0;
                }
        return -EINVAL;
}

/* Raw 8-bit line with the protocol's framing; the daemon may change it. */
static int apply_line(int fd, const SimLine *line, bool is_pty)
{
        struct termios tio;
        unsigned speed;
        int r;

        r = sim_baud_to_speed(line->baud, &speed);
        if (r < 0)
                return r;
        if (tcgetattr(fd, &tio) < 0)
                return -errno;

        cfmakeraw(&tio);
        tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
        tio.c_cflag |= CREAD | CLOCAL;
        switch (line->data_bits) {
        case 5:
                tio.c_cflag |= CS5;
                break;
        case 6:
                tio.c_cflag |= CS6;
                break;
        case 7:
                tio.c_cflag |= CS7;
                break;
        default:
                tio.c_cflag |= CS8;
                break;
        }
        if (line->parity != SIM_PARITY_NONE)
                tio.c_cflag |= PARENB | (line->parity == SIM_PARITY_ODD ? PARODD : 0);
        if (line->stop_bits == 2)
                tio.c_cflag |= CSTOPB;
        /* A pty has no modem lines; asking for RTS/CTS there only confuses
         * readers of the termios state. */
        if (line->rtscts && !is_pty)
                tio.c_cflag |= CRTSCTS;
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        if (cfsetispeed(&tio, (speed_t)speed) < 0 || cfsetospeed(&tio, (speed_t)speed) < 0)
                return -errno;
        if (tcsetattr(fd, TCSANOW, &tio) < 0)
                return -errno;
        return 0;
}

static int set_nonblock(int fd)
{
        int flags = fcntl(fd, F_GETFL);

        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        return 0;
}

int sim_port_open_pty(SimPort *port, const SimLine *line)
{
        SimPort p = SIM_PORT_NULL;
        int r;

        p.is_pty = true;
        p.fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p.fd < 0)
                return -errno;
        if (grantpt(p.fd) < 0 || unlockpt(p.fd) < 0) {
                r = -errno;
                goto fail;
        }
        r = ptsname_r(p.fd, p.path, sizeof(p.path));
        if (r != 0) {
                r = -r;
                goto fail;
        }
        r = set_nonblock(p.fd);
        if (r < 0)
                goto fail;

        /* Held for the life of the pty: with no slave open, the master reads
         * as hung up and written bytes have nowhere to wait for the daemon. */
        p.slave_fd = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (p.slave_fd < 0) {
                r = -errno;
                goto fail;
        }
        r = apply_line(p.slave_fd, line, true);
        if (r < 0)
                goto fail;

        *port = p;
        return 0;

fail:
        sim_port_close(&p);
        return r;
}

int sim_port_open_device(SimPort *port, const char *path, const SimLine *line)
{
        SimPort p = SIM_PORT_NULL;
        int r;

        if (strlen(path) >= sizeof(p.path))
                return -ENAMETOOLONG;
        snprintf(p.path, sizeof(p.path), "%s", path);
        p.fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (p.fd < 0)
                return -errno;
        if (!isatty(p.fd)) {
                r = -ENOTTY;
                goto fail;
        }
        r = apply_line(p.fd, line, false);
        if (r < 0)
                goto fail;
        (void)tcflush(p.fd, TCIOFLUSH);

        *port = p;
        return 0;

fail:
        sim_port_close(&p);
        return r;
}

void sim_port_close(SimPort *port)
{
        if (port->fd >= 0)
                (void)close(port->fd);
        if (port->slave_fd >= 0)
                (void)close(port->slave_fd);
        port->fd = -1;
        port->slave_fd = -1;
}

int sim_port_unread(const SimPort *port, size_t *ret)
{
        int n = 0;

        if (port->fd < 0)
                return -EBADF;
        if (port->is_pty) {
                /* Bytes waiting in the slave's input queue: the reader has not
                 * taken them.  (TIOCOUTQ on a pty master always says 0.) */
                if (port->slave_fd < 0 || ioctl(port->slave_fd, FIONREAD, &n) < 0)
                        return port->slave_fd < 0 ? -EBADF : -errno;
        } else if (ioctl(port->fd, TIOCOUTQ, &n) < 0)
                return -errno;
        *ret = n > 0 ? (size_t)n : 0;
        return 0;
}

int sim_link_update(const char *link, const char *target)
{
        char tmp[PATH_MAX];
        int n;

        n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", link, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return -ENAMETOOLONG;
        (void)unlink(tmp);
        if (symlink(target, tmp) < 0)
                return -errno;
        if (rename(tmp, link) < 0) {
                int r = -errno;

                (void)unlink(tmp);
                return r;
        }
        return 0;
}

int sim_link_remove(const char *link, const char *target)
{
        char buf[PATH_MAX];
        ssize_t n;

        n = readlink(link, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        if (strcmp(buf, target) != 0)
                return -ESTALE;
        if (unlink(link) < 0)
                return -errno;
        return 0;
}
