/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * serial.h — opening a monitor's serial line.
 *
 * Real ports go through libserialport (after /dev/serial/by-id links are
 * resolved); pseudo-terminals and anything libserialport refuses go
 * through a plain termios path.  Both end as a non-blocking fd for the
 * event loop.  This is a supported transport, not test-only code: clinics
 * use ptys to rehearse with vitals-sim.
 */
#pragma once

#include "driver.h"

typedef struct SerialPort SerialPort;

/* 0 or -errno; ret_how names the path taken ("libserialport" or "termios").
 * -ENOTTY means the path exists but is not a serial device. */
int serial_open(const char *path, const LineSettings *ls, SerialPort **ret, const char **ret_how);
int serial_fd(const SerialPort *p);
void serial_close(SerialPort *p);
