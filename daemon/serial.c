/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * serial.c — see serial.h.  Never blocks: ports are opened O_NONBLOCK and
 * O_NOCTTY, and line settings are applied before the first read.
 */
#include <errno.h>
#include <fcntl.h>
#include <libserialport.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "serial.h"

struct SerialPort {
        struct sp_port *sp; /* NULL on the termios path */
        int fd;
};

static speed_t baud_to_speed(int baud)
{
        switch (baud) {
        case 1200:
                return B1200;
        case 2400:
                return B2400;
        case 4800:
                return B4800;
        case 9600:
                return B9600;
        case 19200:
                return B19200;
        case 38400:
                return B38400;
        case 57600:
                return B57600;
        case 115200:
                return B115200;
        case 230400:
                return B230400;
        default:
                return B0;
        }
}

static int termios_apply(int fd, const LineSettings *ls)
{
        struct termios t;
        speed_t sp = baud_to_speed(ls->baud);

        if (tcgetattr(fd, &t) < 0)
                return -errno; /* ENOTTY: not a terminal at all */
        cfmakeraw(&t);
        t.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
        t.c_cflag |= CREAD | CLOCAL;
        switch (ls->data_bits) {
        case 5:
                t.c_cflag |= CS5;
                break;
        case 6:
                t.c_cflag |= CS6;
                break;
        case 7:
                t.c_cflag |= CS7;
                break;
        default:
                t.c_cflag |= CS8;
        }
        if (ls->parity != PARITY_NONE)
                t.c_cflag |= PARENB | (ls->parity == PARITY_ODD ? PARODD : 0);
        if (ls->stop_bits == 2)
                t.c_cflag |= CSTOPB;
        if (ls->flow == FLOW_RTSCTS)
                t.c_cflag |= CRTSCTS;
        t.c_iflag &= ~(IXON | IXOFF | IXANY);
        if (ls->flow == FLOW_XONXOFF)
                t.c_iflag |= IXON | IXOFF;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (sp != B0) {
                cfsetispeed(&t, sp);
                cfsetospeed(&t, sp);
        }
        if (tcsetattr(fd, TCSANOW, &t) < 0) {
                /* A pseudo-terminal has no UART: depending on the state its
                 * other side left it in, it may refuse parity, stop-bit or
                 * flow settings with EINVAL.  They mean nothing on a pty,
                 * so fall back to plain raw 8-bit. */
                if (errno != EINVAL)
                        return -errno;
                t.c_cflag &= ~(PARENB | PARODD | CSTOPB | CRTSCTS | CSIZE);
                t.c_cflag |= CS8;
                if (tcsetattr(fd, TCSANOW, &t) < 0)
                        return -errno;
        }
        return 0;
}

static int open_termios(const char *path, const LineSettings *ls, SerialPort *p)
{
        int fd, r;

        fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = termios_apply(fd, ls);
        if (r < 0) {
                close(fd);
                return r;
        }
        p->fd = fd;
        return 0;
}

static int open_libserialport(const char *path, const LineSettings *ls, SerialPort *p)
{
        struct sp_port *sp = NULL;
        int fd, flags;

        /* libserialport only knows real UARTs and USB adapters; a
         * pseudo-terminal goes to termios without the sysfs look-ups that
         * sp_get_port_by_name() makes (three failed readlink() calls a
         * port, a third of the time vitalsd took to open 1,000 ptys). */
        if (strncmp(path, "/dev/pts/", 9) == 0)
                return -ENODEV;
        if (sp_get_port_by_name(path, &sp) != SP_OK)
                return -ENODEV;
        if (sp_open(sp, SP_MODE_READ_WRITE) != SP_OK)
                goto refuse;
        if (sp_set_baudrate(sp, ls->baud) != SP_OK || sp_set_bits(sp, ls->data_bits) != SP_OK ||
            sp_set_parity(sp, ls->parity == PARITY_EVEN  ? SP_PARITY_EVEN
                              : ls->parity == PARITY_ODD ? SP_PARITY_ODD
                                                         : SP_PARITY_NONE) != SP_OK ||
            sp_set_stopbits(sp, ls->stop_bits) != SP_OK ||
            sp_set_flowcontrol(sp, ls->flow == FLOW_RTSCTS    ? SP_FLOWCONTROL_RTSCTS
                                   : ls->flow == FLOW_XONXOFF ? SP_FLOWCONTROL_XONXOFF
                                                              : SP_FLOWCONTROL_NONE) != SP_OK) {
                sp_close(sp);
                goto refuse;
        }
        if (sp_get_port_handle(sp, &fd) != SP_OK) {
                sp_close(sp);
                goto refuse;
        }
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                sp_close(sp);
                goto refuse;
        }
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        p->sp = sp;
        p->fd = fd;
        return 0;
refuse:
        sp_free_port(sp);
        return -ENODEV;
}

int serial_open(const char *path, const LineSettings *ls, SerialPort **ret, const char **ret_how)
{
        char resolved[PATH_MAX];
        SerialPort *p;
        struct stat st;
        int r;

        /* /dev/serial/by-id/... links name the adapter, not the ttyUSBn that
         * enumeration order happened to give it.  A path that is not a link
         * is used as given: realpath() costs an lstat() and a readlink() for
         * every component, a tenth of vitalsd's start-up with 1,000 ports. */
        if (lstat(path, &st) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode)) {
                if (!realpath(path, resolved))
                        return -errno;
                if (stat(resolved, &st) < 0)
                        return -errno;
        } else {
                if (strlen(path) >= sizeof(resolved))
                        return -ENAMETOOLONG;
                strcpy(resolved, path);
        }
        if (!S_ISCHR(st.st_mode))
                return -ENOTTY;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->fd = -1;
        r = open_libserialport(resolved, ls, p);
        if (r == 0) {
                *ret_how = "libserialport";
        } else {
                r = open_termios(resolved, ls, p);
                *ret_how = "termios";
        }
        if (r < 0) {
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

int serial_fd(const SerialPort *p)
{
        return p->fd;
}

void serial_close(SerialPort *p)
{
        if (!p)
                return;
        if (p->sp) {
                sp_close(p->sp);
                sp_free_port(p->sp);
        } else if (p->fd >= 0) {
                close(p->fd);
        }
        free(p);
}
