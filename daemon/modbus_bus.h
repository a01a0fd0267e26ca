/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_bus.h — Modbus buses: one RTU line or one TCP endpoint, polled by
 * its own worker thread.
 *
 * libmodbus calls block (a dead device holds a read for its whole response
 * timeout), so each bus runs in a thread that owns its modbus_t and nothing
 * else: it gets a private copy of what it needs when it starts and hands
 * fixed-size BusRecords to the event loop through a pipe.  The loop never
 * waits for a worker; a slow or dead device delays only the devices on its
 * own bus.  See modbus_bus.c for the worker's behaviour on errors.
 */
#pragma once

#include <limits.h>
#include <stdint.h>

#include "driver.h"

typedef struct Device Device;
typedef struct ModbusBus ModbusBus;

typedef enum BusEvent {
        BUS_EV_CONNECTED,    /* the line / TCP connection is open (all devices of the bus) */
        BUS_EV_DISCONNECTED, /* could not open, or lost it; error = -errno */
        BUS_EV_POLL,         /* one poll of one device: kind, and on success the registers */
} BusEvent;

typedef enum BusPollResult {
        BUS_POLL_OK,
        BUS_POLL_TIMEOUT,      /* no (complete) response within the timeouts */
        BUS_POLL_EXCEPTION,    /* an exception response; exception = its code */
        BUS_POLL_CRC,          /* RTU: a response with a wrong CRC */
        BUS_POLL_BAD_RESPONSE, /* a response that does not fit the request */
        BUS_POLL_LINK,         /* the connection broke during the poll (a DISCONNECTED follows) */
        _BUS_POLL_RESULT_MAX,
} BusPollResult;

typedef struct BusRecord {
        uint16_t event;     /* BusEvent */
        uint16_t slot;      /* BUS_EV_POLL: the device's index on its bus */
        uint16_t result;    /* BusPollResult */
        uint16_t exception; /* BUS_POLL_EXCEPTION: the exception code (1..255) */
        int32_t error;      /* -errno, or libmodbus's error number, 0 when none */
        uint32_t n_regs;
        int64_t wall_ns, mono_ns; /* when the response (or the failure) arrived */
        uint16_t regs[MODBUS_PLAN_REGS_MAX];
} BusRecord;

/* One write(2), one read(2): the pipe never splits a record. */
_Static_assert(sizeof(BusRecord) <= PIPE_BUF, "BusRecord must fit PIPE_BUF");

/* Puts dev on the bus of its port, creating the bus when dev is the first
 * device on it.  The worker starts once the event loop next runs, so every
 * device a configuration names joins before polling begins.  0 or -errno. */
int modbus_bus_attach(Device *dev);
/* Takes dev off its bus; when the last device leaves, the worker is told
 * to stop and exits by itself (nothing waits for it). */
void modbus_bus_detach(Device *dev);

const char *bus_poll_result_to_string(BusPollResult r);
/* "exception 02 (Illegal data address)", "CRC error", ... into buf. */
const char *bus_record_describe(const BusRecord *rec, char *buf, size_t size);
