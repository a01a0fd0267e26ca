/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus.c — the `modbus` driver: a monitor behind a serial-to-Modbus
 * gateway whose register layout the site describes in a map file
 * (config/modbus/NAME.conf, `map = NAME` in the device section).
 *
 * Owns only the protocol knowledge: which registers one poll reads (the
 * plan, from the map) and what they mean (regmap.c).  The transport — RTU
 * line or TCP endpoint, the libmodbus context, timeouts, retries,
 * reconnection — is the core's bus worker (daemon/modbus_bus.c); its keys
 * (slave, response_timeout_ms, byte_timeout_ms, failed_polls) are listed
 * here so that the config loader checks their ranges and
 * `vitalsd --list-drivers` shows them.
 */
#include <errno.h>
#include <syslog.h>

#include "driver.h"
#include "drivers.h"
#include "regmap.h"

typedef struct ModbusDriver {
        const RegMap *map;
        ModbusPlan plan;
        RegDecodeState decode;
} ModbusDriver;

static ModbusDriver *driver_state(DriverInstance *d)
{
        return d->state;
}

static int modbus_init(DriverInstance *d)
{
        ModbusDriver *s = driver_state(d);
        int r;

        s->map = d->host->register_map ? d->host->register_map(d) : NULL;
        if (!s->map) {
                d->host->log(d, LOG_ERR, "no register map (set map = NAME)");
                return -EINVAL;
        }
        r = regmap_plan(s->map, &s->plan);
        if (r < 0) {
                d->host->log(d, LOG_ERR, "register map %s needs more reads than a poll can hold",
                             s->map->name);
                return r;
        }
        return 0;
}

static int modbus_get_plan(DriverInstance *d, ModbusPlan *ret)
{
        *ret = driver_state(d)->plan;
        return 0;
}

static void modbus_on_registers(DriverInstance *d, const uint16_t *regs, size_t n_regs)
{
        ModbusDriver *s = driver_state(d);
        Reading out[REGMAP_PARAMS_MAX];
        size_t n;

        n = regmap_decode(s->map, &s->plan, regs, n_regs, &s->decode, out);
        d->host->count(d, DRIVER_COUNT_FRAMES_OK, 1);
        for (size_t i = 0; i < n; i++)
                d->host->emit(d, &out[i]);
}

static uint64_t modbus_base_period_usec(DriverInstance *d)
{
        return driver_state(d)->plan.interval_usec;
}

static const DriverOption modbus_options[] = {
        {"map", NULL, "register map: modbus/NAME.conf beside vitalsd.conf (required)", 0, 0},
        {"slave", "1", "slave address (RTU 1..247) or unit identifier (TCP 0..255)", 0, 255},
        {"response_timeout_ms", "500", "how long to wait for a response (20..10000 ms)", 20,
         10000},
        {"byte_timeout_ms", "100",
         "RTU: longest silence between the bytes of one response (5..5000 ms)", 5, 5000},
        {"failed_polls", "3",
         "consecutive failed polls before the device is reported (1..100): no answer makes it "
         "disconnected, wrong answers raise MODBUS_ERRORS",
         1, 100},
        {NULL},
};

const Driver modbus_driver = {
        .name = "modbus",
        .description = "register-map driver for serial-to-Modbus gateways (RTU or TCP)",
        .transport = TRANSPORT_MODBUS,
        /* MODBUS over Serial Line V1.02 §2.5.1: 19200 baud is the required
         * default, even parity the default parity; RTU frames are 8 data
         * bits.  A TCP port (tcp://HOST:PORT) has no line. */
        .line = {.baud = 19200,
                 .data_bits = 8,
                 .parity = PARITY_EVEN,
                 .stop_bits = 1,
                 .flow = FLOW_NONE},
        .options = modbus_options,
        .state_size = sizeof(ModbusDriver),
        .init = modbus_init,
        .modbus_plan = modbus_get_plan,
        .on_registers = modbus_on_registers,
        .base_period_usec = modbus_base_period_usec,
};
