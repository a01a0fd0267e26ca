/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * driver.h — the contract between the core and a monitor driver.
 *
 * A driver is one `static const Driver` table with designated initialisers,
 * listed in drivers/registry.c.  It owns protocol knowledge only: framing,
 * decoding, the requests a monitor needs.  All I/O, reconnection, timing and
 * storage stay in the core, which the driver reaches only through the
 * DriverHost helpers (emit a reading, write bytes, read an option, log,
 * count).  Hooks run on the daemon's event loop and must not block.
 *
 * Two transport kinds.  A TRANSPORT_SERIAL driver gets a byte stream
 * (on_connect, on_bytes, on_quiet) and may write requests.  A
 * TRANSPORT_MODBUS driver never sees bytes: after init it states a
 * ModbusPlan (which registers to read, how often); the core's bus worker
 * thread, which owns the libmodbus context, performs the reads, and the
 * registers of each completed poll come back to the driver on the loop
 * through on_registers.  No driver code runs in the worker.
 *
 * Per-device state lives in DriverInstance.state (state_size bytes, zeroed
 * by the core before init); there are no globals.  Nothing a device sends
 * may make a driver allocate: buffers are fixed-size inside the state.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "reading.h"

typedef enum TransportKind {
        TRANSPORT_SERIAL, /* byte stream: libserialport or the termios path (ptys) */
        TRANSPORT_MODBUS, /* register polling (RTU or TCP) by a bus worker thread */
} TransportKind;

/* --- register polling (TRANSPORT_MODBUS) ------------------------------- */

typedef enum ModbusTable {
        MODBUS_TABLE_HOLDING, /* function 03, Read Holding Registers */
        MODBUS_TABLE_INPUT,   /* function 04, Read Input Registers */
        _MODBUS_TABLE_MAX,
} ModbusTable;

/* MODBUS Application Protocol Specification V1.1b3 §6.3/§6.4: one read
 * asks for 1 to 125 (0x7D) registers. */
#define MODBUS_PLAN_READ_MAX 125
#define MODBUS_PLAN_BLOCKS_MAX 32
/* Bounds the fixed-size record a bus worker hands to the loop. */
#define MODBUS_PLAN_REGS_MAX 512

typedef struct ModbusBlock {
        ModbusTable table;
        uint16_t address; /* protocol address (0-based, as on the wire) */
        uint16_t count;   /* 1..MODBUS_PLAN_READ_MAX */
} ModbusBlock;

/* What one poll of a device reads, in order; on_registers gets the
 * blocks' registers concatenated (n_regs in all). */
typedef struct ModbusPlan {
        ModbusBlock blocks[MODBUS_PLAN_BLOCKS_MAX];
        size_t n_blocks;
        size_t n_regs;
        uint64_t interval_usec; /* from the start of one poll to the next */
} ModbusPlan;

/* Index of a register in a poll's concatenated registers; -1 when the
 * plan does not read it.  drivers/regmap.c */
int modbus_plan_index(const ModbusPlan *p, ModbusTable table, uint16_t address);
const char *modbus_table_to_string(ModbusTable t); /* "holding", "input" */

typedef enum LineParity { PARITY_NONE, PARITY_ODD, PARITY_EVEN } LineParity;
typedef enum LineFlow { FLOW_NONE, FLOW_RTSCTS, FLOW_XONXOFF } LineFlow;

typedef struct LineSettings {
        int baud;
        int data_bits;
        LineParity parity;
        int stop_bits;
        LineFlow flow;
} LineSettings;

/* How often a parameter normally arrives; the core's staleness and no-data
 * conditions are multiples of this. */
typedef struct ParamPeriod {
        const char *parameter;
        uint64_t period_usec;
} ParamPeriod;

/* A driver-specific configuration key. Generic keys (driver, port, bed,
 * baud, ...) are the core's and are not listed here. */
typedef struct DriverOption {
        const char *key;
        const char *default_value;
        const char *help;
        /* When min_value < max_value the option is a whole number in that
         * range; the config loader checks it (file:line) before any device
         * starts, so --check-config catches it. */
        long min_value, max_value;
} DriverOption;

typedef enum DriverCounter {
        DRIVER_COUNT_FRAMES_OK,      /* frames that passed the integrity check */
        DRIVER_COUNT_FRAMES_BAD,     /* damaged: checksum, cut, bad escape, too long */
        DRIVER_COUNT_BYTES_SKIPPED,  /* garbage between frames */
        DRIVER_COUNT_RECORDS_IGNORED, /* good frames of a kind we do not decode (e.g. waveforms) */
        _DRIVER_COUNT_MAX,
} DriverCounter;

typedef struct DriverInstance DriverInstance;
typedef struct RegMap RegMap; /* drivers/regmap.h */

/* Helpers the core gives a driver. userdata is the core's device. */
typedef struct DriverHost {
        void (*emit)(DriverInstance *d, const Reading *r);
        int (*write)(DriverInstance *d, const void *buf, size_t len); /* 0 or -errno */
        const char *(*option)(DriverInstance *d, const char *key);   /* NULL → use default */
        void (*log)(DriverInstance *d, int priority, const char *fmt, ...)
                __attribute__((format(printf, 3, 4)));
        void (*count)(DriverInstance *d, DriverCounter which, unsigned n);
        /* TRANSPORT_MODBUS: the device's register map (`map = NAME`), parsed
         * and checked with the configuration; NULL for other devices. */
        const RegMap *(*register_map)(DriverInstance *d);
} DriverHost;

typedef struct Driver Driver;

struct DriverInstance {
        const Driver *driver;
        const DriverHost *host;
        void *core;  /* the core's device; opaque to drivers */
        void *state; /* state_size bytes, zeroed before init */
};

struct Driver {
        const char *name;        /* as used in config: "ge-s5" */
        const char *description; /* one line for `vitalsd --list-drivers` */
        TransportKind transport;
        LineSettings line;              /* default line settings */
        const DriverOption *options;    /* terminated by {NULL} */
        const ParamPeriod *periods;     /* terminated by {NULL} */
        size_t state_size;
        /* Silence after which on_quiet runs (e.g. to repeat a request), and
         * again after every further quiet_usec of silence; 0 = never. */
        uint64_t quiet_usec;

        int (*init)(DriverInstance *d);       /* validate options; -EINVAL with a log line */
        void (*fini)(DriverInstance *d);
        /* TRANSPORT_SERIAL */
        int (*on_connect)(DriverInstance *d); /* port open: handshake, requests */
        void (*on_bytes)(DriverInstance *d, const uint8_t *buf, size_t len);
        int (*on_quiet)(DriverInstance *d);
        /* TRANSPORT_MODBUS: called once after init; fills what the bus
         * worker reads on every poll.  0 or -errno (with a log line). */
        int (*modbus_plan)(DriverInstance *d, ModbusPlan *ret);
        /* TRANSPORT_MODBUS: one successful poll, on the loop, host time
         * already taken (when the response arrived). */
        void (*on_registers)(DriverInstance *d, const uint16_t *regs, size_t n_regs);
        /* Optional: this device's actual reporting period after init (e.g.
         * a configured interval); when absent the core uses the shortest
         * of .periods.  Staleness and no-data limits scale with it. */
        uint64_t (*base_period_usec)(DriverInstance *d);
};

/* drivers/registry.c */
const Driver *driver_find(const char *name);
const Driver *const *driver_list(void); /* NULL-terminated */
const char *line_parity_to_string(LineParity p);
