/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_sim.h — vitals-sim as a Modbus server (a simulated serial-to-
 * Modbus gateway): it serves a register map (drivers/regmap.h) filled from
 * a scenario over time, on TCP or as an RTU slave on a pseudo-terminal,
 * with injectable faults.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pty.h"
#include "regmap.h"
#include "scenario.h"

#define MODBUS_SIM_SLAVES_MAX 16

/* Faults for the whole run (command line); scenario statements add timed ones. */
typedef struct ModbusSimFaults {
        unsigned exception; /* answer with this exception code; 0: none */
        double delay_s;     /* answer this many real seconds late */
        bool silence;       /* never answer */
        bool bad_crc;       /* RTU: a wrong CRC on every answer */
} ModbusSimFaults;

typedef struct ModbusSimSlave {
        unsigned id;
        const Scenario *scenario;
} ModbusSimSlave;

typedef struct ModbusSimConfig {
        bool rtu;
        const RegMap *map;
        const char *map_path;
        const Scenario *scenario; /* the main one: line behaviour (hangup, drop), notes */
        /* RTU: the slave addresses answered (none given: 1).  TCP: the unit
         * ids answered (none given: any); others get exception 0x0B. */
        ModbusSimSlave slaves[MODBUS_SIM_SLAVES_MAX];
        size_t n_slaves;
        double time_scale;
        uint64_t seed;
        double duration_s;
        const char *listen; /* TCP address, default 127.0.0.1 */
        unsigned tcp_port;  /* 0: an ephemeral port */
        const char *device; /* RTU: a serial device instead of a new pty */
        const char *link;   /* RTU: keep this symlink pointing at the pty */
        SimLine line;
        ModbusSimFaults faults;
        bool quiet;
        int signal_fd; /* SIGTERM/SIGINT/SIGHUP: exit 0 */
} ModbusSimConfig;

/* Runs until a signal or --duration.  Prints the endpoint as the first
 * line on stdout ("tcp://127.0.0.1:PORT", or the pty's path; a re-created
 * pty adds a line).  0 on a clean exit, -errno on a setup failure. */
int modbus_sim_run(const ModbusSimConfig *c);
