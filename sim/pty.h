/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pty.h — the simulator's end of the wire: a pseudo-terminal it creates, or a
 * serial device (or someone else's pty) it opens, plus the stable symlink
 * that lets a daemon follow a pty across a simulated cable pull.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum SimParity {
        SIM_PARITY_NONE,
        SIM_PARITY_EVEN,
        SIM_PARITY_ODD,
} SimParity;

typedef struct SimLine {
        unsigned baud;
        unsigned data_bits;
        SimParity parity;
        unsigned stop_bits;
        bool rtscts;
} SimLine;

typedef struct SimPort {
        int fd;       /* pty master or serial device, O_NONBLOCK; -1 when closed */
        int slave_fd; /* pty only: held open so the line does not hang up early */
        bool is_pty;
        char path[PATH_MAX]; /* the slave's path, or the device's */
} SimPort;

#define SIM_PORT_NULL ((SimPort){.fd = -1, .slave_fd = -1})

/* Creates a pty pair; the slave is put in raw mode with the line settings a
 * real device would have.  0 or -errno. */
int sim_port_open_pty(SimPort *port, const SimLine *line);
/* Opens an existing serial device or pty slave with those settings. */
int sim_port_open_device(SimPort *port, const char *path, const SimLine *line);
void sim_port_close(SimPort *port);

/* Bytes written that the peer has not read yet, as far as the kernel tells
 * (pty: the slave's input queue; device: the output queue).  -errno when
 * unknown. */
int sim_port_unread(const SimPort *port, size_t *ret);

/* Points link at target, atomically (symlink to a temporary name, rename). */
int sim_link_update(const char *link, const char *target);
/* Removes link if it still points at target. */
int sim_link_remove(const char *link, const char *target);

/* "19200" → B19200 etc.; -EINVAL for a rate termios does not have. */
int sim_baud_to_speed(unsigned baud, unsigned *ret_speed);
